"""The tables a benchmark dataset adds to a world: snapshots, tasks and the gold oracle.

Schemas are defined here, once. ``snapshots`` and ``tasks`` are agent-visible (a snapshot
says whose day it is and what is installed; a task is the prompt and its metadata);
``oracle/gold`` holds one row per task with everything needed to grade it, as JSON where
the shape is nested, so any harness can read it with a Parquet reader and a JSON parser.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import pyarrow as pa

from scenarios.grading import Fact, Oracle, Scope, WrongValue
from scenarios.grading.proactive import Heartbeat, Need
from scenarios.tasks import Solution, Task

_TS = pa.timestamp("us", tz="UTC")
_STR = pa.string()
_LIST = pa.list_(pa.string())


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(n, t, nullable=False) for n, t in fields])


SNAPSHOTS_SCHEMA = _schema(
    ("snapshot_id", _STR), ("world_id", _STR), ("split", _STR), ("as_of", _TS),
    ("timezone", _STR), ("user_name", _STR), ("user_email", _STR), ("user_work_email", _STR),
    ("user_phone", _STR), ("user_handle", _STR), ("services", _LIST))

TASKS_SCHEMA = _schema(
    ("task_id", _STR), ("snapshot_id", _STR), ("world_id", _STR), ("split", _STR),
    ("family", _STR), ("mode", _STR), ("category", _STR), ("difficulty", _STR),
    ("prompt", _STR), ("services", _LIST), ("devices", _LIST), ("language", _STR),
    ("as_of", _TS),
    ("episodes", _LIST))  # snapshot ids in order: one for a reactive task, the heartbeats
                          # of a proactive one (snapshot_id is the first)

GOLD_SCHEMA = _schema(
    ("task_id", _STR), ("snapshot_id", _STR), ("world_id", _STR), ("split", _STR),
    ("family", _STR), ("storyline_instance_id", _STR), ("prompt_template", pa.int32()),
    ("year", pa.int32()), ("timezone", _STR),
    ("required_effects", _STR),  # a predicate document, or "null"
    ("forbidden_effects", _STR),  # a JSON list of predicate documents
    ("answer_facts", _STR),  # [{slot, kind, value, contrastive}]
    ("wrong_values", _STR),  # [{slot, kind, value, source}]: distractor or superseded
    ("allowed_scope", _STR),  # [{table, ids, created}]
    ("benign_tables", _LIST),
    ("evidence_ids", _LIST), ("distractor_ids", _LIST),
    ("conflict_resolutions", _STR),  # [{conflict_id, operator, slot, authoritative, ...}]
    ("services_required", _LIST), ("services_touched", _LIST),
    ("evidence_age_days", pa.float64()), ("hops", pa.int32()),
    ("distractor_similarity", _LIST),  # of the look-alikes visible at the ask
    ("reference_actions", _STR),  # [{tool, args}]
    ("reference_reply", _STR),
    ("alternatives", _STR),  # [{description, actions, reply}]
    ("near_misses", _STR),
    # Proactive tasks only ("null" otherwise): the notice tool, the window (detectable,
    # deadline: ISO instants) and per heartbeat episode {snapshot_id, phase:
    # control|window|late, own: the need's record ids, elsewhere: other open needs' ids}
    ("need", _STR))


def snapshot_id(world_id: str, as_of_us: int) -> str:
    return "sn_" + hashlib.blake2b(f"{world_id}\x1f{as_of_us}".encode(),
                                   digest_size=8).hexdigest()


def task_id(world_id: str, key: str) -> str:
    return "tk_" + hashlib.blake2b(f"{world_id}\x1f{key}".encode(), digest_size=8).hexdigest()


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _actions(solution: Solution, episodes: list[str]) -> list[dict]:
    """A solution's calls as a run file has them: with the episode's ``snapshot_id`` when
    the task has several episodes."""
    if len(episodes) == 1:
        return list(solution.calls)
    return [{**call, "snapshot_id": episodes[solution.episode]} for call in solution.calls]


def _solutions(items: Iterable[Solution], episodes: list[str]) -> str:
    return _dump([{"description": s.description, "actions": _actions(s, episodes),
                   "reply": s.reply} for s in items])


def _need(task: Task, episodes: list[str]) -> Any:
    if task.need is None:
        return None
    return {"notice": task.need.notice, "detectable": task.window[0],
            "deadline": task.window[1],
            "heartbeats": [{"snapshot_id": sid, "phase": beat.phase, "own": list(beat.own),
                            "elsewhere": list(beat.elsewhere)}
                           for sid, beat in zip(episodes, task.need.heartbeats, strict=True)]}


def task_row(task: Task, *, task_id: str, episodes: list[str], world_id: str, split: str,
             as_of_us: int) -> dict[str, Any]:
    return {"task_id": task_id, "snapshot_id": episodes[0], "world_id": world_id,
            "split": split, "family": task.family.id, "mode": task.family.mode,
            "category": task.family.category, "difficulty": task.difficulty,
            "prompt": task.prompt, "services": task.services_touched,
            "devices": task.devices, "language": "en", "as_of": as_of_us,
            "episodes": episodes}


def gold_row(task: Task, *, task_id: str, episodes: list[str], world_id: str,
             split: str) -> dict[str, Any]:
    o = task.oracle
    return {
        "task_id": task_id, "snapshot_id": episodes[0], "world_id": world_id, "split": split,
        "family": task.family.id, "storyline_instance_id": task.instance_id,
        "prompt_template": task.template, "year": o.year, "timezone": o.tz,
        "required_effects": _dump(o.required),
        "forbidden_effects": _dump(list(o.forbidden)),
        "answer_facts": _dump([asdict(f) for f in o.facts]),
        "wrong_values": _dump([asdict(w) for w in o.wrong]),
        "allowed_scope": _dump([{"table": s.table, "ids": None if s.ids is None else list(s.ids),
                                 "created": s.created} for s in o.scope]),
        "benign_tables": list(o.benign_tables),
        "evidence_ids": [rid for _, rid in task.evidence],
        "distractor_ids": [rid for _, rid in task.distractors],
        "conflict_resolutions": _dump(task.conflicts),
        "services_required": task.services_required,
        "services_touched": task.services_touched,
        "evidence_age_days": task.evidence_age_days, "hops": task.hops,
        "distractor_similarity": task.distractor_similarity,
        "reference_actions": _dump(_actions(task.reference, episodes)),
        "reference_reply": task.reference.reply,
        "alternatives": _solutions(task.alternatives, episodes),
        "near_misses": _solutions(task.near_misses, episodes),
        "need": _dump(_need(task, episodes)),
    }


def oracle_of(gold: dict[str, Any]) -> Oracle:
    """The grader's oracle from one gold row (as read back from Parquet)."""
    scope = tuple(Scope(s["table"], None if s["ids"] is None else tuple(s["ids"]),
                        s["created"]) for s in json.loads(gold["allowed_scope"]))
    return Oracle(
        year=gold["year"], tz=gold["timezone"],
        required=json.loads(gold["required_effects"]),
        forbidden=tuple(json.loads(gold["forbidden_effects"])),
        facts=tuple(Fact(**f) for f in json.loads(gold["answer_facts"])),
        wrong=tuple(WrongValue(**w) for w in json.loads(gold["wrong_values"])),
        scope=scope, benign_tables=tuple(gold["benign_tables"]))


def need_of(gold: dict[str, Any]) -> Need | None:
    """A proactive task's need from its gold row (None for a reactive task)."""
    need = json.loads(gold["need"])
    if need is None:
        return None
    return Need(need["notice"], tuple(Heartbeat(b["phase"], tuple(b["own"]),
                                                tuple(b["elsewhere"]))
                                      for b in need["heartbeats"]))


def solutions_of(gold: dict[str, Any], which: str) -> list[Solution]:
    """``reference``, ``alternatives`` or ``near_misses`` of a gold row, as Solutions."""
    if which == "reference":
        return [Solution("reference", tuple(json.loads(gold["reference_actions"])),
                         gold["reference_reply"])]
    return [Solution(s["description"], tuple(s["actions"]), s["reply"])
            for s in json.loads(gold[which])]


def table_of(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()
