"""Money tools: paying from the user's accounts, stopping automatic payments, changing and
cancelling subscriptions, and the card charges and refunds every purchase tool posts.

The bank's ledger (``personas.routines.ledger``, checked by ``sim.check``) defines a balance
as a running sum: each transaction carries the balance after it, and an account shows the
balance after its last transaction. An account's own row is only rewritten once a day, so
in a snapshot taken mid-day it can lag behind that day's transactions; a new posting
therefore continues the chain from the account's latest transaction, then stamps the
account with the result, so both agree afterwards. Amounts are integer minor units.
Postings happen at the snapshot instant; a payment dated later is scheduled, not posted.
Days are the user's local days, as in the reading tools (``Workspace.today``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sim.tools.base import ToolError, date_arg, existing, object_schema, tool_record, written
from sim.workspace import Workspace

# A bound on every amount: far above any real price, far below where int64 sums overflow.
MAX_MINOR = 10**12
# Where a purchase is charged when the agent names no account: the card first, as routine
# life does for online orders, trips and plans.
_PAYS_FIRST = {"credit_card": 0, "checking": 1, "savings": 2}
# Categories a payment the user makes can carry (those the ledger writes for outgoings).
PAYMENT_CATEGORIES = ["bills", "housing", "transfer", "donations", "subscriptions", "travel",
                      "shopping"]
AHEAD_DAYS = 366  # how far ahead anything can be scheduled or booked


def amount(what: str, minimum: int = 1) -> dict:
    return {"type": "integer", "minimum": minimum, "maximum": MAX_MINOR,
            "description": f"{what}, in integer minor units (cents, pence...)"}


def record_id(what: str) -> dict:
    return {"type": "string", "minLength": 1, "description": f"the {what}'s record id"}


ACCOUNT = {"type": "string", "minLength": 1,
           "description": "record id of the user's bank account to pay from (bank_accounts)"}
CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$",
            "description": "ISO 4217 code; refused unless it is the account's currency"}


# -- the ledger -----------------------------------------------------------------------------


def running_balance(ws: Workspace, account: Mapping) -> int:
    """The balance after the account's latest transaction (ties: the later row), or the
    account's own balance when it has none."""
    last = None
    for row in ws.rows_where("bank_transactions", "account_id", account["record_id"]):
        if row["posted_at"] is not None and (
                last is None or row["posted_at"] >= last["posted_at"]):
            last = row
    if last is None or last["balance_after_minor"] is None:
        return account["balance_minor"] or 0
    return last["balance_after_minor"]


def check_currency(account: Mapping, currency: str | None) -> None:
    if currency is not None and account["currency"] != currency:
        raise ToolError("currency_mismatch",
                        f"account {account['record_id']} holds {account['currency']}, "
                        f"not {currency}")


def check_funds(ws: Workspace, account: Mapping, debit: int) -> None:
    """Refuse a debit that would take a checking or savings account below zero. The schema
    knows no overdraft and no credit limit, so cards are never refused."""
    if account["account_type"] == "credit_card":
        return
    balance = running_balance(ws, account)
    if balance - debit < 0:
        raise ToolError("insufficient_funds",
                        f"{account['name']} holds {balance} minor units; paying {debit} "
                        "would overdraw it")


def payer(ws: Workspace, args: Mapping, currency: str | None) -> dict:
    """The account a purchase is charged to: the one named, else the user's card."""
    if "account_id" in args:
        account = existing(ws, "bank_accounts", args["account_id"])
    else:
        accounts = sorted(ws.rows("bank_accounts"),
                          key=lambda a: _PAYS_FIRST.get(a["account_type"], len(_PAYS_FIRST)))
        if not accounts:
            raise ToolError("not_found", "the user has no bank account to pay with")
        account = accounts[0]
    check_currency(account, args.get("currency"))
    check_currency(account, currency)
    return account


@dataclass(frozen=True)
class Posting:
    account: Mapping
    amount_minor: int  # signed: debits negative
    description: str
    merchant: str | None
    category: str
    related_id: str | None = None


def post(ws: Workspace, p: Posting) -> dict:
    """One transaction at the snapshot instant, and the account's balance moved with it."""
    balance = running_balance(ws, p.account) + p.amount_minor
    row = ws.insert("bank_transactions", {
        "account_id": p.account["record_id"], "posted_at": ws.as_of,
        "description": p.description, "merchant": p.merchant, "category": p.category,
        "amount_minor": p.amount_minor, "currency": p.account["currency"],
        "balance_after_minor": balance, "related_id": p.related_id})
    ws.update("bank_accounts", p.account["record_id"], {"balance_minor": balance})
    return row


def refund(ws: Workspace, related_id: str) -> list[dict]:
    """Give back what was charged against a record (its charges net of earlier refunds), to
    each account charged, as the ledger writes refunds."""
    owed: dict[str, int] = {}
    merchant: dict[str, str | None] = {}
    for row in ws.rows_where("bank_transactions", "related_id", related_id):
        if row["amount_minor"] is not None:
            owed[row["account_id"]] = owed.get(row["account_id"], 0) - row["amount_minor"]
            if row["amount_minor"] < 0:
                merchant[row["account_id"]] = row["merchant"]
    out = []
    for account_id, due in owed.items():  # first charged first: deterministic
        account = ws.get("bank_accounts", account_id)
        if due > 0 and account is not None:
            who = merchant.get(account_id)
            out.append(tool_record(post(ws, Posting(account, due, f"REFUND {who or ''}".strip(),
                                                    who, "refund", related_id))))
    return out


