"""Storyline text shares routine text's register, so its wording alone does not mark it.

The separability probe (``exporters.separability``) groups texts by how they open; a
storyline line that opened in a way no routine line does would be found by its opening.
"""

from __future__ import annotations

import re

import numpy as np

from personas.build import prepare
from personas.text.grammar import Grammar, expand
from scenarios.library import load_storylines
from scenarios.storyline_spec import EmitStep, phrasings
from tests.conftest import PERSONAS

_WORDS = re.compile(r"[a-z']+")


def _opening(text: str, n: int = 2) -> tuple[str, ...]:
    """The first ``n`` words before any hole ({expr} or <slot>)."""
    head = re.split(r"[{<]", text, maxsplit=1)[0].lower()
    return tuple(_WORDS.findall(head)[:n])


def _routine_openings(intent: str) -> set[tuple[str, ...]]:
    """How the compiled variants of a routine intent open (their first literal piece)."""
    pool = Grammar.load().intent(intent).sentences
    return {_opening(str(pool.literals[v, 0]) + ("<" if pool.slots[v, 0] >= 0 else ""))
            for v in range(len(pool.literals))}


def test_storyline_chat_lines_open_as_some_routine_chat_line_does():
    routine = _routine_openings("chat_work") | _routine_openings("chat_social")
    lines = [(family.id, step.id, t)
             for family in load_storylines().values() for step in family.steps
             if isinstance(step, EmitStep) and step.table == "chat_messages"
             for t in phrasings(step.text.get("text", ""))]
    assert lines
    strangers = [(f, s, t) for f, s, t in lines if _opening(t) not in routine]
    assert not strangers, f"storyline chat lines no routine line opens like: {strangers}"


def test_expand_keeps_openings_comparable():
    # The helper reads the same opening from a template and from its expanded variants.
    assert {_opening(v) for v in expand("{heads up|fyi}, I need <topic> by <day>.")} == {
        ("heads", "up"), ("fyi", "i")}


def test_routine_day_refs_mix_weekdays_and_full_dates():
    _, life = prepare(PERSONAS["retiree"], seed=0, days=7)
    ts = np.full(400, life.world.clock.at_local(3, 12))
    refs = life.day_refs(np.random.default_rng(0), ts)
    weekday = life.weekday_names(ts[:1])[0]
    assert set(refs) == {weekday, life.dates(ts[:1], weekday=True)[0]}
    assert all(r.startswith(weekday) for r in refs)
