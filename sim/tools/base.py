"""What every tool is: a name, a description, a JSON Schema of arguments and a function.

Tools answer with plain JSON (instants and dates as ISO strings) or an error object; they
never raise into the caller (see :class:`sim.tools.Toolbox`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

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
    """A ``YYYY-MM-DD`` argument: one of the user's local days (``Workspace.day_start``)."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ToolError("bad_arguments", f"{name}: expected YYYY-MM-DD, got {value!r}") from None


def object_schema(properties: dict, required: list[str]) -> dict:
    """A JSON Schema object with exactly these properties."""
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def json_record(row: dict) -> dict:
    """A record as JSON: instants and dates as ISO strings, no bookkeeping."""
    out = {}
    for key, value in row.items():
        if key in ("version", "valid_from"):
            continue
        out[key] = value.isoformat() if isinstance(value, dt.date) else value
    return out
