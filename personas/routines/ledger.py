"""The bank's ledger: charges handed over by every routine, posted in time order.

Other routines never write bank rows themselves: they hand charges to the :class:`Ledger`,
which posts everything due in time order at the start of each period, so every running
balance is right however the charges were produced. Amounts that depend on a balance (paying
off the card, a statement) are settled during posting, at their own instant.
:func:`rebalance` re-settles the same arithmetic over the rows a world keeps (thinning drops
some), funds a checking account that would otherwise be overdrawn, and settles the money a
storyline holds away on savings (:class:`Hold`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa

from personas.life import Life
from personas.routines.messaging import emit_org_sms
from sim.clock import HOUR, MINUTE
from sim.services import TABLES
from sim.services.bank import FROM_SAVINGS, TO_SAVINGS

PAYOFF = "CARD PAYMENT - THANK YOU"  # how a card payoff reads on both statements
CUSHION = 0.1  # the share of its opening balance a checking account never falls below


@dataclass
class Hold:
    """A storyline's word on the checking balance: below ``level`` from the transfer to
    savings ``out`` (minutes before the storyline says so) until the transfer ``back``
    (:meth:`Ledger.hold_below`, :meth:`Ledger.release`; :func:`rebalance` settles both)."""

    out: str
    back: str
    level: int


@dataclass
class Ledger:
    """Charges waiting to be posted, in the order they were handed over."""

    life: Life
    checking: str = ""
    card: str = ""
    balances: dict[str, int] = field(default_factory=dict)
    pending: list[dict] = field(default_factory=list)
    opening: dict[str, int] = field(default_factory=dict)
    settlements: int = 0
    names: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    masks: dict[str, str] = field(default_factory=dict)
    # Posted history, to read a balance as of any instant: (ts, account, balance after).
    history: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)  # texts the bank will send
    receipts: list[dict] = field(default_factory=list)  # e-receipts shops will mail
    holds: list[Hold] = field(default_factory=list)
    posted_until: int = 0  # everything before this instant is posted

    @property
    def cushion(self) -> int:
        """The least the person lets the checking account fall to: ``CUSHION`` of its
        opening balance (:func:`rebalance` funds a world that would spend below it)."""
        return int(self.opening.get(self.checking, 0) * CUSHION)

    def add(self, ts, amount_minor, *, description, merchant, category, kind,
            account: str | None = None, related=None, cause=None, settle: int = 0,
            record_ids=None, id_stream: str = "bank_transactions") -> None:
        """Queue transactions; ``amount_minor`` is signed (debits negative).

        ``settle`` marks a card payment: its amount is the card balance at that instant,
        worked out during posting. A storyline passes its own ``record_ids`` and
        ``id_stream`` so its transactions keep their ids whatever else the bank posts.
        """
        n = len(ts)
        if n == 0 or not self.life.world.has("bank"):
            return

        def arr(v):
            return np.asarray(v if v is not None and not isinstance(v, str) else [v] * n,
                              dtype=object)

        self.pending.append({
            "ts": np.asarray(ts, dtype=np.int64), "amount": np.asarray(amount_minor, np.int64),
            "description": arr(description), "merchant": arr(merchant),
            "category": arr(category), "kind": arr(kind),
            "account": arr(self.checking if account is None else account),
            "related": arr(related),
            "cause": arr(cause),
            "settle": np.full(n, settle, np.int64),
            "record_id": arr(record_ids),
            "id_stream": arr(id_stream),
        })

    def pay_off_card(self, ts: int) -> None:
        """Pay the card's whole balance from checking at instant ``ts``."""
        self.settlements += 1
        for account in (self.checking, self.card):
            self.add(np.array([ts]), np.array([0]), description=PAYOFF,
                     merchant=self.names[self.card], category="transfer", kind="transfer_made",
                     account=account, settle=self.settlements)

    def hold_below(self, below: int, at: int, cause: str | None) -> Hold | None:
        """Bring the checking balance under ``below`` by instant ``at``: the user moves
        money to savings minutes before (a storyline's low-balance alert then tells the
        truth at every noise ratio). The amounts are settled over the rows a world keeps,
        by :func:`rebalance`; :meth:`release` moves the money back."""
        if not self.life.world.has("bank"):
            return None
        rng = self.life.world.rng.stream("bank/holds")
        level = int(below * rng.uniform(0.3, 0.8))
        ts = max(at - int(rng.integers(MINUTE, 10 * MINUTE)), self.posted_until)
        out, back = self.life.world.ids.mint("records/bank_transactions/holds",
                                             TABLES["bank_transactions"].id_prefix, 2)
        hold = Hold(out, back, level)
        self._transfer(ts, TO_SAVINGS, -1, out, cause)
        self.holds.append(hold)
        return hold

    def release(self, hold: Hold, *, after: int, cause: str | None) -> None:
        """Move the held money back to checking a little ``after`` the given instant (the
        storyline's next bank posting, or its end); not at all past the window."""
        at = after + int(self.life.world.rng.stream("bank/holds").integers(5 * MINUTE, 3 * HOUR))
        if at < self.life.world.clock.end_seconds:
            self._transfer(at, FROM_SAVINGS, 1, hold.back, cause)

    def _transfer(self, ts: int, description: str, sign: int, record_id: str,
                  cause: str | None) -> None:
        # A placeholder amount of one unit: rebalance settles it. The savings account is
        # at another bank; it is named, so the transfers form no series with other rows
        # (scenarios.units), and their cause keeps them with the storyline's cascade.
        self.add(np.array([ts]), np.array([sign]), description=description,
                 merchant=f"{self.life.pools.bank} Savings", category="transfer",
                 kind="transfer_made", cause=[cause], record_ids=[record_id],
                 id_stream="bank_transactions/holds")

    def balance_at(self, account: str, ts: int) -> int:
        """The balance of ``account`` after everything posted up to ``ts``."""
        best_ts, best = -1, self.opening[account]
        for t, acct, bal in self.history:
            sel = np.flatnonzero((acct == account) & (t <= ts))
            if len(sel) and t[sel[-1]] >= best_ts:
                best_ts, best = int(t[sel[-1]]), int(bal[sel[-1]])
        return best

    def post(self, until: int) -> None:
        """Post every queued transaction before ``until``, oldest first."""
        self.posted_until = max(self.posted_until, until)
        if not self.pending:
            return
        merged = {k: np.concatenate([p[k] for p in self.pending]) for k in self.pending[0]}
        due = merged["ts"] < until
        self.pending = [{k: v[~due] for k, v in merged.items()}] if (~due).any() else []
        if not due.any():
            return
        rows = {k: v[due] for k, v in merged.items()}
        order = np.lexsort((np.arange(len(rows["ts"])), rows["ts"]))
        rows = {k: v[order] for k, v in rows.items()}
        # No two postings of one account share an instant (two bills due at 14:00:00 post a
        # second apart), so the order balances chain in is the time order, for anyone.
        for acct in np.unique(rows["account"]):
            sel = np.flatnonzero(rows["account"] == acct)
            step = np.arange(len(sel))
            rows["ts"][sel] = np.maximum.accumulate(rows["ts"][sel] - step) + step
        self._settle(rows)
        balance = np.empty(len(order), np.int64)
        for acct in np.unique(rows["account"]):
            sel = rows["account"] == acct
            running = self.balances[acct] + np.cumsum(rows["amount"][sel])
            balance[sel] = running
            self.balances[acct] = int(running[-1])
        self.history.append((rows["ts"], rows["account"], balance))
        life = self.life
        for stream in np.unique(rows["id_stream"]):
            sel = rows["id_stream"] == stream
            given = rows["record_id"][sel]
            _, events = life.world.emit(
                "bank_transactions", rows["kind"][sel], rows["ts"][sel],
                {"account_id": rows["account"][sel], "posted_at": rows["ts"][sel],
                 "description": rows["description"][sel], "merchant": rows["merchant"][sel],
                 "category": rows["category"][sel], "amount_minor": rows["amount"][sel],
                 "currency": life.spec.money.currency, "balance_after_minor": balance[sel],
                 "related_id": rows["related"][sel]},
                record_ids=None if given[0] is None else given.tolist(),
                actor=None, cause=rows["cause"][sel].tolist(), id_stream=str(stream),
            )
            if stream == "bank_transactions" and life.world.has("sms"):
                self._alerts({k: v[sel] for k, v in rows.items()}, events)
        # The account shows its balance as of the last transaction of each local day.
        day = life.world.clock.local_day(rows["ts"])
        for acct in np.unique(rows["account"]):
            sel = np.flatnonzero(rows["account"] == acct)
            last = sel[np.r_[day[sel][1:] != day[sel][:-1], True]]
            life.world.emit(
                "bank_accounts", "balance_updated", rows["ts"][last],
                {"name": self.names[acct], "account_type": self.types[acct],
                 "masked_number": self.masks[acct], "currency": life.spec.money.currency,
                 "balance_minor": balance[last]},
                record_ids=[acct] * len(last), actor=None,
            )


    def _alerts(self, rows: dict[str, np.ndarray], events: list[str]) -> None:
        """The bank texts about deposits, bills it paid and large card charges (never a
        balance: thinning recomputes those). Queued; :meth:`send_alerts` writes them."""
        life = self.life
        rng = life.world.rng.stream("bank/alerts")
        big = -5 * life.spec.money.typical_purchase_minor * life.person.budget_factor
        kind, amount = rows["kind"], rows["amount"]
        template = np.select(
            [kind == "salary_deposited", (kind == "bill_paid") & (rows["category"] == "bills"),
             (kind == "card_charged") & (amount < big)], [0, 2, 1], -1)
        on = (template >= 0) & (rng.random(len(kind)) < 0.4)
        ts = rows["ts"] + rng.integers(MINUTE, 10 * MINUTE, len(kind))
        on &= ts < life.world.clock.end_seconds
        if on.any():
            self.alerts.append({"ts": ts[on], "amount": np.abs(amount[on]),
                                "merchant": rows["merchant"][on], "template": template[on],
                                "cause": np.array(events, dtype=object)[on]})

    def send_alerts(self) -> None:
        if not self.alerts:
            return
        life = self.life
        rng = life.world.rng.stream("bank/alerts")
        q = {k: np.concatenate([a[k] for a in self.alerts]) for k in self.alerts[0]}
        self.alerts = []
        k = len(q["ts"])
        pool = life.grammar.intent("sms_bank").sentences
        text = life.grammar.sentences(
            "sms_bank", rng, {"amount": life.money(q["amount"]), "merchant": q["merchant"],
                              "date": life.dates(q["ts"])}, k,
            variants=pool.first_variant[q["template"]])
        emit_org_sms(life, q["ts"], np.full(k, "Bank alerts", dtype=object), text,
                     cause=q["cause"].tolist())

    def _settle(self, rows: dict[str, np.ndarray]) -> None:
        """Fill in card payments: each pays the card balance just before it."""
        for pair in np.unique(rows["settle"][rows["settle"] > 0]):
            both = np.flatnonzero(rows["settle"] == pair)
            card_row = both[rows["account"][both] == self.card][0]
            bank_row = both[rows["account"][both] == self.checking][0]
            earlier = np.flatnonzero(rows["account"][:card_row] == self.card)
            owed = -(self.balances[self.card] + int(rows["amount"][earlier].sum()))
            owed = max(owed, 0)
            rows["amount"][card_row], rows["amount"][bank_row] = owed, -owed


