"""The append-only event log: one row per thing that happened (oracle side only)."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet

import numpy as np
import pyarrow as pa

from sim.clock import Clock
from sim.history import ColumnBuffer, member, to_arrow_column
from sim.services.base import TS

EVENT_LOG_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("ts", TS, nullable=False),
        pa.field("service", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # past tense: email_received ...
        pa.field("actor", pa.string()),  # "user" or the display name of who acted
        pa.field("device", pa.string()),  # laptop, phone, web, or null for server-side
        pa.field("table", pa.string()),
        pa.field("entity_id", pa.string()),  # record id the event created or changed
        pa.field("cause_event_id", pa.string()),
        pa.field("payload", pa.string()),  # small JSON object, or null
    ]
)


class EventLog:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        types = {f.name: f.type for f in EVENT_LOG_SCHEMA}
        types["ts"] = pa.int64()
        self._buffer = ColumnBuffer(types)

    def append(self, *, event_ids: Sequence[str], ts: np.ndarray, service: str,
               kind: str | Sequence[str], table: str, entity_ids: Sequence[str],
               actor: str | Sequence[str | None] | None = None,
               device: str | Sequence[str | None] | None = None,
               cause_event_ids: Sequence[str | None] | None = None,
               payload: Sequence[str | None] | None = None) -> None:
        n = len(event_ids)
        if n == 0:
            return
        self._buffer.append(n, {
            "event_id": event_ids, "ts": np.asarray(ts, dtype=np.int64), "service": service,
            "kind": kind, "actor": actor, "device": device, "table": table,
            "entity_id": entity_ids, "cause_event_id": cause_event_ids, "payload": payload,
        }, "event_log")

    def __len__(self) -> int:
        return len(self._buffer)

    def columns(self, *names: str) -> list[np.ndarray]:
        """Raw columns in append order (``ts`` as simulation seconds)."""
        return [self._buffer.column(n) for n in names]

    def to_arrow(self, *, until: int, keep_events: AbstractSet[str] | None = None) -> pa.Table:
        if not len(self._buffer):
            return EVENT_LOG_SCHEMA.empty_table()
        ts = self._buffer.column("ts").astype(np.int64)
        ids = self._buffer.column("event_id")
        inside = ts < until
        if keep_events is not None:
            inside &= member(ids, keep_events)
        keep = np.flatnonzero(inside)
        order = keep[np.lexsort((ids[keep].astype(str), ts[keep]))]
        arrays = []
        for f in EVENT_LOG_SCHEMA:
            values = ts[order] if f.name == "ts" else self._buffer.column(f.name)[order]
            arrays.append(to_arrow_column(values, f.type, self._clock))
        return pa.Table.from_arrays(arrays, schema=EVENT_LOG_SCHEMA)
