"""Money: salary, rent and bills, card spending, subscriptions, and the bank statements.

Nothing here writes bank rows itself: charges go to the :class:`Ledger`
(``personas.routines.ledger``), which posts everything due in time order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from personas.life import OPENING, Life
from personas.pools import pick
from personas.routines.ledger import Ledger
from personas.routines.messaging import emit_org_sms
from personas.routines.notify import after, org_mail
from personas.routines.parties import inside
from sim.clock import DAY, HOUR, MINUTE
from sim.services.bank import IN_PERSON, ONLINE

# How often each kind of shop sees the card (groceries and food dominate real statements).
_CATEGORY_WEIGHT = {"groceries": 0.35, "dining": 0.35, "transport": 0.15, "pharmacy": 0.04,
                    "shopping": 0.11}
# Of card purchases, the share paid online on a web shop's own site (not through the
# shopping app, so no order there), which a statement shows as "ONLINE <shop>" as it does
# the app's orders. Without them nearly every ONLINE line was an order, and a boosted
# world's orders are few beside its card purchases: the ONLINE lines were mostly a
# storyline's, which their wording and length gave away.
ONLINE_SHARE = 0.3


def install(life: Life) -> None:
    ledger = Ledger(life)
    life.state["ledger"] = ledger
    if not life.world.has("bank"):
        return
    money = life.spec.money
    ids = life.world.ids.mint("records/bank_accounts", "ba_", 2)
    ledger.checking, ledger.card = ids
    rng = life.world.rng.stream("bank")
    ledger.balances = {ids[0]: int(money.opening_balance_minor * life.person.budget_factor),
                       ids[1]: -int(rng.integers(5, 60) * money.typical_purchase_minor)}
    ledger.names = {ids[0]: f"{life.pools.bank} Everyday",
                    ids[1]: f"{life.pools.bank} Rewards Card"}
    ledger.types = {ids[0]: "checking", ids[1]: "credit_card"}
    ledger.masks = {a: f"•••• {int(rng.integers(1000, 9999))}" for a in ids}
    ledger.opening = dict(ledger.balances)
    life.world.emit(
        "bank_accounts", "balance_updated", np.full(2, OPENING),
        {"name": [ledger.names[a] for a in ids], "account_type": [ledger.types[a] for a in ids],
         "masked_number": [ledger.masks[a] for a in ids], "currency": money.currency,
         "balance_minor": [ledger.balances[a] for a in ids]},
        record_ids=ids, actor=None,
    )
    life.state["bills"] = _bills(life)
    # The recurring list is drawn when the clock starts, not now: storylines are planted in
    # between and may take one of the bills over for a while (``scenarios.picks``), and
    # routine life leaves that bill alone meanwhile. Started before the periods, it runs
    # before the first of them posts anything.
    life.world.process(_at_start(_recurring, life, ledger))
    life.world.every(partial(_period, life, ledger))

    def final_posting():
        yield life.world.env.timeout(life.world.clock.end_seconds - life.world.now)
        ledger.post(life.world.clock.end_seconds + DAY)
        _statements(life, ledger, range(life.state.get("statements_from", 0), life.world.days))
        if life.world.has("sms"):
            ledger.send_alerts()
        _send_receipts(life, ledger)

    life.world.process(final_posting())


def _month_days(life: Life, day_of_month: int) -> np.ndarray:
    start = life.world.clock.start
    out = []
    for d in range(life.world.days):
        if (start + dt.timedelta(days=d)).day == day_of_month:
            out.append(d)
    return np.array(out, dtype=np.int64)


def _cadence_days(life: Life, cadence: str, rng) -> np.ndarray:
    if cadence == "monthly":
        return _month_days(life, 25)
    step = {"weekly": 7, "biweekly": 14}[cadence]
    return np.arange(int(rng.integers(0, step)), life.world.days, step)


@dataclass(frozen=True)
class Bill:
    """One of the persona's bills as this world has it: what routine life pays each month
    and what a storyline may pick (``scenarios.picks``)."""

    payee: str
    called: str  # what the user calls it ("water bill")
    amount: int  # minor units, at this person's budget
    day_of_month: int
    autopay: bool
    record_id: str  # its entry in the bank's recurring list
    account: str  # the user's account number with the biller


def _bills(life: Life) -> list[Bill]:
    """The persona's bills, with their bank entries' ids and account numbers drawn."""
    bills = life.spec.money.bills
    rng = life.world.rng.stream("bank/bills")
    ids = life.world.ids.mint("records/bank_recurring/bills", "br_", len(bills)) if bills else []
    return [Bill(b.payee, b.called, int(b.amount_minor * life.person.budget_factor),
                 b.day_of_month, b.autopay, ids[i], str(int(rng.integers(100000, 1000000))))
            for i, b in enumerate(bills)]


def _at_start(body, *args) -> Generator:
    """A process that calls ``body(*args)`` once, at the instant the clock starts."""
    body(*args)
    yield from ()


def _recurring(life: Life, ledger: Ledger) -> None:
    """Salary, pension, rent and bills as the bank's recurring list, posted when due.

    A bill a storyline holds (``life.state["lock_windows"]``, key ``("bill", index)``: one
    billing cycle, ``scenarios.picks``) is the story's: payments due in that window do not
    happen, nor do the biller's messages about them, and the entry's next routine version
    waits for the window's end.
    """
    money, rng = life.spec.money, life.world.rng.stream("bank/recurring")
    scale = life.person.budget_factor
    payees = [("Rent", -int(money.rent_minor * scale), 1, False, "housing", None, None)
              ] if money.rent_minor else []
    payees += [(b.payee, -b.amount, b.day_of_month, b.autopay, "bills", ("bill", i),
                b.record_id) for i, b in enumerate(life.state["bills"])]
    bills: list[tuple] = []
    for payee, amount, dom, autopay, category, key, rid in payees:
        days = _month_days(life, dom)
        if not len(days):
            continue
        ts = life.world.clock.local_to_sim(days * DAY + 6 * HOUR)
        if not autopay:  # paid by hand, a little late sometimes, during waking hours
            ts = life.at_hours(days + rng.integers(0, 3, len(days)), rng)
        windows = life.state.get("lock_windows", {}).get(key, ())
        mine = ~inside(ts, windows)
        ledger.add(ts[mine], np.full(int(mine.sum()), amount), description=f"{payee} payment",
                   merchant=payee, category=category, kind="bill_paid")
        _recurring_row(life, rng, payee, amount, "monthly", days, autopay, ts,
                       record_id=rid, windows=windows)
        if category == "bills":  # a third of billers text (a story's does), most mail
            texts = rng.random() < 0.35 or bool(windows)
            bills.append((payee, -amount, ts[mine], days[mine], autopay, texts,
                          rng.random() < 0.7, life.state["bills"][key[1]].account))
    income = [("Salary " + life.person.employer, money.salary_minor, money.salary_cadence)]
    if money.pension_minor:
        income.append(("Pension payment", money.pension_minor, "monthly"))
    for payee, amount, cadence in income:
        if cadence == "none" or amount == 0:
            continue
        days = _cadence_days(life, cadence, rng)
        amount = int(amount * scale)
        ts = life.world.clock.local_to_sim(days * DAY + 5 * HOUR)
        ledger.add(ts, np.full(len(ts), amount), description=payee.upper(), merchant=payee,
                   category="income", kind="salary_deposited")
        _recurring_row(life, rng, payee, amount, cadence, days, True, ts)
    _standing_order(life, ledger, rng)
    _biller_messages(life, rng, bills)


# When billers' and banks' systems send their texts.
_DAYTIME = np.array([0] * 8 + [1.0] * 10 + [0.5] * 3 + [0] * 3)


def _biller_messages(life: Life, rng, bills: list[tuple]) -> None:
    """Billers text and mail about each bill: ahead of the payment (the bill is ready, the
    AutoPay debit is scheduled) and after it (received). ``bills``: (payee, amount, paid
    instants, due days, autopay, texts?, mails?, account number) per payee."""
    if not bills:
        return
    end = life.world.clock.end_seconds
    reps = [len(b[3]) for b in bills]
    payee = np.repeat(np.array([b[0] for b in bills], dtype=object), reps)
    amount = life.money(np.repeat([b[1] for b in bills], reps))
    paid = np.concatenate([b[2] for b in bills])
    days = np.concatenate([b[3] for b in bills])
    autopay = np.repeat([b[4] for b in bills], reps)
    texts, mails = np.repeat([b[5] for b in bills], reps), np.repeat([b[6] for b in bills], reps)
    insurer = np.array(["insurance" in p.lower() for p in payee])
    account = np.repeat(np.array([f"•••{b[7][-4:]}" for b in bills], dtype=object), reps)
    k = len(paid)
    date = life.dates(paid, weekday=True)
    if life.world.has("sms") and texts.any():
        ahead = life.at_hours(days - rng.integers(2, 8, k), rng, profile=_DAYTIME)
        received = paid + rng.integers(2 * HOUR, 30 * HOUR, k)
        ts = np.r_[ahead, received]
        template = np.r_[np.where(autopay, 1, 2), np.where(autopay, 0, 3)]
        ok = np.r_[texts, texts] & (ts > 0) & (ts < end) & (rng.random(2 * k) < 0.8)
        if ok.any():
            pool = life.grammar.intent("sms_bill").sentences
            both = {"payee": np.r_[payee, payee], "amount": np.r_[amount, amount],
                    "date": np.r_[date, date]}
            text = life.grammar.sentences(
                "sms_bill", rng, {key: v[ok] for key, v in both.items()}, int(ok.sum()),
                variants=pool.variant_of(rng, template[ok]))
            order = np.argsort(ts[ok], kind="stable")
            emit_org_sms(life, ts[ok][order], np.r_[payee, payee][ok][order],
                         text.take(order))
    slots = {"payee": payee, "amount": amount, "date": date, "account": account}
    ready = life.at_hours(days - rng.integers(6, 12, k), rng, profile=_DAYTIME)
    received = paid + rng.integers(3 * HOUR, 30 * HOUR, k)
    for intent, ts in (("bill_ready", ready), ("bill_paid", received)):
        ok = mails & (ts > 0) & (ts < end)
        if not ok.any():
            continue
        # Only an insurer writes about a policy renewal.
        subject = rng.choice(_NOT_INSURANCE, k) if intent == "bill_ready" else None
        if subject is not None:
            subject = np.where(insurer & (rng.random(k) < 0.5), _RENEWAL, subject)[ok]
        org_mail(life, rng, ts[ok], org=payee[ok], intent=intent,
                 slots={key: v[ok] for key, v in slots.items()}, subject_templates=subject)


# Subjects of ``bill_ready``: the policy renewal is an insurer's; the rest fit any biller.
_RENEWAL = 4
_NOT_INSURANCE = np.array([0, 1, 2, 3, 5, 6, 7, 8, 9])


def _recurring_row(life, rng, payee, amount, cadence, days, autopay, paid, *,
                   since: int = OPENING, actor: str | None = None,
                   record_id: str | None = None,
                   windows: Sequence[tuple[int, int]] = ()) -> None:
    """One recurring entry, with a new version (the next due date, the first past the
    window after the last payment) once each occurrence has been paid. ``since``: when it
    was set up (before the window by default). A later version that would fall inside one
    of ``windows`` (a storyline holds the bill and writes the entry's versions itself)
    waits for the window's end; of versions that then share an instant, the last (the
    latest due date) stands."""
    if not len(days):
        return
    due = np.r_[days, _following(life, cadence, int(days[-1]))]
    settled = paid + rng.integers(30 * MINUTE, 8 * HOUR, len(days))  # once cleared
    for lo, hi in windows:
        settled = np.where((settled >= lo) & (settled < hi), hi, settled)
    created = np.r_[since, settled]
    last = np.r_[created[1:] != created[:-1], True] & (created < life.world.clock.end_seconds)
    due, created = due[last], created[last]
    rid = record_id or life.world.ids.one("records/bank_recurring", "br_")
    next_due = life.local_days(life.world.clock.local_to_sim(due * DAY + 12 * HOUR))
    life.world.emit(
        "bank_recurring", "recurring_scheduled", created,
        recurring_columns(life, payee, amount, cadence, next_due, autopay),
        record_ids=[rid] * len(due), actor=[actor] + [None] * (len(due) - 1),
    )


def recurring_columns(life: Life, payee: str, amount: int, cadence: str, next_due,
                      autopay: bool) -> dict:
    """The columns of an entry in the bank's recurring list (``next_due``: days since
    1970-01-01, one or an array of them)."""
    return {"account_id": life.state["ledger"].checking, "payee": payee,
            "amount_minor": amount, "currency": life.spec.money.currency,
            "cadence": cadence, "next_due": next_due, "autopay": autopay}


def _following(life: Life, cadence: str, day: int) -> int:
    """The day index of the occurrence after the one on day ``day``."""
    if cadence != "monthly":
        return day + {"weekly": 7, "biweekly": 14}[cadence]
    date = life.world.clock.start + dt.timedelta(days=day)
    return (next_day_of_month(date.day, date + dt.timedelta(days=1))
            - life.world.clock.start).days


def next_day_of_month(day: int, start: dt.date) -> dt.date:
    """The first date on or after ``start`` that falls on day ``day`` of its month (1-28)."""
    month = start.replace(day=day)
    if month >= start:
        return month
    return (start.replace(day=1) + dt.timedelta(days=32)).replace(day=day)


# Standing payments people set up themselves (fictional payees).
_STANDING = ("Savings transfer", "Food bank donation", "Animal shelter donation")


def _standing_order(life: Life, ledger: Ledger, rng) -> None:
    """Now and then the user sets up a monthly payment of their own during the window."""
    if rng.random() >= 0.6:
        return
    days = life.world.days
    since = int(life.at_hours(np.array([int(rng.integers(2, max(3, days // 2)))]), rng)[0])
    payee = _STANDING[int(rng.integers(len(_STANDING)))]
    dom = int(rng.integers(1, 29))
    first = int(life.world.clock.local_day(np.array([since]))[0])
    due = _month_days(life, dom)
    due = due[due > first + 1]
    if not len(due):
        return
    typical = life.spec.money.typical_purchase_minor * life.person.budget_factor
    amount = -int(typical * rng.uniform(1.0, 4.0)) // 100 * 100
    paid = life.world.clock.local_to_sim(due * DAY + 6 * HOUR)
    ledger.add(paid, np.full(len(paid), amount), description=payee.upper(), merchant=payee,
               category="transfer" if payee.startswith("Savings") else "donations",
               kind="transfer_made")
    _recurring_row(life, rng, payee, amount, "monthly", due, True, paid, since=since,
                   actor="user")


def _period(life: Life, ledger: Ledger, *, days: range) -> None:
    ledger.post(life.world.clock.at_local(days.start, 0))
    # Statements for the period just posted, quoting the balance on their own date.
    _statements(life, ledger, range(life.state.get("statements_from", 0), days.start))
    life.state["statements_from"] = days.start
    rng = life.world.rng.stream("bank/card")
    item_days = life.item_days("card_purchases", days, rng)
    n = len(item_days)
    if n:
        pools = life.pools
        weight = np.vectorize(_CATEGORY_WEIGHT.get)(pools.merchant_category)
        shop = rng.choice(len(pools.merchants), n, p=weight / weight.sum())
        typical = life.spec.money.typical_purchase_minor * life.person.budget_factor
        amount = -np.maximum(100, rng.lognormal(np.log(typical), 0.6, n)).astype(np.int64)
        ts = life.at_hours(item_days, rng)
        on_card = rng.random(n) < 0.6
        # Drawn from a stream of their own, so the in-person purchases keep their draws.
        web = life.world.rng.stream("bank/online")
        online = web.random(n) < ONLINE_SHARE
        merchant = np.where(online, pick(web, np.unique(pools.products.merchant), n),
                            pools.merchants[shop])
        ledger.add(ts, amount, description=np.char.add(
                       np.where(online, ONLINE, IN_PERSON),
                       merchant.astype(str)).astype(object),
                   merchant=merchant,
                   category=np.where(online, "shopping", pools.merchant_category[shop]),
                   kind="card_charged",
                   account=np.where(on_card, ledger.card, ledger.checking))
        # Some cafes and restaurants mail a receipt.
        mailed = (pools.merchant_category[shop] == "dining") & (rng.random(n) < 0.12)
        mailed &= ~online
        mailed &= ts < life.world.clock.end_seconds
        if mailed.any():
            ledger.receipts.append({"ts": after(rng, ts[mailed], 1, 30),
                                    "merchant": pools.merchants[shop][mailed],
                                    "amount": -amount[mailed], "paid": ts[mailed]})
    if days.start == 0:  # drawn for the whole window at once
        _rides(life, ledger, range(0, life.world.days))
    if days.start == 0:
        _subscriptions(life, ledger)
    # The card is paid off in full on the 15th, whatever it owes at that moment.
    for d in days:
        if life.world.clock.date(d).day == 15:
            ledger.pay_off_card(life.world.clock.at_local(d, 7))


# Taxi firms found in most cities (fictional).
_CABS = np.array(["MetroCab", "CityRide", "Yellow Line Taxi", "Orbit Cars", "QuickCab"],
                 dtype=object)


def _send_receipts(life: Life, ledger: Ledger) -> None:
    """The e-receipts cafes and restaurants mailed over the window (written in one go)."""
    if not ledger.receipts:
        return
    rng = life.world.rng.stream("bank/receipts")
    q = {k: np.concatenate([r[k] for r in ledger.receipts]) for k in ledger.receipts[0]}
    ledger.receipts = []
    org_mail(life, rng, q["ts"], org=q["merchant"], intent="receipt_mail",
             slots={"merchant": q["merchant"], "amount": life.money(q["amount"]),
                    "date": life.dates(q["paid"], weekday=True)}, greet=False)


def _rides(life: Life, ledger: Ledger, days: range) -> None:
    """Now and then a taxi: charged to the card, with the firm's texts around it."""
    rng = life.world.rng.stream("bank/rides")
    item_days = life.item_days("card_purchases", days, rng, scale=0.04)
    n = len(item_days)
    if n == 0:
        return
    cab = _CABS[rng.choice(len(_CABS), n, p=[0.3, 0.25, 0.2, 0.15, 0.1])]
    typical = life.spec.money.typical_purchase_minor * life.person.budget_factor
    fare = -(typical * rng.uniform(0.6, 2.0, n)).astype(np.int64)
    ts = life.at_hours(item_days, rng)
    ledger.add(ts, fare, description=np.char.add("CARD PURCHASE ", cab.astype(str)).astype(
        object), merchant=cab, category="transport", kind="card_charged",
        account=np.where(rng.random(n) < 0.7, ledger.card, ledger.checking))
    if not life.world.has("sms"):
        return
    hour = life.world.clock.local_hour(ts)
    trip = np.select([hour < 12, hour < 17], ["this morning's", "today's"], "tonight's")
    slots = {"cab": cab, "amount": life.money(-fare), "place": pick(rng, life.pools.places, n),
             "trip": trip.astype(object)}
    pool = life.grammar.intent("sms_ride").sentences
    # The driver is on the way (sometimes); the receipt after the ride (mostly).
    when = np.r_[ts - rng.integers(2, 9, n) * MINUTE, ts + rng.integers(1, 6, n) * MINUTE]
    template = np.r_[np.full(n, 1), np.full(n, 0)]
    on = (rng.random(2 * n) < np.r_[np.full(n, 0.4), np.full(n, 0.85)]) & (when > 0) & (
        when < life.world.clock.end_seconds)
    if on.any():
        k = int(on.sum())
        both = {key: np.r_[v, v][on] for key, v in slots.items()}
        text = life.grammar.sentences("sms_ride", rng, both, k,
                                      variants=pool.variant_of(rng, template[on]))
        emit_org_sms(life, when[on], np.r_[cab, cab][on], text)


