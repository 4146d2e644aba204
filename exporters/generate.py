"""A benchmark dataset from a recipe: worlds, snapshots, verified tasks and their oracle.

Layout (DESIGN.md): one file per table and split, many worlds each, sorted by ``world_id``::

    <out>/README.md                              the dataset card (Hugging Face configs)
    <out>/manifest.json
    <out>/data/<table>/<split>.parquet           agent-visible snapshot rows
    <out>/data/snapshots/<split>.parquet         one row per snapshot
    <out>/tasks/<split>.parquet                  one row per task
    <out>/oracle/<name>/<split>.parquet          gold, events, labels, conflicts, storylines
    <out>/history/<table>/<split>.parquet        versioned app records (not for agents)

How it is made: every world is a pure function of (recipe, split, index)
(:func:`scenarios.recipe_spec.plan_worlds`), generated alone into a shard under
``<out>.partial/`` by a backend (this process, spawned workers, or Ray). A run that dies
resumes from the shards already finished. When every world is done the shards are
compacted into the layout above, the manifest and card are written, and the directory is
renamed to ``<out>`` in one step. Tasks that fail their self-check are not written; the
manifest counts them by reason, and generation fails (:class:`TooManyDroppedError`,
nothing written) when more than the recipe's share drop.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from exporters import backends
from exporters.atomic import OutputError, check_output
from exporters.card import write_card
from exporters.compact import compact
from exporters.partial import finished, open_partial
from exporters.seeds import private_manifest, secret_root
from exporters.versions import FORMAT_VERSION, GENERATOR_VERSION, library_versions
from exporters.world_shard import Library
from personas.errors import SpecError
from personas.spec import PersonaSpec
from scenarios.build import BelowFloorError
from scenarios.engine import StorylineRunError
from scenarios.noise import NoiseProfile
from scenarios.recipe_spec import RecipeSpec, plan_worlds
from scenarios.storyline_spec import StorylineSpec
from scenarios.task_spec import TaskFamilySpec
from scenarios.tasks import TaskFamilyError

__all__ = ["TooManyDroppedError", "generate", "resolve"]

# progress(stage, done, total): stage is a split's name while its worlds are made, then
# "compacting"; the library never prints, the CLI draws bars from this.
Progress = Callable[[str, int, int], None]
FAULT_AFTER = "LIFELOOM_FAULT_AFTER_WORLDS"  # tests: die (exit 75) after this many worlds


class TooManyDroppedError(RuntimeError):
    """More candidate tasks failed their self-check than the recipe allows."""


def resolve(recipe: RecipeSpec, *, personas: dict[str, PersonaSpec],
            storylines: dict[str, StorylineSpec], families: dict[str, TaskFamilySpec],
            profiles: dict[str, NoiseProfile]) -> Library:
    """Check every name the recipe uses (errors name the recipe's file, ``recipe.where``)."""
    where = recipe.where
    def known(key: str, names, table: dict, what: str) -> None:
        for i, name in enumerate(names):
            if name not in table:
                raise SpecError(f"{where}:{key}[{i}]", f"unknown {what} {name!r}")

    if recipe.noise not in profiles:
        raise SpecError(f"{where}:noise", f"unknown noise profile {recipe.noise!r}")
    known("task_families", recipe.task_families, families, "task family")
    for split in recipe.splits:
        key = f"splits.{split.name}"
        known(f"{key}.personas", split.personas, personas, "persona")
        if split.noise is not None and split.noise not in profiles:
            raise SpecError(f"{where}:{key}.noise", f"unknown noise profile {split.noise!r}")
        held = split.held_out
        known(f"{key}.held_out.personas", held.personas, personas, "persona")
        known(f"{key}.held_out.storylines", held.storylines, storylines, "storyline family")
        known(f"{key}.held_out.task_families", held.task_families, families, "task family")
        for i, prompt in enumerate(held.prompts):
            family, level, index = prompt.split("/")
            if family not in families or int(index) >= len(
                    getattr(families[family].prompts, level)):
                raise SpecError(f"{where}:{key}.held_out.prompts[{i}]",
                                f"no prompt template {prompt!r}")
    chosen = recipe.task_families or sorted(families)
    return Library(personas=personas, storylines=storylines,
                   families={fid: families[fid] for fid in chosen}, profiles=profiles)


def with_ratio(recipe: RecipeSpec, ratio: float | None) -> RecipeSpec:
    """``recipe`` with every world at noise ratio ``ratio`` (None: as written)."""
    if ratio is None:
        return recipe
    return recipe.model_copy(update={
        "noise_ratio": ratio,
        "splits": [s.model_copy(update={"noise_ratio": None}) for s in recipe.splits]})


def generate(recipe: RecipeSpec, out: Path, *, personas: dict[str, PersonaSpec],
             storylines: dict[str, StorylineSpec], families: dict[str, TaskFamilySpec],
             profiles: dict[str, NoiseProfile], ratio: float | None = None,
             workers: int = 1, backend: str = "local", restart: bool = False,
             private_seeds: bool = False, progress: Progress | None = None) -> dict:
    """Generate ``recipe`` into ``out`` (resuming ``<out>.partial``); return the manifest.

    An ``out`` already holding this recipe's dataset is left as it is (its manifest is
    returned); one holding another recipe's is refused with :class:`OutputError`.
    ``private_seeds`` draws a secret root seed instead of the recipe's, writes seed
    commitments instead of seeds, and the seeds themselves to ``<out>.seeds.json``
    beside the dataset (keep that file private).
    """
    recipe = with_ratio(recipe, ratio)
    library = resolve(recipe, personas=personas, storylines=storylines, families=families,
                      profiles=profiles)
    out = Path(out)
    check_output(out)  # a finished dataset passes here; _existing judges whose it is
    if backend not in backends.BACKENDS:
        raise backends.BackendError("--backend", f"unknown backend {backend!r}; known: "
                                                 f"{', '.join(backends.BACKENDS)}")
    seeds_file = out.with_name(out.name + ".seeds.json")
    drew_seeds = private_seeds and not seeds_file.exists()  # not a resumed run's

    def forget_seeds() -> None:
        """A run refused before any world, or one that would fail the same way again,
        leaves no seeds file it drew (a crash keeps it: the resumed run needs it)."""
        if drew_seeds:
            seeds_file.unlink(missing_ok=True)

    if private_seeds:  # after every check of the recipe: a bad one leaves no seeds file
        recipe = recipe.model_copy(update={"root_seed": secret_root(seeds_file)})
    recipe_hash, library_hash = recipe.content_hash(), library.content_hash()
    try:
        existing = _existing(out, recipe_hash, library_hash)
        if existing is not None:
            return existing
        partial = open_partial(out, recipe_hash, library_hash, restart=restart)
    except OutputError:  # another recipe's dataset or unfinished run is there
        forget_seeds()
        raise
    say = progress or (lambda _stage, _done, _total: None)
    plans = plan_worlds(recipe)
    records = finished(partial)
    totals = Counter(p.split for p in plans)
    counts = Counter(split for split, _ in records)
    for split in totals:
        say(split, counts[split], totals[split])
    fault_after = int(os.environ.get(FAULT_AFTER, "0") or 0)
    made = 0

    def on_done(record: dict) -> None:
        nonlocal made
        records[record["split"], record["index"]] = record
        counts[record["split"]] += 1
        made += 1
        say(record["split"], counts[record["split"]], totals[record["split"]])
        if fault_after and made >= fault_after:
            os._exit(75)  # a simulated crash: no cleanup, the .partial stays as it is

    todo = [p for p in plans if (p.split, p.index) not in records]
    try:
        backends.run(recipe, todo, library, partial, workers=workers, backend=backend,
                     on_done=on_done)
    except (StorylineRunError, TaskFamilyError, BelowFloorError):
        # The same specs and target fail the same way again: nothing to resume.
        shutil.rmtree(partial, ignore_errors=True)
        forget_seeds()
        raise
    ordered = [records[p.split, p.index] for p in plans]
    _check_dropped(recipe, ordered, partial)
    say("compacting", 0, 1)
    dest = partial / "dataset"
    shutil.rmtree(dest, ignore_errors=True)
    manifest = _manifest(recipe, recipe_hash, library_hash, library, ordered,
                         compact(partial, ordered, dest))
    if private_seeds:
        manifest, secrets = private_manifest(manifest)
        _write_json(seeds_file, secrets)
    _write_json(dest / "manifest.json", manifest)
    write_card(dest, manifest)
    if out.exists():  # an empty directory (check_output refused anything else)
        out.rmdir()
    dest.rename(out)
    shutil.rmtree(partial)
    say("compacting", 1, 1)
    return manifest


def _existing(out: Path, recipe_hash: str, library_hash: str) -> dict | None:
    """The manifest of a finished dataset of this recipe and library at ``out`` (None if
    there is none); a finished dataset of any other recipe, library or version is
    refused."""
    path = out / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        manifest = {}
    if (manifest.get("recipe_hash"), manifest.get("library_hash"),
            manifest.get("generator_version")) == (recipe_hash, library_hash, GENERATOR_VERSION):
        return manifest
    raise OutputError("--out", f"{out} holds a dataset of another recipe, spec library or "
                               f"generator version ({manifest.get('recipe', {}).get('id')!r});"
                               " remove it or choose another --out")


def _check_dropped(recipe: RecipeSpec, records: list[dict], partial: Path) -> None:
    candidates = sum(r["candidate_tasks"] for r in records)
    dropped = sum((Counter(r["dropped"]) for r in records), Counter())
    if candidates and sum(dropped.values()) > recipe.max_dropped_share * candidates:
        shutil.rmtree(partial, ignore_errors=True)  # rerunning would drop the same tasks
        raise TooManyDroppedError(
            f"{sum(dropped.values())} of {candidates} candidate tasks failed their "
            f"self-check ({dict(dropped)}), more than the recipe's "
            f"max_dropped_share {recipe.max_dropped_share:g}")


def _manifest(recipe: RecipeSpec, recipe_hash: str, library_hash: str, library: Library,
              records: list[dict], listing: dict) -> dict:
    worlds = [{k: v for k, v in r.items() if k != "tables"} for r in records]
    splits = {}
    for split in recipe.splits:
        mine = [r for r in records if r["split"] == split.name]
        splits[split.name] = {
            "worlds": len(mine), "tasks": sum(r["tasks"] for r in mine),
            "environments": sum(r["environments"] for r in mine),
            "paired_with": split.paired_with,
            "held_out": split.held_out.model_dump(), "regenerable": True}
    dropped = sum((Counter(r["dropped"]) for r in records), Counter())
    return {
        "kind": "dataset",
        "format_version": FORMAT_VERSION,
        "generator_version": GENERATOR_VERSION,
        "recipe": recipe.model_dump(mode="json"),
        "recipe_hash": recipe_hash,
        "library_hash": library_hash,
        "root_seed": recipe.root_seed,
        "noise_ratio": recipe.noise_ratio,
        "splits": splits,
        "worlds": worlds,
        "task_families": sorted(library.families),
        "tasks": sum(r["tasks"] for r in records),
        "environments": sum(r["environments"] for r in records),
        "candidate_tasks": sum(r["candidate_tasks"] for r in records),
        "dropped": dict(sorted(dropped.items())),
        "libraries": library_versions(),
        **listing,
    }


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
