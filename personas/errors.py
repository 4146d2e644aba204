"""The one error type for bad specs: it names the file and the key."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


class SpecError(ValueError):
    """A spec file is malformed. ``where`` is ``file:key`` (or just ``file``)."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}")
        self.where = where
        self.why = why

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
