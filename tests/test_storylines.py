"""Storylines: every shipped family runs, crosses what it declares, reaches its milestones."""

import datetime as dt
import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

from personas.library import load_personas
from scenarios.build import live
from scenarios.library import SHIPPED, load_storylines
from scenarios.noise import NoiseProfile
from scenarios.storyline_spec import EmitStep, WaitStep
from sim.check import check_world
from sim.services import TABLE_SERVICE

FAMILIES = load_storylines()
EVERYTHING = load_personas()["staff_engineer"]  # installs every service


def window_end(world, days):
    local = dt.datetime.combine(world.clock.start + dt.timedelta(days=days), dt.time())
    return local.replace(tzinfo=world.clock.tz).astimezone(dt.UTC)


def test_at_least_one_family_ships():
    assert FAMILIES


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_runs_in_a_world_of_its_min_days(family):
    spec = FAMILIES[family]
    lived = live(EVERYTHING, seed=1, days=spec.min_days, families={family: spec}, storylines=1)
    [inst] = lived.storylines.instances
    assert inst.finished
    written = [t for t, _, _, _ in inst.records]
    declared_writes = {TABLE_SERVICE[s.table] for s in spec.steps if isinstance(s, EmitStep)}
    assert {TABLE_SERVICE[t] for t in written} <= declared_writes <= set(spec.services)
    assert len({TABLE_SERVICE[t] for t in written}) >= 3
    times = [vf for _, _, vf, _ in inst.records]
    assert times == sorted(times)  # the chain moves forward in time
    assert {"need_detectable", "deadline"} & set(inst.milestones)
    world = lived.world
    assert check_world(world.tables(), world.event_log(), start=world.clock.epoch,
                       end=window_end(world, spec.min_days)) == []


def test_storyline_ids_do_not_depend_on_routine_volume():
    family = sorted(FAMILIES)[0]
    quiet = EVERYTHING.model_copy(update={"volume": EVERYTHING.volume.model_copy(
        update={"work_email": 1.0, "chat": 1.0, "feed": 0.5})})
    ids = []
    for spec in (EVERYTHING, quiet):
        lived = live(spec, seed=2, days=40, families={family: FAMILIES[family]}, storylines=2)
        ids.append([(t, r) for i in lived.storylines.instances for t, r, _, _ in i.records])
    assert ids[0] == ids[1]


def test_a_user_written_storyline_in_a_library_runs(tmp_path):
    (tmp_path / "storylines").mkdir()
    source = next((SHIPPED / "storylines").glob("*.toml")).read_text()
    first_id = source.split('"')[1]
    (tmp_path / "storylines" / "mine.toml").write_text(source.replace(first_id, "my_story", 1))
    families = load_storylines(tmp_path)
    assert "my_story" in families
    lived = live(EVERYTHING, seed=1, days=60, families={"my_story": families["my_story"]},
                 storylines=1)
    assert lived.storylines.instances[0].records


BAD = {
    "unknown step": ('do = "wait"', 'do = "teleport"', "steps[2]"),
    "unknown service": ('services = ["shopping"', 'services = ["fax", "shopping"', "services"),
    "expression outside the grammar": ('"product.price"', '"__import__(\'os\')"', "steps"),
    # in a parameter, reported as an expression (it once read as a pick missing "pick")
    "parameter outside the grammar": ('expr = "nth_carrier(carrier_n)"',
                                      'expr = "__import__(\'os\')"',
                                      "params.carrier.compute.expr: Value error"),
    "parameter of no kind": ('expr = "nth_carrier(carrier_n)"', 'exp = "carrier_n"',
                             "params.carrier: a parameter needs one of"),
    "missing field": ('description = "The user orders the product online."\n', "", "steps"),
    "unknown column": ("product_id = ", "colour = ", "steps"),
    # Text worded by a routine intent is checked when the file loads, not when an instance
    # first writes it (days=2 plants none): an unknown intent, and a misspelt slot, which
    # would otherwise quietly drop every phrasing that uses the real one.
    "unknown text intent": ('intent = "shipping_update"', 'intent = "shiping_update"',
                            "steps[6].text.subject.intent: no text intent"),
    "misspelt slot": ('tracking = "{prefix}{tracking_n}", date', 'trackng = "{prefix}", date',
                      "steps[6].text.subject.slots: text intent 'shipping_update' has no "
                      "slot <trackng>"),
}


