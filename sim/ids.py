"""Opaque record and event ids.

An id is a blake2b digest of (world seed, stream, per-stream counter): stable for a seed,
independent between streams (so one stream's volume never renumbers another's), and
revealing nothing about generation order.
"""

from __future__ import annotations

import hashlib


class IdMinter:
    def __init__(self, seed: int, salt: str = "") -> None:
        self._seed = f"{seed}\x1f{salt}" if salt else str(seed)
        self._counters: dict[str, int] = {}
        self._keys: dict[str, hashlib.blake2b] = {}

    def mint(self, stream: str, prefix: str, n: int = 1) -> list[str]:
        """``n`` fresh ids from ``stream``, each ``prefix`` + 16 hex digits."""
        key = self._keys.get(stream)
        if key is None:
            key = self._keys[stream] = hashlib.blake2b(
                f"{self._seed}\x1f{stream}\x1f".encode(), digest_size=8
            )
        start = self._counters.get(stream, 0)
        self._counters[stream] = start + n
        out = []
        for i in range(start, start + n):
            h = key.copy()
            h.update(i.to_bytes(8, "little"))
            out.append(prefix + h.hexdigest())
        return out

    def one(self, stream: str, prefix: str) -> str:
        return self.mint(stream, prefix, 1)[0]
