"""Write tools: one record or version per call, at the snapshot instant; errors change nothing."""

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.snapshot import snapshot_schema
from sim.tools import Toolbox
from sim.workspace import Workspace

AS_OF = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
USER = {"name": "Sam Rivera", "email": "sam@home.example", "work_email": "sam@work.example",
        "handle": "sam"}
SERVICES = ["calendar", "chat", "contacts", "notes", "personal_email", "sms", "todos"]


def _workspace() -> Workspace:
    before = AS_OF - dt.timedelta(days=1)
    mail = [{"record_id": "pm_1", "version": 1, "valid_from": before, "thread_id": "th_a",
             "folder": "inbox", "from_name": "Ann Lee", "from_address": "ann@example.com",
             "to_addresses": USER["email"], "cc_addresses": "", "subject": "Dinner Friday?",
             "body": "Are you free?", "sent_at": before, "in_reply_to": None,
             "related_id": None}]
    sms = [{"record_id": "sm_1", "version": 1, "valid_from": before, "conversation_id": "cv_007",
            "phone_number": "+1 555 0100", "contact_name": "Ann Lee", "direction": "incoming",
            "text": "hi", "sent_at": before}]
    tables = {"personal_emails": pa.Table.from_pylist(mail, schema=snapshot_schema(
        "personal_emails")), "sms_messages": pa.Table.from_pylist(
        sms, schema=snapshot_schema("sms_messages"))}
    return Workspace(tables, as_of_us=int(AS_OF.timestamp() * 1e6), salt="t")


@pytest.fixture
def box():
    return Toolbox(_workspace(), SERVICES, user=USER)


def test_a_reply_stays_in_the_thread_and_goes_to_the_sender(box):
    sent = box.call("personal_email_reply", {"id": "pm_1", "body": "Yes!"})["record"]
    assert sent["thread_id"] == "th_a"
    assert sent["in_reply_to"] == "pm_1"
    assert sent["to_addresses"] == "ann@example.com"
    assert sent["subject"] == "Re: Dinner Friday?"
    assert (sent["folder"], sent["from_address"]) == ("sent", USER["email"])
    fwd = box.call("personal_email_forward", {"id": "pm_1", "to": ["bo@example.com"]})
    assert "Are you free?" in fwd["record"]["body"]
    assert fwd["record"]["thread_id"] != "th_a"


def test_calendar_events_are_created_moved_and_cancelled_once(box):
    made = box.call("calendar_create", {"title": "Dentist", "start": "2026-03-04T10:00:00+01:00",
                                        "end": "2026-03-04T10:30:00+01:00"})["record"]
    assert made["start"] == "2026-03-04T09:00:00+00:00"
    moved = box.call("calendar_update", {"id": made["record_id"],
                                         "start": "2026-03-05T10:00:00+01:00",
                                         "end": "2026-03-05T10:30:00+01:00"})["record"]
    assert moved["start"] == "2026-03-05T09:00:00+00:00"
    # A timed event has instants, not days, as the world writes them.
    assert (moved["start_date"], moved["end_date"]) == (None, None)
    assert box.call("calendar_cancel", {"id": made["record_id"]})["record"]["status"] == \
        "cancelled"
    assert box.call("calendar_cancel", {"id": made["record_id"]})["error"]["code"] == "conflict"
    bad = box.call("calendar_create", {"title": "x", "start": "2026-03-04T10:00:00+00:00",
                                       "end": "2026-03-04T09:00:00+00:00"})
    assert bad["error"]["code"] == "bad_arguments"
    naive = box.call("calendar_create", {"title": "x", "start": "2026-03-04T10:00:00",
                                         "end": "2026-03-04T11:00:00"})
    assert "offset" in naive["error"]["message"]


def test_texts_join_the_existing_conversation(box):
    sent = box.call("sms_send", {"to": "+1 555 0100", "text": "On my way"})["record"]
    assert (sent["conversation_id"], sent["direction"]) == ("cv_007", "outgoing")
    assert box.call("sms_send", {"to": "call me", "text": "x"})["error"]["code"] == \
        "bad_arguments"


def test_todos_notes_and_contacts(box):
    todo = box.call("todos_create", {"title": "Pay rent", "due_date": "2026-03-05"})["record"]
    done = box.call("todos_update", {"id": todo["record_id"], "status": "done"})["record"]
    assert done["completed_at"] == AS_OF.isoformat()
    assert box.call("todos_create", {"title": "x", "due_date": "soon"})["error"]["code"] == \
        "bad_arguments"
    assert box.call("notes_delete", {"id": "nt_missing"})["error"]["code"] == "not_found"
    card = box.call("contacts_create", {"full_name": "Bo", "phone_number": "+1 555 0199"})
    fixed = box.call("contacts_update", {"id": card["record"]["record_id"],
                                         "phone_number": "+1 555 0200"})
    assert fixed["record"]["phone_number"] == "+1 555 0200"
    assert box.call("chat_send", {"channel": "ch_nope", "text": "hi"})["error"]["code"] == \
        "not_found"


CALLS = ["calendar_create", "calendar_update", "calendar_cancel", "todos_create",
         "todos_update", "notes_create", "notes_delete", "contacts_update", "sms_send",
         "personal_email_send", "personal_email_reply", "chat_send"]
VALUES = st.one_of(st.text(max_size=10), st.integers(-2, 3), st.none(),
                   st.sampled_from(["pm_1", "2026-03-04T10:00:00+00:00", "2026-03-04"]),
                   st.lists(st.text(max_size=5), max_size=2))


@settings(max_examples=120, deadline=None)
@given(calls=st.lists(st.tuples(st.sampled_from(CALLS), st.dictionaries(
    st.sampled_from(["id", "title", "start", "end", "to", "text", "body", "subject",
                     "due_date", "status", "channel", "full_name"]), VALUES, max_size=5)),
    max_size=6))
def test_arbitrary_write_calls_never_crash_and_errors_change_nothing(calls):
    box = Toolbox(_workspace(), SERVICES, user=USER)
    for name, args in calls:
        before = box.workspace.changed()
        result = box.call(name, args)
        assert isinstance(result, dict)
        if "error" in result:
            assert box.workspace.changed() == before
    for table in box.workspace.final_state().values():
        assert isinstance(table, pa.Table)
