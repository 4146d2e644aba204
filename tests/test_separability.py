"""The separability probe: AUCs that can tell a giveaway from no information."""

import dataclasses
import datetime as dt

import numpy as np
import polars as pl

from exporters.separability import (
    MIN_RECORDS,
    RowFeatures,
    auc,
    aucs,
    intervals,
    local_times,
    probe,
    row_features,
)


def test_auc_is_one_for_a_perfect_giveaway_and_half_for_none():
    positive = np.r_[np.ones(20, bool), np.zeros(20, bool)]
    assert auc(np.r_[np.full(20, 9.0), np.full(20, 1.0)], positive) == 1.0
    assert auc(np.r_[np.full(20, 1.0), np.full(20, 9.0)], positive) == 1.0  # folded
    assert auc(np.ones(40), positive) == 0.5


def _table(texts: list[str], senders: list[str]) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame({"world_id": ["w"] * n, "body": texts, "from_name": senders})


def test_probe_sees_a_template_and_a_lonely_sender():
    n = 40
    is_signal = np.arange(n) < n // 2
    texts = [("your refund has not arrived yet " if s else "lunch on friday at the usual ")
             + f"x{i}" for i, s in enumerate(is_signal)]
    senders = [f"stranger{i}" if s else "Mum" for i, s in enumerate(is_signal)]
    hour, weekday = np.full(n, 10), np.arange(n) % 7
    out = probe(_table(texts, senders), np.full(n, 7), is_signal, hour, weekday,
                "personal_emails", "body")
    assert out["template_family"] == 1.0
    assert out["sender_frequency"] == 1.0
    assert out["length"] == 0.5
    assert out["local_hour"] == 0.5


def test_probe_says_nothing_about_too_few_records():
    n = MIN_RECORDS + 5
    is_signal = np.arange(n) < MIN_RECORDS - 1
    assert probe(_table(["a"] * n, ["b"] * n), np.ones(n), is_signal, np.zeros(n),
                 np.zeros(n), "personal_emails", "body") is None


def test_one_mixed_template_family_says_nothing():
    n = 60
    is_signal = np.arange(n) % 3 == 0
    texts = [f"your parcel is on its way x{i}" for i in range(n)]
    out = probe(_table(texts, ["Shop"] * n), np.full(n, 7), is_signal, np.full(n, 10),
                np.arange(n) % 7, "personal_emails", "body")
    assert out["template_family"] == 0.5


