"""Loading storyline families: the shipped library plus a user's ``--library`` directory."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from personas.errors import load_by_id, load_spec
from scenarios.storyline_spec import StorylineSpec

SHIPPED = Path(str(resources.files("scenarios") / "library"))


def load_storyline(path: Path) -> StorylineSpec:
    """Parse and validate one storyline file; every failure is a :class:`SpecError`."""
    return load_spec(path, StorylineSpec)


def load_storylines(library: Path | None = None) -> dict[str, StorylineSpec]:
    """All storyline families by id: shipped first, then ``library``/storylines."""
    files = sorted((SHIPPED / "storylines").glob("*.toml"))
    if library is not None:
        sub = library / "storylines"
        if sub.is_dir():
            files += sorted(sub.glob("*.toml"))
    return load_by_id(files, load_storyline, "storyline")
