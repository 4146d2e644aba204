"""The dataset card, and the dataset loading as written in `datasets`, polars and DuckDB.

A tiny two-split recipe (one world each, a held-out persona in ``test``) is generated
once per module; the card's front matter is read back with PyYAML and every config it
names is checked against the files and the manifest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
import yaml

import lifeloom
from exporters.card import write_card
from exporters.seeds import private_manifest
from tests.conftest import recipe_library

RECIPE = """
id = "tiny_card"
version = 1
description = "Two splits of one world each: for the dataset card tests."
root_seed = 11
task_families = ["meeting_current_time", "resolve_double_booking"]

[[splits]]
name = "train"
worlds = 1
personas = ["staff_engineer"]

[[splits]]
name = "test"
worlds = 1
personas = ["parent_of_two"]
held_out = { personas = ["parent_of_two"] }
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    library = recipe_library(tmp_path_factory, "tiny_card", RECIPE)
    out = tmp_path_factory.mktemp("card") / "tiny_card"
    lifeloom.generate("tiny_card", out=out, library=library)
    return out


@pytest.fixture(scope="module")
def manifest(dataset) -> dict:
    return json.loads((dataset / "manifest.json").read_text())


@pytest.fixture(scope="module")
def front(dataset) -> dict:
    text = (dataset / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.fixture
def load(monkeypatch, tmp_path):
    """``datasets.load_dataset`` on the local dataset, offline, with a private cache."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    return lambda path, config: datasets.load_dataset(str(path), config,
                                                      cache_dir=str(tmp_path / "hf"))


def _split_rows(dataset: Path, entry: dict) -> dict[str, int]:
    """Rows per split of a table's non-empty files (configs leave empty splits out)."""
    rows = {Path(f).stem: pq.read_metadata(dataset / f).num_rows for f in entry["files"]}
    return {split: n for split, n in rows.items() if n}


def test_the_recipe_makes_two_splits_with_tasks(manifest):
    assert set(manifest["splits"]) == {"train", "test"}
    assert all(split["tasks"] > 0 for split in manifest["splits"].values())


def test_datasets_loads_tasks_oracle_and_tables_with_manifest_counts(dataset, manifest, load):
    tasks = load(dataset, "tasks")
    assert set(tasks) == set(manifest["splits"])
    for name, split in manifest["splits"].items():
        assert tasks[name].num_rows == split["tasks"], name
    assert sum(d.num_rows for d in tasks.values()) == manifest["tables"]["tasks"]["rows"]
    gold = load(dataset, "oracle_gold")
    assert {name: d.num_rows for name, d in gold.items()} == {
        name: split["tasks"] for name, split in manifest["splits"].items()}
    assert set(gold["test"]["task_id"]) == set(tasks["test"]["task_id"])
    for table in ("calendar_events", "snapshots"):
        loaded = load(dataset, table)
        assert {name: d.num_rows for name, d in loaded.items()} == _split_rows(
            dataset, manifest["tables"][table]), table
        assert sum(d.num_rows for d in loaded.values()) == manifest["tables"][table]["rows"]


def test_datasets_loads_every_config_of_the_front_matter(dataset, manifest, front, load):
    entries = {**manifest["tables"],
               **{f"oracle_{name}": e for name, e in manifest["oracle_tables"].items()}}
    for config in front["configs"]:
        name = config["config_name"]
        loaded = load(dataset, name)
        assert {s: d.num_rows for s, d in loaded.items()} == _split_rows(dataset, entries[name])


def test_front_matter_configs_cover_the_tables_and_name_files_that_exist(dataset, manifest,
                                                                        front):
    configs = {c["config_name"]: c for c in front["configs"]}
    assert len(configs) == len(front["configs"])
    assert {f"oracle_{name}" for name in manifest["oracle_tables"]} <= set(configs)
    assert [c["config_name"] for c in front["configs"] if c.get("default")] == ["tasks"]
    for name, config in configs.items():
        assert name.isidentifier(), name
        splits = [f["split"] for f in config["data_files"]]
        assert splits == [s for s in ("train", "test") if s in splits], name  # recipe order
        for entry in config["data_files"]:
            assert (dataset / entry["path"]).is_file(), (name, entry)
            assert Path(entry["path"]).stem == entry["split"], (name, entry)
            assert not entry["path"].startswith("history/"), name
    assert configs["tasks"]["data_files"] == [
        {"split": s, "path": f"tasks/{s}.parquet"} for s in ("train", "test")]
    for name, entry in manifest["tables"].items():  # every table with rows has a config
        paths = sorted(f["path"] for f in configs[name]["data_files"])
        assert paths == sorted(f for f in entry["files"]
                               if pq.read_metadata(dataset / f).num_rows), name
    assert front["license"] == "apache-2.0"
    assert {"synthetic", "agents", "benchmark"} <= set(front["tags"])
    assert front["pretty_name"]


def _all_tables(manifest: dict) -> list[dict]:
    return [entry for group in ("tables", "oracle_tables", "history_tables")
            for entry in manifest[group].values()]


def test_polars_and_duckdb_read_every_file_with_manifest_row_counts(dataset, manifest):
    files = sorted(p.relative_to(dataset).as_posix() for p in dataset.rglob("*.parquet"))
    assert files == sorted(f for entry in _all_tables(manifest) for f in entry["files"])
    for entry in _all_tables(manifest):
        paths = [str(dataset / f) for f in entry["files"]]
        by_polars = sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in paths)
        assert by_polars == entry["rows"], entry["files"]
        quoted = ", ".join(f"'{p}'" for p in paths)
        [(by_duckdb,)] = duckdb.sql(f"select count(*) from read_parquet([{quoted}])").fetchall()
        assert by_duckdb == entry["rows"], entry["files"]
        frame = pl.scan_parquet(paths).collect()  # every split together, one schema
        assert frame.height == entry["rows"]


