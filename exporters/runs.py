"""Grading agents' runs on a dataset: replayed tool calls, exported final states, many runs.

Three ways in, one grader (:func:`scenarios.grading.grade`):

- **actions** (``run.jsonl``): one tool call per line, ``{"tool", "args"}`` (plus
  ``"snapshot_id"``, which must be the task's), replayed in order through a fresh workspace
  on the task's snapshot, so every result the agent saw is known and facts are checked for
  grounding. A call the tools refuse is logged as the error the agent would have got.
- **final state**: a directory of Parquet tables a harness exported after running its own
  tools (layout: :mod:`scenarios.predicates.state`); a table it left out counts as
  unchanged. Facts must be stated, but grounding cannot be checked.
- **runs**: a directory of ``*.json`` files, each ``{"task_id", "actions", "reply"}``
  (optional ``"trial"``), graded one by one and aggregated per task, overall and by mode,
  category, difficulty and split, with Pass@k and Pass^k over trials
  (:mod:`exporters.aggregate`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from exporters.aggregate import aggregate
from exporters.loading import Dataset, DatasetError
from personas.errors import SpecError
from scenarios import predicates
from scenarios.grading import Grade, grade
from scenarios.grading.proactive import EpisodeRun, grade_episodes
from sim.errors import InputError


class RunError(InputError):
    """A run file is malformed; ``where`` is ``file:line`` or ``file:key``."""


class _Strict(BaseModel):
    # JSON as written: no key we do not know (a misspelt "argz" is not quietly dropped),
    # and no value coerced into another type (a reply of 5 is not the text "5").
    model_config = ConfigDict(extra="forbid", strict=True)


class Call(_Strict):
    """One tool call of a run."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    snapshot_id: str | None = None  # the episode it was made in (several: required)


class Run(_Strict):
    """One ``*.json`` file of a ``--runs`` directory."""

    task_id: str
    actions: list[Call] = Field(default_factory=list)
    reply: str = ""
    trial: int = Field(0, ge=0)


