"""Proactive tasks: heartbeat episodes graded on noticing the need in time, and on raising
nothing that is not one.

The grading rules are checked on hand-made needs (every case of the issue: control, window,
late, a look-alike, another open need); then a small generated dataset shows the same rules
hold on real tasks read back from files, and that every control heartbeat really lacks a
necessary evidence record.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from exporters.loading import load
from exporters.runs import RunError, grade_actions
from scenarios.grading import Fact, Oracle, WrongValue
from scenarios.grading.proactive import EpisodeRun, Heartbeat, Need, grade_proactive
from tests.conftest import recipe_library

ORACLE = Oracle(year=2026, facts=(Fact("amount due", "amount", 12345),
                                  Fact("due date", "date", "2026-03-12")),
                wrong=(WrongValue("amount due", "amount", 45600, "distractor"),))
NEED = Need("notify_user", (
    Heartbeat("control", own=("enrol",), elsewhere=("other",)),
    Heartbeat("window", own=("enrol", "failed"), elsewhere=("other",)),
    Heartbeat("window", own=("enrol", "failed", "text"), elsewhere=("other",)),
    Heartbeat("late", own=("enrol", "failed", "text"), elsewhere=()),
))


def notify(body: str = "", refs: tuple[str, ...] = (), tool: str = "notify_user") -> dict:
    args = {"title": "Heads up", "body": body, "refs": list(refs)}
    if tool == "ask_user":
        args = {"question": body}
    return {"tool": tool, "args": args, "result": {"status": "delivered"}}


def graded(*episodes: list[dict], need: Need = NEED, oracle: Oracle = ORACLE):
    runs = [EpisodeRun({}, {}, list(log)) for log in episodes]
    runs += [EpisodeRun({}, {}, [])] * (len(need.heartbeats) - len(runs))
    result = grade_proactive(oracle, need, runs, "")
    return result, {c.name: c for c in result.checks}


def test_a_notice_inside_the_window_passes():
    result, checks = graded([], [notify(refs=("failed",))])
    assert result.passed
    assert checks["noticed in time"].passed
    # ...also at the window's last heartbeat, and by stating a fact instead of pointing.
    assert graded([], [], [notify("Pay $123.45 today")])[0].passed


def test_the_same_notice_at_the_control_heartbeat_is_a_false_alarm():
    result, checks = graded([notify(refs=("enrol",))])
    assert not result.passed
    assert not checks["no false alarm"].passed
    assert "before the need was detectable" in checks["no false alarm"].reason
    # Raising it early and again in time is still a false alarm.
    assert not graded([notify(refs=("enrol",))], [notify(refs=("failed",))])[0].passed


def test_after_the_deadline_it_is_late():
    result, checks = graded([], [], [], [notify(refs=("failed",))])
    assert not result.passed
    assert checks["noticed in time"].reason == "raised after the deadline"
    assert checks["no false alarm"].passed


def test_a_notice_about_a_look_alike_is_a_false_alarm():
    result, checks = graded([], [notify(refs=("failed",)), notify(refs=("lookalike",))])
    assert not result.passed
    assert "matches no open need" in checks["no false alarm"].reason
    # Stating the look-alike's value is a false alarm too, even pointing at the need.
    result, checks = graded([], [notify("It is $456.00", refs=("failed",))])
    assert not result.passed
    assert "distractor value" in checks["no false alarm"].reason


def test_a_notice_about_another_open_need_is_fine():
    result, checks = graded([], [notify(refs=("other",)), notify(refs=("failed",))])
    assert result.passed, checks
    # ...but it does not raise this need.
    assert not graded([], [notify(refs=("other",))])[0].passed


def test_only_the_need_s_notice_tool_counts():
    ask = Need("ask_user", NEED.heartbeats)
    assert graded([], [notify("Shall I pay the $123.45 due on 12 March?", tool="ask_user")],
                  need=ask)[0].passed
    assert not graded([], [notify(refs=("failed",))], need=ask)[0].passed


def test_nothing_fails_and_scores_fall_with_false_alarms():
    assert not graded()[0].passed
    clean = graded([], [notify(refs=("failed",))])[0].score
    noisy = graded([notify(refs=("nothing",))], [notify(refs=("failed",))])[0].score
    assert noisy < clean


# -- on a generated dataset -----------------------------------------------------------------

RECIPE = """
id = "proactive_tiny"
version = 1
description = "Three worlds, the proactive families only: for tests."
root_seed = 7
task_families = ["bill_autopay_failed_notice"]

