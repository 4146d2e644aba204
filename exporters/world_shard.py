"""One world of a recipe, generated alone into its own shard directory.

``make_shard`` is the unit every backend runs (in-process, a spawned worker pool, Ray): a
pure function of the recipe, the world's plan and the spec library. It lives the world,
renders its environments, and writes every table of it under
``<partial>/worlds/<split>/<index>/`` as ``<group>__<table>.parquet`` plus ``world.json``,
the world's record (written last, so a shard with a record is whole). The shard is built
under a temporary name carrying host, pid and attempt and renamed into place; if another
attempt got there first, its shard stands and this one is discarded (renames are
idempotent).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

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
from exporters.world_dataset import (
    WORLD_ID,
    conflicts_schema,
    events_schema,
    history_schema,
    instances_schema,
    labels_schema,
    lived_world,
)
from personas.spec import PersonaSpec, digest
from scenarios.environments import Environments, environments, user_of
from scenarios.noise import NoiseProfile
from scenarios.recipe_spec import RecipeSpec, WorldPlan
from scenarios.storyline_spec import StorylineSpec
from scenarios.task_spec import TaskFamilySpec
from sim.services import TABLES
from sim.snapshot import snapshot_schema

SNAPSHOT_ID = pa.field("snapshot_id", pa.string(), nullable=False)
SPLIT = pa.field("split", pa.string(), nullable=False)
RECORD = "world.json"
_attempts = itertools.count()


def data_schema(table: str) -> pa.Schema:
    """An agent-visible table on disk: ``snapshot_id``, ``world_id``, ``split``, then the
    snapshot's columns."""
    return pa.schema([SNAPSHOT_ID, WORLD_ID, SPLIT, *snapshot_schema(table)])


def dataset_schema(key: str) -> pa.Schema | None:
    """The one schema of table ``key`` (``tasks``, ``data/<table>``, ``oracle/<name>``,
    ``history/<table>``) in every file of a dataset; None for a name it does not have.
    Every table carries ``world_id`` and ``split`` as real columns."""
    group, _, name = key.partition("/")
    fixed = {"tasks": TASKS_SCHEMA, "data/snapshots": SNAPSHOTS_SCHEMA,
             "oracle/gold": GOLD_SCHEMA}
    if key in fixed:
        return fixed[key]
    if group == "data":
        return data_schema(name) if name in TABLES else None
    world = {"oracle/events": events_schema, "oracle/labels": labels_schema,
             "oracle/conflicts": conflicts_schema, "oracle/storylines": instances_schema}
    if key in world:
        schema = world[key]()
    elif group == "history" and name in TABLES:
        schema = history_schema(name)
    else:
        return None
    return schema.insert(schema.get_field_index("world_id") + 1, SPLIT)


@dataclass(frozen=True)
class Library:
    """The specs a recipe draws on, resolved once by the driver and shipped to workers."""

    personas: dict[str, PersonaSpec]
    storylines: dict[str, StorylineSpec]
    families: dict[str, TaskFamilySpec]  # the recipe's task families
    profiles: dict[str, NoiseProfile]

    def content_hash(self) -> str:
        """A digest of every spec here. Worlds are a pure function of the recipe *and* these
        specs, so a dataset or an unfinished run made before a spec was edited (a
        ``--library`` storyline fixed, a persona retuned) is not this run's."""
        return digest({kind: {k: v.model_dump(mode="json") for k, v in getattr(self, kind).items()}
                       for kind in ("personas", "storylines", "families", "profiles")})


def shard_dir(partial: Path, split: str, index: int) -> Path:
    return Path(partial) / "worlds" / split / f"{index:07d}"


