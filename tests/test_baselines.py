"""Baseline agents on a small generated dataset: oracle, null and naive, and the CLI.

One quiet world with every shipped task family (reactive and proactive) is generated once
per test session and worker; each agent's full run is cached, so the suite pays for one
oracle, one null and one naive run. A slow test lives the same world at ratio 64 and
pairs its tasks with these; the full study (many worlds, ratios 1 to 64, confidence
intervals) is ``benchmarks/bench_baselines.py``.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

import exporters.baseline as baseline_module
from exporters.api import generate
from exporters.baseline import run_baseline, run_task
from exporters.loading import Dataset, load
from scenarios.baselines import (
    AGENTS,
    NaiveAgent,
    NullAgent,
    OracleAgent,
    asks_done,
    commands,
    keywords,
    make_agent,
    named_services,
)
from sim.tools import PAGE
from tests.conftest import recipe_library

RECIPE = """
id = "tiny_baselines"
version = 1
description = "One quiet world with every shipped task family: for the baseline tests."
root_seed = 5
noise_ratio = 1

[[splits]]
name = "test"
worlds = 1
personas = ["staff_engineer"]
"""


@pytest.fixture(scope="session")
def library(tmp_path_factory) -> Path:
    return recipe_library(tmp_path_factory, "tiny_baselines", RECIPE)


@pytest.fixture(scope="session")
def dataset_path(library, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("baseline_data") / "tiny"
    generate("tiny_baselines", out=out, library=library)
    return out


@pytest.fixture(scope="session")
def ds(dataset_path) -> Dataset:
    return load(dataset_path)


@pytest.fixture(scope="session")
def runs(ds):
    """Each agent's run over the dataset, computed on first use."""
    return functools.cache(lambda agent: run_baseline(ds, agent))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exporters.cli", *args], capture_output=True,
                          text=True, timeout=600)


# -- whole runs ---------------------------------------------------------------------------


def test_the_dataset_has_reactive_and_proactive_tasks(ds):
    assert ds.tasks.height >= 10
    assert {"reactive", "proactive"} <= set(ds.tasks["mode"])
    proactive = ds.tasks.filter(ds.tasks["mode"] == "proactive")["task_id"]
    assert all(len(ds.episodes(t)) > 1 for t in proactive)


def test_oracle_passes_every_task(runs):
    result = runs("oracle")
    failed = [(r["task_id"], r["failed"]) for r in result["results"] if not r["passed"]]
    assert failed == []
    assert result["pass_rate"] == 1.0
    assert set(result["pass_rate_by_mode"].values()) == {1.0}


def test_null_passes_at_most_five_percent(runs):
    result = runs("null")
    assert result["pass_rate"] <= 0.05
    assert all(r["calls"] == 0 for r in result["results"])
    assert result["pass_rate_by_mode"]["proactive"] == 0.0


def test_naive_runs_through_grade_actions_and_sits_between(ds, runs, monkeypatch):
    graded = []
    real = baseline_module.grade_actions

    def spy(ds_, task_id, actions, reply):
        graded.append(task_id)
        assert all(set(a) == {"tool", "args", "snapshot_id"} for a in actions)
        assert all(a["snapshot_id"] in ds_.episodes(task_id) for a in actions)
        return real(ds_, task_id, actions, reply)

    monkeypatch.setattr(baseline_module, "grade_actions", spy)
    result = runs("naive")
    assert sorted(graded) == sorted(ds.tasks["task_id"])
    assert all(r["calls"] > 0 for r in result["results"])  # it always searches
    assert 0 < result["passed"] < ds.tasks.height  # above doing nothing, below the oracle


def test_breakdowns_cover_every_task(ds, runs):
    result = runs("null")
    assert result["tasks"] == ds.tasks.height
    for column in ("category", "difficulty", "mode", "noise_ratio"):
        assert sum(s["tasks"] for s in result["by"][column].values()) == ds.tasks.height
    assert result["noise_ratio"] == 1.0
    assert list(result["by"]["noise_ratio"]) == ["1"]


