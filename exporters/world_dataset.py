"""One world as a dataset on disk (DESIGN.md layout)::

    <out>/manifest.json
    <out>/history/<table>/<world_id>.parquet   versioned app records, every catalogue table
    <out>/oracle/events/<world_id>.parquet     the event log
    <out>/oracle/labels/<world_id>.parquet     which record versions storylines wrote
    <out>/oracle/conflicts/<world_id>.parquet  sources that disagree on purpose, and who wins
    <out>/oracle/storylines/<world_id>.parquet each storyline instance and its milestones

Every table of the catalogue is written, with zero rows where the persona lacks the service,
so every dataset has the same tables and schemas whoever lives in it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from exporters.atomic import atomic_directory, check_output, only_listed
from exporters.content_hash import content_hash
from exporters.versions import FORMAT_VERSION, GENERATOR_VERSION, library_versions
from personas.instance import instance_id
from personas.spec import PersonaSpec, default_start
from scenarios.build import LivedWorld, live
from scenarios.noise import NoiseProfile
from scenarios.oracle_tables import (
    CONFLICT_SCHEMA,
    INSTANCE_SCHEMA,
    LABEL_SCHEMA,
    conflict_table,
    instance_table,
    label_table,
)
from scenarios.storyline_spec import StorylineSpec
from sim.events import EVENT_LOG_SCHEMA
from sim.services import TABLE_SERVICE, TABLES

Progress = Callable[[str], None]
WORLD_ID = pa.field("world_id", pa.string(), nullable=False)


def history_schema(table: str) -> pa.Schema:
    """The on-disk schema of a history table: ``world_id`` then the service's columns."""
    return pa.schema([WORLD_ID, *TABLES[table].schema])


def events_schema() -> pa.Schema:
    return pa.schema([WORLD_ID, *EVENT_LOG_SCHEMA])


def make_world_id(persona_instance: str, seed: int, start: dt.date, days: int,
                  recipe: str = "") -> str:
    """An opaque id for one world; ``recipe`` covers anything else that shapes it."""
    key = f"{persona_instance}\x1f{seed}\x1f{start.isoformat()}\x1f{days}"
    if recipe:
        key += f"\x1f{recipe}"
    return "w_" + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class WorldTables:
    world_id: str
    persona_instance: str
    history: dict[str, pa.Table]  # every catalogue table, in its on-disk schema
    events: pa.Table
    labels: pa.Table
    conflicts: pa.Table
    instances: pa.Table
    storylines: dict[str, int]  # instances per family
    skipped: list[str]  # families the persona lacks services for
    aborted: dict[str, int]  # instances planted that found nothing free to pick, per family
    noise_to_signal: dict | None  # target and achieved ratios, when thinned


def _with_world_id(table: pa.Table, world_id: str, schema: pa.Schema) -> pa.Table:
    col = pa.array([world_id] * table.num_rows, pa.string())
    return table.add_column(0, WORLD_ID, col).cast(schema)


def labels_schema() -> pa.Schema:
    return pa.schema([WORLD_ID, *LABEL_SCHEMA])


def conflicts_schema() -> pa.Schema:
    return pa.schema([WORLD_ID, *CONFLICT_SCHEMA])


def instances_schema() -> pa.Schema:
    return pa.schema([WORLD_ID, *INSTANCE_SCHEMA])


def build_world(spec: PersonaSpec, *, seed: int = 0, days: int = 100,
                start: dt.date | None = None, variation: int = 0,
                families: dict[str, StorylineSpec] | None = None,
                storylines: int | None = None, noise: NoiseProfile | None = None,
                ratio: float | None = None) -> WorldTables:
    """Simulate and return the world's tables in their on-disk schemas."""
    return lived_world(spec, seed=seed, days=days, start=start, variation=variation,
                       families=families, storylines=storylines, noise=noise,
                       ratio=ratio)[1]


