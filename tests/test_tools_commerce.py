"""Money and commerce tools on a real small world: what each writes, what each refuses, and
that a refusal changes nothing."""

import datetime as dt
import functools

import pytest

from sim.snapshot import snapshot
from sim.tools import NAME, Toolbox
from sim.tools.money import running_balance
from sim.workspace import Workspace
from tests.conftest import world

# A persona with every commerce service, three weeks of life, and an instant when orders,
# parcels and trips are at every stage (asserted by test_the_fixture_world_has_every_stage).
PERSONA, SEED, DAYS = "startup_founder", 0, 21
AS_OF = dt.datetime(2026, 1, 17, 12, tzinfo=dt.UTC)
SERVICES = ["bank", "deliveries", "price_tracker", "shopping", "subscriptions", "travel"]
TOOLS = {"bank_pay", "bank_cancel", "shopping_pay", "shopping_cancel", "shopping_update",
         "subscriptions_cancel", "subscriptions_update", "travel_book", "travel_cancel",
         "price_tracker_create", "price_tracker_update", "price_tracker_delete",
         "deliveries_update"}


@functools.cache
def _tables():
    return snapshot(world(PERSONA, SEED, DAYS).history, int(AS_OF.timestamp() * 1e6))


def _box(as_of: dt.datetime = AS_OF) -> Toolbox:
    ws = Workspace(_tables(), as_of_us=int(as_of.timestamp() * 1e6), salt="c")
    return Toolbox(ws, SERVICES, user={"name": "Ines Rao"})


@pytest.fixture
def box():
    return _box()


def _rows(box, table, **where):
    return [r for r in box.workspace.rows(table)
            if all(r[k] == v for k, v in where.items())]


def _one(box, table, **where):
    found = _rows(box, table, **where)
    assert found, f"the fixture world has no {table} with {where}"
    return found[0]


def _account(box, kind):
    return _one(box, "bank_accounts", account_type=kind)


def _balance(box, account_id):
    return running_balance(box.workspace, box.workspace.get("bank_accounts", account_id))


def _refused(box, name, args, code):
    """The call is refused with ``code`` and the final state is exactly as before."""
    before = box.workspace.final_state()
    result = box.call(name, args)
    assert result.get("error", {}).get("code") == code, (name, args, result)
    after = box.workspace.final_state()
    assert before.keys() == after.keys()
    for table in before:
        assert before[table].equals(after[table]), (name, table)


def test_the_fixture_world_has_every_stage(box):
    assert {r["status"] for r in _rows(box, "shop_orders")} >= {"placed", "shipped",
                                                                "delivered"}
    assert {r["status"] for r in _rows(box, "shipments")} & {"label_created", "in_transit"}
    assert _rows(box, "travel_bookings", status="confirmed")
    assert _rows(box, "subscriptions", status="active")
    assert _rows(box, "price_watches")
    assert {r["account_type"] for r in _rows(box, "bank_accounts")} == {"checking",
                                                                        "credit_card"}


def test_commerce_tools_are_offered_with_typed_described_arguments(box):
    assert box.tools.keys() >= TOOLS
    for name in TOOLS:
        spec = box.tools[name].spec()
        assert NAME.match(name)
        assert spec["description"]
        for prop, schema in spec["parameters"]["properties"].items():
            assert schema.get("description"), (name, prop)
            if prop.endswith("_minor"):
                assert schema["type"] == "integer"
                assert schema["minimum"] >= 0


# -- bank -----------------------------------------------------------------------------------


def test_a_payment_posts_once_and_moves_the_balance_by_exactly_its_amount(box):
    checking = _account(box, "checking")
    before = _balance(box, checking["record_id"])
    paid = box.call("bank_pay", {"account_id": checking["record_id"], "payee": "Asha Plumbing",
                                 "amount_minor": 12_345, "reference": "INV-7"})["record"]
    assert (paid["amount_minor"], paid["merchant"], paid["category"]) == (-12_345,
                                                                          "Asha Plumbing", "bills")
    assert paid["description"] == "Asha Plumbing payment ref INV-7"
    assert paid["posted_at"] == AS_OF.isoformat()
    assert paid["currency"] == checking["currency"]
    assert paid["balance_after_minor"] == before - 12_345 == _balance(box, checking["record_id"])
    account = box.workspace.get("bank_accounts", checking["record_id"])
    assert account["balance_minor"] == before - 12_345
    assert account["version"] == checking["version"] + 1


