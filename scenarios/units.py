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
The keep path keeps the series whole wherever that leaves room (``keep_path.fit_ladder``).

Routine price watches, also state, follow the tracker's cascades about their product
(``watch_followers``).
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


WATCHES = "price_watches"
TRACKER_TABLES = ("price_history", "price_alerts")


def watch_followers(world: World, ids: np.ndarray, roots: np.ndarray, held: np.ndarray,
                    protected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Routine price watches that follow the tracker's cascades about their product.

    A watch is state, and used to be kept whatever the target; with it its product's
    listing and every reprice of it (the catalogue is shopping's floor otherwise). Now a
    watch and the tracker's daily looks at its product (wordless single-event cascades)
    form one unit that is kept exactly when some kept cascade about the product is (an
    alert, a deal): no alert describes a product nobody watches, and a watch with nothing
    kept to show for it goes. A watch a storyline made or reaches stays protected.

    ``held``: per event, kept for a reason other than being state (a storyline's cascade);
    ``protected``: kept whatever the target. Returns ``(unit, pairs)``: per event the
    watch unit it belongs to (or -1), and (unit, event index) for every unprotected
    tracker event that refers to the product.
    """
    none = np.full(len(ids), -1, np.int64), np.zeros((0, 2), np.int64)
    watches = world.history.get(WATCHES)
    if watches is None or not len(watches):
        return none
    index = {e: i for i, e in enumerate(ids.tolist())}
    size = np.bincount(roots, minlength=len(ids))
    unit_of_product: dict[str, int] = {}
    unit = np.full(len(ids), -1, np.int64)
    root_unit = np.full(len(ids), -1, np.int64)
    for product, e in zip(watches.column("product_id").tolist(),
                          watches.event_ids().tolist(), strict=True):
        i = index.get(e, -1)
        if i < 0 or held[i]:
            continue
        root_unit[roots[i]] = unit_of_product.setdefault(product, len(unit_of_product))
    pairs = []
    for name in TRACKER_TABLES:
        table = world.history.get(name)
        if table is None or not len(table):
            continue
        for product, e in zip(table.column("product_id").tolist(), table.event_ids().tolist(),
                              strict=True):
            i, k = index.get(e, -1), unit_of_product.get(product, -1)
            if i < 0 or k < 0:
                continue
            if name == "price_history" and roots[i] == i and size[i] == 1 and not held[i]:
                root_unit[i] = k  # a daily look that saw no deal: part of the watch
            elif not protected[i]:
                pairs.append((k, i))
    members = root_unit[roots] >= 0
    unit[members] = root_unit[roots[members]]
    out = np.array(sorted(set(pairs)), np.int64).reshape(-1, 2)
    return unit, out[unit[out[:, 1]] < 0] if len(out) else out
