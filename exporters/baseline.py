"""Running a baseline agent over every task of a dataset and grading it like any agent.

For each task and each of its episodes (one snapshot for a reactive task, one per heartbeat
for a proactive one) the agent acts on a fresh toolbox of that episode with the task's
prompt; the calls it made, tagged with the episode's snapshot id, and its replies (joined
in episode order) are then graded through :func:`exporters.runs.grade_actions`, the path
any harness takes. Agent writes do not carry from one episode to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from exporters.aggregate import aggregate
from exporters.loading import Dataset
from exporters.runs import grade_actions
from scenarios.baselines import AGENTS, Agent, make_agent
from scenarios.noise import load_profiles

BY = ("category", "difficulty", "mode", "noise_ratio")


def run_baseline(ds: Dataset, agent_name: str, *,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run ``agent_name`` (``oracle``, ``null`` or ``naive``) on every task of ``ds``.

    Returns ``{"agent", "tasks", "passed", "pass_rate", "mean_score", "mean_claw_score",
    "noise_ratio" (when every world has the same), "pass_rate_by_mode",
    "false_alarm_rate", "by": {column: {value: stats}}, "results"}``:
    ``by`` breaks the runs down by category, difficulty, mode and noise ratio
    (:func:`exporters.aggregate.aggregate`), ``results`` holds one row per task with the
    names of the checks it failed. ``progress(done, total)`` is called after each task.
    """
    if agent_name not in AGENTS:
        raise ValueError(f"unknown agent {agent_name!r}; known: {', '.join(AGENTS)}")
    results = []
    for done, task in enumerate(ds.tasks.iter_rows(named=True), start=1):
        actions, reply = run_task(ds, task, agent_name)
        verdict = grade_actions(ds, task["task_id"], actions, reply)
        results.append({"task_id": task["task_id"], "trial": 0, "mode": task["mode"],
                        "difficulty": task["difficulty"], "passed": verdict.passed,
                        "score": verdict.score, "claw_score": verdict.claw_score,
                        "calls": len(actions),
                        "failed": [c.name for c in verdict.checks if not c.passed]})
        if progress is not None:
            progress(done, ds.tasks.height)
    proactive = [r for r in results if r["mode"] == "proactive"]
    ratios = noise_ratios(ds)
    table = ds.tasks.with_columns(pl.col("world_id").replace_strict(
        ratios, default=None, return_dtype=pl.Float64).alias("noise_ratio"))
    ratio = next(iter(set(ratios.values()))) if len(set(ratios.values())) == 1 else None
    summary = aggregate(results, table, by=BY)
    overall = summary["overall"]
    return {
        "agent": agent_name,
        "by": summary["by"],
        # Proactive tasks whose grade names a false alarm (a notification matching no open
        # need), over proactive tasks; None without any.
        "false_alarm_rate": sum(any("false alarm" in f for f in r["failed"])
                                for r in proactive) / len(proactive) if proactive else None,
        "mean_claw_score": overall["mean_claw_score"],
        "mean_score": overall["mean_score"],
        "noise_ratio": ratio,
        "pass_rate": overall["pass_rate"],
        "pass_rate_by_mode": {mode: stats["pass_rate"]
                              for mode, stats in summary["by"]["mode"].items()},
        "passed": overall["passed"],
        "results": results,
        "tasks": overall["tasks"],
    }


def run_task(ds: Dataset, task: Mapping[str, Any], agent_name: str) -> tuple[list[dict], str]:
    """The agent's calls over the task's episodes (``{"tool", "args", "snapshot_id"}``)
    and its replies joined in episode order."""
    episodes = ds.episodes(task["task_id"])
    planned = _reference(ds, task["task_id"], episodes) if agent_name == "oracle" else {}
    actions, replies = [], []
    for sid in episodes:
        calls, reply = planned.get(sid, ((), ""))
        agent: Agent = make_agent(agent_name, calls=calls, reply=reply)
        box = ds.toolbox(task["task_id"], snapshot_id=sid)
        said = agent.act(task["prompt"], box, heartbeat=task["mode"] == "proactive")
        actions += [{"tool": e["tool"], "args": e["args"], "snapshot_id": sid} for e in box.log]
        if said:
            replies.append(said)
    return actions, "\n\n".join(replies)


def noise_ratios(ds: Dataset) -> dict[str, float | None]:
    """Each world's noise-to-signal target: the one it was generated with, else its noise
    profile's own (None when that profile is not a shipped one)."""
    profiles = load_profiles(None)
    out = {}
    for world in ds.manifest["worlds"]:
        if world.get("noise_ratio") is not None:
            out[world["world_id"]] = float(world["noise_ratio"])
        else:
            profile = profiles.get(world.get("noise"))
            out[world["world_id"]] = float(profile.ratio) if profile is not None else None
    return out


def _reference(ds: Dataset, task_id: str,
               episodes: list[str]) -> dict[str, tuple[list[dict], str]]:
    """The reference's calls per episode (a call naming no episode belongs to the first)
    and its reply, given at the last episode."""
    reference = ds.solutions(task_id, "reference")[0]
    plan: dict[str, tuple[list[dict], str]] = {sid: ([], "") for sid in episodes}
    for call in reference.calls:
        plan[call.get("snapshot_id", episodes[0])][0].append(call)
    plan[episodes[-1]] = (plan[episodes[-1]][0], reference.reply)
    return plan
