"""check_world: the invariants every generated world must satisfy, as a public checker.

Returns a list of problems (empty when the world is sound) rather than raising, so a user's
CI can print all of them at once. Our own tests call exactly this function.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from sim.services import TABLES
from sim.services.bank import FROM_SAVINGS, TO_SAVINGS

_INSTANT_COLUMNS_INSIDE = ("valid_from", "valid_to", "sent_at", "posted_at", "observed_at",
                           "alerted_at", "occurred_at", "updated_at", "placed_at", "added_at",
                           "started_at", "created_at", "completed_at")


def check_world(history: Mapping[str, pa.Table], events: pa.Table, *,
                start: dt.datetime, end: dt.datetime) -> list[str]:
    """Problems found in a world's history tables and event log (``[]`` if none).

    ``start``/``end`` bound the window as aware UTC instants.
    """
    problems: list[str] = []
    problems += _instants(history, events, start, end)
    problems += _causes_precede_effects(events)
    problems += _references_resolve(history)
    problems += _replies_follow_originals(history)
    problems += _calendar_events_end_after_start(history)
    problems += _versions_are_contiguous(history)
    problems += _records_agree(history)
    return problems


def _instants(history, events, start, end) -> list[str]:
    out = []
    tables = dict(history) | {"oracle/events": events}
    for name, table in tables.items():
        for field in table.schema:
            if not pa.types.is_timestamp(field.type):
                continue
            if field.type.tz != "UTC":
                out.append(f"{name}.{field.name}: timestamps are not UTC-aware")
                continue
            if field.name not in (*_INSTANT_COLUMNS_INSIDE, "ts"):
                continue  # future-dated facts (a meeting next month) may lie outside
            col = table[field.name].drop_null()
            if len(col) and (pc.min(col).as_py() < start or pc.max(col).as_py() > end):
                out.append(f"{name}.{field.name}: instants outside the window")
    return out


def _causes_precede_effects(events: pa.Table) -> list[str]:
    if not events.num_rows:
        return []
    ids = events["event_id"].to_numpy(zero_copy_only=False)
    ts = events["ts"].cast(pa.int64()).to_numpy()
    cause = events["cause_event_id"].to_numpy(zero_copy_only=False)
    has = np.flatnonzero(cause != None)  # noqa: E711
    lookup = dict(zip(ids.tolist(), ts.tolist(), strict=True))
    missing = [c for c in cause[has] if c not in lookup]
    out = []
    if missing:
        out.append(f"oracle/events.cause_event_id: {len(missing)} causes not in the log")
    known = [i for i in has if cause[i] in lookup]
    late = [i for i in known if lookup[cause[i]] >= ts[i]]
    if late:
        out.append(f"oracle/events: {len(late)} events do not come after their cause "
                   f"(e.g. {ids[late[0]]})")
    return out


def _references_resolve(history) -> list[str]:
    ids_by_table = {n: set(t["record_id"].to_pylist()) for n, t in history.items()}
    every = set().union(*ids_by_table.values()) if ids_by_table else set()
    out = []
    for name, table in history.items():
        for col, target in TABLES[name].references.items():
            values = set(table[col].drop_null().to_pylist())
            pool = every if target == "*" else ids_by_table.get(target, set())
            dangling = values - pool
            if dangling:
                out.append(f"{name}.{col}: {len(dangling)} ids resolve to no record "
                           f"in {target} (e.g. {sorted(dangling)[0]})")
    return out


def _replies_follow_originals(history) -> list[str]:
    out = []
    for name, col, when in (("personal_emails", "in_reply_to", "sent_at"),
                            ("work_emails", "in_reply_to", "sent_at"),
                            ("chat_messages", "reply_to", "sent_at")):
        table = history.get(name)
        if table is None or not table.num_rows:
            continue
        first, early = {}, 0
        for rid, t in zip(table["record_id"].to_pylist(), table[when].to_pylist(), strict=True):
            first.setdefault(rid, t)
        for parent, t in zip(table[col].to_pylist(),
                                  table[when].to_pylist(), strict=True):
            if parent is not None and parent in first and not first[parent] < t:
                early += 1
        if early:
            out.append(f"{name}: {early} replies are not later than what they answer")
    return out


def _calendar_events_end_after_start(history) -> list[str]:
    table = history.get("calendar_events")
    if table is None or not table.num_rows:
        return []
    timed = table.filter(pc.invert(table["all_day"]))
    bad = pc.sum(pc.cast(pc.less_equal(timed["end"], timed["start"]), pa.int64())).as_py() or 0
    days = table.filter(table["all_day"])
    bad += pc.sum(pc.cast(pc.less_equal(days["end_date"], days["start_date"]),
                          pa.int64())).as_py() or 0
    return [f"calendar_events: {bad} events do not end after they start"] if bad else []


def _versions_are_contiguous(history) -> list[str]:
    out = []
    for name, table in history.items():
        if not table.num_rows:
            continue
        rows = sorted(zip(table["record_id"].to_pylist(), table["version"].to_pylist(),
                          table["valid_from"].to_pylist(), table["valid_to"].to_pylist(),
                          strict=True))
        for a, b in itertools.pairwise(rows):
            if a[0] == b[0] and (b[1] != a[1] + 1 or a[3] != b[2]):
                out.append(f"{name}: versions of {a[0]} do not chain")
                break
    return out


def _frame(history, name: str) -> pl.DataFrame | None:
    table = history.get(name)
    return pl.from_arrow(table) if table is not None and table.num_rows else None


def _records_agree(history) -> list[str]:
    """Facts shown in several records agree (DESIGN.md contract 3)."""
    out = []
    for name in history:
        col = TABLES[name].created_column  # when a record says it appeared
        df = _frame(history, name) if col else None
        if df is None:
            continue
        bad = df.filter((pl.col("version") == 1) & (pl.col(col) != pl.col("valid_from")))
        if bad.height:
            out.append(f"{name}: {bad.height} records whose {col} is not when they appeared")
    out += _nothing_after_cancellation(history)
    out += _orders_charge_the_listed_price(history)
    out += _numbers_match_contact_cards(history)
    out += _balances_add_up(history)
    return out


def _balances_add_up(history) -> list[str]:
    """Each transaction's balance is the previous balance plus its amount; each account
    version shows the balance after the transactions posted by then."""
    txns, accounts = _frame(history, "bank_transactions"), _frame(history, "bank_accounts")
    if txns is None or accounts is None:
        return []
    out = []
    opening = accounts.filter(pl.col("version") == 1).select(
        pl.col("record_id").alias("account_id"), pl.col("balance_minor").alias("opening"))
    # Transactions posted at the same instant (a batch of bills) count in table order,
    # which is the order the bank posted them in (``rebalance`` reads it the same way).
    chained = (txns.with_row_index("_order")
               .join(opening, on="account_id", maintain_order="left")
               .with_columns((pl.col("opening") + pl.col("amount_minor").cum_sum()
                              .over("account_id", order_by=["posted_at", "_order"]))
                             .alias("running")))
    bad = chained.filter(pl.col("running") != pl.col("balance_after_minor"))
    if bad.height:
        out.append(f"bank_transactions: {bad.height} balances do not add up")
    cards = accounts.filter(pl.col("account_type") == "credit_card")["record_id"].unique()
    payoffs = txns.filter(pl.col("account_id").is_in(cards.implode())
                          & (pl.col("category") == "transfer")
                          & (pl.col("balance_after_minor") != 0))
    if payoffs.height:
        out.append(f"bank_transactions: {payoffs.height} card payoffs leave a balance")
    # Checking is never overdrawn but while money is away on savings (a storyline's hold).
    checking = accounts.filter(pl.col("account_type") == "checking")["record_id"].unique()
    away = (pl.when(pl.col("description") == TO_SAVINGS).then(1)
            .when(pl.col("description") == FROM_SAVINGS).then(-1).otherwise(0)
            .cum_sum().over("account_id", order_by=["posted_at", "_order"]))
    overdrawn = (txns.with_row_index("_order")
                 .filter(pl.col("account_id").is_in(checking.implode()))
                 .filter((away == 0) & (pl.col("balance_after_minor") < 0)))
    if overdrawn.height:
        out.append(f"bank_transactions: checking overdrawn {overdrawn.height} times")
    return out


def _nothing_after_cancellation(history) -> list[str]:
    events = _frame(history, "calendar_events")
    if events is None:
        return []
    cancelled = events.filter(pl.col("status") == "cancelled").select(
        pl.col("record_id").alias("related_id"), pl.col("valid_from").alias("cancelled_at"))
    out = []
    for name in ("work_emails", "personal_emails", "notes", "todos"):
        df = _frame(history, name)
        if df is None or not cancelled.height:
            continue
        late = df.join(cancelled, on="related_id").filter(
            pl.col("valid_from") > pl.col("cancelled_at"))
        if late.height:
            out.append(f"{name}: {late.height} records follow up a meeting after it was "
                       "cancelled")
    return out


def _orders_charge_the_listed_price(history) -> list[str]:
    orders, products = _frame(history, "shop_orders"), _frame(history, "shop_products")
    if orders is None or products is None:
        return []
    placed = orders.filter(pl.col("version") == 1).sort("placed_at")
    prices = products.select(pl.col("record_id").alias("product_id"), "valid_from",
                             "price_minor").sort("valid_from")
    joined = placed.join_asof(prices, left_on="placed_at", right_on="valid_from",
                              by="product_id", strategy="backward", check_sortedness=False)
    bad = joined.filter(pl.col("total_minor") != pl.col("quantity") * pl.col("price_minor"))
    out = [f"shop_orders: {bad.height} totals differ from the listed price"] if bad.height else []
    charges = _frame(history, "bank_transactions")
    if charges is not None:
        paid = charges.join(placed.select(pl.col("record_id").alias("related_id"),
                                          "total_minor"), on="related_id")
        # Charges (debits) match the total; refunds may be partial.
        wrong = paid.filter((pl.col("amount_minor") < 0)
                            & (pl.col("amount_minor") != -pl.col("total_minor")))
        if wrong.height:
            out.append(f"bank_transactions: {wrong.height} order charges differ from the total")
    return out


def _numbers_match_contact_cards(history) -> list[str]:
    cards = _frame(history, "contacts")
    if cards is None:
        return []
    unique = cards.group_by("full_name", maintain_order=True).agg(
        pl.col("record_id").n_unique().alias("n")).filter(pl.col("n") == 1)["full_name"]
    book = (cards.filter(pl.col("full_name").is_in(unique.implode()))
            .select(pl.col("full_name").alias("contact_name"), "valid_from",
                    pl.col("phone_number").alias("card_number")).sort("valid_from"))
    out = []
    for name, when in (("sms_messages", "sent_at"), ("call_log", "started_at")):
        df = _frame(history, name)
        if df is None:
            continue
        joined = df.sort(when).join_asof(book, left_on=when, right_on="valid_from",
                                         by="contact_name", strategy="backward",
                                         check_sortedness=False)
        bad = joined.filter(pl.col("card_number").is_not_null()
                            & (pl.col("card_number") != pl.col("phone_number")))
        if bad.height:
            out.append(f"{name}: {bad.height} numbers differ from the contact card at the time")
    return out
