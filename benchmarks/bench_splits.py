"""Benchmark: minting a split recipe, its time, output size and memory as it grows.

Runs ``lifeloom generate`` in a subprocess and samples, every half second, the resident
memory of the driver and of each worker process (psutil), and how many environments the
finished worlds in ``<out>.partial`` hold. Reports the RSS of the driver and of the largest
worker, peak so far and at that moment, as the run passes each ``--marks`` count of
environments (a peak rises until the largest world has been made; the moment's value shows
whether memory grows with the number of worlds), the total time
and the output size. Runs are listed as ``recipe:workers:backend``.

    .venv/bin/python benchmarks/bench_splits.py --runs train_2k:2:local
    .venv/bin/python benchmarks/bench_splits.py --runs dev:1:local,dev:2:local,dev:2:ray \\
        --json benchmarks/results/splits_dev.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent


def environments_done(partial: Path) -> int:
    total = 0
    for record in partial.glob("worlds/*/*/world.json"):
        try:
            total += json.loads(record.read_text())["environments"]
        except (OSError, ValueError):  # being renamed into place right now
            continue
    return total


def measure(recipe: str, workers: int, backend: str, marks: list[int], root: Path) -> dict:
    out = root / f"{recipe}-{workers}-{backend}"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(out.with_name(out.name + ".partial"), ignore_errors=True)
    cmd = [sys.executable, "-m", "exporters.cli", "generate", "--recipe", recipe,
           "--workers", str(workers), "--backend", backend, "--out", str(out)]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    driver = psutil.Process(proc.pid)
    peak_driver = peak_worker = now_driver = now_worker = 0
    at_marks: dict[int, dict] = {}
    partial = out.with_name(out.name + ".partial")
    while proc.poll() is None:
        try:
            now_driver = driver.memory_info().rss
            now_worker = max((c.memory_info().rss for c in driver.children(recursive=True)),
                             default=0)
        except psutil.Error:
            pass
        peak_driver, peak_worker = max(peak_driver, now_driver), max(peak_worker, now_worker)
        done = environments_done(partial)
        for mark in marks:
            if done >= mark and mark not in at_marks:
                at_marks[mark] = {"seconds": round(time.perf_counter() - start, 1),
                                  "driver_peak_mib": round(peak_driver / 2**20),
                                  "worker_peak_mib": round(peak_worker / 2**20),
                                  "driver_now_mib": round(now_driver / 2**20),
                                  "worker_now_mib": round(now_worker / 2**20)}
        time.sleep(0.5)
    seconds = time.perf_counter() - start
    _, stderr = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr.decode()}")
    manifest = json.loads((out / "manifest.json").read_text())
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    result = {"recipe": recipe, "workers": workers, "backend": backend,
              "seconds": round(seconds, 1), "worlds": len(manifest["worlds"]),
              "environments": manifest["environments"], "tasks": manifest["tasks"],
              "dropped": sum(manifest["dropped"].values()),
              "output_mib": round(size / 2**20, 1),
              "driver_peak_mib": round(peak_driver / 2**20),
              "worker_peak_mib": round(peak_worker / 2**20),
              "at_environments": {str(k): v for k, v in sorted(at_marks.items())}}
    shutil.rmtree(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="dev:1:local,dev:2:local,dev:2:ray",
                        help="comma-separated recipe:workers:backend")
    parser.add_argument("--marks", default="10,200,2000")
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "bench-splits")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    marks = [int(m) for m in args.marks.split(",")]
    results = []
    for run in args.runs.split(","):
        recipe, workers, backend = run.split(":")
        result = measure(recipe, int(workers), backend, marks, args.root)
        print(json.dumps(result), flush=True)
        results.append(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": {"cpus": os.cpu_count(),
                                                     "python": platform.python_version()},
                                         "runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
