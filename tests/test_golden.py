"""Golden content hashes for two tiny worlds: any change to generated content shows up here.

When a change is meant to alter content, regenerate with
``LIFELOOM_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py``, review the diff
of ``tests/golden/hashes.json``, and bump ``GENERATOR_VERSION`` in ``exporters/versions.py``.
"""

import json
import os
from pathlib import Path

import pytest

from exporters.content_hash import content_hash
from exporters.world_dataset import build_world
from tests.conftest import PERSONAS

GOLDEN = Path(__file__).parent / "golden" / "hashes.json"
CASES = [("staff_engineer", 0, 5), ("shift_nurse", 1, 5)]


def hashes(persona: str, seed: int, days: int) -> dict[str, str]:
    tables = build_world(PERSONAS[persona], seed=seed, days=days)
    out = {name: content_hash(t) for name, t in tables.history.items()}
    out["oracle/events"] = content_hash(tables.events)
    return out


@pytest.mark.parametrize(("persona", "seed", "days"), CASES)
def test_content_matches_the_golden_hashes(persona, seed, days):
    key = f"{persona}/seed={seed}/days={days}"
    got = hashes(persona, seed, days)
    if os.environ.get("LIFELOOM_UPDATE_GOLDEN"):
        golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
        golden[key] = got
        GOLDEN.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert got == golden[key]