def test_naive_is_deterministic_on_each_kind_of_task(ds):
    rows = ds.tasks.sort("task_id")
    chosen = [*rows.filter(rows["mode"] == "reactive").head(3).iter_rows(named=True),
              *rows.filter(rows["mode"] == "proactive").head(1).iter_rows(named=True)]
    for task in chosen:
        assert run_task(ds, task, "naive") == run_task(ds, task, "naive"), task["task_id"]


@pytest.mark.slow
def test_naive_whole_runs_are_identical(ds, runs):
    assert run_baseline(ds, "naive") == runs("naive")


def test_oracle_calls_follow_their_episodes(ds):
    proactive = ds.tasks.filter(ds.tasks["mode"] == "proactive").row(0, named=True)
    actions, reply = run_task(ds, proactive, "oracle")
    reference = ds.solutions(proactive["task_id"], "reference")[0]
    episodes = ds.episodes(proactive["task_id"])
    assert [a["tool"] for a in actions] == [c["tool"] for c in reference.calls]
    assert [a["snapshot_id"] for a in actions] == [
        c.get("snapshot_id", episodes[0]) for c in reference.calls]
    assert reply == reference.reply


# -- agents on one toolbox ----------------------------------------------------------------


def test_null_and_oracle_agents(ds):
    task = ds.tasks.row(0, named=True)
    box = ds.toolbox(task["task_id"])
    assert NullAgent().act(task["prompt"], box, heartbeat=False) == ""
    assert box.log == []
    calls = ({"tool": "notes_list", "args": {}}, {"tool": "ask_user", "args": {"question": "?"}})
    assert OracleAgent(calls, "done").act("", box, heartbeat=False) == "done"
    assert [e["tool"] for e in box.log] == ["notes_list", "ask_user"]


def test_naive_notifies_at_heartbeats_only(ds):
    task = ds.tasks.row(0, named=True)
    quiet, woken = ds.toolbox(task["task_id"]), ds.toolbox(task["task_id"])
    NaiveAgent().act(task["prompt"], quiet, heartbeat=False)
    NaiveAgent().act(task["prompt"], woken, heartbeat=True)
    assert not any(e["tool"] == "notify_user" for e in quiet.log)
    notes = [e for e in woken.log if e["tool"] == "notify_user"]
    assert len(notes) == 1
    assert len(notes[0]["args"]["refs"]) == 1
    assert "error" not in notes[0]["result"]


def test_naive_sees_only_the_first_page_each_app_shows(ds):
    """A note pushed off the notes app's first page by newer ones is out of naive's view,
    as noise pushes a story's records off it; searching the whole window still finds it."""
    task = ds.tasks.filter(ds.tasks["mode"] == "reactive").row(0, named=True)
    # The newest note whose title gives naive something to search for ("Before Thursday"
    # gives nothing: a weekday is not a keyword); ``rank`` newer notes sit above it.
    listed = ds.toolbox(task["task_id"]).call("notes_list", {})["results"]
    rank, note = next((i, n) for i, n in enumerate(listed) if keywords(n["title"]))

    def reads(agent: NaiveAgent, fillers: int) -> list[str]:
        box = ds.toolbox(task["task_id"])
        for i in range(fillers):
            box.call("notes_create", {"title": f"Filler {i}", "body": "Nothing to see."})
        agent.act(f"Open my notes about {note['title']}", box, heartbeat=False)
        return [e["args"]["id"] for e in box.log if e["tool"].endswith("_read")]

    off = PAGE - rank  # fillers that push it off the first page
    for fillers, agent, found in [(off - 1, NaiveAgent(), True), (off, NaiveAgent(), False),
                                  (off, NaiveAgent(window=None), True)]:
        assert (note["record_id"] in reads(agent, fillers)) is found, (fillers, agent.window)


def test_keywords_put_names_first_and_drop_stop_words():
    words = keywords("Reply to Sabrina's party email: yes, I'll be there on Saturday, "
                     "February 21.")
    assert words[0] == "sabrina"
    assert not {"saturday", "february", "the", "yes", "be"} & set(words)
    assert keywords("Did Clements Depot take the money?")[:2] == ["clements", "depot"]


