"""How storyline values look: drawn parameters, instants and dates in the persona's locale,
record columns as written and as later steps read them back, and template holes filled.

Kept apart from the engine (``scenarios.engine``), which decides what to write and when;
these say only how a value is spelled. Tasks render their prompts through the same
functions, so a date reads the same in a record and in the question about it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from personas.life import DAY_PROFILE, Life
from scenarios.expressions import Context, parse
from scenarios.storyline_params import DrawSpec
from scenarios.storyline_spec import TEMPLATE_HOLES
from sim.clock import Clock, day_date, day_number


def draw(param: DrawSpec, rng: np.random.Generator) -> int:
    """A drawn parameter; an awake time of day is accepted in proportion to how busy its
    hour is in routine life, so storyline texts and entries keep routine hours."""
    low, high = param.uniform
    if param.hours == "uniform":
        return int(rng.integers(low, high + 1))
    weight = DAY_PROFILE / DAY_PROFILE.max()
    while True:  # rejection sampling: 09:00-24:00 weights are all >= 0.25, so it is quick
        value = int(rng.integers(low, high + 1))
        if rng.random() < weight[(9 + value // 3600) % 24]:
            return value


def instant(clock: Clock, value: dt.datetime | dt.date | int) -> int:
    """World seconds of an expression's value; a local date means its start of business,
    09:00."""
    if isinstance(value, dt.datetime):
        return clock.seconds(value)
    if isinstance(value, dt.date):
        return clock.at_local((value - clock.start).days, 9)
    return int(value)


def formatters(life: Life) -> dict[str, Any]:
    """How this world writes money, dates and times (the persona's locale)."""
    clock = life.world.clock
    return {
        "money": lambda minor: str(life.money(np.array([int(minor)]))[0]),
        "date_text": lambda d: date_text(life, d),
        "time_text": lambda t: str(life.times(np.array([instant(clock, t)]))[0]),
    }


def date_text(life: Life, value: dt.date | dt.datetime) -> str:
    """A day as the persona writes it, with its weekday."""
    clock = life.world.clock
    if isinstance(value, dt.datetime):
        return str(life.dates(np.array([instant(clock, value)]), weekday=True)[0])
    return str(life.day_names(np.array([(value - clock.start).days]), weekday=True)[0])


def to_column(clock: Clock, value: Any, type_: pa.DataType) -> Any:
    """An expression's value as a column of type ``type_`` stores it."""
    if pa.types.is_timestamp(type_):
        return instant(clock, value)
    if pa.types.is_date32(type_):
        if isinstance(value, dt.datetime):
            value = value.astimezone(clock.tz).date()
        return day_number(value)
    if pa.types.is_integer(type_):
        return int(value)
    if pa.types.is_boolean(type_):
        return bool(value)
    return None if value is None else str(value)


def readable(clock: Clock, value: Any, spec, column: str) -> Any:
    """A written column value as later expressions see it (instants as datetimes)."""
    f = next((c for c in spec.columns if c.name == column), None)
    if f is not None and pa.types.is_timestamp(f.type) and isinstance(value, int | np.integer):
        return clock.instant(int(value))
    if f is not None and pa.types.is_date32(f.type) and isinstance(value, int | np.integer):
        return day_date(value)
    return value


def render_in(ctx: Context, template: str) -> str:
    """``template`` with its {holes} filled in ``ctx``."""
    return TEMPLATE_HOLES.sub(lambda m: plain(parse(m.group(1)).evaluate(ctx)), template)


def plain(value: Any) -> str:
    """A value as text: a whole float without its ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
