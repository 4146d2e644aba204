"""A generated benchmark dataset, end to end through the command line.

One small recipe (two worlds, two task families) is generated once per module with
``lifeloom generate --library``; the tests read it back the way users and harnesses do:
``check``, ``show``, ``tools``, ``grade`` with actions, a final state or many runs, the
Python API, and the portable predicate evaluator reading only files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import lifeloom
from exporters.loading import load
from exporters.runs import grade_actions
from scenarios import predicates
from sim.tools import NAME
from tests.conftest import recipe_library

RECIPE = """
id = "tiny"
version = 1
description = "Two worlds, two task families: for tests."
root_seed = 11
task_families = ["meeting_current_time", "resolve_double_booking"]

[[splits]]
name = "test"
worlds = 2
personas = ["staff_engineer", "parent_of_two"]
"""
LABEL_COLUMNS = {"class", "label", "storyline_instance_id", "role", "template", "conflict_id"}


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exporters.cli", *args], capture_output=True,
                          text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    return recipe_library(tmp_path_factory, "tiny", RECIPE)


@pytest.fixture(scope="module")
def dataset(library, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "tiny"
    r = cli("generate", "--recipe", "tiny", "--library", str(library), "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_layout_tables_and_check(dataset):
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["tasks"] > 0
    assert {"tasks", "snapshots", "calendar_events"} <= set(manifest["tables"])
    assert {"gold", "events", "labels"} <= set(manifest["oracle_tables"])
    tasks = pl.read_parquet(dataset / "tasks" / "test.parquet")
    for column in ("task_id", "snapshot_id", "world_id", "family", "mode", "category",
                   "difficulty", "prompt", "services", "language"):
        assert column in tasks.columns
    r = cli("check", str(dataset))
    assert r.returncode == 0, r.stderr
    assert "tasks self-checked" in r.stderr


def test_snapshots_hold_nothing_from_after_their_instant_and_no_labels(dataset):
    snaps = pl.read_parquet(dataset / "data" / "snapshots" / "test.parquet")
    as_of = dict(zip(snaps["snapshot_id"], snaps["as_of"], strict=True))
    for table_dir in (dataset / "data").iterdir():
        frame = pl.read_parquet(table_dir / "test.parquet")
        assert not LABEL_COLUMNS & set(frame.columns), table_dir.name
        assert "valid_to" not in frame.columns
        if table_dir.name == "snapshots" or not frame.height:
            continue
        later = frame.filter(pl.col("valid_from") > pl.col("snapshot_id").replace_strict(as_of))
        assert later.height == 0, table_dir.name


def test_predicate_evaluator_reading_files_agrees_with_the_grader(dataset, tmp_path):
    ds = load(dataset)
    for task_id in ds.tasks["task_id"]:
        gold = ds.gold(task_id)
        documents = [json.loads(gold["required_effects"]),
                     *json.loads(gold["forbidden_effects"])]
        documents = [d for d in documents if d is not None]
        reference = ds.solutions(task_id, "reference")[0]
        for name, calls in (("reference", reference.calls), ("nothing", ())):
            box = ds.toolbox(task_id)
            initial_dir = tmp_path / task_id / name / "initial"
            final_dir = tmp_path / task_id / name / "final"
            _write_state(box.workspace.final_state(), initial_dir)
            for call in calls:
                box.call(call["tool"], call["args"])
            _write_state(box.workspace.final_state(), final_dir)
            verdict = grade_actions(ds, task_id, list(calls), reference.reply)
            in_process = {c.name: c.passed for c in verdict.checks}
            for i, document in enumerate(documents):
                from_files = predicates.evaluate(document, final_dir, initial_dir).passed
                if i == 0 and gold["required_effects"] != "null":
                    assert from_files == in_process["required effects"], (task_id, name)
                else:
                    k = i - (gold["required_effects"] != "null")
                    assert (not from_files) == in_process[f"forbidden effect {k}"], (task_id, name)


def _write_state(tables, directory: Path) -> None:
    directory.mkdir(parents=True)
    for name, table in tables.items():
        pq.write_table(table, directory / f"{name}.parquet")


def test_grade_cli_actions_final_state_and_runs(dataset, tmp_path):
    ds = load(dataset)
    task_id = ds.tasks.filter(pl.col("family") == "meeting_current_time")["task_id"][0]
    reference = ds.solutions(task_id, "reference")[0]
    run = tmp_path / "run.jsonl"
    run.write_text("".join(json.dumps(c) + "\n" for c in reference.calls))
    reply = tmp_path / "reply.txt"
    reply.write_text(reference.reply)
    r = cli("grade", str(dataset), "--task", task_id, "--actions", str(run), "--reply",
            str(reply), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {"task_id", "passed", "score", "claw_score", "checks"} <= set(out)
    assert out["passed"]
    assert all({"name", "passed", "reason"} <= set(c) for c in out["checks"])
    # a failing run still exits 0: grading ran
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    r = cli("grade", str(dataset), "--task", task_id, "--actions", str(run), "--reply",
            str(empty), "--json")
    assert r.returncode == 0
    assert not json.loads(r.stdout)["passed"]
    # many runs, one of them passing
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "a.json").write_text(json.dumps({"task_id": task_id, "actions": list(reference.calls),
                                             "reply": reference.reply}))
    (runs / "b.json").write_text(json.dumps({"task_id": task_id, "actions": [], "reply": "",
                                             "trial": 1}))
    r = cli("grade", str(dataset), "--runs", str(runs), "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert (result["runs"], result["passed"]) == (2, 1)
    # Two trials of one task, the first passing: Pass@2 holds, Pass^2 does not.
    k2 = result["pass_k"][1]
    assert (k2["pass_at_k_indicator"], k2["pass_hat_k_indicator"]) == (1.0, 0.0)
    assert k2["pass_hat_k_power"] == 0.25
    assert result["by"]["category"][ds.task(task_id)["category"]]["runs"] == 2


BAD_RUNS = {  # what a run file holds -> the key the error names
    "actions not a list": ({"actions": "x"}, "actions"),
    "a call not an object": ({"actions": ["calendar_list"]}, "actions[0]"),
    "a call without a tool": ({"actions": [{"args": {}}]}, "actions[0].tool"),
    "a misspelt key": ({"actions": [{"tool": "calendar_list", "argz": {}}]},
                       "actions[0].argz"),
    "a tool that is not a name": ({"actions": [{"tool": ["x"]}]}, "actions[0].tool"),
    "a reply that is not text": ({"reply": 5}, "reply"),
    "a task id that is not text": ({"task_id": 5}, "task_id"),
    "a trial that is not a number": ({"trial": "x"}, "trial"),
}


@pytest.mark.parametrize("case", BAD_RUNS)
def test_a_malformed_run_file_exits_2_naming_file_and_key(case, dataset, tmp_path):
    task_id = load(dataset).tasks["task_id"][0]
    content, key = BAD_RUNS[case]
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "a.json").write_text(json.dumps({"task_id": task_id, **content}))
    r = cli("grade", str(dataset), "--runs", str(runs))
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"error: {runs / 'a.json'}:{key}:")


@pytest.mark.parametrize(("missing", "command"), [
    ("oracle_tables", ["baseline", "--agent", "null"]),
    ("tables", ["show", "--task", "any"]),
])
def test_a_file_the_manifest_lists_but_lacks_is_named(missing, command, dataset, tmp_path):
    """A partial copy fails with the missing file's name and exit 2, not a crash."""
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    name = "gold" if missing == "oracle_tables" else "tasks"
    entry = json.loads((copy / "manifest.json").read_text())[missing][name]
    (copy / entry["files"][0]).unlink()
    r = cli(command[0], str(copy), *command[1:])
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: {copy / entry['files'][0]}: listed in manifest.json but missing")


