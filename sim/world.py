"""The World: one SimPy environment plus everything a run owns.

All run state lives here (SimPy's habit): the clock, the named random streams, the id
minter, the installed services and their graph, the record histories and the event log.
Processes are plain generators registered with :meth:`World.process`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np
import pyarrow as pa
import simpy

from sim.clock import DAY, Clock
from sim.events import EventLog
from sim.graph import build_service_graph
from sim.history import TableHistory
from sim.ids import IdMinter
from sim.rng import RngTree, name_digest
from sim.services import CATALOGUE, TABLE_SERVICE


class World:
    """A seeded simulation of one person's digital life over ``days`` days from ``start``."""

    def __init__(
        self,
        *,
        seed: int,
        tz: str,
        start: dt.date,
        days: int,
        services: Iterable[str],
        extra_requires: Iterable[tuple[str, str]] = (),
        holidays: Iterable[dt.date] = (),
        salt: str = "",
    ) -> None:
        """``salt`` names who lives here (a persona instance), so two people simulated with
        the same seed draw independent streams and never share an id."""
        self.seed = seed
        self.clock = Clock(tz, start, days)
        self.env = simpy.Environment(initial_time=0)
        self.rng = RngTree(seed, (name_digest(salt),) if salt else ())
        self.ids = IdMinter(seed, salt)
        self.graph = build_service_graph(services, extra_requires)
        self.services = {name: CATALOGUE[name] for name in self.graph.nodes}
        self.holidays = frozenset(holidays)
        self.history: dict[str, TableHistory] = {
            t.name: TableHistory(t, self.clock)
            for s in self.services.values()
            for t in s.tables
        }
        self.log = EventLog(self.clock)

    @property
    def days(self) -> int:
        return self.clock.days

    @property
    def now(self) -> int:
        return int(self.env.now)

    def has(self, service: str) -> bool:
        return service in self.services

    def process(self, generator: Generator) -> simpy.Process:
        return self.env.process(generator)

    def every(self, body: Callable[..., None], *, days: int = 28) -> simpy.Process:
        """Run ``body(days=range(...))`` at local midnight starting each ``days``-day period.

        The routine pattern from performance.md: SimPy wakes once per period and the
        period's items are drawn as arrays, rather than one process per item. Array calls
        cost the same for 10 items as for 1,000, so the period sets the speed: a default
        world took 0.95 s with weekly periods, 0.51 s fortnightly and 0.34 s with 28 days
        (benchmarks/bench_world.py). Follow-ups inside a period still happen at their own
        instants; only the decision to draw them is batched.
        """

        def loop():
            for first in range(0, self.days, days):
                wake = self.clock.at_local(first, 0)
                if wake > self.env.now:
                    yield self.env.timeout(wake - self.env.now)
                body(days=range(first, min(first + days, self.days)))

        return self.env.process(loop())

    def run(self) -> None:
        self.env.run(until=self.clock.end_seconds + DAY)

    # -- writing ------------------------------------------------------------------------

    def emit(
        self,
        table: str,
        kind: str | Sequence[str],
        ts: np.ndarray,
        columns: Mapping[str, Any],
        *,
        record_ids: Sequence[str] | None = None,
        actor: str | Sequence[str | None] | None = None,
        device: str | Sequence[str | None] | None = None,
        cause: Sequence[str | None] | None = None,
        payload: Sequence[Mapping[str, Any] | None] | None = None,
        id_stream: str | None = None,
    ) -> tuple[list[str], list[str]]:
        """Record a batch of record versions and the events that produced them.

        New records get fresh ids unless ``record_ids`` names existing ones (then each row
        is a new version of that record). Returns ``(record_ids, event_ids)`` aligned with
        ``ts``. Rows past the end of the window are dropped when the world is exported, so
        follow-ups may be scheduled freely.
        """
        ts = np.asarray(ts, dtype=np.int64)
        n = len(ts)
        if n == 0:
            return [], []
        service = TABLE_SERVICE[table]
        if service not in self.services:
            raise KeyError(f"service {service!r} is not installed in this world")
        # A set of the kinds, not np.unique: only membership is asked, once per batch.
        kinds = {kind} if isinstance(kind, str) else set(
            kind.tolist() if isinstance(kind, np.ndarray) else kind)
        undeclared = kinds.difference(self.services[service].event_kinds)
        if undeclared:
            raise ValueError(f"{service} does not declare event kinds {sorted(undeclared)}")
        stream = id_stream or table
        # Minted ids are plain strings, written to the history and the log alike: as one
        # object array each, rather than a list each buffer reads through a fixed-width
        # string array and back.
        if record_ids is None:
            record_ids = self.ids.mint(f"records/{stream}", self.history[table].spec.id_prefix, n)
            records = np.array(record_ids, dtype=object)
        else:
            records = record_ids
        event_ids = self.ids.mint(f"events/{stream}", "ev_", n)
        events = np.array(event_ids, dtype=object)
        self.history[table].append(records, ts, columns, events)
        self.log.append(
            event_ids=events,
            ts=ts,
            service=service,
            kind=kind,
            table=table,
            entity_ids=records,
            actor=actor,
            device=device,
            cause_event_ids=cause,
            payload=None
            if payload is None
            else [None if p is None else json.dumps(p, sort_keys=True) for p in payload],
        )
        return list(record_ids), event_ids

    # -- reading ------------------------------------------------------------------------

    def tables(self, keep_events: AbstractSet[str] | None = None) -> dict[str, pa.Table]:
        """Every installed table's full history, as of the end of the window.

        ``keep_events`` (event ids) keeps only what those events wrote: how a
        thinned world is exported (see ``sim.cascades``).
        """
        end = self.clock.end_seconds
        return {name: h.to_arrow(until=end, keep_events=keep_events)
                for name, h in sorted(self.history.items())}

    def event_log(self, keep_events: AbstractSet[str] | None = None) -> pa.Table:
        return self.log.to_arrow(until=self.clock.end_seconds, keep_events=keep_events)
