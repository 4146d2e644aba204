"""Shared fixtures: small worlds are cached per test process (they are pure functions)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from exporters.world_dataset import WorldTables, build_world
from personas.library import load_personas

settings.register_profile(
    "default", deadline=None, max_examples=8,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci", parent=settings.get_profile("default"), derandomize=True, print_blob=True
)
settings.load_profile("ci" if os.environ.get("CI") else "default")

PERSONAS = load_personas()
PERSONA_IDS = list(PERSONAS)
DEFAULT_PERSONA = PERSONA_IDS[0]


def recipe_library(tmp_path_factory, recipe_id: str, text: str) -> Path:
    """A ``--library`` directory holding one recipe (``recipes/<recipe_id>.toml``)."""
    root = tmp_path_factory.mktemp(f"library_{recipe_id}")
    (root / "recipes").mkdir()
    (root / "recipes" / f"{recipe_id}.toml").write_text(text)
    return root


@functools.cache
def world(persona: str, seed: int = 0, days: int = 14) -> WorldTables:
    return build_world(PERSONAS[persona], seed=seed, days=days)


@pytest.fixture(scope="session")
def personas():
    return PERSONAS
