"""Storyline phrasing: listed alternatives and routine intents, chosen per instance."""

import numpy as np
import pytest
from pydantic import ValidationError

from personas.text.grammar import Grammar
from scenarios import phrasing
from scenarios.library import load_storylines
from scenarios.storyline_spec import EmitStep, PhrasingSpec
from sim.rng import RngTree

GRAMMAR = Grammar.load()


def test_each_instance_keeps_its_choice_and_instances_differ():
    templates = ["Order {n} confirmed", "We've received your order", "Receipt for order {n}"]
    picks = [phrasing.choose(RngTree(7).child(f"sy_{i}"), "mail", "subject", templates)
             for i in range(30)]
    assert set(picks) == set(templates)  # every phrasing gets used across instances
    again = [phrasing.choose(RngTree(7).child(f"sy_{i}"), "mail", "subject", templates)
             for i in range(30)]
    assert again == picks  # and an instance (or its look-alike) always words it alike


def test_an_intent_uses_only_phrasings_whose_slots_it_is_given():
    spec = PhrasingSpec(intent="order_confirmation", slots={"order_number": "{order}"})
    texts = {phrasing.phrase(GRAMMAR, RngTree(3).child(f"sy_{i}"), "mail", "subject", spec,
                             lambda t: t.replace("{order}", "402-1234567"))
             for i in range(60)}
    assert len(texts) >= 4  # routine's phrasings, several of them
    for text in texts:  # no phrasing needing a merchant, a product or an amount
        assert "<" not in text
    assert any("402-1234567" in t for t in texts)


def test_an_unknown_intent_or_unusable_slots_are_refused():
    with pytest.raises(ValueError, match="no text intent"):
        phrasing.phrase(GRAMMAR, RngTree(1), "s", "subject", PhrasingSpec(intent="nope"),
                        str)
    with pytest.raises(ValueError, match="uses only the slots"):
        phrasing.phrase(GRAMMAR, RngTree(1), "s", "subject",
                        PhrasingSpec(intent="calendar_invite", slots={"location": "x"}), str)
    # A slot the intent lacks is a typo, not a narrower choice of phrasings.
    with pytest.raises(phrasing.PhrasingError, match="no slot <titel>") as err:
        phrasing.usable_variants(GRAMMAR, PhrasingSpec(intent="calendar_invite",
                                                       slots={"titel": "x"}))
    assert err.value.field == "slots"
    # The error names the key whose filter left no phrasing: slots, require or exclude.
    for key, extra in (("slots", {}), ("require", {"require": ["location"]}),
                       ("exclude", {"exclude": ["a", "e", "i", "o", "u"]})):
        slots = {"location": "x"} if key == "slots" else {"title": "x"}
        with pytest.raises(phrasing.PhrasingError, match="uses only the slots") as err:
            phrasing.usable_variants(GRAMMAR, PhrasingSpec(intent="calendar_invite",
                                                           slots=slots, **extra))
        assert err.value.field == key


def test_every_listed_phrasing_is_checked_at_load():
    step = {"do": "emit", "id": "m", "description": "d", "table": "personal_emails",
            "kind": "email_received", "text": {"subject": ["Fine {user.first}", "Bad {1 +}"]}}
    with pytest.raises(ValidationError):
        EmitStep.model_validate(step)
    step["text"]["subject"] = []
    with pytest.raises(ValidationError):
        EmitStep.model_validate(step)
    step["text"]["subject"] = ["Fine {user.first}", "Also fine"]
    assert EmitStep.model_validate(step).text["subject"][1] == "Also fine"


def test_require_and_exclude_narrow_the_phrasings():
    spec = PhrasingSpec(intent="todo_work", slots={"topic": "{t}", "first": "{f}"},
                        require=["topic"], exclude=["Decide", "read"])
    texts = {phrasing.phrase(GRAMMAR, RngTree(5).child(f"sy_{i}"), "todo", "title", spec,
                             lambda t: t.replace("{t}", "the budget review")
                             .replace("{f}", "Ann"))
             for i in range(80)}
    assert len(texts) >= 4
    assert all("the budget review" in t for t in texts)  # the fact a task searches for
    assert not any(w in t.lower() for t in texts for w in ("decide", "read "))
    with pytest.raises(ValueError, match="no slot <amount>"):
        phrasing.phrase(GRAMMAR, RngTree(1), "s", "title",
                        PhrasingSpec(intent="todo_work", slots={}, require=["amount"]), str)


def _opening(text: str) -> str:
    return " ".join(text.lower().split()[:2])


def test_storyline_work_todos_and_requests_open_as_routine_ones_do():
    """A storyline's to-do and request mail land in wordings routine life also uses, so
    their template family is not mostly signal (the separability probe)."""
    steps = {s.id: s for s in load_storylines()["deadline_changed_in_chat"].steps}
    fill = {"{topic}": "the budget review", "{asker.first}": "Ann", "{project}": "atlas",
            "{date_text(due_first)}": "March 3"}

    def render(t: str) -> str:
        for k, v in fill.items():
            t = t.replace(k, v)
        return t

    n = 3000
    values = {"topic": np.full(n, "the budget review", dtype=object),
              "first": np.full(n, "Ann", dtype=object), "project": np.full(n, "atlas", object),
              "place": np.full(n, "the Anchor", dtype=object),
              "date": np.full(n, "March 3", dtype=object),
              "sender_first": np.full(n, "Bo", dtype=object),
              "time": np.full(n, "3:00 pm", dtype=object),
              "company": np.full(n, "Acme", dtype=object)}
    for step, column, intent in (("todo", "title", "todo_work"),
                                 ("request", "subject", "work_request")):
        spec = steps[step].text[column]
        assert isinstance(spec, PhrasingSpec)
        assert spec.intent == intent
        slots = {k: values[k] for k in GRAMMAR.intent(intent).slots}
        routine = {_opening(t) for t in GRAMMAR.sentences(
            intent, np.random.default_rng(0), slots, n, pool="subjects").to_pylist()}
        story = {_opening(phrasing.phrase(GRAMMAR, RngTree(9).child(f"sy_{i}"), step, column,
                                          spec, render)) for i in range(60)}
        assert len(story) >= 4  # several routine families, not one storyline wording
        assert story <= routine
