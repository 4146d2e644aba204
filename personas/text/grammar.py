"""Column-wise text from small template grammars.

A template is English with two kinds of holes::

    "{Quick|Short} update on <topic>: we are {on track|slightly behind} for <date>."

``{a|b}`` is a choice, expanded at load time into every variant; ``<slot>`` is filled per
document from arrays the caller passes. Rendering never loops over documents in Python:
variants are split once into literal pieces and slot codes, a batch draws variant indices
with numpy, gathers slot values by fancy indexing, and Arrow joins the pieces.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_SLOTS = 5
_CHOICE = re.compile(r"\{([^{}]*)\}")
_SLOT = re.compile(r"<([a-z_]+)>")
_MAX_VARIANTS = 512
_SMALL = 512  # below this many sentences a Python join beats Arrow's call overhead


class GrammarError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def expand(template: str) -> list[str]:
    """Every variant of ``template`` with its ``{a|b}`` choices resolved."""
    parts = _CHOICE.split(template)
    literals, choices = parts[0::2], [p.split("|") for p in parts[1::2]]
    if any(brace in lit for lit in literals for brace in "{}"):  # "{a|{b|c}}" or "{a|b"
        raise ValueError(f"choices do not nest and every '{{' needs its '}}': {template!r}")
    out = []
    for combo in itertools.product(*choices):
        out.append("".join(lit + (combo[i] if i < len(combo) else "")
                           for i, lit in enumerate(literals)))
        if len(out) > _MAX_VARIANTS:
            raise ValueError(f"more than {_MAX_VARIANTS} variants: {template!r}")
    # Tidy the gaps an empty choice leaves ("{|really }"): doubled spaces, a space before
    # punctuation, leading or trailing spaces.
    return [re.sub(r" +([,.?!:;])", r"\1", re.sub(r" {2,}", " ", v)).strip() for v in out]


@dataclass(frozen=True)
class Pool:
    """The compiled variants of one list of templates."""

    literals: np.ndarray  # (variants, MAX_SLOTS + 1) object array of str
    slots: np.ndarray  # (variants, MAX_SLOTS) int16 codes into the intent's slot list; -1 none
    template_of: np.ndarray  # (variants,) template index
    first_variant: np.ndarray  # (templates,) first variant index of each template
    n_variants: np.ndarray  # (templates,)

    def draw(self, rng: np.random.Generator, n: int,
             templates: Sequence[int] | None = None) -> np.ndarray:
        """Variant indices: a uniform template (of ``templates``, default all), then a
        uniform variant of it."""
        if templates is None:
            t = rng.integers(0, len(self.first_variant), n)
        else:
            t = np.asarray(templates)[rng.integers(0, len(templates), n)]
        return self.variant_of(rng, t)

    def variant_of(self, rng: np.random.Generator, templates: np.ndarray) -> np.ndarray:
        """A uniform variant of each of ``templates`` (one template index per row), for
        callers that choose the template themselves (a confirmation, then a reminder)."""
        t = np.asarray(templates, dtype=np.int64)
        return self.first_variant[t] + (rng.random(len(t)) * self.n_variants[t]).astype(np.int64)


def compile_pool(templates: list[str], slot_names: list[str], key: str) -> Pool:
    if not isinstance(templates, list) or not templates:
        raise GrammarError(key, "needs a non-empty list of templates")
    lits, codes, owner, first, count = [], [], [], [], []
    for ti, template in enumerate(templates):
        if not isinstance(template, str):
            raise GrammarError(f"{key}[{ti}]", "a template must be a string")
        try:
            variants = expand(template)
        except ValueError as exc:
            raise GrammarError(f"{key}[{ti}]", str(exc)) from None
        first.append(len(lits))
        count.append(len(variants))
        for v in variants:
            pieces = _SLOT.split(v)
            names = pieces[1::2]
            if len(names) > MAX_SLOTS:
                raise GrammarError(f"{key}[{ti}]", f"more than {MAX_SLOTS} slots: {template!r}")
            unknown = [s for s in names if s not in slot_names]
            if unknown:
                raise GrammarError(
                    f"{key}[{ti}]",
                    f"unknown slot <{unknown[0]}>; this intent offers {', '.join(slot_names)}",
                )
            lit = [*pieces[0::2], *[""] * (MAX_SLOTS + 1)][: MAX_SLOTS + 1]
            code = [slot_names.index(s) for s in names] + [-1] * (MAX_SLOTS - len(names))
            lits.append(lit)
            codes.append(code)
            owner.append(ti)
    lit_arr = np.empty((len(lits), MAX_SLOTS + 1), dtype=object)
    lit_arr[:] = lits
    return Pool(
        literals=lit_arr,
        slots=np.array(codes, dtype=np.int16).reshape(len(lits), MAX_SLOTS),
        template_of=np.array(owner, dtype=np.int64),
        first_variant=np.array(first, dtype=np.int64),
        n_variants=np.array(count, dtype=np.int64),
    )


@dataclass(frozen=True)
class Intent:
    """One kind of message: its subjects, body sentences, and the slots they may use."""

    name: str
    description: str
    slots: tuple[str, ...]
    subjects: Pool | None
    sentences: Pool


class Grammar:
    """All intents of one text library, loaded from TOML files."""

    def __init__(self, intents: Mapping[str, Intent]) -> None:
        self.intents = dict(intents)

    @classmethod
    def load(cls, directory: Path | None = None) -> Grammar:
        root = directory or resources.files("personas.text") / "templates"
        intents: dict[str, Intent] = {}
        for path in sorted((p for p in root.iterdir() if p.name.endswith(".toml")),
                           key=lambda p: p.name):
            with path.open("rb") as fh:
                data = tomllib.load(fh)
            for name, spec in data.items():
                key = f"{path.name}:{name}"
                if not isinstance(spec, dict):
                    raise GrammarError(key, "expected a table [intent] with sentences")
                if name in intents:
                    raise GrammarError(key, "intent defined twice")
                unknown = set(spec) - {"description", "slots", "subjects", "sentences"}
                if unknown:
                    raise GrammarError(f"{key}.{sorted(unknown)[0]}", "unknown key")
                slots = spec.get("slots", [])
                if not isinstance(slots, list) or not all(
                        isinstance(s, str) and re.fullmatch(r"[a-z_]+", s) for s in slots):
                    raise GrammarError(f"{key}.slots", "expected a list of lowercase names")
                slots = tuple(slots)
                if "sentences" not in spec or "description" not in spec:
                    raise GrammarError(key, "an intent needs description and sentences")
                intents[name] = Intent(
                    name=name,
                    description=spec["description"],
                    slots=slots,
                    subjects=compile_pool(spec["subjects"], list(slots), f"{key}.subjects")
                    if "subjects" in spec
                    else None,
                    sentences=compile_pool(spec["sentences"], list(slots), f"{key}.sentences"),
                )
        return cls(intents)

    def intent(self, name: str) -> Intent:
        try:
            return self.intents[name]
        except KeyError:
            raise KeyError(f"no text intent {name!r}") from None

    # -- rendering ----------------------------------------------------------------------

    def sentences(self, intent: str, rng: np.random.Generator, slots: Mapping[str, np.ndarray],
                  n: int, *, pool: str = "sentences",
                  variants: np.ndarray | None = None) -> pa.Array:
        """``n`` rendered sentences; ``slots[name][i]`` fills sentence ``i``."""
        spec = self.intent(intent)
        p: Pool = getattr(spec, pool)
        if variants is None:
            variants = p.draw(rng, n)
        return _fill(p, variants, spec, slots, n)

    def documents(self, intent: str, rng: np.random.Generator,
                  slots: Mapping[str, np.ndarray], counts: np.ndarray, *,
                  sep: str = " ") -> pa.Array:
        """One paragraph per document: ``counts[d]`` distinct sentences for document ``d``,
        joined by ``sep`` ("\\n" for a list, an item a line).

        Sentences within a document come from different templates, so a message never
        repeats itself.
        """
        counts = np.asarray(counts, dtype=np.int64)
        n_docs = len(counts)
        if n_docs == 0:
            return pa.array([], pa.string())
        spec = self.intent(intent)
        p = spec.sentences
        n_templates = len(p.first_variant)
        counts = np.minimum(counts, n_templates)
        doc_of = np.repeat(np.arange(n_docs), counts)
        # Distinct templates per document, in a random order: walk the templates from a
        # random start with a random step coprime to their number (so no repeats).
        steps = _coprime_steps(n_templates)
        start = rng.integers(0, n_templates, n_docs)[doc_of]
        step = steps[rng.integers(0, len(steps), n_docs)][doc_of]
        pos = np.arange(len(doc_of)) - np.repeat(np.cumsum(counts) - counts, counts)
        template = (start + pos * step) % n_templates
        variant = p.variant_of(rng, template)
        per_sentence = {k: np.asarray(v, dtype=object)[doc_of] for k, v in slots.items()}
        flat = _fill(p, variant, spec, per_sentence, len(doc_of))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), flat), sep)

    def titled(self, intent_of: np.ndarray, rng: np.random.Generator,
               slots: Mapping[str, np.ndarray], counts: np.ndarray, *, sep: str = " "
               ) -> tuple[np.ndarray, np.ndarray]:
        """A title and a body for each row, both from the intent ``intent_of`` names for it,
        so the two always say the same kind of thing (a dinner's title never gets a design
        review's description). Titles come from the intent's subjects (None where it has
        none), bodies are :meth:`documents` of ``counts`` sentences joined by ``sep``."""
        n = len(intent_of)
        title, body = np.full(n, None, dtype=object), np.empty(n, dtype=object)
        for name in sorted(set(intent_of.tolist())):
            rows = np.flatnonzero(intent_of == name)
            sub = {k: np.asarray(v, dtype=object)[rows] for k, v in slots.items()}
            body[rows] = self.documents(name, rng, sub, np.asarray(counts)[rows],
                                        sep=sep).to_numpy(zero_copy_only=False)
            if self.intent(name).subjects is not None:
                title[rows] = self.sentences(name, rng, sub, len(rows), pool="subjects"
                                             ).to_numpy(zero_copy_only=False)
        return title, body


@functools.cache
def _coprime_steps(n: int) -> np.ndarray:
    return np.array([k for k in range(1, max(n, 2)) if math.gcd(k, n) == 1] or [1])


def _fill(p: Pool, variants: np.ndarray, spec: Intent, slots: Mapping[str, np.ndarray],
          n: int) -> pa.Array:
    codes = p.slots[variants]  # (n, MAX_SLOTS)
    width = int((codes >= 0).sum(axis=1).max()) if n else 0  # slots of the widest variant
    table = np.full((len(spec.slots) + 1, n), "", dtype=object)  # last row: "no slot"
    for code in np.unique(codes[codes >= 0]):
        name = spec.slots[code]
        if name not in slots:
            raise KeyError(f"intent {spec.name!r} needs slot <{name}>")
        values = np.asarray(slots[name], dtype=object)
        if np.equal(values, None).any():
            raise ValueError(f"intent {spec.name!r}: slot <{name}> has missing values")
        table[code] = values
    codes = np.where(codes < 0, len(spec.slots), codes)
    cols = np.arange(n)
    lits = [p.literals[variants, j] for j in range(width + 1)]
    fills = [table[codes[:, j], cols] for j in range(width)]
    if n <= _SMALL:  # Arrow's per-call overhead dominates small batches; join in Python
        interleaved = [x for pair in zip(lits, [*fills, None], strict=True) for x in pair
                       if x is not None]
        rows = zip(*interleaved, strict=True)
        return pa.array(["".join(r) for r in rows], pa.string())
    pieces: list[pa.Array] = []
    for j in range(width + 1):
        pieces.append(pa.array(lits[j], pa.string()))
        if j < width:
            pieces.append(pa.array(fills[j], pa.string()))
    # Slots sit in order, so literals beyond the widest variant's last slot are empty.
    return pc.binary_join_element_wise(*pieces, "") if len(pieces) > 1 else pieces[0]
