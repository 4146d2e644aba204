"""Picking what a storyline is about: a person, a product, a shop, a restaurant, a place, a
topic, one of the user's bills.

People, products and bills are picked when an instance is planted, before the clock
starts, and locked: no other instance picks them, and routine life leaves them alone around
the instance's window (``life.state["lock_windows"]``), so it never texts them with facts the
storyline contradicts. People go on making small talk with the user meanwhile (texts and
calls that state no facts, ``PickSpec.routine``): a storyline's correspondent does not fall
silent while the story runs, and their name keeps turning up beside the story's records.
Look-alikes ask for "something else" through :meth:`Picker.another`, which locks nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from personas.life import Life
from personas.pools import sender_address
from personas.routines.money import next_day_of_month, recurring_columns
from scenarios.storyline_params import PickSpec
from scenarios.storyline_spec import StorylineSpec
from sim.clock import DAY, day_number

if TYPE_CHECKING:
    from scenarios.engine import Instance


# What locking writes into ``life.state`` (a picker's whole footprint on routine life).
_LOCK_STATE = ("locks", "lock_windows", "small_talk")


class NoCandidateError(LookupError):
    """Everything a parameter could pick is already locked by another instance."""


class Picker:
    """Picks for one world's storylines."""

    def __init__(self, life: Life) -> None:
        self.life = life
        life.state.setdefault("locks", set())

    def bind(self, inst: Instance) -> None:
        """Bind every pick parameter of ``inst`` and lock what was picked. When one cannot
        be bound, the story will not happen: what the others locked is released (nobody is
        held, some for good, for a story that never runs) and ``NoCandidateError`` raised."""
        rng = self.life.world.rng.child(inst.instance_id).stream("picks")
        state = self.life.state
        saved = {key: copy.deepcopy(state[key]) for key in _LOCK_STATE if key in state}
        try:
            for name, param in inst.spec.params.items():
                if isinstance(param, PickSpec):
                    inst.names[name] = self.pick(inst, param, rng)
        except NoCandidateError:
            for key in _LOCK_STATE:
                state.pop(key, None)
            state.update(saved)
            raise

    def could_bind(self, spec: StorylineSpec) -> bool:
        """Whether this persona has anything at all for each of ``spec``'s picks that
        choose from its own things (bills), before any instance has locked one."""
        return not unfillable(spec, self.life.state.get("bills", []))

    def pick(self, inst: Instance, param: PickSpec, rng) -> Any:
        """One free person, product, bill, shop, place, project or topic for ``param``."""
        life, locks = self.life, self.life.state["locks"]
        c, pools = life.person.contacts, life.pools
        if param.pick in ("contact", "coworker", "manager"):
            kinds = param.kinds or (["coworkers"] if param.pick != "contact"
                                    else ["family", "friends"])
            changing = set(np.asarray(life.state.get("phone_changes", ([],))[0]).tolist())
            pool = [i for i in c.of_kind(*kinds).tolist()
                    if ("contact", i) not in locks and i not in changing
                    and (not param.relationships or c.relationship[i] in param.relationships)]
            if param.pick == "manager":
                pool = [i for i in pool if i == life.person.manager]
            if not pool:
                raise NoCandidateError(f"no free contact for {param.pick} {kinds}")
            # The people a story happens with are the ones the user deals with: drawn in
            # proportion to the tie strength routine life writes to them with, so a
            # storyline's correspondent is not someone who never appears otherwise.
            w = c.closeness[np.array(pool, dtype=np.int64)]
            i = int(pool[int(rng.choice(len(pool), p=w / w.sum()))])
            # A change the story makes to how the person is reached (a new number) outlasts
            # the story: routine life, which knows only the card, leaves them alone for good.
            self._lock(("contact", i), inst, for_good=param.routine == "none")
            if param.routine == "small_talk":
                self.life.state.setdefault("small_talk", set()).add(("contact", i))
            ids = life.state.get("contact_ids")
            return {"id": None if ids is None else ids[i], "name": c.full_name[i],
                    "first": c.first_name[i], "email": c.email[i], "phone": c.phone[i],
                    "relationship": c.relationship[i], "company": c.company[i],
                    "job_title": c.job_title[i], "birthday": c.birthday[i],
                    "conversation_id": f"cv_{i:03d}",  # the thread routine texts are in
                    "_pick_table": "contacts",
                    "next_birthday": _next_birthday(c.birthday[i], self.life.world.clock.start)}
        if param.pick == "product":
            p = pools.products
            candidates = np.flatnonzero(p.interest) if param.liked and p.interest.any() \
                else np.arange(len(p))
            watched = set(np.asarray(life.state.get("watched", [])).tolist())
            # Products routine life already watches change price on their own; leave them.
            pool = [int(j) for j in candidates
                    if ("product", int(j)) not in locks and int(j) not in watched]
            if not pool:
                raise NoCandidateError("no free product")
            j = pool[int(rng.integers(len(pool)))]
            self._lock(("product", j), inst)
            return self.product(j, self.life.world.now)
        if param.pick == "bill":
            return self.bill(inst, param, rng)
        if param.pick == "restaurant":  # one the user eats at anyway, mailing as routine's do
            eateries = pools.merchants[pools.merchant_category == "dining"]
            name = str(eateries[int(rng.integers(len(eateries)))])
            return {"name": name, "email": sender_address(name)}
        choices = self.choices(param.pick)
        return str(choices[int(rng.integers(len(choices)))])

    def bill(self, inst: Instance, param: PickSpec, rng) -> dict[str, Any]:
        """One of the persona's own bills (``personas.routines.money.Bill``), never one
        another instance holds, with its entry in the bank's recurring list as a record
        ``update`` steps write new versions of. Routine life skips its payments and the
        biller's messages while the story holds it."""
        bills = self.life.state.get("bills", [])
        pool = [i for i, b in enumerate(bills) if ("bill", i) not in self.life.state["locks"]
                and (param.autopay is None or b.autopay == param.autopay)]
        if not pool:
            raise NoCandidateError("no free bill")
        i = pool[int(rng.integers(len(pool)))]
        b, life = bills[i], self.life
        clock = life.world.clock
        first = int(clock.local_day(np.array([inst.start]))[0]) + param.due_after_days
        due = next_day_of_month(b.day_of_month, clock.start + dt.timedelta(days=first))
        # Held for one billing cycle: from after the last payment before the story (a
        # bill paid by hand may go out two days late) to just past the story's due date.
        previous = (due.replace(day=1) - dt.timedelta(days=1)).replace(day=b.day_of_month)
        self._lock(("bill", i), inst, since=clock.at_local((previous - clock.start).days + 4, 0),
                   until=clock.at_local((due - clock.start).days + 3, 0))
        columns = recurring_columns(life, b.payee, -b.amount, "monthly", day_number(due),
                                    b.autopay)
        return {"id": b.record_id, "name": b.payee, "what": b.called, "amount": b.amount,
                "account": b.account, "autopay": b.autopay, "due": due,
                "email": sender_address(b.payee),
                "_table": "bank_recurring", "_columns": columns}

    def product(self, j: int, at: int) -> dict[str, Any]:
        """A catalogue product as expressions see it, at its price at instant ``at``."""
        p, book = self.life.pools.products, self.life.state.get("prices")
        price = int(book.at(np.array([j]), np.array([at]))[0]) if book \
            else int(p.price_minor[j])
        ids = self.life.state.get("product_ids")
        return {"id": None if ids is None else ids[j], "title": p.title[j],
                "brand": p.brand[j], "merchant": p.merchant[j], "price": price,
                "category": p.category[j], "_pick_table": "shop_products", "_index": j}

    def refresh(self, inst: Instance) -> None:
        """Products picked at planting, seen again when the instance starts: the catalogue
        (its ids) and the price book exist only once the clock runs, and the price that
        counts is the one of the moment the story begins."""
        for name, value in inst.names.items():
            if isinstance(value, dict) and value.get("_pick_table") == "shop_products":
                inst.names[name] = self.product(value["_index"], self.life.world.now)

    def choices(self, pick: str) -> np.ndarray:
        pools = self.life.pools
        return {"merchant": pools.merchants, "place": pools.places,
                "project": np.array(self.life.spec.projects, dtype=object),
                "topic": pools.work_topics}[pick]

    def _lock(self, key: tuple[str, int], inst: Instance, *, for_good: bool = False,
              since: int | None = None, until: int | None = None) -> None:
        """Reserve a person, product or bill: no other instance picks it, and routine life
        leaves it alone from a few days before the instance starts (or ``since``, if later)
        to its ``min_days`` after, or ``until``, or ``for_good`` to the end of the world
        (``life.state["lock_windows"]``: key -> list of (from, to) seconds)."""
        self.life.state["locks"].add(key)
        end = (self.life.world.clock.end_seconds if for_good else until if until is not None
               else inst.start + inst.spec.min_days * DAY)
        lo = inst.start - 3 * DAY
        window = (lo if since is None else max(lo, since), end)
        self.life.state.setdefault("lock_windows", {}).setdefault(key, []).append(window)

    def another(self, param: PickSpec, current: Any, rng, at: int) -> Any:
        """Something else ``param`` could have picked (a product at its price at ``at``),
        without locking it."""
        pools = self.life.pools
        if param.pick == "product":
            p = pools.products
            same = np.flatnonzero(p.category == current["category"])
            pool = [int(j) for j in (same if len(same) > 1 else np.arange(len(p)))
                    if p.title[j] != current["title"]]
            return self.product(pool[int(rng.integers(len(pool)))], at) if pool else None
        choices = [c for c in self.choices(param.pick).tolist() if c != current]
        return str(choices[int(rng.integers(len(choices)))]) if choices else None


def unfillable(spec: StorylineSpec, bills: Sequence[Any]) -> list[str]:
    """``spec``'s bill picks that none of ``bills`` (anything with ``autopay``: the
    persona's ``BillSpec``s or a world's bills) could fill."""
    return [name for name, p in spec.params.items()
            if isinstance(p, PickSpec) and p.pick == "bill"
            and not any(p.autopay is None or b.autopay == p.autopay for b in bills)]


def _next_birthday(born: dt.date, start: dt.date) -> dt.date:
    """The first birthday on or after ``start`` (29 February falls on 28 February)."""
    for year in (start.year, start.year + 1):
        day = born.replace(year=year) if (born.month, born.day) != (2, 29) else \
            dt.date(year, 2, 28)
        if day >= start:
            return day
    return day
