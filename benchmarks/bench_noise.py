"""Benchmark: world generation under noise profiles and ratio targets, with achieved ratios.

For each persona and each case (a profile, optionally with a ``--noise-ratio`` override)
this builds the default 100-day world with every shipped storyline family ``--repeats``
times (``build_world``: simulate, thin, history tables and event log in memory) and
reports the median seconds, the target, the achieved ratio by words and events, the floor,
and the services that carry signal whose own ratio is more than 25% off the target.
Writes JSON (default ``benchmarks/results/noise.json``).

    .venv/bin/python benchmarks/bench_noise.py
    .venv/bin/python benchmarks/bench_noise.py --personas retiree --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from exporters.world_dataset import build_world
from personas.library import load_personas
from scenarios.build import BelowFloorError, live
from scenarios.library import load_storylines
from scenarios.noise import load_profiles

HERE = Path(__file__).resolve().parent
CASES = [("quiet", None), ("typical", None), ("chaos", None), ("typical", 1.0),
         ("typical", 100.0)]


def run_case(persona: str, profile: str, ratio: float | None, repeats: int) -> dict:
    spec, families = load_personas()[persona], load_storylines()
    noise = load_profiles()[profile]
    seconds = []
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            build_world(spec, seed=0, days=100, families=families, noise=noise, ratio=ratio)
            seconds.append(time.perf_counter() - t0)
    except BelowFloorError as exc:
        return {"persona": persona, "profile": profile, "ratio": ratio,
                "below_floor": exc.floor}
    th = live(spec, seed=0, days=100, families=families, noise=noise, ratio=ratio).thinning
    off = {s: round(v["ratio"], 1) for s, v in th.by_service.items()
           if v["ratio"] is not None and abs(v["ratio"] - th.target) > 0.25 * th.target}
    return {"persona": persona, "profile": profile, "ratio": ratio,
            "seconds": round(statistics.median(seconds), 3), "target": th.target,
            "achieved_words": round(th.achieved_words, 2),
            "achieved_events": round(th.achieved_events, 2), "floor": round(th.floor, 2),
            "services_off_by_25pct": off,
            # Services whose never-thinned words alone put them over this target.
            "service_floors_above_target": {s: f for s, f in th.service_floors.items()
                                            if f > th.target}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", default="retiree,staff_engineer,wedding_planner")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "noise.json")
    args = parser.parse_args()
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    rows = []
    for persona in args.personas.split(","):
        for profile, ratio in CASES:
            row = run_case(persona, profile, ratio, args.repeats)
            rows.append(row)
            label = f"{profile}" + (f" @{ratio:g}" if ratio is not None else "")
            if "below_floor" in row:
                print(f"{persona:18s} {label:14s} below floor {row['below_floor']:.2f}")
                continue
            print(f"{persona:18s} {label:14s} {row['seconds']:6.3f}s target {row['target']:g} "
                  f"achieved {row['achieved_words']:g} words / {row['achieved_events']:g} "
                  f"events, floor {row['floor']:g}, off {row['services_off_by_25pct']}, "
                  f"service floors over target {row['service_floors_above_target']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"repeats": args.repeats, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
