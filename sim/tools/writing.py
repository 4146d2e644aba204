"""Tools that change the workspace: notes, to-dos, calendar, contacts, mail, texts and chat.

Each write is one new record or one new version, stamped at the snapshot instant, so the
final state reads like the snapshot did. Instants are ISO-8601 with an offset
(``2026-02-03T10:00:00+01:00``), dates ``YYYY-MM-DD``; anything else is an argument error.
Mail, texts and chat are sent as the user (``Toolbox.user``). Money and subscriptions
(``sim.tools.money``) and orders, price watches, deliveries and trips (``sim.tools.commerce``)
live in their own modules and are registered here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sim.tools.base import (
    Tool,
    ToolError,
    date_arg,
    deleted,
    existing,
    instant_arg,
    object_schema,
    written,
)
from sim.workspace import Workspace

Writer = Callable[[Workspace, dict, Mapping[str, str]], dict]

_TEXT = {"type": "string"}
_NONEMPTY = {"type": "string", "minLength": 1}
_INSTANT = {"type": "string", "description": "ISO-8601 instant with offset"}
_DATE = {"type": "string", "description": "YYYY-MM-DD (your local day)"}
_ID = {"type": "string", "minLength": 1, "description": "a record id"}


def writing_tools(service: str, user: Mapping[str, str]) -> list[Tool]:
    """The write tools of ``service`` (none for services without them yet)."""
    made = _TOOLS.get(service, lambda: [])()
    return [Tool(name, text, params, _bound(run, user)) for name, text, params, run in made]


def _bound(run: Writer, user: Mapping[str, str]) -> Callable[[Workspace, dict], dict]:
    return lambda ws, args: run(ws, args, user)


# -- notes, to-dos, contacts ----------------------------------------------------------------


def _notes() -> list:
    def create(ws, a, _):
        return written("notes", ws.insert("notes", {
            "folder": a.get("folder", "Notes"), "title": a["title"], "body": a.get("body", ""),
            "updated_at": ws.as_of}))

    def update(ws, a, _):
        existing(ws, "notes", a["id"])
        changes = {k: a[k] for k in ("title", "body", "folder") if k in a}
        return written("notes", ws.update("notes", a["id"], changes | {"updated_at": ws.as_of}))

    return [
        ("notes_create", "Write a new note.",
         object_schema({"title": _NONEMPTY, "body": _TEXT, "folder": _TEXT}, ["title"]), create),
        ("notes_update", "Change a note's title, body or folder.",
         object_schema({"id": _ID, "title": _NONEMPTY, "body": _TEXT, "folder": _TEXT}, ["id"]),
         update),
        ("notes_delete", "Delete a note.", object_schema({"id": _ID}, ["id"]),
         lambda ws, a, _: deleted(ws, "notes", a["id"])),
    ]


def _todos() -> list:
    def create(ws, a, _):
        due = date_arg(a["due_date"], "due_date") if "due_date" in a else None
        return written("todos", ws.insert("todos", {
            "list": a.get("list", "Inbox"), "title": a["title"], "due_date": due,
            "status": "open"}))

    def update(ws, a, _):
        existing(ws, "todos", a["id"])
        changes: dict[str, Any] = {k: a[k] for k in ("title", "list") if k in a}
        if "due_date" in a:
            changes["due_date"] = date_arg(a["due_date"], "due_date")
        if "status" in a:
            changes["status"] = a["status"]
            changes["completed_at"] = ws.as_of if a["status"] == "done" else None
        return written("todos", ws.update("todos", a["id"], changes))

    return [
        ("todos_create", "Add a to-do.",
         object_schema({"title": _NONEMPTY, "due_date": _DATE, "list": _TEXT}, ["title"]), create),
        ("todos_update", "Change a to-do, or mark it done or open again.",
         object_schema({"id": _ID, "title": _NONEMPTY, "due_date": _DATE, "list": _TEXT,
                  "status": {"type": "string", "enum": ["open", "done"]}}, ["id"]), update),
        ("todos_delete", "Delete a to-do.", object_schema({"id": _ID}, ["id"]),
         lambda ws, a, _: deleted(ws, "todos", a["id"])),
    ]


def _contacts() -> list:
    fields = ("full_name", "email", "phone_number", "company", "job_title", "notes")
    props = dict.fromkeys(fields, _TEXT) | {"full_name": _NONEMPTY}

    def create(ws, a, _):
        return written("contacts", ws.insert("contacts", {f: a.get(f) for f in fields}))

    def update(ws, a, _):
        existing(ws, "contacts", a["id"])
        return written("contacts", ws.update("contacts", a["id"],
                                             {f: a[f] for f in fields if f in a}))

    return [
        ("contacts_create", "Add a contact.", object_schema(props, ["full_name"]), create),
        ("contacts_update", "Change a contact's details (a new number, a new address).",
         object_schema({"id": _ID, **props}, ["id"]), update),
        ("contacts_delete", "Delete a contact.", object_schema({"id": _ID}, ["id"]),
         lambda ws, a, _: deleted(ws, "contacts", a["id"])),
    ]


# -- calendar -------------------------------------------------------------------------------


def _calendar() -> list:
    def window(a: dict, row: dict | None = None) -> dict:
        start = instant_arg(a["start"], "start") if "start" in a else row["start"]
        end = instant_arg(a["end"], "end") if "end" in a else row["end"]
        if start is None or end is None:  # an all-day event has dates, not instants
            raise ToolError("bad_arguments", "an all-day event needs both start and end to "
                                             "become a timed one")
        if end <= start:
            raise ToolError("bad_arguments", "end: must be after start")
        # A timed event has instants and no days, as the world writes it.
        return {"start": start, "end": end, "all_day": False,
                "start_date": None, "end_date": None}

    def create(ws, a, user):
        return written("calendar_events", ws.insert("calendar_events", window(a) | {
            "title": a["title"], "description": a.get("description", ""),
            "location": a.get("location", ""), "organizer": user["name"],
            "attendees": ", ".join([user["name"], *a.get("attendees", [])]),
            "status": "confirmed", "calendar": a.get("calendar", "personal")}))

    def update(ws, a, _):
        row = existing(ws, "calendar_events", a["id"])
        if row.get("status") == "cancelled":
            raise ToolError("conflict", "that event is cancelled")
        changes = window(a, row) if "start" in a or "end" in a else {}
        changes |= {k: a[k] for k in ("title", "location", "description") if k in a}
        return written("calendar_events", ws.update("calendar_events", a["id"], changes))

    def cancel(ws, a, _):
        row = existing(ws, "calendar_events", a["id"])
        if row.get("status") == "cancelled":
            raise ToolError("conflict", "that event is already cancelled")
        return written("calendar_events",
                       ws.update("calendar_events", a["id"], {"status": "cancelled"}))

    people = {"type": "array", "items": {"type": "string"}}
    return [
        ("calendar_create", "Put an event in the calendar (start and end with offsets).",
         object_schema({"title": _NONEMPTY, "start": _INSTANT, "end": _INSTANT,
                  "location": _TEXT, "description": _TEXT, "attendees": people,
                  "calendar": _TEXT}, ["title", "start", "end"]), create),
        ("calendar_update", "Move or edit an event.",
         object_schema({"id": _ID, "title": _NONEMPTY, "start": _INSTANT, "end": _INSTANT,
                  "location": _TEXT, "description": _TEXT}, ["id"]), update),
        ("calendar_cancel", "Cancel an event (it stays, marked cancelled).",
         object_schema({"id": _ID}, ["id"]), cancel),
    ]


# -- mail, texts, chat ----------------------------------------------------------------------


def _mail(service: str, table: str, address_key: str) -> Callable[[], list]:
    def send(ws, a, user, *, subject=None, thread=None, reply_to=None):
        record_id = ws.new_id(table)
        return written(table, ws.insert(table, record_id=record_id, values={
            "thread_id": thread or "th_" + record_id.split("_", 1)[1],
            "folder": "sent", "from_name": user["name"], "from_address": user[address_key],
            "to_addresses": ", ".join(a["to"]), "cc_addresses": ", ".join(a.get("cc", [])),
            "subject": subject or a["subject"], "body": a["body"], "sent_at": ws.as_of,
            "in_reply_to": reply_to}))

    def reply(ws, a, user):
        original = existing(ws, table, a["id"])
        subject = original["subject"] or ""
        to = a.get("to") or [original["from_address"]]
        return send(ws, a | {"to": to}, user, thread=original["thread_id"],
                    reply_to=original["record_id"],
                    subject=subject if subject.lower().startswith("re:") else f"Re: {subject}")

    def forward(ws, a, user):
        original = existing(ws, table, a["id"])
        body = (a.get("body", "") + "\n\n---------- Forwarded message ----------\n"
                f"From: {original['from_name']} <{original['from_address']}>\n"
                f"Subject: {original['subject']}\n\n{original['body']}")
        return send(ws, a | {"body": body}, user, subject=f"Fwd: {original['subject']}")

    addresses = {"type": "array", "items": _NONEMPTY, "minItems": 1}
    return lambda: [
        (f"{service}_send", "Send a new email as the user.",
         object_schema({"to": addresses, "cc": {"type": "array", "items": _NONEMPTY},
                  "subject": _TEXT, "body": _TEXT}, ["to", "subject", "body"]), send),
        (f"{service}_reply", "Reply to an email (to its sender unless `to` says otherwise).",
         object_schema({"id": _ID, "body": _TEXT, "to": addresses,
                  "cc": {"type": "array", "items": _NONEMPTY}}, ["id", "body"]), reply),
        (f"{service}_forward", "Forward an email with a note on top.",
         object_schema({"id": _ID, "to": addresses, "body": _TEXT}, ["id", "to"]), forward),
    ]


def _sms() -> list:
    def send(ws, a, _):
        number = "".join(ch for ch in a["to"] if ch.isdigit() or ch == "+")
        if len(number.strip("+")) < 5:
            raise ToolError("bad_arguments", f"to: not a phone number: {a['to']!r}")
        earlier = ws.rows_where("sms_messages", "phone_number", a["to"])
        return written("sms_messages", ws.insert("sms_messages", {
            "conversation_id": earlier[0]["conversation_id"] if earlier
            else "cv_" + number.strip("+"),
            "phone_number": a["to"], "contact_name": earlier[0]["contact_name"] if earlier
            else None, "direction": "outgoing", "text": a["text"], "sent_at": ws.as_of}))

    return [("sms_send", "Text a phone number as the user.",
             object_schema({"to": _NONEMPTY, "text": _NONEMPTY}, ["to", "text"]), send)]


def _chat() -> list:
    def send(ws, a, user):
        existing(ws, "chat_channels", a["channel"])
        if "reply_to" in a:
            existing(ws, "chat_messages", a["reply_to"])
        return written("chat_messages", ws.insert("chat_messages", {
            "channel_id": a["channel"], "sender_name": user["name"],
            "sender_handle": user.get("handle"), "text": a["text"], "sent_at": ws.as_of,
            "reply_to": a.get("reply_to")}))

    return [("chat_send", "Post a message in a channel or direct conversation.",
             object_schema({"channel": _ID, "text": _NONEMPTY, "reply_to": _ID},
                     ["channel", "text"]), send)]


# The money and commerce modules build on the helpers above, so they are imported once
# those exist (importing them at the top would be circular).
from sim.tools.commerce import (  # noqa: E402
    delivery_tools,
    price_tracker_tools,
    shopping_tools,
    travel_tools,
)
from sim.tools.money import bank_tools, subscription_tools  # noqa: E402

_TOOLS: dict[str, Callable[[], list]] = {
    "notes": _notes, "todos": _todos, "contacts": _contacts, "calendar": _calendar,
    "personal_email": _mail("personal_email", "personal_emails", "email"),
    "work_email": _mail("work_email", "work_emails", "work_email"),
    "sms": _sms, "chat": _chat,
    "bank": bank_tools, "subscriptions": subscription_tools, "shopping": shopping_tools,
    "price_tracker": price_tracker_tools, "deliveries": delivery_tools, "travel": travel_tools,
}