def rebalance(history: dict[str, pa.Table], *, cushion: int = 0,
              holds: Sequence[Hold] = ()) -> dict[str, pa.Table]:
    """Running balances recomputed over the transactions present, from an opening balance
    that carries the checking account through them.

    A thinned world keeps some card purchases and drops others; the bank must still add up,
    so each transaction's balance and each account version's balance are recomputed from
    the opening balance and the transactions that remain. A busy world (a noise profile
    multiplies orders, trips and card purchases, never the salary) spends more than the
    person earns; the checking account then opens with enough to stay at ``cushion`` or
    above (:attr:`Ledger.cushion`), not overdrawn by months of spending. Storylines'
    ``holds`` get their transfers to and from savings settled here, over the same rows.
    """
    txns, accounts = history.get("bank_transactions"), history.get("bank_accounts")
    if txns is None or accounts is None or not accounts.num_rows:
        return history
    t = pl.from_arrow(txns).with_row_index("_order")
    a = pl.from_arrow(accounts)
    opening = a.filter(pl.col("version") == 1).select(
        pl.col("record_id").alias("account_id"), pl.col("balance_minor").alias("_opening"))
    t = _resettle_payoffs(t, a, opening)
    t, opening = _fund_checking(t, a, opening, cushion, holds)
    t = (t.join(opening, on="account_id", how="left")
         .sort(["posted_at", "_order"])
         .with_columns((pl.col("_opening") + pl.col("amount_minor").cum_sum().over(
             "account_id", order_by=["posted_at", "_order"])).alias("balance_after_minor"))
         .sort("_order").drop("_order", "_opening"))
    posted = (t.with_row_index("_order").sort(["posted_at", "_order"])
              .select("account_id", "posted_at", "balance_after_minor"))
    a = (a.sort("valid_from")
         .join_asof(posted, left_on="valid_from", right_on="posted_at",
                    by_left="record_id", by_right="account_id", strategy="backward",
                    check_sortedness=False)
         .join(opening, left_on="record_id", right_on="account_id", how="left")
         .with_columns(pl.coalesce("balance_after_minor", "_opening").alias("balance_minor"))
         .select(accounts.column_names))
    out = dict(history)
    out["bank_transactions"] = t.select(txns.column_names).to_arrow().cast(txns.schema)
    out["bank_accounts"] = a.to_arrow().cast(accounts.schema)
    return out


