"""Benchmark: worlds with snapshots, tasks and self-checks; tasks per world; drops by reason.

For each persona and seed this builds the default 100-day world under the ``typical``
profile with every shipped storyline, then its environments (``scenarios.environments``):
snapshots, rendered tasks and their self-checks. Reports the median seconds per world
(simulation and environments separately), tasks kept per world, and dropped tasks by
reason. ``--verbose`` prints every dropped task with the checks that failed, which is what
an author of a task family wants to see.

    .venv/bin/python benchmarks/bench_tasks.py
    .venv/bin/python benchmarks/bench_tasks.py --families resolve_double_booking --seeds 5 -v
    .venv/bin/python benchmarks/bench_tasks.py --grade out/smoke   # seconds to grade a task

``--grade DATASET`` times ``lifeloom grade``'s work instead: for every task of a generated
dataset, reading its snapshot from Parquet, replaying the reference and grading it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path

from personas.library import load_personas
from scenarios.build import live
from scenarios.environments import environments
from scenarios.library import load_storylines, load_task_families
from scenarios.noise import load_profiles
from scenarios.selfcheck import Snapshot, run
from scenarios.tasks import Task

HERE = Path(__file__).resolve().parent


def explain(task: Task, reason: str, snaps: list[Snapshot]) -> None:
    """Print a dropped task with the checks each of its solutions failed."""
    print(f"  DROP {task.key} ({task.difficulty}): {reason}\n    prompt: {task.prompt}")
    for name, solution in [("reference", task.reference),
                           *[(f"alt {a.description}", a) for a in task.alternatives],
                           *[(f"miss {m.description}", m) for m in task.near_misses]]:
        result, log = run(task, solution, snaps)
        failed = [f"{c.name}: {c.reason}" for c in result.checks if not c.passed]
        print(f"    {name}: passed={result.passed} {failed}")
        for entry in log:
            if "error" in (entry.get("result") or {}):
                print(f"      {entry['tool']} -> {entry['result']['error']}")


def time_grading(path: Path) -> dict:
    """Median and worst seconds to grade one task of a dataset from its files."""
    from exporters.loading import load
    from exporters.runs import grade_actions

    ds = load(path)
    seconds, passed = [], 0
    for task_id in ds.tasks["task_id"]:
        reference = ds.solutions(task_id, "reference")[0]
        t0 = time.perf_counter()
        passed += grade_actions(ds, task_id, list(reference.calls), reference.reply).passed
        seconds.append(time.perf_counter() - t0)
    return {"tasks": len(seconds), "reference_passed": passed,
            "seconds_per_grade_median": round(statistics.median(seconds), 3),
            "seconds_per_grade_max": round(max(seconds), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", default=",".join(sorted(load_personas())))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--families", default="", help="comma-separated task family ids")
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--grade", type=Path, default=None, help="time grading this dataset")
    args = parser.parse_args()
    if args.grade is not None:
        print(json.dumps(time_grading(args.grade), indent=2))
        return
    storylines, profile = load_storylines(), load_profiles()["typical"]
    families = load_task_families(storylines=storylines)
    if args.families:
        families = {k: v for k, v in families.items() if k in args.families.split(",")}
    world_s, env_s, kept, dropped, by_family = [], [], [], Counter(), Counter()
    cpu_world, cpu_env = [], []  # process time: steadier than wall time on a shared machine
    for persona in args.personas.split(","):
        spec = load_personas()[persona]
        for seed in range(args.seeds):
            t0, c0 = time.perf_counter(), time.process_time()
            lived = live(spec, seed=seed, days=100, families=storylines, noise=profile)
            history = lived.tables()
            t1, c1 = time.perf_counter(), time.process_time()
            envs = environments(lived, families, history=history,
                                on_drop=explain if args.verbose else None)
            t2, c2 = time.perf_counter(), time.process_time()
            world_s.append(t1 - t0)
            env_s.append(t2 - t1)
            cpu_world.append(c1 - c0)
            cpu_env.append(c2 - c1)
            kept.append(len(envs.tasks))
            dropped.update(envs.dropped)
            by_family.update(t.family.id for t in envs.tasks)
            print(f"{persona} seed {seed}: {len(envs.tasks)} tasks in "
                  f"{len(envs.environments)} snapshots, dropped {dict(envs.dropped)}, "
                  f"world {t1 - t0:.2f} s, environments {t2 - t1:.2f} s")
    result = {
        "worlds": len(kept), "seconds_world_median": round(statistics.median(world_s), 3),
        "seconds_environments_median": round(statistics.median(env_s), 3),
        "seconds_total_median": round(statistics.median(
            [a + b for a, b in zip(world_s, env_s, strict=True)]), 3),
        "cpu_seconds_world_median": round(statistics.median(cpu_world), 3),
        "cpu_seconds_environments_median": round(statistics.median(cpu_env), 3),
        "tasks_per_world_mean": round(sum(kept) / len(kept), 2),
        "tasks_by_family": dict(sorted(by_family.items())),
        "dropped": dict(sorted(dropped.items())),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
