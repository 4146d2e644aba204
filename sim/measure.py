"""How big a world is, by the definitions the acceptance criteria use.

*Events* are event-log rows. *Words* are whitespace tokens in the columns a service marks as
readable text, each record version counted once, with quoted replies, forwarded originals
and everything below a ``-- `` signature delimiter left out (they repeat other text).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.services import TABLE_SERVICE, TABLES

_NOT_COUNTED = (
    r"(?s)\n-- \n.*",  # signature, and anything quoted below it
    r"(?s)\n---------- Forwarded message.*",
    r"(?s)\n\nOn [^\n]* wrote:\n.*",
    r"(?m)^>.*$",
)


def readable(text: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Text with signatures, quotes and forwarded originals removed."""
    out = text
    for pattern in _NOT_COUNTED:
        out = pc.replace_substring_regex(out, pattern, "")
    return out


def word_counts(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Whitespace tokens per value of ``text`` (after :func:`readable`), nulls as 0."""
    counts = pc.count_substring_regex(readable(text), r"\S+")
    return np.asarray(counts.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)


def words_by_service(history: Mapping[str, pa.Table]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, table in history.items():
        service = TABLE_SERVICE[name]
        total = 0
        for col in TABLES[name].text_columns:
            if table.num_rows:
                total += int(word_counts(table[col]).sum())
        out[service] = out.get(service, 0) + total
    return out


def events_by_service(events: pa.Table) -> dict[str, int]:
    if not events.num_rows:
        return {}
    services, counts = np.unique(events["service"].to_numpy(zero_copy_only=False),
                                 return_counts=True)
    return {str(s): int(c) for s, c in zip(services, counts, strict=True)}