def _fund_checking(t: pl.DataFrame, accounts: pl.DataFrame, opening: pl.DataFrame,
                   cushion: int, holds: Sequence[Hold]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``t`` with the holds' transfers settled and ``opening`` with the checking account's
    raised, if need be, to the least round amount (two significant digits) that keeps its
    running balance at ``cushion`` or more outside the holds, and leaves each hold's
    transfer to savings something to move."""
    checking = accounts.filter(pl.col("account_type") == "checking")["record_id"]
    if not checking.len():
        return t, opening
    account = checking[0]
    rows = t.filter(pl.col("account_id") == account).sort(["posted_at", "_order"])
    order, ids = rows["_order"].to_list(), rows["record_id"].to_list()
    outs = {h.out: h for h in holds}
    backs = {h.back for h in holds}
    # Transfers net to nothing once the money is back: first the balance without them.
    amounts = [0 if r in outs or r in backs else a
               for r, a in zip(ids, rows["amount_minor"].to_list(), strict=True)]
    running = list(itertools.accumulate(amounts))
    open_holds, lowest = 0, 0
    for i, rid in enumerate(ids):
        open_holds += (rid in outs) - (rid in backs)
        if rid in outs:  # at least the cushion moved, leaving the hold's level behind
            lowest = min(lowest, running[i] - outs[rid].level - cushion)
        elif not open_holds:
            lowest = min(lowest, running[i] - cushion)
    own = int(opening.filter(pl.col("account_id") == account)["_opening"][0])
    funded = own
    if own + lowest < 0:
        funded = _round_up(-lowest, _two_digits(-lowest))
        opening = opening.with_columns(pl.when(pl.col("account_id") == account).then(funded)
                                       .otherwise(pl.col("_opening")).alias("_opening"))
    if not holds:
        return t, opening
    balance, moved, settled = funded, {}, {}
    for rid, o, amount in zip(ids, order, amounts, strict=True):
        if rid in outs:  # in whole tens (hundreds...), leaving at most a tenth below the level
            level = outs[rid].level
            amount = settled[o] = -_round_up(max(balance - level, 0), _two_digits(level))
            moved[outs[rid].back] = -amount
        elif rid in backs:
            amount = settled[o] = moved.get(rid, 0)
        balance += amount
    return t.with_columns(pl.col("_order").replace_strict(settled, default=pl.col("amount_minor"))
                          .cast(t.schema["amount_minor"]).alias("amount_minor")), opening


def _two_digits(amount: int) -> int:
    """The step that rounds ``amount`` to two significant digits."""
    return 10 ** max(len(str(abs(amount))) - 2, 0)


def _round_up(amount: int, step: int) -> int:
    return -(-amount // step) * step


def _resettle_payoffs(t: pl.DataFrame, accounts: pl.DataFrame,
                      opening: pl.DataFrame) -> pl.DataFrame:
    """Each card payoff pays what the card owes at that moment, over the rows present."""
    cards = accounts.filter(pl.col("account_type") == "credit_card")["record_id"].unique()
    if not cards.len() or not t.filter(pl.col("description") == PAYOFF).height:
        return t
    card = cards[0]
    start = opening.filter(pl.col("account_id") == card)["_opening"][0]
    rows = t.sort(["posted_at", "_order"])
    amounts = dict(zip(rows["_order"].to_list(), rows["amount_minor"].to_list(), strict=True))
    balance = start
    for order, account, ts, desc in zip(rows["_order"].to_list(), rows["account_id"].to_list(),
                                        rows["posted_at"].to_list(),
                                        rows["description"].to_list(), strict=True):
        if account != card:
            continue
        if desc == PAYOFF:
            owed = max(-balance, 0)
            amounts[order] = owed
            partner = rows.filter((pl.col("description") == PAYOFF) & (pl.col("posted_at") == ts)
                                  & (pl.col("account_id") != card))["_order"]
            for p in partner.to_list():
                amounts[p] = -owed
        balance += amounts[order]
    return t.with_columns(pl.col("_order").replace_strict(amounts).alias("amount_minor")
                          .cast(t.schema["amount_minor"]))
