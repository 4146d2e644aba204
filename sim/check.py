"""check_world: the invariants every generated world must satisfy, as a public checker.

Returns a list of problems (empty when the world is sound) rather than raising, so a user's
CI can print all of them at once. Our own tests call exactly this function.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.services import TABLES

_INSTANT_COLUMNS_INSIDE = ("valid_from", "valid_to", "sent_at", "posted_at", "observed_at",
                           "alerted_at", "occurred_at", "updated_at", "placed_at", "added_at",
                           "started_at", "created_at", "completed_at")


def check_world(history: Mapping[str, pa.Table], events: pa.Table, *,
                start: dt.datetime, end: dt.datetime) -> list[str]:
    """Problems found in a world's history tables and event log (``[]`` if none).

    ``start``/``end`` bound the window as aware UTC instants.
    """
    problems: list[str] = []
    problems += _instants(history, events, start, end)
    problems += _causes_precede_effects(events)
    problems += _references_resolve(history)
    problems += _replies_follow_originals(history)
    problems += _calendar_events_end_after_start(history)
    problems += _versions_are_contiguous(history)
    return problems


def _instants(history, events, start, end) -> list[str]:
    out = []
    tables = dict(history) | {"oracle/events": events}
    for name, table in tables.items():
        for field in table.schema:
            if not pa.types.is_timestamp(field.type):
                continue
            if field.type.tz != "UTC":
                out.append(f"{name}.{field.name}: timestamps are not UTC-aware")
                continue
            if field.name not in (*_INSTANT_COLUMNS_INSIDE, "ts"):
                continue  # future-dated facts (a meeting next month) may lie outside
            col = table[field.name].drop_null()
            if len(col) and (pc.min(col).as_py() < start or pc.max(col).as_py() > end):
                out.append(f"{name}.{field.name}: instants outside the window")
    return out


def _causes_precede_effects(events: pa.Table) -> list[str]:
    if not events.num_rows:
        return []
    ids = events["event_id"].to_numpy(zero_copy_only=False)
    ts = events["ts"].cast(pa.int64()).to_numpy()
    cause = events["cause_event_id"].to_numpy(zero_copy_only=False)
    has = np.flatnonzero(cause != None)  # noqa: E711
    lookup = dict(zip(ids.tolist(), ts.tolist(), strict=True))
    missing = [c for c in cause[has] if c not in lookup]
    out = []
    if missing:
        out.append(f"oracle/events.cause_event_id: {len(missing)} causes not in the log")
    known = [i for i in has if cause[i] in lookup]
    late = [i for i in known if lookup[cause[i]] >= ts[i]]
    if late:
        out.append(f"oracle/events: {len(late)} events do not come after their cause "
                   f"(e.g. {ids[late[0]]})")
    return out


def _references_resolve(history) -> list[str]:
    ids_by_table = {n: set(t["record_id"].to_pylist()) for n, t in history.items()}
    every = set().union(*ids_by_table.values()) if ids_by_table else set()
    out = []
    for name, table in history.items():
        for col, target in TABLES[name].references.items():
            values = set(table[col].drop_null().to_pylist())
            pool = every if target == "*" else ids_by_table.get(target, set())
            dangling = values - pool
            if dangling:
                out.append(f"{name}.{col}: {len(dangling)} ids resolve to no record "
                           f"in {target} (e.g. {sorted(dangling)[0]})")
    return out


def _replies_follow_originals(history) -> list[str]:
    out = []
    for name, col, when in (("personal_emails", "in_reply_to", "sent_at"),
                            ("work_emails", "in_reply_to", "sent_at"),
                            ("chat_messages", "reply_to", "sent_at")):
        table = history.get(name)
        if table is None or not table.num_rows:
            continue
        first = {}
        for rid, t in zip(table["record_id"].to_pylist(), table[when].to_pylist(), strict=True):
            first.setdefault(rid, t)
        for rid, parent, t in zip(table["record_id"].to_pylist(), table[col].to_pylist(),
                                  table[when].to_pylist(), strict=True):
            if parent is not None and parent in first and not first[parent] < t:
                out.append(f"{name}: {rid} is not later than {parent}, which it answers")
                break
    return out


def _calendar_events_end_after_start(history) -> list[str]:
    table = history.get("calendar_events")
    if table is None or not table.num_rows:
        return []
    timed = table.filter(pc.invert(table["all_day"]))
    bad = pc.sum(pc.cast(pc.less_equal(timed["end"], timed["start"]), pa.int64())).as_py() or 0
    days = table.filter(table["all_day"])
    bad += pc.sum(pc.cast(pc.less_equal(days["end_date"], days["start_date"]),
                          pa.int64())).as_py() or 0
    return [f"calendar_events: {bad} events do not end after they start"] if bad else []


def _versions_are_contiguous(history) -> list[str]:
    out = []
    for name, table in history.items():
        if not table.num_rows:
            continue
        rows = sorted(zip(table["record_id"].to_pylist(), table["version"].to_pylist(),
                          table["valid_from"].to_pylist(), table["valid_to"].to_pylist(),
                          strict=True))
        for a, b in itertools.pairwise(rows):
            if a[0] == b[0] and (b[1] != a[1] + 1 or a[3] != b[2]):
                out.append(f"{name}: versions of {a[0]} do not chain")
                break
    return out