def test_named_services_follow_where_the_user_says_to_look():
    assert named_services("Check my bank account against the email in my personal "
                          "inbox") == ["bank", "personal_email"]
    assert named_services("Look at my texts and my calendar") == ["sms", "calendar"]
    assert named_services("Search my mail") == ["personal_email", "work_email"]
    assert named_services("Is anyone late paying me back?") == []
    assert named_services("My calendar says 9:15 am, but check my text messages and "
                          "voicemails from the office") == ["calendar", "sms", "calls"]
    assert named_services("Text Sam that the messages arrived") == []


def test_commands_are_verbs_that_open_a_clause():
    assert commands("Reply STOP to turn those alerts off.") == ["reply"]
    assert commands("Compare it with my calendar and send Sabrina an answer") == ["send"]
    assert commands("Check my text messages from Pacific Wings") == []
    assert commands("From my email, tell me the total") == []
    assert commands("Is my plan - pay-as-you-go - still cheaper?") == []
    assert commands("Look at the invoice - pay it today") == ["pay"]


def test_only_a_word_on_its_own_asks_to_tick_something_off():
    assert asks_done("Cross it off my list")
    assert asks_done("Mark the to-do done, please")
    assert not asks_done("When is our cross-lingual evaluation check-in now?")
    assert not asks_done("Is the self-complete form in my inbox?")


def test_unknown_agent_is_refused(ds):
    with pytest.raises(ValueError, match="unknown agent"):
        make_agent("clever")
    with pytest.raises(ValueError, match="unknown agent"):
        run_baseline(ds, "clever")


# -- the command ----------------------------------------------------------------------------


def test_cli_help_names_every_agent():
    from exporters.cli_baseline import AGENT_HELP

    assert f"One of: {', '.join(sorted(AGENTS))}." == AGENT_HELP


def test_cli_json_keys(dataset_path):
    r = cli("baseline", str(dataset_path), "--agent", "null", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert {"agent", "tasks", "passed", "pass_rate", "mean_score", "pass_rate_by_mode",
            "noise_ratio", "false_alarm_rate", "by", "results"} <= set(result)
    assert set(result["by"]) == {"category", "difficulty", "mode", "noise_ratio"}
    assert result["agent"] == "null"


@pytest.mark.parametrize(("args", "where"), [
    (["--agent", "clever"], "--agent"),
    ([], "--agent"),
])
def test_cli_bad_agent_exits_2(dataset_path, args, where):
    r = cli("baseline", str(dataset_path), *args)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith(f"error: {where}")


def test_cli_bad_path_exits_2(tmp_path):
    r = cli("baseline", str(tmp_path / "missing"), "--agent", "null")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith(
        f"error: {tmp_path / 'missing'}: not a lifeloom dataset")
    assert "Traceback" not in r.stderr


def test_null_fails_every_proactive_task_and_oracle_passes_each(runs):
    for agent, passes in (("null", False), ("oracle", True)):
        proactive = [r for r in runs(agent)["results"] if r["mode"] == "proactive"]
        assert proactive
        assert all(r["passed"] is passes for r in proactive), agent


@pytest.mark.slow
def test_naive_falls_on_the_same_tasks_with_more_noise(ds, library, tmp_path_factory):
    """The small paired set: the same world at ratio 64, tasks paired by what they are
    (storyline instance and family); naive passes no more of them than at ratio 1, and
    the oracle still passes them all."""
    noisy_path = tmp_path_factory.mktemp("baseline_noisy") / "tiny64"
    generate("tiny_baselines", out=noisy_path, library=library, noise_ratio=64)
    noisy = load(noisy_path)

    def outcomes(data: Dataset, agent: str) -> dict[str, bool]:
        gold = {tid: f"{data.gold(tid)['storyline_instance_id']}/{data.gold(tid)['family']}"
                for tid in data.tasks["task_id"]}
        return {gold[r["task_id"]]: r["passed"] for r in run_baseline(data, agent)["results"]
                if r["mode"] == "reactive"}

    quiet, loud = outcomes(ds, "naive"), outcomes(noisy, "naive")
    shared = sorted(set(quiet) & set(loud))
    assert len(shared) >= 0.8 * len(quiet)
    assert sum(loud[k] for k in shared) <= sum(quiet[k] for k in shared)
    assert all(outcomes(noisy, "oracle").values())
