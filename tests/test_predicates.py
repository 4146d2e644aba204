"""The portable predicate language: schema, every node on a pass and a near miss, variables,
normalised matching, Parquet round trips and the laws of not/all/any."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import jsonschema
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.predicates import (
    MAX_DEPTH,
    SCHEMA,
    VERSION,
    PredicateError,
    TableChanges,
    evaluate,
    load_state,
    normalise,
    validate,
)

TS = pl.Datetime("us", "UTC")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 2, 3, hour, minute, tzinfo=UTC)


def calendar(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(
        rows, orient="row",
        schema={"record_id": pl.String, "version": pl.Int32, "title": pl.String, "start": TS,
                "end": TS, "status": pl.String})


def mail(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(rows, orient="row", schema={
        "record_id": pl.String, "version": pl.Int32, "to_addresses": pl.String,
        "body": pl.String})


def payments(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(rows, orient="row", schema={
        "record_id": pl.String, "version": pl.Int32, "amount_minor": pl.Int64,
        "status": pl.String, "due": pl.Date})


STANDUP = ("ce_a", 1, "Standup", at(9), at(9, 15), "confirmed")
ONE_ON_ONE = ("ce_b", 1, "1:1 with Dana", at(14), at(14, 30), "confirmed")
REVIEW = ("ce_new", 1, "Café  Déjà review", at(10), at(11), "confirmed")
INVITE = ("m_new", 1, "dana@example.com, lee@example.com", "Invite: CAFE deja   Review at 10")
RENT = ("pay_1", 1, 120_000, "scheduled", date(2026, 2, 28))
INITIAL = {"calendar_events": calendar(STANDUP, ONE_ON_ONE), "work_emails": mail(),
           "payments": payments(RENT)}
GOOD = {"calendar_events": calendar(STANDUP, ONE_ON_ONE, REVIEW), "work_emails": mail(INVITE),
        "payments": payments(RENT)}


def variant(**tables: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {**GOOD, **tables}


STATES = {
    "good": GOOD,
    "initial": INITIAL,
    "wrong_slot": variant(calendar_events=calendar(
        STANDUP, ONE_ON_ONE, (*REVIEW[:3], at(11), at(12), "confirmed"))),
    "wrong_recipient": variant(work_emails=mail(("m_new", 1, "lee@example.com", INVITE[3]))),
    "extra_row": variant(calendar_events=calendar(
        STANDUP, ONE_ON_ONE, REVIEW, ("ce_dup", 1, "Café Déjà review", at(10), at(11), "x"))),
    "retitled": variant(calendar_events=calendar(
        STANDUP, (*ONE_ON_ONE[:2], "1:1 (moved)", *ONE_ON_ONE[3:]), REVIEW)),
    "version_bump": variant(calendar_events=calendar(STANDUP, (ONE_ON_ONE[0], 2,
                                                               *ONE_ON_ONE[2:]), REVIEW)),
    "paid_twice": variant(payments=payments(RENT, ("pay_2", 1, 120_000, "sent", None))),
    "overlap": variant(calendar_events=calendar(
        STANDUP, ONE_ON_ONE, (*REVIEW[:3], at(9), at(10), "confirmed"))),
    "back_to_back": variant(calendar_events=calendar(
        STANDUP, ONE_ON_ONE, (*REVIEW[:3], at(9, 15), at(10), "confirmed"))),
    "overlap_cancelled": variant(calendar_events=calendar(
        (*STANDUP[:5], "cancelled"), ONE_ON_ONE, (*REVIEW[:3], at(9), at(10), "confirmed"))),
    "no_mail_mention": variant(work_emails=mail(("m_new", 1, INVITE[2], "See you at ten"))),
}


def doc(node: dict) -> dict:
    return {"version": VERSION, "predicate": node}


def where(field: str, op: str, value: object) -> dict:
    return {"field": field, "op": op, "value": value}


def judge(node: dict, state: str = "good") -> bool:
    return evaluate(doc(node), STATES[state], INITIAL).passed


SLOT = {"op": "exists", "table": "calendar_events", "created": True,
        "where": [where("start", "=", "2026-02-03T11:00:00+01:00")]}
RECIPIENT = {"op": "exists", "table": "work_emails",
             "where": [where("to_addresses", "contains_normalised", "DANA@example.com")]}
ONE_NEW = {"op": "count", "table": "calendar_events", "created": True, "cmp": "==", "n": 1}
UNTOUCHED = {"op": "unchanged", "table": "calendar_events", "ids": ["ce_a", "ce_b"]}
NO_NEW_PAYMENT = {"op": "not_exists", "table": "payments", "created": True}
WINDOW = {"from": "2026-02-03T00:00:00+00:00", "to": "2026-02-04T00:00:00Z"}
FREE = {"op": "no_overlap", "table": "calendar_events", "window": WINDOW}
FREE_IGNORING_CANCELLED = {**FREE, "exclude_where": [where("status", "=", "cancelled")]}
DUE_ELSEWHEN = {"op": "exists", "table": "payments", "where": [where("due", "!=", "2026-02-28")]}
MENTIONED = {"op": "all", "of": [
    {**SLOT, "bind": "ev"},
    {"op": "exists", "table": "work_emails", "created": True,
     "where": [where("body", "contains_normalised", {"var": "ev", "field": "title"})]}]}


@pytest.mark.parametrize(("node", "state", "passed"), [
    (SLOT, "good", True), (SLOT, "wrong_slot", False), (SLOT, "initial", False),
    (RECIPIENT, "good", True), (RECIPIENT, "wrong_recipient", False),
    (ONE_NEW, "good", True), (ONE_NEW, "extra_row", False), (ONE_NEW, "initial", False),
    ({**ONE_NEW, "cmp": ">=", "n": 2}, "extra_row", True),
    (UNTOUCHED, "good", True), (UNTOUCHED, "retitled", False), (UNTOUCHED, "version_bump", True),
    (NO_NEW_PAYMENT, "good", True), (NO_NEW_PAYMENT, "paid_twice", False),
    ({"op": "exists", "table": "calendar_events", "changed": True}, "retitled", True),
    ({"op": "exists", "table": "calendar_events", "changed": True}, "version_bump", False),
    (FREE, "good", True), (FREE, "overlap", False), (FREE, "back_to_back", True),
    (FREE, "overlap_cancelled", False),
    (FREE_IGNORING_CANCELLED, "overlap_cancelled", True),
    (FREE_IGNORING_CANCELLED, "overlap", False),
    ({**FREE, "window": {"from": "2026-02-03T12:00:00Z", "to": "2026-02-03T18:00:00Z"}},
     "overlap", True),  # the clash lies outside the window
    ({"op": "all", "of": [SLOT, RECIPIENT]}, "good", True),
    ({"op": "all", "of": [SLOT, RECIPIENT]}, "wrong_recipient", False),
    ({"op": "any", "of": [SLOT, RECIPIENT]}, "wrong_recipient", True),
    ({"op": "any", "of": [SLOT, RECIPIENT]}, "initial", False),
    ({"op": "not", "of": SLOT}, "good", False), ({"op": "not", "of": SLOT}, "wrong_slot", True),
    (DUE_ELSEWHEN, "good", False), (DUE_ELSEWHEN, "paid_twice", True),  # null due != a date
    (MENTIONED, "good", True), (MENTIONED, "no_mail_mention", False),
    (MENTIONED, "wrong_slot", False), (MENTIONED, "initial", False),
])
def test_each_node_passes_and_fails_on_a_near_miss(node: dict, state: str, passed: bool):
    assert judge(node, state) is passed


def brute_changes(final: dict, initial: dict) -> dict[str, TableChanges]:
    """What differs between two states, row by row (content: all but ``version``)."""
    out = {}
    for name in initial.keys() | final.keys():
        def content(state, name=name):
            frame = state.get(name, pl.DataFrame())
            return {r["record_id"]: {k: v for k, v in r.items() if k != "version"}
                    for r in frame.rows(named=True)}
        old, new = content(initial), content(final)
        known = TableChanges(frozenset(new.keys() - old.keys()),
                             frozenset(r for r in new.keys() & old.keys() if new[r] != old[r]),
                             frozenset(old.keys() - new.keys()))
        if known != TableChanges():
            out[name] = known
    return out


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("node", [
    SLOT, RECIPIENT, ONE_NEW, UNTOUCHED, NO_NEW_PAYMENT, FREE_IGNORING_CANCELLED, MENTIONED,
    {"op": "exists", "table": "calendar_events", "changed": True,
     "where": [where("title", "contains_normalised", "moved")]},
    {"op": "unchanged", "table": "calendar_events", "ids": ["ce_b", "ce_zz"]},
    {"op": "not", "of": {"op": "count", "table": "work_emails", "created": True, "cmp": ">",
                         "n": 0}}])
def test_knowing_the_changes_gives_the_same_verdict(node: dict, state: str):
    final, changes = STATES[state], brute_changes(STATES[state], INITIAL)

    def outcome(**kwargs):
        try:
            return evaluate(doc(node), final, INITIAL, **kwargs)
        except PredicateError as exc:
            return f"error: {exc}"

    assert outcome(changes=changes) == outcome()


@pytest.mark.parametrize(("condition", "passed"), [
    (where("amount_minor", "between", [100_000, 120_000]), True),
    (where("amount_minor", "between", [120_001, 200_000]), False),
    (where("amount_minor", "<", 120_000), False),
    (where("amount_minor", ">=", 120_000), True),
    (where("status", "in", ["scheduled", "sent"]), True),
    (where("status", "in", ["sent", None]), False),
    (where("status", "!=", "sent"), True),
    (where("due", "<=", "2026-02-28"), True),
    (where("due", "<", "2026-02-28"), False),
    (where("due", "=", None), False),
    (where("due", "!=", None), True),
])
def test_conditions_read_values_as_the_column_type(condition: dict, passed: bool):
    assert judge({"op": "exists", "table": "payments", "where": [condition]}) is passed


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(max_codepoint=0x17F), max_size=24))
def test_normalise_takes_a_shortcut_for_ascii_only_where_it_is_exact(text: str):
    import unicodedata
    bare = "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))
    assert normalise(text) == " ".join(bare.casefold().split())


def test_contains_normalised_ignores_case_accents_and_whitespace():
    assert normalise("Café  Déjà") == "cafe deja"
    assert "cafe deja" in normalise("Ｃａｆé\tDÉJÀ vu")
    node = {"op": "exists", "table": "calendar_events",
            "where": [where("title", "contains_normalised", "cafe deja")]}
    assert judge(node) is True
    assert judge(node, "initial") is False


def test_reasons_name_the_failing_node():
    verdict = evaluate(doc({"op": "all", "of": [RECIPIENT, SLOT]}), STATES["wrong_slot"],
                       INITIAL)
    assert verdict.reasons == [
        "predicate.of[1]: no row of calendar_events created by the agent where "
        "start = 2026-02-03T11:00:00+01:00"]
    assert "ce_a (2026-02-03T09:00:00+00:00 to 2026-02-03T09:15:00+00:00) overlaps ce_new" in (
        evaluate(doc(FREE), STATES["overlap"]).reasons[0])
    assert "ce_b changed (title)" in evaluate(doc(UNTOUCHED), STATES["retitled"],
                                              INITIAL).reasons[0]


GOOD_DOCS = [SLOT, RECIPIENT, ONE_NEW, UNTOUCHED, NO_NEW_PAYMENT, FREE, FREE_IGNORING_CANCELLED,
             MENTIONED, {"op": "not", "of": {"op": "any", "of": [SLOT, RECIPIENT]}}]
BAD_DOCS = [  # (node, path named by validate)
    ({"op": "exist", "table": "t"}, "predicate.op"),
    ({"op": "exists"}, "predicate"),
    ({"op": "count", "table": "t", "cmp": "=<", "n": 1}, "predicate.cmp"),
    ({"op": "count", "table": "t", "cmp": "==", "n": -1}, "predicate.n"),
    ({"op": "exists", "table": "t", "colour": "red"}, "predicate"),
    ({"op": "all", "of": [SLOT, {"op": "not"}]}, "predicate.of[1]"),
    ({"op": "any", "of": []}, "predicate.of"),
    ({"op": "exists", "table": "t", "where": [where("a", "between", [1])]},
     "predicate.where[0].value"),
    ({"op": "exists", "table": "t", "where": [where("a", "like", "x")]},
     "predicate.where[0].op"),
    ({"op": "exists", "table": "t", "where": [where("a", "<", None)]},
     "predicate.where[0].value"),
    ({"op": "exists", "table": "t", "created": True, "changed": True}, "predicate"),
    ({**FREE, "window": {"from": "2026-02-03T00:00:00", "to": "2026-02-04T00:00:00Z"}},
     "predicate.window.from"),
    ({"op": "unchanged", "table": "t", "ids": []}, "predicate.ids"),
]


@pytest.mark.parametrize("node", GOOD_DOCS)
def test_good_documents_pass_schema_and_validate(node: dict):
    jsonschema.validate(doc(node), SCHEMA, cls=jsonschema.Draft202012Validator)
    validate(doc(node))


@pytest.mark.parametrize(("node", "path"), BAD_DOCS)
def test_schema_and_validate_reject_bad_documents(node: dict, path: str):
    assert not jsonschema.Draft202012Validator(SCHEMA).is_valid(doc(node))
    with pytest.raises(PredicateError) as caught:
        validate(doc(node))
    assert caught.value.path == path


def test_validate_agrees_with_the_shipped_schema():
    docs = [doc(n) for n in GOOD_DOCS] + [doc(n) for n, _ in BAD_DOCS] + [
        {"version": "lifeloom.predicate/2", "predicate": SLOT}, {"predicate": SLOT},
        {**doc(SLOT), "extra": 1}]
    for document in docs:
        try:
            validate(document)
            ours = True
        except PredicateError:
            ours = False
        assert ours == jsonschema.Draft202012Validator(SCHEMA).is_valid(document), document


def nest(depth: int) -> dict:
    node = SLOT
    for _ in range(depth - 1):
        node = {"op": "not", "of": node}
    return node


@pytest.mark.parametrize(("node", "path"), [  # what the schema cannot say
    ({"op": "exists", "table": "t", "where": [where("a", "=", {"var": "ev", "field": "x"})]},
     "predicate.where[0].value"),
    ({"op": "all", "of": [MENTIONED["of"][1], MENTIONED["of"][0]]}, "predicate.of[0].where[0]"
     ".value"),
    ({"op": "all", "of": [{"op": "any", "of": [MENTIONED["of"][0]]}, MENTIONED["of"][1]]},
     "predicate.of[1].where[0].value"),
    ({"op": "all", "of": [MENTIONED["of"][0], MENTIONED["of"][0]]}, "predicate.of[1].bind"),
    ({"op": "all", "of": [MENTIONED, MENTIONED["of"][1]]}, "predicate.of[1].where[0].value"),
    ({**FREE, "window": {"from": WINDOW["to"], "to": WINDOW["from"]}}, "predicate.window"),
    (nest(MAX_DEPTH + 1), "predicate" + ".of" * MAX_DEPTH),
])
def test_validate_rejects_what_only_it_can_see(node: dict, path: str):
    with pytest.raises(PredicateError) as caught:
        validate(doc(node))
    assert caught.value.path == path
    validate(doc(nest(MAX_DEPTH)))


@pytest.mark.parametrize(("node", "path", "why"), [
    ({"op": "exists", "table": "emails"}, "predicate.table", "no table"),
    ({"op": "exists", "table": "payments", "where": [where("amount", "=", 1)]},
     "predicate.where[0].field", "no column"),
    ({"op": "exists", "table": "calendar_events", "where": [
        where("start", "<", "2026-02-03T10:00:00")]}, "predicate.where[0].value", "offset"),
    ({"op": "exists", "table": "payments", "where": [where("due", "=", "28/02/2026")]},
     "predicate.where[0].value", "YYYY-MM-DD"),
    ({"op": "exists", "table": "payments", "where": [where("amount_minor", "=", "12")]},
     "predicate.where[0].value", "number"),
    ({"op": "exists", "table": "payments",
      "where": [where("amount_minor", "contains_normalised", "12")]}, "predicate.where[0]",
     "text column"),
    ({"op": "unchanged", "table": "calendar_events", "ids": ["ce_new"]}, "predicate.ids[0]",
     "not in the initial state"),
    ({"op": "all", "of": [{**SLOT, "bind": "ev"}, {"op": "exists", "table": "work_emails",
                                                  "where": [where("body", "=", {
                                                      "var": "ev", "field": "nope"})]}]},
     "predicate.of[1].where[0].value", "no column"),
])
def test_documents_that_do_not_fit_the_state_are_errors(node: dict, path: str, why: str):
    with pytest.raises(PredicateError) as caught:
        evaluate(doc(node), GOOD, INITIAL)
    assert caught.value.path == path
    assert why in caught.value.why


def test_created_needs_the_initial_state():
    with pytest.raises(PredicateError, match="initial state"):
        evaluate(doc(SLOT), GOOD)


def write_state(root, state: dict[str, pl.DataFrame], *, split: bool) -> None:
    root.mkdir()
    for name, frame in state.items():
        if split:
            (root / name).mkdir()
            frame.head(1).write_parquet(root / name / "part-0.parquet")
            frame.slice(1).write_parquet(root / name / "part-1.parquet")
        else:
            frame.write_parquet(root / f"{name}.parquet")


@pytest.mark.parametrize("split", [False, True])
def test_parquet_round_trip_gives_the_same_verdicts(tmp_path, split: bool):
    nodes = [SLOT, RECIPIENT, ONE_NEW, UNTOUCHED, NO_NEW_PAYMENT, FREE, FREE_IGNORING_CANCELLED,
             MENTIONED]
    write_state(tmp_path / "before", INITIAL, split=split)
    for name, state in STATES.items():
        write_state(tmp_path / name, state, split=split)
        loaded = load_state(tmp_path / name)
        assert sorted(loaded) == sorted(state)
        for node in nodes:
            in_memory = evaluate(doc(node), state, INITIAL)
            assert evaluate(doc(node), loaded, tmp_path / "before") == in_memory, (name, node)


def test_missing_tables_are_empty_only_when_the_manifest_lists_them(tmp_path):
    write_state(tmp_path / "s", {"payments": GOOD["payments"]}, split=False)
    no_mail = {"op": "not_exists", "table": "work_emails",
               "where": [where("body", "contains_normalised", "x")]}
    with pytest.raises(PredicateError, match="no table 'work_emails'"):
        evaluate(doc(no_mail), tmp_path / "s")
    (tmp_path / "s" / "manifest.json").write_text(json.dumps({"tables": {"work_emails": {}}}))
    assert evaluate(doc(no_mail), tmp_path / "s").passed
    (tmp_path / "s" / "payments").mkdir()
    GOOD["payments"].write_parquet(tmp_path / "s" / "payments" / "a.parquet")
    with pytest.raises(PredicateError, match="both a file and a folder"):
        load_state(tmp_path / "s")


CONDITIONS = st.sampled_from([
    where("status", "=", "confirmed"), where("status", "!=", "cancelled"),
    where("title", "contains_normalised", "deja"), where("start", "<", "2026-02-03T12:00:00Z"),
    where("end", "between", ["2026-02-03T09:00:00Z", "2026-02-03T10:00:00Z"]),
    where("record_id", "in", ["ce_a", "ce_new"]),
])
LEAVES = st.one_of(
    st.builds(lambda w, c: {"op": "exists", "table": "calendar_events", "where": w,
                            **({"created": True} if c else {})},
              st.lists(CONDITIONS, max_size=2), st.booleans()),
    st.builds(lambda w: {"op": "not_exists", "table": "calendar_events", "where": w},
              st.lists(CONDITIONS, max_size=2)),
    st.builds(lambda w, cmp, n: {"op": "count", "table": "calendar_events", "where": w,
                                 "cmp": cmp, "n": n},
              st.lists(CONDITIONS, max_size=2), st.sampled_from(["==", "<", ">="]),
              st.integers(0, 3)),
    st.builds(lambda ids: {"op": "unchanged", "table": "calendar_events", "ids": ids},
              st.lists(st.sampled_from(["ce_a", "ce_b"]), min_size=1, max_size=2)),
    st.sampled_from([FREE, FREE_IGNORING_CANCELLED, MENTIONED]),
)
NODES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.builds(lambda of: {"op": "all", "of": of}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda of: {"op": "any", "of": of}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda of: {"op": "not", "of": of}, inner)), max_leaves=6)


@settings(max_examples=60)
@given(node=NODES, state=st.sampled_from(sorted(STATES)))
def test_not_flips_all_of_one_is_itself_and_any_p_or_not_p_holds(node: dict, state: str):
    passed = judge(node, state)
    assert judge({"op": "not", "of": node}, state) is not passed
    assert judge({"op": "all", "of": [node]}, state) is passed
    assert judge({"op": "any", "of": [node, {"op": "not", "of": node}]}, state) is True