# -- bank -----------------------------------------------------------------------------------


def bank_tools() -> list:
    def pay(ws, a, _):
        account = existing(ws, "bank_accounts", a["account_id"])
        if account["account_type"] == "credit_card":
            raise ToolError("bad_arguments", "account_id: a card cannot send payments; pay "
                            "from a checking or savings account")
        check_currency(account, a.get("currency"))
        day = date_arg(a["date"], "date") if "date" in a else ws.today
        if day < ws.today:
            raise ToolError("bad_arguments", f"date: {day} is in the past")
        if day > ws.today + dt.timedelta(days=AHEAD_DAYS):
            raise ToolError("bad_arguments", f"date: more than {AHEAD_DAYS} days ahead")
        bill = existing(ws, "bank_recurring", a["bill_id"]) if "bill_id" in a else None
        if bill is not None and (bill["amount_minor"] or 0) >= 0:
            raise ToolError("conflict", "bill_id: that recurring entry is an income, not a bill")
        if bill is not None:
            check_currency(account, bill["currency"])
        if bill is not None and day > ws.today:
            raise ToolError("bad_arguments", "date: a payment towards a bill is made today; "
                            "only payments without bill_id can be scheduled")
        if day > ws.today:  # the bank lists it until it runs; nothing is debited yet
            return written("bank_recurring", ws.insert("bank_recurring", {
                "account_id": account["record_id"], "payee": a["payee"],
                "amount_minor": -a["amount_minor"], "currency": account["currency"],
                "cadence": "once", "next_due": day, "autopay": True}))
        check_funds(ws, account, a["amount_minor"])
        ref = f" ref {a['reference']}" if a.get("reference") else ""
        return written("bank_transactions", post(ws, Posting(
            account, -a["amount_minor"], f"{a['payee']} payment{ref}", a["payee"],
            a.get("category", "bills"), bill["record_id"] if bill else None)))

    def cancel(ws, a, _):
        entry = existing(ws, "bank_recurring", a["id"])
        if (entry["amount_minor"] or 0) >= 0:
            raise ToolError("conflict", "that recurring entry is an income, not a payment")
        if not entry["autopay"]:
            raise ToolError("conflict", "that payment is not made automatically (already "
                            "cancelled or paid by hand)")
        return written("bank_recurring", ws.update("bank_recurring", a["id"], {"autopay": False}))

    return [
        ("bank_pay",
         "Pay someone from a checking or savings account: today's payment posts at once "
         "(refused if it would overdraw the account); a later date schedules it.",
         object_schema({
             "account_id": ACCOUNT,
             "payee": {"type": "string", "minLength": 1, "description": "who is paid"},
             "amount_minor": amount("how much to pay"),
             "currency": CURRENCY,
             "reference": {"type": "string",
                           "description": "a reference for the payee (invoice, account no.)"},
             "category": {"type": "string", "enum": PAYMENT_CATEGORIES,
                          "description": "how the statement files it (default: bills)"},
             "bill_id": {"type": "string", "minLength": 1,
                         "description": "the bank_recurring bill this pays, if any"},
             "date": {"type": "string", "format": "date",
                      "description": "YYYY-MM-DD (your local day): today (the default) or later"},
         }, ["account_id", "payee", "amount_minor"]), pay),
        ("bank_cancel",
         "Stop a recurring or scheduled payment being made automatically (AutoPay or a "
         "standing order); the entry stays listed, marked not automatic.",
         object_schema({"id": record_id("recurring payment (bank_recurring)")}, ["id"]),
         cancel),
    ]


# -- subscriptions --------------------------------------------------------------------------


def subscription_tools() -> list:
    def active(ws, sub_id: str) -> dict:
        sub = existing(ws, "subscriptions", sub_id)
        if sub["status"] != "active":
            raise ToolError("conflict", f"that subscription is {sub['status']}")
        return sub

    def cancel(ws, a, _):
        active(ws, a["id"])
        # The plan stays paid up to next_renewal; it just does not renew.
        return written("subscriptions", ws.update("subscriptions", a["id"],
                                                  {"status": "cancelled"}))

    def update(ws, a, _):
        sub = active(ws, a["id"])
        changes = {"plan": a["plan"], "price_minor": a["price_minor"]}
        if "cadence" in a:
            changes["cadence"] = a["cadence"]
        if all(sub[k] == v for k, v in changes.items()):
            raise ToolError("conflict", "the subscription is already on that plan")
        return written("subscriptions", ws.update("subscriptions", a["id"], changes))

    return [
        ("subscriptions_cancel",
         "Cancel an active subscription; it stays paid up to its next renewal date.",
         object_schema({"id": record_id("subscription")}, ["id"]), cancel),
        ("subscriptions_update",
         "Switch an active subscription to another plan at that plan's price (from the "
         "next renewal).",
         object_schema({
             "id": record_id("subscription"),
             "plan": {"type": "string", "minLength": 1, "description": "the plan's name"},
             "price_minor": amount("the plan's price per period", minimum=0),
             "cadence": {"type": "string", "enum": ["monthly", "yearly"],
                         "description": "how often it renews (default: unchanged)"},
         }, ["id", "plan", "price_minor"]), update),
    ]
