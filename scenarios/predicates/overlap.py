"""``no_overlap``: do any two time spans in a calendar-like table overlap inside a window.

Spans are half-open, ``[start, end)``, so back-to-back meetings do not clash. Rows with a
missing start or end (all-day events carry dates, not instants) occupy no time. Only the
part of each span inside the window counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from .errors import PredicateError, child

SHOWN = 5  # overlaps listed in a reason; the rest are counted


def overlaps(frame: pl.DataFrame, start_field: str, end_field: str, window: tuple[datetime,
             datetime], path: str, table: str) -> list[str]:
    """One line per overlapping pair found (a sweep finds a witness for each clashing row)."""
    if frame.height == 0:
        return []
    for key, field in (("start_field", start_field), ("end_field", end_field)):
        if field not in frame.columns:
            raise PredicateError(child(path, key), f"{table} has no column {field!r}")
        if not isinstance(frame.schema[field], pl.Datetime):
            raise PredicateError(child(path, key), f"{table}.{field} is not a timestamp column")
    ids = (frame["record_id"].cast(pl.String).to_list() if "record_id" in frame.columns
           else [f"row {i}" for i in range(frame.height)])
    lo, hi = (w.astimezone(UTC) for w in window)
    spans = []
    for rid, start, end in zip(ids, frame[start_field].to_list(), frame[end_field].to_list(),
                               strict=True):
        if start is None or end is None:
            continue
        s, e = max(_utc(start), lo), min(_utc(end), hi)
        if s < e:
            spans.append((s, e, rid))
    spans.sort()
    found = []
    if spans:
        latest = spans[0]
        for span in spans[1:]:
            if span[0] < latest[1]:
                found.append(f"{latest[2]} ({_span(latest)}) overlaps {span[2]} ({_span(span)})")
            if span[1] > latest[1]:
                latest = span
    return found


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _span(span: tuple[datetime, datetime, str]) -> str:
    return f"{span[0].isoformat()} to {span[1].isoformat()}"
