"""Heartbeats: when a proactive assistant is woken, and what each wake-up is for.

A proactive task is not one prompt pretending to be a timer: the assistant is woken at a
heartbeat (07:00 persona-local by default, every day) and sees the world as it stands.
For one need (a storyline instance's window, from the milestone that makes it detectable
to its deadline) the task keeps a few of those heartbeats as episodes:

- ``control``: the last heartbeat before the need is detectable. Nothing should be raised
  yet; the self-check verifies that a necessary evidence record is really not visible;
- ``window``: the first heartbeat inside the window, and its last when that is another day;
- ``late``: the first heartbeat after the deadline, when the world lasts that long.

The reference notices the need at the first window heartbeat. The same notice at the
control is an early false alarm; at the late heartbeat it is too late.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from scenarios.engine import Instance
from scenarios.grading.proactive import Heartbeat
from sim.clock import DAY, Clock

DEFAULT_AT = (7, 0)  # local hour and minute


@dataclass(frozen=True)
class Episode:
    at: int  # world seconds of the heartbeat
    phase: str  # control, window or late


def episodes(clock: Clock, opened: int, closed: int, *, deadline_reached: bool,
             at: tuple[int, int] = DEFAULT_AT) -> list[Episode] | None:
    """The heartbeats kept for a need open from ``opened`` to ``closed`` (world seconds);
    None when no heartbeat falls inside the window or none before it."""
    first_day = int(clock.local_day(np.array([opened]))[0]) - 1
    last_day = int(clock.local_day(np.array([closed]))[0]) + 1
    beats = [clock.at_local(d, *at) for d in range(max(first_day, 0), last_day + 1)]
    beats = [b for b in beats if 0 <= b < clock.end_seconds]
    before = [b for b in beats if b < opened]
    inside = [b for b in beats if opened <= b <= closed]
    after = [b for b in beats if b > closed]
    if not before or not inside:
        return None
    out = [Episode(before[-1], "control"), Episode(inside[0], "window")]
    if inside[-1] - inside[0] >= DAY:
        out.append(Episode(inside[-1], "window"))
    if deadline_reached and after:
        out.append(Episode(after[0], "late"))
    return out


def heartbeat_of(inst: Instance, others: Iterable[Instance], episode: Episode) -> Heartbeat:
    """What the oracle knows at one heartbeat: the need's own records visible then, and
    the records of every other need open in the world then (detectable, not resolved)."""
    own = tuple(dict.fromkeys(rid for _t, rid, vf, _r in inst.records if vf <= episode.at))
    elsewhere: dict[str, None] = {}
    for other in others:
        if other is inst or other.aborted:
            continue
        detectable = other.milestones.get("need_detectable")
        resolved = other.milestones.get("resolved")
        if detectable is None or detectable > episode.at or (
                resolved is not None and resolved <= episode.at):
            continue
        elsewhere.update((rid, None) for _t, rid, vf, _r in other.records
                         if vf <= episode.at)
    return Heartbeat(episode.phase, own, tuple(elsewhere))