def test_a_bill_payment_links_the_bill_and_a_later_date_is_scheduled_then_cancellable(box):
    checking = _account(box, "checking")["record_id"]
    bill = next(r for r in _rows(box, "bank_recurring") if r["amount_minor"] < 0)
    paid = box.call("bank_pay", {"account_id": checking, "payee": bill["payee"],
                                 "amount_minor": -bill["amount_minor"],
                                 "bill_id": bill["record_id"]})["record"]
    assert paid["related_id"] == bill["record_id"]
    before = _balance(box, checking)
    later = box.call("bank_pay", {"account_id": checking, "payee": "Food bank",
                                  "amount_minor": 5_000, "date": "2026-02-01"})
    assert later["table"] == "bank_recurring"
    assert (later["record"]["next_due"], later["record"]["autopay"]) == ("2026-02-01", True)
    assert _balance(box, checking) == before  # nothing leaves the account yet
    stopped = box.call("bank_cancel", {"id": later["record"]["record_id"]})["record"]
    assert stopped["autopay"] is False
    _refused(box, "bank_cancel", {"id": later["record"]["record_id"]}, "conflict")


def test_bank_refusals_change_nothing(box):
    checking, card = _account(box, "checking"), _account(box, "credit_card")
    pay = {"account_id": checking["record_id"], "payee": "Someone", "amount_minor": 100}
    income = next(r for r in _rows(box, "bank_recurring") if r["amount_minor"] > 0)
    for args, code in [
        ({**pay, "account_id": "ba_nope"}, "not_found"),
        ({**pay, "amount_minor": 0}, "bad_arguments"),
        ({**pay, "amount_minor": -5}, "bad_arguments"),
        ({**pay, "amount_minor": 1.5}, "bad_arguments"),
        ({**pay, "amount_minor": "100"}, "bad_arguments"),
        ({**pay, "amount_minor": 10**15}, "bad_arguments"),
        ({**pay, "currency": "EUR" if checking["currency"] != "EUR" else "USD"},
         "currency_mismatch"),
        ({**pay, "account_id": card["record_id"]}, "bad_arguments"),
        ({**pay, "amount_minor": _balance(box, checking["record_id"]) + 1}, "insufficient_funds"),
        ({**pay, "date": "2026-01-16"}, "bad_arguments"),
        ({**pay, "date": "2027-06-01"}, "bad_arguments"),
        ({**pay, "date": "soon"}, "bad_arguments"),
        ({**pay, "bill_id": income["record_id"]}, "conflict"),
        ({**pay, "bill_id": "br_nope"}, "not_found"),
        ({**pay, "payee": ""}, "bad_arguments"),
    ]:
        _refused(box, "bank_pay", args, code)
    _refused(box, "bank_cancel", {"id": income["record_id"]}, "conflict")
    by_hand = _one(box, "bank_recurring", autopay=False)
    _refused(box, "bank_cancel", {"id": by_hand["record_id"]}, "conflict")


def test_the_whole_balance_can_be_spent_but_not_a_unit_more(box):
    checking = _account(box, "checking")["record_id"]
    everything = _balance(box, checking)
    box.call("bank_pay", {"account_id": checking, "payee": "Savings", "amount_minor": everything,
                          "category": "transfer"})
    assert _balance(box, checking) == 0
    _refused(box, "bank_pay", {"account_id": checking, "payee": "x", "amount_minor": 1},
             "insufficient_funds")
    product = _one(box, "shop_products")
    _refused(box, "shopping_pay", {"product_id": product["record_id"], "account_id": checking},
             "insufficient_funds")


# -- shopping -------------------------------------------------------------------------------


def test_buying_places_an_order_at_the_current_price_and_charges_the_card(box):
    product = _one(box, "shop_products")
    card = _account(box, "credit_card")["record_id"]
    before = _balance(box, card)
    made = box.call("shopping_pay", {"product_id": product["record_id"], "quantity": 3})
    order, charge = made["record"], made["charge"]
    assert (order["status"], order["quantity"]) == ("placed", 3)
    assert order["total_minor"] == 3 * product["price_minor"]
    assert order["items"] == f"3 x {product['title']}"
    assert order["currency"] == product["currency"]
    assert (charge["account_id"], charge["related_id"]) == (card, order["record_id"])
    assert charge["amount_minor"] == -order["total_minor"]
    assert charge["description"] == f"ONLINE {product['merchant']}"
    assert charge["category"] == "shopping"
    assert _balance(box, card) == before - order["total_minor"]
    cancelled = box.call("shopping_cancel", {"id": order["record_id"]})
    assert cancelled["record"]["status"] == "cancelled"
    [back] = cancelled["refunds"]
    assert (back["amount_minor"], back["related_id"], back["category"]) == (
        order["total_minor"], order["record_id"], "refund")
    assert _balance(box, card) == before
    _refused(box, "shopping_cancel", {"id": order["record_id"]}, "conflict")
    _refused(box, "shopping_update", {"id": order["record_id"], "status": "returned"},
             "conflict")


