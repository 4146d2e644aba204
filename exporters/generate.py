"""A benchmark dataset from a recipe: worlds, snapshots, verified tasks and their oracle.

Layout (DESIGN.md), one file per world and table, so any world can be regenerated alone::

    <out>/manifest.json
    <out>/history/<table>/<split>/<world_id>.parquet   versioned app records (not for agents)
    <out>/data/<table>/<split>/<world_id>.parquet      agent-visible snapshot rows
    <out>/data/snapshots/<split>/<world_id>.parquet    one row per snapshot
    <out>/tasks/<split>/<world_id>.parquet             one row per task
    <out>/oracle/<name>/<split>/<world_id>.parquet     gold, events, labels, conflicts,
                                                       storylines

Every table has one schema whatever the world (zero-row files where a world has none), and
``data/``, ``tasks/`` and ``oracle/`` can be shipped separately. Tasks that fail their
self-check are not written; the manifest counts them by reason, and generation fails
(:class:`TooManyDroppedError`, nothing written) when more than the recipe's share drop.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from exporters.atomic import atomic_directory, check_output
from exporters.content_hash import content_hash
from exporters.task_tables import (
    GOLD_SCHEMA,
    SNAPSHOTS_SCHEMA,
    TASKS_SCHEMA,
    gold_row,
    snapshot_id,
    table_of,
    task_id,
    task_row,
)
from exporters.versions import FORMAT_VERSION, GENERATOR_VERSION, library_versions
from exporters.world_dataset import (
    WORLD_ID,
    conflicts_schema,
    events_schema,
    instances_schema,
    labels_schema,
    lived_world,
)
from personas.errors import SpecError
from personas.spec import PersonaSpec
from scenarios.environments import Environments, environments, user_of
from scenarios.noise import NoiseProfile
from scenarios.recipe_spec import RecipeSpec, world_seed
from scenarios.storyline_spec import StorylineSpec
from scenarios.task_spec import TaskFamilySpec
from sim.services import TABLE_SERVICE, TABLES
from sim.snapshot import snapshot_schema

Progress = Callable[[str], None]
SNAPSHOT_ID = pa.field("snapshot_id", pa.string(), nullable=False)


class TooManyDroppedError(RuntimeError):
    """More candidate tasks failed their self-check than the recipe allows."""


def data_schema(table: str) -> pa.Schema:
    """An agent-visible table on disk: ``snapshot_id``, ``world_id``, then the snapshot."""
    return pa.schema([SNAPSHOT_ID, WORLD_ID, *snapshot_schema(table)])


def resolve(recipe: RecipeSpec, *, personas: dict[str, PersonaSpec],
            families: dict[str, TaskFamilySpec], profiles: dict[str, NoiseProfile],
            where: str) -> tuple[dict[str, TaskFamilySpec], NoiseProfile]:
    """Check every name the recipe uses; ``where`` names the recipe in errors."""
    for split in recipe.splits:
        for i, pid in enumerate(split.personas):
            if pid not in personas:
                raise SpecError(f"{where}:splits.{split.name}.personas[{i}]",
                                f"unknown persona {pid!r}")
    if recipe.noise not in profiles:
        raise SpecError(f"{where}:noise", f"unknown noise profile {recipe.noise!r}")
    chosen = recipe.task_families or sorted(families)
    for i, fid in enumerate(chosen):
        if fid not in families:
            raise SpecError(f"{where}:task_families[{i}]", f"unknown task family {fid!r}")
    return {fid: families[fid] for fid in chosen}, profiles[recipe.noise]


def generate(recipe: RecipeSpec, out: Path, *, personas: dict[str, PersonaSpec],
             storylines: dict[str, StorylineSpec], families: dict[str, TaskFamilySpec],
             profiles: dict[str, NoiseProfile], ratio: float | None = None,
             where: str = "recipe", progress: Progress | None = None) -> dict:
    """Generate ``recipe`` into ``out`` atomically; returns the manifest."""
    chosen, profile = resolve(recipe, personas=personas, families=families,
                              profiles=profiles, where=where)
    ratio = ratio if ratio is not None else recipe.noise_ratio
    check_output(Path(out))
    say = progress or (lambda _msg: None)
    start = dt.date.fromisoformat(recipe.start)
    files: dict[str, dict[str, list]] = {}  # group/table -> {"paths": [...], "tables": [...]}
    worlds, dropped, candidates, kept = [], Counter(), 0, 0
    with atomic_directory(Path(out)) as tmp:
        for split in recipe.splits:
            for index in range(split.worlds):
                pid = split.personas[index % len(split.personas)]
                variation = split.variations[index % len(split.variations)]
                seed = world_seed(recipe.root_seed, split.name, index)
                say(f"{split.name} {index + 1}/{split.worlds}: {pid}")
                lived, tables = lived_world(
                    personas[pid], seed=seed, days=recipe.days, start=start,
                    variation=variation, families=storylines, noise=profile, ratio=ratio)
                envs = environments(lived, chosen, difficulty=recipe.difficulty,
                                    history=tables.history, heartbeat=recipe.heartbeat_at)
                candidates += envs.candidates
                dropped.update(envs.dropped)
                kept += len(envs.tasks)
                _world_files(tmp, files, split.name, tables, envs, user_of(lived),
                             personas[pid])
                worlds.append({"split": split.name, "index": index, "seed": seed,
                               "world_id": tables.world_id, "persona": pid,
                               "variation": variation, "tasks": len(envs.tasks),
                               "snapshots": len(envs.environments)})
        if candidates and sum(dropped.values()) > recipe.max_dropped_share * candidates:
            raise TooManyDroppedError(
                f"{sum(dropped.values())} of {candidates} candidate tasks failed their "
                f"self-check ({dict(dropped)}), more than the recipe's "
                f"max_dropped_share {recipe.max_dropped_share:g}")
        say("hashing")
        manifest = {
            "kind": "dataset",
            "format_version": FORMAT_VERSION,
            "generator_version": GENERATOR_VERSION,
            "recipe": recipe.model_dump(mode="json"),
            "recipe_hash": recipe.content_hash(),
            "root_seed": recipe.root_seed,
            "noise_ratio": ratio,
            "splits": [s.name for s in recipe.splits],
            "worlds": worlds,
            "task_families": sorted(chosen),
            "tasks": kept,
            "candidate_tasks": candidates,
            "dropped": dict(sorted(dropped.items())),
            "libraries": library_versions(),
            **_listing(files),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _world_files(root: Path, files: dict, split: str, tables, envs: Environments,
                 user: dict[str, str], spec: PersonaSpec) -> None:
    wid = tables.world_id

    def put(group: str, name: str, table: pa.Table) -> None:
        rel = f"{group}/{name}/{split}/{wid}.parquet" if name else f"{group}/{split}/{wid}.parquet"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression="zstd")
        entry = files.setdefault(f"{group}/{name}" if name else group,
                                 {"paths": [], "tables": []})
        entry["paths"].append(rel)
        entry["tables"].append(table)

    for name, table in tables.history.items():
        put("history", name, table)
    snapshot_rows, task_rows, gold_rows = [], [], []
    by_table: dict[str, list[pa.Table]] = {name: [] for name in TABLES}
    sid_at = {env.as_of: snapshot_id(wid, env.as_of_us) for env in envs.environments}
    for env in envs.environments:
        sid = sid_at[env.as_of]
        snapshot_rows.append({"snapshot_id": sid, "world_id": wid, "split": split,
                              "as_of": env.as_of_us, "timezone": spec.timezone,
                              "user_name": user["name"], "user_email": user["email"],
                              "user_work_email": user["work_email"],
                              "user_phone": user["phone"], "user_handle": user["handle"],
                              "services": sorted(spec.services)})
        for name, table in env.tables.items():
            n = table.num_rows
            by_table[name].append(table.add_column(0, WORLD_ID, pa.array([wid] * n, pa.string()))
                                  .add_column(0, SNAPSHOT_ID, pa.array([sid] * n, pa.string())))
        for task in env.tasks:
            tid = task_id(wid, task.key)
            episodes = [sid_at[at] for at in task.instants]
            task_rows.append(task_row(task, task_id=tid, episodes=episodes, world_id=wid,
                                      split=split, as_of_us=env.as_of_us))
            gold_rows.append(gold_row(task, task_id=tid, episodes=episodes, world_id=wid,
                                      split=split))
    for name in sorted(TABLES):
        schema = data_schema(name)
        parts = [t.cast(schema) for t in by_table[name]]
        put("data", name, pa.concat_tables(parts) if parts else schema.empty_table())
    put("data", "snapshots", table_of(snapshot_rows, SNAPSHOTS_SCHEMA))
    put("tasks", "", table_of(task_rows, TASKS_SCHEMA))
    put("oracle", "gold", table_of(gold_rows, GOLD_SCHEMA))
    put("oracle", "events", tables.events.cast(events_schema()))
    put("oracle", "labels", tables.labels.cast(labels_schema()))
    put("oracle", "conflicts", tables.conflicts.cast(conflicts_schema()))
    put("oracle", "storylines", tables.instances.cast(instances_schema()))


def _listing(files: dict) -> dict:
    """Manifest entries: each table's files, rows and one content hash over all of them."""
    out: dict[str, dict] = {"tables": {}, "oracle_tables": {}, "history_tables": {}}
    for key in sorted(files):
        group, _, name = key.partition("/")
        table = pa.concat_tables(files[key]["tables"])
        entry = {"files": files[key]["paths"], "rows": table.num_rows,
                 "content_hash": content_hash(table)}
        if group == "data":
            if name in TABLE_SERVICE:
                entry["service"] = TABLE_SERVICE[name]
            out["tables"][name] = entry
        elif group == "tasks":
            out["tables"]["tasks"] = entry
        elif group == "oracle":
            out["oracle_tables"][name] = entry
        else:
            out["history_tables"][name] = entry
    return out
