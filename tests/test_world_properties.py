"""Properties of generated worlds, over seeds and personas (short worlds; 100 days is slow)."""

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from personas.build import simulate
from personas.spec import default_start
from sim.check import check_world
from tests.conftest import DEFAULT_PERSONA, PERSONA_IDS, PERSONAS, world


def _window_of(persona: str, days: int):
    w, _ = simulate(PERSONAS[persona], seed=0, days=1)
    start = w.clock.epoch
    local_end = dt.datetime.combine(default_start() + dt.timedelta(days=days), dt.time())
    end = local_end.replace(tzinfo=w.clock.tz).astimezone(dt.UTC)
    return start, end


@given(persona=st.sampled_from(PERSONA_IDS), seed=st.integers(0, 2**31), days=st.integers(7, 14))
def test_generated_worlds_pass_check_world(persona, seed, days):
    tables = world(persona, seed, days)
    start, end = _window_of(persona, days)
    assert check_world(tables.history, tables.events, start=start, end=end) == []


def test_check_world_can_fail():
    tables = world(DEFAULT_PERSONA, 0, 7)
    start, _end = _window_of(DEFAULT_PERSONA, 7)
    history = dict(tables.history)
    mails = history["personal_emails"]
    broken = pa.array(["pm_doesnotexist"] * mails.num_rows, pa.string())
    history["personal_emails"] = mails.set_column(
        mails.schema.get_field_index("in_reply_to"), "in_reply_to", broken)
    problems = check_world(history, tables.events, start=start, end=start)
    assert any("in_reply_to" in p for p in problems)
    assert any("outside the window" in p for p in problems)


def _user_work_mail(tables):
    mail = tables.history["work_emails"]
    return mail.filter(pc.equal(mail["folder"], "sent"))


@pytest.mark.parametrize("persona", [p for p in PERSONA_IDS
                                     if "work_email" in PERSONAS[p].services])
def test_user_sends_work_mail_inside_work_hours(persona):
    spec = PERSONAS[persona]
    w, life = simulate(spec, seed=3, days=21)
    sent = _user_work_mail(type("T", (), {"history": w.tables()}))
    ts = life.world.clock.seconds  # noqa: F841 - keeps the intent explicit
    secs = ((sent["sent_at"].cast(pa.int64()).to_numpy() // 1_000_000)
            - int(life.world.clock.epoch.timestamp()))
    if not len(secs):
        pytest.skip(f"{persona} sent no work mail in 21 days")
    outside = ~life.is_working(secs)
    allowed = max(0.08, 3 * spec.work.mail_outside_hours)
    assert outside.mean() <= allowed, (persona, outside.mean())


def test_work_mail_on_public_holidays_is_rare():
    """User-sent work mail on a public holiday is at most 20% of a normal weekday's."""
    checked = 0
    for persona in PERSONA_IDS:
        spec = PERSONAS[persona]
        if "work_email" not in spec.services or spec.work.works_public_holidays:
            continue
        w, life = simulate(spec, seed=5, days=60)
        hol = np.flatnonzero(life.holidays & np.array(
            [w.clock.date(d).weekday() < 5 for d in range(60)]))
        if not len(hol):
            continue
        sent = w.tables()["work_emails"]
        sent = sent.filter(pc.equal(sent["folder"], "sent"))
        secs = (sent["sent_at"].cast(pa.int64()).to_numpy() // 1_000_000
                - int(w.clock.epoch.timestamp()))
        day = w.clock.local_day(secs)
        # A shift that starts the evening before runs into the holiday: that mail belongs to
        # the working day, so holiday counts are of mail sent outside any work block.
        on_holiday = np.isin(day, hol) & ~life.is_working(secs)
        per_day = np.bincount(day[(day >= 0) & (day < 60) & (on_holiday | ~np.isin(day, hol))],
                              minlength=60)
        normal = [d for d in range(60) if life.workdays[d] and not life.holidays[d]
                  and w.clock.date(d).weekday() < 5]
        assert per_day[hol].mean() <= 0.2 * per_day[normal].mean(), persona
        checked += 1
    assert checked >= 3


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONA_IDS)
def test_hundred_day_worlds_pass_check_world(persona):
    tables = world(persona, 0, 100)
    start, end = _window_of(persona, 100)
    assert check_world(tables.history, tables.events, start=start, end=end) == []