def test_orders_cancel_before_shipping_and_return_after_delivery(box):
    shipped = _one(box, "shop_orders", status="shipped")
    _refused(box, "shopping_cancel", {"id": shipped["record_id"]}, "conflict")
    _refused(box, "shopping_update", {"id": shipped["record_id"], "status": "returned"},
             "conflict")
    delivered = _one(box, "shop_orders", status="delivered")
    _refused(box, "shopping_update", {"id": delivered["record_id"], "status": "cancelled"},
             "bad_arguments")
    charges = len(_rows(box, "bank_transactions"))
    back = box.call("shopping_update", {"id": delivered["record_id"], "status": "returned"})
    assert back["record"]["status"] == "returned"
    assert len(_rows(box, "bank_transactions")) == charges  # the shop refunds later
    _refused(box, "shopping_update", {"id": delivered["record_id"], "status": "returned"},
             "conflict")
    for args, code in [({"product_id": "pr_nope"}, "not_found"),
                       ({"product_id": _one(box, "shop_products")["record_id"], "quantity": 0},
                        "bad_arguments"),
                       ({"product_id": _one(box, "shop_products")["record_id"],
                         "account_id": "ba_nope"}, "not_found"),
                       ({"product_id": _one(box, "shop_products")["record_id"],
                         "currency": "XXX"}, "currency_mismatch")]:
        _refused(box, "shopping_pay", args, code)
    _refused(box, "shopping_cancel", {"id": "or_nope"}, "not_found")


# -- subscriptions, price watches, deliveries -----------------------------------------------


def test_subscriptions_switch_plans_and_cancel_once(box):
    sub = _one(box, "subscriptions", status="active")
    _refused(box, "subscriptions_update", {"id": sub["record_id"], "plan": sub["plan"],
                                           "price_minor": sub["price_minor"]}, "conflict")
    switched = box.call("subscriptions_update", {"id": sub["record_id"], "plan": "Basic",
                                                 "price_minor": 499})["record"]
    assert (switched["plan"], switched["price_minor"], switched["status"]) == (
        "Basic", 499, "active")
    assert box.call("subscriptions_cancel", {"id": sub["record_id"]})["record"]["status"] == \
        "cancelled"
    _refused(box, "subscriptions_cancel", {"id": sub["record_id"]}, "conflict")
    _refused(box, "subscriptions_update", {"id": sub["record_id"], "plan": "Premium",
                                           "price_minor": 999}, "conflict")
    _refused(box, "subscriptions_cancel", {"id": "sb_nope"}, "not_found")


def test_price_watches_are_created_once_retargeted_and_deleted(box):
    watched = {r["product_id"] for r in _rows(box, "price_watches")}
    product = next(r for r in _rows(box, "shop_products") if r["record_id"] not in watched)
    made = box.call("price_tracker_create", {"product_id": product["record_id"],
                                             "target_price_minor": 1_000})["record"]
    assert (made["product_title"], made["currency"], made["created_at"]) == (
        product["title"], product["currency"], AS_OF.isoformat())
    _refused(box, "price_tracker_create", {"product_id": product["record_id"],
                                           "target_price_minor": 900}, "conflict")
    _refused(box, "price_tracker_create", {"product_id": "pr_nope",
                                           "target_price_minor": 900}, "not_found")
    moved = box.call("price_tracker_update", {"id": made["record_id"],
                                              "target_price_minor": 900})["record"]
    assert moved["target_price_minor"] == 900
    box.call("price_tracker_delete", {"id": made["record_id"]})
    assert box.workspace.get("price_watches", made["record_id"]) is None
    _refused(box, "price_tracker_delete", {"id": made["record_id"]}, "not_found")


