"""What every tool is: a name, a description, a JSON Schema of arguments and a function.

Tools answer with records (or an error object) and never raise into the caller; the
:class:`sim.tools.Toolbox` hands them to the agent as plain JSON (:func:`shown`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sim.workspace import Workspace

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


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


def date_arg(value: str, name: str) -> dt.date:
    """A ``YYYY-MM-DD`` argument: one of the user's local days (``Workspace.day_start``).
    Only that form, as the schema says: ``date.fromisoformat`` would also take 20260301
    and 2026-W10-1."""
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ToolError("bad_arguments", f"{name}: expected YYYY-MM-DD, got {value!r}") from None


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def instant_arg(value: str, name: str) -> dt.datetime:
    """An ISO-8601 instant with an offset (``2026-02-03T10:00:00+01:00``), as UTC."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ToolError("bad_arguments", f"{name}: not an ISO-8601 instant: {value!r}") from None
    if moment.tzinfo is None:
        raise ToolError("bad_arguments", f"{name}: give an offset, e.g. {value}+00:00")
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC instant
        raise ToolError("bad_arguments", f"{name}: out of range: {value!r}") from None


def existing(ws: Workspace, table: str, record_id: str) -> dict:
    """The current version of a record the call names; refused when there is none."""
    row = ws.get(table, record_id)
    if row is None:
        raise ToolError("not_found", f"no {table} record {record_id!r}")
    return row


def written(table: str, row: dict) -> dict:
    """A write tool's answer: the record as it now stands."""
    return {"table": table, "record": tool_record(row)}


def deleted(ws: Workspace, table: str, record_id: str) -> dict:
    """Delete a record the call names and say so."""
    existing(ws, table, record_id)
    ws.delete(table, record_id)
    return {"table": table, "deleted": record_id}


def object_schema(properties: dict, required: list[str]) -> dict:
    """A JSON Schema object with exactly these properties."""
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def tool_record(row: dict) -> dict:
    """A record as a tool answers with it: its fields, without bookkeeping."""
    return {k: v for k, v in row.items() if k not in ("version", "valid_from")}


def shown(value: Any, tz: ZoneInfo) -> Any:
    """A tool's answer as the agent reads it: plain JSON, dates as ISO days and instants as
    ISO strings with the user's offset in zone ``tz`` (``2026-03-02T21:00:00-05:00``), as
    the user's phone shows them and calendar APIs give them. It is the same instant as its
    UTC form, so anything that parses it (the grader, an agent) reads the same moment, and
    its day and hour are the user's."""
    if isinstance(value, dict):
        return {k: shown(v, tz) for k, v in value.items()}
    if isinstance(value, list):
        return [shown(v, tz) for v in value]
    if isinstance(value, dt.datetime):  # a naive one is UTC, as in the predicates
        return value.replace(tzinfo=value.tzinfo or dt.UTC).astimezone(tz).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
