"""Causal cascades: which root event each event descends from, and a stable draw per root.

Thinning routine life "by whole cascades" keeps or drops a root together with everything it
caused (an order with its mail, charge, parcel and texts). Each root gets a uniform number
from a digest of its id, never from a random stream, so the decision for one cascade does
not depend on how many others exist: keeping every cascade with ``u < f`` gives, for a
smaller ``f``, exactly a subset of what a larger ``f`` keeps.
"""

from __future__ import annotations

import hashlib

import numpy as np


def cascade_roots(event_ids: np.ndarray, causes: np.ndarray) -> np.ndarray:
    """Index of the root event of each event (itself when it has no known cause)."""
    index = {e: i for i, e in enumerate(event_ids.tolist())}
    parent = np.array([index.get(c, i) if c is not None else i
                       for i, c in enumerate(causes.tolist())], dtype=np.int64)
    while True:  # pointer jumping: depth halves each round
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def stable_uniform(ids: np.ndarray, salt: str = "") -> np.ndarray:
    """A number in [0, 1) per id, from a digest: the same id always gets the same number."""
    key = hashlib.blake2b(salt.encode(), digest_size=8)
    copy = key.copy

    def digest(value) -> bytes:
        h = copy()
        h.update(str(value).encode())
        return h.digest()

    # The digests read as little-endian uint64 in one go; uint64 -> float64 rounds to
    # nearest like ``int / 2**64`` does, and dividing by a power of two is exact.
    raw = b"".join(map(digest, ids.tolist()))
    return np.frombuffer(raw, dtype="<u8").astype(np.float64) / 2.0**64
