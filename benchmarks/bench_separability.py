"""Benchmark: the separability probe over many worlds pooled together.

One world holds a handful of signal records per table, too few for an AUC to mean anything,
so this builds ``--seeds`` worlds for each persona on a noise profile, pools every table
across them (hours and weekdays local to each world) and prints the probe per table and
feature, flagging any above ``--limit``. Writes JSON (default
``benchmarks/results/separability.json``).

    .venv/bin/python benchmarks/bench_separability.py                      # all personas, 3 seeds
    .venv/bin/python benchmarks/bench_separability.py --personas retiree --seeds 8 --days 60
    .venv/bin/python benchmarks/bench_separability.py --seeds 1 --show-families 8

``--show-families N`` prints, for each table whose template family is over the limit, the N
families holding most signal records with their signal and rest counts: a family with much
signal and little routine is a wording only storylines use.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from exporters import separability
from exporters.world_dataset import build_world
from personas.library import load_personas
from personas.spec import default_start
from scenarios.library import load_storylines
from scenarios.noise import load_profiles
from sim.clock import Clock
from sim.measure import word_counts
from sim.services import TABLES

HERE = Path(__file__).resolve().parent


def pooled_probe(personas: list[str], seeds: int, days: int, profile: str,
                 show: int = 0, limit: float = 0.7) -> dict:
    specs, families, noise = load_personas(), load_storylines(), load_profiles()[profile]
    parts: dict[str, list[tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray,
                                np.ndarray]]] = {}
    for pid in personas:
        for seed in range(seeds):
            w = build_world(specs[pid], seed=seed, days=days, families=families, noise=noise)
            opening = Clock(specs[pid].timezone, default_start(), days).epoch
            labels = w.labels.filter(pa.compute.equal(w.labels["class"], "signal"))
            signal = set(zip(labels["table"].to_pylist(), labels["record_id"].to_pylist(),
                             labels["valid_from"].to_pylist(), strict=True))
            for name, table in w.history.items():
                if not table.num_rows:
                    continue
                frame = pl.from_arrow(table)
                hour, weekday = separability.local_hour_weekday(frame, specs[pid].timezone)
                timed = separability.dated(frame, opening)
                is_signal = np.array([(name, r, v) in signal for r, v in zip(
                    table["record_id"].to_pylist(), table["valid_from"].to_pylist(),
                    strict=True)], bool)
                parts.setdefault(name, []).append(
                    (frame.with_columns(pl.col("valid_from").dt.replace_time_zone("UTC")),
                     is_signal, hour, weekday, timed))
    report = {}
    for name, chunks in sorted(parts.items()):
        frame = pl.concat([c[0] for c in chunks])
        words = np.zeros(frame.height, np.int64)
        for col in TABLES[name].text_columns:
            words += word_counts(pa.array(frame[col].to_list(), pa.string()))
        text = TABLES[name].text_columns
        found = separability.probe(
            frame, words, np.concatenate([c[1] for c in chunks]),
            np.concatenate([c[2] for c in chunks]), np.concatenate([c[3] for c in chunks]),
            name, text[0] if text else None, np.concatenate([c[4] for c in chunks]))
        if found is not None:
            report[name] = found
            if show and found.get("template_family", 0) > limit:
                _show_families(name, frame[text[0]], np.concatenate([c[1] for c in chunks]),
                               show)
    return report


def _show_families(name: str, text: pl.Series, is_signal: np.ndarray, top: int) -> None:
    family = separability.template_families(text)
    counts = pl.DataFrame({"family": family, "signal": is_signal}).group_by(
        "family", maintain_order=True).agg(pl.col("signal").sum().alias("signal"),
                                           (~pl.col("signal")).sum().alias("rest"))
    print(f"{name}: families with most signal (signal, rest)")
    for fam, sig, rest in counts.sort("signal", descending=True).head(top).iter_rows():
        print(f"    {sig:5d} {rest:6d}  {fam!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", default="", help="comma-separated ids (default: all)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--profile", default="typical")
    parser.add_argument("--limit", type=float, default=0.7)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "separability.json")
    parser.add_argument("--show-families", type=int, default=0, metavar="N",
                        help="print the N families with most signal of each table over the limit")
    args = parser.parse_args()
    personas = [p for p in args.personas.split(",") if p] or sorted(load_personas())
    report = pooled_probe(personas, args.seeds, args.days, args.profile, args.show_families,
                          args.limit)
    worst = 0.5
    for name, features in report.items():
        flags = {k: v for k, v in features.items() if k != "signal_records" and v > args.limit}
        worst = max([worst, *(v for k, v in features.items() if k != "signal_records")])
        mark = "  OVER: " + ", ".join(f"{k}={v}" for k, v in flags.items()) if flags else ""
        print(f"{name:20s} n={features['signal_records']:<5d}"
              + " ".join(f"{k}={v}" for k, v in features.items() if k != "signal_records")
              + mark)
    print(f"worst AUC {worst}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"personas": personas, "seeds": args.seeds,
                                    "days": args.days, "profile": args.profile,
                                    "probe": report}, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