def test_every_table_has_one_schema_across_splits(dataset, manifest):
    for entry in _all_tables(manifest):
        schemas = {f: [(x.name, x.type, x.nullable) for x in pq.read_schema(dataset / f)]
                   for f in entry["files"]}
        first = next(iter(schemas.values()))
        assert len(schemas) == len(manifest["splits"])
        for file, schema in schemas.items():
            assert schema == first, file


def test_card_names_the_recipe_and_says_the_people_are_fictional(dataset, manifest):
    card = (dataset / "README.md").read_text()
    assert "Recipe: `tiny_card` version 1" in card
    assert manifest["recipe_hash"] in card
    assert "people, companies, phone numbers and addresses are fictional" in card
    assert "lifeloom generate --recipe tiny_card" in card
    assert f"`{manifest['root_seed']}`" in card
    assert "cannot be regenerated" not in card
    for name in manifest["splits"]:
        assert f"| {name} |" in card
    assert "parent_of_two" in card  # the test split's held-out persona
    assert "lifeloom grade DATASET --task" in card
    assert "oracle_gold" in card


def test_card_is_deterministic_and_private_seeds_withhold_the_seeds(dataset, manifest,
                                                                    tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    write_card(copy, manifest)
    assert (copy / "README.md").read_bytes() == (dataset / "README.md").read_bytes()
    public, kept = private_manifest(manifest)
    write_card(copy, public)
    card = (copy / "README.md").read_text()
    assert "cannot be regenerated" in card
    assert "lifeloom check DATASET --seeds FILE" in card
    assert "lifeloom generate --recipe" not in card
    assert "| yes |" not in card
    for world in kept["worlds"]:
        assert str(world["seed"]) not in card, world["world_id"]
    assert f"`{manifest['root_seed']}`" not in card
    assert "Root seed:" not in card
    assert "people, companies, phone numbers and addresses are fictional" in card


def test_a_split_without_rows_is_left_out_of_its_config(dataset, manifest, tmp_path, load):
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    for file in ("data/calendar_events/train.parquet", *manifest["tables"]["todos"]["files"]):
        pq.write_table(pq.read_schema(copy / file).empty_table(), copy / file)
    # A world with no rows leads a compacted file with a zero-row group: still readable.
    snapshots = pq.read_table(copy / "data/snapshots/test.parquet")
    with pq.ParquetWriter(copy / "data/snapshots/test.parquet", snapshots.schema) as writer:
        writer.write_table(snapshots.slice(0, 0))
        writer.write_table(snapshots)
    write_card(copy, manifest)
    card = (copy / "README.md").read_text()
    configs = {c["config_name"]: c for c in yaml.safe_load(card.split("---\n")[1])["configs"]}
    assert "todos" not in configs
    assert configs["calendar_events"]["data_files"] == [
        {"split": "test", "path": "data/calendar_events/test.parquet"}]
    assert "`calendar_events` (train)" in card
    assert set(load(copy, "calendar_events")) == {"test"}
    assert load(copy, "snapshots")["test"].num_rows == snapshots.num_rows
