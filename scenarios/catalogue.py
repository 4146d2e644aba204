"""Catalogue listings that follow what refers to them.

The catalogue (``shop_products``) is state: it used to be kept whole, whatever the target.
At low targets that alone put shopping several times over its own ratio (a hundred
listings against a few dozen signal words) and, since the world total must still meet
the target, pushed every other service well under it. Most listings are only there
because an order, a saved item, a view, a price alert or a session opened them, so a listing
nothing kept refers to is noise.

A listing becomes *dependent*: it is kept, with the reprices no routine event caused,
exactly when some kept cascade refers to it. A listing referred to by anything thinning
never drops (a storyline, a storyline's watch) stays, as before; one nothing refers to is
a product the user never came near, and thins as a cascade of its own. Kept cascades only
grow with the target, so the listings kept do too: a lower target still keeps a subset,
and the signal's own listings are always there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.services import TABLES
from sim.world import World

CATALOGUE_TABLE = "shop_products"
# State tables whose records follow what refers to them: the catalogue, and chat channels
# (a channel's topic is its only text; one whose messages all thinned away is noise too).
FOLLOWED_TABLES = (CATALOGUE_TABLE, "chat_channels")


@dataclass(frozen=True)
class Listings:
    """Dependent listings: which events belong to each, and which events refer to it."""

    unit: np.ndarray  # per event: the dependent listing it writes, or -1
    pairs: np.ndarray  # (n, 2): (listing, event index that refers to it), free events only
    n_units: int
    # Per event of a listing nothing refers to: the listing's first version (its own
    # cascade root from now on, free to thin like any routine cascade), or -1.
    orphan_root: np.ndarray | None = None


def _index(keys: np.ndarray) -> dict[str, int]:
    """Position of each of ``keys`` (unique strings): a dict answers tens of thousands of
    id look-ups faster than sorting the ids and searching them."""
    return {k: i for i, k in enumerate(keys.tolist())}


def _lookup(index: dict[str, int], values: list) -> np.ndarray:
    """Position of each value among the indexed keys, or -1 when absent."""
    get = index.get
    return np.fromiter((get(v, -1) for v in values), np.int64, len(values))


def dependent_listings(world: World, ids: np.ndarray, roots: np.ndarray,
                       state: np.ndarray, protected: np.ndarray,
                       inside: np.ndarray, table: str = CATALOGUE_TABLE) -> Listings:
    """Find the listings that may follow their referrers.

    ``ids``/``roots``/``state``/``protected``/``inside`` are per event of the log
    (``state``: the event wrote a state table; ``protected``: thinning may not drop it;
    ``inside``: it happened inside the window).
    """
    none = Listings(np.full(len(ids), -1, np.int64), np.zeros((0, 2), np.int64), 0)
    history = world.history.get(table)
    if history is None or not len(history):
        return none
    events_at = _index(ids)
    products = history.column("record_id").astype(str)
    listing_names, listing_of_version = np.unique(products, return_inverse=True)
    listings_at = _index(listing_names)
    version_event = _lookup(events_at, history.event_ids().tolist())
    # A listing's own cascades: its versions no routine event caused (the listing, market
    # reprices) and what they caused (a session opening it). They move with the listing; a
    # reprice some other cascade caused refers to it like any other record.
    own_root = (version_event >= 0) & state[roots[np.maximum(version_event, 0)]]
    root_listing = np.full(len(ids), -1, np.int64)
    root_listing[version_event[own_root]] = listing_of_version[own_root]
    event_listing = root_listing[roots]
    refs_event, refs_listing = [version_event], [listing_of_version]
    for name, other in world.history.items():
        targets = [c for c, t in TABLES[name].references.items() if t in (table, "*")]
        if not targets or not len(other) or name == table:
            continue
        events = other.event_ids()
        for col in targets:
            values = ["" if v is None else str(v) for v in other.column(col).tolist()]
            hit = _lookup(listings_at, values)
            # Only the versions that refer to a listing need their event found.
            refs_event.append(_lookup(events_at, events[hit >= 0].tolist()))
            refs_listing.append(hit[hit >= 0])
    event = np.concatenate(refs_event)
    listing = np.concatenate(refs_listing)
    known = event >= 0
    # Events missing from the log (none expected) count as protected referrers: safe side.
    # Referrers after the window are never exported, so they hold nothing.
    mine = known & (event_listing[np.maximum(event, 0)] == listing)
    holds = ~known | (~mine & protected[np.maximum(event, 0)]
                      & inside[np.maximum(event, 0)])
    held = np.zeros(len(listing_names), bool)
    np.logical_or.at(held, listing, holds)
    use = known & ~mine & ~protected[np.maximum(event, 0)]
    referred = np.zeros(len(listing_names), bool)
    referred[listing[use]] = True
    dependent = referred & ~held
    # A listing nothing refers to is a product the user never ordered, saved or looked at:
    # noise like any routine cascade, so it thins as one (its versions and what they caused).
    orphan = ~referred & ~held
    first = np.full(len(listing_names), len(ids), np.int64)
    np.minimum.at(first, listing_of_version[own_root], version_event[own_root])
    orphan_of = (event_listing >= 0) & orphan[np.maximum(event_listing, 0)]
    orphan_root = np.where(orphan_of, first[np.maximum(event_listing, 0)], -1)
    none = Listings(none.unit, none.pairs, 0, orphan_root)
    if not dependent.any():
        return none
    number = np.cumsum(dependent) - 1
    members = (event_listing >= 0) & dependent[np.maximum(event_listing, 0)]
    unit = np.where(members, number[np.maximum(event_listing, 0)], -1).astype(np.int64)
    use &= dependent[listing]
    pairs = np.unique(np.stack([number[listing[use]], event[use]], axis=1), axis=0)
    return Listings(unit=unit, pairs=pairs.astype(np.int64), n_units=int(dependent.sum()),
                    orphan_root=orphan_root)
