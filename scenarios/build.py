"""A world with routine life and storylines: the entry point above ``personas.build``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from personas.build import prepare
from personas.life import Life
from personas.routines.money import rebalance
from personas.spec import PersonaSpec
from scenarios.distractors import Lookalikes
from scenarios.engine import Storylines
from scenarios.noise import NoiseProfile, Thinning, thin
from scenarios.storyline_spec import StorylineSpec
from sim.world import World


class BelowFloorError(ValueError):
    """The ratio target is below what this world can reach: what thinning may not drop
    (look-alikes, conflicts, bank-started money) already outweighs it."""

    def __init__(self, target: float, floor: float) -> None:
        super().__init__(target, floor)
        self.target = target
        self.floor = floor

    def __str__(self) -> str:
        return (f"target {self.target:g} is below this world's floor of {self.floor:.2f} "
                "(look-alikes, conflicts and bank records are never thinned)")


TOLERANCE = 0.10  # a target within this share of the floor is still reachable


@dataclass
class LivedWorld:
    world: World
    life: Life
    storylines: Storylines
    skipped: list[str]  # families the persona could not live through
    thinning: Thinning | None = None

    def tables(self) -> dict:
        """History tables as exported: thinned to the target, balances recomputed."""
        if self.thinning is None:
            return self.world.tables()
        return rebalance(self.world.tables(self.thinning.keep_events))

    def event_log(self):
        keep = None if self.thinning is None else self.thinning.keep_events
        return self.world.event_log(keep)


def live(
    spec: PersonaSpec,
    *,
    seed: int = 0,
    days: int = 100,
    start: dt.date | None = None,
    variation: int = 0,
    families: dict[str, StorylineSpec] | None = None,
    storylines: int | None = None,
    noise: NoiseProfile | None = None,
    ratio: float | None = None,
) -> LivedWorld:
    """Simulate ``spec`` with storyline instances drawn from ``families``.

    Without ``noise`` the world is routine life plus ``storylines`` instances, unthinned.
    With a profile, its volume and storyline rate apply (``storylines`` overrides the
    count), and the world is thinned to ``ratio`` (default: the profile's target).
    """
    world, life = prepare(spec, seed=seed, days=days, start=start, variation=variation,
                          volume=noise.volume if noise else 1.0,
                          burstiness=noise.burstiness if noise else 0.0)
    lookalikes = None
    if noise is not None and noise.distractors_per_signal > 0:
        lookalikes = Lookalikes(noise.distractors_per_signal,
                                noise.distractor_similarity.model_dump())
    runner = Storylines(life, lookalikes=lookalikes,
                        conflict_rate=noise.conflict_rate if noise else 0.0)
    eligible, skipped = runner.eligible((families or {}).values())
    if storylines is None:
        storylines = noise.storylines_for(days) if noise else 0
    runner.plant(eligible, storylines)
    world.run()
    target = ratio if ratio is not None else (noise.ratio if noise else None)
    thinning = None
    signal = runner.signal_events()
    # Without signal there is nothing to measure noise against: keep routine life whole.
    if (noise is not None or ratio is not None) and signal:
        weights = noise.service_weights if noise else {}
        thinning = thin(world, signal, target=target, weights=weights,
                        kept=runner.lookalike_events())
        if target is not None and thinning.floor > target * (1 + TOLERANCE):
            raise BelowFloorError(target, thinning.floor)
    return LivedWorld(world, life, runner, skipped, thinning)
