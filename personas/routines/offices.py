"""Texts from the reminder systems of the user's clinics, garages and salons.

Each office's system words its texts its own way: some in the terse "<office>: your
appointment..." style (``sms_office``), others as "Reminder: you have an appointment with..."
(``sms_appointment``). Real offices differ like this, and a storyline's office draws from the
same wordings, so neither kind of text stands out by how it opens.
"""

from __future__ import annotations

import re

import numpy as np

from personas.life import Life
from personas.routines.messaging import emit_org_sms
from personas.routines.notify import after
from personas.routines.parties import locked_at
from sim.clock import HOUR
from sim.rng import name_digest

# When clinics, garages and salons see people (and their reminder systems text).
OFFICE_HOURS = np.array([0] * 8 + [1.0] * 4 + [0.6] + [1.0] * 5 + [0.2] + [0] * 5)

# Template indices per system and purpose: (confirmation, reminder the day before).
_TEMPLATES = {
    "sms_office": ((0, 2), (1, 3)),
    "sms_appointment": ((1, 4), (0, 5, 8)),
}
_SYSTEMS = tuple(_TEMPLATES)


def office_texts(life: Life, rng, sel: np.ndarray, party, start, created, ev) -> None:
    """An office's reminder system confirms a booking and reminds the day before; the user
    sometimes answers a text that asks for an answer ("Reply C to confirm")."""
    c = life.person.contacts
    k = len(sel)
    who = party[sel]
    office = np.char.add(c.full_name[who].astype(str), "'s office").astype(object)
    system = np.array([_SYSTEMS[name_digest(o) % len(_SYSTEMS)] for o in office.tolist()])
    # sms_appointment names the person ("your appointment with Dr X"), sms_office the office.
    provider = np.where(system == "sms_appointment", c.full_name[who], office).astype(object)
    slots = {"provider": provider, "date": life.dates(start[sel], weekday=True),
             "time": life.times(start[sel]), "phone": c.phone[who], "place": office}
    end = life.world.clock.end_seconds
    # A confirmation minutes after booking; a reminder during the day before.
    confirm = after(rng, created[sel], 2, 20)
    day_before = life.world.clock.local_day(start[sel]) - 1
    remind = life.at_hours(day_before, rng, profile=OFFICE_HOURS)
    ts = np.r_[confirm, remind]
    purpose = np.r_[np.zeros(k, np.int64), np.ones(k, np.int64)]
    on = np.r_[rng.random(k) < 0.7, (remind > confirm + HOUR) & (rng.random(k) < 0.8)]
    on &= (ts < end) & ~locked_at(life, np.r_[who, who], ts)
    if not on.any():
        return
    both = {key: np.r_[v, v][on] for key, v in slots.items()}
    systems, purpose = np.r_[system, system][on], purpose[on]
    m = int(on.sum())
    text = np.empty(m, dtype=object)
    for intent in _SYSTEMS:
        rows = np.flatnonzero(systems == intent)
        if not len(rows):
            continue
        intent_spec = life.grammar.intent(intent)
        pool = intent_spec.sentences
        t = np.array([_TEMPLATES[intent][p][int(rng.integers(len(_TEMPLATES[intent][p])))]
                      for p in purpose[rows].tolist()], dtype=np.int64)
        text[rows] = life.grammar.sentences(
            intent, rng, {key: v[rows] for key, v in both.items() if key in intent_spec.slots},
            len(rows), variants=pool.variant_of(rng, t)).to_numpy(zero_copy_only=False)
    sender = np.r_[office, office][on]
    _, sms_ev = emit_org_sms(life, ts[on], sender, text,
                             cause=np.r_[ev[sel], ev[sel]][on].tolist())
    # Sometimes the user answers a text that asks for an answer, with the word it asks for.
    asked = np.array([_asked_reply(t) for t in text.tolist()], dtype=object)
    answer = (asked != "") & (rng.random(m) < 0.6)
    if answer.any():
        a_ts = np.minimum(after(rng, ts[on][answer], 3, 120), end - 1)
        emit_org_sms(life, a_ts, sender[answer], asked[answer],
                     cause=np.array(sms_ev, dtype=object)[answer].tolist(),
                     outgoing=np.ones(int(answer.sum()), bool))


_REPLY = re.compile(r"\b[Rr]eply ([A-Z]+) ")


def _asked_reply(text: str) -> str:
    """The word a reminder text asks the user to answer with ("Reply C to confirm"), or ""
    when it asks for none."""
    found = _REPLY.search(text)
    return found.group(1) if found else ""
