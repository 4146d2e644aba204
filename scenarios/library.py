"""Loading storyline families: the shipped library plus a user's ``--library`` directory."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from personas.errors import SpecError
from scenarios.storyline_spec import StorylineSpec

SHIPPED = Path(str(resources.files("scenarios") / "library"))


def load_storyline(path: Path) -> StorylineSpec:
    """Parse and validate one storyline file; every failure is a :class:`SpecError`."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SpecError(str(path), "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(str(path), f"malformed TOML: {exc}") from None
    try:
        return StorylineSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError.from_validation(path, exc) from None


def load_storylines(library: Path | None = None) -> dict[str, StorylineSpec]:
    """All storyline families by id: shipped first, then ``library``/storylines."""
    files = sorted((SHIPPED / "storylines").glob("*.toml"))
    if library is not None:
        sub = library / "storylines"
        if sub.is_dir():
            files += sorted(sub.glob("*.toml"))
    out: dict[str, StorylineSpec] = {}
    for path in files:
        spec = load_storyline(path)
        if spec.id in out:
            raise SpecError(f"{path}:id", f"storyline id {spec.id!r} is defined twice")
        out[spec.id] = spec
    return out
