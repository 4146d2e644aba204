"""Golden content hashes for six small worlds: any change to generated content shows up here.

Three are routine life alone; three have storylines and are thinned to a noise ratio, so
the keep path (``scenarios.keep_path``) is covered too.

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
from scenarios.library import load_storylines
from scenarios.noise import load_profiles
from tests.conftest import PERSONAS

GOLDEN = Path(__file__).parent / "golden" / "hashes.json"
# (persona, seed, days, noise profile or None, ratio or None)
# The musician's two: a life that outspends its income (the checking account's opening is
# funded, ``personas.routines.ledger``), and an overdraft story holding the balance down.
# The staff engineer's at ratio 100 grows its travel by fare alerts (``routines.travel``).
CASES = [("staff_engineer", 0, 5, None, None), ("shift_nurse", 1, 5, None, None),
         ("retiree", 2, 30, "typical", 3.0), ("indie_musician", 0, 100, None, None),
         ("indie_musician", 0, 45, "typical", 4.0), ("staff_engineer", 0, 40, "typical", 100.0)]


def hashes(persona: str, seed: int, days: int, noise: str | None,
           ratio: float | None) -> dict[str, str]:
    noisy = {} if noise is None else {"families": load_storylines(),
                                      "noise": load_profiles()[noise], "ratio": ratio}
    tables = build_world(PERSONAS[persona], seed=seed, days=days, **noisy)
    out = {name: content_hash(t) for name, t in tables.history.items()}
    out["oracle/events"] = content_hash(tables.events)
    return out


@pytest.mark.parametrize(("persona", "seed", "days", "noise", "ratio"), CASES)
def test_content_matches_the_golden_hashes(persona, seed, days, noise, ratio):
    key = f"{persona}/seed={seed}/days={days}"
    if noise is not None:
        key += f"/noise={noise}/ratio={ratio:g}"
    got = hashes(persona, seed, days, noise, ratio)
    if os.environ.get("LIFELOOM_UPDATE_GOLDEN"):
        golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
        golden[key] = got
        GOLDEN.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert got == golden[key]
