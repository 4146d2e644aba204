"""Counterfactual ceiling for counterparty routine: how many of the search-based naive's
passes (``window=None``, which searches each service's whole default window) at the
highest ratio would survive if, in every service where it read the story's evidence, one
fact-free record had arrived 5 minutes before the snapshot?

The records are injected into the task's snapshot (agent and grader both see them) and
naive is rerun. Variants:

- ``name``: the same party (name, address, number kept), fact-free text, neutral subject;
- ``topic``: as ``name``, but an email keeps "Re: <subject>" (same thread, same words);
- ``namesake``: as ``name``, but from someone else with the first name the query found;
- ``cal``: as ``topic``, plus a copy of the story's calendar event a week later: a
  look-alike, so a bound only, not a proposal.

A collision in every evidence service, for certain, is the most such routine could ever
do, not what a realistic rate would do. Labels as in ``study_naive.py``.

    taskset -c 1 .venv/bin/python benchmarks/study_naive_ceiling.py /tmp/naive_study/w10 \\
        namesake --ratio 64 --json /tmp/naive_study/inject_w10_namesake.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).parent))
from study_naive import kind, labels_of

from exporters.loading import load
from exporters.runs import grade_actions
from scenarios.baselines import make_agent

VARIANTS = ("name", "topic", "namesake", "cal")
FACT_FREE = {"sms_messages": {"text": "Haha yes, talk soon!"},
             "chat_messages": {"text": "Thanks, will do!"},
             "call_log": {"voicemail_transcript": None, "direction": "missed"},
             "personal_emails": {"body": "Thanks - talk soon.", "subject": "Quick one"},
             "work_emails": {"body": "Thanks - talk soon.", "subject": "Quick one"}}
WHEN = {"sms_messages": "sent_at", "chat_messages": "sent_at", "call_log": "started_at",
        "personal_emails": "sent_at", "work_emails": "sent_at"}
OTHER = {"phone_number": "+1 (555) 010-9999", "from_address": "namesake@example.com",
         "sender_handle": "namesake"}


def injected(row: dict, table: str, variant: str, at: dt.datetime, first: str) -> dict | None:
    """The record the counterparty (or a namesake) writes after ``row``, or None."""
    new = dict(row)
    new["record_id"] = "zz_" + hashlib.sha1(row["record_id"].encode()).hexdigest()[:14]
    new["valid_from"] = at
    if table in FACT_FREE:
        new.update(FACT_FREE[table])
        new[WHEN[table]] = at
        if variant in ("topic", "cal") and table.endswith("emails"):
            new["subject"] = "Re: " + (row["subject"] or "").removeprefix("Re: ")
        if variant == "namesake":
            new.update({k: v for k, v in OTHER.items() if k in new})
            for column in ("contact_name", "from_name", "sender_name"):
                if column in new and first:
                    new[column] = f"{first} Okafor-Lindqvist"
        return new
    if table == "calendar_events" and variant == "cal":
        new["start"] = row["start"] + dt.timedelta(days=7)
        new["end"] = row["end"] + dt.timedelta(days=7)
        new["description"] = ""
        return new
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="a bench_baselines.py output directory")
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--ratio", type=int, default=64)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path = args.out / f"ratio_{args.ratio}"
    ds, labels = load(path), labels_of(path)
    gold = pl.read_parquet(path / "oracle" / "gold" / "*.parquet")
    meta = {r["task_id"]: r for r in gold.select(
        "task_id", "family", "storyline_instance_id", "evidence_ids").iter_rows(named=True)}
    original, extra = ds.snapshot, {}

    def snapshot(sid: str) -> dict[str, pa.Table]:
        tables = dict(original(sid))
        for table, rows in extra.get(sid, {}).items():
            tables[table] = pa.concat_tables(
                [tables[table], pa.Table.from_pylist(rows, schema=tables[table].schema)])
        return tables

    ds.snapshot = snapshot

    def run(task: dict):
        box = ds.toolbox(task["task_id"])
        reply = make_agent("naive", window=None).act(task["prompt"], box, heartbeat=False)
        actions = [{"tool": e["tool"], "args": e["args"], "snapshot_id": task["snapshot_id"]}
                   for e in box.log]
        return box, grade_actions(ds, task["task_id"], actions, reply)

    out = []
    for task in ds.tasks.filter(pl.col("mode") == "reactive").iter_rows(named=True):
        info, sid = meta[task["task_id"]], task["snapshot_id"]
        box, verdict = run(task)
        if not verdict.passed:
            continue
        evidence, own = set(info["evidence_ids"]), info["storyline_instance_id"]
        at = box.workspace.as_of - dt.timedelta(minutes=5)
        query = next((e["args"]["query"] for e in box.log if e["tool"].endswith("_search")
                      and e["result"].get("total")), "")
        first = query.split()[0].capitalize() if query else ""
        first = first if first and first in task["prompt"] else ""
        adds: dict[str, list[dict]] = {}
        for e in box.log:
            if not e["tool"].endswith("_read") or "error" in e["result"] or kind(
                    e["args"]["id"], labels, own, evidence) not in ("evidence", "own_signal"):
                continue
            table = e["result"]["table"]
            snap = original(sid)[table]
            row = snap.filter(pc.equal(snap["record_id"], e["args"]["id"])).to_pylist()[0]
            new = injected(row, table, args.variant, at, first)
            if new is not None:
                adds.setdefault(table, []).append(new)
        extra[sid] = adds
        _, after = run(task)
        extra.pop(sid)
        out.append({"key": f"{own}/{info['family']}", "family": info["family"],
                    "difficulty": task["difficulty"], "prompt": task["prompt"],
                    "injected": {t: len(v) for t, v in adds.items()},
                    "still_passes": after.passed,
                    "failed": [c.name for c in after.checks if not c.passed]})
    print(json.dumps({"variant": args.variant, "passed_before": len(out),
                      "passed_after": sum(o["still_passes"] for o in out),
                      "reactive_tasks": ds.tasks.filter(pl.col("mode") == "reactive").height}))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
