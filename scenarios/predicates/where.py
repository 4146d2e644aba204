"""Conditions: which rows of a table a ``where`` list matches.

Values in the document are JSON, columns are typed, so each literal is read as the column's
type: ISO-8601 instants with an offset for timestamp columns (naive ones are refused: they
would mean different instants to different readers), ``YYYY-MM-DD`` for date columns, JSON
numbers, booleans and strings for the rest. Comparisons run in UTC.

A value ``{"var": "ev", "field": "title"}`` is the ``title`` of a row bound as ``ev``. When a
condition list refers to variables that bound several rows, it holds if it holds for *one*
choice of bound row per variable, the same choice for every condition in the list (so
``start = ev.start`` and ``end = ev.end`` talk about the same event).

Nulls: ``= null`` / ``!= null`` test for a missing value; ``!=`` a value holds on a null
(a missing status is not "cancelled"); every other comparison with a null is false.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from .document import parse_instant
from .errors import PredicateError, child

MAX_COMBINATIONS = 4096  # bound-row choices tried per condition list; beyond, the doc is too loose
_NORM = "__lifeloom_normalised__"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BARE = re.compile(r"^[\w:+.@\-]+$")

Condition = Mapping[str, Any]
Bindings = Mapping[str, pl.DataFrame]


def normalise(text: str) -> str:
    """Case-, accent- and whitespace-insensitive form: NFKD, no combining marks, casefold."""
    if text.isascii():  # NFKD leaves ASCII as it is and it has no combining marks
        return " ".join(text.casefold().split())
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def matches(frame: pl.DataFrame, where: Sequence[Condition], path: str, bindings: Bindings,
            table: str) -> pl.Series:
    """A boolean mask over ``frame``: the rows where every condition holds."""
    if not where:
        return pl.Series("match", [True] * frame.height, dtype=pl.Boolean)
    if frame.width == 0:  # a table declared in the manifest without any file: no rows
        return pl.Series("match", [], dtype=pl.Boolean)
    kinds = {}
    for i, condition in enumerate(where):
        field = condition["field"]
        if field not in frame.columns:
            raise PredicateError(child(child(path, i), "field"),
                                 f"{table} has no column {field!r}")
        kinds[field] = column_kind(frame.schema[field], field, child(path, i))
        if condition["op"] == "contains_normalised" and kinds[field] != "string":
            raise PredicateError(child(path, i), f"contains_normalised needs a text column; "
                                                 f"{field} is {frame.schema[field]}")
    for i, condition in enumerate(where):  # literal type errors show even if nothing is bound
        _operand_values(condition, kinds[condition["field"]], child(path, i), None)
    choices = _bound_choices(where, path, bindings)
    texts = sorted({c["field"] for c in where if c["op"] == "contains_normalised"})
    if texts and frame.height:  # each query costs far more than these small tables
        frame = frame.with_columns(
            pl.Series(_NORM + f, [None if v is None else normalise(v)
                                  for v in frame[f].cast(pl.String).to_list()],
                      dtype=pl.String)
            for f in texts)
    names = list(choices)
    alternatives = []
    for combo in itertools.product(*(choices[n] for n in names)):
        env = dict(zip(names, combo, strict=True))
        terms = [_condition_expr(c, frame.schema[c["field"]], child(path, i), env)
                 for i, c in enumerate(where)]
        alternatives.append(pl.all_horizontal(terms))
    if not alternatives:  # a variable bound no rows: nothing can match it
        return pl.Series("match", [False] * frame.height, dtype=pl.Boolean)
    if not frame.height:  # the conditions were still built above: their errors still show
        return pl.Series("match", [], dtype=pl.Boolean)
    return frame.select(pl.any_horizontal(alternatives).fill_null(False)).to_series()


def column_kind(dtype: pl.DataType, field: str, path: str) -> str:
    """The family of values a column compares with; other types are refused."""
    if isinstance(dtype, pl.Datetime):
        return "instant"
    if dtype == pl.Date:
        return "date"
    if dtype.is_numeric():
        return "number"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        return "string"
    if dtype == pl.Null:
        return "null"
    raise PredicateError(path, f"column {field} of type {dtype} cannot be compared")


def describe(where: Sequence[Condition]) -> str:
    """The conditions in words, for failure reasons."""
    return " and ".join(f"{c['field']} {c['op']} {_show(c['value'])}" for c in where)


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return f"{value['var']}.{value['field']}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str) and _BARE.match(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _bound_choices(where: Sequence[Condition], path: str,
                   bindings: Bindings) -> dict[str, list[dict[str, Any]]]:
    """Per variable, the distinct value tuples of the bound fields the conditions use."""
    fields: dict[str, list[str]] = {}
    for i, condition in enumerate(where):
        for ref, at in _refs(condition["value"], child(child(path, i), "value")):
            bound = bindings[ref["var"]]
            if ref["field"] not in bound.columns:
                raise PredicateError(at, f"variable {ref['var']!r} has no column "
                                         f"{ref['field']!r}")
            wanted = fields.setdefault(ref["var"], [])
            if ref["field"] not in wanted:
                wanted.append(ref["field"])
    choices = {name: [dict(zip(cols, row, strict=True))
                      for row in bindings[name].select(cols).unique(maintain_order=True).rows()]
               for name, cols in fields.items()}
    if math.prod(len(c) for c in choices.values()) > MAX_COMBINATIONS:
        raise PredicateError(path, f"more than {MAX_COMBINATIONS} combinations of bound rows; "
                                   "narrow the `where` of the binding `exists`")
    return choices


def _refs(value: Any, path: str) -> list[tuple[Mapping[str, Any], str]]:
    if isinstance(value, Mapping):
        return [(value, path)]
    if isinstance(value, list):
        return [r for i, v in enumerate(value) for r in _refs(v, child(path, i))]
    return []


def _operand_values(condition: Condition, kind: str, path: str,
                    env: Mapping[str, Mapping[str, Any]] | None) -> list[Any]:
    """The condition's value(s), read as the column's type; ``env=None`` checks literals only."""
    value = condition["value"]
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        at = child(child(path, "value"), i) if isinstance(value, list) else child(path, "value")
        if isinstance(item, Mapping):
            out.append(None if env is None else _coerce(env[item["var"]][item["field"]], kind,
                                                        at, bound=True))
        else:
            out.append(_coerce(item, kind, at, bound=False))
    return out


def _coerce(value: Any, kind: str, path: str, *, bound: bool) -> Any:
    if value is None or kind == "null":
        return value
    if kind == "instant":
        if isinstance(value, datetime) and bound:
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, str):
            return parse_instant(value, path).astimezone(UTC)
    elif kind == "date":
        if isinstance(value, date) and not isinstance(value, datetime) and bound:
            return value
        if isinstance(value, str) and _DATE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
    elif kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    elif (kind == "bool" and isinstance(value, bool)) or (kind == "string"
                                                         and isinstance(value, str)):
        return value
    wanted = {"instant": "an ISO-8601 instant with offset", "date": "a YYYY-MM-DD date",
              "number": "a number", "bool": "true or false", "string": "a string"}[kind]
    raise PredicateError(path, f"{value!r} does not fit the column: expected {wanted}")


def _column(field: str, dtype: pl.DataType, kind: str, op: str) -> pl.Expr:
    if op == "contains_normalised":
        return pl.col(_NORM + field)
    column = pl.col(field)
    if kind == "instant":  # compare in UTC; naive timestamp columns are taken to be UTC
        aware = getattr(dtype, "time_zone", None) is not None
        return column.dt.convert_time_zone("UTC") if aware else column.dt.replace_time_zone("UTC")
    return column.cast(pl.String) if kind == "string" else column



def _literal(value: Any, kind: str) -> pl.Expr:
    if kind == "instant":
        return pl.lit(value, dtype=pl.Datetime("us", "UTC"))
    return pl.lit(value, dtype=pl.Date) if kind == "date" else pl.lit(value)


def _condition_expr(condition: Condition, dtype: pl.DataType, path: str,
                    env: Mapping[str, Mapping[str, Any]]) -> pl.Expr:
    op = condition["op"]
    kind = column_kind(dtype, condition["field"], path)
    values = _operand_values(condition, kind, path, env)
    column = _column(condition["field"], dtype, kind, op)
    if op == "in":
        present = [v for v in values if v is not None]
        # Equalities rather than is_in: is_in refuses mixed int/float and unit mismatches.
        expr = pl.any_horizontal([column.eq(_literal(v, kind)) for v in present]) if (
            present) else pl.lit(False)
        return expr | column.is_null() if None in values else expr
    if op in ("=", "!=") and values[0] is None:
        return column.is_null() if op == "=" else column.is_not_null()
    if None in values:  # an ordering against a missing bound value says nothing
        return pl.lit(False)
    lits = [_literal(v, kind) for v in values]
    if op == "=":
        return column.eq(lits[0])
    if op == "!=":
        return column.ne_missing(lits[0])
    if op == "between":
        return column.is_between(lits[0], lits[1], closed="both")
    if op == "contains_normalised":
        return column.str.contains(normalise(values[0]), literal=True)
    return {"<": column.lt, "<=": column.le, ">": column.gt, ">=": column.ge}[op](lits[0])
