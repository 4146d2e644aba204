"""Who is on the other end of a text or a call: people drawn by tie strength, kept away
from storyline people while a story holds them (``scenarios.picks``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from personas.life import Life


def locked_at(life: Life, party: np.ndarray, ts: np.ndarray, *,
              small_talk: bool = False) -> np.ndarray:
    """True where a storyline holds contact ``party`` at instant ``ts``.

    A storyline reserves the people it uses for a window around its run
    (``life.state["lock_windows"]``); outside it they text and call as always. With
    ``small_talk``, the caller writes only texts and calls that state no facts, and people
    the storyline lets routine life keep chatting with (``life.state["small_talk"]``,
    ``scenarios.storyline_spec.PickSpec.routine``) are not held.
    """
    party, ts = np.asarray(party), np.asarray(ts, dtype=np.int64)
    out = np.zeros(len(party), bool)
    chatty = life.state.get("small_talk", set()) if small_talk else set()
    windows = life.state.get("lock_windows")
    if windows is None:  # locks without windows hold for the whole world
        locked = [i for kind, i in life.state.get("locks", ())
                  if kind == "contact" and (kind, i) not in chatty]
        return np.isin(party, locked) if locked else out
    for (kind, i), spans in windows.items():
        if kind != "contact" or (kind, i) in chatty:
            continue
        hit = party == i
        if hit.any():
            out |= hit & inside(ts, spans)
    return out


def inside(ts: np.ndarray, windows: Sequence[tuple[int, int]]) -> np.ndarray:
    """True where instant ``ts`` falls in one of ``windows`` ((from, to) seconds, the
    lock windows of ``life.state["lock_windows"]``)."""
    out = np.zeros(len(ts), bool)
    for lo, hi in windows:
        out |= (ts >= lo) & (ts < hi)
    return out


def personal_party(life: Life, rng: np.random.Generator, n: int,
                   kinds: Sequence[str] = ("family", "friends")) -> np.ndarray:
    """``n`` contacts of ``kinds``, drawn in proportion to how close the user is to each."""
    c = life.person.contacts
    idx = c.of_kind(*kinds)
    w = c.closeness[idx]
    return idx[rng.choice(len(idx), size=n, p=w / w.sum())]


def avoid_locks(life: Life, rng: np.random.Generator, party: np.ndarray, ts: np.ndarray,
                group: np.ndarray, kinds: Sequence[str], *,
                small_talk: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Redraw the other party of each group of messages (a burst, a call) that a storyline
    holds at the time; returns the parties and which groups may go ahead (a group still
    held after a few redraws does not happen). ``small_talk`` as in :func:`locked_at`."""
    party = party.copy()
    held = np.zeros(len(party), bool)
    for _ in range(4):
        held = np.bincount(group, weights=locked_at(life, party[group], ts,
                                                    small_talk=small_talk),
                           minlength=len(party)) > 0
        if not held.any():
            break
        party[held] = personal_party(life, rng, int(held.sum()), kinds)
    return party, ~held
