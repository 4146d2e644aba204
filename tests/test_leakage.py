"""Labels live on the oracle side only: nothing agent-visible names or hints at them."""

import pytest

from exporters.world_dataset import build_world
from personas.library import load_personas
from scenarios.library import load_storylines
from scenarios.noise import load_profiles

FORBIDDEN_COLUMNS = ("label", "class", "storyline", "template", "generation", "conflict",
                     "role", "signal", "noise", "distractor")
CLASS_NAMES = {"signal", "conflict", "distractor", "noise", "routine"}


@pytest.fixture(scope="module")
def tables():
    return build_world(load_personas()["staff_engineer"], seed=4, days=45,
                       families=load_storylines(), storylines=6,
                       noise=load_profiles()["typical"])


def test_no_agent_visible_column_is_a_label(tables):
    for name, table in tables.history.items():
        for column in table.column_names:
            assert not any(word in column for word in FORBIDDEN_COLUMNS), (name, column)


def test_no_agent_visible_value_is_a_label_class_or_an_instance_id(tables):
    instances = set(tables.labels["storyline_instance_id"].to_pylist())
    assert instances
    for name, table in tables.history.items():
        for column in table.column_names:
            if table.schema.field(column).type != "string":
                continue
            values = set(table[column].drop_null().to_pylist())
            assert not values & CLASS_NAMES, (name, column)
            assert not values & instances, (name, column)


def test_labels_point_at_real_record_versions(tables):
    for row in tables.labels.to_pylist():
        table = tables.history[row["table"]]
        matches = [r for r in table.select(["record_id", "valid_from"]).to_pylist()
                   if r["record_id"] == row["record_id"] and r["valid_from"] == row["valid_from"]]
        assert len(matches) == 1, row
