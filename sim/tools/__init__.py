"""Agent tools over a workspace: what an assistant may call, as function-calling JSON Schemas.

Every installed service offers ``<service>_search``, ``<service>_list`` and
``<service>_read`` (``sim.tools.reading``); notes, to-dos, contacts, calendar, mail, texts
and chat write through ``sim.tools.writing``, bank and subscriptions through
``sim.tools.money``, shopping, price watches, deliveries and travel through
``sim.tools.commerce``; every task offers ``ask_user`` and ``notify_user``.

Behaviour is documented because graders and agents rely on it:

- **search** is case-insensitive token-AND over a record's readable fields: its text and
  every string a user would type (names, addresses, numbers, places, statuses), not the
  ids that link records (a record matches when every word of the query appears among its
  words), newest first by the table's time column, 20 results per page (the calendar
  reads forward, see below);
- **list** is the same without a query;
- tables whose records carry a time (mail, texts, transactions...) are searched over the
  30 days before the snapshot unless ``since``/``until`` (ISO dates) say otherwise, so
  older history has to be asked for; the calendar opens on today as an agenda does:
  entries are selected and ordered by their start (an all-day entry from the start of its
  day), soonest first, from the start of the user's today unless ``since``/``until`` say
  otherwise (the past has to be asked for; what matters most is still ahead);
- days, in arguments and in the records, are the user's local days (the workspace's
  ``timezone``, which the snapshot names), as on the user's phone; instants are shown
  with the user's offset (``2026-03-02T21:00:00-05:00``) and taken with any offset;
- bad arguments give ``{"error": {"code", "message"}}``; a tool never raises and never
  changes the workspace it only reads.

Every call and its result are logged on the :class:`Toolbox`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from sim.tools.base import NAME, Tool, ToolError, shown
from sim.tools.reading import PAGE, WINDOW_DAYS, reading_tools, user_tools
from sim.tools.writing import writing_tools
from sim.workspace import Workspace

__all__ = ["NAME", "PAGE", "WINDOW_DAYS", "Tool", "ToolError", "Toolbox"]


@dataclass
class Toolbox:
    """The tools of a persona's installed services, acting on one workspace."""

    workspace: Workspace
    services: Iterable[str]
    user: Mapping[str, str] = field(default_factory=dict)  # name, email, work_email, handle
    # The snapshot the workspace was opened on, when it is one of a dataset's: each logged
    # call names it, so the log of every heartbeat's box together grades a proactive task.
    snapshot_id: str | None = None
    tools: dict[str, Tool] = field(init=False)
    log: list[dict] = field(default_factory=list)
    _validators: dict = field(init=False, repr=False)

    def __post_init__(self) -> None:
        services = sorted(self.services)
        try:
            kit = _kit(tuple(services), tuple(sorted(self.user.items())))
        except TypeError:  # an unhashable user: build this box's own tools
            kit = _build_kit(services, self.user)
        self.tools, self._validators = dict(kit.tools), kit.validators

    def specs(self) -> list[dict]:
        return [t.spec() for t in self.tools.values()]

    def call(self, name: str, args: Any) -> dict:
        """Run one call; the result (or error object) is logged and returned."""
        try:
            tool = self.tools.get(name) if isinstance(name, str) else None
            if tool is None:
                raise ToolError("unknown_tool", f"there is no tool {name!r}")
            if not isinstance(args, dict):
                raise ToolError("bad_arguments", "arguments must be a JSON object")
            error = next(self._validator(tool).iter_errors(args), None)
            if error is not None:
                where = "/".join(str(p) for p in error.instance_path) or "arguments"
                raise ToolError("bad_arguments", f"{where}: {error.message}")
            result = shown(tool.run(self.workspace, _typed(tool.parameters, args)),
                           self.workspace.zone)
        except ToolError as exc:
            result = {"error": {"code": exc.code, "message": str(exc)}}
        where = {} if self.snapshot_id is None else {"snapshot_id": self.snapshot_id}
        self.log.append({"tool": name, "args": args, **where, "result": result})
        return result

    def _validator(self, tool: Tool) -> jsonschema_rs.Draft202012Validator:
        """The tool's argument validator, built once per tool (schemas never change)."""
        if self._validators.get(tool.name, (None,))[0] is not tool:
            self._validators[tool.name] = (tool, jsonschema_rs.Draft202012Validator(
                tool.parameters))
        return self._validators[tool.name][1]


def _typed(schema: Mapping[str, Any], value: Any) -> Any:
    """``value`` (valid against ``schema``) with whole numbers where the schema asks for an
    integer: JSON Schema counts ``2.0`` as an integer, and a tool would slice, count or
    store it as the float it still is in Python."""
    kind = schema.get("type")
    if isinstance(value, float) and (kind == "integer" or
                                     (isinstance(kind, list) and "integer" in kind)):
        return int(value)
    if isinstance(value, dict) and "properties" in schema:
        return {k: _typed(schema["properties"].get(k, {}), v) for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_typed(schema["items"], v) for v in value]
    return value


@dataclass(frozen=True)
class _Kit:
    """The tools of some services for one user, and their validators as they are built:
    every replay of every task builds a toolbox, and building tools and validators costs
    more than most calls."""

    tools: dict[str, Tool]
    validators: dict[str, tuple[Tool, jsonschema_rs.Draft202012Validator]]


def _build_kit(services: Iterable[str], user: Mapping[str, str]) -> _Kit:
    tools = [t for s in sorted(services)
             for t in reading_tools(s) + writing_tools(s, user)] + user_tools()
    return _Kit({t.name: t for t in tools}, {})


@functools.lru_cache(maxsize=32)
def _kit(services: tuple[str, ...], user: tuple[tuple[str, str], ...]) -> _Kit:
    return _build_kit(services, dict(user))