def read_record(shard: Path) -> dict | None:
    """A finished shard's record, or None while it is unfinished or absent."""
    try:
        return json.loads((shard / RECORD).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def make_shard(recipe: RecipeSpec, plan: WorldPlan, library: Library, partial: Path) -> dict:
    """Generate world ``plan`` into its shard under ``partial``; return its record."""
    final = shard_dir(partial, plan.split, plan.index)
    done = read_record(final)
    if done is not None:
        return done
    held_out = recipe.held_out_of(recipe.split(plan.split))
    families = {k: v for k, v in library.families.items() if k not in held_out.task_families}
    storylines = {k: v for k, v in library.storylines.items() if k not in held_out.storylines}
    spec = library.personas[plan.persona]
    lived, tables = lived_world(
        spec, seed=plan.seed, days=plan.days, start=dt.date.fromisoformat(recipe.start),
        variation=plan.variation, families=storylines, noise=library.profiles[plan.noise],
        ratio=plan.noise_ratio)
    envs = environments(lived, families, difficulty=recipe.difficulty, history=tables.history,
                        heartbeat=recipe.heartbeat_at, snapshots=plan.snapshots,
                        held_out_prompts=frozenset(held_out.prompts))
    tmp = final.with_name(f".{final.name}.tmp-{socket.gethostname()}-{os.getpid()}-"
                          f"{next(_attempts)}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    hashes = {}
    for key, table in _world_tables(plan.split, tables, envs, user_of(lived), spec):
        table = _with_split(table, plan.split, dataset_schema(key))
        pq.write_table(table, tmp / f"{key.replace('/', '__')}.parquet", compression="zstd")
        hashes[key] = {"rows": table.num_rows, "content_hash": content_hash(table)}
    record = {"split": plan.split, "index": plan.index, "seed": plan.seed,
              "world_id": tables.world_id, "persona": plan.persona,
              "persona_instance": tables.persona_instance, "variation": plan.variation,
              "timezone": spec.timezone, "start": recipe.start,  # local hours, for stats
              "days": plan.days, "noise": plan.noise, "noise_ratio": plan.noise_ratio,
              "tasks": len(envs.tasks), "snapshots": len(envs.environments),
              "environments": sum(1 for env in envs.environments if env.tasks),
              "candidate_tasks": envs.candidates, "dropped": dict(sorted(envs.dropped.items())),
              "storylines": sorted({i.spec.id for i in lived.storylines.instances}),
              "noise_to_signal": tables.noise_to_signal,
              "tables": hashes}
    (tmp / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    try:
        tmp.rename(final)
    except OSError:  # another attempt finished this world first: keep its shard
        shutil.rmtree(tmp, ignore_errors=True)
        if read_record(final) is None:
            raise
    return read_record(final) or record


def _with_split(table: pa.Table, split: str, schema: pa.Schema) -> pa.Table:
    if "split" not in table.column_names:
        table = table.add_column(table.schema.get_field_index("world_id") + 1, SPLIT,
                                 pa.array([split] * table.num_rows, pa.string()))
    return table.cast(schema)


def _world_tables(split: str, tables, envs: Environments, user: dict[str, str],
                  spec: PersonaSpec):
    """(``group/table`` key, table) for every table of the dataset layout, zero-row
    tables included so every world has the same files."""
    wid = tables.world_id
    for name, table in tables.history.items():
        yield f"history/{name}", table
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
                                  .add_column(0, SNAPSHOT_ID, pa.array([sid] * n, pa.string()))
                                  .add_column(2, SPLIT, pa.array([split] * n, pa.string())))
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
        yield f"data/{name}", pa.concat_tables(parts) if parts else schema.empty_table()
    yield "data/snapshots", table_of(snapshot_rows, SNAPSHOTS_SCHEMA)
    yield "tasks", table_of(task_rows, TASKS_SCHEMA)
    yield "oracle/gold", table_of(gold_rows, GOLD_SCHEMA)
    yield "oracle/events", tables.events
    yield "oracle/labels", tables.labels
    yield "oracle/conflicts", tables.conflicts
    yield "oracle/storylines", tables.instances
