"""Versioned record histories, collected column-wise.

Routines append whole batches (one call per day per routine, never one per record). A batch
names the record ids it writes; a record id seen again is a new *version* of that record.
Version numbers and ``valid_to`` are derived once, at the end: version k of a record stops
being valid exactly when version k+1 starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.clock import Clock
from sim.services.base import TableSpec

NULL_TS = np.iinfo(np.int64).min  # sentinel for "no instant" in int64 second columns
NULL_DATE = np.iinfo(np.int32).min  # sentinel for "no date" in day-number columns


def to_arrow_column(values: Any, type_: pa.DataType, clock: Clock) -> pa.Array:
    """One column of a batch as Arrow; timestamps arrive as sim seconds, dates as day numbers."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values.cast(type_) if values.type != type_ else values
    if pa.types.is_timestamp(type_):
        secs = np.asarray(values, dtype=np.int64)
        mask = secs == NULL_TS
        return pa.array(clock.to_arrow_us(np.where(mask, 0, secs)), type_, mask=mask)
    if pa.types.is_date32(type_):
        days = np.asarray(values, dtype=np.int32)
        mask = days == NULL_DATE
        return pa.array(np.where(mask, 0, days), pa.date32(), mask=mask)
    if isinstance(values, np.ndarray) and values.dtype != object:
        return pa.array(values, type_)
    return pa.array(values, type_, from_pandas=True)


class TableHistory:
    """Every version of every record of one table, in append order."""

    def __init__(self, spec: TableSpec, clock: Clock) -> None:
        self.spec = spec
        self._clock = clock
        self._batches: list[pa.RecordBatch] = []
        self._types = {f.name: f.type for f in spec.schema}

    def append(self, record_ids: Sequence[str] | pa.Array, valid_from: np.ndarray,
               columns: Mapping[str, Any]) -> None:
        n = len(record_ids)
        if n == 0:
            return
        unknown = set(columns) - set(self._types)
        if unknown:
            raise KeyError(f"{self.spec.name}: unknown columns {sorted(unknown)}")
        arrays = {
            "record_id": to_arrow_column(record_ids, pa.string(), self._clock),
            "valid_from": pa.array(np.asarray(valid_from, dtype=np.int64), pa.int64()),
        }
        for name, values in columns.items():
            if isinstance(values, str | int | bool | None) and not isinstance(values, np.ndarray):
                values = [values] * n
            arr = to_arrow_column(values, self._types[name], self._clock)
            if len(arr) != n:
                raise ValueError(f"{self.spec.name}.{name}: {len(arr)} values for {n} records")
            arrays[name] = arr
        self._batches.append(pa.RecordBatch.from_pydict(arrays))

    def __len__(self) -> int:
        return sum(b.num_rows for b in self._batches)

    def versions_before(self, until: int) -> tuple[np.ndarray, np.ndarray]:
        """(record ids, valid_from) of versions written so far that started before ``until``,
        sorted by ``valid_from``: what already exists for a user to open."""
        if not self._batches:
            return np.array([], dtype=object), np.array([], dtype=np.int64)
        ids = np.concatenate([b.column("record_id").to_numpy(zero_copy_only=False)
                              for b in self._batches])
        start = np.concatenate([b.column("valid_from").to_numpy() for b in self._batches])
        keep = start < until
        order = np.argsort(start[keep], kind="stable")
        return ids[keep][order], start[keep][order]

    def to_arrow(self, *, until: int) -> pa.Table:
        """All versions with ``valid_from < until`` in the table's schema.

        Versions are numbered per record in ``valid_from`` order (append order breaks ties);
        a ``valid_to`` at or after ``until`` is left open, since the window ends first.
        """
        schema = self.spec.schema
        if not self._batches:
            return schema.empty_table()
        names = [f.name for f in schema if f.name not in ("version", "valid_to")]
        table = pa.Table.from_batches(
            [_conform(b, names, self._types) for b in self._batches]
        ).combine_chunks()
        table = table.append_column("_seq", pa.array(np.arange(table.num_rows), pa.int64()))
        table = table.filter(pc.less(table["valid_from"], until))
        order = pc.sort_indices(
            table, [("record_id", "ascending"), ("valid_from", "ascending"), ("_seq", "ascending")]
        )
        table = table.take(order)
        rid = table["record_id"].to_numpy(zero_copy_only=False)
        start = table["valid_from"].to_numpy()
        first = np.ones(len(rid), dtype=bool)
        first[1:] = rid[1:] != rid[:-1]
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(rid)), 0))
        version = (np.arange(len(rid)) - group_start + 1).astype(np.int32)
        last = np.ones(len(rid), dtype=bool)
        last[:-1] = first[1:]
        nxt = np.empty_like(start)
        nxt[:-1] = start[1:]
        valid_to = np.where(last, NULL_TS, nxt)
        columns = {
            "record_id": table["record_id"],
            "version": pa.array(version),
            "valid_from": to_arrow_column(start, schema.field("valid_from").type, self._clock),
            "valid_to": to_arrow_column(valid_to, schema.field("valid_to").type, self._clock),
        }
        for f in schema:
            if f.name not in columns:
                columns[f.name] = table[f.name]
        out = pa.Table.from_pydict(columns, schema=schema)
        return out.take(pc.sort_indices(out, [("valid_from", "ascending"),
                                              ("record_id", "ascending"),
                                              ("version", "ascending")]))


def _conform(batch: pa.RecordBatch, names: list[str], types: dict[str, pa.DataType]):
    cols = []
    for name in names:
        if name in batch.schema.names:
            cols.append(batch.column(name))
        else:
            cols.append(pa.nulls(batch.num_rows, types[name]))
    return pa.RecordBatch.from_arrays(cols, names=names)
