"""A world with routine life and storylines: the entry point above ``personas.build``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from personas.build import prepare
from personas.life import Life
from personas.spec import PersonaSpec
from scenarios.engine import Storylines
from scenarios.storyline_spec import StorylineSpec
from sim.world import World


@dataclass
class LivedWorld:
    world: World
    life: Life
    storylines: Storylines
    skipped: list[str]  # families the persona could not live through


def live(
    spec: PersonaSpec,
    *,
    seed: int = 0,
    days: int = 100,
    start: dt.date | None = None,
    variation: int = 0,
    families: dict[str, StorylineSpec] | None = None,
    storylines: int = 0,
) -> LivedWorld:
    """Simulate ``spec`` with ``storylines`` instances drawn from ``families``."""
    world, life = prepare(spec, seed=seed, days=days, start=start, variation=variation)
    runner = Storylines(life)
    eligible, skipped = runner.eligible((families or {}).values())
    runner.plant(eligible, storylines)
    world.run()
    return LivedWorld(world, life, runner, skipped)
