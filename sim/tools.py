"""Agent tools over a workspace: what an assistant may call, as function-calling JSON Schemas.

Every installed service offers ``<service>_search``, ``<service>_list`` and
``<service>_read``, and every task offers ``ask_user`` and ``notify_user``. (Writes —
create, update, delete, send, reply, forward, pay, book, cancel — come with the task
oracle.) Behaviour is documented because graders and agents rely on it:

- **search** is case-insensitive token-AND over a table's text columns (a record matches
  when every word of the query appears among its words), newest first by the table's time
  column, 20 results per page;
- **list** is the same without a query;
- tables whose records carry a time (mail, texts, transactions...) are searched over the
  30 days before the snapshot unless ``since``/``until`` (ISO dates, UTC days) say
  otherwise, so older history has to be asked for;
- bad arguments give ``{"error": {"code", "message"}}``; a tool never raises and never
  changes the workspace it only reads.

Every call and its result are logged on the :class:`Toolbox`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from sim.services import CATALOGUE, TABLES
from sim.workspace import Workspace

PAGE = 20
WINDOW_DAYS = 30
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict  # JSON Schema of the arguments (an object)
    run: Callable[[Workspace, dict], dict]

    def spec(self) -> dict:
        """The tool as function-calling APIs take it."""
        return {"name": self.name, "description": self.description,
                "parameters": self.parameters}


class ToolError(ValueError):
    """A call the tool refuses; returned to the agent as an error object."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Toolbox:
    """The tools of a persona's installed services, acting on one workspace."""

    workspace: Workspace
    services: Iterable[str]
    tools: dict[str, Tool] = field(init=False)
    log: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        tools = [t for s in sorted(self.services) for t in reading_tools(s)] + user_tools()
        self.tools = {t.name: t for t in tools}

    def specs(self) -> list[dict]:
        return [t.spec() for t in self.tools.values()]

    def call(self, name: str, args: Any) -> dict:
        """Run one call; the result (or error object) is logged and returned."""
        try:
            tool = self.tools.get(name)
            if tool is None:
                raise ToolError("unknown_tool", f"there is no tool {name!r}")
            if not isinstance(args, dict):
                raise ToolError("bad_arguments", "arguments must be a JSON object")
            error = next(jsonschema.Draft202012Validator(tool.parameters).iter_errors(args),
                         None)
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "arguments"
                raise ToolError("bad_arguments", f"{where}: {error.message}")
            result = tool.run(self.workspace, args)
        except ToolError as exc:
            result = {"error": {"code": exc.code, "message": str(exc)}}
        self.log.append({"tool": name, "args": args, "result": result})
        return result


# -- reading ------------------------------------------------------------------------------


def reading_tools(service: str) -> list[Tool]:
    """``search``, ``list`` and ``read`` for one service."""
    tables = [t.name for t in CATALOGUE[service].tables]
    which = {"table": {"type": "string", "enum": tables,
                       "description": "Which kind of record (default: the first)."}}
    span = {"since": {"type": "string", "format": "date",
                      "description": "First day to include (YYYY-MM-DD, UTC)."},
            "until": {"type": "string", "format": "date",
                      "description": "Last day to include (YYYY-MM-DD, UTC)."},
            "page": {"type": "integer", "minimum": 1, "description": "Page (20 per page)."}}
    listing = {**(which if len(tables) > 1 else {}), **span}
    return [
        Tool(f"{service}_search",
             f"Search {service} records: case-insensitive, every word must appear; newest "
             f"first; records with a time are searched over the last {WINDOW_DAYS} days "
             "unless since/until say otherwise.",
             _object({"query": {"type": "string", "minLength": 1}, **listing}, ["query"]),
             lambda ws, a: _find(ws, tables, a, a["query"])),
        Tool(f"{service}_list",
             f"List {service} records, newest first, {PAGE} per page (same window rules as "
             "search).",
             _object(listing, []),
             lambda ws, a: _find(ws, tables, a, None)),
        Tool(f"{service}_read", f"Read one {service} record by its id.",
             _object({"id": {"type": "string", "minLength": 1}}, ["id"]),
             lambda ws, a: _read(ws, tables, a["id"])),
    ]


def user_tools() -> list[Tool]:
    return [
        Tool("ask_user", "Ask the user a question (optionally with options to choose from).",
             _object({"question": {"type": "string", "minLength": 1},
                      "options": {"type": "array", "items": {"type": "string"}}},
                     ["question"]),
             lambda ws, a: {"status": "asked"}),
        Tool("notify_user", "Tell the user something, pointing at the records it is about.",
             _object({"title": {"type": "string", "minLength": 1},
                      "body": {"type": "string"},
                      "refs": {"type": "array", "items": {"type": "string"}}},
                     ["title", "body"]),
             lambda ws, a: {"status": "delivered"}),
    ]


def _object(properties: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def _find(ws: Workspace, tables: list[str], args: dict, query: str | None) -> dict:
    table = args.get("table", tables[0])
    time_column = TABLES[table].created_column
    since, until = _day(args.get("since"), "since"), _day(args.get("until"), "until")
    as_of = dt.datetime.fromtimestamp(ws.as_of_us / 1_000_000, dt.UTC)
    if time_column and since is None and until is None:
        since = as_of - dt.timedelta(days=WINDOW_DAYS)
    if until is not None:
        until = until + dt.timedelta(days=1)  # the whole last day
    words = [w.lower() for w in _TOKEN.findall(query or "")]
    if query is not None and not words:
        raise ToolError("bad_arguments", "query: needs at least one word")
    found = []
    for row in ws.rows(table):
        at = row.get(time_column) if time_column else row["valid_from"]
        if since is not None and (at is None or at < since):
            continue
        if until is not None and (at is None or at >= until):
            continue
        if words:
            have = {w.lower() for c in TABLES[table].text_columns
                    for w in _TOKEN.findall(row.get(c) or "")}
            if not all(w in have for w in words):
                continue
        found.append((at or row["valid_from"], row))
    found.sort(key=lambda pair: (pair[0], pair[1]["record_id"]), reverse=True)
    page = args.get("page", 1)
    pages = max(1, -(-len(found) // PAGE))
    chunk = found[(page - 1) * PAGE: page * PAGE]
    return {"table": table, "total": len(found), "page": page, "pages": pages,
            "results": [_plain(row) for _, row in chunk]}


def _read(ws: Workspace, tables: list[str], record_id: str) -> dict:
    for table in tables:
        row = ws.get(table, record_id)
        if row is not None:
            return {"table": table, "record": _plain(row)}
    raise ToolError("not_found", f"no record {record_id!r} here")


def _day(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
    except ValueError:
        raise ToolError("bad_arguments", f"{name}: expected YYYY-MM-DD, got {value!r}") from None


def _plain(row: dict) -> dict:
    """A record as JSON: instants and dates as ISO strings, no bookkeeping."""
    out = {}
    for key, value in row.items():
        if key in ("version", "valid_from"):
            continue
        out[key] = value.isoformat() if isinstance(value, dt.date) else value
    return out
