"""``lifeloom stats`` of a benchmark dataset: per split, what it holds and how noisy it is.

Counts come from the tasks files (by mode, difficulty and category) and the manifest's
world records (worlds, environments, storyline families, the noise-to-signal each world
was thinned to, in words and in events). Each split also carries the world-level stats of
a one-world dataset (:func:`exporters.stats.world_level`) over its worlds pooled, read
from the split's rows of the history and oracle tables one table at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from pathlib import Path

import polars as pl

from exporters.stats import Clocks, Scan, opening, pooled_ratio, world_level


def split_stats(path: Path, intervals: int = 0) -> dict:
    """``{"recipe": id, "splits": {name: {...}}}`` for the benchmark dataset at ``path``.

    With ``intervals`` > 0, each split also carries ``separability_ci95``: a 95% interval
    for each AUC of its probe over that many draws of the split's worlds
    (``exporters.stats.world_level``; empty for a split of one world).
    """
    path = Path(path)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    tasks = pl.concat([pl.read_parquet(path / f) for f in manifest["tables"]["tasks"]["files"]])
    out = {}
    for split, info in manifest["splits"].items():
        worlds = [w for w in manifest["worlds"] if w["split"] == split]
        mine = tasks.filter(pl.col("split") == split)
        pooled = world_level(_scan(path, manifest, split), _clocks(path, manifest, worlds),
                             intervals)
        ratio = _ratios(worlds)
        ratio["pooled_words"] = pooled_ratio(pooled["classes"])
        out[split] = {
            "worlds": len(worlds), "environments": info["environments"],
            "tasks": mine.height,
            "tasks_by": {col: dict(sorted(mine.group_by(col).len().iter_rows()))
                         for col in ("mode", "difficulty", "category")},
            "task_families": mine["family"].n_unique(),
            "storyline_families": len({s for w in worlds for s in w.get("storylines", [])}),
            "dropped": sum(sum(w["dropped"].values()) for w in worlds),
            "noise_to_signal": ratio,
            "paired_with": info.get("paired_with", []),
            **pooled,
        }
    return {"recipe": manifest["recipe"]["id"], "splits": out}


def _scan(path: Path, manifest: dict, split: str) -> Scan:
    """The split's rows of a table: files may hold several splits (or one split may span
    several files), so rows are picked by their ``split`` column, never by file name."""
    listed = {f"history/{k}": v for k, v in manifest.get("history_tables", {}).items()}
    listed |= {f"oracle/{k}": v for k, v in manifest.get("oracle_tables", {}).items()}

    def scan(key: str) -> pl.LazyFrame | None:
        files = listed.get(key, {}).get("files")
        if not files:
            return None
        return pl.scan_parquet([path / f for f in files]).filter(pl.col("split") == split)

    return scan


def _clocks(path: Path, manifest: dict, worlds: list[dict]) -> Clocks:
    """Each world's (of one split's ``worlds``) zone and window opening, for local hours.

    World records carry ``timezone`` and ``start``. Datasets made before they did fall back
    to the zone on the world's snapshots (``data/snapshots``) and the recipe's ``start``
    (every world of a recipe starts then); a world found in neither has no time features
    (local hour, weekday) in the separability probe.
    """
    zones = {w["world_id"]: w["timezone"] for w in worlds if w.get("timezone")}
    if len(zones) < len(worlds):
        files = manifest.get("tables", {}).get("snapshots", {}).get("files", [])
        if files:
            zones = dict(pl.scan_parquet([path / f for f in files])
                         .filter(pl.col("world_id").is_in([w["world_id"] for w in worlds]))
                         .select("world_id", "timezone").unique(maintain_order=True)
                         .collect().iter_rows()) | zones
    default_start = manifest.get("recipe", {}).get("start")
    out: Clocks = {}
    for w in worlds:
        start = w.get("start") or default_start
        if w["world_id"] in zones and start:
            zone = zones[w["world_id"]]
            out[w["world_id"]] = (zone, opening(zone, dt.date.fromisoformat(start)))
    return out


def _ratios(worlds: list[dict]) -> dict:
    """The target and the achieved words and events ratios over a split's worlds."""
    reports = [w["noise_to_signal"] for w in worlds if w.get("noise_to_signal")]
    out = {"target": sorted({r["target"] for r in reports})}
    for key in ("achieved_words", "achieved_events"):
        values = [r[key] for r in reports]
        out[key] = {"median": round(statistics.median(values), 3), "min": min(values),
                    "max": max(values)} if values else None
    return out