def _subscriptions(life: Life, ledger: Ledger) -> None:
    """Plans renew monthly: a charge, a receipt and a new next-renewal date.

    Most plans were taken out before the window opens; now and then the user signs up for
    one during it (the first month is charged on signing up). A plan renews at the time of
    day it was first taken out.
    """
    if not life.world.has("subscriptions"):
        return
    rng = life.world.rng.stream("subscriptions")
    offered = life.pools.subscriptions
    k = int(rng.integers(3, 6))
    extra = int(rng.random() < 0.6) + int(rng.random() < 0.25)
    chosen = rng.choice(len(offered), min(k + extra, len(offered)), replace=False)
    signup = life.at_hours(rng.integers(3, max(4, life.world.days * 2 // 3), len(chosen)), rng)
    clock = life.world.clock
    mail: list[dict] = []
    for i, j in enumerate(chosen.tolist()):
        provider, plan, price = offered[j]
        price = int(round(price * life.pools.fx / 100)) * 100 - 1  # x.99 in local currency
        since = int(signup[i]) if i >= k else None
        tod = int(clock.sim_to_local(life.at_hours(np.array([0]), rng))[0] % DAY)
        if since is None:
            due = _month_days(life, int(rng.integers(1, 29)))
        else:
            first = int(clock.local_day(np.array([since]))[0])
            tod = int(clock.sim_to_local(np.array([since]))[0] % DAY)
            due = _month_days(life, min(clock.date(first).day, 28))
            due = np.r_[first, due[due > first]]
        if not len(due):
            continue
        ts = clock.local_to_sim(due * DAY + tod)
        if since is not None:
            ts[0] = since
        after_last = clock.local_to_sim(np.array([_next_month_day(life, int(due[-1]))]) * DAY
                                        + tod)
        following = np.r_[ts[1:], after_last]  # each charge pays up to the next renewal
        if since is None:
            created, nxt = np.r_[OPENING, ts[:-1] + MINUTE], ts
        else:
            created, nxt = np.r_[since, ts[1:] + MINUTE], following
        rid = life.world.ids.one("records/subscriptions", "sb_")
        life.world.emit(
            "subscriptions", ["subscription_started"] + ["subscription_renewed"] * (len(ts) - 1),
            created,
            {"provider": provider, "plan": plan, "price_minor": price,
             "currency": life.spec.money.currency, "cadence": "monthly",
             "next_renewal": life.local_days(nxt), "status": "active"},
            record_ids=[rid] * len(ts),
            actor=[None if since is None else "user"] + [None] * (len(ts) - 1),
        )
        ledger.add(ts, np.full(len(ts), -price), description=f"{provider.upper()} {plan.upper()}",
                   merchant=provider, category="subscriptions", kind="card_charged",
                   account=ledger.card, related=[rid] * len(ts))
        # A receipt for every charge (a welcome for a sign-up), mailed below in one go.
        m = len(ts)
        mail.append({"ts": after(rng, ts, 1, 20), "provider": np.full(m, provider, dtype=object),
                     "plan": np.full(m, plan, dtype=object), "price": np.full(m, price),
                     "following": following, "rid": np.full(m, rid, dtype=object),
                     "welcome": np.r_[since is not None, np.zeros(m - 1, bool)]})
    if not mail:
        return
    q = {k: np.concatenate([x[k] for x in mail]) for k in mail[0]}
    for intent, sel in (("subscription_receipt", ~q["welcome"]),
                        ("subscription_welcome", q["welcome"])):
        if sel.any():
            org_mail(life, rng, q["ts"][sel], org=q["provider"][sel], intent=intent,
                     slots={"provider": q["provider"][sel], "plan": q["plan"][sel],
                            "amount": life.money(q["price"][sel]),
                            "date": life.dates(q["following"][sel])},
                     related=q["rid"][sel].tolist())


def _next_month_day(life: Life, day: int) -> int:
    """The window day index of the same day of the month, one month after ``day``."""
    date = life.world.clock.date(day)
    year, month = (date.year + 1, 1) if date.month == 12 else (date.year, date.month + 1)
    return (dt.date(year, month, min(date.day, 28)) - life.world.clock.start).days


def _statements(life: Life, ledger: Ledger, days: range) -> None:
    """A monthly 'your statement is ready' notice, quoting the balance on that day."""
    rng = life.world.rng.stream("bank/notices")
    first = [d for d in days if life.world.clock.date(d).day == 2]
    if not first:
        return
    ts = life.world.clock.local_to_sim(np.array(first) * DAY + 8 * HOUR)
    n = len(ts)
    balance = [ledger.balance_at(ledger.checking, int(t)) for t in ts]
    org_mail(life, rng, ts, org=np.full(n, life.pools.bank, dtype=object), intent="bank_notice",
             slots={"bank": np.full(n, life.pools.bank, dtype=object),
                    "amount": life.money(np.array(balance)),
                    "date": life.dates(life.world.clock.local_to_sim(
                        np.array([_next_month_day(life, d) for d in first]) * DAY)),
                    "account": np.full(n, ledger.masks[ledger.checking], dtype=object)},
             related=[ledger.checking] * n)
