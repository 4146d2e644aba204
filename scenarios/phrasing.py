"""How a storyline words a text field: one of its listed phrasings, or routine life's own.

Routine text is drawn from several templates per kind of message; a storyline that always
opened its mail the same way would be recognisable by its wording alone (the separability
probe's template family). So a text field may list alternatives, or name a routine text
intent whose phrasings it shares. The choice is drawn from the instance's own seed, keyed by
step and column: adding alternatives moves no other draw, and a look-alike (which keeps the
instance id) is worded like the record it imitates.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from personas.text.grammar import Grammar
from scenarios.storyline_spec import PhrasingSpec
from sim.rng import RngTree


class PhrasingError(ValueError):
    """A phrasing spec the grammar cannot word; ``field`` is the spec's key at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _rng(tree: RngTree, step_id: str, column: str) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(tree.sequence(f"phrasing/{step_id}/{column}")))


def choose(tree: RngTree, step_id: str, column: str, templates: list[str]) -> str:
    """One of ``templates``, uniformly (the only one when there is one)."""
    if len(templates) == 1:
        return templates[0]
    return templates[int(_rng(tree, step_id, column).integers(len(templates)))]


def phrase(grammar: Grammar, tree: RngTree, step_id: str, column: str, spec: PhrasingSpec,
           render: Callable[[str], str]) -> str:
    """``spec.intent`` worded as routine life words it, its slots rendered by ``render``.

    Drawn like routine text (a uniform template, then a uniform variant of it) among the
    phrasings whose slots the storyline fills, so the record falls into the same phrasing
    families as routine text of its kind, in the same proportions. Raises ValueError as
    :func:`usable_variants` does.
    """
    template_of, usable = usable_variants(grammar, spec)
    templates = np.unique(template_of[usable])
    rng = _rng(tree, step_id, column)
    template = templates[rng.integers(len(templates))]
    variants = np.flatnonzero(usable & (template_of == template))
    slots = {k: np.array([render(t)], dtype=object) for k, t in spec.slots.items()}
    text = grammar.sentences(spec.intent, rng, slots, 1, pool=spec.pool,
                             variants=variants[rng.integers(len(variants))][None])
    return str(text[0].as_py())


def usable_variants(grammar: Grammar, spec: PhrasingSpec) -> tuple[np.ndarray, np.ndarray]:
    """The template of each variant in ``spec``'s pool, and which variants it may use.

    Raises :class:`PhrasingError` (naming the field: ``intent``, ``pool``, ``slots``,
    ``require``, ``exclude``) for an unknown intent or pool, a slot or required slot the
    intent does not have (a typo would otherwise just narrow the phrasings), or when no
    phrasing is left (the field is the filter that emptied them). Storyline files are
    checked with it when they load (``scenarios.library``).
    """
    try:
        intent = grammar.intent(spec.intent)
    except KeyError as exc:
        raise PhrasingError("intent", str(exc.args[0])) from None
    pool = getattr(intent, spec.pool)
    if pool is None:
        raise PhrasingError("pool", f"text intent {spec.intent!r} has no {spec.pool}")
    for key, names in (("slots", spec.slots), ("require", spec.require)):
        for name in names:
            if name not in intent.slots:
                raise PhrasingError(key, f"text intent {spec.intent!r} has no slot <{name}> "
                                    f"(its slots: {', '.join(intent.slots) or 'none'})")
    given = np.array([s in spec.slots for s in intent.slots] + [True])  # last: "no slot"
    usable = given[np.where(pool.slots < 0, len(intent.slots), pool.slots)].all(axis=1)
    emptied_by = None if usable.any() else "slots"  # the key whose filter left nothing
    for name in spec.require:
        usable &= (pool.slots == intent.slots.index(name)).any(axis=1)
    emptied_by = emptied_by or (None if usable.any() else "require")
    if spec.exclude:
        text = np.array(["".join(row).lower() for row in pool.literals], dtype=str)
        for word in spec.exclude:
            usable &= np.char.find(text, word.lower()) < 0
    if not usable.any():
        raise PhrasingError(emptied_by or "exclude",
                            f"no phrasing of {spec.intent!r} uses only the slots "
                            f"{', '.join(sorted(spec.slots))}"
                            + (f" and each of {', '.join(spec.require)}" if spec.require else "")
                            + (f" without {', '.join(spec.exclude)}" if spec.exclude else ""))
    return pool.template_of, usable
