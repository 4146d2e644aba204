"""Why does the naive baseline still pass at high noise? A trace of what it searched.

Reads the datasets ``bench_baselines.py`` wrote (``OUT/ratio_R``), runs ``naive`` on every
reactive task of each, and for each task records the share of its evidence on the first
page its service lists (what naive sees), which records the agent read (evidence or not),
and, for the search-based variant (``--search``), the query that first matched and how
many of its hits in the searched window are the task's own signal, another storyline's,
look-alikes or routine. Tasks pair across ratios by storyline instance and family, as in
the benchmark.

    taskset -c 1 .venv/bin/python benchmarks/study_naive.py /tmp/naive_study/base \\
        --ratios 1 64 --json /tmp/naive_study/trace.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl

from exporters.loading import load
from exporters.runs import grade_actions
from scenarios.baselines import PAGE, make_agent


def labels_of(path: Path) -> dict[str, tuple[str, str | None]]:
    """record id -> (class, storyline instance) for every labelled record; the rest is
    routine."""
    frame = pl.read_parquet(path / "oracle" / "labels" / "*.parquet")
    return {rid: (cls, inst) for rid, cls, inst in frame.select(
        "record_id", "class", "storyline_instance_id").iter_rows()}


def kind(rid: str, labels: dict, own: str, evidence: set[str]) -> str:
    if rid in evidence:
        return "evidence"
    cls, inst = labels.get(rid, ("routine", None))
    if cls == "signal" and inst == own:
        return "own_signal"
    return "other_signal" if cls == "signal" else cls


def all_hits(box, service: str, query: str) -> list[str]:
    """Every record id the search matches in its default window (all pages)."""
    out, page = [], 1
    while True:
        result = box.tools[f"{service}_search"].run(box.workspace, {"query": query,
                                                                     "page": page})
        out += [r["record_id"] for r in result.get("results", [])]
        if page >= result.get("pages", 1):
            return out
        page += 1


def trace(path: Path, window: int | None) -> dict[str, dict]:
    ds = load(path)
    labels = labels_of(path)
    gold = pl.read_parquet(path / "oracle" / "gold" / "*.parquet")
    meta = {row["task_id"]: row for row in gold.select(
        "task_id", "family", "storyline_instance_id", "evidence_ids").iter_rows(named=True)}
    out = {}
    for task in ds.tasks.filter(pl.col("mode") == "reactive").iter_rows(named=True):
        info = meta[task["task_id"]]
        evidence, own = set(info["evidence_ids"]), info["storyline_instance_id"]
        box = ds.toolbox(task["task_id"])
        reply = make_agent("naive", window=window).act(task["prompt"], box, heartbeat=False)
        actions = [{"tool": e["tool"], "args": e["args"], "snapshot_id": task["snapshot_id"]}
                   for e in box.log]
        # Both variants list each service's first page (the search one for its fallback
        # and heartbeat alerts): what naive sees, or would see, of the world.
        view = {r["record_id"] for e in box.log if e["tool"].endswith("_list")
                for r in e["result"].get("results", [])}
        verdict = grade_actions(ds, task["task_id"], actions, reply)
        searches = [e for e in box.log if e["tool"].endswith("_search")]
        won = next((e for e in searches if e["result"].get("total")), None)
        query = won["args"]["query"] if won else None
        # Every service searched with the winning query, and what its hits are.
        hits: Counter = Counter()
        if query is not None:
            for e in searches:
                if e["args"]["query"] == query:
                    service = e["tool"].removesuffix("_search")
                    hits.update(kind(r, labels, own, evidence)
                                for r in all_hits(box, service, query))
        read = [kind(e["args"]["id"], labels, own, evidence) for e in box.log
                if e["tool"].endswith("_read")]
        key = f"{own}/{info['family']}"
        out[key] = {"family": info["family"], "difficulty": task["difficulty"],
                    "prompt": task["prompt"], "passed": verdict.passed,
                    "failed": [c.name for c in verdict.checks if not c.passed],
                    "query": query, "fallback": won is None,
                    "query_words": len(query.split()) if query else 0,
                    "hits": dict(hits), "read": read,
                    "in_view": round(len(evidence & view) / max(1, len(evidence)), 3),
                    "first_read": read[0] if read else None}
    return out


def summary(traces: dict[int, dict[str, dict]]) -> dict:
    shared = sorted(set.intersection(*(set(t) for t in traces.values())))
    rows = defaultdict(lambda: defaultdict(list))
    for r, tasks in traces.items():
        for key in shared:
            t = tasks[key]
            for group in ("all", t["difficulty"], t["family"]):
                rows[group][r].append(t)
    out = {}
    for group, by_ratio in rows.items():
        out[group] = {}
        for r, ts in sorted(by_ratio.items()):
            hits = Counter()
            for t in ts:
                hits.update(t["hits"])
            total = sum(hits.values()) or 1
            out[group][str(r)] = {
                "tasks": len(ts), "pass": round(sum(t["passed"] for t in ts) / len(ts), 3),
                "first_read_evidence": round(sum(t["first_read"] in ("evidence", "own_signal")
                                                 for t in ts) / len(ts), 3),
                "evidence_in_view": round(sum(t["in_view"] for t in ts) / len(ts), 3),
                "fallback": sum(t["fallback"] for t in ts),
                "mean_query_words": round(sum(t["query_words"] for t in ts) / len(ts), 2),
                "hit_share": {k: round(v / total, 3) for k, v in sorted(hits.items())},
                "hits_per_task": round(sum(hits.values()) / len(ts), 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--ratios", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--search", action="store_true",
                        help="trace the search-based naive (window=None) instead")
    args = parser.parse_args()
    window = None if args.search else PAGE
    traces = {r: trace(args.out / f"ratio_{r}", window) for r in args.ratios}
    result = {"summary": summary(traces), "tasks": {str(r): t for r, t in traces.items()}}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
