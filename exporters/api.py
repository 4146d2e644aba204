"""The Python API: the same jobs as the command line, for notebooks and harnesses.

    import lifeloom
    lifeloom.world("retiree", seed=7, out="out/w7")          # one world, as a dataset
    lifeloom.generate("smoke", out="out/smoke")              # a benchmark from a recipe
    ds = lifeloom.load("out/smoke")                          # tasks, snapshots, tools
    box = ds.toolbox(task_id)                                # a fresh Workspace + tools
    box.call("calendar_list", {})
    lifeloom.grade(ds, task_id, actions=box.log, reply="...")
    lifeloom.check_dataset("out/smoke").ok

Specs come from the shipped library plus ``library`` (a directory like ``--library``).
Bad input raises an ``InputError`` (``SpecError``, ``DatasetError``, ``OutputError``...)
whose ``where`` names the file and key, or the argument, and whose ``why`` says what is
wrong; nothing is printed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exporters.check import CheckReport, check_dataset
from exporters.generate import generate as _generate
from exporters.loading import Dataset, load
from exporters.runs import grade_actions, grade_final_state
from exporters.world_dataset import write_world
from personas.errors import SpecError
from personas.library import load_personas
from scenarios.grading import Grade
from scenarios.library import load_recipes, load_storylines, load_task_families
from scenarios.noise import load_profiles
from sim.errors import InputError
from sim.workspace import Workspace

__all__ = ["CheckReport", "Dataset", "InputError", "Workspace", "check_dataset", "generate",
           "grade", "load", "world"]


def world(persona: str, *, seed: int = 0, days: int = 100, out: Path | str = "out/world",
          start: dt.date | None = None, noise: str | None = "typical",
          noise_ratio: float | None = None, library: Path | None = None) -> dict:
    """Simulate one persona's life and write it as a one-world dataset; the manifest."""
    profile = None if noise is None else _known(load_profiles(library), noise, "noise profile")
    return write_world(Path(out), _known(load_personas(library), persona, "persona"),
                       seed=seed, days=days, start=start, families=load_storylines(library),
                       noise=profile, ratio=noise_ratio)


def generate(recipe: str = "smoke", *, out: Path | str | None = None,
             noise_ratio: float | None = None, library: Path | None = None,
             workers: int = 1, backend: str = "local", restart: bool = False,
             private_seeds: bool = False,
             progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Mint the benchmark dataset ``recipe`` describes into ``out`` (resuming an
    unfinished run; see :func:`exporters.generate.generate`); the manifest.
    ``progress(split, done, total)`` hears of every finished world."""
    storylines = load_storylines(library)
    return _generate(_known(load_recipes(library), recipe, "recipe"),
                     Path(out or f"out/{recipe}"),
                     personas=load_personas(library), storylines=storylines,
                     families=load_task_families(library, storylines),
                     profiles=load_profiles(library), ratio=noise_ratio, workers=workers,
                     backend=backend, restart=restart, private_seeds=private_seeds,
                     progress=progress)


def grade(dataset: Dataset | Path | str, task_id: str, *, reply: str = "",
          actions: list[dict[str, Any]] | None = None,
          final_state: Path | str | None = None) -> Grade:
    """Grade one run: replayed ``actions`` (``{"tool", "args"}``, and ``snapshot_id``
    where a task has several episodes; a Toolbox log works too, or the logs of one box per
    heartbeat joined), or a ``final_state`` directory a harness exported."""
    ds = dataset if isinstance(dataset, Dataset) else load(dataset)
    if (actions is None) == (final_state is None):
        raise ValueError("give exactly one of actions and final_state")
    if final_state is not None:
        return grade_final_state(ds, task_id, Path(final_state), reply)
    calls = [{k: a[k] for k in ("tool", "args", "snapshot_id") if k in a}
             for a in actions or []]
    return grade_actions(ds, task_id, calls, reply)


def _known(specs: dict[str, Any], key: str, what: str) -> Any:
    """``specs[key]``; an unknown id is a SpecError naming what is known."""
    try:
        return specs[key]
    except KeyError:
        raise SpecError(what, f"unknown {what} {key!r}; known: {', '.join(sorted(specs))}"
                        ) from None

