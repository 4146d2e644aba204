"""The separability probe: can signal records be told from the rest by surface features?

Labels live on the oracle side, but they can still leak through the records themselves: if
storyline texts are longer, arrive at odd hours or come from people who never write
otherwise, an agent can find them without understanding anything. For each record table and
feature the probe reports the AUC of that feature as a signal-vs-rest score, folded so 0.5
means no information and 1.0 a perfect giveaway. A table is probed only when it holds at
least ``MIN_RECORDS`` records of each side: with three signal records an AUC means nothing,
so one world is usually too small and a dataset of many worlds is the place to read it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import polars as pl

MIN_RECORDS = 10
LIMIT = 0.7  # an AUC above this is reported as a leak

SENDER = {"personal_emails": "from_name", "work_emails": "from_name",
          "chat_messages": "sender_name", "sms_messages": "contact_name",
          "call_log": "contact_name", "feed_posts": "author"}

_WORD = re.compile(r"[a-z]+")
_COMMON = 20  # texts a word must appear in to count towards a template family


def auc(score: np.ndarray, positive: np.ndarray, *, fold: bool = True) -> float:
    """Mann-Whitney AUC of ``score`` for ``positive``, folded to [0.5, 1] unless ``fold``
    is False (then below 0.5 when positives score lower)."""
    ranks = pl.Series(score).rank("average").to_numpy()
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    value = (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return round(float(max(value, 1 - value) if fold else value), 3)


def local_hour_weekday(table: pl.DataFrame, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """Local hour and weekday of each record version's ``valid_from``."""
    local = table["valid_from"].dt.convert_time_zone(tz)
    return local.dt.hour().to_numpy(), local.dt.weekday().to_numpy()


