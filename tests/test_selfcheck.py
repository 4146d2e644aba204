"""Self-check helpers: which services show an answer fact at a snapshot.

``Snapshot.showing`` scans per-table texts prepared once per snapshot; these tests hold it
to the plain definition (a Polars scan of every table, one condition per column), on
texts where shortcuts could go wrong: non-ASCII case, nulls, a needle holding the
separator the prepared texts use, and values split across two cells.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pytest

from scenarios.selfcheck import Snapshot
from sim.services import TABLE_SERVICE, TABLES
from sim.snapshot import snapshot_schema
from sim.tools.reading import searched_columns

AS_OF = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 5)


def _table(name: str, rows: list[dict]) -> pa.Table:
    base = {"version": 1, "valid_from": AS_OF - dt.timedelta(days=1)}
    names = snapshot_schema(name).names
    return pa.Table.from_pylist([dict.fromkeys(names) | base | row for row in rows],
                                schema=snapshot_schema(name))


TABLES_AT = {
    "contacts": _table("contacts", [
        {"record_id": "ct_1", "full_name": "ÉLODIE Ωmega", "email": "elodie@ex.com",
         "notes": "met at Σοφία's"},
        {"record_id": "ct_2", "full_name": "Bo\x00Ann", "phone_number": "+1 555 0100"}]),
    "personal_emails": _table("personal_emails", [
        {"record_id": "pm_1", "subject": "Refund", "body": "We refunded $49.99 on 5 March",
         "from_name": "Shop"},
        {"record_id": "pm_2", "subject": None, "body": "See you"}]),
    "bank_transactions": _table("bank_transactions", [
        {"record_id": "bt_1", "description": "CAFE", "amount_minor": -1250,
         "balance_after_minor": 88_000}]),
    "todos": _table("todos", [{"record_id": "td_1", "title": "Pay rent", "due_date": DAY}]),
    "notes": _table("notes", []),
}


def _money(minor: int) -> str:
    return f"${minor // 100}.{minor % 100:02d}"


def _expected(kind: str, value) -> set[str]:
    """The plain definition: any searched (text facts, ignoring case) or readable column
    holds the written value, or an amount or date column holds the value itself."""
    if kind == "amount":
        texts, numbers = [_money(abs(int(value)))], [abs(int(value)), -abs(int(value))]
    elif kind == "date":
        day = dt.date.fromisoformat(value)
        texts, numbers = [f"{day.day} March", day.isoformat()], [day]
    else:
        texts, numbers = [str(value).lower()], []
    out = set()
    for name, table in TABLES_AT.items():
        frame, spec = pl.from_arrow(table), TABLES[name]
        conditions = []
        for column in searched_columns(name) if kind == "text" else spec.text_columns:
            text = pl.col(column).fill_null("")
            text = text.str.to_lowercase() if kind == "text" else text
            conditions += [text.str.contains(t, literal=True) for t in texts]
        for f in spec.columns:
            if (kind == "amount" and f.name.endswith("_minor")) or (
                    kind == "date" and pa.types.is_date32(f.type)):
                conditions.append(pl.col(f.name).is_in(numbers))
        if frame.height and conditions and frame.select(
                pl.any_horizontal(conditions).any()).item():
            out.add(TABLE_SERVICE[name])
    return out


@pytest.mark.parametrize(("kind", "value"), [
    ("text", "élodie ωMEGA"), ("text", "σοφία"), ("text", "ΣΟΦΊΑ"), ("text", "bo\x00ann"),
    ("text", "Bo"), ("text", "shop"), ("text", "+1 555 0100"), ("text", "nobody"),
    ("text", "ex.comelodie"),  # spans two cells: must not be found
    ("text", ""), ("amount", 4999), ("amount", 1250), ("amount", -88_000), ("amount", 7),
    ("date", "2026-03-05"), ("date", "2026-03-06"),
])
def test_showing_is_the_plain_scan_of_every_table(kind: str, value):
    snap = Snapshot(TABLES_AT, int(AS_OF.timestamp() * 1e6), ["contacts"], {}, _money,
                    lambda day: f"{day.day} March", "UTC")
    assert snap.showing(kind, value) == _expected(kind, value)
    assert len(snap.showing(kind, value, enough=1)) == min(1, len(_expected(kind, value)))
