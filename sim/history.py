"""Versioned record histories, collected column-wise.

Routines append whole batches (one call per day per routine, never one per record). A batch
names the record ids it writes; a record id seen again is a new *version* of that record.
Version numbers and ``valid_to`` are derived once, at the end: version k of a record stops
being valid exactly when version k+1 starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np
import pyarrow as pa

from sim.clock import Clock
from sim.measure import word_counts
from sim.services.base import TableSpec

NULL_TS = np.iinfo(np.int64).min  # sentinel for "no instant" in int64 second columns
NULL_DATE = np.iinfo(np.int32).min  # sentinel for "no date" in day-number columns


def to_arrow_column(values: Any, type_: pa.DataType, clock: Clock) -> pa.Array:
    """One column as Arrow; timestamps arrive as sim seconds, dates as day numbers."""
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


def as_column(values: Any, n: int, type_: pa.DataType) -> np.ndarray:
    """A batch column as a numpy array of length ``n`` (scalars are broadcast)."""
    return _as_column(values, n, _kind(type_))


_TIMESTAMP, _DATE, _OTHER = 0, 1, 2


def _kind(type_: pa.DataType) -> int:
    if pa.types.is_timestamp(type_):
        return _TIMESTAMP
    return _DATE if pa.types.is_date32(type_) else _OTHER


def _as_column(values: Any, n: int, kind: int) -> np.ndarray:
    if values is None or isinstance(values, str | bool | int | float):
        if kind == _TIMESTAMP:
            return np.full(n, NULL_TS if values is None else values, np.int64)
        if kind == _DATE:
            return np.full(n, NULL_DATE if values is None else values, np.int32)
        out = np.empty(n, dtype=object)
        out.fill(values)  # the same values as np.full, at a fifth of its cost per batch
        return out
    if type(values) is np.ndarray:  # what np.asarray would return: the array itself
        arr = values
    else:
        if isinstance(values, pa.Array | pa.ChunkedArray):
            values = values.to_numpy(zero_copy_only=False)
        arr = np.asarray(values)
    if arr.dtype.kind in "US":
        arr = arr.astype(object)
    if len(arr) != n:
        raise ValueError(f"{len(arr)} values for {n} rows")
    return arr


class ColumnBuffer:
    """Rows appended as batches of numpy columns, turned into Arrow once at the end.

    Converting each small batch to Arrow costs far more than the data (performance.md);
    one conversion per column per world does not.
    """

    def __init__(self, types: Mapping[str, pa.DataType]) -> None:
        self.types = dict(types)
        self._kinds = {name: _kind(t) for name, t in self.types.items()}  # read per batch
        self._batches: list[dict[str, np.ndarray]] = []
        self._rows = 0
        # name -> (batches joined, their concatenation, the dtypes of those batches)
        self._joined: dict[str, tuple[int, np.ndarray | None, frozenset]] = {}

    def append(self, n: int, columns: Mapping[str, Any], where: str) -> None:
        batch = {}
        kinds = self._kinds
        for name, values in columns.items():
            if name not in kinds:
                raise KeyError(f"{where}: unknown column {name!r}")
            try:
                batch[name] = _as_column(values, n, kinds[name])
            except ValueError as exc:
                raise ValueError(f"{where}.{name}: {exc}") from None
        self._batches.append(batch)
        self._rows += n

    def __len__(self) -> int:
        return self._rows

    def column(self, name: str) -> np.ndarray:
        """All values of ``name`` so far (missing in a batch: null), a fresh array.

        Routines read columns of a growing buffer again and again (what exists to open,
        what a storyline may pick): the batches concatenated last time are kept and only
        the new ones joined on, where that gives the very values a full concatenation would.
        """
        t = self.types[name]
        done, joined, kinds = self._joined.get(name, (0, None, frozenset()))
        parts = []
        for b in self._batches[done:]:
            if name in b:
                parts.append(b[name])
            else:
                n = len(next(iter(b.values())))
                parts.append(as_column(None, n, t))
        if not parts:
            return np.array([], dtype=object) if joined is None else joined.copy()
        kinds = kinds | {p.dtype for p in parts}
        # Joining onto the earlier result is exact when it already holds objects, or when
        # every part so far has one dtype (no promotion that a later cast could undo).
        if joined is not None and (joined.dtype == object or len(kinds) == 1):
            parts = [joined, *parts]
        elif joined is not None:
            return self._join_all(name)
        out = _concatenate(parts)
        self._joined[name] = (len(self._batches), out, kinds)
        return out.copy()

    def _join_all(self, name: str) -> np.ndarray:
        t = self.types[name]
        parts = [b[name] if name in b else as_column(None, len(next(iter(b.values()))), t)
                 for b in self._batches]
        out = _concatenate(parts)
        self._joined[name] = (len(self._batches), out, frozenset(p.dtype for p in parts))
        return out.copy()


def _concatenate(parts: list[np.ndarray]) -> np.ndarray:
    if any(p.dtype == object for p in parts):
        # One cast inside concatenate: the same Python values as casting each part.
        return np.concatenate(parts, dtype=object)
    return np.concatenate(parts)


def member(values: np.ndarray, keys: AbstractSet[str]) -> np.ndarray:
    """Which ``values`` are among ``keys`` (a set: looking tens of thousands of ids up in
    it is cheaper than searching a sorted array of them)."""
    return np.fromiter(map(keys.__contains__, values.tolist()), bool, len(values))


class TableHistory:
    """Every version of every record of one table, in append order."""

    def __init__(self, spec: TableSpec, clock: Clock) -> None:
        self.spec = spec
        self._clock = clock
        types = {f.name: f.type for f in spec.schema}
        types["valid_from"] = pa.int64()
        types["_event_id"] = pa.string()  # the event that wrote each version (not exported)
        self._buffer = ColumnBuffer(types)
        empty = np.array([], dtype=object)
        self._seen = (0, empty, np.array([], dtype=np.int64), empty)
        self._words = (0, np.zeros(0, np.int64))

    def append(self, record_ids: Sequence[str] | np.ndarray, valid_from: np.ndarray,
               columns: Mapping[str, Any], event_ids: Sequence[str] | None = None) -> None:
        n = len(record_ids)
        if n == 0:
            return
        self._buffer.append(
            n, {"record_id": record_ids, "valid_from": np.asarray(valid_from, np.int64),
                "_event_id": event_ids, **columns}, self.spec.name)

    def __len__(self) -> int:
        return len(self._buffer)

    def versions_before(self, until: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(record ids, valid_from, writing event ids) of versions written so far that
        started before ``until``, sorted by ``valid_from``: what exists for a user to open."""
        rows, ids, start, events = self._seen
        if rows != len(self._buffer):
            ids = self._buffer.column("record_id")
            start = self._buffer.column("valid_from").astype(np.int64)
            events = self._buffer.column("_event_id")
            order = np.argsort(start, kind="stable")
            ids, start, events = ids[order], start[order], events[order]
            self._seen = (len(self._buffer), ids, start, events)
        k = int(np.searchsorted(start, until, side="left"))
        return ids[:k], start[:k], events[:k]

    def event_ids(self) -> np.ndarray:
        """The event that wrote each version, in append order."""
        return self._buffer.column("_event_id")

    def column(self, name: str) -> np.ndarray:
        """One column of every version so far, in append order."""
        return self._buffer.column(name)

    def text(self, column: str) -> pa.Array:
        """A readable column of every version so far, in append order."""
        return pa.array(self._buffer.column(column), pa.string(), from_pandas=True)

    def words(self) -> np.ndarray:
        """Readable words (:func:`sim.measure.word_counts`) of every version so far, over
        the table's text columns, in append order. Kept until the table grows: a finished
        world is measured by several readers (expansion, thinning)."""
        rows, counts = self._words
        if rows != len(self._buffer):
            counts = np.zeros(len(self._buffer), np.int64)
            for col in self.spec.text_columns:
                counts += word_counts(self.text(col))
            self._words = (len(self._buffer), counts)
        return counts

    def to_arrow(self, *, until: int, keep_events: AbstractSet[str] | None = None) -> pa.Table:
        """All versions with ``valid_from < until`` in the table's schema.

        Versions are numbered per record in ``valid_from`` order (append order breaks ties);
        a ``valid_to`` at or after ``until`` is left open, since the window ends first.
        ``keep_events`` (event ids) keeps only versions those events wrote, and numbers
        versions over what is kept.
        """
        schema = self.spec.schema
        if not len(self._buffer):
            return schema.empty_table()
        rid = self._buffer.column("record_id")
        start = self._buffer.column("valid_from").astype(np.int64)
        inside = start < until
        if keep_events is not None:
            inside &= member(self._buffer.column("_event_id"), keep_events)
        keep = np.flatnonzero(inside)
        # Sort by (record_id, valid_from, append order) to number versions.
        order = keep[np.lexsort((keep, start[keep], rid[keep].astype(str)))]
        rid_s, start_s = rid[order], start[order]
        m = len(order)
        first = np.ones(m, dtype=bool)
        first[1:] = rid_s[1:] != rid_s[:-1]
        group_start = np.maximum.accumulate(np.where(first, np.arange(m), 0))
        version = (np.arange(m) - group_start + 1).astype(np.int32)
        last = np.ones(m, dtype=bool)
        last[:-1] = first[1:]
        nxt = np.empty_like(start_s)
        nxt[:-1] = start_s[1:]
        valid_to = np.where(last, NULL_TS, nxt)
        # Files read best in time order.
        final = np.lexsort((version, rid_s.astype(str), start_s))
        arrays = []
        for f in schema:
            if f.name == "version":
                arrays.append(pa.array(version[final], pa.int32()))
            elif f.name == "valid_to":
                arrays.append(to_arrow_column(valid_to[final], f.type, self._clock))
            elif f.name == "valid_from":
                arrays.append(to_arrow_column(start_s[final], f.type, self._clock))
            else:
                arrays.append(to_arrow_column(self._buffer.column(f.name)[order][final],
                                              f.type, self._clock))
        return pa.Table.from_arrays(arrays, schema=schema)
