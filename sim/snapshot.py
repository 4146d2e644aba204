"""Snapshots: the frozen, agent-visible state of a world as of one instant.

Derived by rule from the versioned history (DESIGN.md, "Snapshot"): for each record, the
version valid at ``as_of``; nothing that became true later; ``valid_to`` dropped, since it
would reveal when a record changes next. What was already known at ``as_of`` stays, even
when it is about the future (next week's meeting, a due date, a delivery estimate).
Several tasks may share one snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from sim.services import TABLES
from sim.services.base import HISTORY_COLUMNS

# A snapshot row keeps which version it shows and since when; only the future is removed.
SNAPSHOT_BOOKKEEPING = tuple(f for f in HISTORY_COLUMNS if f.name != "valid_to")


def snapshot_schema(table: str) -> pa.Schema:
    """The schema of ``table`` in a snapshot (before exporters add ``snapshot_id`` and
    ``world_id``): record id, version, valid_from, then the service's columns."""
    return pa.schema([*SNAPSHOT_BOOKKEEPING, *TABLES[table].columns])


def as_of(history: pa.Table, instant_us: int) -> pa.Table:
    """The versions of ``history`` valid at ``instant_us`` (microseconds since the epoch,
    UTC), one per record, without ``valid_to``."""
    at = pa.scalar(instant_us, pa.timestamp("us", tz="UTC"))
    started = pc.less_equal(history["valid_from"], at)
    current = pc.or_kleene(pc.is_null(history["valid_to"]),
                           pc.greater(history["valid_to"], at))
    return history.filter(pc.and_kleene(started, current)).drop_columns(["valid_to"])


def snapshot(history: Mapping[str, pa.Table], instant_us: int) -> dict[str, pa.Table]:
    """Every table of a world's history as of ``instant_us``, in snapshot schemas.

    ``history`` maps table names to history tables (``World.tables()`` or read from a
    dataset; extra leading columns such as ``world_id`` are dropped and added back by the
    exporter).
    """
    out = {}
    for name, table in history.items():
        schema = snapshot_schema(name)
        out[name] = as_of(table, instant_us).select(schema.names).cast(schema)
    return out
