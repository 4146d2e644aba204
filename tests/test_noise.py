"""The noise-to-signal knob: nested subsets, fixed signal, ratios that follow the target."""

import datetime as dt
import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from personas.build import prepare
from personas.library import load_personas
from personas.routines.ledger import rebalance
from scenarios.build import live
from scenarios.engine import Storylines
from scenarios.library import load_storylines
from scenarios.noise import (
    MAX_BOOST,
    SERVICE_RATES,
    TOP_UP_CEILINGS,
    expansion,
    load_profiles,
    reexpansion,
    thin,
)
from sim.check import check_world
from sim.measure import word_counts, words_by_service
from sim.services.bank import FROM_SAVINGS, TO_SAVINGS

RATIOS = [1, 4, 16, 64]


@pytest.fixture(scope="module")
def lived():
    return live(load_personas()["staff_engineer"], seed=5, days=60,
                families=load_storylines(), storylines=8)


def signal_events(lw) -> set[str]:
    ids, entities, tables = lw.world.log.columns("event_id", "entity_id", "table")
    written = {(t, r) for inst in lw.storylines.instances for t, r, _, _ in inst.records}
    return {i for i, e, t in zip(ids, entities, tables, strict=True) if (t, e) in written}


@pytest.fixture(scope="module")
def thinnings(lived):
    signal = signal_events(lived)
    return {r: thin(lived.world, signal, target=r, aim=max(RATIOS)) for r in RATIOS}


def test_a_lower_ratio_world_is_a_subset_of_a_higher_one(thinnings):
    for low, high in itertools.pairwise(RATIOS):
        assert set(thinnings[low].keep_events) <= set(thinnings[high].keep_events)


def test_signal_records_are_identical_at_every_ratio(lived, thinnings):
    signal = signal_events(lived)
    for th in thinnings.values():
        assert signal <= set(th.keep_events)
    storyline_tables = {t for inst in lived.storylines.instances for t, _, _, _ in inst.records}
    views = []
    for r in RATIOS:
        tables = lived.world.tables(thinnings[r].keep_events)
        ids = {(t, rid) for inst in lived.storylines.instances for t, rid, _, _ in inst.records}
        rows = set()
        for t in storyline_tables:
            for row in tables[t].to_pylist():
                if (t, row["record_id"]) in ids and t != "bank_transactions":
                    rows.add((t, tuple(sorted((k, str(v)) for k, v in row.items()))))
        views.append(rows)
    assert all(v == views[0] for v in views)


def test_achieved_ratio_rises_with_the_target(thinnings):
    achieved = [thinnings[r].achieved_words for r in RATIOS]
    assert achieved == sorted(achieved)
    assert achieved[0] < achieved[-1]


def test_thinned_worlds_stay_consistent(lived, thinnings):
    world = lived.world
    local_end = dt.datetime.combine(world.clock.start + dt.timedelta(days=60), dt.time())
    end = local_end.replace(tzinfo=world.clock.tz).astimezone(dt.UTC)
    for th in thinnings.values():
        history = rebalance(world.tables(th.keep_events))
        assert check_world(history, world.event_log(th.keep_events),
                           start=world.clock.epoch, end=end) == []


def test_reexpansion_raises_only_the_rates_of_services_short_of_the_target(lived):
    signal = signal_events(lived)
    assert reexpansion(lived.world, signal, {"sms": 2.0}, target=0.01) == {"sms": 2.0}
    raised = reexpansion(lived.world, signal, {"sms": 2.0}, target=1e6)
    assert raised["sms"] > 2.0
    assert set(raised) <= {r for rates in SERVICE_RATES.values() for r in rates}
    capped = {r: TOP_UP_CEILINGS.get(r, MAX_BOOST) for r in raised}
    assert reexpansion(lived.world, signal, capped, target=1e6) == capped


