"""``<out>.partial/``: where a dataset is built, world by world, so a run can resume.

It holds ``state.json`` (the hashes of the recipe and of the specs it draws on, and the
generator and format versions it was started with) and one shard per finished world
(:mod:`exporters.world_shard`). A resumed run reuses every finished shard and regenerates
only the rest; a ``.partial`` left by another recipe, other specs or another generator
version is refused unless the caller restarts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from exporters.atomic import OutputError
from exporters.versions import FORMAT_VERSION, GENERATOR_VERSION
from exporters.world_shard import read_record

STATE = "state.json"


def partial_path(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".partial")


def open_partial(out: Path, recipe_hash: str, library_hash: str, *,
                 restart: bool = False) -> Path:
    """The ``.partial`` directory of ``out``, created or checked for this recipe and
    library (``Library.content_hash``)."""
    path = partial_path(out)
    state = {"recipe_hash": recipe_hash, "library_hash": library_hash,
             "generator_version": GENERATOR_VERSION, "format_version": FORMAT_VERSION}
    if path.exists() and restart:
        shutil.rmtree(path)
    if path.exists():
        try:
            found = json.loads((path / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            found = None
        if found != state:
            raise OutputError("--out", f"{path} holds an unfinished run of another recipe, "
                                       f"spec library or generator version ({found}); pass "
                                       "--restart to discard it")
        return path
    try:
        path.mkdir(parents=True)
        (path / STATE).write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        shutil.rmtree(path, ignore_errors=True)
        raise OutputError("--out", f"cannot write to {path.parent}: {exc.strerror}") from None
    return path


def finished(path: Path) -> dict[tuple[str, int], dict]:
    """Records of the worlds already generated, by (split, index)."""
    out = {}
    for shard in sorted((path / "worlds").glob("*/*")):
        if shard.name.startswith("."):  # an attempt that died before its rename
            shutil.rmtree(shard, ignore_errors=True)
            continue
        record = read_record(shard)
        if record is not None:
            out[record["split"], record["index"]] = record
    return out
