"""How varied is a corpus of message bodies? Count sentence skeletons.

A skeleton is a body sentence with everything a template slot could have filled masked out:
names, numbers, dates, times, amounts and products become placeholder tokens, then the
sentence is lowercased. Two sentences rendered from the same template variant with
different slot values share a skeleton, so the number of skeletons measures how much the
*wording* varies, and the share of the most common skeleton shows whether one phrasing
dominates.

Only the new prose of a body counts. Per body, before splitting into sentences:

* the first non-blank line is dropped if it is a salutation ("Hi Anna,", "Dear team,");
* quoted lines (``>``), attribution lines ("On Tuesday, March 3, Anna wrote:") and
  header-style lines ("From: ...", "When: ...", "---------- Forwarded message ----------")
  are dropped;
* everything from a signature delimiter line (``--`` or ``-- ``) on is dropped;
* the closing block is dropped: the run of short lines (at most six words) at the end of
  what remains that do not end like a sentence ("Best,", "Anna", "The Harbor Bank team").

Masking order: the given products, then the given names, then amounts, ISO and numeric
dates, times, written dates ("March 3", "3rd of March", weekday and month names), any
remaining token with a digit, and finally every capitalised word that does not open its
sentence (the pronoun "I" and its contractions are kept). Runs of the same placeholder
("<date>, <date>" from "Tuesday, March 3") collapse to one.

Everything runs as vectorised polars string expressions; the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import polars as pl
import pyarrow as pa

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
          r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_FULL_MONTH = (r"(?:January|February|March|April|June|July|August|September|October"
               r"|November|December)")  # bare "May" is too often the verb
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_ORD = r"(?:st|nd|rd|th)?"
_NUM = r"\d[\d,]*(?:\.\d+)?"
_CUR_SYM = r"[$€£¥₹₩]"
_CUR_CODE = r"(?:USD|EUR|GBP|CHF|JPY|CAD|AUD|NZD|INR|SEK|NOK|DKK|PLN|CZK|MXN|BRL|ZAR|SGD|HKD)"

# (pattern, placeholder) in the order they are applied. Rust regex syntax (no look-around).
_MASKS: tuple[tuple[str, str], ...] = (
    (rf"(?:\b[A-Z]{{1,3}})?{_CUR_SYM}\s?{_NUM}|{_NUM}\s?{_CUR_SYM}|\b{_CUR_CODE}\s?{_NUM}|{_NUM}\s?{_CUR_CODE}\b",
     "<amount>"),
    (r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
     "<date>"),
    (r"\b\d{1,2}(?::\d{2})?\s?[aApP](?:\.[mM]\.|[mM]\b)|\b\d{1,2}:\d{2}\b", "<time>"),
    (rf"\b\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MONTH}\b(?:,?\s+\d{{4}})?"
     rf"|\b{_MONTH}\b\.?\s+\d{{1,2}}{_ORD}\b(?:,?\s+\d{{4}})?", "<date>"),
    (rf"\b(?:{_WEEKDAY}|{_FULL_MONTH})\b", "<date>"),
    (r"#?[\w-]*\d[\w./,:-]*\w|#?\d", "<num>"),
)
_PLACEHOLDERS = ("name", "product", "amount", "date", "time", "num")
_SALUTATION = (r"(?i)^(?:hi|hello|hey|hiya|dear|greetings|morning|afternoon|evening"
               r"|good (?:morning|afternoon|evening))\b")
_HEADER = r"^(?:-{3,}.*|(?:From|To|Cc|Bcc|Sent|Date|Subject|Reply-To):\s.*)$"
_FIELD = r"^[A-Z][A-Za-z -]{0,24}:(?:\s.*)?$"  # "When: ...", "Where: ..." unless a sentence
_ATTRIBUTION = r"^On .+ wrote:$"
_RUST_META = set("\\.+*?()|[]{}^$#&-~")


@dataclass(frozen=True)
class DiversityReport:
    sentences: int  # body sentences measured
    skeletons: int  # distinct masked sentences
    top_share: float  # share of sentences that have the most common skeleton
    top10_share: float  # share of sentences covered by the ten most common skeletons

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


def text_diversity(bodies: Sequence[str] | pa.Array | pa.ChunkedArray | pl.Series, *,
                   names: Iterable[str] = (), products: Iterable[str] = ()) -> DiversityReport:
    """Sentence-skeleton statistics of ``bodies`` (see the module docstring)."""
    skel = skeletons(bodies, names=names, products=products)
    total = len(skel)
    if total == 0:
        return DiversityReport(0, 0, 0.0, 0.0)
    counts = skel.value_counts(sort=True, name="n")["n"]
    return DiversityReport(
        sentences=total,
        skeletons=len(counts),
        top_share=float(counts[0]) / total,
        top10_share=float(counts.head(10).sum()) / total,
    )


def skeletons(bodies: Sequence[str] | pa.Array | pa.ChunkedArray | pl.Series, *,
              names: Iterable[str] = (), products: Iterable[str] = ()) -> pl.Series:
    """The skeleton of every body sentence, in body order."""
    lines = _body_lines(_as_series(bodies))
    sentences = (
        lines.select(
            pl.col("line")
            # Sentence ends: . ! ? (optionally closed by a quote or bracket) then space and
            # an opening capital, digit or quote. The sentinel splits without look-around.
            .str.replace_all(r"([.!?][\"'’”)\]]?)\s+([\"'“(\[]?[\p{Lu}\p{N}<])", "${1}\x1f${2}")
            .str.split("\x1f")
            .alias("sentence")
        )
        .explode("sentence")
        .select(pl.col("sentence").str.strip_chars())
        .filter(pl.col("sentence").str.len_chars() > 0)
        .get_column("sentence")
    )
    return _mask(sentences, names=names, products=products).rename("skeleton")


def _as_series(bodies) -> pl.Series:
    if isinstance(bodies, pl.Series):
        s = bodies
    elif isinstance(bodies, pa.Array | pa.ChunkedArray):
        s = pl.Series("body", bodies)
    else:
        s = pl.Series("body", list(bodies), dtype=pl.String)
    return s.cast(pl.String).fill_null("").rename("body")


def _body_lines(bodies: pl.Series) -> pl.DataFrame:
    """The lines of new prose of each body (columns ``doc``, ``line``)."""
    stripped = pl.col("line").str.strip_chars()
    words = stripped.str.count_matches(r"\S+")
    sentence_end = stripped.str.contains(r"[.!?][\"'’”)\]]?$")
    df = (
        pl.DataFrame({"body": bodies})
        .with_row_index("doc")
        .select("doc", pl.col("body").str.replace_all("\r\n?", "\n").str.split("\n").alias("line"))
        .explode("line")
        .with_columns(pl.col("line").fill_null(""))
        # Everything from the signature delimiter on goes, quoted history included.
        .with_columns(
            (pl.col("line").str.strip_chars_end(" ") == "--").cum_sum().over("doc").alias("sig")
        )
        .filter(
            (pl.col("sig") == 0)
            & (stripped != "")
            & ~stripped.str.starts_with(">")
            & ~stripped.str.contains(_ATTRIBUTION)
            & ~stripped.str.contains(_HEADER)
            & ~(stripped.str.contains(_FIELD) & ~sentence_end)
        )
        .with_columns(pl.int_range(pl.len()).over("doc").alias("ln"))
    )
    short = words <= 6
    greets = stripped.str.contains(_SALUTATION)
    salutation = (pl.col("ln") == 0) & short & (
        stripped.str.ends_with(",") | (greets & (~sentence_end | stripped.str.ends_with("!")))
    )
    closing = short & ~sentence_end
    return (
        df.with_columns(
            salutation.alias("salutation"),
            # A line belongs to the closing block if it and every later line are closings.
            closing.cast(pl.Int8).cum_min(reverse=True).over("doc").alias("closing"),
        )
        .filter(~pl.col("salutation") & (pl.col("closing") == 0))
        .select("doc", stripped.alias("line"))
    )


def _literal_pattern(terms: Iterable[str]) -> str | None:
    """A Rust regex matching any of ``terms`` (longest first) as whole words."""
    unique = sorted({t.strip() for t in terms if t and t.strip()}, key=lambda t: (-len(t), t))
    if not unique:
        return None
    alts = []
    for t in unique:
        body = "".join("\\" + ch if ch in _RUST_META else ch for ch in t)
        left = r"\b" if t[0].isalnum() or t[0] == "_" else ""
        right = r"\b" if t[-1].isalnum() or t[-1] == "_" else ""
        alts.append(f"{left}{body}{right}")
    return "(?:" + "|".join(alts) + ")"


def _mask(sentences: pl.Series, *, names: Iterable[str], products: Iterable[str]) -> pl.Series:
    expr = pl.col("s")
    for terms, tag in ((products, "<product>"), (names, "<name>")):
        pattern = _literal_pattern(terms)
        if pattern is not None:
            expr = expr.str.replace_all(pattern, tag)
    for pattern, tag in _MASKS:
        expr = expr.str.replace_all(pattern, tag)
    # Capitalised words, except the sentence's first token. "I", "I'm", "I'll"... survive
    # via a sentinel.
    expr = expr.str.replace_all(r"\bI(['’](?:m|ll|ve|d))?\b", "\x02${1}")
    first = expr.str.extract(r"^(\S*)", 1)
    rest = expr.str.extract(r"^\S*(.*)$", 1).str.replace_all(r"\b\p{Lu}[\p{L}\p{N}'’-]*",
                                                              "<name>")
    expr = pl.concat_str([first, rest]).str.replace_all("\x02", "i").str.to_lowercase()
    for ph in _PLACEHOLDERS:
        expr = expr.str.replace_all(rf"<{ph}>(?:,?\s+<{ph}>)+", f"<{ph}>")
    expr = expr.str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.DataFrame({"s": sentences}).select(expr.alias("s")).get_column("s")
