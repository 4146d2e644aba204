"""The portable predicate language: what must (or must not) hold in an agent's final state.

A task's gold effects are written once, as JSON, and judged by any harness on the Parquet
tables of a final state, with no generator code. This package is self-contained (standard
library, polars, jsonschema-rs) so a harness can vendor it alone; ``schema.json`` beside it is
the normative shape of a document, for evaluators in other languages.

A document::

    {"version": "lifeloom.predicate/1",
     "predicate": {"op": "all", "of": [
        {"op": "exists", "table": "calendar_events", "created": true, "bind": "ev",
         "where": [{"field": "start", "op": "=", "value": "2026-02-03T10:00:00+00:00"}]},
        {"op": "exists", "table": "work_emails", "created": true,
         "where": [{"field": "to_addresses", "op": "contains_normalised",
                    "value": "dana@example.com"},
                   {"field": "body", "op": "contains_normalised",
                    "value": {"var": "ev", "field": "title"}}]},
        {"op": "no_overlap", "table": "calendar_events",
         "window": {"from": "2026-02-03T00:00:00+00:00", "to": "2026-02-04T00:00:00+00:00"},
         "exclude_where": [{"field": "status", "op": "=", "value": "cancelled"}]}]}}

Nodes (``op``):

- ``exists`` {table, where?, bind?, created?, changed?}: some row matches. ``bind`` names the
  matching rows for the later siblings of the enclosing ``all`` (and ends with it).
  ``created``: only records whose ``record_id`` is absent from the initial state; ``changed``:
  only records present there whose content (all columns but ``version``, ``valid_from``,
  ``valid_to``, ``snapshot_id``) differs.
- ``not_exists`` {table, where?, created?, changed?}; ``count`` {..., cmp, n} with cmp one of
  ``== != < <= > >=``.
- ``unchanged`` {table, ids}: each record is in the final state with its initial content; an
  id absent from the initial state is an error in the document.
- ``all`` / ``any`` {of: [nodes]}, ``not`` {of: node}.
- ``no_overlap`` {table, window: {from, to}, where?, exclude_where?, start_field?="start",
  end_field?="end"}: no two matching, non-excluded rows overlap inside the window.

Conditions (``where``, all must hold) are ``{field, op, value}`` with op ``=``, ``!=``,
``<``, ``<=``, ``>``, ``>=``, ``between`` ([low, high], inclusive), ``in`` (a list) or
``contains_normalised`` (substring, ignoring case, accents and runs of whitespace). Values
are read as the column's type (see ``where.py``); a value may be ``{"var", "field"}``.

Errors: a bad document, an unknown table or column, or a value that does not fit its column
raises ``PredicateError`` naming the JSON path. A table absent from a state directory exists
(empty) only if the directory's ``manifest.json`` lists it (see ``state.py``). Evaluation is
pure and deterministic; nesting is bounded at ``MAX_DEPTH`` nodes.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from typing import Any

import polars as pl

from .document import MAX_DEPTH, SCHEMA, VERSION, validate
from .errors import PredicateError, Verdict
from .nodes import Context, evaluate_node
from .state import Changes, TableChanges, as_state, load_state
from .where import normalise

__all__ = ["MAX_DEPTH", "SCHEMA", "VERSION", "Changes", "PredicateError", "TableChanges",
           "Verdict", "evaluate", "load_state", "normalise", "validate"]

StateLike = Mapping[str, pl.DataFrame] | str | os.PathLike[str]


@functools.lru_cache(maxsize=4096)
def _validate_text(text: str) -> None:
    """Validation of a document's JSON text, remembered: graders judge one task's documents
    against many runs (failures raise and are not remembered)."""
    validate(json.loads(text))


def evaluate(document: Mapping[str, Any], final: StateLike,
             initial: StateLike | None = None, *, changes: Changes | None = None) -> Verdict:
    """Judge ``final`` (tables by name, or a state directory) against ``document``.

    ``initial`` is needed only by ``created``, ``changed`` and ``unchanged``. ``changes``
    (optional) says which records differ between the two states, for a caller that knows
    it; the verdict is the same, found without comparing whole tables. It must be right.
    """
    try:
        text = json.dumps(document, sort_keys=True)
    except (TypeError, ValueError):
        validate(document)  # not JSON: let the validator say why
    else:
        _validate_text(text)
    ctx = Context(as_state(final), None if initial is None else as_state(initial), changes)
    verdict, _ = evaluate_node(document["predicate"], "predicate", ctx, {})
    return verdict