def test_a_top_up_adds_words_where_a_multiplier_would_multiply(lived):
    """Short of words by the same amount, a service gets the same words a day from a top-up
    however much routine life it had, and a second round adds to the first."""
    signal = signal_events(lived)
    low = expansion(lived.world, signal, target=20)
    high = expansion(lived.world, signal, target=40)
    ups = [r for r in TOP_UP_CEILINGS if r in low and high[r] < TOP_UP_CEILINGS[r]]
    assert ups
    # Twice the target asks twice the goal less the routine words already there: more than
    # twice the words a day wherever there were some (a multiplier would be exactly twice).
    assert all(high[r] >= 2 * low[r] for r in ups)
    assert any(high[r] > 2 * low[r] for r in ups)
    raised = reexpansion(lived.world, signal, dict.fromkeys(ups, 5.0), target=40)
    for r in ups:
        assert raised[r] == round(5.0 + high[r], 3) != round(5.0 * high[r], 3)


def test_a_top_up_yields_the_words_it_asks_for(lived):
    """Each routine turns words a day into alerts, views or parcels by their usual length:
    the same world lived with the top-ups holds about as many more words as they ask for."""
    signal = signal_events(lived)
    boost = {r: b for r, b in expansion(lived.world, signal, target=40).items()
             if r in TOP_UP_CEILINGS}
    assert {"browsing_words", "parcel_words"} <= set(boost)

    def routine_words(boost):
        world, life = prepare(load_personas()["staff_engineer"], seed=5, days=60, boost=boost)
        runner = Storylines(life)
        runner.plant(runner.eligible(load_storylines().values())[0], 8)
        world.run()
        return words_by_service(world.tables())

    before, after = routine_words({}), routine_words(boost)
    service = {rate: s for s, rates in SERVICE_RATES.items() for rate in rates}
    for rate, words_a_day in boost.items():
        added = after[service[rate]] - before.get(service[rate], 0)
        # within what a service may miss its ratio by: items vary in length and number
        assert 0.75 <= added / (words_a_day * 60) <= 1.25, (rate, added, words_a_day * 60)


def test_every_name_noise_boosts_is_one_a_routine_reads():
    """Noise names rates and top-ups as strings; a name no routine reads would boost
    nothing, so ``prepare`` refuses it, and every name noise uses is one it accepts."""
    from personas.life import BOOSTED_RATES, TOP_UPS

    assert set(TOP_UP_CEILINGS) == TOP_UPS  # a ceiling for each top-up, and nothing else
    named = {name for names in SERVICE_RATES.values() for name in names}
    assert named <= BOOSTED_RATES | TOP_UPS, named - (BOOSTED_RATES | TOP_UPS)
    spec = load_personas()["staff_engineer"]
    prepare(spec, seed=0, days=2, boost=dict.fromkeys(named, 2.0))
    for bad in ({"chats": 2.0}, {"weekend_factor": 2.0}, {"parcel_word": 10.0},
                {"chat": -1.0}, {"browsing_words": float("nan")}):
        with pytest.raises(ValueError, match="boost: "):
            prepare(spec, seed=0, days=2, boost=bad)


def test_drafts_about_storyline_records_do_not_grow_with_the_drafts_boost():
    # What a storyline causes is never thinned: boosted drafts there would only raise the
    # floor below which device activity cannot meet a target (the cafe owner's sat at
    # 1.41 over a target of 1 before 0.19.0).
    world, life = prepare(load_personas()["staff_engineer"], seed=3, days=60,
                          boost={"drafts": 20.0})
    runner = Storylines(life)
    runner.plant(runner.eligible(load_storylines().values())[0], 8)
    world.run()
    record, event, cause = world.log.columns("entity_id", "event_id", "cause_event_id")
    story = life.state["story_events"]
    routine = {r: c for r, e, c in zip(record, event, cause, strict=True) if e not in story}
    drafted = {True: [], False: []}  # about a storyline's record -> drafted or only read
    for row in world.tables()["device_activity"].to_pylist():
        if row["record_id"] in routine and row["action"] in ("viewed", "drafted_discarded"):
            drafted[routine[row["record_id"]] in story].append(
                row["action"] == "drafted_discarded")
    assert len(drafted[True]) >= 10
    assert np.mean(drafted[False]) > 0.25  # the boost is felt in routine reading...
    assert np.mean(drafted[True]) < 0.1  # ...not in reading a storyline's records


def test_rebalancing_an_unthinned_world_changes_nothing(lived):
    tables = lived.world.tables()
    again = rebalance(tables)
    for name in ("bank_transactions", "bank_accounts"):
        assert again[name].equals(tables[name])


def test_shipped_profiles_load():
    assert "typical" in load_profiles()


