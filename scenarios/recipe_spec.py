"""RecipeSpec: how to mint a dataset from seeds, written as data.

A recipe names splits, each a number of worlds lived by a mix of personas, and what every
world gets: days, a noise profile (or a ratio override), the task families, the mix of
difficulties and, per split, what is held out of every other split. A world's seed is a
pure function of the recipe's root seed, the split's name and the world's index
(:func:`world_seed`), so adding a split renumbers nothing and any world can be regenerated
alone. Splits declared ``paired_with`` each other live the same worlds (same seeds and
people), for example one world set at several noise ratios.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from personas.errors import FromFile, SpecError
from personas.spec import Strict, digest, window_error
from scenarios.task_spec import DIFFICULTIES


class HeldOutSpec(Strict):
    """What only this split may contain: every other split is generated without it."""

    task_families: list[str] = Field(default_factory=list)
    storylines: list[str] = Field(default_factory=list)
    personas: list[str] = Field(default_factory=list)
    # Prompt templates as "<task family>/<difficulty>/<index>", e.g. "refund_chase_shop/hard/1".
    prompts: list[str] = Field(default_factory=list)

    @field_validator("prompts")
    @classmethod
    def _prompt_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            family, _, rest = key.partition("/")
            level, _, index = rest.partition("/")
            if not family or level not in DIFFICULTIES or not index.isdigit():
                raise ValueError(f"{key!r} is not '<task family>/<difficulty>/<index>'")
        return value

    def merged(self, other: HeldOutSpec) -> HeldOutSpec:
        return HeldOutSpec(**{k: sorted({*getattr(self, k), *getattr(other, k)})
                              for k in HeldOutSpec.model_fields})


class SplitSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")  # a Python identifier
    worlds: int = Field(ge=1, le=1_000_000)
    personas: list[str] = Field(min_length=1)  # cycled over the split's worlds
    # Persona variations: world i lives personas[i % P] in variation
    # variations[(i // P) % V]; without a list, first_variation + i // P (a fresh person
    # for every world, so splits starting far apart share nobody).
    variations: list[int] | None = None
    first_variation: int = Field(default=0, ge=0)
    days: int | None = Field(default=None, ge=1, le=3660)  # default: the recipe's
    noise: str | None = None
    noise_ratio: float | None = Field(default=None, ge=0, le=1000)
    snapshots: int | None = Field(default=None, ge=1)  # at most this many per world
    paired_with: list[str] = Field(default_factory=list)
    held_out: HeldOutSpec = Field(default_factory=HeldOutSpec)

    def persona_at(self, index: int) -> tuple[str, int]:
        """The persona id and variation world ``index`` of this split lives."""
        p = len(self.personas)
        persona = self.personas[index % p]
        if self.variations is not None:
            return persona, self.variations[(index // p) % len(self.variations)]
        return persona, self.first_variation + index // p


class RecipeSpec(Strict, FromFile):
    KIND = "recipe"

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    description: str
    root_seed: int = Field(ge=0)
    days: int = Field(default=100, ge=1, le=3660)
    start: str = "2026-01-05"
    noise: str = "typical"
    noise_ratio: float | None = Field(default=None, ge=0, le=1000)
    task_families: list[str] = Field(default_factory=list)  # empty: every shipped family
    difficulty: dict[Literal[*DIFFICULTIES], float] = Field(
        default_factory=lambda: dict.fromkeys(DIFFICULTIES, 1.0))
    max_dropped_share: float = Field(default=0.10, ge=0, le=1)
    # When a proactive assistant is woken each day, persona-local (HH:MM, 24-hour clock).
    heartbeat: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    splits: list[SplitSpec] = Field(min_length=1)

    @field_validator("difficulty")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in value.values()) or not sum(value.values()) > 0:
            raise ValueError("weights must be non-negative and not all zero")
        return value

    @field_validator("start")
    @classmethod
    def _a_date(cls, value: str) -> str:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected YYYY-MM-DD, got {value!r}") from None
        return value

    @model_validator(mode="after")
    def _unique_splits(self) -> RecipeSpec:
        names = [s.name for s in self.splits]
        if len(set(names)) != len(names):
            raise ValueError("split names must be unique")
        return self

    @model_validator(mode="after")
    def _window_fits(self) -> RecipeSpec:
        start = dt.date.fromisoformat(self.start)
        for where, days in [("days", self.days),
                            *((f"splits[{i}].days", s.days) for i, s in enumerate(self.splits)
                              if s.days is not None)]:
            if (why := window_error(start, days)) is not None:
                raise ValueError(f"{where}: {why}")
        return self

    @property
    def heartbeat_at(self) -> tuple[int, int]:
        hour, minute = self.heartbeat.split(":")
        return int(hour), int(minute)

    def split(self, name: str) -> SplitSpec:
        return next(s for s in self.splits if s.name == name)

    def content_hash(self) -> str:
        """A digest of everything the recipe says (the manifest stores it)."""
        return digest(self.model_dump(mode="json"))

    def held_out_of(self, split: SplitSpec) -> HeldOutSpec:
        """What ``split`` must not contain: what every split outside its pair group holds."""
        group = {split.name, *split.paired_with}
        out = HeldOutSpec()
        for other in self.splits:
            if other.name not in group:
                out = out.merged(other.held_out)
        return out


@dataclass(frozen=True)
class WorldPlan:
    """Everything one world of a recipe is made from: a pure function of the recipe."""

    split: str
    index: int
    seed: int
    persona: str
    variation: int
    days: int
    noise: str
    noise_ratio: float | None
    snapshots: int | None


def plan_worlds(recipe: RecipeSpec, *, ratio: float | None = None) -> list[WorldPlan]:
    """Every world of ``recipe`` in split then index order (``ratio`` overrides the
    recipe's and each split's noise ratio)."""
    out = []
    for split in recipe.splits:
        seed_name = min([split.name, *split.paired_with])  # paired splits share seeds
        for index in range(split.worlds):
            persona, variation = split.persona_at(index)
            out.append(WorldPlan(
                split=split.name, index=index, seed=world_seed(recipe.root_seed, seed_name, index),
                persona=persona, variation=variation, days=split.days or recipe.days,
                noise=split.noise or recipe.noise,
                noise_ratio=next((r for r in (ratio, split.noise_ratio, recipe.noise_ratio)
                                  if r is not None), None),
                snapshots=split.snapshots))
    return out


def world_seed(root_seed: int, split: str, index: int) -> int:
    """The seed of world ``index`` of ``split``: independent of every other split. It has
    64 bits so that a world id (a hash of it) cannot be searched back to its seed."""
    digest = int.from_bytes(hashlib.blake2b(split.encode(), digest_size=4).digest(), "big")
    sequence = np.random.SeedSequence(root_seed, spawn_key=(digest, index))
    return int(sequence.generate_state(1, np.uint64)[0])


def check_splits(recipe: RecipeSpec, path: Path | str) -> RecipeSpec:
    """Rules across splits, each error naming the split and key: pairs are declared both
    ways between splits that live the same worlds, unpaired splits share no person, and a
    held-out persona or family is held out of one split only and used by no other."""
    names = {s.name: s for s in recipe.splits}
    for s in recipe.splits:
        where = f"{path}:splits.{s.name}"
        for other in s.paired_with:
            if other not in names or other == s.name:
                raise SpecError(f"{where}.paired_with", f"no other split {other!r}")
            mate = names[other]
            if s.name not in mate.paired_with:
                raise SpecError(f"{where}.paired_with",
                                f"split {other!r} does not declare paired_with {s.name!r}")
            if set(s.paired_with) - {other} != set(mate.paired_with) - {s.name}:
                raise SpecError(f"{where}.paired_with",
                                f"pair groups of {s.name!r} and {other!r} differ")
            same = ("worlds", "personas", "variations", "first_variation")
            for key in same:
                if getattr(s, key) != getattr(mate, key):
                    raise SpecError(f"{where}.{key}", f"differs from paired split {other!r}; "
                                                      "paired splits live the same worlds")
    people = {s.name: {s.persona_at(i) for i in range(s.worlds)} for s in recipe.splits}
    for i, s in enumerate(recipe.splits):
        for other in recipe.splits[i + 1:]:
            if other.name in s.paired_with:
                continue
            shared = sorted(people[s.name] & people[other.name])
            if shared:
                persona, variation = shared[0]
                raise SpecError(f"{path}:splits.{other.name}.first_variation",
                                f"split {other.name!r} would share persona {persona!r} "
                                f"variation {variation} with split {s.name!r} "
                                f"({len(shared)} shared); give it other variations")
    for s in recipe.splits:
        for key in HeldOutSpec.model_fields:
            for item in getattr(s.held_out, key):
                for other in recipe.splits:
                    if other is s or other.name in s.paired_with:
                        continue
                    if item in getattr(other.held_out, key):
                        raise SpecError(f"{path}:splits.{other.name}.held_out.{key}",
                                        f"{item!r} is also held out for split {s.name!r}")
                    if key == "personas" and item in other.personas:
                        raise SpecError(f"{path}:splits.{other.name}.personas",
                                        f"{item!r} is held out for split {s.name!r}")
    return recipe
