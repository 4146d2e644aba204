"""Snapshots: the frozen, agent-visible state of a world as of one instant.

Derived by rule from the versioned history (DESIGN.md, "Snapshot"): for each record, the
version valid at ``as_of``; nothing that became true later; ``valid_to`` dropped, since it
would reveal when a record changes next. What was already known at ``as_of`` stays, even
when it is about the future (next week's meeting, a due date, a delivery estimate).
Several tasks may share one snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
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
    return Snapshots(history).at(instant_us)


class Snapshots:
    """Snapshots of one history at many instants (a world's environments share dozens):
    each table is put in its snapshot schema and its validity read into numpy once, so a
    snapshot is one boolean mask and one filter per table. Same rows as :func:`as_of`."""

    def __init__(self, history: Mapping[str, pa.Table]) -> None:
        self._tables: dict[str, tuple[pa.Table, pa.Table, tuple | None]] = {}
        for name, table in history.items():
            schema = snapshot_schema(name)
            self._tables[name] = (table, table.select(schema.names).cast(schema),
                                  _validity(table))

    def at(self, instant_us: int) -> dict[str, pa.Table]:
        out = {}
        for name, (table, shown, validity) in self._tables.items():
            if validity is None:  # not microseconds: let Arrow compare the instants
                schema = snapshot_schema(name)
                out[name] = as_of(table, instant_us).select(schema.names).cast(schema)
                continue
            start, started, end, ended = validity
            current = started & (start <= instant_us) & (~ended | (end > instant_us))
            # History is written in time order, so a table none of whose records changed
            # by the instant shows a leading run of its rows: a slice shares their buffers
            # where a filter would copy every column.
            k = int(np.count_nonzero(current))
            if current[:k].all():
                out[name] = shown.slice(0, k)
            else:
                out[name] = shown.filter(pa.array(current, pa.bool_()))
        return out


def _validity(history: pa.Table) -> tuple | None:
    """``valid_from`` and ``valid_to`` as int64 microseconds with their non-null masks (the
    comparisons :func:`as_of` makes, where a null ``valid_from`` never started and a null
    ``valid_to`` never ended), or None for a unit other than microseconds."""
    out = []
    for name in ("valid_from", "valid_to"):
        column = history[name]
        if not pa.types.is_timestamp(column.type) or column.type.unit != "us":
            return None
        present = pc.is_valid(column).to_numpy(zero_copy_only=False).astype(bool)
        values = pc.fill_null(column.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
        out += [np.asarray(values, dtype=np.int64), present]
    return tuple(out)
