"""Leak-free splits: ``check`` finds what one split shares with, or takes from, another.

Three tiny datasets are generated once per module: ``main`` (splits train, test and
test_hi paired with test, test holding a task family, a storyline, a persona and a prompt
template out), ``other`` (another root seed and persona variation) and ``private`` (with
``--private-seeds``). Each leak test tampers a copy of ``main``. Tampering a table also
breaks its content hash, so those tests assert that the leak itself is reported too: the
leak checks run even when a table check fails.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from exporters.check import check_dataset
from exporters.cli import main
from exporters.generate import generate
from exporters.leaks import cross_problems, split_problems
from exporters.loading import Dataset
from personas.library import load_personas
from scenarios.library import load_recipes, load_storylines, load_task_families
from scenarios.noise import load_profiles
from tests.conftest import recipe_library

MAIN = """
id = "leaks_main"
version = 1
description = "Three splits, two of them paired, the test split holding things out."
root_seed = 6
days = 30
task_families = ["meeting_current_time", "resolve_double_booking"]

[[splits]]
name = "train"
worlds = 2
personas = ["parent_of_two"]

[[splits]]
name = "test"
worlds = 1
personas = ["staff_engineer"]
first_variation = 5
paired_with = ["test_hi"]
held_out = { task_families = ["resolve_double_booking"], personas = ["staff_engineer"], \
storylines = ["bill_before_salary"], prompts = ["meeting_current_time/simple/0"] }

[[splits]]
name = "test_hi"
worlds = 1
personas = ["staff_engineer"]
first_variation = 5
noise_ratio = 8
paired_with = ["test"]
"""
OTHER = """
id = "leaks_other"
version = 1
description = "One world of another root seed and persona variation."
root_seed = 99
days = 14
task_families = ["meeting_current_time"]

