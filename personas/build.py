"""Simulate a persona's life: the one entry point from a spec to a finished World."""

from __future__ import annotations

import datetime as dt
from functools import cache

from personas.instance import PersonaInstance, instantiate
from personas.life import BOOSTED_RATES, TOP_UPS, Life, public_holidays
from personas.pools import build_pools
from personas.routines import ROUTINES
from personas.spec import PersonaSpec, default_start
from personas.text.grammar import Grammar
from sim.world import World

# Catalogue prices are in US dollars; convert to the persona's currency (round figures).
_FX = {"USD": 1.0, "CAD": 1.35, "AUD": 1.5, "NZD": 1.65, "GBP": 0.8, "EUR": 0.92, "INR": 83.0}


@cache
def shipped_grammar() -> Grammar:
    return Grammar.load()


def new_world(person: PersonaInstance, *, seed: int, days: int, start: dt.date) -> World:
    spec = person.spec
    return World(
        seed=seed,
        tz=spec.timezone,
        start=start,
        days=days,
        services=spec.services,
        extra_requires=[(i.service, i.requires) for i in spec.integrations],
        holidays=public_holidays(spec.country, spec.subdivision, start, days),
        salt=person.instance_id,
    )


def prepare(
    spec: PersonaSpec,
    *,
    seed: int = 0,
    days: int = 100,
    start: dt.date | None = None,
    variation: int = 0,
    grammar: Grammar | None = None,
    volume: float = 1.0,
    burstiness: float = 0.0,
    boost: dict[str, float] | None = None,
    person: PersonaInstance | None = None,
) -> tuple[World, Life]:
    """A world with the person's routine life installed, its clock not yet started.

    ``volume`` multiplies every routine rate (a noise profile generates more than it keeps);
    ``burstiness`` makes busy days cluster without changing the mean volume; ``boost``
    multiplies single rates (``personas.life.BOOSTED_RATES``) on top of ``volume``, or for
    a top-up (``TOP_UPS``) adds that many words a day of what an app shows, whatever the
    volume (``Life.top_up_days``); any other name is a ValueError.
    ``person`` is ``instantiate(spec, variation)`` when the caller already has it (a caller
    simulating the same person twice need not build the address book twice).

    Layers above add their own processes (storylines) before calling ``world.run()``.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    _check_boost(boost or {})
    if person is None:
        person = instantiate(spec, variation)
    elif (person.spec, person.variation) != (spec, variation):
        raise ValueError("person is not an instance of spec at this variation")
    world = new_world(person, seed=seed, days=days, start=start or default_start())
    pools = build_pools(person, world.rng.child("pools"),
                        fx=_FX.get(spec.money.currency, 1.0))
    life = Life.create(world, person, grammar or shipped_grammar(), pools)
    life.volume = volume
    life.burstiness = burstiness
    life.boost = dict(boost or {})
    for routine in ROUTINES:
        routine.install(life)
    return world, life


def simulate(spec: PersonaSpec, **options) -> tuple[World, Life]:
    """Run ``spec``'s routine life (options as :func:`prepare`); returns the finished world."""
    world, life = prepare(spec, **options)
    world.run()
    return world, life


def _check_boost(boost: dict[str, float]) -> None:
    """A boost names a rate or a top-up, with a finite amount of at least zero: a misspelt
    name would otherwise boost nothing, silently."""
    known = BOOSTED_RATES | TOP_UPS
    for name, amount in boost.items():
        if name not in known:
            raise ValueError(f"boost: {name!r} is neither a routine rate nor a top-up; known: "
                             f"{', '.join(sorted(known))}")
        if not 0 <= amount < float("inf"):
            raise ValueError(f"boost: {name} must be a finite number >= 0, got {amount}")
