"""Commerce tools: buying from the catalogue, cancelling and returning orders, price watches,
delivery instructions, and booking and cancelling trips.

Records look like the ones routine life writes (``personas.routines.commerce`` and
``travel``): an order is ``placed`` and its card charge reads ``ONLINE <merchant>``, linked
to the order by ``related_id``; a flight charge reads ``AIR <airline>``. Cancelling an
order or a booking refunds what was charged against it at once; a return is refunded by
the shop later, when the parcel is back (as the shops in the storylines do). Every
argument is checked before the first write, so a refused call changes nothing.
"""

from __future__ import annotations

import datetime as dt

from sim.services.bank import ONLINE
from sim.tools.base import (
    ToolError,
    date_arg,
    deleted,
    existing,
    instant_arg,
    object_schema,
    tool_record,
    written,
)
from sim.tools.money import (
    ACCOUNT,
    AHEAD_DAYS,
    CURRENCY,
    Posting,
    amount,
    check_funds,
    payer,
    post,
    record_id,
    refund,
)
from sim.workspace import Workspace

_CODE = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # booking codes avoid 0/O and 1/I
_LONGEST_FLIGHT = dt.timedelta(hours=36)
_LONGEST_STAY = 90  # nights
# What a carrier's tracker says before the recipient's instruction, by shipment status.
_TRACKED = {"label_created": "Shipping label created", "in_transit": "In transit"}


def _digits(record: str) -> int:
    """The opaque digest inside a fresh record id, as a number (order and booking codes
    derive from it, so they are as deterministic as the id)."""
    return int(record.split("_", 1)[1], 16)


# -- shopping -------------------------------------------------------------------------------


def shopping_tools() -> list:
    def pay(ws, a, _):
        product = existing(ws, "shop_products", a["product_id"])
        price, quantity = product["price_minor"], a.get("quantity", 1)
        if not price or price <= 0:
            raise ToolError("conflict", "that product has no price and cannot be bought")
        account = payer(ws, a, product["currency"])
        total = price * quantity
        check_funds(ws, account, total)
        oid = ws.new_id("shop_orders")
        n = _digits(oid)
        order = ws.insert("shop_orders", record_id=oid, values={
            "order_number": f"{n % 900 + 100}-{n // 900 % 10**7:07d}",
            "product_id": product["record_id"], "items": f"{quantity} x {product['title']}",
            "quantity": quantity, "total_minor": total, "currency": product["currency"],
            "status": "placed", "placed_at": ws.as_of})
        charge = post(ws, Posting(account, -total, ONLINE + product["merchant"],
                                  product["merchant"], "shopping", oid))
        return written("shop_orders", order) | {"charge": tool_record(charge)}

    def order(ws, order_id: str, allowed: str) -> dict:
        row = existing(ws, "shop_orders", order_id)
        if row["status"] != allowed:
            raise ToolError("conflict", f"that order is {row['status']}, not {allowed}")
        return row

    def cancel(ws, a, _):
        order(ws, a["id"], "placed")  # once shipped it can only be returned
        row = ws.update("shop_orders", a["id"], {"status": "cancelled"})
        return written("shop_orders", row) | {"refunds": refund(ws, a["id"])}

    def update(ws, a, _):
        order(ws, a["id"], "delivered")
        return written("shop_orders", ws.update("shop_orders", a["id"], {"status": a["status"]}))

    return [
        ("shopping_pay",
         "Buy a catalogue product at its current price: places an order and charges it (to "
         "the user's card unless account_id says otherwise).",
         object_schema({
             "product_id": record_id("product (shop_products)"),
             "quantity": {"type": "integer", "minimum": 1, "maximum": 99,
                          "description": "how many (default 1)"},
             "account_id": ACCOUNT, "currency": CURRENCY,
         }, ["product_id"]), pay),
        ("shopping_cancel",
         "Cancel an order that has not shipped yet; what was charged for it is refunded.",
         object_schema({"id": record_id("order")}, ["id"]), cancel),
        ("shopping_update",
         "Send a delivered order back (status returned); the shop refunds it once the "
         "parcel arrives.",
         object_schema({"id": record_id("order"),
                        "status": {"type": "string", "enum": ["returned"],
                                   "description": "returned: the user sends it back"}},
                       ["id", "status"]), update),
    ]


# -- price tracker --------------------------------------------------------------------------


