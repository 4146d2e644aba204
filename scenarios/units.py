"""Thinning units: routine cascades that stand or fall together.

Thinning keeps or drops whole causal cascades (``sim.cascades``). Some records that belong
together are not linked by causes, and used to be kept whatever the target for that reason:
money the bank moves on its own (pay, bills, standing orders, card payoffs). Thinning one
payment of a series would leave a recurring bill describing absent rows, so each series
became part of the never-thinned floor; at low targets that alone put the bank several
times over its own ratio. Here each series becomes one unit instead: the ``bank_recurring``
entry (every version), every payment of it and whatever those caused (the bank's texts).
A unit is kept or dropped whole, like a cascade; one a storyline reaches stays, as a
storyline's cascade does. ``personas.routines.ledger.rebalance`` then re-settles running
balances and card payoffs over the payments that remain.

A card payoff has no recurring entry: its two rows (checking and card) form one unit per
payment, so they go together and the next payoff kept pays what the card owes by then.
"""

from __future__ import annotations

import numpy as np

from personas.routines.ledger import PAYOFF
from sim.world import World

SERIES_KINDS = frozenset({"bill_paid", "salary_deposited", "transfer_made"})


def bank_series(world: World, ids: np.ndarray, roots: np.ndarray,
                kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each root's unit, and which roots were grouped into a bank series.

    Returns ``(unit, grouped)`` per event index: ``unit[r]`` is the representative root of
    the unit root ``r`` belongs to (``r`` itself when ungrouped); map an event's root
    through it. Only roots the bank started (no cause) are grouped.
    """
    n = len(ids)
    unit = np.arange(n)
    grouped = np.zeros(n, bool)
    txns, recurring = world.history.get("bank_transactions"), world.history.get("bank_recurring")
    if txns is None or not len(txns):
        return unit, grouped
    index = {e: i for i, e in enumerate(ids.tolist())}
    head: dict[object, int] = {}  # series key -> representative root

    def join(key: object, i: int) -> None:
        unit[i] = head.setdefault(key, i)
        grouped[i] = True

    if recurring is not None and len(recurring):
        for payee, e in zip(recurring.column("payee").tolist(),
                            recurring.event_ids().tolist(), strict=True):
            i = index.get(e, -1)
            # Every version of an entry has no cause; a storyline's entry is caused by the
            # storyline and stays with it. Entries are keyed by payee, the name their
            # payments carry (two entries with one payee, if ever, become one unit).
            if i >= 0 and roots[i] == i:
                join(("payee", payee), i)
    found = [(index[e], m, d, t) for e, m, d, t in zip(
        txns.event_ids().tolist(), txns.column("merchant").tolist(),
        txns.column("description").tolist(), txns.column("posted_at").tolist(), strict=True)
        if e in index]
    days = world.clock.local_day(np.array([t for *_, t in found], np.int64))
    for (i, merchant, description, _), day in zip(found, days.tolist(), strict=True):
        if roots[i] != i or kinds[i] not in SERIES_KINDS:
            continue
        join(("payoff", day) if description == PAYOFF else ("payee", merchant), i)
    return unit, grouped
