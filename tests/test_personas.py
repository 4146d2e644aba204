"""Personas: every shipped spec runs, they lead different lives, variations stay in bounds."""

import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from personas.instance import instantiate
from sim.measure import events_by_service
from sim.services import CATALOGUE
from tests.conftest import PERSONA_IDS, PERSONAS, world


def test_at_least_twelve_personas_in_distinct_zones_including_the_south():
    assert len(PERSONAS) >= 12
    zones = {p.timezone for p in PERSONAS.values()}
    assert len(zones) >= 8
    south = ("Australia/", "Pacific/Auckland", "America/Sao_Paulo", "Africa/Johannesburg")
    assert any(z.startswith(south) for z in zones)
    assert any(b.overnight for p in PERSONAS.values() for b in p.work.blocks)


@pytest.mark.parametrize("persona", PERSONA_IDS)
def test_every_shipped_persona_runs_for_seven_days(persona):
    tables = world(persona, 0, 7)
    assert tables.events.num_rows > 200
    services = set(tables.events["service"].to_pylist())
    assert services <= set(PERSONAS[persona].services)
    assert len(services) >= 8


def _shares(persona: str) -> np.ndarray:
    counts = events_by_service(world(persona, 0, 42).events)
    total = sum(counts.values())
    return np.array([counts.get(s, 0) / total for s in sorted(CATALOGUE)])


def test_personas_differ_in_how_their_activity_spreads_over_services():
    shares = {p: _shares(p) for p in PERSONA_IDS}
    for a, b in itertools.combinations(PERSONA_IDS, 2):
        assert np.abs(shares[a] - shares[b]).sum() >= 0.2, (a, b)


def test_the_night_shift_worker_is_active_at_night():
    nurse = next(p for p in PERSONA_IDS if any(b.overnight for b in PERSONAS[p].work.blocks)
                 and PERSONAS[p].work.works_public_holidays)
    events = world(nurse, 0, 28).events
    user = events.filter(pc.equal(events["actor"], "user"))
    local = pc.local_timestamp(user["ts"].cast(pa.timestamp("us", tz=PERSONAS[nurse].timezone)))
    hours = pc.hour(local).to_numpy()
    assert ((hours >= 0) & (hours < 5)).mean() > 0.1
    office = world("staff_engineer", 0, 28).events
    office_user = office.filter(pc.equal(office["actor"], "user"))
    o_local = pc.local_timestamp(office_user["ts"].cast(
        pa.timestamp("us", tz=PERSONAS["staff_engineer"].timezone)))
    o_hours = pc.hour(o_local).to_numpy()
    assert ((o_hours >= 0) & (o_hours < 5)).mean() < ((hours >= 0) & (hours < 5)).mean() / 3


@pytest.mark.parametrize("persona", PERSONA_IDS)
def test_variations_stay_within_bounds_and_variation_zero_is_canonical(persona):
    spec = PERSONAS[persona]
    canon = instantiate(spec, 0)
    again = instantiate(spec, 0)
    assert (canon.instance_id, canon.full_name) == (again.instance_id, again.full_name)
    assert canon.budget_factor == 1.0
    ids = {canon.instance_id}
    for v in (1, 2, 3):
        inst = instantiate(spec, v)
        ids.add(inst.instance_id)
        assert 0.8 <= inst.budget_factor <= 1.2
        assert 40 <= len(inst.contacts) <= 150
        assert inst.city in spec.cities
        assert set(inst.interests) <= set(spec.interests)
    assert len(ids) == 4
    assert 40 <= len(canon.contacts) <= 150


@pytest.mark.parametrize("persona", PERSONA_IDS)
def test_ten_closest_people_carry_much_of_the_personal_traffic(persona):
    spec = PERSONAS[persona]
    person = instantiate(spec, 0)
    tables = world(persona, 0, 42)
    names = []
    for table, col in (("sms_messages", "contact_name"), ("call_log", "contact_name"),
                       ("personal_emails", "from_name")):
        t = tables.history[table]
        names += [n for n in t[col].to_pylist() if n]
    c = person.contacts
    personal = {c.full_name[i] for i in c.of_kind("family", "friends")}
    counts = {}
    for n in names:
        if n in personal:
            counts[n] = counts.get(n, 0) + 1
    assert sum(counts.values()) >= 30, "too little personal traffic to measure"
    top = sorted(counts.values(), reverse=True)[:10]
    assert sum(top) / sum(counts.values()) >= 0.4


def test_contacts_form_communities_and_use_fictional_numbers():
    person = instantiate(PERSONAS[PERSONA_IDS[0]], 0)
    c = person.contacts
    n = len(c)
    same = sum(1 for u, v in c.graph.edges if c.kind[u] == c.kind[v])
    _, sizes = np.unique(c.kind, return_counts=True)
    pairs_same = sum(k * (k - 1) / 2 for k in sizes)
    pairs_cross = n * (n - 1) / 2 - pairs_same
    inside = same / pairs_same
    across = (c.graph.number_of_edges() - same) / pairs_cross
    assert inside > 5 * across  # communities: dense inside, sparse between
    assert all(e.endswith((".example", "example.com", ".test")) for e in c.email)
    assert all(p.startswith(("+1 (", "+44 7700 900", "+61 2 5550")) for p in c.phone)
    if p := [x for x in c.phone if x.startswith("+1 (")]:
        assert all(" 555-01" in x for x in p)