def test_a_parcel_on_its_way_can_be_moved_or_held_but_not_once_delivered(box):
    parcel = next(r for r in _rows(box, "shipments")
                  if r["status"] in ("label_created", "in_transit"))
    later = parcel["estimated_delivery"] + dt.timedelta(days=3)
    moved = box.call("deliveries_update", {"id": parcel["record_id"],
                                           "deliver_on": later.isoformat()})["record"]
    assert moved["estimated_delivery"] == later.isoformat()
    assert moved["status"] == parcel["status"]
    assert f"rescheduled to {later.isoformat()} at the recipient's request" in \
        moved["status_detail"]
    held = box.call("deliveries_update", {"id": parcel["record_id"],
                                          "hold_at": "Kiosk 4, MG Road"})["record"]
    assert "held for collection at Kiosk 4, MG Road" in held["status_detail"]
    assert held["updated_at"] == AS_OF.isoformat()
    for args, code in [({"id": parcel["record_id"]}, "bad_arguments"),
                       ({"id": parcel["record_id"], "deliver_on": "2026-01-17"},
                        "bad_arguments"),
                       ({"id": parcel["record_id"], "deliver_on": "2026-06-01"},
                        "bad_arguments"),
                       ({"id": _one(box, "shipments", status="delivered")["record_id"],
                         "hold_at": "Kiosk"}, "conflict"),
                       ({"id": "sh_nope", "hold_at": "Kiosk"}, "not_found")]:
        _refused(box, "deliveries_update", args, code)


# -- travel ---------------------------------------------------------------------------------


FLIGHT = {"booking_type": "flight", "provider": "Skyway", "total_minor": 800_000,
          "origin": "Bengaluru", "destination": "Mumbai", "flight_number": "412",
          "depart_at": "2026-01-24T08:00:00+05:30", "arrive_at": "2026-01-24T09:45:00+05:30"}
HOTEL = {"booking_type": "hotel", "provider": "Harbour Hotel Mumbai", "total_minor": 900_000,
         "destination": "Mumbai", "check_in": "2026-01-24", "check_out": "2026-01-26"}


def test_trips_are_booked_charged_and_cancelled_with_a_refund(box):
    card = _account(box, "credit_card")["record_id"]
    before = _balance(box, card)
    flight = box.call("travel_book", FLIGHT)
    row = flight["record"]
    assert (row["status"], row["depart_at"]) == ("confirmed", "2026-01-24T02:30:00+00:00")
    assert row["details"] == "Skyway flight 412 from Bengaluru to Mumbai"
    assert len(row["confirmation_code"]) == 6
    assert (flight["charge"]["description"], flight["charge"]["related_id"]) == (
        "AIR Skyway", row["record_id"])
    stay = box.call("travel_book", HOTEL)["record"]
    assert (stay["check_in"], stay["details"], stay["origin"]) == (
        "2026-01-24", "Harbour Hotel Mumbai, 2 nights", "")
    assert _balance(box, card) == before - 1_700_000
    gone = box.call("travel_cancel", {"id": row["record_id"]})
    assert gone["record"]["status"] == "cancelled"
    assert gone["refunds"][0]["amount_minor"] == 800_000
    assert _balance(box, card) == before - 900_000
    _refused(box, "travel_cancel", {"id": row["record_id"]}, "conflict")


def test_booking_refusals_change_nothing(box):
    for args, code in [
        ({**FLIGHT, "depart_at": "2026-01-10T08:00:00+00:00"}, "bad_arguments"),
        ({**FLIGHT, "arrive_at": FLIGHT["depart_at"]}, "bad_arguments"),
        ({**FLIGHT, "depart_at": "2026-01-24T08:00:00"}, "bad_arguments"),
        ({**FLIGHT, "depart_at": "0001-01-01T00:00:00+01:00"}, "bad_arguments"),
        ({**FLIGHT, "check_in": "2026-01-24"}, "bad_arguments"),
        ({k: v for k, v in FLIGHT.items() if k != "origin"}, "bad_arguments"),
        ({**HOTEL, "check_out": HOTEL["check_in"]}, "bad_arguments"),
        ({**HOTEL, "check_in": "2026-01-01"}, "bad_arguments"),
        ({**HOTEL, "depart_at": FLIGHT["depart_at"]}, "bad_arguments"),
        ({**HOTEL, "booking_type": "train"}, "bad_arguments"),
        ({**HOTEL, "total_minor": 0}, "bad_arguments"),
        ({**HOTEL, "account_id": "ba_nope"}, "not_found"),
    ]:
        _refused(box, "travel_book", args, code)
    _refused(box, "travel_cancel", {"id": "tb_nope"}, "not_found")


def test_a_trip_under_way_cannot_be_cancelled():
    flight = next(r for r in _box().workspace.rows("travel_bookings")
                  if r["booking_type"] == "flight" and r["status"] == "confirmed")
    later = _box(flight["depart_at"] + dt.timedelta(hours=1))
    _refused(later, "travel_cancel", {"id": flight["record_id"]}, "conflict")
