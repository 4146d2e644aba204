"""Snapshots: the version valid at as_of, nothing from the future, known future facts kept."""

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from personas.library import load_personas
from scenarios.build import live
from scenarios.library import load_storylines
from sim.services import TABLES
from sim.snapshot import Snapshots, as_of, snapshot, snapshot_schema

DAYS = 30


@pytest.fixture(scope="module")
def history():
    lived = live(load_personas()["staff_engineer"], seed=4, days=DAYS,
                 families=load_storylines(), storylines=4)
    return lived.world.tables(), lived.world.clock


def _us(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _brute_force(table: pa.Table, at: int) -> dict[str, dict]:
    """Record id -> the row whose [valid_from, valid_to) holds ``at``, one by one."""
    out = {}
    for row in table.to_pylist():
        start = _us(row["valid_from"])
        end = None if row["valid_to"] is None else _us(row["valid_to"])
        if start <= at and (end is None or at < end):
            assert row["record_id"] not in out, "two versions valid at once"
            out[row["record_id"]] = {k: v for k, v in row.items() if k != "valid_to"}
    return out


@settings(max_examples=8, deadline=None)
@given(share=st.floats(min_value=0.0, max_value=1.0))
def test_a_snapshot_holds_exactly_the_versions_valid_at_as_of(history, share):
    tables, clock = history
    at = _us(clock.epoch) + int(share * DAYS * 86_400) * 1_000_000
    snap = snapshot(tables, at)
    for name, table in tables.items():
        got = {r["record_id"]: r for r in snap[name].to_pylist()}
        assert got == _brute_force(table, at), name
        assert snap[name].schema.equals(snapshot_schema(name))
        assert "valid_to" not in snap[name].column_names


def test_known_future_meetings_stay_and_later_ones_do_not(history):
    tables, clock = history
    at = _us(clock.epoch + dt.timedelta(days=DAYS // 2))
    events = snapshot(tables, at)["calendar_events"].to_pylist()
    assert all(_us(e["valid_from"]) <= at for e in events)
    assert any(_us(e["start"]) > at for e in events), "no upcoming meeting was known"
    created_later = {r["record_id"] for r in tables["calendar_events"].to_pylist()
                     if r["version"] == 1 and _us(r["valid_from"]) > at}
    assert created_later
    assert not created_later & {e["record_id"] for e in events}


def test_snapshot_columns_are_the_services_own():
    for name, spec in TABLES.items():
        names = snapshot_schema(name).names
        assert names[:3] == ["record_id", "version", "valid_from"]
        assert names[3:] == [f.name for f in spec.columns]


def test_one_snapshots_object_gives_every_instant_its_own_versions(history):
    tables, _ = history
    frozen = Snapshots(tables)
    # Instants on the very edges of validity: a version starts, or ends, exactly there.
    edges = sorted({_us(v) for t in tables.values() for c in ("valid_from", "valid_to")
                    for v in t[c].to_pylist()[:40] if v is not None})
    for at in [*edges[:: max(1, len(edges) // 12)], edges[-1] + 1]:
        snap = frozen.at(at)
        for name, table in tables.items():
            got = {r["record_id"]: r for r in snap[name].to_pylist()}
            assert got == _brute_force(table, at), (name, at)
            assert snap[name].schema.equals(snapshot_schema(name))


def test_histories_in_other_time_units_are_compared_by_arrow(history):
    tables, clock = history
    def in_ms(table: pa.Table) -> pa.Table:
        for column in ("valid_from", "valid_to"):
            table = table.set_column(table.schema.get_field_index(column), column,
                                     table[column].cast(pa.timestamp("ms", tz="UTC")))
        return table

    coarse = {name: in_ms(t) for name, t in tables.items()}
    at = _us(clock.epoch + dt.timedelta(days=DAYS // 3))
    for name, snap in Snapshots(coarse).at(at).items():
        assert snap.equals(as_of(coarse[name], at).select(snap.column_names)
                           .cast(snapshot_schema(name))), name