[[splits]]
name = "smoke"
worlds = 3
personas = ["staff_engineer", "parent_of_two", "travelling_sales_rep"]
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = recipe_library(tmp_path_factory, "proactive_tiny", RECIPE)
    out = tmp_path_factory.mktemp("data") / "proactive"
    r = subprocess.run([sys.executable, "-m", "exporters.cli", "generate", "--recipe",
                        "proactive_tiny", "--library", str(root), "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return out


def _proactive(ds) -> list[str]:
    ids = ds.tasks.filter(ds.tasks["mode"] == "proactive")["task_id"].to_list()
    assert ids
    return ids


def test_control_heartbeats_lack_a_necessary_evidence_record_on_file(dataset):
    ds = load(dataset)
    for tid in _proactive(ds):
        gold = ds.gold(tid)
        beats = json.loads(gold["need"])["heartbeats"]
        assert [b["snapshot_id"] for b in beats] == ds.episodes(tid)
        controls = [b for b in beats if b["phase"] == "control"]
        assert controls
        assert beats[0]["phase"] == "control"
        for beat in controls:
            seen = {rid for table in ds.snapshot(beat["snapshot_id"]).values()
                    for rid in table.column("record_id").to_pylist()}
            assert set(gold["evidence_ids"]) - seen, tid


def test_reference_timing_decides_on_real_tasks(dataset):
    ds = load(dataset)
    for tid in _proactive(ds):
        reference = ds.solutions(tid, "reference")[0]
        episodes = ds.episodes(tid)
        phases = [b["phase"] for b in json.loads(ds.gold(tid)["need"])["heartbeats"]]
        assert grade_actions(ds, tid, list(reference.calls), reference.reply).passed
        assert not grade_actions(ds, tid, [], "").passed
        for sid, phase in zip(episodes, phases, strict=True):
            moved = [{**c, "snapshot_id": sid} for c in reference.calls]
            verdict = grade_actions(ds, tid, moved, reference.reply)
            assert verdict.passed == (phase == "window"), (tid, phase, verdict.checks)


def test_the_api_grades_a_proactive_run_from_the_toolbox_logs(dataset):
    """The documented way: a box per heartbeat, the calls made on it, the logs joined and
    handed to ``lifeloom.grade`` (it once dropped each call's snapshot_id)."""
    from exporters import api

    ds = load(dataset)
    for tid in _proactive(ds):
        reference = ds.solutions(tid, "reference")[0]
        assert api.grade(ds, tid, actions=list(reference.calls),
                         reply=reference.reply).passed
        log = []
        for sid in ds.episodes(tid):
            box = ds.toolbox(tid, snapshot_id=sid)
            for call in reference.calls:
                if call["snapshot_id"] == sid:
                    box.call(call["tool"], call.get("args", {}))
            log += box.log
        assert all(entry["snapshot_id"] in ds.episodes(tid) for entry in log)
        assert api.grade(ds, tid, actions=log, reply=reference.reply).passed


def test_a_multi_episode_run_must_name_its_episodes(dataset):
    ds = load(dataset)
    tid = _proactive(ds)[0]
    with pytest.raises(RunError, match="snapshot_id"):
        grade_actions(ds, tid, [{"tool": "notify_user", "args": {"title": "x", "body": ""}}],
                      "")


@pytest.mark.parametrize("at", [(7, 0), (6, 30)])
@pytest.mark.parametrize(("opened_h", "span_h"), [(30, 80), (50, 5), (100, 20), (75, 200)])
def test_heartbeats_bracket_the_window_at_the_local_hour(at, opened_h, span_h):
    from scenarios.heartbeats import episodes
    from sim.clock import HOUR, Clock

    clock = Clock("America/New_York", dt.date(2026, 3, 2), 30)  # spans the DST change
    opened, closed = opened_h * HOUR, (opened_h + span_h) * HOUR
    beats = episodes(clock, opened, closed, deadline_reached=True, at=at)
    local_days = [clock.local(b) for b in range(opened, closed + 1, HOUR // 2)
                  if (clock.local(b).hour, clock.local(b).minute) == at]
    if not local_days:
        assert beats is None  # no heartbeat inside the window: no proactive task
        return
    phases = [b.phase for b in beats]
    assert phases[0] == "control"
    assert phases[1] == "window"
    assert set(phases) <= {"control", "window", "late"}
    for beat in beats:
        local = clock.local(beat.at)
        assert (local.hour, local.minute) == at
        assert {"control": beat.at < opened, "window": opened <= beat.at <= closed,
                "late": beat.at > closed}[beat.phase]
    assert beats[0].at > opened - 25 * HOUR  # the last heartbeat before, not any


def test_show_gives_the_need_window_on_the_clock_of_its_heartbeats(dataset):
    """The window and the heartbeats are read side by side: one clock (the user's)."""
    task_id = _proactive(load(dataset))[0]
    r = subprocess.run([sys.executable, "-m", "exporters.cli", "show", str(dataset),
                        "--task", task_id], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    [rule] = [line for line in lines if "need window" in line]
    window = re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)?", rule)
    beats = [re.match(r"\S+T\S+?([+-]\d\d:\d\d)\s", line) for line in lines]
    offsets = {m.group(1) for m in beats if m}
    assert len(window) == 2
    assert offsets
    assert set(window) <= offsets