def _valid(model: type[_Strict], value: Any, where: str) -> Any:
    """``value`` validated as ``model``; an error names ``where`` and the key."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        found = SpecError.from_validation(where, exc)
        raise RunError(found.where, found.why) from None


def _calls(calls: list[Call]) -> list[dict]:
    return [c.model_dump(exclude_none=True) for c in calls]


def read_actions(path: Path) -> list[dict]:
    """The tool calls of a ``run.jsonl`` file (blank lines skipped)."""
    if not path.is_file():
        raise RunError(str(path), "no such file")
    calls = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            call = json.loads(line)
        except ValueError as exc:
            raise RunError(f"{path}:{n}", f"not JSON: {exc}") from None
        calls.append(_valid(Call, call, f"{path}:{n}"))
    return _calls(calls)


def grade_actions(ds: Dataset, task_id: str, actions: list[dict], reply: str) -> Grade:
    """Replay ``actions`` on the task's episodes (each call in the one its ``snapshot_id``
    names; a one-episode task needs none) and grade the run with ``reply``."""
    episodes = ds.episodes(task_id)
    calls: dict[str, list[dict]] = {sid: [] for sid in episodes}
    for i, call in enumerate(actions):
        sid = call.get("snapshot_id", episodes[0] if len(episodes) == 1 else None)
        if sid is None:
            raise RunError(f"actions[{i}].snapshot_id",
                           f"required: task {task_id!r} has {len(episodes)} episodes")
        if sid not in calls:
            raise RunError(f"actions[{i}].snapshot_id",
                           f"{sid!r} is not an episode of task {task_id!r}")
        calls[sid].append(call)
    runs = []
    for sid, made in calls.items():
        if not made and len(episodes) > 1:
            runs.append(EpisodeRun({}, {}, []))  # untouched heartbeat: nothing to grade
            continue
        box = ds.toolbox(task_id, snapshot_id=sid)
        initial = _frames(box.workspace.final_state())
        for call in made:
            box.call(call["tool"], call.get("args", {}))
        final = _frames(box.workspace.final_state()) if made else initial
        runs.append(EpisodeRun(initial, final, box.log))
    return grade_episodes(ds.oracle(task_id), ds.need(task_id), runs, reply)


def grade_final_state(ds: Dataset, task_id: str, state: Path, reply: str) -> Grade:
    """Grade a final state a harness exported (tables it left out count as unchanged).
    A proactive task has several episodes and is graded on what was raised when: it
    needs its actions, not a final state."""
    task = ds.task(task_id)
    if ds.need(task_id) is not None:
        raise RunError("--final-state", f"task {task_id!r} is proactive: grade its "
                                        "heartbeat episodes with --actions")
    initial = _frames(ds.snapshot(task["snapshot_id"]))
    try:
        exported = predicates.load_state(state)
    except predicates.PredicateError as exc:
        raise RunError(f"--final-state {exc.path}", exc.why) from None
    unknown = sorted(set(exported) - set(initial))
    if unknown:
        raise RunError(f"--final-state {state}", f"unknown table {unknown[0]!r}")
    final = dict(initial)
    for name, frame in sorted(exported.items()):
        frame = frame.drop([c for c in ("world_id",) if c in frame.columns])
        if frame.width:  # a table declared with no file is emptied: nothing to check
            _check_layout(f"--final-state {state / name}", frame, initial[name])
        final[name] = frame
    return grade(ds.oracle(task_id), initial, final, reply, [], replayed=False)


def _check_layout(where: str, frame: pl.DataFrame, like: pl.DataFrame) -> None:
    """An exported table must keep its snapshot's columns and types, one row per record
    (the state layout): a harness that wrote dates as text or dropped a column would
    otherwise be graded on a table the predicates misread, or crash them."""
    for column, dtype in like.schema.items():
        if column not in frame.columns:
            raise RunError(where, f"column {column!r} is missing")
        if frame[column].dtype not in (dtype, pl.Null):  # a column of nulls has no type
            raise RunError(where, f"column {column!r}: expected {dtype}, got "
                                  f"{frame[column].dtype}")
    extra = sorted(set(frame.columns) - set(like.columns))
    if extra:
        raise RunError(where, f"unknown column {extra[0]!r}")
    twice = frame["record_id"].is_duplicated()
    if twice.any():
        raise RunError(where, f"record {frame['record_id'].filter(twice)[0]!r} has two rows; "
                              "the state holds one row per record")


def grade_runs(ds: Dataset, runs: Path) -> dict[str, Any]:
    """Grade every ``*.json`` run in ``runs``; per-run verdicts and aggregates."""
    if not runs.is_dir():
        raise RunError(str(runs), "not a directory")
    files = sorted(runs.glob("*.json"))
    if not files:
        raise RunError(str(runs), "holds no *.json runs")
    results, by_task = [], defaultdict(list)
    seen: dict[tuple[str, int], str] = {}
    for path in files:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RunError(str(path), f"not JSON: {exc}") from None
        run = _valid(Run, raw, str(path))
        # Pass^k multiplies trials as if independent: the same trial counted twice (a
        # file copied, two files left at the default 0) would inflate both it and Pass@k.
        other = seen.setdefault((run.task_id, run.trial), path.name)
        if other != path.name:
            raise RunError(f"{path}:trial", f"task {run.task_id!r} trial {run.trial} is "
                                            f"also {other}; number each task's trials apart")
        try:
            verdict = grade_actions(ds, run.task_id, _calls(run.actions), run.reply)
        except DatasetError as exc:
            raise RunError(f"{path}:task_id", exc.why) from None
        except RunError as exc:
            raise RunError(f"{path}:{exc.where}", exc.why) from None
        row = {"run": path.name, "task_id": run.task_id, "trial": run.trial,
               **verdict.to_json()}
        results.append(row)
        by_task[run.task_id].append(row)
    per_task = {tid: {"trials": len(rows), "passed": sum(r["passed"] for r in rows),
                      "pass_rate": sum(r["passed"] for r in rows) / len(rows),
                      "pass_all": all(r["passed"] for r in rows),
                      "mean_score": sum(r["score"] for r in rows) / len(rows)}
                for tid, rows in sorted(by_task.items())}
    summary = aggregate(results, ds.tasks)
    return {"runs": len(results), "tasks": len(per_task),
            **{k: summary["overall"][k] for k in ("passed", "pass_rate", "mean_score",
                                                    "mean_claw_score", "pass_k")},
            "pass_all_trials_rate": sum(t["pass_all"] for t in per_task.values())
            / len(per_task),
            "by": summary["by"], "joint": joint_recall(ds, results), "per_task": per_task,
            "results": results}


def joint_recall(ds: Dataset, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Proactive tasks that share a heartbeat snapshot and its prompt are one situation for
    an agent: graded jointly, as the share of their needs raised in time (recall), averaged
    over such groups of two or more tasks (a task's trials count by their mean)."""
    timely: dict[str, list[bool]] = defaultdict(list)
    for row in results:
        timely[row["task_id"]].append(any(c["name"] == "noticed in time" and c["passed"]
                                          for c in row["checks"]))
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    proactive = ds.tasks.filter(pl.col("mode") == "proactive")
    for tid, prompt in zip(proactive["task_id"], proactive["prompt"], strict=True):
        if tid not in timely:
            continue
        for beat in json.loads(ds.gold(tid)["need"])["heartbeats"]:
            if beat["phase"] == "window":
                groups[(beat["snapshot_id"], prompt)].add(tid)
    recalls = [sum(sum(timely[t]) / len(timely[t]) for t in group) / len(group)
               for _, group in sorted(groups.items()) if len(group) > 1]
    return {"groups": len(recalls),
            "mean_recall": sum(recalls) / len(recalls) if recalls else None}


def _frames(tables) -> dict[str, pl.DataFrame]:
    return {k: pl.from_arrow(v) for k, v in tables.items()}
