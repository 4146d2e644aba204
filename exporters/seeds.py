"""Seed commitments: a dataset that names no seed, and a file that proves which ones.

A withheld oracle protects nothing if anyone can regenerate it from published seeds.
``--private-seeds`` publishes, for every world and the recipe's root, only
``sha256(nonce:seed)`` with a fresh 128-bit nonce each, and writes the seeds and nonces
to a file the builder keeps; ``check --seeds FILE`` verifies a dataset against it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
from pathlib import Path

from exporters.loading import DatasetError


def commitment(seed: int, nonce: str) -> str:
    return "sha256:" + hashlib.sha256(f"{nonce}:{seed}".encode()).hexdigest()


def secret_root(path: Path) -> int:
    """The private root seed of a run: read from the seeds file ``path`` when a resumed
    run already drew one, else drawn (128 bits) and written there first."""
    if path.is_file():
        return int(json.loads(path.read_text(encoding="utf-8"))["root"]["seed"])
    seed = secrets.randbits(128)
    path.write_text(json.dumps({"root": {"seed": seed}}) + "\n", encoding="utf-8")
    return seed


def private_manifest(manifest: dict) -> tuple[dict, dict]:
    """``manifest`` with every seed replaced by a commitment, and the secrets file."""
    public = copy.deepcopy(manifest)
    root_nonce = secrets.token_hex(16)
    kept = {"recipe_hash": manifest["recipe_hash"],
            "root": {"seed": manifest["root_seed"], "nonce": root_nonce}, "worlds": []}
    public["root_seed"] = commitment(manifest["root_seed"], root_nonce)
    public["recipe"]["root_seed"] = None
    for world in public["worlds"]:
        nonce = secrets.token_hex(16)
        kept["worlds"].append({"split": world["split"], "index": world["index"],
                               "world_id": world["world_id"], "seed": world["seed"],
                               "nonce": nonce})
        world["seed"] = commitment(world.pop("seed"), nonce)
    for split in public["splits"].values():
        split["regenerable"] = False
    public["private_seeds"] = True
    return public, kept


def verify_seeds(manifest: dict, kept: dict) -> list[str]:
    """What in ``manifest`` the secrets file ``kept`` does not match (empty: all)."""
    problems = []
    if kept.get("recipe_hash") != manifest.get("recipe_hash"):
        problems.append("seeds file is for another recipe")
    root = kept.get("root", {})
    if commitment(root.get("seed"), root.get("nonce")) != manifest.get("root_seed"):
        problems.append("root seed does not match its commitment")
    by_world = {(w["split"], w["index"]): w for w in kept.get("worlds", [])}
    for world in manifest["worlds"]:
        secret = by_world.get((world["split"], world["index"]))
        if secret is None:
            problems.append(f"world {world['world_id']}: not in the seeds file")
        elif commitment(secret["seed"], secret["nonce"]) != world["seed"]:
            problems.append(f"world {world['world_id']}: seed does not match its commitment")
    return problems


def read_seeds_file(path: Path | str) -> dict:
    """The secrets file of a ``--private-seeds`` run, checked to have the shape
    :func:`exporters.seeds.verify_seeds` reads (raises :class:`DatasetError`)."""
    try:
        kept = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(str(path), f"unreadable seeds file ({exc})") from None
    worlds = kept.get("worlds") if isinstance(kept, dict) else None
    if not (isinstance(kept, dict) and isinstance(kept.get("root"), dict)
            and isinstance(worlds, list) and all(
                isinstance(w, dict) and {"split", "index", "seed", "nonce"} <= w.keys()
                for w in worlds)):
        raise DatasetError(str(path), "not a seeds file (expected root and worlds, as "
                                      "`generate --private-seeds` writes)")
    return kept
