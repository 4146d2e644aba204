"""Trips: flights out and back plus a hotel, booked ahead, confirmed by mail, charged, put in
the calendar; on the day some flights are delayed and the airline texts. A noise profile
that needs more travel traffic gets fare alerts on the routes the user watches, not more
trips."""

from __future__ import annotations

from functools import cache, partial

import numpy as np

from personas.life import Life
from personas.pools import pick, word_pools
from personas.routines.compose import join
from personas.routines.messaging import emit_org_sms
from personas.routines.notify import after, org_mail
from sim.clock import DAY, HOUR, MINUTE
from sim.history import NULL_DATE, NULL_TS

_DOMESTIC_SHARE = 0.6  # of trips, where the country has cities listed
# A hotel's name: a word and a kind of place ("Parkside Hotel", "The Linden Hotel").
_HOTEL_WORDS = ["Parkside", "Harbourview", "Linden", "Crescent", "Riverside", "Grand",
                "Central", "Station", "Meridian", "Oakwood"]
_HOTEL_STYLES = ["{} Hotel", "{} Inn", "The {} Hotel", "{} Suites"]


def install(life: Life) -> None:
    if life.world.has("travel"):
        life.world.every(partial(_period, life))


def domestic(currency: str) -> list[tuple[str, str]]:
    """(city, airport code) of the cities trips in the country of ``currency`` go to, in the
    order storylines number them (``pools.toml`` ``domestic_cities``; empty for a currency
    without any listed: its trips all go abroad)."""
    return [(city, code) for city, code in word_pools()["domestic_cities"].get(currency, [])]


def airport_code(city: str) -> str:
    """The airport code trips to ``city`` fly to."""
    try:
        return _airports()[city]
    except KeyError:
        raise KeyError(f"no airport listed for {city!r}") from None


@cache
def _airports() -> dict[str, str]:
    words = word_pools()
    codes = dict(words["destinations"])
    for cities in words["domestic_cities"].values():
        codes.update(cities)
    return codes


def _destinations(life: Life, rng, n: int) -> np.ndarray:
    """(city, airport code) of ``n`` trips: mostly in the country, never the home city."""
    home = life.person.city
    home_country = np.array(domestic(life.spec.money.currency), dtype=object).reshape(-1, 2)
    home_country = home_country[home_country[:, 0] != home]
    abroad = np.array(word_pools()["destinations"], dtype=object)
    away = abroad[abroad[:, 0] != home]
    dest = away[rng.integers(0, len(away), n)]
    if len(home_country):
        stay = rng.random(n) < _DOMESTIC_SHARE
        dest[stay] = home_country[rng.integers(0, len(home_country), int(stay.sum()))]
    return dest


