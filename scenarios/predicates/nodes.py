"""Evaluating a validated predicate tree on a final state (and, where asked, the initial one).

Each node yields a ``Verdict`` and the variables it binds. ``all`` evaluates its children
left to right and hands each the bindings of the ones before it, so ``exists ... bind "ev"``
can be followed by a node whose conditions mention ``{"var": "ev", ...}``; the bindings end
with that ``all`` (they do not leak into the siblings of an enclosing one). Every child of
``all`` and ``any`` is evaluated (no short cut), so a failure reports every reason at once.
Reasons are only produced for failures; a passing node says nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .document import parse_instant
from .errors import PredicateError, Verdict, child
from .overlap import SHOWN, overlaps
from .state import Changes, State, contents, new_or_changed, record_ids, rows_with_ids, table
from .where import describe as describe_where
from .where import matches

Node = Mapping[str, Any]
Bindings = dict[str, pl.DataFrame]
_CMP: dict[str, Callable[[int, int], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


@dataclass
class Context:
    """The states under evaluation (and, when the caller knows them, the changes from one
    to the other), plus per-evaluation caches of record contents and ids."""

    final: State
    initial: State | None
    changes: Changes | None = None
    _contents: dict[tuple[str, str, frozenset[str]], dict[str, dict[str, Any]]] = field(
        default_factory=dict)
    _ids: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def contents(self, which: str, name: str, path: str,
                 ids: frozenset[str]) -> dict[str, dict[str, Any]]:
        """The content of the records ``ids`` that the table holds, by record id."""
        key = (which, name, ids)
        if key not in self._contents:
            frame = table(self.state(which, path), name, child(path, "table"), which)
            self._contents[key] = contents(frame, name, path, ids)
        return self._contents[key]

    def ids(self, which: str, name: str, path: str) -> set[str]:
        key = (which, name)
        if key not in self._ids:
            frame = table(self.state(which, path), name, child(path, "table"), which)
            self._ids[key] = set(record_ids(frame, name, path))
        return self._ids[key]

    def state(self, which: str, path: str) -> State:
        if which == "final":
            return self.final
        if self.initial is None:
            raise PredicateError(path, "needs the initial state, and none was given")
        return self.initial


def evaluate_node(node: Node, path: str, ctx: Context,
                  bindings: Bindings) -> tuple[Verdict, Bindings]:
    """The node's verdict and the variables it binds for later siblings."""
    op = node["op"]
    if op == "all":
        return _all(node, path, ctx, bindings)
    if op == "any":
        results = [evaluate_node(n, child(child(path, "of"), i), ctx, bindings)[0]
                   for i, n in enumerate(node["of"])]
        if any(r.passed for r in results):
            return Verdict(True), {}
        reasons = [f"{path}: none of the {len(results)} alternatives held"]
        return Verdict(False, reasons + [r for v in results for r in v.reasons]), {}
    if op == "not":
        inner = evaluate_node(node["of"], child(path, "of"), ctx, bindings)[0]
        if not inner.passed:
            return Verdict(True), {}
        return Verdict(False, [f"{path}: {describe(node['of'])} holds, but must not"]), {}
    if op == "unchanged":
        return _unchanged(node, path, ctx), {}
    if op == "no_overlap":
        return _no_overlap(node, path, ctx, bindings), {}
    rows = _rows(node, path, ctx, bindings)
    what = _what(node)
    if op == "exists":
        verdict = Verdict(True) if rows.height else Verdict(False, [f"{path}: no {what}"])
        return verdict, ({node["bind"]: rows} if "bind" in node else {})
    if op == "not_exists":
        if rows.height == 0:
            return Verdict(True), {}
        return Verdict(False, [f"{path}: {_count(rows.height, what)} (expected none): "
                               f"{_ids(rows)}"]), {}
    if _CMP[node["cmp"]](rows.height, node["n"]):
        return Verdict(True), {}
    return Verdict(False, [f"{path}: {_count(rows.height, what)}, expected "
                           f"{node['cmp']} {node['n']}"]), {}


def describe(node: Node) -> str:
    """A node in words, for the reason a ``not`` gives."""
    op = node["op"]
    if op == "exists":
        return f"some {_what(node)}"
    if op == "not_exists":
        return f"no {_what(node)}"
    if op == "count":
        return f"the number of {_what(node, plural=True)} {node['cmp']} {node['n']}"
    if op == "unchanged":
        return f"{node['table']} {', '.join(node['ids'])} unchanged"
    if op == "no_overlap":
        return (f"no two rows of {node['table']} overlap between {node['window']['from']} and "
                f"{node['window']['to']}")
    if op == "not":
        return f"not ({describe(node['of'])})"
    joiner = " and " if op == "all" else " or "
    return "(" + joiner.join(describe(n) for n in node["of"]) + ")"


