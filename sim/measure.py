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

# Cut at the first of each, with everything after it: a signature (and anything quoted
# below it), a forwarded original. A literal split finds them faster than a regex would.
_CUT_AT = ("\n-- \n", "\n---------- Forwarded message")
_NOT_COUNTED = (  # then removed, in this order
    r"(?s)\n\nOn [^\n]* wrote:\n.*",
    r"(?m)^>.*$",
)


# Each pattern above needs one of these literals: a value holding none of them is already
# readable, so the (slower) replacements run only on the few values that quote or sign.
_MARKED = r"\n-- \n|\n---------- Forwarded message| wrote:\n|>"


def readable(text: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Text with signatures, quotes and forwarded originals removed."""
    out = text
    for literal in _CUT_AT:
        out = pc.list_element(pc.split_pattern(out, literal, max_splits=1), 0)
    for pattern in _NOT_COUNTED:
        out = pc.replace_substring_regex(out, pattern, "")
    return out


def word_counts(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Whitespace tokens per value of ``text`` (after :func:`readable`), nulls as 0."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks() if text.num_chunks else pa.array([], pa.string())
    text = text.cast(pa.string())
    counts = _token_counts(text)
    marked = pc.match_substring_regex(text, _MARKED).fill_null(False)
    at = np.flatnonzero(marked.to_numpy(zero_copy_only=False))
    if len(at):
        counts[at] = _token_counts(readable(text.take(pa.array(at))))
    return counts


def _token_counts(text: pa.StringArray) -> np.ndarray:
    """``\\S+`` matches per value, by a vectorised scan of the UTF-8 bytes (nulls as 0)."""
    n = len(text)
    _, offsets_buf, data_buf = text.buffers()
    offsets = np.frombuffer(offsets_buf, np.int32, n + 1, text.offset * 4).astype(np.int64)
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = (np.frombuffer(data_buf, np.uint8, hi - lo, lo) if data_buf is not None and hi > lo
            else np.zeros(0, np.uint8))
    # RE2's ``\s`` (what ``\S+`` splits on) is exactly [\t\n\f\r ]; every byte of a
    # multi-byte UTF-8 character is >= 0x80, so counting on bytes counts the same tokens.
    space = (data == 0x20) | ((data >= 0x09) & (data <= 0x0D) & (data != 0x0B))
    word = ~space
    # A token starts at a non-space byte after a space byte or at the start of a value.
    start = word.copy()
    start[1:] &= space[:-1]
    first = offsets[:-1] - lo
    nonempty = first < offsets[1:] - lo
    start[first[nonempty]] = word[first[nonempty]]
    at = np.flatnonzero(start)
    counts = (np.searchsorted(at, offsets[1:] - lo) - np.searchsorted(at, first)).astype(np.int64)
    if text.null_count:
        counts[text.is_null().to_numpy(zero_copy_only=False)] = 0
    return counts


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