def local_times(table: pl.DataFrame, clocks: Mapping[str, tuple[str, dt.datetime]]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local hour and weekday of each row of a table pooled over worlds, and which rows
    may be read for them (``timed`` for :func:`probe`).

    ``clocks`` maps ``world_id`` to the world's zone and its window's first instant: each
    row's hour is read in its own world's zone. Rows of a world missing from ``clocks`` are
    not timed, nor are rows stamped at their world's first instant: records that already
    exist when the window opens (the address book, channels joined long ago, standing
    watches and payments) carry it, local midnight of the start date, because every
    instant must lie inside the window (``sim.check``). That instant says when the window
    opens, not when the record arrived, and no storyline can write there, so their hour and
    weekday would measure the window.
    """
    hour = np.zeros(table.height, np.int64)
    weekday = np.zeros(table.height, np.int64)
    world = table["world_id"]
    for zone in sorted({z for z, _ in clocks.values()}):
        rows = world.is_in([w for w, (z, _) in clocks.items() if z == zone]).to_numpy()
        if rows.any():
            hour[rows], weekday[rows] = local_hour_weekday(
                table.select("valid_from").filter(rows), zone)
    first = world.replace_strict({w: at for w, (_, at) in clocks.items()}, default=None,
                                 return_dtype=table["valid_from"].dtype)
    timed = (table["valid_from"] != first).fill_null(False).to_numpy()
    return hour, weekday, timed


@dataclass(frozen=True)
class RowFeatures:
    """One table's probe features, row by row, computed once.

    Kept apart from the AUCs so a resample (``take``: the rows of some worlds, a world
    drawn twice repeated) is scored without re-reading text: template families are fixed
    on the whole table, and a record keeps its cross-fitting half, so a world drawn twice
    never has its own copy in the other half to vouch for its label.
    """

    is_signal: np.ndarray
    length: np.ndarray
    hour: np.ndarray  # hours from midnight (0-12), local to each world
    weekday: np.ndarray
    timed: np.ndarray  # where hour and weekday may be read (``local_times``)
    sender_frequency: np.ndarray | None  # records of this sender in the same world
    family: np.ndarray | None  # template family code (``template_families``)
    half: np.ndarray  # cross-fitting half (``_halves``)

    def take(self, rows: np.ndarray) -> RowFeatures:
        """These features at ``rows`` (indices; repeats allowed)."""
        return RowFeatures(**{f.name: None if (v := getattr(self, f.name)) is None
                              else v[rows] for f in fields(self)})


def row_features(table: pl.DataFrame, words: np.ndarray, is_signal: np.ndarray,
                 hour: np.ndarray, weekday: np.ndarray, name: str, text_column: str | None,
                 timed: np.ndarray | None = None) -> RowFeatures:
    """The probe's features of each row of one table (arguments as for :func:`probe`)."""
    sender_frequency = None
    sender = SENDER.get(name)
    if sender:  # how often this sender appears in the same world
        keys = ["world_id", sender] if "world_id" in table.columns else [sender]
        sender_frequency = table.select(pl.len().over(keys)).to_series().to_numpy()
    family = None
    if text_column:
        family = np.unique(template_families(table[text_column]), return_inverse=True)[1]
    return RowFeatures(
        is_signal=np.asarray(is_signal, bool), length=np.asarray(words, float),
        hour=np.minimum(hour, 24 - hour).astype(float), weekday=np.asarray(weekday, float),
        timed=np.ones(len(is_signal), bool) if timed is None else np.asarray(timed, bool),
        sender_frequency=None if sender_frequency is None else sender_frequency.astype(float),
        family=family, half=_halves(table))


def aucs(x: RowFeatures, *, fold: bool = True) -> dict[str, float | int] | None:
    """AUC per feature (None when either side is too small to say), folded unless
    ``fold`` is False (:func:`auc`).

    Hour and weekday are read only where ``timed``; with too few of either side left
    there, the table has no time features.
    """
    n_signal = int(x.is_signal.sum())
    if n_signal < MIN_RECORDS or len(x.is_signal) - n_signal < MIN_RECORDS:
        return None
    out: dict[str, float | int] = {"signal_records": n_signal,
                                   "length": auc(x.length, x.is_signal, fold=fold)}
    sig_t = x.is_signal[x.timed]
    if MIN_RECORDS <= int(sig_t.sum()) <= len(sig_t) - MIN_RECORDS:
        out["local_hour"] = auc(x.hour[x.timed], sig_t, fold=fold)
        out["weekday"] = auc(x.weekday[x.timed], sig_t, fold=fold)
    if x.sender_frequency is not None:
        out["sender_frequency"] = auc(x.sender_frequency, x.is_signal, fold=fold)
    if x.family is not None:
        out["template_family"] = auc(_family_score(x.family, x.is_signal, x.half),
                                     x.is_signal, fold=fold)
    return out


def intervals(features: Mapping[str, tuple[RowFeatures, np.ndarray]], resamples: int,
              seed: int = 0) -> dict[str, dict[str, list[float]]]:
    """Per table and feature, a 95% interval for the AUC from ``resamples`` draws of the
    worlds with replacement (a draw too small for a feature is left out; fewer than two
    worlds have nothing to resample: empty). ``features``: per table, its row features and
    the world of each row, as ``exporters.stats.world_level`` gathers them.

    Worlds, not records, are the unit: a world's signal records come from a few storyline
    instances and share their wording, senders and hours. A draw scores the rows of the
    worlds drawn (``RowFeatures.take``), its template families fixed on the whole pool.

    The interval is the basic (reverse-percentile) one, 2 x AUC minus the 97.5th and 2.5th
    percentiles of the draws, not the percentiles themselves: a draw holds about 63% of
    the worlds, so fewer worlds share each storyline's wording and the cross-fitted
    template-family score reads lower (the probe reads higher the more worlds it pools).
    Reflecting the draws about the AUC corrects for that first-order bias. It is taken on
    the unfolded AUC and folded afterwards: folded draws cannot fall below 0.5, so near
    no information they would pin the interval to 0.5 however much the worlds disagree.
    """
    rng = np.random.default_rng(seed)
    worlds = sorted({w for _, world in features.values() for w in world})
    if len(worlds) < 2:
        return {}
    rows = {name: [np.flatnonzero(world == w) for w in worlds]
            for name, (_, world) in features.items()}
    draws: dict[str, dict[str, list[float]]] = {}
    for _ in range(resamples):
        drawn = rng.choice(len(worlds), len(worlds))
        for name, (x, _) in features.items():
            found = aucs(x.take(np.concatenate([rows[name][i] for i in drawn])), fold=False)
            for feature, value in (found or {}).items():
                if feature != "signal_records":
                    draws.setdefault(name, {}).setdefault(feature, []).append(value)
    out: dict[str, dict[str, list[float]]] = {}
    for name, by in sorted(draws.items()):
        point = aucs(features[name][0], fold=False) or {}
        for f, v in sorted(by.items()):
            if f in point:
                high, low = 2 * point[f] - np.percentile(v, [2.5, 97.5])
                low, high = max(0.0, low), min(1.0, high)
                folded = ([low, high] if low >= 0.5 else [1 - high, 1 - low] if high <= 0.5
                          else [0.5, max(high, 1 - low)])
                out.setdefault(name, {})[f] = [round(float(b), 3) for b in folded]
    return out


def probe(table: pl.DataFrame, words: np.ndarray, is_signal: np.ndarray, hour: np.ndarray,
          weekday: np.ndarray, name: str, text_column: str | None,
          timed: np.ndarray | None = None) -> dict[str, float | int] | None:
    """AUC per feature for one table (None when either side is too small to say).

    ``hour`` and ``weekday`` are local to each record's world, so tables of worlds in
    different zones can be probed together. They are read only where ``timed`` (default:
    everywhere), the records that arrived inside the window (:func:`local_times`).
    """
    return aucs(row_features(table, words, is_signal, hour, weekday, name, text_column,
                             timed))


def _halves(table: pl.DataFrame) -> np.ndarray:
    """The cross-fitting half of each row: by record, so a record's versions stay together.

    Versions of one record share its label and usually its text (an order placed, shipped,
    delivered): split by row, a record's other versions would score it with its own label.
    Record ids are opaque digests, so alternating over their sorted order is a fair coin.
    Tables without ids (tests) alternate rows.
    """
    if "record_id" not in table.columns:
        return np.arange(table.height) % 2
    keys = ["world_id", "record_id"] if "world_id" in table.columns else ["record_id"]
    rank = table.select(pl.struct(keys).rank("dense")).to_series().to_numpy()
    return rank.astype(np.int64) % 2


def template_families(text: pl.Series) -> np.ndarray:
    """Each text's family: its first three words found in at least ``_COMMON`` texts."""
    tokens = [_WORD.findall((t or "").lower()) for t in text.to_list()]
    df: dict[str, int] = {}
    for words in tokens:
        for w in set(words):
            df[w] = df.get(w, 0) + 1
    return np.array([" ".join([w for w in words if df[w] >= _COMMON][:3])
                     for words in tokens])


def _family_score(code: np.ndarray, is_signal: np.ndarray, half: np.ndarray) -> np.ndarray:
    """The share of signal among records whose text opens the same way (``code``: the
    family of each record), cross-fitted.

    A text's family is its first three *common* words (found in at least ``_COMMON`` texts
    of the table), so names, numbers and product titles fall away and what is left stands
    in for the template it came from (:func:`template_families`). Each record is scored
    with the shares of the *other* half of the table (``half``): a score that saw the
    record's own label would rank it (leave-one-out pushes every signal record just below
    the routine ones of its family, which a folded AUC reads as a giveaway). A family unseen
    in the other half scores the overall share.
    """
    score = np.full(len(code), is_signal.mean())
    for h in (0, 1):
        other = half != h
        size = np.bincount(code[other], minlength=code.max() + 1)
        hits = np.bincount(code[other], weights=is_signal[other].astype(float),
                           minlength=code.max() + 1)
        mine = ~other
        known = size[code[mine]] > 0
        idx = np.flatnonzero(mine)[known]
        score[idx] = hits[code[idx]] / size[code[idx]]
    return score
