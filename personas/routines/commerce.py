"""Shopping and its ripples: an order is confirmed by mail, charged to the card, shipped,
tracked and delivered (with texts on the way); parcels from elsewhere are tracked too;
watched products move in price and the tracker raises alerts; where a noise profile asks
for it, the user browses product pages."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from personas.life import OPENING, Life
from personas.pools import pick
from personas.routines.messaging import emit_org_sms
from personas.routines.notify import after, org_mail
from sim.clock import DAY, HOUR
from sim.services.bank import ONLINE

# Shipment legs: status, days after the previous leg (low, high), what the tracker says.
_LEGS = (
    ("label_created", (0.05, 0.6), "Shipping label created; the parcel is waiting for pickup."),
    ("in_transit", (0.3, 1.5), "Parcel accepted at the depot and on its way."),
    ("in_transit", (0.4, 2.0), "Arrived at the regional sorting facility."),
    ("out_for_delivery", (0.3, 1.2), "Out for delivery today."),
    ("delivered", (0.1, 0.4), "Delivered. Left at the front door."),
)
_LEG_KIND = {"label_created": "shipment_created", "in_transit": "shipment_scanned",
             "out_for_delivery": "shipment_dispatched", "delivered": "shipment_delivered"}
# What the carrier texts at a leg (indices of ``sms_delivery`` templates): only what is
# true of the parcel then. Routine parcels are never missed, delayed, sent to a pickup point
# or announced as shipped by the shop, so they never get the templates saying so. A parcel
# with no order (``_parcels``) gets only the texts that name no shop and no order.
_LEG_TEXTS = {"out_for_delivery": (0, 2, 4, 8), "delivered": (1, 5)}
_PARCEL_TEXTS = {"out_for_delivery": (0, 4, 8), "delivered": (5,)}


@dataclass
class PriceBook:
    """Every product's price over time: its opening price, then each change in order.

    Whatever shows a price (an order total, a promotion, a receipt) reads it here at its own
    instant, so no two records disagree about what something cost when.
    """

    opening: np.ndarray
    changes: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)

    def current(self, product: int) -> int:
        times_prices = self.changes.get(product)
        return times_prices[1][-1] if times_prices else int(self.opening[product])

    def record(self, product: int, ts: int, price: int) -> None:
        times, prices = self.changes.setdefault(product, ([], []))
        times.append(ts)
        prices.append(price)

    def insert(self, product: int, ts: int, price: int) -> None:
        """A change between ones already recorded (a deal inside the walk's steps)."""
        times, prices = self.changes.setdefault(product, ([], []))
        at = bisect.bisect_right(times, ts)
        times.insert(at, ts)
        prices.insert(at, price)

    def at(self, products: np.ndarray, ts: np.ndarray) -> np.ndarray:
        out = self.opening[products].astype(np.int64)
        for product in np.intersect1d(products, list(self.changes)):
            times, prices = self.changes[int(product)]
            sel = np.flatnonzero(products == product)
            i = np.searchsorted(times, ts[sel], side="right") - 1
            out[sel] = np.where(i >= 0, np.asarray(prices)[np.maximum(i, 0)], out[sel])
        return out


def install(life: Life) -> None:
    if not life.world.has("shopping"):
        return
    life.world.every(partial(_period, life))


def _period(life: Life, *, days: range) -> None:
    rng = life.world.rng.stream("shopping")
    if days.start == 0:
        _catalogue(life, rng)
    if life.world.has("price_tracker"):
        _prices(life, rng, days)  # first: orders this period pay the price of their moment
    _orders(life, rng, days)
    _saves(life, rng, days)
    _views(life, days)
    if life.world.has("deliveries"):
        _parcels(life, rng, days)


def _catalogue(life: Life, rng) -> None:
    """The products the user will come across, with their opening prices."""
    p = life.pools.products
    n = len(p)
    ids, _ = life.world.emit(
        "shop_products", "product_listed", np.full(n, OPENING),
        {"title": p.title, "brand": p.brand, "category": p.category, "merchant": p.merchant,
         "price_minor": p.price_minor, "currency": life.spec.money.currency},
        actor=None,
    )
    life.state["product_ids"] = np.array(ids, dtype=object)
    life.state["prices"] = PriceBook(p.price_minor.copy())
    # Watch a handful of liked products, with a target about 15% under today's price.
    liked = np.flatnonzero(p.interest) if p.interest.any() else np.arange(n)
    watch = np.sort(rng.choice(liked, size=min(len(liked), int(rng.integers(4, 9))),
                               replace=False))
    life.state["watched"] = watch
    if life.world.has("price_tracker"):
        target = (p.price_minor[watch] * rng.uniform(0.8, 0.9, len(watch))).astype(np.int64)
        life.state["target"] = target
        # Most watches predate the window; the user adds a few while browsing during it
        # (the tracker follows a product from when it is watched).
        ts = np.full(len(watch), OPENING)
        later = rng.random(len(watch)) < 0.6
        ts[later] = life.at_hours(rng.integers(1, max(2, life.world.days * 2 // 3),
                                               int(later.sum())), rng)
        life.state["watched_since"] = ts
        life.world.emit(
            "price_watches", "watch_created", ts,
            {"product_id": life.state["product_ids"][watch], "product_title": p.title[watch],
             "target_price_minor": target, "currency": life.spec.money.currency,
             "created_at": ts},
            actor="user", device="web",
        )


def _pick_products(life: Life, rng, n: int) -> np.ndarray:
    p = life.pools.products
    w = np.where(p.interest, 4.0, 1.0)
    return rng.choice(len(p), size=n, p=w / w.sum())


def _orders(life: Life, rng, days: range) -> None:
    item_days = life.item_days("orders", days, rng)
    n = len(item_days)
    if n == 0:
        return
    p = life.pools.products
    prod = _pick_products(life, rng, n)
    qty = rng.choice([1, 1, 1, 1, 2, 3], n).astype(np.int32)
    ts = life.at_hours(item_days, rng)
    total = life.state["prices"].at(prod, ts) * qty
    number = np.array([f"{int(a)}-{int(b):07d}" for a, b in
                       zip(rng.integers(100, 999, n), rng.integers(0, 9_999_999, n),
                           strict=True)], dtype=object)
    items = np.array([f"{q} x {t}" for q, t in zip(qty, p.title[prod], strict=True)],
                     dtype=object)
    order_cols = {"order_number": number, "product_id": life.state["product_ids"][prod],
                  "items": items, "quantity": qty, "total_minor": total,
                  "currency": life.spec.money.currency, "placed_at": ts}
    rec, ev = life.world.emit("shop_orders", "order_placed", ts, order_cols | {"status": "placed"},
                              actor="user",
                              device=life.device(ts, phone_share=0.5),
                              cause=_deal_causes(life, prod, ts))
    rec, ev = np.array(rec, dtype=object), np.array(ev, dtype=object)
    legs = _leg_times(life, rng, ts)
    # The shop's estimate is usually right, sometimes a day optimistic.
    eta = legs["delivered"] - np.where(rng.random(n) < 0.15, DAY, 0)
    slots = {"merchant": p.merchant[prod], "product": p.title[prod],
             "amount": life.money(total), "order_number": number,
             "date": life.dates(eta)}
    org_mail(life, rng, after(rng, ts, 1, 10), org=p.merchant[prod],
             intent="order_confirmation", slots=slots, related=rec, cause=ev,
             folder="updates")
    ledger = life.state.get("ledger")
    if ledger is not None:
        ledger.add(after(rng, ts, 0, 5), -total, description=np.char.add(
            ONLINE, p.merchant[prod].astype(str)).astype(object), merchant=p.merchant[prod],
            category="shopping", kind="card_charged", account=ledger.card, related=rec,
            cause=ev)
    if life.world.has("deliveries"):
        marks = _ship(life, rng, legs, eta, rec, ev, p.merchant[prod], p.title[prod])
        # The order itself moves to shipped, then delivered, as the carrier reports.
        for status in ("shipped", "delivered"):
            when, cause = marks["label_created" if status == "shipped" else "delivered"]
            life.world.emit("shop_orders", f"order_{status}", when + 1,
                            order_cols | {"status": status}, record_ids=rec.tolist(),
                            actor=None, cause=list(cause))


def _deal_causes(life: Life, prod: np.ndarray, ts: np.ndarray) -> list[str | None] | None:
    """An order placed during a deal on its product pays the deal price, so it belongs to
    the deal's cascade (and goes if thinning drops the deal)."""
    deals = life.state.get("deals")
    if not deals:
        return None
    causes: list[str | None] = [None] * len(ts)
    for i, (j, when) in enumerate(zip(prod.tolist(), ts.tolist(), strict=True)):
        for start, end, event in deals.get(j, ()):
            if start <= when < end:
                causes[i] = event
    return causes


def _leg_times(life: Life, rng, ts: np.ndarray) -> dict[str, np.ndarray]:
    """When each leg of each order's parcel happens (the last leg of a status wins)."""
    when = ts.copy()
    legs = {}
    for leg, (status, (low, high), _) in enumerate(_LEGS):
        when = when + (rng.uniform(low, high, len(ts)) * DAY).astype(np.int64)
        if status in ("out_for_delivery", "delivered"):
            # Couriers work daytime: move to the next 8:00-18:00 window.
            hour = life.world.clock.local_hour(when)
            when = np.where(hour < 8, when + (8 - hour) * HOUR,
                            np.where(hour >= 18, when + (32 - hour) * HOUR, when))
        legs[f"{status}/{leg}"] = when
        legs[status] = when
    return legs


# Parcels someone else sends (family, friends, work), per order placed.
PARCELS_PER_ORDER = 0.4
# A parcel's scans, in words: what a profile's "parcel_words" top-up is divided by. The
# last scans of a parcel sent near the end fall after the window and do not count there,
# a few percent of a 100-day world's, which the expansion's headroom covers.
PARCEL_WORDS = float(sum(len(detail.split()) for _, _, detail in _LEGS))


def _parcels(life: Life, rng, days: range) -> None:
    """Parcels someone else sends: the carrier tracks and texts as for an order, but no
    order, charge or shop mail comes with them, and the texts name no shop. Real tracking
    apps hold many of these, and because each stands alone, thinning can keep deliveries at
    their own ratio without keeping orders, which write to shopping too
    (``scenarios.keep_path``). A profile that needs more parcel traffic (``Life.boost``,
    "parcel_words") gets more of these, not more orders, drawn from a stream of their own so
    that the shop's draws stay as they were."""
    _send_parcels(life, rng, life.item_days("orders", days, rng, scale=PARCELS_PER_ORDER))
    more = life.world.rng.stream("parcels")
    _send_parcels(life, more, life.top_up_days("parcel_words", PARCEL_WORDS, days, more))


def _send_parcels(life: Life, rng, item_days: np.ndarray) -> None:
    """Parcels from elsewhere arriving on ``item_days``: tracked and texted, nothing more."""
    n = len(item_days)
    if n == 0:
        return
    legs = _leg_times(life, rng, life.at_hours(item_days, rng))
    none = np.full(n, None, dtype=object)
    _ship(life, rng, legs, legs["delivered"], none, none, none, None, texts=_PARCEL_TEXTS)


def tracking_prefix(carrier: str) -> str:
    """The letters a carrier's tracking numbers start with."""
    return carrier[:2].upper()


def _ship(life: Life, rng, legs, eta_ts, rec, ev, merchant, product, texts=_LEG_TEXTS):
    """Walk each parcel through the carrier's legs; returns {status: (ts, events)}. ``rec``
    and ``ev`` are the orders shipped and the events that placed them (None for a parcel
    someone else sends); ``texts`` the templates each leg may text; ``product`` None sends
    no carrier mail (it would not know what is in the box)."""
    n = len(rec)
    carrier = pick(rng, life.pools.carriers, n)
    tracking = np.array([f"{tracking_prefix(c)}{int(x):010d}" for c, x in
                         zip(carrier, rng.integers(0, 9_999_999_999, n), strict=True)],
                        dtype=object)
    sid = np.array(life.world.ids.mint("records/shipments", "sh_", n), dtype=object)
    eta = life.local_days(eta_ts)
    cause = ev
    marks = {}
    for leg, (status, _, detail) in enumerate(_LEGS):
        when = legs[f"{status}/{leg}"]
        _, cause = life.world.emit(
            "shipments", _LEG_KIND[status], when,
            {"order_id": rec, "carrier": carrier, "tracking_number": tracking, "status": status,
             "status_detail": detail, "location": pick(rng, life.pools.places[-len(
                 life.spec.cities):], n), "estimated_delivery": eta, "updated_at": when},
            record_ids=sid.tolist(), actor=carrier.tolist(), cause=list(cause),
        )
        marks[status] = (when, cause)
        if status in texts and life.world.has("sms"):
            pool = life.grammar.intent("sms_delivery").sentences
            text = life.grammar.sentences(
                "sms_delivery", rng, {"carrier": carrier, "tracking": tracking,
                                      "date": life.dates(when), "merchant": merchant}, n,
                variants=pool.draw(rng, n, texts[status]))
            emit_org_sms(life, after(rng, when, 0, 2), carrier, text, cause=list(cause))
    if life.world.has("personal_email") and product is not None:
        org_mail(life, rng, after(rng, marks["label_created"][0], 5, 60), org=carrier,
                 intent="shipping_update",
                 slots={"carrier": carrier, "tracking": tracking, "product": product,
                        "date": life.dates(eta_ts), "merchant": merchant},
                 related=sid, greet=False, cause=list(marks["label_created"][1]))
    return marks


def _saves(life: Life, rng, days: range) -> None:
    """Browsing leaves items in the cart or on the wishlist."""
    item_days = life.item_days("orders", days, rng, scale=0.8)
    n = len(item_days)
    if n == 0:
        return
    ts, named = _come_across(life, rng, item_days)
    life.world.emit(
        "shop_saved_items", "item_saved", ts,
        named | {"list": np.where(rng.random(n) < 0.6, "wishlist", "cart"),
                 "quantity": np.ones(n, np.int32), "added_at": ts},
        actor="user", device=life.device(ts, phone_share=0.5, other="web"),
    )


def _come_across(life: Life, rng, item_days: np.ndarray) -> tuple[np.ndarray, dict]:
    """Products the user comes across on ``item_days`` (liked ones more often): when, and
    the columns that name them as a list in the app does."""
    prod = _pick_products(life, rng, len(item_days))
    ts = life.at_hours(item_days, rng)
    return ts, {"product_id": life.state["product_ids"][prod],
                "product_title": life.pools.products.title[prod]}


# A viewed product's title, in words: what a profile's "browsing_words" top-up is divided by.
VIEW_WORDS = 3.1  # (3.0 to 3.3 over the worlds of three personas)


def _views(life: Life, days: range) -> None:
    """Product pages the user opens. Only a profile that needs more shopping traffic
    (``Life.boost``, "browsing_words") draws them: people look at far more than they buy,
    so a busy shopping app is one that is browsed more, not one that orders several times a
    day. Each view stands alone, so thinning may drop any of them."""
    rng = life.world.rng.stream("browsing")
    item_days = life.top_up_days("browsing_words", VIEW_WORDS, days, rng)
    if len(item_days) == 0:
        return
    ts, named = _come_across(life, rng, item_days)
    life.world.emit("shop_views", "product_viewed", ts, named | {"viewed_at": ts},
                    actor="user", device=life.device(ts, phone_share=0.6, other="web"))


def _prices(life: Life, rng, days: range) -> None:
    """Watched prices wander, sometimes drop; drops below target raise an alert and a mail."""
    watch = life.state["watched"]
    if not len(watch):
        return
    p = life.pools.products
    ids = life.state["product_ids"]
    day_arr = np.arange(days.start, days.stop)
    # One observation per watched product per day, mid-morning.
    obs_day = np.tile(day_arr, len(watch))
    prod = np.repeat(watch, len(day_arr))
    # Trackers poll at no fixed hour; shops reprice around the clock.
    ts = life.world.clock.local_to_sim(obs_day * DAY) + rng.integers(0, 24 * HOUR,
                                                                     len(obs_day))
    since = life.state.get("watched_since")
    if since is not None:  # a product is tracked from when it is watched
        tracked = ts >= since[np.repeat(np.arange(len(watch)), len(day_arr))]
        obs_day, prod, ts = obs_day[tracked], prod[tracked], ts[tracked]
        if not len(ts):
            return
    moves = rng.random(len(obs_day))
    factor = np.where(moves < 0.04, rng.uniform(0.7, 0.9, len(obs_day)),
                      np.where(moves < 0.1, rng.uniform(1.02, 1.12, len(obs_day)), 1.0))
    book: PriceBook = life.state["prices"]
    out = np.empty(len(obs_day), np.int64)
    changed = np.zeros(len(obs_day), bool)
    old = np.empty(len(obs_day), np.int64)
    for i in range(len(obs_day)):  # a per-product random walk, in time order per product
        j = int(prod[i])
        old[i] = out[i] = book.current(j)
        if factor[i] != 1.0:
            out[i] = max(99, int(old[i] * factor[i]) // 100 * 100 + 99)
            if out[i] != old[i]:
                changed[i] = True
                book.record(j, int(ts[i]), int(out[i]))
    life.world.emit(
        "price_history", "price_changed", ts,
        {"product_id": ids[prod], "price_minor": out, "currency": life.spec.money.currency,
         "observed_at": ts},
        actor=None,
    )
    if changed.any():
        c = changed
        life.world.emit(
            "shop_products", "product_repriced", ts[c],
            {"title": p.title[prod[c]], "brand": p.brand[prod[c]], "category": p.category[prod[c]],
             "merchant": p.merchant[prod[c]], "price_minor": out[c],
             "currency": life.spec.money.currency},
            record_ids=ids[prod[c]].tolist(), actor=None,
            payload=[{"old_price_minor": int(a), "new_price_minor": int(b)}
                     for a, b in zip(old[c].tolist(), out[c].tolist(), strict=True)],
        )
    target = life.state["target"][np.searchsorted(watch, prod)]
    _deals(life, prod, ts, out)
    alert = changed & (out < old) & ((out <= target) | (out < old * 0.85))
    if alert.any():
        k = int(alert.sum())
        a_ts = after(rng, ts[alert], 1, 30)
        msg = np.array([f"{t} dropped from {o} to {n_}" for t, o, n_ in zip(
            p.title[prod[alert]], life.money(old[alert]), life.money(out[alert]), strict=True)],
            dtype=object)
        rec, ev = life.world.emit(
            "price_alerts", "price_dropped", a_ts,
            {"product_id": ids[prod[alert]], "old_price_minor": old[alert],
             "new_price_minor": out[alert], "currency": life.spec.money.currency,
             "message": msg, "alerted_at": a_ts},
            actor=None,
        )
        org_mail(life, rng, after(rng, a_ts, 0, 5), org=np.full(k, "Price Tracker", dtype=object),
                 intent="price_alert",
                 slots={"product": p.title[prod[alert]], "amount": life.money(out[alert]),
                        "old_amount": life.money(old[alert]),
                        "merchant": p.merchant[prod[alert]]},
                 related=rec, cause=ev, greet=False, kind="email_received")


# Lightning deals: a noise profile that needs more price-tracker traffic (``Life.boost``,
# "price_deals") puts short deals on watched products between two of the tracker's daily
# looks. A deal drops the price, the tracker alerts, and the price comes back before the
# next look, so nothing else sees the deal price and each deal is one self-contained cascade
# (its reprices included): thinning may drop a deal whole without leaving the price walk,
# the catalogue or an alert describing a price that never was. Orders placed during a deal
# join its cascade. Without a boost nothing is drawn, so unboosted worlds stay as they were.
DEAL_RATE = 0.035  # deals per look at boost 2: about as many alerts again as the walk makes
DEAL_MAX = 0.9  # at most this share of the gaps between looks holds a deal


def _deals(life: Life, prod: np.ndarray, ts: np.ndarray, price: np.ndarray) -> None:
    boost = life.boost.get("price_deals", 1.0)
    if boost <= 1.0 or len(ts) < 2:
        return
    rng = life.world.rng.stream("price_deals")
    order = np.lexsort((ts, prod))
    p, t, base = prod[order], ts[order], price[order]
    # Consecutive looks at one product (the price holds between them), far enough apart
    # for a deal to begin and end in between.
    same = (p[1:] == p[:-1]) & (t[1:] - t[:-1] >= 2 * HOUR)
    gap_start, gap_end, p, base = t[:-1][same], t[1:][same], p[:-1][same], base[:-1][same]
    pick = rng.random(len(p)) < min(DEAL_MAX, DEAL_RATE * (boost - 1))
    gap_start, gap_end, p, base = gap_start[pick], gap_end[pick], p[pick], base[pick]
    n = len(p)
    if n == 0:
        return
    gap = gap_end - gap_start
    start = gap_start + 1 + (rng.uniform(0.1, 0.5, n) * gap).astype(np.int64)
    end = start + (rng.uniform(0.2, 0.45, n) * gap).astype(np.int64)
    deal = np.maximum(99, (base * rng.uniform(0.6, 0.82, n)).astype(np.int64) // 100 * 100 + 99)
    books: PriceBook = life.state["prices"]
    deals = life.state.setdefault("deals", {})
    cat, ids = life.pools.products, life.state["product_ids"]
    currency = life.spec.money.currency
    _, begun = life.world.emit(
        "price_history", "price_changed", start,
        {"product_id": ids[p], "price_minor": deal, "currency": currency, "observed_at": start},
        actor=None)
    _, ended = life.world.emit(
        "price_history", "price_changed", end,
        {"product_id": ids[p], "price_minor": base, "currency": currency, "observed_at": end},
        actor=None, cause=begun)
    # The shop's reprice is the observation's consequence, a second later (events come
    # after their cause); the deal's price holds from then on.
    for when, old, new, cause in ((start + 1, base, deal, begun), (end + 1, deal, base, ended)):
        life.world.emit(
            "shop_products", "product_repriced", when,
            {"title": cat.title[p], "brand": cat.brand[p], "category": cat.category[p],
             "merchant": cat.merchant[p], "price_minor": new, "currency": currency},
            record_ids=ids[p].tolist(), actor=None, cause=cause,
            payload=[{"old_price_minor": int(a), "new_price_minor": int(b)}
                     for a, b in zip(old.tolist(), new.tolist(), strict=True)])
    for j, a, b, d, was, e in zip(p.tolist(), start.tolist(), end.tolist(), deal.tolist(),
                                  base.tolist(), begun, strict=True):
        books.insert(j, a + 1, d)
        books.insert(j, b + 1, was)
        deals.setdefault(j, []).append((a + 1, b + 1, e))
    # The tracker's own rule: under the target, or down by more than 15%.
    target = life.state["target"][np.searchsorted(life.state["watched"], p)]
    loud = (deal <= target) | (deal < base * 0.85)
    k = int(loud.sum())
    if not k:
        return
    a_ts = after(rng, start[loud], 1, 30)
    q, was, now = p[loud], base[loud], deal[loud]
    msg = np.array([f"{t} dropped from {o} to {n_}" for t, o, n_ in zip(
        cat.title[q], life.money(was), life.money(now), strict=True)], dtype=object)
    rec, ev = life.world.emit(
        "price_alerts", "price_dropped", a_ts,
        {"product_id": ids[q], "old_price_minor": was, "new_price_minor": now,
         "currency": currency, "message": msg, "alerted_at": a_ts},
        actor=None, cause=[e for e, x in zip(begun, loud.tolist(), strict=True) if x])
    org_mail(life, rng, after(rng, a_ts, 0, 5), org=np.full(k, "Price Tracker", dtype=object),
             intent="price_alert",
             slots={"product": cat.title[q], "amount": life.money(now),
                    "old_amount": life.money(was), "merchant": cat.merchant[q]},
             related=rec, cause=ev, greet=False, kind="email_received")