def _all(node: Node, path: str, ctx: Context, bindings: Bindings) -> tuple[Verdict, Bindings]:
    scope, reasons = dict(bindings), []
    for i, item in enumerate(node["of"]):
        verdict, bound = evaluate_node(item, child(child(path, "of"), i), ctx, scope)
        scope.update(bound)
        reasons.extend(verdict.reasons if not verdict.passed else [])
    return Verdict(not reasons, reasons), {}  # binds end with the `all` that made them


def _rows(node: Node, path: str, ctx: Context, bindings: Bindings) -> pl.DataFrame:
    """Rows of the node's table within its created/changed scope matching its ``where``."""
    name = node["table"]
    frame = table(ctx.final, name, child(path, "table"), "final")
    if node.get("created") or node.get("changed"):
        before = table(ctx.state("initial", path), name, child(path, "table"), "initial")
        if ctx.changes is None:
            frame = new_or_changed(frame, before, created=bool(node.get("created")))
        else:
            known = ctx.changes.get(name)
            ids = frozenset() if known is None else (
                known.created if node.get("created") else known.changed)
            frame = rows_with_ids(frame, ids)
    where = node.get("where", [])
    return _keep(frame, matches(frame, where, child(path, "where"), bindings, name))


def _keep(frame: pl.DataFrame, mask: pl.Series) -> pl.DataFrame:
    """``frame.filter(mask)``, without a query when it would keep every row."""
    keeps_all = frame.height == 0 or (mask.null_count() == 0 and mask.all())
    return frame if keeps_all else frame.filter(mask)


def _unchanged(node: Node, path: str, ctx: Context) -> Verdict:
    name = node["table"]
    if ctx.changes is not None and _untouched(node, ctx.changes, name):
        # None of the records was changed or deleted: each holds if it is a real record.
        before = ctx.ids("initial", name, path)
        ctx.ids("final", name, path)  # refused as contents() would refuse it
        for i, rid in enumerate(node["ids"]):
            if rid not in before:
                raise PredicateError(child(child(path, "ids"), i),
                                     f"{name} {rid} is not in the initial state")
        return Verdict(True)
    wanted = frozenset(node["ids"])
    before = ctx.contents("initial", name, path, wanted)
    after = ctx.contents("final", name, path, wanted)
    reasons = []
    for i, rid in enumerate(node["ids"]):
        if rid not in before:
            raise PredicateError(child(child(path, "ids"), i),
                                 f"{name} {rid} is not in the initial state")
        if rid not in after:
            reasons.append(f"{path}: {name} {rid} is missing from the final state")
        elif after[rid] != before[rid]:
            changed = sorted(c for c in before[rid].keys() | after[rid].keys()
                             if before[rid].get(c) != after[rid].get(c))
            reasons.append(f"{path}: {name} {rid} changed ({', '.join(changed)})")
    return Verdict(not reasons, reasons)


def _untouched(node: Node, changes: Changes, name: str) -> bool:
    known = changes.get(name)
    return known is None or not (known.changed | known.deleted) & set(node["ids"])


def _no_overlap(node: Node, path: str, ctx: Context, bindings: Bindings) -> Verdict:
    name = node["table"]
    frame = table(ctx.final, name, child(path, "table"), "final")
    frame = _keep(frame, matches(frame, node.get("where", []), child(path, "where"), bindings,
                                 name))
    if "exclude_where" in node:
        frame = _keep(frame, ~matches(frame, node["exclude_where"], child(path, "exclude_where"),
                                      bindings, name))
    window = node["window"]
    span = (parse_instant(window["from"], path), parse_instant(window["to"], path))
    found = overlaps(frame, node.get("start_field", "start"), node.get("end_field", "end"), span,
                     path, name)
    if not found:
        return Verdict(True)
    more = f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    return Verdict(False, [f"{path}: rows of {name} overlap between {window['from']} and "
                           f"{window['to']}: " + "; ".join(found[:SHOWN]) + more])


def _what(node: Node, *, plural: bool = False) -> str:
    scope = (" created by the agent" if node.get("created") else
             " changed by the agent" if node.get("changed") else "")
    where = node.get("where", [])
    rows = "rows" if plural else "row"
    return f"{rows} of {node['table']}{scope}" + (f" where {describe_where(where)}"
                                                  if where else "")


def _count(n: int, what: str) -> str:
    return f"{n} {what.replace('row of', 'rows of', 1) if n != 1 else what}"


def _ids(rows: pl.DataFrame) -> str:
    if "record_id" not in rows.columns:
        return f"{rows.height} rows"
    ids = sorted(rows["record_id"].cast(pl.String).to_list())
    more = f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else ""
    return ", ".join(ids[:SHOWN]) + more
