"""Aggregates of graded runs: hand-computed Pass@k / Pass^k, breakdowns and properties."""

from __future__ import annotations

import itertools
import json
import random

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporters.aggregate import aggregate, pass_k, summarise

TASKS = pl.DataFrame({
    "task_id": ["a", "b", "c"],
    "mode": ["reactive", "reactive", "proactive"],
    "category": ["workflow", "aggregation", "workflow"],
    "difficulty": ["simple", "hard", "simple"],
    "split": ["test", "test", "test"],
})
# Three tasks x four trials, outcomes in trial order: a passes 3, b none, c one (the 2nd).
OUTCOMES = {"a": [True, False, True, True], "b": [False] * 4, "c": [False, True, False, False]}


def rows(outcomes: dict[str, list[bool]], *, shuffle: int | None = None) -> list[dict]:
    out = [{"task_id": t, "trial": i, "passed": p, "score": 1.0 if p else 0.25,
            "claw_score": 1.0 if p else 0.5}
           for t, trials in outcomes.items() for i, p in enumerate(trials)]
    if shuffle is not None:
        random.Random(shuffle).shuffle(out)
    return out


def by_k(result: dict) -> dict[int, dict]:
    return {entry["k"]: entry for entry in result["pass_k"]}


def test_three_tasks_four_trials_by_hand():
    result = aggregate(rows(OUTCOMES, shuffle=3), TASKS)
    overall = result["overall"]
    assert (overall["runs"], overall["tasks"], overall["passed"]) == (12, 3, 4)
    assert overall["pass_rate"] == pytest.approx(1 / 3)
    assert overall["mean_score"] == pytest.approx((4 * 1.0 + 8 * 0.25) / 12)
    assert overall["mean_claw_score"] == pytest.approx((4 * 1.0 + 8 * 0.5) / 12)
    assert overall["max_trials"] == 4
    k = by_k(overall)
    expected = {
        # k: (pass@k indicator, pass@k estimator, pass^k indicator, (c/n)^k, C(c,k)/C(n,k))
        1: (1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3),
        2: (2 / 3, (1 + 0 + 1 / 2) / 3, 0, (9 / 16 + 1 / 16) / 3, (1 / 2) / 3),
        3: (2 / 3, (1 + 0 + 3 / 4) / 3, 0, (27 / 64 + 1 / 64) / 3, (1 / 4) / 3),
        4: (2 / 3, 2 / 3, 0, (81 / 256 + 1 / 256) / 3, 0),
    }
    for kk, (at_i, at_e, hat_i, hat_p, hat_u) in expected.items():
        entry = k[kk]
        assert entry["tasks"] == 3
        assert entry["pass_at_k_indicator"] == pytest.approx(at_i), kk
        assert entry["pass_at_k_estimator"] == pytest.approx(at_e), kk
        assert entry["pass_hat_k_indicator"] == pytest.approx(hat_i), kk
        assert entry["pass_hat_k_power"] == pytest.approx(hat_p), kk
        assert entry["pass_hat_k_unbiased"] == pytest.approx(hat_u), kk


def test_breakdowns_by_every_column():
    result = aggregate(rows(OUTCOMES), TASKS)
    assert sorted(result["by"]) == ["category", "difficulty", "mode", "split"]
    simple = result["by"]["difficulty"]["simple"]
    assert (simple["runs"], simple["tasks"], simple["passed"]) == (8, 2, 4)
    assert simple["pass_rate"] == pytest.approx(0.5)
    assert result["by"]["difficulty"]["hard"]["pass_rate"] == 0
    assert result["by"]["mode"]["proactive"]["passed"] == 1
    assert by_k(result["by"]["category"]["workflow"])[4]["pass_at_k_indicator"] == 1
    assert result["by"]["split"]["test"]["runs"] == 12


def test_first_k_trials_follow_trial_numbers_not_row_order():
    # c passes only trial 1: pass^1 (indicator) counts trial 0, which failed.
    shuffled = aggregate(rows({"c": [False, True]}, shuffle=1), TASKS)["overall"]
    assert by_k(shuffled)[1]["pass_hat_k_indicator"] == 0
    assert by_k(shuffled)[1]["pass_at_k_estimator"] == pytest.approx(0.5)


def test_tasks_with_fewer_trials_leave_larger_k():
    entries = {e["k"]: e for e in pass_k([[True], [False, True, True]])}
    assert entries[1]["tasks"] == 2
    assert entries[3]["tasks"] == 1
    assert entries[3]["pass_at_k_indicator"] == 1
    assert entries[3]["pass_hat_k_indicator"] == 0


def test_output_is_deterministic_and_sorted():
    first = aggregate(rows(OUTCOMES, shuffle=1), TASKS)
    second = aggregate(rows(OUTCOMES, shuffle=2), TASKS)
    assert json.dumps(first) == json.dumps(second)
    assert json.dumps(first) == json.dumps(first, sort_keys=True)


def test_extra_breakdowns_and_numeric_values():
    tasks = TASKS.with_columns(pl.lit(64.0).alias("noise_ratio"))
    result = aggregate(rows(OUTCOMES), tasks, by=("noise_ratio",))
    assert list(result["by"]) == ["noise_ratio"]
    assert result["by"]["noise_ratio"]["64"]["runs"] == 12


def test_no_runs_gives_no_rates():
    result = summarise([])
    assert result["runs"] == 0
    assert result["pass_rate"] is None
    assert result["pass_k"] == []


@pytest.mark.parametrize(("bad", "where"), [
    ([{"task_id": "zz", "passed": True, "score": 1, "claw_score": 1}], "'zz'"),
    ([{"task_id": "a", "passed": True, "score": 1}], "'claw_score'"),
])
def test_bad_rows_are_named(bad, where):
    with pytest.raises(ValueError, match=where):
        aggregate(bad, TASKS)


# -- properties ---------------------------------------------------------------------------

equal_trials = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=1,
                       max_size=8))
any_trials = st.lists(st.lists(st.booleans(), min_size=1, max_size=6), min_size=1,
                      max_size=8)


@given(any_trials)
def test_pass_hat_k_never_exceeds_pass_at_k(outcomes):
    for e in pass_k(outcomes):
        assert e["pass_hat_k_indicator"] <= e["pass_at_k_indicator"]
        assert e["pass_hat_k_power"] <= e["pass_at_k_estimator"] + 1e-12
        assert e["pass_hat_k_unbiased"] <= e["pass_hat_k_power"] + 1e-12


@given(equal_trials)
def test_monotone_in_k_when_every_task_has_the_same_trials(outcomes):
    entries = pass_k(outcomes)
    for low, high in itertools.pairwise(entries):
        for form in ("pass_at_k_indicator", "pass_at_k_estimator"):
            assert high[form] >= low[form] - 1e-12, form
        for form in ("pass_hat_k_indicator", "pass_hat_k_power", "pass_hat_k_unbiased"):
            assert high[form] <= low[form] + 1e-12, form


@given(equal_trials)
def test_k_one_is_the_pass_rate(outcomes):
    result = summarise(rows({f"t{i}": o for i, o in enumerate(outcomes)}))
    first = result["pass_k"][0]
    for form in ("pass_at_k_estimator", "pass_hat_k_power", "pass_hat_k_unbiased"):
        assert first[form] == pytest.approx(result["pass_rate"]), form
    assert first["pass_at_k_indicator"] == first["pass_hat_k_indicator"]