[[splits]]
name = "train"
worlds = 1
personas = ["parent_of_two"]
first_variation = 7
"""


def _generate(tmp_path_factory, text: str, *, private: bool = False) -> Path:
    recipe_id = text.split('id = "')[1].split('"')[0]
    library = recipe_library(tmp_path_factory, recipe_id, text)
    storylines = load_storylines(library)
    out = tmp_path_factory.mktemp("data") / recipe_id
    generate(load_recipes(library)[recipe_id], out, personas=load_personas(library),
             storylines=storylines, families=load_task_families(library, storylines),
             profiles=load_profiles(library), private_seeds=private)
    return out


@pytest.fixture(scope="module")
def main_set(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory, MAIN)


@pytest.fixture(scope="module")
def other_set(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory, OTHER)


@pytest.fixture(scope="module")
def private_set(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory, OTHER, private=True)


@pytest.fixture
def copy(main_set, tmp_path) -> Path:
    """A copy of ``main`` to tamper with."""
    return Path(shutil.copytree(main_set, tmp_path / "copy"))


def manifest_of(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text())


def edit_manifest(path: Path, edit) -> None:
    manifest = manifest_of(path)
    edit(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))


def edit_table(path: Path, rel: str, column: str, value) -> None:
    """Set ``column`` of every row of ``rel`` to ``value``."""
    table = pq.read_table(path / rel)
    i = table.schema.get_field_index(column)
    filled = pa.array([value] * table.num_rows, table.schema.field(column).type)
    pq.write_table(table.set_column(i, table.schema.field(column), filled), path / rel)


def worlds(path: Path, split: str) -> list[dict]:
    return [w for w in manifest_of(path)["worlds"] if w["split"] == split]


def lifeloom(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Run the command line in this process: (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["lifeloom", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def test_the_generated_splits_are_leak_free_and_paired_splits_share_their_worlds(main_set):
    ds = Dataset(main_set)
    assert split_problems(ds) == []
    test, test_hi = worlds(main_set, "test")[0], worlds(main_set, "test_hi")[0]
    assert (test["seed"], test["persona_instance"]) == (test_hi["seed"],
                                                        test_hi["persona_instance"])
    train_tasks = pq.read_table(main_set / "tasks" / "train.parquet")
    assert train_tasks.num_rows > 0  # the tampering tests below edit these rows
    assert "resolve_double_booking" in pq.read_table(
        main_set / "tasks" / "test.parquet")["family"].to_pylist()
    report = check_dataset(main_set)
    assert report.ok, report.failures


def test_a_seed_shared_between_unpaired_splits_fails(copy):
    seed = worlds(copy, "test")[0]["seed"]
    edit_manifest(copy, lambda m: m["worlds"][0].update(seed=seed))  # a train world
    failures = check_dataset(copy).failures
    train = worlds(copy, "train")[0]["world_id"]
    assert any(f"world {train} of split train" in f and f"seed {seed}" in f
               and "split test " in f for f in failures), failures
    assert any("split test_hi" in f and f"seed {seed}" in f for f in failures), failures


def test_a_held_out_task_family_leaked_into_train_fails(copy):
    edit_table(copy, "tasks/train.parquet", "family", "resolve_double_booking")
    failures = check_dataset(copy).failures
    assert "tasks: content hash differs from the manifest's" in failures
    leak = [f for f in failures if "task family 'resolve_double_booking'" in f]
    assert len(leak) == 1, failures
    assert leak[0].startswith("split train: task family 'resolve_double_booking' is held out "
                              "for split test but used in ")
    tasks = pq.read_table(copy / "tasks" / "train.parquet")
    assert all(w in leak[0] for w in set(tasks["world_id"].to_pylist())), leak


def test_a_held_out_family_in_the_gold_table_alone_is_found(copy):
    edit_table(copy, "oracle/gold/train.parquet", "family", "resolve_double_booking")
    assert any("split train: task family 'resolve_double_booking' is held out" in p
               for p in split_problems(Dataset(copy)))


def test_a_held_out_prompt_template_leaked_into_train_fails(copy):
    gold = pq.read_table(copy / "oracle" / "gold" / "train.parquet")
    assert set(gold["family"].to_pylist()) == {"meeting_current_time"}
    edit_table(copy, "oracle/gold/train.parquet", "prompt_template", 0)
    edit_table(copy, "tasks/train.parquet", "difficulty", "simple")
    problems = split_problems(Dataset(copy))
    assert any("prompt template 'meeting_current_time/simple/0' is held out for split test"
               in p for p in problems), problems


def test_a_held_out_storyline_and_persona_leaked_into_train_fail(copy):
    edit_manifest(copy, lambda m: m["worlds"][0].update(persona="staff_engineer"))
    edit_table(copy, "oracle/storylines/train.parquet", "family", "bill_before_salary")
    problems = split_problems(Dataset(copy))
    assert any("split train: persona 'staff_engineer' is held out for split test" in p
               for p in problems), problems
    assert any("split train: storyline 'bill_before_salary' is held out for split test" in p
               for p in problems), problems


def test_a_shared_persona_instance_or_user_between_unpaired_splits_fails(copy):
    test = worlds(copy, "test")[0]
    wid = pq.read_table(copy / "data" / "snapshots" / "train.parquet")["world_id"][0].as_py()
    edit_manifest(copy, lambda m: next(w for w in m["worlds"] if w["world_id"] == wid)
                  .update(persona_instance=test["persona_instance"]))
    user = pq.read_table(copy / "data" / "snapshots" / "test.parquet").to_pylist()[0]
    for column in ("user_name", "user_email", "user_phone"):
        edit_table(copy, "data/snapshots/train.parquet", column, user[column])
    failures = check_dataset(copy).failures
    assert any(f"world {wid} of split train" in f
               and f"persona instance {test['persona_instance']}" in f
               and f"user {user['user_name']} <{user['user_email']}>" in f
               and f"world {test['world_id']} of split test " in f for f in failures), failures


def test_against_another_dataset(main_set, other_set, copy):
    assert cross_problems(Dataset(main_set), Dataset(other_set)) == []
    assert check_dataset(other_set, against=main_set).ok
    failures = check_dataset(main_set, against=copy).failures
    for w in manifest_of(main_set)["worlds"]:
        assert any(f"world {w['world_id']} of split {w['split']} and world {w['world_id']} "
                   f"of split {w['split']} of {copy}" in f and f"seed {w['seed']}" in f
                   for f in failures), (w["world_id"], failures)


def test_seeds_file_verifies_commitments(private_set, tmp_path):
    seeds = private_set.with_name(private_set.name + ".seeds.json")
    assert str(worlds(private_set, "train")[0]["seed"]).startswith("sha256:")
    report = check_dataset(private_set, seeds=seeds)
    assert report.ok, report.failures
    kept = json.loads(seeds.read_text())
    kept["worlds"][0]["seed"] += 1
    tampered = tmp_path / "tampered.seeds.json"
    tampered.write_text(json.dumps(kept))
    wid = kept["worlds"][0]["world_id"]
    assert check_dataset(private_set, seeds=tampered).failures == [
        f"world {wid}: seed does not match its commitment"]


def test_command_line_exit_codes(main_set, private_set, copy, tmp_path, monkeypatch, capsys):
    def check(*args) -> tuple[int, str]:
        return lifeloom(monkeypatch, capsys, "check", *args)

    seeds = private_set.with_name(private_set.name + ".seeds.json")
    code, err = check(private_set, "--seeds", seeds, "--against", main_set)
    assert code == 0, err
    code, err = check(main_set, "--against", copy, "--sample", "1")
    assert code == 1, err
    assert f"FAIL world {worlds(main_set, 'test')[0]['world_id']} of split test" in err
    code, err = check(main_set, "--against", tmp_path)
    assert code == 2, err
    assert "error: --against:" in err
    code, err = check(main_set, "--seeds", tmp_path / "no.json")
    assert code == 2, err
    assert "error: --seeds:" in err
    (tmp_path / "bad.json").write_text("{not json")
    code, err = check(main_set, "--seeds", tmp_path / "bad.json")
    assert code == 2, err
    assert "error: --seeds:" in err
