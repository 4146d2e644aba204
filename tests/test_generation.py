"""Generating a recipe at scale: worker counts, backends, resuming, refusing bad input.

One small two-split recipe is generated once, in this process, as the reference every
other way of generating it must equal (content hashes of every table).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from exporters import api, backends
from exporters.api import generate
from exporters.partial import partial_path
from exporters.split_stats import split_stats
from personas.errors import SpecError
from scenarios.environments import spread
from scenarios.library import SHIPPED, load_recipes
from scenarios.recipe_spec import plan_worlds
from sim.measure import word_counts
from sim.services import TABLE_SERVICE, TABLES
from tests.conftest import recipe_library

RECIPE = """
id = "scale"
version = 1
description = "Two splits of two short worlds: for generation tests."
root_seed = 5
days = 40
task_families = ["meeting_current_time", "resolve_double_booking"]

[[splits]]
name = "train"
worlds = 3
personas = ["staff_engineer", "parent_of_two"]

[[splits]]
name = "test"
worlds = 2
personas = ["staff_engineer", "parent_of_two"]
first_variation = 50
"""


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exporters.cli", *args], capture_output=True,
                          text=True, timeout=900, env=env)


def hashes(out: Path) -> dict[str, str]:
    manifest = json.loads((out / "manifest.json").read_text())
    return {f"{group}/{name}": entry["content_hash"]
            for group in ("tables", "oracle_tables", "history_tables")
            for name, entry in manifest[group].items()}


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    return recipe_library(tmp_path_factory, "scale", RECIPE)


@pytest.fixture(scope="module")
def reference(library, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "scale"
    generate("scale", out=out, library=library)
    return out


def test_layout_is_one_file_per_table_and_split(reference):
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["tables"]["tasks"]["files"] == ["tasks/test.parquet", "tasks/train.parquet"]
    assert manifest["splits"]["train"]["worlds"] == 3
    assert (reference / "README.md").is_file()
    assert not partial_path(reference).exists()
    assert [(w["split"], w["index"]) for w in manifest["worlds"]] == [
        ("train", 0), ("train", 1), ("train", 2), ("test", 0), ("test", 1)]


def test_two_workers_write_what_one_does(library, reference, tmp_path):
    r = cli("generate", "--recipe", "scale", "--library", str(library), "--workers", "2",
            "--out", str(tmp_path / "scale"))
    assert r.returncode == 0, r.stderr
    assert hashes(tmp_path / "scale") == hashes(reference)


def test_ray_writes_what_the_local_pool_does(library, reference, tmp_path):
    r = cli("generate", "--recipe", "scale", "--library", str(library), "--backend", "ray",
            "--workers", "2", "--out", str(tmp_path / "scale"),
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    assert r.returncode == 0, r.stderr
    assert hashes(tmp_path / "scale") == hashes(reference)


def test_a_run_killed_midway_resumes_without_redoing_finished_worlds(
        library, reference, tmp_path, monkeypatch):
    out = tmp_path / "scale"
    env = {**os.environ, "LIFELOOM_FAULT_AFTER_WORLDS": "2"}
    r = cli("generate", "--recipe", "scale", "--library", str(library), "--workers", "2",
            "--out", str(out), env=env)
    assert r.returncode == 75, r.stderr
    assert not out.exists()
    shards = sorted(partial_path(out).glob("worlds/*/*/world.json"))
    assert len(shards) >= 2
    made = []
    real = backends.make_shard
    monkeypatch.setattr(backends, "make_shard",
                        lambda recipe, plan, *a: made.append((plan.split, plan.index))
                        or real(recipe, plan, *a))
    generate("scale", out=out, library=library)
    finished = {(p.parent.parent.name, int(p.parent.name)) for p in shards}
    assert not finished & set(made)
    assert len(made) == 5 - len(finished)
    assert hashes(out) == hashes(reference)
    assert not partial_path(out).exists()


def test_an_existing_dataset_of_the_same_recipe_is_left_alone(library, reference):
    before = {p: p.stat().st_mtime_ns for p in reference.rglob("*.parquet")}
    manifest = generate("scale", out=reference, library=library)
    assert manifest == json.loads((reference / "manifest.json").read_text())
    assert before == {p: p.stat().st_mtime_ns for p in reference.rglob("*.parquet")}
    r = cli("generate", "--recipe", "scale", "--library", str(library), "--out", str(reference))
    assert r.returncode == 0, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"already there, left as it was: {reference}"), last
    assert before == {p: p.stat().st_mtime_ns for p in reference.rglob("*.parquet")}


def test_adding_a_split_renumbers_nothing_and_pairs_share_worlds():
    recipes = load_recipes()
    sweep = plan_worlds(recipes["noise_sweep"])
    by_split: dict[str, list] = {}
    for plan in sweep:
        by_split.setdefault(plan.split, []).append(plan)
    seeds = {split: [p.seed for p in plans] for split, plans in by_split.items()}
    assert len({tuple(s) for s in seeds.values()}) == 1  # paired: the same worlds
    assert {p.noise_ratio for p in sweep} == {1, 4, 16, 64}
    train = plan_worlds(recipes["train_2k"])
    alone = plan_worlds(recipes["train_2k"].model_copy(
        update={"splits": recipes["train_2k"].splits[1:]}))
    assert [p for p in train if p.split == "test"] == alone
    assert len({p.seed for p in train}) == len(train)


BAD = {
    "unknown_key": ('surprise = 1\n', "surprise"),
    "malformed": ('[[splits]\n', "malformed TOML"),
    "unknown_persona": ('', "bad.toml:splits.train.personas[0]"),
    "unknown_family": ('', "bad.toml:task_families[0]"),
    "shared_people": ('', "splits.test.first_variation"),
    "not_a_date": ('start = "next monday"\n', "bad.toml:start"),
    "past_the_last_day": ('start = "9998-12-01"\n', "runs past 9998-12-31"),
    "split_past_the_last_day": ('start = "9998-10-01"\n', "splits[1].days: 9998-10-01 plus"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_recipe_exits_2_naming_file_and_key(case, tmp_path):
    text = RECIPE.replace('id = "scale"', 'id = "bad"')
    extra, where = BAD[case]
    if case == "unknown_persona":
        text = text.replace('["staff_engineer", "parent_of_two"]\n\n[[splits]]',
                            '["nobody"]\n\n[[splits]]')
    elif case == "unknown_family":
        text = text.replace('"meeting_current_time"', '"no_such_family"')
    elif case == "split_past_the_last_day":  # the recipe's 40 days fit; the split's do not
        text = extra + text.replace("first_variation = 50", "first_variation = 50\ndays = 200")
    elif case == "shared_people":
        text = text.replace("first_variation = 50", "first_variation = 1")
    else:
        text = extra + text
    (tmp_path / "lib" / "recipes").mkdir(parents=True)
    (tmp_path / "lib" / "recipes" / "bad.toml").write_text(text)
    out = tmp_path / "out"
    r = cli("generate", "--recipe", "bad", "--library", str(tmp_path / "lib"),
            "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert where in r.stderr
    assert not out.exists()
    assert not partial_path(out).exists()


def test_a_task_family_that_fails_on_a_real_instance_names_its_file_and_key(tmp_path):
    # It loads (a field name cannot be checked before a record exists), then fails when the
    # first task is rendered: exit 2, the file and key named, nothing written.
    source = (SHIPPED / "tasks" / "meeting_current_time.toml").read_text()
    old = 'reply = "{title} is now on'
    assert old in source
    (tmp_path / "lib" / "tasks").mkdir(parents=True)
    path = tmp_path / "lib" / "tasks" / "broken.toml"
    path.write_text(source.replace('id = "meeting_current_time"', 'id = "broken_ask"', 1)
                    .replace(old, 'reply = "{meeting.colour} {title} is now on', 1))
    (tmp_path / "lib" / "recipes").mkdir()
    (tmp_path / "lib" / "recipes" / "broken.toml").write_text(
        RECIPE.replace('id = "scale"', 'id = "broken"')
        .replace('["meeting_current_time", "resolve_double_booking"]', '["broken_ask"]'))
    out = tmp_path / "out"
    r = cli("generate", "--recipe", "broken", "--library", str(tmp_path / "lib"),
            "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: {path}:reply: meeting has no field 'colour'")
    assert not out.exists()
    assert not partial_path(out).exists()


def test_a_target_below_the_floor_leaves_nothing_to_block_the_next_run(library, tmp_path):
    """Below the floor every run of that target fails the same way: no .partial (which
    refused the corrected command as "another recipe") and no seeds file are left."""
    out = tmp_path / "scale"
    r = cli("generate", "--recipe", "scale", "--library", str(library), "--out", str(out),
            "--noise-ratio", "0", "--private-seeds")
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: --noise-ratio: target 0 ")
    assert sorted(tmp_path.iterdir()) == []


def test_a_partial_of_another_recipe_or_an_unwritable_out_exits_2(library, tmp_path):
    out = tmp_path / "scale"
    partial_path(out).mkdir(parents=True)
    (partial_path(out) / "state.json").write_text('{"recipe_hash": "other"}')
    r = cli("generate", "--recipe", "scale", "--library", str(library), "--out", str(out))
    assert r.returncode == 2
    assert "--out" in r.stderr
    assert "--restart" in r.stderr
    assert not out.exists()
    r = cli("generate", "--recipe", "scale", "--library", str(library), "--out", str(out),
            "--private-seeds")
    assert r.returncode == 2
    assert not out.with_name("scale.seeds.json").exists()  # refused: no secret drawn for it
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    r = cli("generate", "--recipe", "scale", "--library", str(library),
            "--out", str(blocker / "x"))
    assert r.returncode == 2
    assert "--out" in r.stderr


def test_another_recipes_dataset_is_not_overwritten(library, reference, tmp_path):
    out = tmp_path / "taken"
    shutil.copytree(reference, out)
    r = cli("generate", "--recipe", "smoke", "--out", str(out))
    assert r.returncode == 2
    assert "another recipe" in r.stderr
    assert hashes(out) == hashes(reference)


def test_a_dataset_or_run_of_other_specs_is_neither_reused_nor_resumed(library, reference,
                                                                        tmp_path):
    # The same recipe over a library with one storyline more: its worlds could differ.
    edited = tmp_path / "edited"
    shutil.copytree(library, edited)
    (edited / "storylines").mkdir()
    (edited / "storylines" / "mine.toml").write_text(
        (SHIPPED / "storylines" / "refund_not_posted.toml").read_text()
        .replace("refund_not_posted", "my_story", 1))
    out = tmp_path / "taken"
    shutil.copytree(reference, out)
    r = cli("generate", "--recipe", "scale", "--library", str(edited), "--out", str(out))
    assert r.returncode == 2
    assert "spec library" in r.stderr
    assert hashes(out) == hashes(reference)
    killed = tmp_path / "killed"
    r = cli("generate", "--recipe", "scale", "--library", str(library), "--out", str(killed),
            env={**os.environ, "LIFELOOM_FAULT_AFTER_WORLDS": "1"})
    assert r.returncode == 75
    shards = sorted(partial_path(killed).rglob("*"))
    r = cli("generate", "--recipe", "scale", "--library", str(edited), "--out", str(killed))
    assert r.returncode == 2
    assert "--restart" in r.stderr
    assert "spec library" in r.stderr
    assert sorted(partial_path(killed).rglob("*")) == shards
    assert not killed.exists()


def test_stats_of_a_dataset_are_per_split(reference):
    r = cli("stats", str(reference), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    manifest = json.loads((reference / "manifest.json").read_text())
    assert set(report["splits"]) == {"train", "test"}
    for name, split in report["splits"].items():
        assert split["worlds"] == manifest["splits"][name]["worlds"]
        assert split["tasks"] == manifest["splits"][name]["tasks"]
        assert sum(split["tasks_by"]["mode"].values()) == split["tasks"]
        words = split["noise_to_signal"]["achieved_words"]
        assert words["min"] <= words["median"] <= words["max"]


def test_stats_intervals_bound_each_split_probe(reference):
    r = cli("stats", str(reference), "--json", "--intervals", "30")
    assert r.returncode == 0, r.stderr
    splits = json.loads(r.stdout)["splits"]
    assert any(s["separability_ci95"] for s in splits.values())
    for split in splits.values():
        ci = split["separability_ci95"]
        assert set(ci) <= set(split["separability"])
        for table, bounds in ci.items():
            assert set(bounds) <= set(split["separability"][table]) - {"signal_records"}
            assert all(0.5 <= low <= high <= 1.0 for low, high in bounds.values())
    plain = json.loads(cli("stats", str(reference), "--json").stdout)
    assert all("separability_ci95" not in s for s in plain["splits"].values())


def _split_rows(out: Path, key: str, split: str) -> pa.Table:
    """Every row of table ``key`` (``history/x``, ``oracle/x``) in ``split``, read without
    the stats code: all listed files, filtered here."""
    manifest = json.loads((out / "manifest.json").read_text())
    group, _, name = key.partition("/")
    files = manifest[f"{group}_tables"][name]["files"]
    table = pa.concat_tables([pq.read_table(out / f) for f in files])
    return table.filter(pc.equal(table["split"], split))


def test_each_split_carries_world_level_stats_of_its_own_rows(reference):
    report = split_stats(reference)["splits"]
    for split, s in report.items():
        events = Counter(_split_rows(reference, "oracle/events", split)["service"].to_pylist())
        assert s["events"] == dict(sorted(events.items()))
        families = _split_rows(reference, "oracle/storylines", split)["family"].to_pylist()
        assert s["storylines"] == dict(sorted(Counter(families).items()))
        assert sum(s["storylines"].values()) > 0
        operators = _split_rows(reference, "oracle/conflicts", split)["operator"].to_pylist()
        assert s["conflicts"] == dict(sorted(Counter(operators).items()))
        labels = _split_rows(reference, "oracle/labels", split).to_pylist()
        signal = {(r["table"], r["world_id"], r["record_id"], r["valid_from"])
                  for r in labels if r["class"] == "signal"}
        words: Counter = Counter()
        signal_words = 0
        for name, spec in TABLES.items():
            rows = _split_rows(reference, f"history/{name}", split)
            if not rows.num_rows:  # a service no world of the split has is not listed
                continue
            per_row = sum((word_counts(rows[c]) for c in spec.text_columns),
                          np.zeros(rows.num_rows, np.int64))
            words[TABLE_SERVICE[name]] += int(per_row.sum())
            keys = zip(rows["world_id"].to_pylist(), rows["record_id"].to_pylist(),
                       rows["valid_from"].to_pylist(), strict=True)
            signal_words += sum(int(n) for n, k in zip(per_row, keys, strict=True)
                                if (name, *k) in signal)
        assert s["words"] == dict(sorted(words.items()))
        assert sum(c["signal"]["words"] for c in s["classes"].values()) == signal_words
        total = sum(words.values())
        assert s["noise_to_signal"]["pooled_words"] == round(
            (total - signal_words) / signal_words, 3)
        for key in ("distractors", "services_per_storyline", "storyline_span_days",
                    "diversity", "separability", "noise_to_signal_by_service", "classes"):
            assert key in s
    # The splits hold different worlds, so their rows and words differ.
    assert report["train"]["events"] != report["test"]["events"]
    assert report["train"]["words"] != report["test"]["words"]


def test_split_stats_pick_rows_by_split_not_by_file(reference, tmp_path):
    # One file per table holding both splits: a reader that took a file for a split would
    # count the other split's worlds too.
    copy = tmp_path / "merged"
    shutil.copytree(reference, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    for group in ("history", "oracle"):
        for name, entry in manifest[f"{group}_tables"].items():
            merged = pa.concat_tables([pq.read_table(copy / f) for f in entry["files"]])
            for f in entry["files"]:
                (copy / f).unlink()
            pq.write_table(merged, copy / group / name / "all.parquet")
            entry["files"] = [f"{group}/{name}/all.parquet"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert split_stats(copy) == split_stats(reference)


def test_split_stats_of_a_dataset_without_world_clocks(reference, tmp_path):
    # Datasets made before world records carried timezone and start read a world's zone
    # from its snapshots and the start from the recipe; a world with neither has no time
    # features, and nothing else changes.
    manifest = json.loads((reference / "manifest.json").read_text())
    assert all(w["timezone"] and w["start"] == manifest["recipe"]["start"]
               for w in manifest["worlds"])
    before = split_stats(reference)
    copy = tmp_path / "old"
    shutil.copytree(reference, copy)
    zones = {w["world_id"]: w.pop("timezone") for w in manifest["worlds"]}
    for w in manifest["worlds"]:
        del w["start"]
    # Short worlds may have no snapshot: give each one, as longer worlds have.
    snapshots = pa.concat_tables([pq.read_table(copy / f)
                                  for f in manifest["tables"]["snapshots"]["files"]])
    row = snapshots.slice(0, 1).to_pylist()[0]
    pq.write_table(pa.Table.from_pylist(
        [{**row, "world_id": w["world_id"], "split": w["split"],
          "timezone": zones[w["world_id"]]} for w in manifest["worlds"]],
        schema=snapshots.schema), copy / "data" / "snapshots" / "every_world.parquet")
    manifest["tables"]["snapshots"]["files"] = ["data/snapshots/every_world.parquet"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert split_stats(copy) == before
    del manifest["tables"]["snapshots"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    after = split_stats(copy)
    timeless = {"local_hour", "weekday"}
    for split, s in after["splits"].items():
        probes = before["splits"][split]["separability"]
        assert s["separability"] == {t: {k: v for k, v in f.items() if k not in timeless}
                                     for t, f in probes.items()}
        assert {k: v for k, v in s.items() if k != "separability"} == {
            k: v for k, v in before["splits"][split].items() if k != "separability"}
    assert any(timeless & set(f) for s in before["splits"].values()
               for f in s["separability"].values())


def test_workers_exit_when_the_driver_dies(tmp_path_factory, tmp_path):
    # Worlds of 400 days take a quarter of a minute: the driver is killed while both workers
    # are starting or in the middle of one, so only their own watch on the driver can stop
    # them within the wait (generous, for a loaded machine).
    library = recipe_library(tmp_path_factory, "long", RECIPE.replace(
        'id = "scale"', 'id = "long"').replace("days = 40", "days = 400"))
    driver = subprocess.Popen([sys.executable, "-m", "exporters.cli", "generate", "--recipe",
                               "long", "--library", str(library), "--workers", "2",
                               "--out", str(tmp_path / "long")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        workers: list[psutil.Process] = []
        while len(workers) < 2 and time.monotonic() < deadline and driver.poll() is None:
            workers = psutil.Process(driver.pid).children(recursive=True)
            time.sleep(0.2)
        assert len(workers) >= 2, "the pool never started"
        time.sleep(4)  # imports done, a world under way in each worker
        driver.kill()  # SIGKILL: no cleanup runs in the driver
        driver.wait()
        _, alive = psutil.wait_procs(workers, timeout=8)
        assert not alive, f"workers outlived the driver: {[p.pid for p in alive]}"
    finally:
        for p in psutil.Process().children(recursive=True):
            p.kill()


def test_check_catches_a_deleted_file_and_a_changed_row(reference, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(reference, copy)
    r = cli("check", str(copy), "--sample", "1", "--json")
    assert r.returncode == 0, r.stdout
    (copy / "data" / "contacts" / "test.parquet").unlink()
    table = pq.read_table(copy / "oracle" / "events" / "train.parquet")
    changed = table.set_column(table.schema.get_field_index("service"), "service",
                               pa.array(["mail"] * table.num_rows))
    pq.write_table(changed.cast(table.schema), copy / "oracle" / "events" / "train.parquet")
    r = cli("check", str(copy), "--json")
    assert r.returncode == 1
    failures = json.loads(r.stdout)["failures"]
    assert "data/contacts/test.parquet: missing" in failures
    assert "events: content hash differs from the manifest's" in failures


def test_snapshots_caps_the_ask_instants_of_each_world(tmp_path_factory, tmp_path, reference):
    assert spread(list(range(10)), 3) == [0, 4, 9]
    assert spread(list(range(3)), 5) == [0, 1, 2]
    text = RECIPE.replace('id = "scale"', 'id = "capped"').replace(
        "worlds = 3\n", "worlds = 3\nsnapshots = 1\n")
    library = recipe_library(tmp_path_factory, "capped", text)
    manifest = generate("capped", out=tmp_path / "capped", library=library)
    uncapped = json.loads((reference / "manifest.json").read_text())
    capped = [w["environments"] for w in manifest["worlds"] if w["split"] == "train"]
    full = [w["environments"] for w in uncapped["worlds"] if w["split"] == "train"]
    assert max(capped) == 1
    assert max(full) > 1  # the cap really cut something


@pytest.mark.parametrize(("call", "what"), [
    (lambda tmp: generate("no_such_recipe", out=tmp / "o"), "recipe"),
    (lambda tmp: api.world("nobody", days=2, out=tmp / "w"), "persona"),
    (lambda tmp: api.world("retiree", days=2, noise="roaring", out=tmp / "w"), "noise profile"),
])
def test_the_api_names_an_unknown_id(call, what, tmp_path):
    """As the command line does: a SpecError naming what is known, not a bare KeyError."""
    with pytest.raises(SpecError, match=f"unknown {what} .*; known: "):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []
