"""Named, independent random streams derived from one root seed.

Every consumer of randomness asks for a stream by name (``rng.stream("mail/work")``). The
name is hashed with blake2b (never ``hash()``, which changes with ``PYTHONHASHSEED``) into a
``SeedSequence`` spawn key, so adding a new stream never shifts an existing one.
"""

from __future__ import annotations

import hashlib

import numpy as np
from faker import Faker


def name_digest(name: str) -> int:
    """A stable 32-bit digest of a stream name."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "little")


# Building a Faker scans its provider packages on disk (~10 ms, a world needs four: two per
# simulation, and a noise profile simulates twice), while re-seeding one resets all the
# state our calls draw on. So one instance per locale and stream name is kept per process
# and re-seeded on each request (performance.md: create Faker once per worker). Workers are
# processes that build one world at a time, so no two users hold one instance at once.
_FAKERS: dict[tuple[str, str], Faker] = {}


class RngTree:
    """A root seed and a path; children and streams are derived by name."""

    def __init__(self, seed: int, path: tuple[int, ...] = ()) -> None:
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        self.seed = seed
        self.path = path
        self._streams: dict[str, np.random.Generator] = {}

    def child(self, name: str) -> RngTree:
        """An independent subtree, e.g. one per storyline instance."""
        return RngTree(self.seed, (*self.path, name_digest(name)))

    def sequence(self, name: str) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(*self.path, name_digest(name)))

    def stream(self, name: str) -> np.random.Generator:
        """The generator for ``name``; the same object on every call, so draws continue."""
        gen = self._streams.get(name)
        if gen is None:
            gen = self._streams[name] = np.random.Generator(np.random.PCG64(self.sequence(name)))
        return gen

    def faker(self, name: str, locale: str) -> Faker:
        """A Faker seeded from stream ``name``; uniform weighting is 7x faster (performance.md).

        The instance is shared per process by ``name`` and ``locale``: the next request for
        the same pair re-seeds it, so use it before asking again (no caller keeps one)."""
        fake = _FAKERS.get((name, locale))
        if fake is None:
            fake = _FAKERS[(name, locale)] = Faker(locale, use_weighting=False)
        fake.seed_instance(int(self.sequence(name).generate_state(1, np.uint64)[0]))
        return fake