@pytest.mark.parametrize("case", BAD)
def test_malformed_storylines_are_refused_naming_file_and_key(case, tmp_path):
    old, new, key = BAD[case]
    source = (SHIPPED / "storylines" / "refund_not_posted.toml").read_text()
    assert old in source
    (tmp_path / "storylines").mkdir()
    path = tmp_path / "storylines" / "bad.toml"
    path.write_text(source.replace("refund_not_posted", "bad_one", 1).replace(old, new, 1))
    r = subprocess.run([sys.executable, "-m", "exporters.cli", "world", "--library",
                        str(tmp_path), "--days", "2", "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: {path}:{key}"), line
    assert not (tmp_path / "out").exists()


CONFLICTED = sorted(f for f, spec in FAMILIES.items()
                    if any(getattr(s, "conflict", None) for s in spec.steps))


def test_some_families_declare_each_kind_of_conflict():
    operators = {s.conflict.operator for f in CONFLICTED for s in FAMILIES[f].steps
                 if getattr(s, "conflict", None)}
    assert {"superseded", "unofficial", "not_propagated", "reversed"} <= operators


ALWAYS_CONFLICTED = NoiseProfile(id="always", description="every optional conflict taken",
                                 storylines_per_30_days=0, conflict_rate=1.0)


@pytest.mark.parametrize("family", CONFLICTED)
def test_conflicts_name_who_wins_and_the_records_on_each_side(family):
    from exporters.world_dataset import build_world

    spec = FAMILIES[family]
    tables = build_world(EVERYTHING, seed=3, days=max(spec.min_days, 30),
                         families={family: spec}, storylines=1, noise=ALWAYS_CONFLICTED)
    conflicts = tables.conflicts.to_pylist()
    assert conflicts
    for c in conflicts:
        assert c["authoritative"] not in json.loads(c["superseded"])
        assert c["why"]
        sides = [lab for lab in tables.labels.to_pylist()
                 if lab["conflict_id"] == c["conflict_id"]]
        assert {lab["role"] for lab in sides} == {"authoritative", "superseded"}
        for lab in sides:
            history = tables.history[lab["table"]]
            assert lab["record_id"] in set(history["record_id"].to_pylist())


RUNTIME = {  # data that loads but fails on a real instance: (family, old, new, step, why)
    "a misspelt field": (
        "refund_not_posted", 'total_minor = "product.price"', 'total_minor = "product.prise"',
        "order", "product has no field 'prise'"),
    "calendar days added to an instant": (
        "meeting_moved_twice", "at(business_days(sync_day, 1), clock_of(sync.start))",
        "sync.start + (business_days(sync_day, 1) - sync_day)", "sync_moved",
        "the days between two dates count calendar days, not 24-hour ones: move an instant "
        "to another day with at(day, clock_of(instant))"),
}


@pytest.mark.parametrize("case", RUNTIME)
def test_a_storyline_that_fails_while_running_names_its_file_and_step(case, tmp_path):
    family, old, new, step, why = RUNTIME[case]
    source = (SHIPPED / "storylines" / f"{family}.toml").read_text()
    assert old in source
    (tmp_path / "storylines").mkdir()
    path = tmp_path / "storylines" / "broken.toml"
    path.write_text(source.replace(family, "broken_story", 1).replace(old, new))
    r = subprocess.run([sys.executable, "-m", "exporters.cli", "world", "--library",
                        str(tmp_path), "--persona", "staff_engineer", "--days", "40",
                        "--storylines", "20", "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1] == f"error: {path}:steps.{step}: {why}"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("old", "new", "why"), [
    ('at = "business_days(promise.at, promised_days)"', 'at = "business_days(("',
     "not an expression"),
    ('at = "business_days(promise.at, promised_days)"', 'at = "refund_date"', "not defined"),
    ('start = [0.05, 0.5]', 'start = [0.9, 5.0]', "start must be"),
    ('[params.order_no]', '[params.user]', "shadows a built-in name"),
    # parameters are bound in the order written: one may read only those above it
    ('expr = "tracking_prefix(carrier)"', 'expr = "tracking_n"', "not defined by then"),
    # a name nothing binds (a typo) is caught in a parameter as in a step
    ('expr = "nth_carrier(carrier_n)"', 'expr = "nth_carrier(carrier_no)"',
     "not defined by then"),
    ('pick = "product"', 'pick = "product"\nautopay = false', "apply to bill picks only"),
])
def test_load_time_checks_catch_what_would_fail_mid_run(old, new, why, tmp_path):
    from personas.errors import SpecError
    from scenarios.library import load_storyline

    source = (SHIPPED / "storylines" / "refund_not_posted.toml").read_text()
    assert old in source
    path = tmp_path / "s.toml"
    path.write_text(source.replace(old, new, 1))
    with pytest.raises(SpecError, match=why):
        load_storyline(path)


@pytest.mark.parametrize(("family", "below", "why"), [
    ("refund_not_posted", "nosuch_amount", "not defined by then"),
    ("medical_appointment_sms", "100", r"steps write to \['bank'\]"),
])
def test_a_balance_below_needs_a_bound_amount_and_the_bank(family, below, why, tmp_path):
    from personas.errors import SpecError
    from scenarios.library import load_storyline

    source = (SHIPPED / "storylines" / f"{family}.toml").read_text()
    path = tmp_path / "s.toml"
    path.write_text(source.replace('do = "emit"', f'do = "emit"\nbalance_below = "{below}"', 1))
    with pytest.raises(SpecError, match=why):
        load_storyline(path)


def test_instances_and_their_milestones_are_exported_in_order():
    from exporters.world_dataset import build_world

    tables = build_world(EVERYTHING, seed=2, days=60, families=FAMILIES, storylines=8)
    rows = tables.instances.to_pylist()
    assert len(rows) == sum(tables.storylines.values())
    for row in rows:
        assert row["family"] in FAMILIES
        if row["need_detectable"] and row["deadline"]:
            assert row["started_at"] <= row["need_detectable"] <= row["deadline"]
        if row["resolved"]:
            assert row["need_detectable"] is None or row["need_detectable"] <= row["resolved"]


MONEY_FAMILIES = sorted(f for f, spec in FAMILIES.items() if "bank" in spec.services)


@pytest.mark.slow
@pytest.mark.parametrize("family", MONEY_FAMILIES)
def test_money_families_keep_the_bank_consistent_over_many_seeds(family):
    spec = FAMILIES[family]
    for seed in range(40):
        lived = live(EVERYTHING, seed=seed, days=spec.min_days, families={family: spec},
                     storylines=1)
        world = lived.world
        problems = check_world(lived.tables(), lived.event_log(), start=world.clock.epoch,
                               end=window_end(world, spec.min_days))
        assert problems == [], (seed, problems[:3])


def test_awake_draws_keep_the_hours_routine_life_keeps():
    import numpy as np
    from pydantic import ValidationError

    from scenarios.storyline_params import DrawSpec
    from scenarios.values import draw

    spec = DrawSpec(uniform=(0, 46800), hours="awake")  # 09:00 to 22:00
    rng = np.random.default_rng(0)
    hours = np.array([9 + draw(spec, rng) // 3600 for _ in range(4000)])
    assert hours.min() >= 9
    assert hours.max() <= 22
    # Evenings are busier than mid-afternoon in routine life (DAY_PROFILE): 7.0 vs 3.8.
    evening = int(((hours >= 19) & (hours <= 21)).sum())
    afternoon = int(((hours >= 14) & (hours <= 16)).sum())
    assert evening > 1.4 * afternoon
    with pytest.raises(ValidationError):
        DrawSpec(uniform=(0, 60000), hours="awake")  # past midnight


def test_work_hours_waits_put_a_colleagues_mail_in_the_users_shift():
    """A night nurse's colleague mails during her shift, as routine work mail does
    (``hours = "work"``), not at ten in the morning while she sleeps. (On a day without a
    shift it comes in her waking hours, which after a night are the night's.)"""
    nurse = load_personas()["shift_nurse"]
    at_work = [f for f in FAMILIES.values()
               if any(isinstance(s, WaitStep) and s.hours == "work" for s in f.steps)]
    on_shift = 0
    for family, seed in itertools.product(at_work, range(3)):
        lived = live(nurse, seed=seed, days=family.min_days, families={family.id: family},
                     storylines=1)
        if family.id in lived.skipped:  # a service she lacks (chat)
            continue
        [inst] = lived.storylines.instances
        clock, life = lived.world.clock, lived.life
        ids, kinds = lived.world.log.columns("entity_id", "kind")
        received = {e for e, k in zip(ids.tolist(), kinds.tolist(), strict=True)
                    if k in ("email_received", "chat_message_received")}
        for table, rid, t, _ in inst.records:
            if table not in ("work_emails", "chat_messages") or rid not in received:
                continue
            if any(a <= t < b for a, b in life.work):
                on_shift += 1
            else:  # only on a day she has no shift
                day = int(clock.local_day(np.array([t]))[0])
                assert day not in life.work_by_day, (family.id, seed, table, t)
    assert on_shift >= 5  # the check above really ran on shift days


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_the_bill_story_takes_over_one_of_the_users_own_bills(seed):
    """The story's biller is a bill the persona pays by hand, not a stranger: the bank
    keeps one entry for it, which the story updates; for that one billing cycle routine
    life neither pays the bill nor has the biller write, every other month it does, and
    no version of the entry names a due date already past. Only the story's own versions
    of the entry are signal."""
    import polars as pl

    spec = FAMILIES["bill_before_salary"]
    lived = live(EVERYTHING, seed=seed, days=130, families={spec.id: spec}, storylines=1)
    [inst] = lived.storylines.instances
    biller, entry = inst.names["biller"], inst.names["bill"]["id"]
    [bill] = [b for b in EVERYTHING.money.bills if b.payee == biller]
    assert not bill.autopay
    [(key, [(lo, hi)])] = lived.life.state["lock_windows"].items()
    assert key[0] == "bill"
    tables = {k: pl.from_arrow(v) for k, v in lived.tables().items()}
    versions = tables["bank_recurring"].filter(pl.col("payee") == biller)
    assert set(versions["record_id"]) == {entry}
    clock = lived.world.clock
    local = versions["valid_from"].dt.convert_time_zone(str(clock.tz)).dt.date()
    assert (versions["next_due"] >= local).all(), versions
    written = {rid for _, rid, _, _ in inst.records}
    assert ("bank_recurring", entry) in {(t, r) for t, r, _, _ in inst.records}

    def at(seconds):
        return clock.epoch + dt.timedelta(seconds=seconds)

    def routine(frame, who, when):
        return frame.filter((pl.col(who) == biller) & ~pl.col("record_id").is_in(written))

    paid = routine(tables["bank_transactions"], "merchant", "posted_at")
    assert paid.filter(pl.col("posted_at").is_between(at(lo), at(hi), closed="left")).is_empty()
    last_paid = paid["posted_at"].max()
    if last_paid + dt.timedelta(hours=8) < at(clock.end_seconds):  # the bank has caught up
        final = versions.sort("valid_from").row(-1, named=True)
        assert final["next_due"] > last_paid.astimezone(clock.tz).date(), final
    story_due = inst.names["due"]
    for day in range(lived.world.days - 3):  # a payment for every other due date
        date = clock.start + dt.timedelta(days=day)
        if date.day == bill.day_of_month and date != story_due:
            window = paid["posted_at"].dt.convert_time_zone(str(clock.tz)).dt.date()
            assert window.is_between(date, date + dt.timedelta(days=3)).sum() == 1, date
    for name, who in (("sms_messages", "contact_name"), ("personal_emails", "from_name")):
        mine = routine(tables[name], who, "valid_from")
        assert mine.filter(pl.col("valid_from").is_between(at(lo), at(hi), closed="left")
                           ).is_empty(), name
    assert not routine(tables["sms_messages"], "contact_name", "valid_from").is_empty()
    log = pl.from_arrow(lived.world.event_log()).filter(pl.col("entity_id") == entry)
    signal = lived.storylines.signal_events()
    story_versions = sum(1 for t, r, _, _ in inst.records if r == entry)
    assert log["event_id"].is_in(list(signal)).sum() == story_versions < log.height


@pytest.mark.parametrize("persona", ["cafe_owner", "retiree"])
def test_an_organisation_texts_from_one_short_code(persona):
    """A storyline's biller, taxi firm, office or bank alert texts from the number that
    organisation's routine texts come from (``short_code``), not one of its own: one name,
    one short code, and one short code, one name."""
    import polars as pl

    lived = live(load_personas()[persona], seed=4, days=100, families=FAMILIES,
                 storylines=20)
    sms = pl.from_arrow(lived.tables()["sms_messages"])
    orgs = sms.filter(pl.col("phone_number").str.contains(r"^\d{5}$"))
    written = {r for i in lived.storylines.instances for t, r, _, _ in i.records
               if t == "sms_messages"}
    assert orgs.filter(pl.col("record_id").is_in(written)).height > 0  # stories text too
    for key, other in (("contact_name", "phone_number"), ("phone_number", "contact_name")):
        many = orgs.group_by(key).agg(pl.col(other).n_unique().alias("n")).filter(
            pl.col("n") > 1)
        assert many.is_empty(), many


def test_a_bill_story_for_someone_without_such_a_bill_is_skipped_and_counted():
    spec = FAMILIES["bill_before_salary"]
    money = EVERYTHING.money
    on_autopay = EVERYTHING.model_copy(update={"money": money.model_copy(update={"bills": [
        b.model_copy(update={"autopay": True}) for b in money.bills]})})
    lived = live(on_autopay, seed=3, days=60, families={spec.id: spec}, storylines=2)
    assert lived.skipped == [spec.id]
    assert lived.storylines.instances == []
    lived = live(EVERYTHING, seed=3, days=60, families={spec.id: spec}, storylines=2)
    assert lived.skipped == []


def test_instances_that_find_nothing_to_pick_are_counted_not_lost():
    """The staff engineer pays one bill by hand: a second bill story in the same world has
    nothing left to take over, does not happen, and is counted as aborted."""
    from exporters.world_dataset import build_world

    spec = FAMILIES["bill_before_salary"]
    tables = build_world(EVERYTHING, seed=2, days=100, families={spec.id: spec},
                         storylines=3)
    assert tables.storylines == {spec.id: 1}
    assert tables.aborted == {spec.id: 2}
    assert tables.instances.num_rows == 1


def test_a_storylines_carrier_airline_and_trip_are_ones_routine_life_knows():
    """A story's parcels, flights and their mail name a carrier, an airline and cities that
    routine life uses, numbered and addressed as routine life does them: one tracking prefix
    per carrier and one mail sender per organisation, story or not, and every story trip is
    between home and one of the country's cities routine trips go to."""
    import polars as pl

    from personas.pools import word_pools
    from personas.routines.travel import domestic

    families = {k: FAMILIES[k] for k in ("delivery_while_travelling", "flight_delay_meeting",
                                         "duplicate_charge", "refund_not_posted")}
    lived = live(EVERYTHING, seed=4, days=100, families=families, storylines=12)
    tables = {k: pl.from_arrow(v) for k, v in lived.tables().items()}
    written = [r for i in lived.storylines.instances for _, r, _, _ in i.records]
    words = word_pools()
    ships = tables["shipments"]
    story_ships = ships.filter(pl.col("record_id").is_in(written))
    assert story_ships.height > 0
    assert set(story_ships["carrier"]) <= set(words["carriers"])
    prefixes = ships.group_by("carrier").agg(
        pl.col("tracking_number").str.slice(0, 2).n_unique().alias("n"))
    assert (prefixes["n"] == 1).all(), prefixes
    orgs = tables["personal_emails"].filter(
        pl.col("from_name").is_in(words["carriers"] + words["airlines"]))
    assert orgs.filter(pl.col("record_id").is_in(written)).height > 0  # stories mail too
    senders = orgs.group_by("from_name").agg(pl.col("from_address").n_unique().alias("n"))
    assert (senders["n"] == 1).all(), senders
    trips = tables["travel_bookings"].filter(pl.col("record_id").is_in(written))
    places = set(trips["origin"]) | set(trips["destination"])
    home_country = {c for c, _ in domestic(EVERYTHING.money.currency)}
    assert home_country  # stories travel in the country: its cities must be listed
    known = home_country | {lived.life.person.city, ""}
    assert trips.height > 0
    assert places <= known, places - known
