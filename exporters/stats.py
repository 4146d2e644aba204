"""``lifeloom stats``: what a dataset holds, by service and label class, read from its files.

:func:`world_level` is the one computation of the world-level stats (events, words and
label classes per service, storylines, conflicts, look-alikes, spans, diversity, the
separability probe) over any number of worlds pooled: :func:`dataset_stats` runs it on a
one-world directory, :func:`exporters.split_stats.split_stats` on each split of a benchmark
dataset. The separability probe (``exporters.separability``) asks whether signal records
can be told from the rest by surface features alone.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from exporters import separability
from personas.text.diversity import text_diversity
from sim.clock import Clock
from sim.measure import word_counts
from sim.services import TABLE_SERVICE, TABLES

CLASSES = ("signal", "conflict", "distractor", "routine")  # precedence, highest first

# ``history/<table>`` or ``oracle/<name>`` -> its rows (already narrowed to the worlds being
# described), or None when the dataset has no such table. Lazy, so only what is asked for
# is read and one history table is held at a time.
Scan = Callable[[str], pl.LazyFrame | None]
# world_id -> (IANA zone, the window's first instant): what local hours need
# (``separability.local_times``). A world missing here has no time features.
Clocks = dict[str, tuple[str, dt.datetime]]


def opening(timezone: str, start: dt.date) -> dt.datetime:
    """The window's first instant (local midnight of ``start``), where records that predate
    the window are stamped."""
    return Clock(timezone, start, 1).epoch


def dataset_stats(path: Path) -> dict:
    """Stats of a one-world dataset directory (stable keys; see the README)."""
    path = Path(path)
    manifest = json.loads((path / "manifest.json").read_text())

    def scan(key: str) -> pl.LazyFrame | None:
        files = sorted((path / key).rglob("*.parquet")) if (path / key).is_dir() else []
        return pl.scan_parquet(files) if files else None

    clocks = {manifest["world_id"]: (manifest["timezone"], opening(
        manifest["timezone"], dt.date.fromisoformat(manifest["start"])))}
    report = world_level(scan, clocks)
    ratio = manifest.get("noise_to_signal") or {}
    return {
        "world_id": manifest.get("world_id"),
        **report,
        "noise_to_signal": {"target": ratio.get("target"),
                            "achieved_words": pooled_ratio(report["classes"]),
                            "achieved_events": ratio.get("achieved_events")},
        "storylines_skipped": manifest.get("storylines_skipped", []),
        "storylines_aborted": manifest.get("storylines_aborted", {}),
    }


def world_level(scan: Scan, clocks: Clocks, intervals: int = 0) -> dict:
    """The world-level stats of the worlds ``scan`` reads, pooled (keys as in the README).

    With ``intervals`` > 0, also ``separability_ci95``: a 95% interval for each AUC of the
    probe over that many draws of the worlds (:func:`exporters.separability.intervals`),
    from the row features the probe already computed, so no table is read twice.

    Record versions are matched to their labels by ``world_id`` too, and the probe counts
    senders and splits its cross-fitting halves by record within each world; template
    families and their signal shares are read over all the worlds, and lengths, hours and
    weekdays are ranked across them, which is the point of pooling (one world has too few
    signal records). Hours are local to each world (``clocks``).
    """
    labels = _collect(scan("oracle/labels"))
    best = best_class(labels)
    words_by: dict[str, int] = {}
    classes: dict[str, dict] = {}
    probe: dict[str, dict] = {}
    bodies: list[pl.Series] = []
    features: dict[str, tuple[separability.RowFeatures, np.ndarray]] = {}
    for name in sorted(TABLES):
        found = _labelled(scan, name, best)
        if found is None:
            continue
        table, words, label = found
        service = TABLE_SERVICE[name]
        cls = classes.setdefault(service, {c: {"records": 0, "words": 0} for c in CLASSES})
        for c in CLASSES:
            cls[c]["records"] += int((label == c).sum())
            cls[c]["words"] += int(words[label == c].sum())
        words_by[service] = words_by.get(service, 0) + int(words.sum())
        if name in ("personal_emails", "work_emails"):
            bodies.append(table["body"])
        rows = _features(table, words, label, name, clocks)
        aucs = separability.aucs(rows)
        if aucs is not None:
            probe[name] = aucs
            if intervals:  # numbers only, a few per row: kept while the next tables load
                features[name] = (rows, table["world_id"].to_numpy())
        del table, found  # the next table's rows replace these, not join them
    spans = _storyline_spans(labels.filter(pl.col("class") == "signal")
                             if labels is not None else None)
    body = pl.concat(bodies) if bodies else None
    ci = {"separability_ci95": separability.intervals(features, intervals)} if intervals else {}
    return {
        "events": _counts(scan("oracle/events"), "service"),
        "words": dict(sorted(words_by.items())),
        "classes": dict(sorted(classes.items())),
        "noise_to_signal_by_service": {
            service: round(_rest(c) / c["signal"]["words"], 3)
            for service, c in sorted(classes.items()) if c["signal"]["words"]},
        "storylines": _counts(scan("oracle/storylines"), "family"),
        "conflicts": _counts(scan("oracle/conflicts"), "operator"),
        "distractors": _distractors(labels),
        "services_per_storyline": spans["services"],
        "storyline_span_days": spans["days"],
        "diversity": text_diversity(body).to_dict() if body is not None and len(body) else None,
        "separability": probe,
        **ci,
    }


def _labelled(scan: Scan, name: str, best: pl.DataFrame
              ) -> tuple[pl.DataFrame, np.ndarray, np.ndarray] | None:
    """One history table with each row's words and class (None when it has no rows)."""
    table = _history(scan(f"history/{name}"), name)
    if table is None or not table.height:
        return None
    words = np.zeros(table.height, np.int64)
    for col in TABLES[name].text_columns:
        words += word_counts(table[col].to_arrow())
    return table, words, label_of(table, best.filter(pl.col("table") == name))