def price_tracker_tools() -> list:
    def create(ws, a, _):
        product = existing(ws, "shop_products", a["product_id"])
        watches = ws.rows_where("price_watches", "product_id", product["record_id"])
        if watches:
            raise ToolError("conflict", f"already watched by {watches[0]['record_id']}; "
                            "change its target with price_tracker_update")
        return written("price_watches", ws.insert("price_watches", {
            "product_id": product["record_id"], "product_title": product["title"],
            "target_price_minor": a["target_price_minor"], "currency": product["currency"],
            "created_at": ws.as_of}))

    def update(ws, a, _):
        existing(ws, "price_watches", a["id"])
        return written("price_watches", ws.update(
            "price_watches", a["id"], {"target_price_minor": a["target_price_minor"]}))

    target = amount("alert when the price is at or below this")
    return [
        ("price_tracker_create", "Watch a catalogue product for a price at or below a target.",
         object_schema({"product_id": record_id("product (shop_products)"),
                        "target_price_minor": target}, ["product_id", "target_price_minor"]),
         create),
        ("price_tracker_update", "Change a price watch's target.",
         object_schema({"id": record_id("price watch"), "target_price_minor": target},
                       ["id", "target_price_minor"]), update),
        ("price_tracker_delete", "Stop watching a product's price.",
         object_schema({"id": record_id("price watch")}, ["id"]),
         lambda ws, a, _: deleted(ws, "price_watches", a["id"])),
    ]


# -- deliveries -----------------------------------------------------------------------------


def delivery_tools() -> list:
    def update(ws, a, _):
        parcel = existing(ws, "shipments", a["id"])
        if parcel["status"] not in _TRACKED:
            raise ToolError("conflict", f"the parcel is {parcel['status']}; it can no longer "
                            "be redirected")
        if "deliver_on" not in a and "hold_at" not in a:
            raise ToolError("bad_arguments", "give deliver_on, hold_at or both")
        changes: dict = {"updated_at": ws.as_of}
        said = _TRACKED[parcel["status"]]
        if "deliver_on" in a:
            day = date_arg(a["deliver_on"], "deliver_on")
            earliest = max(ws.today + dt.timedelta(days=1),
                           parcel["estimated_delivery"] or ws.today)
            if not earliest <= day <= ws.today + dt.timedelta(days=30):
                raise ToolError("bad_arguments", f"deliver_on: the carrier can deliver from "
                                f"{earliest} and within 30 days")
            changes["estimated_delivery"] = day
        if "hold_at" in a:
            when = f" from {changes['estimated_delivery']}" if "deliver_on" in a else ""
            said += f". To be held for collection at {a['hold_at']}{when}"
        elif "deliver_on" in a:
            said += f". Delivery rescheduled to {changes['estimated_delivery']}"
        changes["status_detail"] = said + " at the recipient's request."
        return written("shipments", ws.update("shipments", a["id"], changes))

    return [("deliveries_update",
             "Change where or when a parcel that is not yet out for delivery arrives: another "
             "day, or held at a pickup point.",
             object_schema({
                 "id": record_id("shipment"),
                 "deliver_on": {"type": "string", "format": "date",
                                "description": "YYYY-MM-DD (local day): deliver on this day "
                                               "instead (not before the current estimate)"},
                 "hold_at": {"type": "string", "minLength": 1,
                             "description": "a pickup point to hold the parcel at"},
             }, ["id"]), update)]


# -- travel ---------------------------------------------------------------------------------


