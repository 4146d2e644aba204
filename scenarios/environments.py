"""A lived world's environments: its snapshots and the verified tasks attached to them.

``environments`` plans every ask the world offers, groups asks under shared snapshot
instants, renders each task at its instant and keeps it only if it passes its self-check.
Dropped tasks are counted by reason; the exporter writes what is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from personas.routines.messaging import chat_handle
from scenarios import values
from scenarios.build import LivedWorld
from scenarios.heartbeats import DEFAULT_AT
from scenarios.selfcheck import Snapshot, self_check
from scenarios.task_spec import TaskFamilySpec
from scenarios.tasks import Task, instantiate, plan, share_snapshots
from sim.snapshot import Snapshots

EVEN = {"simple": 1.0, "medium": 1.0, "hard": 1.0}
DropHook = Callable[[Task, str, list[Snapshot]], None]  # a task, why it dropped, its episodes


@dataclass
class Environment:
    """One snapshot instant and the tasks that passed their self-check there (a proactive
    task belongs to the environment of its first heartbeat; its later heartbeats are
    environments too, with or without tasks of their own)."""

    as_of: int  # world seconds
    as_of_us: int  # microseconds since the Unix epoch, UTC
    tables: Mapping[str, pa.Table]  # agent-visible, snapshot schemas
    tasks: list[Task] = field(default_factory=list)


@dataclass
class Environments:
    environments: list[Environment]
    candidates: int  # tasks rendered (before self-checks)
    dropped: Counter  # reason -> count
    not_applicable: int  # asks whose family condition was false at the ask

    @property
    def tasks(self) -> list[Task]:
        return [t for env in self.environments for t in env.tasks]


def spread(groups: list, n: int | None) -> list:
    """At most ``n`` of ``groups``, evenly spaced from the first to the last."""
    if n is None or len(groups) <= n:
        return groups
    return [groups[i] for i in np.linspace(0, len(groups) - 1, n).round().astype(int)]


def user_of(lived: LivedWorld) -> dict[str, str]:
    """Who the tools act as: the persona's name and addresses."""
    p = lived.life.person
    return {"name": p.full_name, "email": p.personal_email, "work_email": p.work_email,
            "phone": p.phone, "handle": chat_handle(p.full_name)}


def environments(lived: LivedWorld, families: Mapping[str, TaskFamilySpec], *,
                 difficulty: Mapping[str, float] | None = None,
                 history: Mapping[str, pa.Table] | None = None,
                 heartbeat: tuple[int, int] = DEFAULT_AT,
                 snapshots: int | None = None,
                 held_out_prompts: frozenset[str] = frozenset(),
                 on_drop: DropHook | None = None) -> Environments:
    """Snapshots and verified tasks of ``lived`` for ``families`` (``history``: the world's
    exported history tables, when the caller already has them; ``heartbeat``: the local
    hour and minute proactive tasks are woken at; ``snapshots``: at most this many ask
    instants, spread evenly over the world's; ``held_out_prompts``: prompt templates this
    world must not use). ``on_drop`` hears of each dropped task, its reason and the
    snapshots of its episodes (to explain it)."""
    runner, clock = lived.storylines, lived.world.clock
    history = history if history is not None else lived.tables()
    asks = plan(runner, families, difficulty or EVEN, heartbeat=heartbeat)
    formats = values.formatters(runner.life)
    services, user = sorted(lived.world.services), user_of(lived)
    snaps: dict[int, Snapshot] = {}
    frozen = Snapshots(history)

    def snapshot_at(at: int) -> Snapshot:
        if at not in snaps:
            us = int(clock.to_arrow_us(np.array([at]))[0])
            snaps[at] = Snapshot(frozen.at(us), us, services, user,
                                 formats["money"], formats["date_text"], clock.tz_name)
        return snaps[at]

    kept: dict[int, list[Task]] = {}
    dropped, candidates, idle = Counter(), 0, 0
    for at, group in spread(share_snapshots(asks, lived.life.is_up), snapshots):
        for ask in group:
            task = instantiate(runner, ask, at, held_out=held_out_prompts)
            if task is None:
                idle += 1
                continue
            candidates += 1
            episodes = [snapshot_at(t) for t in task.instants]
            reason = self_check(task, episodes)
            if reason is None:
                kept.setdefault(task.instants[0], []).append(task)
            else:
                dropped[reason] += 1
                if on_drop is not None:
                    on_drop(task, reason, episodes)
    used = sorted({t for tasks in kept.values() for task in tasks for t in task.instants})
    out = [Environment(at, snaps[at].as_of_us, snaps[at].tables, kept.get(at, []))
           for at in used]
    return Environments(out, candidates, dropped, idle)
