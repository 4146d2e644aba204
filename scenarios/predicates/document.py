"""Checking a predicate document before any state is looked at.

Three passes, cheapest first: a depth bound (so a hostile or generated document cannot
exhaust the stack of this or any other evaluator), the shipped JSON Schema (the contract a
harness in another language also checks), then what a schema cannot say: every variable is
bound by an earlier sibling ``exists`` in an enclosing ``all`` (binds end with that ``all``),
no bind shadows a visible one, and windows are real, ordered instants.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from importlib import resources
from typing import Any

import jsonschema_rs

from .errors import PredicateError, child

VERSION = "lifeloom.predicate/1"
MAX_DEPTH = 32  # nested nodes; generous for real tasks, small enough for any stack
_MAX_JSON_DEPTH = 2 * MAX_DEPTH + 16  # a node level is an object plus its `of` list
SCHEMA: dict[str, Any] = json.loads(
    resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8")
)
# jsonschema_rs (Rust) rather than jsonschema: generation validates every task's documents,
# and it checks them about 100 times faster (benchmarks/README.md, "tasks").
_VALIDATOR = jsonschema_rs.Draft202012Validator(SCHEMA)
_LOGICAL = ("all", "any", "not")


def validate(document: Any) -> None:
    """Raise ``PredicateError(path, why)`` unless ``document`` is a valid predicate document."""
    if not isinstance(document, Mapping):
        raise PredicateError("document", "must be a JSON object")
    _check_depth(document)
    errors = list(_VALIDATOR.iter_errors(document))
    if errors:
        # Deepest first: the most specific complaint; ties broken by text for determinism.
        worst = min(errors, key=lambda e: (-len(e.instance_path), _path(e.instance_path),
                                           e.message))
        raise PredicateError(_path(worst.instance_path), worst.message)
    _check_scopes(document["predicate"], "predicate", frozenset())


def parse_instant(text: str, path: str) -> datetime:
    """An ISO-8601 instant with an offset; a naive one would depend on the reader's zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise PredicateError(path, f"{text!r} is not an ISO-8601 instant") from None
    if value.tzinfo is None:
        raise PredicateError(path, f"{text!r} has no UTC offset (naive instants are ambiguous)")
    return value


def _path(keys: Iterable[Any]) -> str:
    path = ""
    for key in keys:
        path = str(key) if not path else child(path, key)
    return path or "document"


def _check_depth(document: Mapping[str, Any]) -> None:
    """Bound node nesting and raw JSON nesting without recursing ourselves."""
    # (value, path, nodes above and including it, JSON depth, whether it sits where a node goes)
    stack: list[tuple[Any, str, int, int, bool]] = [
        (document.get("predicate"), "predicate", 1, 1, True)]
    while stack:
        value, path, nodes, depth, at_node = stack.pop()
        if depth > _MAX_JSON_DEPTH:
            raise PredicateError(path, f"nested deeper than {_MAX_JSON_DEPTH} JSON levels")
        if isinstance(value, Mapping):
            if at_node and nodes > MAX_DEPTH:
                raise PredicateError(path, f"nodes nested deeper than {MAX_DEPTH}")
            for key, item in value.items():
                below = at_node and key == "of"
                stack.append((item, child(path, str(key)), nodes + below, depth + 1, below))
        elif isinstance(value, list):
            stack.extend((item, child(path, i), nodes, depth + 1, at_node)
                         for i, item in enumerate(value))


def _check_scopes(node: Mapping[str, Any], path: str, scope: frozenset[str]) -> frozenset[str]:
    """Check variables; return the names this node binds for its later siblings in an ``all``."""
    op = node["op"]
    if op in ("exists", "not_exists", "count", "no_overlap"):
        for key in ("where", "exclude_where"):
            for i, condition in enumerate(node.get(key, [])):
                _check_refs(condition["value"], child(child(child(path, key), i), "value"), scope)
    if op == "no_overlap":
        window = child(path, "window")
        start = parse_instant(node["window"]["from"], child(window, "from"))
        end = parse_instant(node["window"]["to"], child(window, "to"))
        if start >= end:
            raise PredicateError(window, "`from` must be before `to`")
    if op == "exists" and "bind" in node:
        name = node["bind"]
        if name in scope:  # shadowing would make a later reference ambiguous to a reader
            raise PredicateError(child(path, "bind"), f"variable {name!r} is already bound")
        return frozenset({name})
    if op == "all":  # its binds stay inside it, so a sub-predicate can be reused as a unit
        for i, item in enumerate(node["of"]):
            scope |= _check_scopes(item, child(child(path, "of"), i), scope)
    if op == "any":
        for i, item in enumerate(node["of"]):
            _check_scopes(item, child(child(path, "of"), i), scope)
    if op == "not":
        _check_scopes(node["of"], child(path, "of"), scope)
    return frozenset()


def _check_refs(value: Any, path: str, scope: frozenset[str]) -> None:
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_refs(item, child(path, i), scope)
    elif isinstance(value, Mapping) and value["var"] not in scope:
        raise PredicateError(path, f"variable {value['var']!r} is not bound by an earlier "
                                   "`exists` in an enclosing `all`")
