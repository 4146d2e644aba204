"""The address book: every contact is on file from the start; a few cards change."""

from __future__ import annotations

import numpy as np

from personas.instance import fictional_phone
from personas.life import OPENING, Life
from sim.clock import day_number


def install(life: Life) -> None:
    if not life.world.has("contacts"):
        return
    c = life.person.contacts
    n = len(c)
    birthday = np.array([day_number(b) for b in c.birthday], dtype=np.int32)
    notes = np.where(c.kind == "family", "Family", np.where(c.kind == "services",
                                                            "Appointments", ""))
    cols = {"full_name": c.full_name, "email": c.email, "phone_number": c.phone,
            "company": c.company, "job_title": c.job_title, "relationship": c.relationship,
            "group": c.kind, "birthday": birthday, "address": c.address, "notes": notes}
    ids, _ = life.world.emit("contacts", "contact_added", np.full(n, OPENING), cols, actor="user")
    life.state["contact_ids"] = np.array(ids, dtype=object)
    # A couple of people change number during the window; texts and calls from then on
    # show the new one (see phone_at).
    rng = life.world.rng.stream("contacts")
    k = max(1, life.world.days // 40)
    who = rng.choice(n, size=min(k, n), replace=False)
    ts = life.at_hours(rng.integers(0, life.world.days, len(who)), rng)
    new_phone = np.array([fictional_phone(life.spec.country, 400 + int(i)) for i in who],
                         dtype=object)
    life.state["phone_changes"] = (who, ts, new_phone)
    life.world.emit(
        "contacts", "contact_updated", ts,
        {key: v[who] for key, v in cols.items()} | {"phone_number": new_phone},
        record_ids=[ids[i] for i in who], actor="user",
    )


def phone_at(life: Life, party: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Each contact's phone number as the address book had it at ``ts``."""
    numbers = life.person.contacts.phone[party].copy()
    who, when, new = life.state.get("phone_changes", ((), (), ()))
    for i, t, number in zip(who, when, new, strict=True):
        numbers[(party == i) & (ts >= t)] = number
    return numbers
