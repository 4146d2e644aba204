"""Calls: mostly the people the user is close to, some for work, a few unknown numbers;
a missed call is often answered by a text, and some leave a voicemail."""

from __future__ import annotations

from functools import partial

import numpy as np

from personas.life import Life
from personas.pools import pick
from personas.routines.contacts import phone_at
from personas.routines.messaging import STRANGERS, emit_sms, stranger_numbers
from personas.routines.parties import avoid_locks, locked_at, personal_party
from sim.clock import MINUTE


def install(life: Life) -> None:
    if life.world.has("calls"):
        life.world.every(partial(_calls_period, life))


def _calls_period(life: Life, *, days: range) -> None:
    rng = life.world.rng.stream("calls")
    c = life.person.contacts
    item_days = life.item_days("calls", days, rng)
    n = len(item_days)
    if n == 0:
        return
    work = rng.random(n) < (0.5 if life.spec.work.blocks else 0.0)
    personal_kinds = ("family", "friends", "services")
    work_kinds = ("coworkers", "clients", "vendors")
    party = personal_party(life, rng, n, kinds=personal_kinds)
    if work.any() and len(c.of_kind(*work_kinds)):
        pool = c.of_kind(*work_kinds)
        party[work] = pool[rng.integers(0, len(pool), int(work.sum()))]
        ts = np.where(work, life.in_work(item_days, rng), life.at_hours(item_days, rng))
    else:
        work[:] = False
        ts = life.at_hours(item_days, rng)
    go = np.ones(n, bool)
    for sel, kinds in ((~work, personal_kinds), (work, work_kinds)):
        if sel.any():
            party[sel], go[sel] = avoid_locks(life, rng, party[sel], ts[sel],
                                              np.arange(int(sel.sum())), kinds,
                                              small_talk=True)
    work, party, ts = work[go], party[go], ts[go]
    n = len(ts)
    roll = rng.random(n)
    direction = np.where(roll < 0.43, "incoming", np.where(roll < 0.77, "outgoing", "missed"))
    duration = np.where(direction == "missed", 0,
                        np.clip(rng.lognormal(np.log(240), 0.9, n), 15, 5400)).astype(np.int32)
    # Someone a storyline holds still calls, but leaves no message: a voicemail says when
    # and where, and the story's own records say that (scenarios.picks).
    voicemail = (direction == "missed") & (rng.random(n) < 0.6) & ~locked_at(life, party, ts)
    slots = {"first": c.first_name[party], "topic": pick(rng, life.pools.personal_topics, n),
             "time": life.plan_times(rng, n), "day": life.weekday_names(ts + 86_400)}
    transcript = np.full(n, None, dtype=object)
    transcript[voicemail] = _voicemails(life, rng, "voicemail", {k: v[voicemail] for k, v in
                                                                 slots.items()})
    kind = np.select([direction == "incoming", direction == "outgoing"],
                     ["call_received", "call_placed"], "call_missed")
    _, ev = life.world.emit(
        "call_log", kind, ts,
        {"phone_number": phone_at(life, party, ts), "contact_name": c.full_name[party],
         "direction": direction, "started_at": ts, "duration_seconds": duration,
         "voicemail_transcript": transcript},
        actor=np.where(direction == "outgoing", "user", c.full_name[party]).tolist(),
        device="phone",
    )
    # A missed call from someone close is usually answered by a text.
    back = (direction == "missed") & ~work & (rng.random(n) < 0.6) & life.world.has("sms")
    t = ts + rng.integers(5 * MINUTE, 90 * MINUTE, n)
    back &= ~locked_at(life, party, t)
    if back.any():
        k = int(back.sum())
        text = life.grammar.sentences(
            "sms_friend", rng, {key: v[back] for key, v in slots.items()} |
            {"place": pick(rng, life.pools.places, k)}, k)
        emit_sms(life, t[back], party[back], np.ones(k, bool), text,
                 cause=np.array(ev, dtype=object)[back].tolist())
    if days.start == 0:  # drawn for the whole window at once
        _unknown_calls(life, rng, range(0, life.world.days))


def _unknown_calls(life: Life, rng, days: range) -> None:
    """Calls from numbers the address book does not know: mostly left to ring, some leave
    a message (a courier, a clinic's front desk, a business returning a call). About one
    call in four, as in real phone logs, where one-off numbers are common."""
    item_days = life.item_days("calls", days, rng, scale=0.3)
    n = len(item_days)
    if n == 0:
        return
    ts = life.at_hours(item_days, rng, profile=_OFFICE_HOURS)
    number = stranger_numbers(life, rng, n)
    missed = rng.random(n) < 0.7
    voicemail = missed & (rng.random(n) < 0.55)
    slots = {"first": pick(rng, STRANGERS, n), "company": pick(rng, life.pools.companies, n),
             "user_first": np.full(n, life.person.first_name, dtype=object),
             "topic": pick(rng, life.pools.personal_topics, n),
             "time": life.plan_times(rng, n), "day": life.weekday_names(ts + 86_400)}
    transcript = np.full(n, None, dtype=object)
    transcript[voicemail] = _voicemails(life, rng, "voicemail_caller", {
        k: v[voicemail] for k, v in slots.items()})
    life.world.emit(
        "call_log", np.where(missed, "call_missed", "call_received"), ts,
        {"phone_number": number, "contact_name": number,
         "direction": np.where(missed, "missed", "incoming"), "started_at": ts,
         "duration_seconds": np.where(missed, 0, np.clip(rng.lognormal(np.log(90), 0.7, n),
                                                         10, 1200)).astype(np.int32),
         "voicemail_transcript": transcript},
        actor=number.tolist(), device="phone",
    )


# How a voicemail goes: who is calling (always), what about (often), how to follow up
# (often); template indices of each part in the intent.
_VOICEMAIL_PARTS = {
    "voicemail": ((0, 1, 2, 3, 4, 5, 6, 7), (10, 11, 12), (8, 9, 13)),
    "voicemail_caller": ((0, 1, 2), (7,), (3, 4, 5)),
}


def _voicemails(life: Life, rng, intent: str, slots: dict[str, np.ndarray]) -> np.ndarray:
    """Voicemail transcripts in a caller's order: opener, then maybe the point and a
    follow-up."""
    n = len(next(iter(slots.values()))) if slots else 0
    if n == 0:
        return np.zeros(0, dtype=object)
    g = life.grammar
    pool = g.intent(intent).sentences
    wanted = {k: v for k, v in slots.items() if k in g.intent(intent).slots}
    out = np.full(n, "", dtype=object)
    for part, share in zip(_VOICEMAIL_PARTS[intent], (1.0, 0.6, 0.7), strict=True):
        on = rng.random(n) < share
        if not on.any():
            continue
        k = int(on.sum())
        t = np.asarray(part)[rng.integers(0, len(part), k)]
        text = g.sentences(intent, rng, {key: v[on] for key, v in wanted.items()}, k,
                           variants=pool.variant_of(rng, t))
        out[on] = np.char.add(np.char.add(out[on].astype(str), " "),
                              text.to_numpy(zero_copy_only=False).astype(str)).astype(object)
    return np.char.strip(out.astype(str)).astype(object)


# Businesses call in office hours.
_OFFICE_HOURS = np.array([0] * 8 + [1.0] * 9 + [0.4, 0.2] + [0] * 5)
