"""Life: what every routine needs to know about the person and their calendar.

Routines ask Life *when* things may happen (work intervals, waking hours, holidays) and how
to say them (dates, times and amounts in the persona's locale). Times are drawn as arrays,
one call per routine per day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import holidays as holidays_lib
import numpy as np

from personas.instance import PersonaInstance
from personas.pools import Pools
from personas.spec import WEEKDAYS, VolumeSpec, minutes
from personas.text.grammar import Grammar
from sim.clock import DAY, HOUR, day_number
from sim.world import World

# Records that already exist when the window opens (the address book, accounts, the
# catalogue, recurring meetings) are stamped with the window's first instant.
OPENING = 0

# Relative activity by local hour for someone who sleeps at night.
DAY_PROFILE = np.array(
    [0.2, 0.1, 0.05, 0.05, 0.05, 0.2, 0.8, 1.6, 2.0, 1.6, 1.3, 1.3,
     1.8, 1.5, 1.2, 1.2, 1.4, 1.8, 2.2, 2.4, 2.4, 2.0, 1.3, 0.6]
)
# After a night shift the day is for sleep; waking hours move to the afternoon and night.
NIGHT_PROFILE = np.roll(DAY_PROFILE, 9)
# An hour at least this active is a waking one: 07:00-22:59 on a day that follows a night's
# sleep, 16:00-07:59 after a night shift.
WAKING = 1.0

# What a noise profile may name in ``Life.boost``. Multipliers: the spec's routine rates,
# and two shares routines draw on their own (thrown-away drafts, short deals on watched
# products). Top-ups: what an app adds beyond what the person does, in words a day
# (``Life.top_up_days``: product views, parcels others send, fare alerts), which no
# persona spec rates.
BOOSTED_RATES = (frozenset(VolumeSpec.model_fields) - {"weekend_factor"}) | {"drafts",
                                                                            "price_deals"}
TOP_UPS = frozenset({"browsing_words", "fare_alert_words", "parcel_words"})

_SYMBOL = {"USD": "$", "GBP": "£", "EUR": "€", "AUD": "A$", "NZD": "NZ$", "CAD": "C$",
           "INR": "₹"}


@dataclass
class Life:
    world: World
    person: PersonaInstance
    grammar: Grammar
    pools: Pools
    state: dict = field(default_factory=dict)  # what routines share (the ledger, channels)
    volume: float = 1.0  # multiplies every routine rate
    burstiness: float = 0.0  # 0: steady Poisson days; higher: busy days cluster
    # What a noise profile asks for on top: rate name -> extra multiplier, or for a name
    # in ``TOP_UPS`` words a day an app adds
    boost: dict[str, float] = field(default_factory=dict)
    # The calendar of work, derived once by _plan_calendar:
    work: list[tuple[int, int]] = field(default_factory=list)  # sim-second intervals
    work_block: list[int] = field(default_factory=list)  # spec block of each interval
    work_by_day: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    night_days: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    workdays: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    holidays: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # (day index, with weekday) -> how the persona writes that day: routines name the same
    # hundred-odd days thousands of times, a few at a call
    _day_names: dict[tuple[int, bool], str] = field(default_factory=dict, init=False,
                                                    repr=False)

    @classmethod
    def create(cls, world: World, person: PersonaInstance, grammar: Grammar,
               pools: Pools) -> Life:
        life = cls(world=world, person=person, grammar=grammar, pools=pools)
        life._plan_calendar()
        return life

    @property
    def spec(self):
        return self.person.spec

    def _plan_calendar(self) -> None:
        clock, spec = self.world.clock, self.spec
        days = clock.days
        self.holidays = np.array([clock.date(d) in self.world.holidays for d in range(days)])
        weekday = np.array([(clock.start.weekday() + d) % 7 for d in range(days)])
        self.workdays = np.zeros(days, bool)
        self.night_days = np.zeros(days, bool)
        intervals = []
        for d in range(days):
            if self.holidays[d] and not spec.work.works_public_holidays:
                continue
            for b, block in enumerate(spec.work.blocks):
                if WEEKDAYS[weekday[d]] not in block.days:
                    continue
                self.workdays[d] = True
                s = d * DAY + minutes(block.start) * 60
                e = d * DAY + minutes(block.end) * 60 + (DAY if block.overnight else 0)
                if block.overnight and d + 1 < days:
                    self.night_days[d + 1] = True
                intervals.append((s, e, d, b))
        intervals.sort()
        self.work_by_day = {}
        if intervals:
            local = np.array([(s, e) for s, e, _, _ in intervals], dtype=np.int64)
            sim = clock.local_to_sim(local.ravel()).reshape(-1, 2)
            self.work = [(int(a), int(b)) for a, b in sim]
            self.work_block = [b for _, _, _, b in intervals]  # which spec block each came from
            for (a, b), (_, _, d, _) in zip(self.work, intervals, strict=True):
                self.work_by_day.setdefault(d, []).append((a, b))
        self._work_starts = np.array([a for a, _ in self.work], dtype=np.int64)
        self._work_ends = np.array([b for _, b in self.work], dtype=np.int64)
        # Cumulative work seconds, to draw uniform instants within a day's blocks at once.
        lengths = self._work_ends - self._work_starts
        self._work_cum = np.concatenate([[0], np.cumsum(lengths)])[:-1].astype(float)
        self._day_work_total = np.zeros(days + 1)
        self._day_work_before = np.zeros(days + 1)
        i = 0
        for d in range(days):
            blocks = self.work_by_day.get(d, [])
            self._day_work_before[d] = self._work_cum[i] if blocks else 0.0
            self._day_work_total[d] = sum(b - a for a, b in blocks)
            i += len(blocks)

    # -- how much happens ---------------------------------------------------------------

    def rates(self, name: str, days: range) -> np.ndarray:
        """Expected items of ``name`` per day: the spec's rate, damped on days off."""
        base = getattr(self.spec.volume, name) * self.volume * self.boost.get(name, 1.0)
        idx = np.arange(days.start, days.stop)
        if not self.spec.work.blocks:
            return np.full(len(idx), float(base))
        return np.where(self.workdays[idx], base, base * self.spec.volume.weekend_factor)

    def item_days(self, name: str, days: range, rng: np.random.Generator,
                  scale: float = 1.0) -> np.ndarray:
        """The local day of each item of ``name`` in ``days`` (Poisson counts per day)."""
        return self._draw_days(self.rates(name, days) * scale, days, rng)

    def top_up_days(self, name: str, words_each: float, days: range,
                    rng: np.random.Generator) -> np.ndarray:
        """The local day of each item an app adds for the ``boost`` top-up ``name`` (words
        a day), items being ``words_each`` words long; none without a top-up."""
        if name not in TOP_UPS:
            raise KeyError(f"{name!r} is not a top-up; known: {', '.join(sorted(TOP_UPS))}")
        per_day = self.boost.get(name, 0.0) / words_each
        if per_day <= 0:
            return np.zeros(0, np.int64)
        return self._draw_days(np.full(len(days), per_day), days, rng)

    def _draw_days(self, rates: np.ndarray, days: range,
                   rng: np.random.Generator) -> np.ndarray:
        if self.burstiness > 0:
            # A gamma-mixed Poisson: the same mean, variance grown by burstiness * rate^2.
            k = 1.0 / self.burstiness
            rates = rates * rng.gamma(k, 1.0 / k, len(rates))
        counts = rng.poisson(rates)
        return np.repeat(np.arange(days.start, days.stop), counts)

    # -- when it happens ----------------------------------------------------------------

    def at_hours(self, item_days: np.ndarray, rng: np.random.Generator,
                 profile: np.ndarray | None = None) -> np.ndarray:
        """One instant per item on its local day, following an hourly activity profile.

        By default the profile is the person's waking rhythm, shifted on days after a
        night shift.
        """
        item_days = np.asarray(item_days, dtype=np.int64)
        n = len(item_days)
        if profile is None:
            day = rng.choice(24, size=n, p=DAY_PROFILE / DAY_PROFILE.sum())
            night = rng.choice(24, size=n, p=NIGHT_PROFILE / NIGHT_PROFILE.sum())
            after_shift = self.night_days[np.clip(item_days, 0, len(self.night_days) - 1)]
            hours = np.where(after_shift, night, day)
        else:
            hours = rng.choice(24, size=n, p=profile / profile.sum())
        local = item_days * DAY + hours * HOUR + rng.integers(0, HOUR, n)
        return self.world.clock.local_to_sim(local)

    def in_work(self, item_days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One instant per item inside its day's work blocks (waking hours on days off)."""
        item_days = np.asarray(item_days, dtype=np.int64)
        out = self.at_hours(item_days, rng)
        inside = (item_days >= 0) & (item_days < len(self._day_work_total))
        has = inside & (self._day_work_total[np.where(inside, item_days, 0)] > 0)
        if has.any():
            d = item_days[has]
            target = self._day_work_before[d] + rng.random(len(d)) * self._day_work_total[d]
            k = np.searchsorted(self._work_cum, target, side="right") - 1
            out[has] = self._work_starts[k] + (target - self._work_cum[k]).astype(np.int64)
        return out

    def awake(self, ts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Move instants that fall in the small hours (01:00-06:00) to the next morning.

        For follow-ups drawn as plain delays (a to-do ticked off, a note edited): people
        do those when awake. Night-shift days keep their instants.
        """
        ts = np.asarray(ts, dtype=np.int64)
        day, hour, night = self._day_hour(ts)
        asleep = (hour >= 1) & (hour < 6) & ~night
        morning = day * DAY + 7 * HOUR + rng.integers(0, 2 * HOUR, len(ts))
        return np.where(asleep, self.world.clock.local_to_sim(morning), ts)

    def is_up(self, ts: np.ndarray) -> np.ndarray:
        """Whether each instant falls in the person's waking hours (``WAKING``), by that
        day's rhythm: when they would pick up the phone and ask their assistant something."""
        _, hour, night = self._day_hour(np.asarray(ts, dtype=np.int64))
        return np.where(night, NIGHT_PROFILE[hour], DAY_PROFILE[hour]) >= WAKING

    def _day_hour(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local day, local hour, and whether that day follows a night shift."""
        local = self.world.clock.sim_to_local(ts)
        day, hour = local // DAY, (local % DAY) // HOUR
        return day, hour, self.night_days[np.clip(day, 0, len(self.night_days) - 1)]

    @staticmethod
    def device(ts: np.ndarray, *, phone_share: float, other: str = "laptop") -> list[str]:
        """Which device the user acted on: the phone for ``phone_share`` of actions.

        Derived from the instant by a multiplicative hash, so it draws from no random stream
        (adding a device never shifts other draws) and shows no pattern in the timestamps.
        """
        mixed = (np.asarray(ts, dtype=np.uint64) * np.uint64(2654435761)) >> np.uint64(11)
        phone = (mixed % np.uint64(1000)) < int(phone_share * 1000)
        return np.where(phone, "phone", other).tolist()

    def is_working(self, ts: np.ndarray) -> np.ndarray:
        if not len(self._work_starts):
            return np.zeros(len(ts), bool)
        i = np.searchsorted(self._work_starts, ts, side="right") - 1
        ok = i >= 0
        return ok & (ts < self._work_ends[np.maximum(i, 0)])

    def next_working(self, ts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Move each instant to the next moment the person is at work (a few minutes in)."""
        ts = np.asarray(ts, dtype=np.int64)
        if not len(self._work_starts):
            return ts
        inside = self.is_working(ts)
        j = np.searchsorted(self._work_starts, ts, side="left")
        beyond = j >= len(self._work_starts)
        nxt = self._work_starts[np.minimum(j, len(self._work_starts) - 1)]
        nxt = np.where(beyond, self.world.clock.end_seconds + DAY, nxt)
        moved = nxt + rng.integers(2 * 60, 45 * 60, len(ts))
        return np.where(inside, ts, moved)

    # -- how it reads -------------------------------------------------------------------

    def dates(self, ts: np.ndarray, *, weekday: bool = False) -> np.ndarray:
        """Local dates of instants, written as the persona's locale writes them."""
        days = self.world.clock.local_day(ts)
        return self.day_names(days, weekday=weekday)

    def day_names(self, days: np.ndarray, *, weekday: bool = False) -> np.ndarray:
        start = self.world.clock.start
        us = self.spec.locale in ("en_US", "en_CA", "en_PH")
        out = np.empty(len(days), dtype=object)
        cache = self._day_names
        for i, d in enumerate(np.asarray(days).tolist()):
            s = cache.get((d, weekday))
            if s is None:
                date = start + dt.timedelta(days=d)
                s = f"{date:%B} {date.day}" if us else f"{date.day} {date:%B}"
                if weekday:
                    s = f"{date:%A}, {s}"
                cache[d, weekday] = s
            out[i] = s
        return out

    def times(self, ts: np.ndarray, *, exact: bool = False) -> np.ndarray:
        """Local clock times; rounded to 5 minutes unless ``exact`` (as a mail header is)."""
        local = self.world.clock.sim_to_local(ts) % DAY
        h, m = local // HOUR, (local % HOUR) // 60
        if not exact:
            m = m // 5 * 5
        return self._clock_strings(h, m)

    def plan_times(self, rng: np.random.Generator, n: int,
                   hours: tuple[int, ...] = (12, 13, 18, 19, 19, 20)) -> np.ndarray:
        """Times people propose for plans: sensible hours, on the quarter hour."""
        return self._clock_strings(rng.choice(hours, n), rng.choice([0, 0, 15, 30, 30, 45], n))

    WORK_HOURS = (9, 10, 11, 13, 14, 15, 16)

    def _clock_strings(self, h: np.ndarray, m: np.ndarray) -> np.ndarray:
        h, m = np.asarray(h), np.asarray(m)
        if self.spec.locale in ("en_US", "en_CA", "en_PH"):
            return np.array([f"{(a - 1) % 12 + 1}:{b:02d} {'am' if a < 12 else 'pm'}"
                             for a, b in zip(h.tolist(), m.tolist(), strict=True)], dtype=object)
        return np.array([f"{a:02d}:{b:02d}" for a, b in zip(h.tolist(), m.tolist(), strict=True)],
                        dtype=object)

    def weekday_names(self, ts: np.ndarray) -> np.ndarray:
        names = np.array(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                          "Sunday"], dtype=object)
        return names[self.world.clock.local_weekday(ts)]

    def day_refs(self, rng: np.random.Generator, ts: np.ndarray,
                 full: float = 0.35) -> np.ndarray:
        """How people name a day in a message: mostly its weekday ("on Friday"), sometimes
        the full date ("on Friday, 13 February"), as storyline messages always do.

        Only routine text about plans a few days out uses this; with weekday names alone,
        every message that spelt a date out came from a storyline.
        """
        full_date = rng.random(len(ts)) < full
        return np.where(full_date, self.dates(ts, weekday=True), self.weekday_names(ts))

    def money(self, minor: np.ndarray) -> np.ndarray:
        """Amounts in minor units as the persona would read them ("$1,234.50")."""
        sym = _SYMBOL.get(self.spec.money.currency, self.spec.money.currency + " ")
        return np.array([f"{'-' if v < 0 else ''}{sym}{abs(v) // 100:,}.{abs(v) % 100:02d}"
                         for v in np.asarray(minor).tolist()], dtype=object)

    def local_days(self, ts: np.ndarray) -> np.ndarray:
        """Days since 1970-01-01 of the local dates of instants (Arrow ``date32``)."""
        first = day_number(self.world.clock.start)
        return (self.world.clock.local_day(ts) + first).astype(np.int32)


def public_holidays(country: str, subdivision: str | None, start: dt.date,
                    days: int) -> list[dt.date]:
    end = start + dt.timedelta(days=days)
    years = range(start.year, end.year + 1)
    cal = holidays_lib.country_holidays(country, subdiv=subdivision, years=years)
    return sorted(d for d in cal if start <= d < end)