def _features(table: pl.DataFrame, words: np.ndarray, label: np.ndarray, name: str,
              clocks: Clocks) -> separability.RowFeatures:
    text_columns = TABLES[name].text_columns
    hour, weekday, timed = separability.local_times(table, clocks)
    return separability.row_features(table, words, label == "signal", hour, weekday, name,
                                     text_columns[0] if text_columns else None, timed=timed)


def pooled_ratio(classes: dict[str, dict]) -> float | None:
    """Non-signal words over signal words, every service together (None without signal)."""
    signal = sum(c["signal"]["words"] for c in classes.values())
    return round(sum(_rest(c) for c in classes.values()) / signal, 3) if signal else None


def _rest(cls: dict) -> int:
    return sum(cls[k]["words"] for k in CLASSES if k != "signal")


def _collect(frame: pl.LazyFrame | None) -> pl.DataFrame | None:
    return None if frame is None else frame.collect()


def _counts(frame: pl.LazyFrame | None, column: str) -> dict[str, int]:
    """Rows per value of ``column``, counted without holding the rows."""
    if frame is None:
        return {}
    return dict(frame.group_by(column).len().sort(column).collect().iter_rows())


def _history(frame: pl.LazyFrame | None, name: str) -> pl.DataFrame | None:
    """One history table, only the columns the stats read (text is most of a table)."""
    if frame is None:
        return None
    wanted = ["world_id", "record_id", "valid_from", *TABLES[name].text_columns]
    sender = separability.SENDER.get(name)
    if sender and sender not in wanted:
        wanted.append(sender)
    return frame.select(wanted).collect()


def best_class(labels: pl.DataFrame | None) -> pl.DataFrame:
    """Each labelled record version's highest class (``CLASSES`` order)."""
    keys = ["table", "world_id", "record_id", "valid_from"]
    if labels is None:
        return pl.DataFrame(schema={**dict.fromkeys(keys, pl.String), "rank": pl.Int64})
    rank = pl.col("class").replace_strict({c: i for i, c in enumerate(CLASSES)},
                                          return_dtype=pl.Int64)
    return labels.group_by(keys, maintain_order=True).agg(rank.min().alias("rank"))


def label_of(table: pl.DataFrame, best: pl.DataFrame) -> np.ndarray:
    """The class of each row of ``table`` (``routine`` where unlabelled), in row order."""
    keys = ["world_id", "record_id", "valid_from"]
    if not best.height:
        return np.full(table.height, "routine", dtype=object)
    rank = table.select(keys).join(best.select([*keys, "rank"]), on=keys, how="left",
                                   maintain_order="left")["rank"]
    names = np.array(CLASSES, dtype=object)
    return names[rank.fill_null(CLASSES.index("routine")).to_numpy()]


def _distractors(labels: pl.DataFrame | None) -> dict[str, int]:
    """Look-alikes per similarity level."""
    if labels is None or "similarity" not in labels.columns:
        return {}
    found = labels.filter(pl.col("class") == "distractor")
    return dict(sorted(found.group_by("similarity").len().iter_rows()))


def _storyline_spans(labels: pl.DataFrame | None) -> dict[str, dict]:
    if labels is None or not labels.height:
        return {"services": {"mean": None, "max": None}, "days": {"mean": None, "max": None}}
    per = labels.with_columns(pl.col("table").replace_strict(TABLE_SERVICE).alias("service"))
    agg = per.group_by("world_id", "storyline_instance_id", maintain_order=True).agg(
        pl.col("service").n_unique().alias("services"),
        ((pl.col("valid_from").max() - pl.col("valid_from").min()).dt.total_seconds()
         / 86_400).alias("days"))
    return {k: {"mean": round(float(agg[k].mean()), 2), "max": round(float(agg[k].max()), 2)}
            for k in ("services", "days")}
