"""Spec files: reading a TOML file into a validated model, and the error that names the
file and the key when it is wrong."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar, TypeVar

from pydantic import BaseModel, PrivateAttr, ValidationError

from sim.errors import InputError

Model = TypeVar("Model", bound=BaseModel)


class SpecError(InputError):
    """A spec file is malformed. ``where`` is ``file:key`` (or just ``file``)."""

    @classmethod
    def from_validation(cls, path: Path | str, exc: ValidationError) -> SpecError:
        err = exc.errors()[0]
        key = _dotted(err["loc"])
        why = err["msg"]
        if err["type"] == "extra_forbidden":
            why = "unknown key"
        elif err["type"] == "missing":
            why = "required key is missing"
        return cls(f"{path}:{key}" if key else str(path), why)


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class FromFile(BaseModel):
    """A spec that remembers the file it was read from: its data can also fail later, when it
    runs on a real instance (an expression that meets a value it cannot take), and that
    error names the file as a load error does."""

    KIND: ClassVar[str] = "spec"
    _path: str | None = PrivateAttr(default=None)

    @property
    def where(self) -> str:
        """The file it was read from; for a spec built in code, its kind and id."""
        return self._path or f"{self.KIND} {getattr(self, 'id', '?')}"


def load_spec(path: Path, model: type[Model]) -> Model:
    """Parse ``path`` as TOML and validate it as ``model``; every failure is a SpecError."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SpecError(str(path), "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(str(path), f"malformed TOML: {exc}") from None
    try:
        spec = model.model_validate(data)
    except ValidationError as exc:
        raise SpecError.from_validation(path, exc) from None
    if isinstance(spec, FromFile):
        spec._path = str(path)
    return spec


def load_by_id(paths: Iterable[Path], load: Callable[[Path], Model],
               what: str) -> dict[str, Model]:
    """Load every file in order, keyed by its ``id``; a second file with an id is an error."""
    out: dict[str, Model] = {}
    for path in paths:
        spec = load(path)
        if spec.id in out:
            raise SpecError(f"{path}:id", f"{what} id {spec.id!r} is defined twice")
        out[spec.id] = spec
    return out
