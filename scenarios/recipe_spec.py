"""RecipeSpec: how to mint a dataset from seeds, written as data.

A recipe names splits, each a number of worlds lived by a mix of personas, and what every
world gets: days, a noise profile (or a ratio override), the task families and the mix of
difficulties. A world's seed is a pure function of the recipe's root seed, the split's name
and the world's index (:func:`world_seed`), so adding a split renumbers nothing and any
world can be regenerated alone.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from personas.spec import Strict
from scenarios.task_spec import DIFFICULTIES


class SplitSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")  # a Python identifier
    worlds: int = Field(ge=1, le=1_000_000)
    personas: list[str] = Field(min_length=1)  # cycled over the split's worlds
    variations: list[int] = Field(default_factory=lambda: [0])  # cycled, like personas


class RecipeSpec(Strict):
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

    @model_validator(mode="after")
    def _unique_splits(self) -> RecipeSpec:
        names = [s.name for s in self.splits]
        if len(set(names)) != len(names):
            raise ValueError("split names must be unique")
        return self

    @property
    def heartbeat_at(self) -> tuple[int, int]:
        hour, minute = self.heartbeat.split(":")
        return int(hour), int(minute)

    def content_hash(self) -> str:
        """A digest of everything the recipe says (the manifest stores it)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def world_seed(root_seed: int, split: str, index: int) -> int:
    """The seed of world ``index`` of ``split``: independent of every other split."""
    digest = int.from_bytes(hashlib.blake2b(split.encode(), digest_size=4).digest(), "big")
    sequence = np.random.SeedSequence(root_seed, spawn_key=(digest, index))
    return int(sequence.generate_state(1, np.uint32)[0])
