"""``lifeloom stats``: what a dataset holds, by service and label class, read from its files.

The separability probe (``exporters.separability``) asks whether signal records can be told
from the rest by surface features alone.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from exporters import separability
from exporters.content_hash import read_table_dir
from personas.text.diversity import text_diversity
from sim.clock import Clock
from sim.measure import word_counts
from sim.services import TABLE_SERVICE, TABLES


def dataset_stats(path: Path) -> dict:
    """Stats of a one-world dataset directory (stable keys; see the README)."""
    manifest = json.loads((path / "manifest.json").read_text())
    labels = _read(path / "oracle" / "labels")
    # The window's first instant, where records that predate it are stamped.
    opening = Clock(manifest["timezone"], dt.date.fromisoformat(manifest["start"]), 1).epoch
    class_of = _classes(labels)
    events_by, words_by, classes = {}, {}, {}
    probe = {}
    bodies = []
    for name in sorted(TABLES):
        table = _read(path / "history" / name)
        if table is None or not table.height:
            continue
        service = TABLE_SERVICE[name]
        words = np.zeros(table.height, np.int64)
        for col in TABLES[name].text_columns:
            words += word_counts(pa.array(table[col].to_list(), pa.string()))
        label = np.array([class_of.get((name, r, vf), "routine") for r, vf in zip(
            table["record_id"].to_list(), table["valid_from"].to_list(), strict=True)])
        is_signal = label == "signal"
        cls = classes.setdefault(service, {c: {"records": 0, "words": 0} for c in CLASSES})
        for c in CLASSES:
            cls[c]["records"] += int((label == c).sum())
            cls[c]["words"] += int(words[label == c].sum())
        words_by[service] = words_by.get(service, 0) + int(words.sum())
        if name in ("personal_emails", "work_emails"):
            bodies += table["body"].to_list()
        text_columns = TABLES[name].text_columns
        hour, weekday = separability.local_hour_weekday(table, manifest["timezone"])
        found = separability.probe(table, words, is_signal, hour, weekday, name,
                                   text_columns[0] if text_columns else None,
                                   timed=separability.dated(table, opening))
        if found is not None:
            probe[name] = found
    events = _read(path / "oracle" / "events")
    if events is not None:
        for service, n in events.group_by("service", maintain_order=True).len().iter_rows():
            events_by[service] = n
    signal_words = sum(c["signal"]["words"] for c in classes.values())
    routine_words = sum(c[k]["words"] for c in classes.values() for k in CLASSES
                        if k != "signal")
    ratio = manifest.get("noise_to_signal") or {}
    spans = _storyline_spans(labels.filter(pl.col("class") == "signal")
                             if labels is not None else None)
    conflicts = _read(path / "oracle" / "conflicts")
    per_operator = {} if conflicts is None else dict(
        conflicts.group_by("operator", maintain_order=True).len().sort("operator").iter_rows())
    return {
        "world_id": manifest.get("world_id"),
        "events": dict(sorted(events_by.items())),
        "words": dict(sorted(words_by.items())),
        "classes": dict(sorted(classes.items())),
        "noise_to_signal": {
            "target": ratio.get("target"),
            "achieved_words": round(routine_words / signal_words, 3) if signal_words else None,
            "achieved_events": ratio.get("achieved_events"),
        },
        "noise_to_signal_by_service": {
            service: round(sum(c[k]["words"] for k in CLASSES if k != "signal")
                           / c["signal"]["words"], 3)
            for service, c in sorted(classes.items()) if c["signal"]["words"]},
        "storylines": manifest.get("storylines", {}),
        "storylines_skipped": manifest.get("storylines_skipped", []),
        "conflicts": per_operator,
        "distractors": _distractors(labels),
        "services_per_storyline": spans["services"],
        "storyline_span_days": spans["days"],
        "diversity": text_diversity(bodies).to_dict() if bodies else None,
        "separability": probe,
    }


CLASSES = ("signal", "conflict", "distractor", "routine")  # precedence, highest first


def _classes(labels: pl.DataFrame | None) -> dict[tuple, str]:
    """Each labelled record version's highest class."""
    out: dict[tuple, str] = {}
    if labels is None:
        return out
    rank = {c: i for i, c in enumerate(CLASSES)}
    for t, r, vf, c in zip(labels["table"].to_list(), labels["record_id"].to_list(),
                           labels["valid_from"].to_list(), labels["class"].to_list(),
                           strict=True):
        key = (t, r, vf)
        if key not in out or rank[c] < rank[out[key]]:
            out[key] = c
    return out


def _distractors(labels: pl.DataFrame | None) -> dict[str, int]:
    """Look-alikes per similarity level."""
    if labels is None or "similarity" not in labels.columns:
        return {}
    found = labels.filter(pl.col("class") == "distractor")
    return dict(sorted(found.group_by("similarity").len().iter_rows()))


def _read(directory: Path) -> pl.DataFrame | None:
    if not directory.is_dir():
        return None
    return pl.from_arrow(read_table_dir(directory))


def _storyline_spans(labels: pl.DataFrame | None) -> dict[str, dict]:
    if labels is None or not labels.height:
        return {"services": {"mean": None, "max": None}, "days": {"mean": None, "max": None}}
    per = labels.with_columns(pl.col("table").replace_strict(TABLE_SERVICE).alias("service"))
    agg = per.group_by("storyline_instance_id", maintain_order=True).agg(
        pl.col("service").n_unique().alias("services"),
        ((pl.col("valid_from").max() - pl.col("valid_from").min()).dt.total_seconds()
         / 86_400).alias("days"))
    return {k: {"mean": round(float(agg[k].mean()), 2), "max": round(float(agg[k].max()), 2)}
            for k in ("services", "days")}