def lived_world(spec: PersonaSpec, *, seed: int = 0, days: int = 100,
                start: dt.date | None = None, variation: int = 0,
                families: dict[str, StorylineSpec] | None = None,
                storylines: int | None = None, noise: NoiseProfile | None = None,
                ratio: float | None = None) -> tuple[LivedWorld, WorldTables]:
    """Simulate; return the live world (for tasks) and its tables as exported."""
    start = start or default_start()
    lived = live(spec, seed=seed, days=days, start=start, variation=variation,
                 families=families, storylines=storylines, noise=noise, ratio=ratio)
    pid = instance_id(spec.id, variation)
    recipe = ""  # routine life only keeps the ids issue 2 defined
    if noise is not None or ratio is not None or storylines:
        recipe = json.dumps({"noise": noise.model_dump() if noise else None, "ratio": ratio,
                             "storylines": storylines,
                             "families": sorted(families or {})}, sort_keys=True)
    wid = make_world_id(pid, seed, start, days, recipe)
    produced = lived.tables()
    history = {}
    for name in sorted(TABLES):
        schema = history_schema(name)
        table = produced.get(name, TABLES[name].schema.empty_table())
        history[name] = _with_world_id(table, wid, schema)
    events = _with_world_id(lived.event_log(), wid, events_schema())
    labels = _with_world_id(label_table(lived.storylines), wid, labels_schema())
    conflicts = _with_world_id(conflict_table(lived.storylines), wid, conflicts_schema())
    instances = _with_world_id(instance_table(lived.storylines), wid, instances_schema())
    counts: dict[str, int] = {}
    aborted: dict[str, int] = {}
    for inst in lived.storylines.instances:
        tally = aborted if inst.aborted else counts
        tally[inst.spec.id] = tally.get(inst.spec.id, 0) + 1
    th = lived.thinning
    ratio_report = None if th is None else {
        "target": th.target, "achieved_words": round(th.achieved_words, 3),
        "achieved_events": round(th.achieved_events, 3), "floor": round(th.floor, 3),
        "service_floors": th.service_floors,
        "service_floors_above_target": th.floors_over_target, "expansion": lived.expansion}
    return lived, WorldTables(world_id=wid, persona_instance=pid, history=history,
                              events=events, labels=labels, conflicts=conflicts,
                              instances=instances, storylines=dict(sorted(counts.items())),
                              skipped=lived.skipped, aborted=dict(sorted(aborted.items())),
                              noise_to_signal=ratio_report)


def _write(table: pa.Table, path: Path) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return {"rows": table.num_rows, "content_hash": content_hash(table)}


_A_WORLD = only_listed("world")  # what write_world may replace: a world it wrote, whole


def write_world(out: Path, spec: PersonaSpec, *, seed: int = 0, days: int = 100,
                start: dt.date | None = None, variation: int = 0,
                families: dict[str, StorylineSpec] | None = None,
                storylines: int | None = None, noise: NoiseProfile | None = None,
                ratio: float | None = None, progress: Progress | None = None) -> dict:
    """Simulate one world and write it atomically to ``out``; returns the manifest."""
    start = start or default_start()
    check_output(Path(out), ours=_A_WORLD)
    say = progress or (lambda _msg: None)
    say("simulating")
    tables = build_world(spec, seed=seed, days=days, start=start, variation=variation,
                         families=families, storylines=storylines, noise=noise, ratio=ratio)
    say("writing")
    with atomic_directory(Path(out), ours=_A_WORLD) as tmp:
        listed = {}
        for name, table in tables.history.items():
            rel = f"history/{name}/{tables.world_id}.parquet"
            listed[name] = {"service": TABLE_SERVICE[name], "files": [rel],
                            **_write(table, tmp / rel)}
        oracle = {}
        for name, table in (("events", tables.events), ("labels", tables.labels),
                            ("conflicts", tables.conflicts), ("storylines", tables.instances)):
            rel = f"oracle/{name}/{tables.world_id}.parquet"
            oracle[name] = {"files": [rel], **_write(table, tmp / rel)}
        manifest = {
            "kind": "world",
            "format_version": FORMAT_VERSION,
            "generator_version": GENERATOR_VERSION,
            "world_id": tables.world_id,
            "seed": seed,
            "persona": spec.id,
            "persona_instance": tables.persona_instance,
            "variation": variation,
            "timezone": spec.timezone,
            "start": start.isoformat(),
            "days": days,
            "services": sorted(spec.services),
            "storylines": tables.storylines,
            "storylines_skipped": tables.skipped,
            "storylines_aborted": tables.aborted,
            "noise": None if noise is None else noise.id,
            "noise_to_signal": tables.noise_to_signal,
            "libraries": library_versions(),
            "tables": listed,
            "oracle_tables": oracle,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
