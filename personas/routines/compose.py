"""Putting rendered pieces together into messages people would recognise.

An email is a greeting line, a paragraph of body sentences, a sign-off with the sender's
name, a signature below the ``-- `` delimiter, and for replies the quoted original under an
attribution line. Everything here works on whole batches (numpy object arrays and Arrow).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from personas.life import Life


def join(*parts: pa.Array | np.ndarray | str) -> pa.Array:
    """Element-wise concatenation of arrays and constant strings."""
    arrays = [p if isinstance(p, pa.Array | str) else pa.array(p, pa.string()) for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def quote(bodies: pa.Array) -> pa.Array:
    """The body as a reply quotes it: every line prefixed with ``> ``."""
    return join("> ", pc.replace_substring(bodies, "\n", "\n> "))


def strip_quote(bodies: pa.Array) -> pa.Array:
    """What a reply quotes: the new text of a message, without its own quoted history."""
    return pc.replace_substring_regex(bodies, r"\n\nOn [^\n]* wrote:\n(?s:.*)$", "")


def email_bodies(
    life: Life,
    rng: np.random.Generator,
    intent: str,
    slots: Mapping[str, np.ndarray],
    *,
    recipient_first: np.ndarray | None,
    sender_first: np.ndarray,
    signature: np.ndarray,
    sentences: tuple[int, int] = (2, 5),
    quoted: pa.Array | None = None,
    quoted_from: np.ndarray | None = None,
    quoted_ts: np.ndarray | None = None,
) -> pa.Array:
    """Full email bodies for one intent; ``recipient_first=None`` means no greeting."""
    n = len(sender_first)
    g = life.grammar
    paragraph = g.documents(intent, rng, slots, rng.integers(sentences[0], sentences[1] + 1, n))
    signoff = g.sentences("signoff", rng, {"sender_first": sender_first}, n)
    parts: list = []
    if recipient_first is not None:
        parts += [g.sentences("greeting", rng, {"first": recipient_first}, n), "\n\n"]
    parts += [paragraph, "\n\n", signoff, "\n", sender_first, "\n-- \n", signature]
    if quoted is not None:
        when = join(life.dates(quoted_ts, weekday=True), " at ",
                    life.times(quoted_ts, exact=True))
        parts += ["\n\nOn ", when, ", ", quoted_from, " wrote:\n", quote(strip_quote(quoted))]
    return join(*parts)


def subjects(life: Life, rng: np.random.Generator, intent: str,
             slots: Mapping[str, np.ndarray], n: int) -> pa.Array:
    return life.grammar.sentences(intent, rng, slots, n, pool="subjects")


def prefixed(prefix: str, subjects: pa.Array) -> pa.Array:
    """``Re: `` or ``Fwd: `` once, as mail clients do, however deep the thread."""
    base = pc.replace_substring_regex(subjects, r"^((Re|Fwd): )+", "")
    return join(prefix, base)
