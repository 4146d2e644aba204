"""The append-only event log: one row per thing that happened (oracle side only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.clock import Clock
from sim.history import to_arrow_column
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
        self._batches: list[pa.RecordBatch] = []

    def append(self, *, event_ids: Sequence[str], ts: np.ndarray, service: str,
               kind: str | Sequence[str], table: str, entity_ids: Sequence[str],
               actor: str | Sequence[str | None] | None = None,
               device: str | Sequence[str | None] | None = None,
               cause_event_ids: Sequence[str | None] | None = None,
               payload: Sequence[str | None] | None = None) -> None:
        n = len(event_ids)
        if n == 0:
            return

        def fill(value):
            if value is None or isinstance(value, str):
                return pa.array([value] * n, pa.string())
            return pa.array(value, pa.string())

        self._batches.append(
            pa.RecordBatch.from_pydict(
                {
                    "event_id": pa.array(event_ids, pa.string()),
                    "ts": pa.array(np.asarray(ts, dtype=np.int64), pa.int64()),
                    "service": fill(service),
                    "kind": fill(kind),
                    "actor": fill(actor),
                    "device": fill(device),
                    "table": fill(table),
                    "entity_id": pa.array(entity_ids, pa.string()),
                    "cause_event_id": fill(cause_event_ids),
                    "payload": fill(payload),
                }
            )
        )

    def __len__(self) -> int:
        return sum(b.num_rows for b in self._batches)

    def to_arrow(self, *, until: int) -> pa.Table:
        if not self._batches:
            return EVENT_LOG_SCHEMA.empty_table()
        table = pa.Table.from_batches(self._batches).combine_chunks()
        table = table.filter(pc.less(table["ts"], until))
        table = table.set_column(
            1, "ts", to_arrow_column(table["ts"].to_numpy(), TS, self._clock)
        )
        table = table.cast(EVENT_LOG_SCHEMA)
        return table.take(pc.sort_indices(table, [("ts", "ascending"), ("event_id", "ascending")]))
