"""The keep path: per-class keep fractions that meet each service's own goal and only rise."""

import itertools

import numpy as np
import pytest

from scenarios.keep_path import fit_ladder, group_cascades, walk

# Three services: 0 has cascades of its own, 1 only gets words inside cascades rooted in 0
# (a reply draft under a mail), 2 has its own. Service 1's goal can only be met if the
# cascades that reach it are kept more often than the ones that do not.
N = 3000


def _world(seed: int = 0):
    rng = np.random.default_rng(seed)
    roots, code, words = [], [], []
    for i in range(N):
        kind = i % 3
        root = len(code)
        if kind == 0:  # a mail alone
            roots += [root]
            code += [0]
            words += [rng.integers(20, 60)]
        elif kind == 1:  # a mail with a draft under it
            roots += [root, root]
            code += [0, 1]
            words += [rng.integers(20, 60), rng.integers(5, 15)]
        else:
            roots += [root]
            code += [2]
            words += [rng.integers(10, 30)]
    roots, code = np.array(roots), np.array(code)
    words = np.array(words, dtype=float)
    free = np.ones(len(code), bool)
    u = rng.random(len(code))[roots]
    sig = np.array([400.0, 20.0, 50.0])
    return group_cascades(roots, code, words, free, u, 3), sig


def _kept_per_service(cascades, fraction):
    return cascades.words[cascades.kept(fraction)].sum(axis=0)


def test_every_service_meets_its_own_ratio_even_when_its_words_come_from_elsewhere():
    cascades, sig = _world()
    fixed = np.zeros(3)
    ladder, cascades = fit_ladder(cascades, sig, fixed, np.ones(3), aim=100.0)
    for target in (10.0, 25.0, 60.0, 100.0):
        fraction = walk(ladder, cascades, target * sig.sum())
        ratio = _kept_per_service(cascades, fraction) / sig
        assert np.all(np.abs(ratio - target) <= 0.1 * target), (target, ratio)


def test_a_lower_target_keeps_a_subset_of_a_higher_one():
    cascades, sig = _world(1)
    ladder, cascades = fit_ladder(cascades, sig, np.zeros(3), np.ones(3), aim=64.0)
    assert np.all(np.diff(ladder, axis=0) >= 0)
    kept = [cascades.kept(walk(ladder, cascades, t * sig.sum())) for t in (1, 3, 9, 27, 64)]
    for low, high in itertools.pairwise(kept):
        assert np.all(high[low])


def test_the_walk_stops_at_whichever_side_of_the_budget_is_nearer():
    """No point along the ladder keeps a total nearer the budget than the walk's: it stops
    short of a step only when the step would overshoot by more."""
    cascades, sig = _world(2)
    ladder, cascades = fit_ladder(cascades, sig, np.zeros(3), np.ones(3), aim=16.0)

    def total(fraction):
        return cascades.words[cascades.kept(fraction)].sum()

    x = np.linspace(0, len(ladder) - 1, 4001)
    k = np.minimum(x.astype(int), len(ladder) - 2)
    grid = np.array([total(ladder[i] + (xi - i) * (ladder[i + 1] - ladder[i]))
                     for xi, i in zip(x, k, strict=True)])
    for budget in np.linspace(0.5, 4, 60) * sig.sum():
        kept = total(walk(ladder, cascades, budget))
        assert abs(kept - budget) <= np.abs(grid - budget).min(), (budget, kept)


def _small_services_world(seed: int):
    """One large service and three whose signal is a record or two: each has hundreds of
    routine records of its own, from a few words to several times its signal."""
    rng = np.random.default_rng(seed)
    code = np.repeat(np.arange(4), [1500, 300, 300, 300])
    words = np.where(code == 0, rng.integers(20, 80, len(code)),
                     rng.integers(5, 60, len(code))).astype(float)
    roots = np.arange(len(code))
    cascades = group_cascades(roots, code, words, np.ones(len(code), bool),
                              rng.random(len(code)), 4)
    return cascades, np.array([3000.0, 30.0, 45.0, 70.0])


@pytest.mark.parametrize("seed", range(5))
def test_services_whose_signal_is_a_record_or_two_meet_low_targets(seed):
    # At a target of 1 such a service needs one or two routine records of about the right
    # size: the next records in draw order are as likely to be twice that as right.
    cascades, sig = _small_services_world(seed)
    ladder, cascades = fit_ladder(cascades, sig, np.zeros(4), np.ones(4), aim=16.0)
    for target in (1.0, 1.5, 2.0, 3.0):
        fraction = walk(ladder, cascades, target * sig.sum())
        ratio = _kept_per_service(cascades, fraction) / sig
        assert np.all(np.abs(ratio - target) <= 0.25 * target), (target, ratio)


def _busy_service_world(seed: int):
    """Service 0 carries most of the signal and needs all of its routine life; service 1 is
    as busy (a chat full of banter) but holds one short storyline message."""
    rng = np.random.default_rng(seed)
    code = np.repeat(np.arange(2), [500, 2000])
    words = np.where(code == 0, rng.integers(20, 60, len(code)),
                     rng.integers(3, 12, len(code))).astype(float)
    roots = np.arange(len(code))
    cascades = group_cascades(roots, code, words, np.ones(len(code), bool),
                              rng.random(len(code)), 2)
    return cascades, np.array([2000.0, 14.0])


@pytest.mark.parametrize("seed", range(3))
def test_a_busy_service_with_little_signal_thins_down_to_its_own_goal(seed):
    # At a target of 10, service 1 must keep about 1% of its life while the world keeps
    # more than half of its: a floor tied to the world's share would hold it at 5%.
    cascades, sig = _busy_service_world(seed)
    ladder, cascades = fit_ladder(cascades, sig, np.zeros(2), np.ones(2), aim=10.0)
    for target in (2.0, 5.0, 10.0):
        fraction = walk(ladder, cascades, target * sig.sum())
        ratio = _kept_per_service(cascades, fraction) / sig
        assert np.all(np.abs(ratio - target) <= 0.25 * target), (target, ratio)


def test_the_fit_does_not_stop_short_where_classes_trade_words():
    """The PhD student's `typical` world at its target of 100 (seed 0): a class of
    cascades writes only notes, free to rise, yet until 0.27.0 the solver gave up after a
    second failed Newton guess and left notes at 0.70 of the target (the objective at
    -5.887 where -5.988 was reachable). Every service that carries signal is within 25%."""
    from personas.library import load_personas
    from scenarios.build import live
    from scenarios.library import load_storylines
    from scenarios.noise import load_profiles

    thinning = live(load_personas()["phd_student"], seed=0, days=100,
                    families=load_storylines(), noise=load_profiles()["typical"],
                    ratio=100).thinning
    off = {s: v["ratio"] for s, v in thinning.by_service.items()
           if v["ratio"] is not None and abs(v["ratio"] - 100) > 25}
    assert not off, off