def _period(life: Life, *, days: range) -> None:
    _fare_alerts(life, days)
    rng = life.world.rng.stream("travel")
    item_days = life.item_days("trips_per_month", days, rng, scale=1 / 30)
    n = len(item_days)
    if n == 0:
        return
    home = life.person.city
    home_airport = f"{life.spec.airport or home} airport"
    dest = _destinations(life, rng, n)
    booked = life.at_hours(item_days, rng)
    depart_day = life.world.clock.local_day(booked) + rng.integers(5, 30, n)
    nights = rng.integers(1, 6, n)
    out_dep = life.world.clock.local_to_sim(depart_day * DAY + rng.integers(6, 20, n) * HOUR)
    ret_dep = life.world.clock.local_to_sim((depart_day + nights) * DAY
                                            + rng.integers(8, 21, n) * HOUR)
    length = rng.integers(1, 8, n) * HOUR + 30 * MINUTE
    airline = pick(rng, life.pools.airlines, n)
    fx = life.pools.fx
    fare = (rng.integers(150, 900, n) * fx).astype(np.int64) * 100
    cur = life.spec.money.currency
    rows = []
    for leg, dep, (a, b) in (("out", out_dep, (home, dest[:, 0])),
                             ("back", ret_dep, (dest[:, 0], home))):
        code = np.array([_code(rng) for _ in range(n)], dtype=object)
        detail = join(airline, " flight ", np.char.mod("%d", rng.integers(100, 999, n))
                      .astype(object), " from ", np.full(n, a, dtype=object) if isinstance(a, str)
                      else a, " to ", np.full(n, b, dtype=object) if isinstance(b, str) else b
                      ).to_numpy(zero_copy_only=False)
        rec, ev = life.world.emit(
            "travel_bookings", "flight_booked", booked + (0 if leg == "out" else 60),
            {"booking_type": "flight", "confirmation_code": code, "provider": airline,
             "origin": a if isinstance(a, str) else a.astype(object),
             "destination": b if isinstance(b, str) else b.astype(object),
             "depart_at": dep, "arrive_at": dep + length, "check_in": np.full(n, NULL_DATE),
             "check_out": np.full(n, NULL_DATE), "status": "confirmed", "total_minor": fare // 2,
             "currency": cur, "details": detail},
            actor="user", device="laptop",
        )
        rows.append((leg, dep, code, np.array(rec, dtype=object), np.array(ev, dtype=object),
                     detail))
    hotel_cost = (rng.integers(90, 300, n) * fx).astype(np.int64) * 100 * nights
    hotel_name = np.array([f"{style.format(word)} {d}" for style, word, d in zip(
        pick(rng, np.array(_HOTEL_STYLES), n), pick(rng, np.array(_HOTEL_WORDS), n),
        dest[:, 0], strict=True)], dtype=object)
    h_rec, h_ev = life.world.emit(
        "travel_bookings", "hotel_booked", booked + 120,
        {"booking_type": "hotel", "confirmation_code": [_code(rng) for _ in range(n)],
         "provider": hotel_name, "origin": "", "destination": dest[:, 0].astype(object),
         "check_in": life.local_days(out_dep), "check_out": life.local_days(ret_dep),
         "status": "confirmed", "total_minor": hotel_cost, "currency": cur,
         "details": join(hotel_name, ", ", np.char.mod("%d", nights).astype(object),
                         " nights")},
        actor="user", device="laptop",
    )
    if life.world.has("calendar"):  # the trip as one all-day entry, check-out day included
        first_day = life.local_days(out_dep)
        life.world.emit(
            "calendar_events", "event_created", after(rng, booked + 120, 5, 60),
            {"title": join("Trip to ", dest[:, 0].astype(object)),
             "description": join(hotel_name, ", confirmation ", np.array(
                 [_code(rng) for _ in range(n)], dtype=object)),
             "location": hotel_name, "start": np.full(n, NULL_TS), "end": np.full(n, NULL_TS),
             "all_day": True, "start_date": first_day,
             "end_date": life.local_days(ret_dep) + 1,
             "organizer": life.person.full_name, "attendees": life.person.full_name,
             "status": "confirmed", "calendar": "personal"},
            actor="user", device="laptop", cause=np.array(h_ev, dtype=object).tolist(),
        )
    ledger = life.state.get("ledger")
    if ledger is not None:
        ledger.add(after(rng, booked, 1, 10), -fare, description=np.char.add(
            "AIR ", airline.astype(str)).astype(object), merchant=airline, category="travel",
            kind="card_charged", account=ledger.card, related=rows[0][3], cause=rows[0][4])
        ledger.add(after(rng, booked + 120, 1, 10), -hotel_cost, description=hotel_name,
                   merchant=hotel_name, category="travel", kind="card_charged",
                   account=ledger.card, related=np.array(h_rec, dtype=object),
                   cause=np.array(h_ev, dtype=object))
    for leg, dep, code, rec, ev, detail in rows:
        org_mail(life, rng, after(rng, booked, 2, 15), org=airline,
                 intent="travel_confirmation",
                 slots={"airline": airline, "code": code,
                        "origin": np.full(n, home, dtype=object) if leg == "out" else dest[:, 0],
                        "destination": dest[:, 0] if leg == "out" else np.full(n, home,
                                                                                dtype=object),
                        "date": life.dates(dep, weekday=True), "time": life.times(dep)},
                 related=rec, cause=ev)
        if life.world.has("calendar"):
            life.world.emit(
                "calendar_events", "event_created", after(rng, booked, 5, 30),
                {"title": join("Flight to ", dest[:, 0] if leg == "out"
                               else np.full(n, home, dtype=object)),
                 "description": detail, "location": np.full(n, home_airport)
                 if leg == "out" else join(dest[:, 1], " airport"),
                 "start": dep, "end": dep + length, "all_day": False,
                 "start_date": np.full(n, NULL_DATE), "end_date": np.full(n, NULL_DATE),
                 "organizer": life.person.full_name, "attendees": life.person.full_name,
                 "status": "confirmed", "calendar": "personal"},
                actor="user", cause=ev.tolist(),
            )
        _delays(life, rng, leg, dep, length, code, rec, ev, airline, detail, dest, home,
                fare // 2)


def _delays(life, rng, leg, dep, length, code, rec, ev, airline, detail, dest, home,
            total) -> None:
    """About one flight in five is delayed; the airline updates the booking and texts."""
    n = len(dep)
    late = rng.random(n) < 0.2
    if not late.any():
        return
    k = int(late.sum())
    by = rng.integers(1, 10, k) * 30 * MINUTE
    notice = dep[late] - rng.integers(1 * HOUR, 6 * HOUR, k)
    cur = life.spec.money.currency
    _, d_ev = life.world.emit(
        "travel_bookings", "flight_delayed", notice,
        {"booking_type": "flight", "confirmation_code": code[late], "provider": airline[late],
         "origin": np.full(k, home, dtype=object) if leg == "out" else dest[late, 0],
         "destination": dest[late, 0] if leg == "out" else np.full(k, home, dtype=object),
         "depart_at": dep[late] + by, "arrive_at": dep[late] + by + length[late],
         "check_in": np.full(k, NULL_DATE), "check_out": np.full(k, NULL_DATE),
         "status": "delayed", "total_minor": total[late], "currency": cur,
         "details": join(detail[late], " (delayed)")},
        record_ids=rec[late].tolist(), actor=airline[late].tolist(), cause=ev[late].tolist(),
        payload=[{"delay_minutes": int(m) // 60} for m in by.tolist()],
    )
    if life.world.has("sms"):
        text = join(airline[late], ": flight ", code[late], " now departs at ",
                    life.times(dep[late] + by), ". We apologise for the delay.")
        emit_org_sms(life, after(rng, notice, 0, 3), airline[late], text, cause=d_ev)


# Fare alerts (``Life.boost``, "fare_alert_words"). A profile at ratio 100 needs a hundred
# words of travel traffic for each word of a storyline's trip; as extra trips that was two
# flights a week for a musician who flies monthly (0.24.0). A travel app instead watches a
# few routes and says when their fares move. Each alert stands alone (a fare against the
# route's usual one, not against the previous alert), so thinning may drop any of them.
# Without a top-up nothing is drawn, so worlds without one stay as they were.
FARE_WORDS = 13.5  # an alert's mean length in words (13.5 over 829 alerts of three personas)
WATCHED_ROUTES = 3
FARE_DOWN = 0.6  # of alerts, the share that report a fall
_FARE_TEMPLATES = (
    "{home} to {dest} on {airline}: {fare}, {percent}% {side} the usual {usual}.",
    "Fare alert: {home} - {dest} is now {fare} with {airline} (usually {usual}).",
    "Your watched route {home} to {dest}: {airline} fares are {percent}% {side} usual, "
    "from {fare}.",
    "Prices for {home} to {dest} changed. {airline} now from {fare}; typical fare {usual}.",
)


def _fare_alerts(life: Life, days: range) -> None:
    rng = life.world.rng.stream("fare_alerts")
    alert_days = life.top_up_days("fare_alert_words", FARE_WORDS, days, rng)
    n = len(alert_days)
    if n == 0:
        return
    routes = life.state.get("fare_routes")
    if routes is None:  # the cities the user flies to; a usual one-way fare for each
        r_rng = life.world.rng.stream("fare_routes")
        drawn = _destinations(life, r_rng, 8 * WATCHED_ROUTES)[:, 0]
        dest = drawn[np.sort(np.unique(drawn, return_index=True)[1])][:WATCHED_ROUTES]
        usual = (r_rng.integers(80, 450, len(dest)) * life.pools.fx).astype(np.int64)
        routes = life.state["fare_routes"] = (
            dest, pick(r_rng, life.pools.airlines, len(dest)), usual * 100)
    route = rng.integers(0, len(routes[0]), n)
    dest, airline, usual = (column[route] for column in routes)
    at = life.at_hours(alert_days, rng)
    # An alert means the fare moved: down more often than up, by 5 to 35%, then to a price
    # ending in .99 away from the usual fare, so rounding never shrinks the move.
    down = rng.random(n) < FARE_DOWN
    raw = usual * (1 + np.where(down, -1, 1) * rng.uniform(0.05, 0.35, n))
    whole = np.where(down, np.floor(raw), np.ceil(raw)).astype(np.int64) // 100 * 100
    fare = np.maximum(99, np.where(down, whole - 1, whole + 99))
    home = life.person.city
    words = zip(rng.integers(0, len(_FARE_TEMPLATES), n).tolist(), dest, airline,
                life.money(fare), life.money(usual),
                np.abs(np.rint(100 * (fare / usual - 1))).astype(np.int64).tolist(),
                np.where(fare < usual, "below", "above").tolist(), strict=True)
    message = np.array([_FARE_TEMPLATES[t].format(
        home=home, dest=d, airline=a, fare=f, usual=u, percent=p, side=side)
        for t, d, a, f, u, p, side in words], dtype=object)
    life.world.emit(
        "travel_alerts", "fare_changed", at,
        {"origin": home, "destination": dest.astype(object), "provider": airline.astype(object),
         "usual_price_minor": usual, "price_minor": fare,
         "currency": life.spec.money.currency, "message": message, "alerted_at": at},
        actor=None,
    )


def _code(rng) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(letters[i] for i in rng.integers(0, len(letters), 6))
