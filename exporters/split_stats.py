"""``lifeloom stats`` of a benchmark dataset: per split, what it holds and how noisy it is.

Counts come from the tasks files (by mode, difficulty and category) and the manifest's
world records (worlds, environments, storyline families, the noise-to-signal each world
was thinned to, in words and in events). A one-world dataset has richer stats
(:mod:`exporters.stats`); these are the ones that make sense summed over many worlds.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import polars as pl


def split_stats(path: Path) -> dict:
    """``{"splits": {name: {...}}}`` for the benchmark dataset at ``path``."""
    manifest = json.loads((Path(path) / "manifest.json").read_text(encoding="utf-8"))
    tasks = pl.concat([pl.read_parquet(Path(path) / f)
                       for f in manifest["tables"]["tasks"]["files"]])
    out = {}
    for split, info in manifest["splits"].items():
        worlds = [w for w in manifest["worlds"] if w["split"] == split]
        mine = tasks.filter(pl.col("split") == split)
        out[split] = {
            "worlds": len(worlds), "environments": info["environments"],
            "tasks": mine.height,
            "tasks_by": {col: dict(sorted(mine.group_by(col).len().iter_rows()))
                         for col in ("mode", "difficulty", "category")},
            "task_families": mine["family"].n_unique(),
            "storyline_families": len({s for w in worlds for s in w.get("storylines", [])}),
            "dropped": sum(sum(w["dropped"].values()) for w in worlds),
            "noise_to_signal": _ratios(worlds),
            "paired_with": info.get("paired_with", []),
        }
    return {"recipe": manifest["recipe"]["id"], "splits": out}


def _ratios(worlds: list[dict]) -> dict:
    """The target and the achieved words and events ratios over a split's worlds."""
    reports = [w["noise_to_signal"] for w in worlds if w.get("noise_to_signal")]
    out = {"target": sorted({r["target"] for r in reports})}
    for key in ("achieved_words", "achieved_events"):
        values = [r[key] for r in reports]
        out[key] = {"median": round(statistics.median(values), 3), "min": min(values),
                    "max": max(values)} if values else None
    return out
