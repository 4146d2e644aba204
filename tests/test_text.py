"""The template grammar engine, the shipped templates, and the text-diversity measure."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from personas.text.diversity import DiversityReport, skeletons, text_diversity
from personas.text.grammar import Grammar, GrammarError, expand

TEMPLATES = Path(__file__).resolve().parents[1] / "personas" / "text" / "templates"

# Every intent the routines use: name -> (slots in order, has subjects).
EXPECTED: dict[str, tuple[tuple[str, ...], bool]] = {
    "work_request": (
        ("first", "sender_first", "project", "topic", "date", "time", "company"), True),
    "work_update": (("first", "sender_first", "project", "topic", "date", "company"), True),
    "work_reply": (("first", "sender_first", "project", "topic", "date", "time"), False),
    "work_fyi": (("first", "sender_first", "project", "topic", "company"), True),
    "work_client": (("first", "sender_first", "project", "company", "date", "amount"), True),
    "work_vendor": (("first", "company", "amount", "date", "project"), True),
    "work_announcement": (("company", "date", "topic", "time"), True),
    "meeting_followup": (("first", "project", "topic", "date", "time"), True),
    "personal_catchup": (("first", "sender_first", "place", "day", "date"), True),
    "personal_plans": (("first", "sender_first", "place", "day", "time", "date"), True),
    "personal_reply": (("first", "sender_first", "place", "day", "time"), False),
    "newsletter": (("source", "topic", "product", "amount", "date"), True),
    "promotion": (("merchant", "product", "amount", "percent", "date"), True),
    "spam": (("merchant", "amount", "code"), True),
    "order_confirmation": (("merchant", "product", "amount", "order_number", "date"), True),
    "shipping_update": (("carrier", "tracking", "product", "date", "merchant"), True),
    "price_alert": (("product", "amount", "old_amount", "merchant"), True),
    "bank_notice": (("bank", "amount", "date", "account"), True),
    "bank_alert": (("bank", "amount", "date", "account"), False),
    "subscription_notice": (("provider", "plan", "amount", "date"), False),
    "shipping_notice": (("carrier", "tracking", "product", "date", "merchant"), False),
    "subscription_receipt": (("provider", "plan", "amount", "date"), True),
    "travel_confirmation": (("airline", "code", "origin", "destination", "date", "time"), True),
    "calendar_invite": (("title", "date", "time", "location", "organizer"), True),
    "greeting": (("first",), False),
    "signoff": (("sender_first",), False),
    "chat_work": (("first", "project", "topic", "time", "day"), False),
    "chat_social": (("first", "place", "day", "topic"), False),
    "sms_family": (("first", "place", "time", "day"), False),
    "sms_friend": (("first", "place", "time", "day"), False),
    "sms_delivery": (("carrier", "tracking", "date", "merchant"), False),
    "sms_code": (("code", "merchant"), False),
    "sms_appointment": (("provider", "date", "time", "place", "phone"), False),
    "voicemail": (("first", "topic", "time", "day"), False),
    "note_meeting": (("project", "topic", "first", "date"), True),
    "note_gifts": (("product", "day"), True),
    "note_errands": (("product", "day"), True),
    "note_places": (("place", "day", "topic"), True),
    "note_ideas": (("topic", "day", "place"), True),
    "note_home": (("product", "day"), True),
    "note_gifts_for": (("first", "place", "product", "day"), True),
    "note_ask": (("first", "place", "day", "topic"), True),
    "note_money": (("day",), True),
    "todo": (("project", "topic", "first", "product", "place"), True),
    "todo_work": (("project", "topic", "first", "place"), True),
    "draft": (("first", "topic", "amount", "date"), False),
    "draft_greeting": (("first",), False),
    "feed_article": (("source", "topic", "place", "company"), True),
    "feed_post": (("first", "place", "topic", "product"), False),
    "meeting_project": (("project", "topic"), True),
    "meeting_person": (("first", "project", "topic"), True),
    "meeting_team": (("project", "topic"), True),
    "meeting_interview": (("topic",), True),
    "plans_meal": (("first", "place"), True),
    "plans_drinks": (("first", "place"), True),
    "plans_home": (("first",), True),
    "plans_family": (("first",), True),
    "appointment": ((), False),
}
EMAIL = (
    "work_request", "work_update", "work_reply", "work_fyi", "work_client", "work_vendor",
    "work_announcement", "meeting_followup", "personal_catchup", "personal_plans",
    "personal_reply", "newsletter", "promotion", "spam", "order_confirmation", "shipping_update",
    "price_alert", "bank_notice", "subscription_receipt", "travel_confirmation", "calendar_invite",
)
CONVERSATIONAL = ("work_request", "work_update", "work_reply", "work_fyi", "work_client",
                  "personal_catchup", "personal_plans", "personal_reply")
SHIPPED_FILES = ("work_email", "personal_email", "commerce", "chat", "sms", "notes", "feed",
                 "calendar", "framing")


def _grammar(tmp_path: Path, text: str, name: str = "t.toml") -> Grammar:
    (tmp_path / name).write_text(text)
    return Grammar.load(tmp_path)


def _fill(variant: str, values: dict[str, str]) -> str:
    return re.sub(r"<([a-z_]+)>", lambda m: values[m.group(1)], variant)


# -- the engine -----------------------------------------------------------------------------


def test_expand_yields_every_combination_once():
    out = expand("{a|b} and {c|d|e}.")
    expected = {f"{x} and {y}." for x, y in itertools.product("ab", "cde")}
    assert len(out) == 6
    assert set(out) == expected


def test_expand_cleans_up_after_empty_choices():
    assert set(expand("I {|really }like it{|, honestly}.")) == {
        "I like it.", "I really like it.", "I like it, honestly.", "I really like it, honestly."}


def test_expand_refuses_a_combinatorial_explosion():
    with pytest.raises(ValueError, match="variants"):
        expand("{a|b}" * 10)  # 1,024 variants


@pytest.mark.parametrize("template", ["Let me know{| {soon|tonight}}!", "Hi {there|you."])
def test_nested_or_unclosed_choices_are_a_grammar_error(tmp_path, template):
    text = f'[knotted]\ndescription = "x"\nsentences = ["Ok.", "{template}"]\n'
    with pytest.raises(GrammarError) as info:
        _grammar(tmp_path, text)
    assert "knotted" in info.value.key
    assert "[1]" in info.value.key
    assert "nest" in str(info.value)


def test_unknown_slot_is_a_grammar_error_naming_the_intent(tmp_path):
    text = ('[greet_boss]\ndescription = "x"\nslots = ["first"]\n'
            'sentences = ["Hi <first>.", "Hello <frist>."]\n')
    with pytest.raises(GrammarError) as info:
        _grammar(tmp_path, text)
    assert "greet_boss" in info.value.key
    assert "[1]" in info.value.key  # the offending template's index
    assert "frist" in str(info.value)


def test_too_many_slots_is_a_grammar_error(tmp_path):
    text = ('[busy]\ndescription = "x"\nslots = ["a"]\n'
            'sentences = ["<a> <a> <a> <a> <a> <a>."]\n')
    with pytest.raises(GrammarError) as info:
        _grammar(tmp_path, text)
    assert "busy" in info.value.key


def test_too_many_variants_is_a_grammar_error(tmp_path):
    text = '[wordy]\ndescription = "x"\nsentences = ["' + "{a|b}" * 10 + '."]\n'
    with pytest.raises(GrammarError) as info:
        _grammar(tmp_path, text)
    assert "wordy" in info.value.key


def test_intent_needs_description_and_sentences(tmp_path):
    with pytest.raises(GrammarError) as info:
        _grammar(tmp_path, '[bare]\nsentences = ["Hello."]\n')
    assert "bare" in info.value.key


def test_unknown_key_and_duplicate_intent_are_errors(tmp_path):
    with pytest.raises(GrammarError) as info:
        _grammar(tmp_path, '[a]\ndescription = "x"\nsentences = ["Hi."]\nsentence = ["Hi."]\n')
    assert "sentence" in info.value.key
    (tmp_path / "t.toml").unlink()
    (tmp_path / "one.toml").write_text('[dup]\ndescription = "x"\nsentences = ["Hi."]\n')
    with pytest.raises(GrammarError, match="twice"):
        _grammar(tmp_path, '[dup]\ndescription = "y"\nsentences = ["Yo."]\n', "two.toml")


_SMALL = """
[visit]
description = "test"
slots = ["who", "where", "when"]
subjects = ["{Visit|Trip} to <where>"]
sentences = [
  "{Meet|See} <who> at <where>.",
  "{Leave|Go} {early|late} on <when>.",
  "Bring {snacks|water} for <who>.",
  "<who> {likes|loves} <where> on <when>.",
  "No slots {here|there}.",
  "{Call|Text} <who> {first|after}.",
]
"""


def _small_slots(n: int) -> dict[str, np.ndarray]:
    return {k: np.array([f"{k}{i}" for i in range(n)], dtype=object)
            for k in ("who", "where", "when")}


def test_sentences_fill_each_row_from_its_own_slot_values(tmp_path):
    g = _grammar(tmp_path, _SMALL)
    n = 200
    slots = _small_slots(n)
    out = g.sentences("visit", np.random.default_rng(1), slots, n).to_pylist()
    variants = [v for t in (
        "{Meet|See} <who> at <where>.", "{Leave|Go} {early|late} on <when>.",
        "Bring {snacks|water} for <who>.", "<who> {likes|loves} <where> on <when>.",
        "No slots {here|there}.", "{Call|Text} <who> {first|after}.") for v in expand(t)]
    for i, s in enumerate(out):
        row = {k: v[i] for k, v in slots.items()}
        assert s in {_fill(v, row) for v in variants}, s
    # Every template gets drawn over 200 sentences.
    assert {s.split()[0] for s in out} >= {"Bring", "No"}
    subjects = g.sentences("visit", np.random.default_rng(1), slots, n, pool="subjects")
    assert all(s.endswith(f"to where{i}") for i, s in enumerate(subjects.to_pylist()))


def test_documents_use_distinct_templates_and_their_own_slots(tmp_path):
    g = _grammar(tmp_path, _SMALL)
    rng = np.random.default_rng(2)
    n = 300
    counts = rng.integers(0, 9, n)  # some beyond the six templates
    docs = g.documents("visit", rng, _small_slots(n), counts).to_pylist()
    assert len(docs) == n
    first_words = {"Meet": 0, "See": 0, "Leave": 1, "Go": 1, "Bring": 2, "No": 4, "Call": 5,
                   "Text": 5}
    for i, doc in enumerate(docs):
        parts = [p for p in re.split(r"(?<=\.) ", doc) if p]
        assert len(parts) == min(counts[i], 6)
        kinds = [3 if p.startswith("who") else first_words[p.split()[0]] for p in parts]
        assert len(set(kinds)) == len(kinds), doc  # no template twice in one document
        assert all(f"{i}" in p for p in parts if "slots" not in p)


def test_titled_rows_take_title_and_body_from_their_own_intent(tmp_path):
    g = _grammar(tmp_path, _SMALL + """
