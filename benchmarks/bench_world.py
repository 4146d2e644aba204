"""Benchmark: how long one persona's world takes to generate and write, against a floor.

For each persona, in a fresh subprocess (``PYTHONHASHSEED=0``, ``POLARS_MAX_THREADS=1``,
``pa.set_cpu_count(1)``) so its peak RSS is its own, this measures over ``--repeats`` runs:

* **build**: ``build_world`` (simulate + history tables + event log, in memory; no Parquet);
* **write**: the writing phase of ``write_world`` to a temp dir (Parquet zstd, content hashes,
  manifest), timed from its ``"writing"`` progress message to its return;
* **floor**: the same number of events scheduled by bare SimPy (one process yielding one
  ``env.timeout`` per event, with the world's real gaps) plus writing the already rendered
  tables with ``pq.write_table(..., compression="zstd")``: what any generator of this world
  must at least pay with these libraries.

Prints a table and writes JSON (default ``benchmarks/results/world.json``).

    .venv/bin/python benchmarks/bench_world.py                      # all personas, 3 repeats
    .venv/bin/python benchmarks/bench_world.py --personas retiree,phd_student --repeats 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "world.json"
WORKER_ENV = {"PYTHONHASHSEED": "0", "POLARS_MAX_THREADS": "1"}


# --------------------------------------------------------------------------- worker side


def _floor(history: dict, events, tmp: Path) -> dict:
    """Bare SimPy scheduling of as many events as the world has, plus plain Parquet writes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import simpy

    ts = events["ts"].cast(pa.int64()).to_numpy() if events.num_rows else np.zeros(0, np.int64)
    gaps = np.diff(ts, prepend=ts[:1]).tolist()  # microseconds between consecutive events

    def run(env: simpy.Environment, delays: list[int]):
        for delay in delays:
            yield env.timeout(delay)

    t0 = time.perf_counter()
    env = simpy.Environment()
    env.process(run(env, gaps))
    env.run()
    t1 = time.perf_counter()
    for name, table in history.items():
        pq.write_table(table, tmp / f"{name}.parquet", compression="zstd")
    pq.write_table(events, tmp / "events.parquet", compression="zstd")
    t2 = time.perf_counter()
    return {"simpy_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0}


def _mark(marks: dict[str, float], msg: str) -> None:
    marks.setdefault(msg, time.perf_counter())


def worker(persona: str, repeats: int, days: int, seed: int, out: Path) -> None:
    import resource

    import pyarrow as pa

    pa.set_cpu_count(1)

    from exporters.world_dataset import build_world, write_world
    from personas.library import load_personas
    from sim.measure import words_by_service

    spec = load_personas()[persona]
    build_s, write_s, floor = [], [], []
    size: dict = {}
    rss_after_first = 0
    for i in range(repeats):
        t0 = time.perf_counter()
        world = build_world(spec, seed=seed, days=days)
        build_s.append(time.perf_counter() - t0)
        if not size:
            size = {
                "events": world.events.num_rows,
                "record_versions": sum(t.num_rows for t in world.history.values()),
                "words": sum(words_by_service(world.history).values()),
            }
        with tempfile.TemporaryDirectory(prefix="bench_world_") as tmp:
            marks: dict[str, float] = {}
            write_world(Path(tmp) / "world", spec, seed=seed, days=days,
                        progress=functools.partial(_mark, marks))
            write_s.append(time.perf_counter() - marks["writing"])
            floor_dir = Path(tmp) / "floor"
            floor_dir.mkdir()
            floor.append(_floor(world.history, world.events, floor_dir))
        del world
        if i == 0:
            rss_after_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = {
        "persona": persona,
        "timezone": spec.timezone,
        **size,
        "build_s": build_s,
        "write_s": write_s,
        "floor": floor,
        "peak_rss_mb": peak_kb / 1024,
        "peak_rss_after_first_mb": rss_after_first / 1024,
    }
    out.write_text(json.dumps(result))


# --------------------------------------------------------------------------- parent side


def run_persona(persona: str, args: argparse.Namespace) -> dict:
    env = {**os.environ, **WORKER_ENV}
    with tempfile.TemporaryDirectory(prefix="bench_world_") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", persona,
               "--repeats", str(args.repeats), "--days", str(args.days), "--seed", str(args.seed),
               "--worker-out", str(out)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not out.exists():
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return {"persona": persona, "error": lines[-1] if lines else f"exit {proc.returncode}",
                    "stderr_tail": lines[-25:], "returncode": proc.returncode}
        result = json.loads(out.read_text())
    build = statistics.median(result["build_s"])
    floor = statistics.median(f["total_s"] for f in result["floor"])
    result.update(
        subprocess_wall_s=wall,
        median_s=build,
        events_per_s=result["events"] / build,
        words_per_s=result["words"] / build,
        median_write_s=statistics.median(result["write_s"]),
        floor_s=floor,
        floor_simpy_s=statistics.median(f["simpy_s"] for f in result["floor"]),
        floor_write_s=statistics.median(f["write_s"] for f in result["floor"]),
        x_floor=build / floor,
    )
    return result


def machine_info() -> dict:
    from exporters.versions import library_versions

    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model or platform.processor(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "libraries": library_versions(),
    }


COLUMNS = (
    ("persona", "persona", "{}"),
    ("events", "events", "{:,}"),
    ("words", "words", "{:,}"),
    ("median_s", "s/world", "{:.3f}"),
    ("events_per_s", "events/s", "{:,.0f}"),
    ("words_per_s", "words/s", "{:,.0f}"),
    ("median_write_s", "write s", "{:.3f}"),
    ("peak_rss_mb", "peak RSS MB", "{:.0f}"),
    ("floor_s", "floor s/world", "{:.3f}"),
    ("x_floor", "x floor", "{:.1f}"),
)


def format_table(rows: list[dict]) -> str:
    cells = [[title for _, title, _ in COLUMNS]]
    for row in rows:
        if "error" in row:
            cells.append([row["persona"], f"ERROR: {row['error']}"])
        else:
            cells.append([fmt.format(row[key]) for key, _, fmt in COLUMNS])
    widths = [max(len(c[i]) for c in cells if i < len(c) and len(c) == len(COLUMNS))
              for i in range(len(COLUMNS))]
    lines = []
    for n, c in enumerate(cells):
        if len(c) != len(COLUMNS):
            lines.append(f"{c[0]:<{widths[0]}}  {c[1]}")
            continue
        parts = [c[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(c[1:], widths[1:],
                                                                        strict=True)]
        lines.append("  ".join(parts))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def overall(rows: list[dict]) -> dict | None:
    ok = [r for r in rows if "error" not in r]
    if not ok:
        return None
    seconds = sum(r["median_s"] for r in ok)
    return {
        "persona": f"ALL ({len(ok)})",
        "events": sum(r["events"] for r in ok),
        "words": sum(r["words"] for r in ok),
        "median_s": statistics.median(r["median_s"] for r in ok),
        "mean_s": seconds / len(ok),
        "events_per_s": sum(r["events"] for r in ok) / seconds,
        "words_per_s": sum(r["words"] for r in ok) / seconds,
        "median_write_s": statistics.median(r["median_write_s"] for r in ok),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in ok),
        "floor_s": statistics.median(r["floor_s"] for r in ok),
        "x_floor": seconds / sum(r["floor_s"] for r in ok),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--personas", help="comma-separated persona ids (default: all shipped)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.days < 1:
        parser.error("--repeats and --days must be at least 1")

    if args.worker:
        worker(args.worker, args.repeats, args.days, args.seed, args.worker_out)
        return 0

    from personas.library import load_personas

    shipped = list(load_personas())
    personas = args.personas.split(",") if args.personas else shipped
    unknown = [p for p in personas if p not in shipped]
    if unknown:
        parser.error(f"unknown persona(s): {', '.join(unknown)}; shipped: {', '.join(shipped)}")

    print(f"{len(personas)} persona(s), {args.days} days, seed {args.seed}, "
          f"{args.repeats} repeat(s), one subprocess each", flush=True)
    rows = []
    for persona in personas:
        row = run_persona(persona, args)
        rows.append(row)
        status = (f"ERROR {row['error']}" if "error" in row
                  else f"{row['median_s']:.3f} s/world ({row['subprocess_wall_s']:.1f} s wall)")
        print(f"  {persona:<24} {status}", flush=True)

    total = overall(rows)
    print()
    print(format_table(rows + ([total] if total else [])))
    print("\ns/world: median build_world time (simulate + tables + event log, no Parquet);")
    print("write s: write_world's writing phase; floor: bare SimPy + pq.write_table (zstd).")

    report = {
        "benchmark": "world",
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "settings": {"days": args.days, "seed": args.seed, "repeats": args.repeats,
                     "worker_env": WORKER_ENV, "arrow_cpu_count": 1},
        "machine": machine_info(),
        "personas": rows,
        "overall": total,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
