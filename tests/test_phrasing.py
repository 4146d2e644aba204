"""Storyline phrasing: listed alternatives and routine intents, chosen per instance."""

import pytest
from pydantic import ValidationError

from personas.text.grammar import Grammar
from scenarios import phrasing
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
