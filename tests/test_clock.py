import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.clock import DAY, Clock, UnknownTimezoneError, zone

ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Dublin",
         "Australia/Melbourne", "Australia/Lord_Howe", "Pacific/Auckland", "Asia/Kolkata",
         "America/Edmonton"]


def scalar_local_to_sim(clock: Clock, local_seconds: int) -> int:
    naive = dt.datetime.combine(clock.start, dt.time()) + dt.timedelta(seconds=local_seconds)
    instant = naive.replace(tzinfo=clock.tz, fold=0).astimezone(dt.UTC)
    return int((instant - clock.epoch).total_seconds())


@given(tz=st.sampled_from(ZONES),
       local=st.lists(st.integers(0, 120 * DAY - 1), min_size=1, max_size=50))
def test_vectorised_conversion_matches_zoneinfo(tz, local):
    clock = Clock(tz, dt.date(2026, 1, 5), 120)
    sim = clock.local_to_sim(np.array(local))
    assert sim.tolist() == [scalar_local_to_sim(clock, x) for x in local]
    back = clock.sim_to_local(sim)
    for s, b in zip(sim.tolist(), back.tolist(), strict=True):
        wall = clock.instant(s).astimezone(clock.tz).replace(tzinfo=None)
        expect = wall - dt.datetime.combine(clock.start, dt.time())
        assert b == int(expect.total_seconds())


def test_spring_forward_gap_shifts_forward_and_overlap_takes_first():
    clock = Clock("America/New_York", dt.date(2026, 1, 5), 320)
    gap_day = (dt.date(2026, 3, 8) - clock.start).days
    assert clock.local(clock.at_local(gap_day, 2, 30)).strftime("%H:%M %Z") == "03:30 EDT"
    back_day = (dt.date(2026, 11, 1) - clock.start).days
    first = clock.local(clock.at_local(back_day, 1, 30))
    assert first.strftime("%H:%M %Z") == "01:30 EDT"  # the first of the two 01:30s


def test_instants_are_utc_aware_and_epoch_is_local_midnight():
    clock = Clock("Australia/Melbourne", dt.date(2026, 1, 5), 10)
    assert clock.instant(0).tzinfo is dt.UTC
    assert clock.local(0).hour == 0
    assert clock.local(0).date() == dt.date(2026, 1, 5)


def test_zone_data_comes_from_tzdata_and_bad_keys_are_refused():
    assert zone("Europe/London").key == "Europe/London"
    for bad in ("Mars/Olympus", "../etc/passwd", ""):
        with pytest.raises(UnknownTimezoneError):
            zone(bad)
