"""A world with routine life and storylines: the entry point above ``personas.build``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from personas.build import prepare
from personas.instance import instantiate
from personas.life import Life
from personas.routines.ledger import rebalance
from personas.spec import PersonaSpec
from scenarios.distractors import Lookalikes
from scenarios.engine import Storylines
from scenarios.noise import NoiseProfile, Thinning, expansion, reexpansion, thin
from scenarios.storyline_spec import StorylineSpec
from sim.world import World


class BelowFloorError(ValueError):
    """The ratio target is below what this world can reach: what thinning may not drop
    (look-alikes, conflicts, what storylines cause) already outweighs it."""

    def __init__(self, target: float, floor: float) -> None:
        super().__init__(target, floor)
        self.target = target
        self.floor = floor

    def __str__(self) -> str:
        return (f"target {self.target:g} is below this world's floor of {self.floor:.2f} "
                "(conflicts, storyline records and state are never thinned)")


TOLERANCE = 0.10  # a target within this share of the floor is still reachable
PROBE_VOLUME = 0.5  # the measuring run's share of the profile's volume


@dataclass
class LivedWorld:
    world: World
    life: Life
    storylines: Storylines
    skipped: list[str]  # families the persona could not live through
    thinning: Thinning | None = None
    expansion: dict[str, float] = field(default_factory=dict)  # rates raised, top-ups added

    def tables(self) -> dict:
        """History tables as exported: thinned to the target, balances recomputed."""
        keep = None if self.thinning is None else self.thinning.keep_events
        ledger = self.life.state["ledger"]
        return rebalance(self.world.tables(keep), cushion=ledger.cushion, holds=ledger.holds)

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
    count), and the world is thinned to ``ratio`` (default: the profile's target). Where a
    service that carries signal has too little routine life to reach the target, the world
    is simulated again with that service's routine rates raised, or what its app adds topped
    up (``noise.expansion``), and once more if that fell short (``noise.reexpansion``): the
    storylines and their records are the same in every run, only routine volume changes.
    """
    if storylines is None:
        storylines = noise.storylines_for(days) if noise else 0
    target = ratio if ratio is not None else (noise.ratio if noise else None)
    volume = noise.volume if noise else 1.0
    person = instantiate(spec, variation)  # the same person in the measuring and the real run

    def run(volume: float, boost: dict[str, float]) -> tuple[World, Life, Storylines,
                                                             list[str]]:
        world, life = prepare(spec, seed=seed, days=days, start=start, variation=variation,
                              volume=volume,
                              burstiness=noise.burstiness if noise else 0.0, boost=boost,
                              person=person)
        lookalikes = None
        if noise is not None and noise.distractors_per_signal > 0:
            lookalikes = Lookalikes(noise.distractors_per_signal,
                                    noise.distractor_similarity.model_dump())
        runner = Storylines(life, lookalikes=lookalikes,
                            conflict_rate=noise.conflict_rate if noise else 0.0)
        eligible, skipped = runner.eligible((families or {}).values())
        runner.plant(eligible, storylines)
        world.run()
        return world, life, runner, skipped

    if target is None or storylines <= 0:  # no signal to measure noise against
        world, life, runner, skipped = run(volume, {})
        return LivedWorld(world, life, runner, skipped)
    # A quick run at a fraction of the volume measures the signal in each service and how
    # much routine life each one has; the real run raises the rates (or tops up the apps) of
    # services that would fall short. It aims at the profile's own target too, so that
    # every target up to it thins the very same world.
    world, _, runner, _ = run(volume * PROBE_VOLUME, {})
    signal = runner.signal_events()
    if not signal:  # no family fits this persona: keep routine life whole
        world, life, runner, skipped = run(volume, {})
        return LivedWorld(world, life, runner, skipped)
    aim = max(target, noise.ratio or 0.0) if noise else target
    boost = expansion(world, signal, target=aim, volume_share=PROBE_VOLUME)
    world, life, runner, skipped = run(volume, boost)
    signal = runner.signal_events()
    # Where the real run still holds too little routine life for a service, it is lived
    # once more with that service's rates raised from what it really holds.
    raised = reexpansion(world, signal, boost, target=aim)
    if raised != boost:
        boost = raised
        world, life, runner, skipped = run(volume, boost)
        signal = runner.signal_events()
    thinning = thin(world, signal, target=target, aim=aim,
                    weights=noise.service_weights if noise else {})
    runner.thin_lookalikes(thinning.keep_events)
    if thinning.floor > target * (1 + TOLERANCE):
        raise BelowFloorError(target, thinning.floor)
    return LivedWorld(world, life, runner, skipped, thinning, boost)