def test_a_records_own_versions_do_not_vouch_for_it():
    # Every record has two versions with the same text, unique to the record (an order's
    # product, placed then shipped): the text says nothing about the label, but scored by
    # alternate rows each version would see its twin's label in the other half.
    n_records = 40
    is_signal = np.repeat(np.arange(n_records) < n_records // 4, 2)
    vocab = ["lamp", "kettle", "blanket", "speaker"]  # common words, a distinct triple each
    texts = [f"1 x {vocab[i % 4]} {vocab[i // 4 % 4]} {vocab[i // 16 % 4]}"
             for i in np.repeat(np.arange(n_records), 2)]
    table = _table(texts, ["Shop"] * len(texts)).with_columns(
        record_id=pl.Series([f"r{i:02d}" for i in np.repeat(np.arange(n_records), 2)]))
    n = len(texts)
    out = probe(table, np.full(n, 7), is_signal, np.full(n, 10), np.arange(n) % 7,
                "shop_orders", "body")
    assert out["template_family"] <= 0.6


def test_records_stamped_at_the_window_opening_have_no_hour():
    # Routine records that predate the window all carry its first instant (local midnight):
    # their hour would tell them from storyline records by when the window opens.
    n = 60
    is_signal = np.arange(n) < 20
    opening = (~is_signal) & (np.arange(n) % 2 == 0)
    hour = np.where(opening, 0, 10)
    weekday = np.where(opening, 0, np.arange(n) % 7)
    texts, senders = ["a note"] * n, ["x"] * n
    assert probe(_table(texts, senders), np.ones(n), is_signal, hour, weekday,
                 "notes", None)["local_hour"] > 0.7
    out = probe(_table(texts, senders), np.ones(n), is_signal, hour, weekday, "notes", None,
                timed=~opening)
    assert out["local_hour"] == 0.5
    assert "weekday" in out
    few = probe(_table(texts, senders), np.ones(n), is_signal, hour, weekday, "notes", None,
                timed=~is_signal | (np.arange(n) < 3))
    assert "local_hour" not in few
    assert "weekday" not in few


def test_timed_leaves_out_the_window_opening():
    t0 = dt.datetime(2026, 1, 5, 5, tzinfo=dt.UTC)
    table = pl.DataFrame({"world_id": ["w"] * 3,
                          "valid_from": [t0, t0 + dt.timedelta(hours=3), t0]})
    _, _, timed = local_times(table, {"w": ("UTC", t0)})
    assert timed.tolist() == [False, True, False]


def test_local_times_read_each_world_in_its_own_zone():
    at = dt.datetime(2026, 1, 5, 14, 0, tzinfo=dt.UTC)  # a Monday
    opening = dt.datetime(2026, 1, 5, 5, 0, tzinfo=dt.UTC)  # New York's local midnight
    table = pl.DataFrame({"world_id": ["ny", "tokyo", "ny", "lost"],
                          "valid_from": [at, at, opening, at]},
                         schema={"world_id": pl.String,
                                 "valid_from": pl.Datetime("us", "UTC")})
    clocks = {"ny": ("America/New_York", opening),
              "tokyo": ("Asia/Tokyo", dt.datetime(2026, 1, 4, 15, 0, tzinfo=dt.UTC))}
    hour, weekday, timed = local_times(table, clocks)
    assert hour[:2].tolist() == [9, 23]  # 14:00 UTC: 09:00 in New York, 23:00 in Tokyo
    assert weekday[:2].tolist() == [1, 1]
    # Stamped at its world's first instant, or of a world without a clock: no time.
    assert timed.tolist() == [True, True, False, False]


def test_a_world_drawn_twice_does_not_vouch_for_itself():
    # Resampling worlds repeats their rows; each copy keeps its record's cross-fitting
    # half, so a record's twin never sits in the other half to lend it its own label.
    n_records = 40
    is_signal = np.arange(n_records) < n_records // 4
    vocab = ["lamp", "kettle", "blanket", "speaker"]
    texts = [f"1 x {vocab[i % 4]} {vocab[i // 4 % 4]} {vocab[i // 16 % 4]}"
             for i in range(n_records)] * 2  # every family shows up in at least 20 texts
    table = _table(texts, ["Shop"] * len(texts)).with_columns(
        record_id=pl.Series([f"r{i:02d}" for i in range(n_records)] * 2))
    n = len(texts)
    features = row_features(table, np.full(n, 7), np.tile(is_signal, 2), np.full(n, 10),
                            np.arange(n) % 7, "shop_orders", "body")
    drawn_twice = features.take(np.r_[np.arange(n), np.arange(n)])
    assert aucs(drawn_twice)["template_family"] <= 0.6
    assert aucs(drawn_twice)["signal_records"] == 4 * is_signal.sum()


def _worlds_of(n_worlds: int, per_world: int, signal_length: float, rng) -> tuple:
    """Row features of ``n_worlds`` worlds: a quarter of each world's rows are signal,
    routine rows are 1 word long and signal rows ``signal_length``; weekdays are noise."""
    is_signal = np.tile(np.arange(per_world) < per_world // 4, n_worlds)
    n = len(is_signal)
    features = RowFeatures(
        is_signal=is_signal, length=np.where(is_signal, signal_length, 1.0),
        hour=np.full(n, 10.0), weekday=rng.integers(0, 7, n).astype(float),
        timed=np.ones(n, bool), sender_frequency=None, family=None, half=np.arange(n) % 2)
    return features, np.repeat([f"w{i:02d}" for i in range(n_worlds)], per_world)


def test_intervals_over_worlds_pin_a_giveaway_and_bracket_noise():
    rng = np.random.default_rng(7)
    found = intervals({"notes": _worlds_of(20, 40, 9.0, rng)}, resamples=100)["notes"]
    assert found["length"] == [1.0, 1.0]  # every draw is a perfect giveaway
    low, high = found["weekday"]  # noise: the interval reaches no information
    assert low == 0.5
    assert high < 0.65
    again = intervals({"notes": _worlds_of(20, 40, 9.0, np.random.default_rng(7))}, 100)
    assert again["notes"] == found  # seeded draws: the same intervals every run


def test_intervals_widen_when_worlds_disagree():
    # Signal is longer than routine in some worlds and shorter in others: pooled, length
    # says little, and which worlds a draw holds swings the AUC, so the interval is wide.
    rng = np.random.default_rng(3)
    features, world = _worlds_of(20, 40, 9.0, rng)
    length = features.length.copy()
    odd = np.isin(world, [f"w{i:02d}" for i in range(1, 20, 2)]) & features.is_signal
    length[odd] = 0.0
    mixed = dataclasses.replace(features, length=length)
    steady = intervals({"t": (features, world)}, 100)["t"]["length"]
    swinging = intervals({"t": (mixed, world)}, 100)["t"]["length"]
    assert swinging[1] - swinging[0] > steady[1] - steady[0] + 0.05
