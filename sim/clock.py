"""The one place where simulated time meets wall-clock time.

Inside the simulation time is an integer number of seconds since the world's epoch (local
midnight of the start date, as a UTC instant). Everything that leaves ``sim/`` is a
timezone-aware UTC instant or a plain local date. Zone data always comes from the pinned
``tzdata`` package, never from the operating system, so two machines agree.

Local wall-clock times are mapped to instants with PEP 495 ``fold=0``: a nonexistent local
time (inside a spring-forward gap) shifts forward by the gap, an ambiguous one (inside a
fall-back overlap) takes its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import numpy as np

UTC = dt.UTC
DAY = 86_400
HOUR = 3_600
MINUTE = 60
# Offsets are tabulated on a 15-minute grid: every real-world transition falls on one.
_GRID = 900
_PER_DAY = DAY // _GRID


class UnknownTimezoneError(ValueError):
    """The IANA key is not in the pinned tzdata package."""


@cache
def zone(key: str) -> ZoneInfo:
    """The IANA zone ``key`` read from the pinned ``tzdata`` package."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") for p in parts):
        raise UnknownTimezoneError(f"not an IANA timezone: {key!r}")
    node = resources.files("tzdata.zoneinfo").joinpath(*parts)
    if not node.is_file():
        raise UnknownTimezoneError(f"not an IANA timezone: {key!r}")
    with node.open("rb") as fh:
        return ZoneInfo.from_file(fh, key=key)


class Clock:
    """Converts between simulation seconds, UTC instants and persona-local calendars.

    Vectorised conversions use offset tables precomputed once per world, so converting
    a million timestamps costs a numpy gather, not a million ``zoneinfo`` calls.
    """

    def __init__(self, tz: str, start: dt.date, days: int) -> None:
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        self.tz = zone(tz)
        self.tz_name = tz
        self.start = start
        self.days = days
        self.epoch = local_to_utc(dt.datetime.combine(start, dt.time()), self.tz)
        # Tables cover one extra day on each side so follow-ups slightly past the
        # window still convert.
        epoch_local = dt.datetime.combine(start, dt.time()) - dt.timedelta(days=1)
        self._local_base = -DAY
        self._local_to_utc_offset = _offset_table(
            lambda i: _offset(epoch_local + dt.timedelta(seconds=i * _GRID), self.tz),
            days + 2)
        epoch_utc = self.epoch - dt.timedelta(days=1)
        self._utc_to_local_offset = _offset_table(
            lambda i: int((epoch_utc + dt.timedelta(seconds=i * _GRID)).astimezone(self.tz)
                          .utcoffset().total_seconds()),
            days + 2)
        self._naive_shift = int(self.epoch.astimezone(self.tz).utcoffset().total_seconds())
        self.end_seconds = int(self._local_naive_to_sim(np.int64(days * DAY)))

    # -- scalar conversions -------------------------------------------------------------

    def instant(self, seconds: int) -> dt.datetime:
        """The UTC instant of simulation time ``seconds``."""
        return self.epoch + dt.timedelta(seconds=int(seconds))

    def seconds(self, instant: dt.datetime) -> int:
        """Simulation seconds of an aware instant."""
        if instant.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware instant")
        return int((instant - self.epoch).total_seconds())

    def local(self, seconds: int) -> dt.datetime:
        """The persona-local wall-clock time of simulation time ``seconds``."""
        return self.instant(seconds).astimezone(self.tz)

    def at_local(self, day: int, hour: int, minute: int = 0) -> int:
        """Simulation seconds of local ``hour:minute`` on day ``day`` of the window."""
        return int(self.local_to_sim(np.array([day * DAY + hour * HOUR + minute * MINUTE]))[0])

    def date(self, day: int) -> dt.date:
        """The local calendar date of day ``day`` of the window."""
        return self.start + dt.timedelta(days=int(day))

    # -- vectorised conversions ---------------------------------------------------------

    def local_to_sim(self, local_seconds: np.ndarray) -> np.ndarray:
        """Map local wall-clock seconds since local midnight of the start date to sim seconds."""
        return self._local_naive_to_sim(np.asarray(local_seconds, dtype=np.int64))

    def sim_to_local(self, seconds: np.ndarray) -> np.ndarray:
        """Local wall-clock seconds (since local midnight of the start date) of sim seconds."""
        seconds = np.asarray(seconds, dtype=np.int64)
        idx = np.clip((seconds + DAY) // _GRID, 0, len(self._utc_to_local_offset) - 1)
        return seconds + self._utc_to_local_offset[idx] - self._naive_shift

    def local_hour(self, seconds: np.ndarray) -> np.ndarray:
        """Local hour of day (0-23) of sim seconds."""
        return (self.sim_to_local(seconds) % DAY) // HOUR

    def local_day(self, seconds: np.ndarray) -> np.ndarray:
        """Local day index within the window (0 = start date) of sim seconds."""
        return self.sim_to_local(seconds) // DAY

    def local_weekday(self, seconds: np.ndarray) -> np.ndarray:
        """Local weekday (Monday = 0) of sim seconds."""
        return (self.local_day(seconds) + self.start.weekday()) % 7

    def _local_naive_to_sim(self, local_seconds):
        idx = np.clip((np.asarray(local_seconds) - self._local_base) // _GRID, 0,
                      len(self._local_to_utc_offset) - 1)
        utc_from_local_epoch = local_seconds - self._local_to_utc_offset[idx]
        return utc_from_local_epoch + self._naive_shift

    def to_arrow_us(self, seconds: np.ndarray) -> np.ndarray:
        """Sim seconds as microseconds since the Unix epoch (Arrow ``timestamp[us, UTC]``)."""
        base = int(self.epoch.timestamp()) * 1_000_000
        return base + np.asarray(seconds, dtype=np.int64) * 1_000_000


_DAY_ZERO = dt.date(1970, 1, 1)  # day 0 of Arrow's date32


def day_number(date: dt.date) -> int:
    """Days since 1970-01-01: how Arrow's ``date32`` stores a local calendar date."""
    return (date - _DAY_ZERO).days


def day_date(number: int) -> dt.date:
    """The calendar date a ``date32`` value stores (the inverse of :func:`day_number`)."""
    return _DAY_ZERO + dt.timedelta(days=int(number))


def local_to_utc(naive: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A local wall-clock time as a UTC instant (gaps shift forward, overlaps take the first)."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _offset_table(offset_at: Callable[[int], int], days: int) -> np.ndarray:
    """Offsets for every grid cell of ``days`` days, asking the zone only near changes.

    Offsets change at most a few times a year, so the zone is asked once a day and, only on
    days whose offset differs from the next day's, once per cell of that day.
    """
    daily = np.array([offset_at(d * _PER_DAY) for d in range(days + 1)], dtype=np.int64)
    table = np.repeat(daily[:-1], _PER_DAY)
    for d in np.flatnonzero(daily[1:] != daily[:-1]).tolist():
        cells = range(d * _PER_DAY, (d + 1) * _PER_DAY)
        table[d * _PER_DAY : (d + 1) * _PER_DAY] = [offset_at(i) for i in cells]
    return table


def _offset(naive: dt.datetime, tz: ZoneInfo) -> int:
    return int(naive.replace(tzinfo=tz, fold=0).utcoffset().total_seconds())
