"""The default 100-day world is big and varied enough (definitions in sim/measure.py)."""

import pyarrow as pa
import pytest

from exporters.world_dataset import build_world
from personas.instance import instantiate
from personas.text.diversity import text_diversity
from sim.measure import events_by_service, words_by_service
from tests.conftest import DEFAULT_PERSONA, PERSONA_IDS, PERSONAS


def check_size(persona: str, seed: int) -> None:
    tables = build_world(PERSONAS[persona], seed=seed, days=100)
    events = events_by_service(tables.events)
    words = words_by_service(tables.history)
    n_events, n_words = sum(events.values()), sum(words.values())
    assert n_events >= 15_000
    assert n_words >= 200_000
    assert sum(c / n_events >= 0.01 for c in events.values()) >= 12, events
    assert max(words.values()) / n_words <= 0.40, words
    assert events.get("device_activity", 0) / n_events <= 0.40


def test_default_world_size():
    check_size(DEFAULT_PERSONA, 0)


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONA_IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_every_persona_world_size(persona, seed):
    check_size(persona, seed)


def email_diversity(persona: str, seed: int) -> dict:
    tables = build_world(PERSONAS[persona], seed=seed, days=100)
    bodies = pa.concat_arrays([tables.history[t]["body"].combine_chunks()
                               for t in ("personal_emails", "work_emails")
                               if tables.history[t].num_rows])
    person = instantiate(PERSONAS[persona], 0)
    products = tables.history["shop_products"]["title"].to_pylist()
    names = [*person.contacts.full_name, *person.contacts.first_name, person.full_name]
    return text_diversity(bodies, names=names, products=products).to_dict()


def test_default_world_email_bodies_are_diverse():
    d = email_diversity(DEFAULT_PERSONA, 0)
    assert d["skeletons"] >= 300
    assert d["top_share"] <= 0.02
    assert d["top10_share"] <= 0.10


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONA_IDS)
def test_every_persona_email_bodies_are_diverse(persona):
    d = email_diversity(persona, 0)
    assert d["skeletons"] >= 300
    assert d["top_share"] <= 0.02
    assert d["top10_share"] <= 0.10
