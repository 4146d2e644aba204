"""Does the benchmark discriminate? Baselines on the same worlds at rising noise.

The same recipe (every persona, every task family) is generated at noise-to-signal ratios
1, 4, 16 and 64: the worlds, their storylines and so their tasks are the same (they pair
up by storyline instance and family), only routine life and noise grow. The ``oracle``,
``null`` and ``naive`` baselines run on each through the same tools and grader as any
agent. Reported:

- pass rates per agent, ratio and mode (reactive, proactive), and proactive false alarms;
- naive's reactive pass rate on the tasks present at every ratio (paired), the drop
  rate(1) - rate(64) with a 95% confidence interval over paired differences (normal
  approximation; the tasks are the unit), the same for its mean score on those tasks
  (the issue's comparison when naive passes under 20% at the lowest ratio), and its rates
  by difficulty at each ratio and pooled over the ratios;
- the seconds each step took.

    .venv/bin/python benchmarks/bench_baselines.py --worlds 24 --out /tmp/study \\
        --json benchmarks/results/baselines.json
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import polars as pl

RATIOS = (1, 4, 16, 64)
AGENTS = ("oracle", "null", "naive")
RECIPE = """
id = "discrimination"
version = 1
description = "Every persona and task family, for the baseline study."
root_seed = {seed}

[[splits]]
name = "study"
worlds = {worlds}
personas = {personas}
"""


def generate(library: Path, out: Path, ratio: float) -> float:
    """Seconds to generate the study's dataset at ``ratio`` into ``out``. A dataset already
    there is kept only when ``generate`` itself keeps it (same recipe, specs and generator
    version: then it is a no-op); one of an older version is replaced, never studied."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "exporters.cli", "generate", "--recipe", "discrimination",
               "--library", str(library), "--noise-ratio", str(ratio), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode == 2 and (out / "manifest.json").is_file():  # another version's
        shutil.rmtree(out)
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"generate at ratio {ratio} failed: {done.stderr.strip()}")
    return time.perf_counter() - start


def baseline(path: Path, agent: str) -> tuple[dict, float]:
    from exporters.baseline import run_baseline
    from exporters.loading import load

    start = time.perf_counter()
    return run_baseline(load(path), agent), time.perf_counter() - start


def paired_drop(low: dict[str, float], high: dict[str, float]) -> dict:
    """mean(low) - mean(high) over the tasks in both (pass indicators or scores), with a
    95% interval."""
    shared = sorted(set(low) & set(high))
    diffs = [float(low[t]) - float(high[t]) for t in shared]
    n = len(diffs)
    mean = sum(diffs) / n if n else float("nan")
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)) if n > 1 else float("nan")
    half = 1.96 * sd / math.sqrt(n) if n > 1 else float("nan")
    return {"tasks": n, "drop": round(mean, 4), "ci95": [round(mean - half, 4),
                                                          round(mean + half, 4)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", type=int, default=24)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=Path("/tmp/lifeloom-study"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--ratios", type=int, nargs="+", default=list(RATIOS),
                        help="noise ratios to compare (the drop is first minus last)")
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=AGENTS)
    args = parser.parse_args()
    ratios, agents = sorted(args.ratios), args.agents

    from personas.library import load_personas

    library = args.out / "library"
    (library / "recipes").mkdir(parents=True, exist_ok=True)
    (library / "recipes" / "discrimination.toml").write_text(RECIPE.format(
        seed=args.seed, worlds=args.worlds, personas=json.dumps(sorted(load_personas()))))
    paths = {r: args.out / f"ratio_{r}" for r in ratios}
    seconds: dict[str, float] = {}
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        jobs = {r: pool.submit(generate, library, paths[r], r) for r in ratios}
        for r, job in jobs.items():
            seconds[f"generate ratio {r}"] = round(job.result(), 1)
            print(f"generated ratio {r} in {seconds[f'generate ratio {r}']} s", flush=True)
        runs = {(r, a): pool.submit(baseline, paths[r], a) for r in ratios for a in agents}
        results = {}
        for (r, a), job in runs.items():
            results[(r, a)], took = job.result()
            seconds[f"{a} ratio {r}"] = round(took, 1)
            print(f"{a} at ratio {r}: pass {results[(r, a)]['pass_rate']:.3f} "
                  f"({took:.0f} s)", flush=True)

    # A world at another ratio is another world (its id says so); its tasks pair up by
    # what they are: the same storyline instance and family.
    keys = {r: dict(zip(*pl.read_parquet(paths[r] / "oracle" / "gold" / "*.parquet")
                        .select("task_id", pl.concat_str("storyline_instance_id", "family",
                                                         separator="/")).get_columns(),
                        strict=True)) for r in ratios}

    def outcomes(r: int, agent: str, mode: str, difficulty: str | None = None, *,
                 column: str = "passed") -> dict:
        return {keys[r][row["task_id"]]: row[column] for row in results[(r, agent)]["results"]
                if row["mode"] == mode and difficulty in (None, row["difficulty"])}

    def rate(values: dict[str, bool]) -> float | None:
        return round(sum(values.values()) / len(values), 4) if values else None

    table = {}
    for a in agents:
        for r in ratios:
            out = results[(r, a)]
            table[f"{a} ratio {r}"] = {
                "tasks": out["tasks"], "pass_rate": round(out["pass_rate"], 4),
                "reactive": rate(outcomes(r, a, "reactive")),
                "proactive": rate(outcomes(r, a, "proactive")),
                "false_alarm_rate": out["false_alarm_rate"],
                "mean_score": round(out["mean_score"], 4)}
    study = {"worlds": args.worlds, "root_seed": args.seed, "seconds": seconds,
             "agents": table}
    if "naive" in agents:
        low, high = ratios[0], ratios[-1]
        reactive = {r: outcomes(r, "naive", "reactive") for r in ratios}
        shared = set.intersection(*(set(v) for v in reactive.values()))
        paired = {r: {t: v for t, v in reactive[r].items() if t in shared} for r in ratios}
        # Where naive passes under 20% at the lowest ratio the issue compares mean scores.
        scores = {r: {t: v for t, v in outcomes(r, "naive", "reactive", column="score").items()
                      if t in shared} for r in ratios}
        study["naive_paired_reactive"] = {
            "tasks": len(shared),
            "rate": {str(r): rate(paired[r]) for r in ratios},
            f"drop_{low}_to_{high}": paired_drop(paired[low], paired[high]),
            "mean_score": {str(r): round(sum(scores[r].values()) / len(shared), 4)
                           for r in ratios} if shared else {},
            f"score_drop_{low}_to_{high}": paired_drop(scores[low], scores[high]),
        }
        # Difficulty is dealt from the unthinned world, so a task keeps its level at every
        # ratio; pooled over the ratios, each level's rate rests on four times the tasks.
        levels = ("simple", "medium", "hard")
        by_level = {str(r): {d: rate(outcomes(r, "naive", "reactive", d)) for d in levels}
                    for r in ratios}
        by_level["pooled"] = {d: rate({(r, t): v for r in ratios for t, v in
                                       outcomes(r, "naive", "reactive", d).items()})
                              for d in levels}
        study["naive_reactive_by_difficulty"] = by_level
    text = json.dumps(study, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