def test_the_same_trial_twice_is_refused(dataset, tmp_path):
    """Two files of one task at the default trial 0 (a copied file) are not two trials."""
    task_id = load(dataset).tasks["task_id"][0]
    runs = tmp_path / "runs"
    runs.mkdir()
    for name in ("a.json", "b.json"):
        (runs / name).write_text(json.dumps({"task_id": task_id, "actions": []}))
    r = cli("grade", str(dataset), "--runs", str(runs))
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"error: {runs / 'b.json'}:trial:")


def test_grade_a_final_state_a_harness_exported(dataset, tmp_path):
    ds = load(dataset)
    task_id = ds.tasks.filter(pl.col("family") == "resolve_double_booking")["task_id"][0]
    for solution, passes in ((ds.solutions(task_id, "reference")[0], True),
                             (ds.solutions(task_id, "near_misses")[0], False)):
        box = ds.toolbox(task_id)
        for call in solution.calls:
            box.call(call["tool"], call["args"])
        state = tmp_path / solution.description[:20].replace(" ", "_")
        state.mkdir()
        for name in box.workspace.changed():
            pq.write_table(box.workspace.final_state()[name], state / f"{name}.parquet")
        r = cli("grade", str(dataset), "--task", task_id, "--final-state", str(state), "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["passed"] is passes


@pytest.mark.parametrize(("change", "why"), [
    (lambda t: t.set_column(t.schema.get_field_index("start"), "start",
                            pc.cast(t["start"], pa.string())), "column 'start': expected"),
    (lambda t: t.drop_columns(["status"]), "column 'status' is missing"),
    (lambda t: pa.concat_tables([t, t]), "has two rows"),
])
def test_a_final_state_out_of_layout_exits_2_naming_the_table(change, why, dataset, tmp_path):
    """Dates written as text, a dropped column, a record twice: refused as bad input (they
    crashed the predicates, or passed unread)."""
    ds = load(dataset)
    task_id = ds.tasks.filter(pl.col("family") == "resolve_double_booking")["task_id"][0]
    box = ds.toolbox(task_id)
    for call in ds.solutions(task_id, "reference")[0].calls:
        box.call(call["tool"], call["args"])
    (tmp_path / "state").mkdir()
    events = box.workspace.final_state()["calendar_events"]
    pq.write_table(change(events), tmp_path / "state" / "calendar_events.parquet")
    r = cli("grade", str(dataset), "--task", task_id, "--final-state", str(tmp_path / "state"))
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: --final-state {tmp_path / 'state' / 'calendar_events'}: ")
    assert why in last


def test_tools_are_function_calling_schemas(dataset):
    task_id = load(dataset).tasks["task_id"][0]
    r = cli("tools", str(dataset), "--task", task_id)
    assert r.returncode == 0, r.stderr
    specs = json.loads(r.stdout)
    names = {s["name"] for s in specs}
    assert {"ask_user", "notify_user", "calendar_search", "calendar_update"} <= names
    for spec in specs:
        assert NAME.match(spec["name"])
        jsonschema.Draft202012Validator.check_schema(spec["parameters"])
        assert spec["parameters"]["type"] == "object"


def test_a_loaded_task_s_tools_read_the_user_s_days(dataset):
    """The tools of a loaded snapshot take and give the user's local days, as the
    generator's self-check did when it proved the references."""
    ds = load(dataset)
    zones = set()
    for task_id in ds.tasks["task_id"]:
        sid = ds.episodes(task_id)[0]
        zone = ds.snapshot_info(sid)["timezone"]
        ws = ds.toolbox(task_id).workspace
        assert ws.timezone == zone
        zones.add(zone)
    assert zones - {"UTC"}, "every fixture world is in UTC: nothing checked"


def test_show_reads_like_a_task(dataset):
    ds = load(dataset)
    task_id = ds.tasks["task_id"][0]
    r = cli("show", str(dataset), "--task", task_id, "--json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["task"]["prompt"]
    assert shown["evidence"]
    assert shown["gold"]["reference_actions"]
    # Read by a person, times are on the user's clock, as the task's tools show them.
    info = ds.snapshot_info(ds.episodes(task_id)[-1])
    local = info["as_of"].astimezone(ZoneInfo(info["timezone"])).isoformat()
    r = cli("show", str(dataset), "--task", task_id)
    assert r.returncode == 0, r.stderr
    assert f"as of {local} ({info['timezone']})" in r.stdout


def test_check_fails_on_a_tampered_file_and_skips_self_checks_without_oracle(dataset, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    shutil.rmtree(copy / "oracle")
    r = cli("check", str(copy), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["self_checks_skipped"]
    victim = copy / "data" / "calendar_events" / "test.parquet"
    table = pq.read_table(victim)
    pq.write_table(table.slice(1), victim)
    r = cli("check", str(copy), "--json")
    assert r.returncode == 1
    assert any("calendar_events" in f for f in json.loads(r.stdout)["failures"])


@pytest.mark.parametrize(("args", "where"), [
    (["generate", "--recipe", "nope"], "--recipe"),
    (["check", "/no/such/dir"], "/no/such/dir: not a lifeloom dataset"),
    (["grade", "DATASET", "--task", "tk_nope", "--actions", "RUN"], "--task"),
    (["grade", "DATASET", "--task", "TASK", "--actions", "BAD"], "bad.jsonl:1"),
    (["grade", "DATASET", "--task", "TASK"], "--actions"),
    (["show", "DATASET", "--task", "tk_nope"], "--task"),
])
def test_bad_input_exits_2_naming_where(args, where, dataset, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    run = tmp_path / "run.jsonl"
    run.write_text("")
    task_id = load(dataset).tasks["task_id"][0]
    swap = {"DATASET": str(dataset), "RUN": str(run), "BAD": str(bad), "TASK": task_id}
    r = cli(*[swap.get(a, a) for a in args], "--out", str(tmp_path / "o")) \
        if args[0] == "generate" else cli(*[swap.get(a, a) for a in args])
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: ")
    assert where in r.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "o").exists()


def test_too_many_dropped_tasks_exit_1_and_write_nothing(library, tmp_path):
    broken = tmp_path / "lib"
    shutil.copytree(library, broken)
    (broken / "tasks").mkdir()
    text = (Path(predicates.__file__).parents[1] / "library" / "tasks"
            / "meeting_current_time.toml").read_text()
    # a reference reply that states nothing: every task fails its self-check
    text = text.replace('id = "meeting_current_time"', 'id = "broken_family"')
    text = text.replace("reply = \"{title} is now on", "reply = \"Sorry, no idea. {title} was on")
    text = text.replace("{date_text(meeting.start)} at {time_text(meeting.start)}; ",
                        "some day; ")
    (broken / "tasks" / "broken_family.toml").write_text(text)
    recipe = RECIPE.replace('["meeting_current_time", "resolve_double_booking"]',
                            '["broken_family"]')
    (broken / "recipes" / "tiny.toml").write_text(recipe)
    out = tmp_path / "out"
    r = cli("generate", "--recipe", "tiny", "--library", str(broken), "--out", str(out))
    assert r.returncode == 1, r.stderr
    assert "self-check" in r.stderr
    assert not out.exists()


def test_python_api_mirrors_the_cli(dataset):
    ds = lifeloom.load(dataset)
    task_id = ds.tasks["task_id"][0]
    box = ds.toolbox(task_id)
    reference = ds.solutions(task_id, "reference")[0]
    for call in reference.calls:
        box.call(call["tool"], call["args"])
    assert isinstance(box.workspace, lifeloom.Workspace)
    assert lifeloom.grade(ds, task_id, actions=box.log, reply=reference.reply).passed
    assert not lifeloom.grade(ds, task_id, actions=[], reply="").passed
    assert lifeloom.check_dataset(dataset, sample=1).ok


@pytest.mark.slow
def test_same_recipe_in_another_process_gives_identical_contents(dataset, library, tmp_path):
    import os

    out = tmp_path / "again"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "POLARS_MAX_THREADS": "1"}
    r = cli("generate", "--recipe", "tiny", "--library", str(library), "--out", str(out),
            env=env)
    assert r.returncode == 0, r.stderr

    def hashes(path: Path) -> dict:
        m = json.loads((path / "manifest.json").read_text())
        return {f"{group}/{name}": entry["content_hash"]
                for group in ("tables", "oracle_tables", "history_tables")
                for name, entry in m[group].items()}

    assert hashes(out) == hashes(dataset)
