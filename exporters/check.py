"""``check_dataset``: is a dataset on disk whole, as written, and is every task sound?

What is checked, in order:

1. every table the manifest lists: its files exist and read, each has the table's one
   schema, and the content hash over its files equals the manifest's;
2. tasks point at snapshots that exist, and every task has one gold row;
3. with ``oracle/`` present, every task's self-check, from the files alone: the reference
   replayed through a fresh workspace passes, doing nothing fails, each alternative passes
   and each near miss fails (``sample`` checks a seeded sample of that many tasks).

Without ``oracle/`` (a split shipped without answers) the self-checks are skipped, and the
report says so.

Always, even when a table check fails (a tampered table is where a leak is likeliest),
the splits are checked leak-free (:mod:`exporters.leaks`); ``against`` checks the dataset
shares no world or person with another, ``seeds`` verifies ``--private-seeds``
commitments against the builder's seeds file.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from exporters.compact import combined_hash, iter_worlds
from exporters.content_hash import content_hash
from exporters.leaks import cross_problems, split_problems
from exporters.loading import Dataset
from exporters.runs import grade_actions
from exporters.seeds import read_seeds_file, verify_seeds
from exporters.world_shard import dataset_schema


@dataclass
class CheckReport:
    path: str
    tables: int = 0
    tasks_checked: int = 0
    self_checks_skipped: bool = False
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict:
        return {"path": self.path, "ok": self.ok, "tables": self.tables,
                "tasks_checked": self.tasks_checked,
                "self_checks_skipped": self.self_checks_skipped, "failures": self.failures}


def expected_schema(group: str, name: str) -> pa.Schema | None:
    """The schema of a table the manifest lists under ``group`` (None: unknown name)."""
    if group == "tables":
        return dataset_schema("tasks" if name == "tasks" else f"data/{name}")
    return dataset_schema(f"{group.removesuffix('_tables')}/{name}")


def check_dataset(path: Path | str, *, sample: int | None = None, seed: int = 0,
                  against: Path | str | None = None,
                  seeds: Path | str | None = None) -> CheckReport:
    """Check the dataset at ``path`` (see the module docstring): ``against`` another
    dataset, ``seeds`` the secrets file of a ``--private-seeds`` run (both are read
    before any work; :class:`DatasetError` when either is not what it should be)."""
    ds = Dataset(path)
    other = Dataset(against) if against is not None else None
    kept = read_seeds_file(seeds) if seeds is not None else None
    report = CheckReport(str(path))
    for group in ("tables", "history_tables", "oracle_tables"):
        if group == "oracle_tables" and not ds.has_oracle:
            continue
        for name, entry in sorted(ds.manifest.get(group, {}).items()):
            report.tables += 1
            _check_table(ds, group, name, entry, report)
    broken = bool(report.failures)
    report.failures += split_problems(ds)
    if other is not None:
        report.failures += cross_problems(ds, other)
    if kept is not None:
        report.failures += (verify_seeds(ds.manifest, kept) if ds.manifest.get("private_seeds")
                            else ["seeds file given, but the dataset publishes its seeds "
                                  "(generated without --private-seeds)"])
    if broken:  # the checks below read whole tables: not when a table is broken
        return report
    tasks = ds.tasks
    snapshots = pa.concat_tables([pq.read_table(ds.path / f) for f in
                                  ds.manifest["tables"]["snapshots"]["files"]])
    known = set(snapshots["snapshot_id"].to_pylist())
    for tid, sid in zip(tasks["task_id"], tasks["snapshot_id"], strict=True):
        if sid not in known:
            report.failures.append(f"task {tid}: no snapshot {sid}")
    if not ds.has_oracle:
        report.self_checks_skipped = True
        return report
    ids = tasks["task_id"].to_list()
    if sample is not None and sample < len(ids):
        ids = sorted(random.Random(seed).sample(ids, sample))
    for tid in ids:
        report.tasks_checked += 1
        for problem in _self_check(ds, tid):
            report.failures.append(f"task {tid}: {problem}")
    return report


def _check_table(ds: Dataset, group: str, name: str, entry: dict, report: CheckReport) -> None:
    """Schema, rows and content hash of one table, read a world at a time."""
    schema = expected_schema(group, name)
    rows, triples = 0, []
    for rel in entry["files"]:
        f = ds.path / rel
        if not f.is_file():
            report.failures.append(f"{rel}: missing")
            return
        try:
            if schema is not None and not pq.read_schema(f).equals(schema):
                report.failures.append(f"{rel}: schema differs from the {name} schema")
                return
            split = Path(rel).stem
            for wid, table in iter_worlds(f):
                rows += table.num_rows
                triples.append((split, wid, content_hash(table)))
        except (OSError, pa.ArrowException) as exc:
            report.failures.append(f"{rel}: unreadable ({exc})")
            return
    if rows != entry["rows"]:
        report.failures.append(f"{name}: {rows} rows, manifest says {entry['rows']}")
    elif combined_hash(triples + _empty_worlds(ds, group, name, triples)) \
            != entry["content_hash"]:
        report.failures.append(f"{name}: content hash differs from the manifest's")


def _empty_worlds(ds: Dataset, group: str, name: str,
                  seen: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Worlds with no rows in this table hash as the empty table (they have no row group)."""
    have = {(split, wid) for split, wid, _ in seen}
    schema = expected_schema(group, name)
    empty = content_hash(schema.empty_table()) if schema is not None else None
    return [(w["split"], w["world_id"], empty) for w in ds.manifest["worlds"]
            if (w["split"], w["world_id"]) not in have and empty is not None]


def _self_check(ds: Dataset, task_id: str) -> list[str]:
    problems = []
    try:
        ds.gold(task_id)
    except ValueError as exc:
        return [str(exc)]
    reference = ds.solutions(task_id, "reference")[0]
    if not grade_actions(ds, task_id, list(reference.calls), reference.reply).passed:
        problems.append("the reference solution fails")
    if grade_actions(ds, task_id, [], "").passed:
        problems.append("doing nothing passes")
    for alt in ds.solutions(task_id, "alternatives"):
        if not grade_actions(ds, task_id, list(alt.calls), alt.reply).passed:
            problems.append(f"alternative {alt.description!r} fails")
    for miss in ds.solutions(task_id, "near_misses"):
        if grade_actions(ds, task_id, list(miss.calls), miss.reply).passed:
            problems.append(f"near miss {miss.description!r} passes")
    if ds.need(task_id) is not None:
        problems += _control_problems(ds, task_id)
    return problems


def _control_problems(ds: Dataset, task_id: str) -> list[str]:
    """A proactive task's control heartbeats must lack a necessary evidence record."""
    evidence = set(ds.gold(task_id)["evidence_ids"])
    need = json.loads(ds.gold(task_id)["need"])
    problems = []
    for beat in need["heartbeats"]:
        if beat["phase"] != "control":
            continue
        seen = {rid for table in ds.snapshot(beat["snapshot_id"]).values()
                for rid in table.column("record_id").to_pylist()}
        if evidence <= seen:
            problems.append(f"control heartbeat {beat['snapshot_id']} already shows "
                            "every evidence record")
    return problems
