"""The address book: every contact is on file from the start; a few cards change."""

from __future__ import annotations

import datetime as dt

import numpy as np

from personas.instance import fictional_phone
from personas.life import OPENING, Life
from sim.clock import DAY


def install(life: Life) -> None:
    if not life.world.has("contacts"):
        return
    c = life.person.contacts
    n = len(c)
    epoch = dt.date(1970, 1, 1)
    birthday = np.array([(b - epoch).days for b in c.birthday], dtype=np.int32)
    notes = np.where(c.kind == "family", "Family", np.where(c.kind == "services",
                                                            "Appointments", ""))
    cols = {"full_name": c.full_name, "email": c.email, "phone_number": c.phone,
            "company": c.company, "job_title": c.job_title, "relationship": c.relationship,
            "group": c.kind, "birthday": birthday, "address": c.address, "notes": notes}
    ids, _ = life.world.emit("contacts", "contact_added", np.full(n, OPENING), cols, actor="user")
    life.state["contact_ids"] = np.array(ids, dtype=object)
    # A couple of people change number or address during the window.
    rng = life.world.rng.stream("contacts")
    k = max(1, life.world.days // 40)
    who = rng.choice(n, size=min(k, n), replace=False)
    ts = life.at_hours(rng.integers(0, life.world.days, len(who)), rng) + DAY // 2
    new_phone = np.array([fictional_phone(life.spec.country, 400 + int(i)) for i in who],
                         dtype=object)
    life.world.emit(
        "contacts", "contact_updated", ts,
        {key: v[who] for key, v in cols.items()} | {"phone_number": new_phone},
        record_ids=[ids[i] for i in who], actor="user",
    )
