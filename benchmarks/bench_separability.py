"""Benchmark: the separability probe over many worlds pooled together.

One world holds a handful of signal records per table, too few for an AUC to mean anything,
so this builds ``--seeds`` worlds for each persona on a noise profile, pools them and runs
the probe exactly as ``lifeloom stats`` does on a dataset's split
(:func:`exporters.stats.world_level`: hours local to each world, senders counted within
their world), printing it per table and feature and flagging any above ``--limit``.
Writes JSON (default ``benchmarks/results/separability.json``).

    .venv/bin/python benchmarks/bench_separability.py                      # all personas, 3 seeds
    .venv/bin/python benchmarks/bench_separability.py --personas retiree --seeds 8 --days 60
    .venv/bin/python benchmarks/bench_separability.py --seeds 1 --show-families 8

``--bootstrap N`` (default 200) adds a 95% interval to every AUC, over N draws of the
worlds with replacement (:func:`exporters.separability.intervals`, as ``lifeloom stats
--intervals N`` on a dataset). A pair "over" the limit is one whose AUC is; the interval
says whether it could as well be under.

``--show-families N`` prints, for each table whose template family is over the limit, the
share of routine records whose family no signal record has (``unshared``: such a record
scores zero, below the signal records whose family holds signal in the other half, so the
more of them, the higher the AUC; a rough guide, not a bound) and the N
families holding most signal records with their signal and rest counts (a family with much
signal and little routine is a wording only storylines use).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import polars as pl

from exporters import separability
from exporters.stats import best_class, label_of, opening, world_level
from exporters.world_dataset import build_world
from personas.library import load_personas
from personas.spec import default_start
from scenarios.library import load_storylines
from scenarios.noise import load_profiles
from sim.services import TABLES

HERE = Path(__file__).resolve().parent
# What each oracle table of a world is called in a dataset (``exporters.stats.Scan`` keys).
_ORACLE = {"oracle/labels": "labels", "oracle/events": "events",
           "oracle/conflicts": "conflicts", "oracle/storylines": "instances"}


def pooled_probe(personas: list[str], seeds: int, days: int, profile: str,
                 show: int = 0, limit: float = separability.LIMIT,
                 resamples: int = 0) -> tuple[dict, dict]:
    """The probe over the pooled worlds, and each AUC's 95% interval over ``resamples``
    draws of the worlds (empty when ``resamples`` is 0)."""
    specs, families, noise = load_personas(), load_storylines(), load_profiles()[profile]
    worlds, clocks = [], {}
    for pid in personas:
        for seed in range(seeds):
            w = build_world(specs[pid], seed=seed, days=days, families=families, noise=noise)
            worlds.append(w)
            clocks[w.world_id] = (specs[pid].timezone, opening(specs[pid].timezone,
                                                               default_start()))

    def scan(key: str) -> pl.LazyFrame | None:
        parts = [w.history[key.removeprefix("history/")] if key.startswith("history/")
                 else getattr(w, _ORACLE[key]) for w in worlds]
        parts = [pl.from_arrow(t) for t in parts if t.num_rows]
        return pl.concat(parts).lazy() if parts else None

    pooled = world_level(scan, clocks, resamples)
    report, intervals = pooled["separability"], pooled.get("separability_ci95", {})
    if show:
        best = best_class(scan("oracle/labels").collect())
        for name, found in sorted(report.items()):
            if found.get("template_family", 0) > limit:
                table = scan(f"history/{name}").collect()
                is_signal = label_of(table, best.filter(pl.col("table") == name)) == "signal"
                _show_families(name, table, is_signal, show)
    return report, intervals


def _show_families(name: str, table: pl.DataFrame, is_signal: np.ndarray, top: int) -> None:
    family = separability.template_families(table[TABLES[name].text_columns[0]])
    counts = pl.DataFrame({"family": family, "signal": is_signal}).group_by(
        "family", maintain_order=True).agg(pl.col("signal").sum().alias("signal"),
                                           (~pl.col("signal")).sum().alias("rest"))
    unshared = counts.filter(pl.col("signal") == 0)["rest"].sum() / counts["rest"].sum()
    print(f"{name}: unshared {unshared:.2f}; families with most signal (signal, rest)")
    for fam, sig, rest in counts.sort("signal", descending=True).head(top).iter_rows():
        print(f"    {sig:5d} {rest:6d}  {fam!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", default="", help="comma-separated ids (default: all)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--profile", default="typical")
    parser.add_argument("--limit", type=float, default=separability.LIMIT)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "separability.json")
    parser.add_argument("--show-families", type=int, default=0, metavar="N",
                        help="print the N families with most signal of each table over the limit")
    parser.add_argument("--bootstrap", type=int, default=200, metavar="N",
                        help="draws of the worlds for the 95%% intervals (0: none)")
    args = parser.parse_args()
    personas = [p for p in args.personas.split(",") if p] or sorted(load_personas())
    report, intervals = pooled_probe(personas, args.seeds, args.days, args.profile,
                                     args.show_families, args.limit, args.bootstrap)
    worst = 0.5
    for name, features in report.items():
        flags = {k: v for k, v in features.items() if k != "signal_records" and v > args.limit}
        worst = max([worst, *(v for k, v in features.items() if k != "signal_records")])
        mark = "  OVER: " + ", ".join(f"{k}={v}" for k, v in flags.items()) if flags else ""
        ci = intervals.get(name, {})
        print(f"{name:20s} n={features['signal_records']:<5d}"
              + " ".join(f"{k}={v}" + ("[{}-{}]".format(*ci[k]) if k in ci else "")
                         for k, v in features.items() if k != "signal_records")
              + mark)
    print(f"worst AUC {worst}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"personas": personas, "seeds": args.seeds,
                                    "days": args.days, "profile": args.profile,
                                    "probe": report, "bootstrap": args.bootstrap,
                                    "ci95": intervals}, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
