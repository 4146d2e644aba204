"""The one error a predicate document can raise, and the verdict evaluation returns.

Errors carry the JSON path of the offending node (``predicate.of[1].where[0].value``) so a
task author, or a harness logging a broken gold file, can go straight to the bad spot.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class PredicateError(ValueError):
    """A document (or a document against a given state) that cannot be evaluated."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


@dataclass(frozen=True)
class Verdict:
    """Whether the predicate held; on failure, reasons naming the failing nodes' paths."""

    passed: bool
    reasons: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed


def child(path: str, key: str | int) -> str:
    """The JSON path of ``key`` under ``path``, in the dotted form used in messages."""
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