def travel_tools() -> list:
    def book(ws, a, _):
        kind = a["booking_type"]
        row = _flight(ws, a) if kind == "flight" else _stay(ws, a)
        account = payer(ws, a, None)
        check_funds(ws, account, a["total_minor"])
        bid = ws.new_id("travel_bookings")
        n = _digits(bid)
        booking = ws.insert("travel_bookings", record_id=bid, values=row | {
            "booking_type": kind, "provider": a["provider"], "status": "confirmed",
            "confirmation_code": "".join(_CODE[(n >> 5 * i) & 31] for i in range(6)),
            "total_minor": a["total_minor"], "currency": account["currency"]})
        said = f"AIR {a['provider']}" if kind == "flight" else a["provider"]
        charge = post(ws, Posting(account, -a["total_minor"], said, a["provider"], "travel",
                                  bid))
        return written("travel_bookings", booking) | {"charge": tool_record(charge)}

    def cancel(ws, a, _):
        row = existing(ws, "travel_bookings", a["id"])
        if row["status"] in ("cancelled", "completed"):
            raise ToolError("conflict", f"that booking is already {row['status']}")
        started = (row["depart_at"] is not None and row["depart_at"] <= ws.as_of) or (
            row["check_in"] is not None and row["check_in"] < ws.today)
        if started:
            raise ToolError("conflict", "that trip has already begun")
        done = ws.update("travel_bookings", a["id"], {"status": "cancelled"})
        return written("travel_bookings", done) | {"refunds": refund(ws, a["id"])}

    text = {"type": "string", "minLength": 1}
    return [
        ("travel_book",
         "Book a flight (origin, destination, depart_at, arrive_at) or a hotel "
         "(destination, check_in, check_out) and charge it (to the card unless account_id "
         "says otherwise).",
         object_schema({
             "booking_type": {"type": "string", "enum": ["flight", "hotel"],
                              "description": "what is booked"},
             "provider": text | {"description": "the airline or the hotel"},
             "total_minor": amount("the price in total"),
             "origin": text | {"description": "flights: where from"},
             "destination": text | {"description": "where to (the hotel's city)"},
             "depart_at": {"type": "string", "format": "date-time",
                           "description": "flights: ISO-8601 instant with offset"},
             "arrive_at": {"type": "string", "format": "date-time",
                           "description": "flights: ISO-8601 instant with offset"},
             "flight_number": text | {"description": "flights: e.g. 123"},
             "check_in": {"type": "string", "format": "date",
                          "description": "hotels: YYYY-MM-DD (local day)"},
             "check_out": {"type": "string", "format": "date",
                           "description": "hotels: YYYY-MM-DD (local day)"},
             "account_id": ACCOUNT, "currency": CURRENCY,
         }, ["booking_type", "provider", "total_minor", "destination"]), book),
        ("travel_cancel",
         "Cancel a booking that has not begun; what was charged for it is refunded.",
         object_schema({"id": record_id("booking")}, ["id"]), cancel),
    ]


def _only(a: dict, allowed: set[str], kind: str) -> None:
    stray = sorted({"origin", "depart_at", "arrive_at", "flight_number", "check_in",
                    "check_out"} & set(a) - allowed)
    if stray:
        raise ToolError("bad_arguments", f"{stray[0]}: not for a {kind}")


def _flight(ws: Workspace, a: dict) -> dict:
    _only(a, {"origin", "depart_at", "arrive_at", "flight_number"}, "flight")
    missing = [k for k in ("origin", "depart_at", "arrive_at") if k not in a]
    if missing:
        raise ToolError("bad_arguments", f"{missing[0]}: required for a flight")
    depart = instant_arg(a["depart_at"], "depart_at")
    arrive = instant_arg(a["arrive_at"], "arrive_at")
    if not ws.as_of < depart <= ws.as_of + dt.timedelta(days=AHEAD_DAYS):
        raise ToolError("bad_arguments", f"depart_at: must be within {AHEAD_DAYS} days ahead")
    if not depart < arrive <= depart + _LONGEST_FLIGHT:
        raise ToolError("bad_arguments", "arrive_at: must be after depart_at, within 36 hours")
    number = f" {a['flight_number']}" if "flight_number" in a else ""
    return {"origin": a["origin"], "destination": a["destination"], "depart_at": depart,
            "arrive_at": arrive, "check_in": None, "check_out": None,
            "details": f"{a['provider']} flight{number} from {a['origin']} to "
                       f"{a['destination']}"}


def _stay(ws: Workspace, a: dict) -> dict:
    _only(a, {"check_in", "check_out"}, "hotel")
    missing = [k for k in ("check_in", "check_out") if k not in a]
    if missing:
        raise ToolError("bad_arguments", f"{missing[0]}: required for a hotel")
    start, end = date_arg(a["check_in"], "check_in"), date_arg(a["check_out"], "check_out")
    if not ws.today <= start <= ws.today + dt.timedelta(days=AHEAD_DAYS):
        raise ToolError("bad_arguments", f"check_in: must be within {AHEAD_DAYS} days ahead")
    nights = (end - start).days
    if not 1 <= nights <= _LONGEST_STAY:
        raise ToolError("bad_arguments", f"check_out: 1 to {_LONGEST_STAY} nights after "
                        "check_in")
    return {"origin": "", "destination": a["destination"], "depart_at": None,
            "arrive_at": None, "check_in": start, "check_out": end,
            "details": f"{a['provider']}, {nights} night{'s' if nights > 1 else ''}"}
