"""Heartbeats: when a proactive assistant is woken, and what each wake-up is for.

A proactive task is not one prompt pretending to be a timer: the assistant is woken at a
heartbeat (07:00 persona-local by default, every day) and sees the world as it stands.
For one need (a storyline instance's window, from the milestone that makes it detectable
to its deadline) the task keeps a few of those heartbeats as episodes:

- ``control``: the last heartbeat before the need is detectable and before the last of
  its evidence records appeared. Nothing should be raised yet; the self-check verifies
  that a necessary evidence record is really not visible;
- ``window``: the first heartbeat inside the window, and its last when that is another day;
- ``late``: the first heartbeat after the deadline, when the world lasts that long.

The reference notices the need at the first window heartbeat. The same notice at the
control is an early false alarm; at the late heartbeat it is too late.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
             evidence: Sequence[int] = (),
             at: tuple[int, int] = DEFAULT_AT) -> list[Episode] | None:
    """The heartbeats kept for a need open from ``opened`` to ``closed`` (world seconds);
    None when no heartbeat falls inside the window or none before it. ``evidence`` holds
    when each evidence record first appeared: the control heartbeat falls before the
    latest of those the window's first heartbeat sees, so a necessary record is missing
    there even for a need the clock opens (a promised refund that never came)."""
    first_day = int(clock.local_day(np.array([opened]))[0])
    last_day = int(clock.local_day(np.array([closed]))[0]) + 1
    inside = [b for b in (clock.at_local(d, *at) for d in range(first_day, last_day + 1))
              if opened <= b <= min(closed, clock.end_seconds - 1)]
    if not inside:
        return None
    seen = [t for t in evidence if t <= inside[0]]
    before = min(opened, max(seen)) if seen else opened
    day = int(clock.local_day(np.array([before]))[0])
    control = max((b for b in (clock.at_local(d, *at) for d in (day - 1, day)) if b < before),
                  default=None)
    if control is None or control < 0:
        return None
    out = [Episode(control, "control"), Episode(inside[0], "window")]
    if inside[-1] - inside[0] >= DAY:
        out.append(Episode(inside[-1], "window"))
    late = [b for b in (clock.at_local(d, *at) for d in (last_day - 1, last_day, last_day + 1))
            if closed < b < clock.end_seconds]
    if deadline_reached and late:
        out.append(Episode(late[0], "late"))
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