[chore]
description = "test"
slots = ["who"]
sentences = ["Sweep for <who>.", "Mop for <who>."]
""")
    n = 60
    intent_of = np.array(["visit", "chore"] * (n // 2), dtype=object)
    title, body = g.titled(intent_of, np.random.default_rng(4), _small_slots(n),
                           np.full(n, 2))
    for i in range(n):
        if intent_of[i] == "chore":  # no subjects: no title, chores only
            assert title[i] is None
            assert set(body[i].split(". ")) <= {f"Sweep for who{i}", f"Mop for who{i}.",
                                               f"Sweep for who{i}.", f"Mop for who{i}"}
        else:
            assert title[i].endswith(f"to where{i}")
            assert not re.search("Sweep|Mop", body[i])


def test_rendering_is_deterministic_for_a_seed(tmp_path):
    g = _grammar(tmp_path, _SMALL)
    n = 100
    slots = _small_slots(n)
    counts = np.full(n, 3)
    a = g.documents("visit", np.random.default_rng(5), slots, counts).to_pylist()
    b = g.documents("visit", np.random.default_rng(5), slots, counts).to_pylist()
    c = g.documents("visit", np.random.default_rng(6), slots, counts).to_pylist()
    assert a == b
    assert a != c


def test_a_document_s_sentences_are_joined_by_the_separator_asked_for(tmp_path):
    g = _grammar(tmp_path, _SMALL)
    n = 50
    slots, counts = _small_slots(n), np.random.default_rng(1).integers(1, 4, n)
    spaced = g.documents("visit", np.random.default_rng(5), slots, counts).to_pylist()
    listed = g.documents("visit", np.random.default_rng(5), slots, counts,
                         sep="\n").to_pylist()
    for doc, items, k in zip(spaced, listed, counts.tolist(), strict=True):
        assert len(items.split("\n")) == k  # an item a line...
        assert " ".join(items.split("\n")) == doc  # ...the same sentences


def test_missing_slot_value_is_reported(tmp_path):
    g = _grammar(tmp_path, _SMALL)
    with pytest.raises(KeyError, match="who"):
        g.sentences("visit", np.random.default_rng(0), {"where": np.array(["x"] * 50)}, 50)


# -- the shipped templates ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Grammar:
    return Grammar.load()


def test_every_shipped_template_file_loads(shipped):
    files = {p.stem for p in TEMPLATES.glob("*.toml")}
    assert set(SHIPPED_FILES) <= files
    assert "_example" not in files
    assert set(EXPECTED) <= set(shipped.intents)
    assert len(Grammar.load(TEMPLATES).intents) == len(shipped.intents)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_intent_has_exactly_the_expected_slots(shipped, name):
    slots, has_subjects = EXPECTED[name]
    intent = shipped.intent(name)
    assert intent.slots == slots
    assert (intent.subjects is not None) == has_subjects
    assert intent.description.strip()


def _templates(name: str) -> tuple[list[str], list[str]]:
    import tomllib

    for path in TEMPLATES.glob("*.toml"):
        data = tomllib.loads(path.read_text())
        if name in data:
            return data[name].get("subjects", []), data[name]["sentences"]
    raise AssertionError(name)


@pytest.mark.parametrize("name", EMAIL)
def test_email_intents_have_enough_templates(name):
    subjects, sentences = _templates(name)
    assert len(sentences) >= (25 if name in CONVERSATIONAL else 12)
    if EXPECTED[name][1]:
        assert len(subjects) >= 10


def test_framing_lines():
    _, greetings = _templates("greeting")
    _, signoffs = _templates("signoff")
    assert len(greetings) >= 8
    assert len(signoffs) >= 10
    for line in greetings + signoffs:
        for v in expand(line):
            assert v.endswith(",")
            assert "\n" not in v


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_variants_are_clean(name):
    subjects, sentences = _templates(name)
    for pool, templates in (("subjects", subjects), ("sentences", sentences)):
        for t in templates:
            for v in expand(t):
                assert v == v.strip(), v
                assert "  " not in v, v
                assert not re.search(r"[{}|]", v), v
                prose = re.sub(r"<[a-z_]+>", "", v)
                if not (pool == "subjects" and v.startswith("1:1")):
                    assert not re.search(r"\d", prose), f"literal number in {v!r}"
                if name in EMAIL and pool == "sentences":
                    assert v[-1] in ".?!", v
                    assert not re.match(r"(Hi|Hello|Hey|Dear|Good morning)\b", v), v
                    assert not re.fullmatch(r"[A-Z][a-z ]+,", v), v  # a sign-off line


def _values(name: str, n: int) -> dict[str, np.ndarray]:
    slots, _ = EXPECTED[name]
    return {s: np.array([f"{s.upper()}{i}" for i in range(n)], dtype=object) for s in slots}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_shipped_intent_renders(shipped, name):
    rng = np.random.default_rng(3)
    n = 64
    values = _values(name, n)
    pools = ["sentences"] + (["subjects"] if EXPECTED[name][1] else [])
    for pool in pools:
        for i, s in enumerate(shipped.sentences(name, rng, values, n, pool=pool).to_pylist()):
            assert not re.search(r"[<>{}]", s), s
            assert set(re.findall(r"\b[A-Z_]+(\d+)\b", s)) <= {str(i)}, s  # row i's values
    docs = shipped.documents(name, rng, values, np.full(n, 3)).to_pylist()
    assert all(d and not re.search(r"[<>{}]", d) for d in docs)


# -- diversity ------------------------------------------------------------------------------


def test_masking_replaces_slot_like_values():
    body = ("We paid $1,240.50 to Anna Chen for the Hale desk lamp on March 3 at 3:30 pm, "
            "and I'm told Priya will send order A12-345 by 2025-04-01 or Tuesday, 3 April.")
    out = skeletons([body], names=["Anna Chen"], products=["Hale desk lamp"]).to_list()
    assert out == ["we paid <amount> to <name> for the <product> on <date> at <time>, and i'm "
                   "told <name> will send order <num> by <date> or <date>."]


def test_sentence_start_is_not_masked_but_later_capitals_are():
    out = skeletons(["Hale shipped it to Berlin. I think Maria liked it!"]).to_list()
    assert out == ["hale shipped it to <name>.", "i think <name> liked it!"]


def test_greeting_quote_signature_and_attribution_are_dropped():
    body = ("Hi Anna,\n\nThe draft is ready. Could you review it?\n\nThanks,\nTom\n-- \n"
            "Tom Lee\nStaff engineer, Acme\n\nOn Monday, March 2, Anna wrote:\n> Is it ready?\n")
    quoted_only = "Sounds good.\n\nOn March 2, 2025 at 9:00 am, Ben wrote:\n> Lunch?\n> Or not."
    org = "Dear Sam,\n\nYour statement is ready.\n\nThe Harbor Bank team\n-- \nUnsubscribe here."
    assert skeletons([body, quoted_only, org]).to_list() == [
        "the draft is ready.", "could you review it?", "sounds good.", "your statement is ready."]


def test_one_repeated_sentence_is_one_skeleton():
    report = text_diversity(["Thanks for the update."] * 40)
    assert report == DiversityReport(sentences=40, skeletons=1, top_share=1.0, top10_share=1.0)


def test_sentences_differing_only_in_masked_values_collapse():
    names = ["Anna", "Ben", "Chloe"]
    same = [f"Please send {n} the ${k}.00 invoice by March {k}." for k, n in
            zip(range(1, 10), names * 3, strict=True)]
    report = text_diversity(same, names=names)
    assert report.sentences == 9
    assert report.skeletons == 1
    worded = [*same, "Please email Anna the $5.00 invoice by March 2."]
    assert text_diversity(worded, names=names).skeletons == 2
    unmasked = [f"Please send {w} the invoice." for w in ("it", "them", "him")]
    assert text_diversity(unmasked).skeletons == 3


def test_report_shares_and_inputs():
    bodies = ["A one. A two. A three.", "A one. B four."]
    report = text_diversity(pa.array(bodies))
    assert report == text_diversity(bodies)
    assert report.sentences == 5
    assert report.skeletons == 4
    assert report.top_share == pytest.approx(2 / 5)
    assert report.top10_share == pytest.approx(1.0)
    assert set(report.to_dict()) == {"sentences", "skeletons", "top_share", "top10_share"}
    assert text_diversity([]).to_dict() == {"sentences": 0, "skeletons": 0, "top_share": 0.0,
                                             "top10_share": 0.0}
    assert text_diversity(pa.array([None, ""], pa.string())).sentences == 0


# -- the shipped email corpus is diverse enough ---------------------------------------------

_FIRST = ["Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hiro", "Isla", "Jamal"]
_WORDS = {
    "project": ["payments API", "ledger migration", "fraud scoring", "Q2 roadmap"],
    "topic": ["the budget review", "the vendor contract", "the hiring plan", "the test results",
              "the holidays", "the house move", "trail running", "the renovation"],
    "place": ["the farmers' market", "our usual cafe", "the park by the river", "Seattle"],
    "company": ["Brightwater Labs", "Olsen Group", "Pinecrest Partners"],
    "product": ["Hale desk lamp", "Vance rain jacket", "Ortiz yoga mat", "Brook e-reader"],
    "merchant": ["Hale Outfitters", "Vance Supply Co"], "source": ["City Wire", "Tech Brief"],
    "carrier": ["ParcelPro", "SwiftShip"], "bank": ["Harbor Bank"], "provider": ["StreamBox"],
    "plan": ["Premium", "Individual"], "airline": ["Skyline Air"], "origin": ["Seattle"],
    "destination": ["Denver", "Austin"], "title": ["Sync on payments API", "Team lunch"],
    "location": ["Room 4B", "the main office"], "organizer": ["Anna Chen", "Ben Okafor"],
    "percent": ["10%", "20%", "30%"], "day": ["Monday", "Friday", "Saturday"],
}


def _slot_values(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    def pick(pool):
        return np.array(pool, dtype=object)[rng.integers(0, len(pool), n)]

    months = np.array(["March", "April", "May"], dtype=object)
    values = {k: pick(v) for k, v in _WORDS.items()}
    values |= {
        "first": pick(_FIRST), "sender_first": pick(_FIRST),
        "date": np.array([f"{m} {d}" for m, d in zip(pick(months), rng.integers(1, 29, n),
                                                     strict=True)], dtype=object),
        "time": np.array([f"{h}:{m:02d} pm" for h, m in zip(rng.integers(1, 12, n),
                                                          rng.integers(0, 12, n) * 5,
                                                          strict=True)], dtype=object),
        "amount": np.array([f"${v:,}.99" for v in rng.integers(5, 5000, n)], dtype=object),
        "code": np.array([f"SAVE{v}" for v in rng.integers(10, 99, n)], dtype=object),
        "order_number": np.array([f"#{v}" for v in rng.integers(10**5, 10**6, n)], dtype=object),
        "tracking": np.array([f"1Z{v}" for v in rng.integers(10**8, 10**9, n)], dtype=object),
        "account": np.array([f"****{v}" for v in rng.integers(1000, 9999, n)], dtype=object),
    }
    values["old_amount"] = values["amount"]
    return values


def test_shipped_email_bodies_are_diverse(shipped):
    """~5,000 emails of 3-5 sentences, intents uniform: the bar the routines must clear."""
    rng = np.random.default_rng(11)
    n = 5000
    intents = np.array(EMAIL, dtype=object)[rng.integers(0, len(EMAIL), n)]
    bodies: list[str] = []
    for name in EMAIL:
        k = int((intents == name).sum())
        values = _slot_values(rng, k)
        paragraphs = shipped.documents(name, rng, values, rng.integers(3, 6, k)).to_pylist()
        greetings = shipped.sentences("greeting", rng, values, k).to_pylist()
        signoffs = shipped.sentences("signoff", rng, values, k).to_pylist()
        for i in range(k):
            bodies.append(f"{greetings[i]}\n\n{paragraphs[i]}\n\n{signoffs[i]}\n"
                          f"{values['sender_first'][i]}\n-- \n{values['sender_first'][i]} Lee")
    report = text_diversity(bodies, names=_FIRST, products=_WORDS["product"])
    assert report.sentences > 15_000
    assert report.skeletons >= 300
    assert report.top_share <= 0.02
    assert report.top10_share <= 0.10