def _fano_of_hourly_counts(burstiness: float) -> float:
    from personas.build import simulate

    world, _ = simulate(load_personas()["staff_engineer"], seed=11, days=56,
                        burstiness=burstiness)
    ts = world.log.columns("ts")[0].astype(int)
    ts = ts[(ts >= 0) & (ts < world.clock.end_seconds)]
    counts = np.bincount(ts // 3600, minlength=world.clock.end_seconds // 3600)
    return float(counts.var() / counts.mean())


def test_the_fano_factor_of_hourly_counts_rises_with_burstiness():
    fano = [_fano_of_hourly_counts(b) for b in (0.0, 0.5, 2.0)]
    assert fano[0] < fano[1] < fano[2], fano


def test_burstiness_keeps_the_mean_volume():
    from personas.build import simulate

    counts = []
    for b in (0.0, 1.0):
        totals = [len(simulate(load_personas()["retiree"], seed=s, days=28,
                               burstiness=b)[0].log) for s in range(3)]
        counts.append(sum(totals))
    assert abs(counts[1] - counts[0]) / counts[0] < 0.15, counts


# -- end to end through the default profile, on 100-day worlds --------------------------

TARGETS = [1, 2, 4, 8, 16, 32, 64, 100]


@pytest.fixture(scope="module")
def typical_worlds():
    spec, families = load_personas()["retiree"], load_storylines()
    noise = load_profiles()["typical"]
    return {t: live(spec, seed=3, days=100, families=families, noise=noise, ratio=t)
            for t in TARGETS}


def _words(lw) -> tuple[float, float]:
    th = lw.thinning
    signal = sum(v["signal_words"] for v in th.by_service.values())
    noise = sum(v["noise_words"] for v in th.by_service.values())
    return signal, noise


@pytest.mark.slow
def test_the_achieved_ratio_is_within_ten_percent_or_200_words_of_any_target(typical_worlds):
    for target, lw in typical_worlds.items():
        signal, noise = _words(lw)
        assert abs(noise - target * signal) <= max(0.1 * target * signal, 200), (
            target, noise / signal)


@pytest.mark.slow
def test_thinned_typical_worlds_stay_consistent(typical_worlds):
    """What a profile adds (product views, parcels from others, deals) thins like the rest:
    at every target, whatever is kept refers only to what is kept."""
    assert typical_worlds[100].tables()["shop_views"].num_rows  # the retiree's is topped up
    for target, lw in typical_worlds.items():
        clock = lw.world.clock
        local_end = dt.datetime.combine(clock.start + dt.timedelta(days=100), dt.time())
        end = local_end.replace(tzinfo=clock.tz).astimezone(dt.UTC)
        assert check_world(lw.tables(), lw.event_log(), start=clock.epoch, end=end) == [], target


@pytest.mark.slow
def test_every_target_up_to_the_profiles_thins_the_same_world(typical_worlds):
    keeps = [set(typical_worlds[t].thinning.keep_events) for t in TARGETS]
    for low, high in itertools.pairwise(keeps):
        assert low <= high
    signal = [typical_worlds[t].storylines.signal_events() for t in TARGETS]
    assert all(s == signal[0] for s in signal)


@pytest.mark.slow
@pytest.mark.parametrize("target", [1.0, 1.5, 2.0, 3.0])
def test_services_with_a_few_dozen_signal_words_meet_low_targets(target):
    # The musician's notes, calls and drafts carry 30 to 100 signal words, so at these
    # targets each may hold one to three routine records: the keep path picks them whole,
    # by size, where a keep fraction in draw order would land a record short or over
    # (as it did before 0.4.0: notes at 0.44 and work mail at 1.69 of a target of 1).
    th = live(load_personas()["indie_musician"], seed=0, days=100,
              families=load_storylines(), noise=load_profiles()["typical"],
              ratio=target).thinning
    # A service whose distractors alone come near the target cannot meet it (reported,
    # as in the retiree test below); the notes and the work mail never do here.
    checked = {s: v["ratio"] for s, v in th.by_service.items() if v["ratio"] is not None
               and th.service_floors.get(s, 0.0) * 1.25 < target}
    assert {"notes", "work_email"} <= set(checked)
    off = {s: round(r, 2) for s, r in checked.items() if abs(r - target) > 0.25 * target}
    assert not off, off


@pytest.mark.slow
def test_every_service_that_carries_signal_is_within_25_percent_of_the_target(typical_worlds):
    checked = 0
    for target, lw in typical_worlds.items():
        th = lw.thinning
        if th.service_floor * 1.25 >= target:
            continue  # a floor (words no target drops) near or over the target: reported
        for service, v in th.by_service.items():
            if v["ratio"] is not None:
                checked += 1
                assert abs(v["ratio"] - target) <= 0.25 * target, (target, service, v)
    assert checked


@pytest.mark.slow
def test_drafts_written_beside_chat_and_mail_meet_a_high_target():
    # Most of the PhD student's drafts come in cascades that also write a chat message, a
    # mail or a note, so the fit trades them against those services, and its refits can
    # swing past the best trade: before 0.22.0 the last of four refits was kept, and left
    # the drafts at 74 of a target of 100 though the third refit had met it.
    th = live(load_personas()["phd_student"], seed=0, days=100, families=load_storylines(),
              noise=load_profiles()["typical"], ratio=100.0).thinning
    drafts = th.by_service["device_activity"]
    assert drafts["signal_words"] > 0
    assert abs(drafts["ratio"] - 100.0) <= 25.0, drafts


@pytest.mark.slow
def test_a_service_whose_routine_grows_slower_than_its_rates_is_lived_again():
    # The cafe owner's calendar holds birthdays and standing series that no rate raises:
    # the measuring run promised enough meetings for a ratio of 100, the real run held
    # 70 (before 0.10.0). Lived once more with the rates raised, it meets the target.
    lw = live(load_personas()["cafe_owner"], seed=0, days=100, families=load_storylines(),
              noise=load_profiles()["typical"])
    th = lw.thinning
    assert th.by_service["calendar"]["signal_words"] > 0
    assert abs(th.by_service["calendar"]["ratio"] - th.target) <= 0.25 * th.target


@pytest.mark.slow
def test_bank_money_watches_and_the_catalogue_no_longer_set_a_floor(typical_worlds):
    # Bank series, routine watches and unreferenced listings thin as units, so the bank,
    # the price tracker and shopping can go as low as a target of 1 asks. Shopping keeps
    # the listings storylines hold (0.5 to 0.9 of its signal on retiree worlds); the bank
    # and the price tracker keep almost nothing of their own. What a storyline causes
    # stays: the overdraft story's transfers to and from savings (0.24.0) are the bank's
    # floor, not counted against its own.
    th = typical_worlds[1].thinning
    txns = typical_worlds[1].tables()["bank_transactions"]
    moved = pc.is_in(txns["description"], value_set=pa.array([TO_SAVINGS, FROM_SAVINGS]))
    held = int(word_counts(txns.filter(moved)["description"]).sum())
    assert held, "the world has an overdraft story whose transfers set part of the floor"
    floors = dict(th.service_floors)
    floors["bank"] -= held / th.by_service["bank"]["signal_words"]
    limits = {"bank": 0.25, "price_tracker": 0.25, "shopping": 1.0}
    for service, limit in limits.items():
        assert floors.get(service, 0.0) < limit, (service, th.service_floors)
    kept = th.keep_events
    ids, tables = typical_worlds[1].world.log.columns("event_id", "table")
    recurring = {i for i, t in zip(ids.tolist(), tables.tolist(), strict=True)
                 if t == "bank_recurring"}
    assert recurring - kept, "no recurring series was thinned at target 1"


def test_listings_follow_the_records_that_refer_to_them(lived, thinnings):
    # A listing only routine cascades refer to is kept exactly when one of them is: every
    # kept order or saved item still finds its product, and a low target keeps fewer
    # listings than a high one (the catalogue no longer sets shopping's floor).
    listed = []
    for r in RATIOS:
        tables = lived.world.tables(thinnings[r].keep_events)
        products = set(tables["shop_products"].column("record_id").to_pylist())
        for name in ("shop_orders", "shop_saved_items"):
            refs = set(tables[name].column("product_id").to_pylist()) - {None}
            assert refs <= products, (r, name, sorted(refs - products)[:3])
        listed.append(len(products))
    assert listed[0] < listed[-1], listed
