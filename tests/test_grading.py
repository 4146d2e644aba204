"""Grading: references and valid alternatives pass; near misses fail, each for its reason."""

import datetime as dt

import polars as pl
import pyarrow as pa
import pytest

from scenarios.grading import Fact, Oracle, Scope, WrongValue, grade
from scenarios.predicates import TableChanges
from sim.snapshot import snapshot_schema
from sim.tools import Toolbox
from sim.workspace import Workspace

AS_OF = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
USER = {"name": "Sam Rivera", "email": "sam@home.example", "work_email": "sam@work.example"}
SERVICES = ["calendar", "notes", "personal_email", "sms"]
V = "lifeloom.predicate/1"


def _event(rid, title, start, minutes):
    start = dt.datetime.fromisoformat(start)
    end = start + dt.timedelta(minutes=minutes)
    return {"record_id": rid, "version": 1, "valid_from": AS_OF - dt.timedelta(days=3),
            "series_id": None, "title": title, "description": "", "location": "",
            "start": start, "end": end, "all_day": False, "start_date": start.date(),
            "end_date": end.date(), "organizer": "Sam Rivera", "attendees": "Sam Rivera",
            "status": "confirmed", "calendar": "personal"}


def _mail(rid, sender, subject, body):
    at = AS_OF - dt.timedelta(days=1)
    return {"record_id": rid, "version": 1, "valid_from": at, "thread_id": "th_" + rid,
            "folder": "inbox", "from_name": sender, "from_address": f"{sender.lower()}@ex.com",
            "to_addresses": USER["email"], "cc_addresses": "", "subject": subject,
            "body": body, "sent_at": at, "in_reply_to": None, "related_id": None}


SNAPSHOT = {
    "calendar_events": pa.Table.from_pylist([
        _event("ev_sync", "Team sync", "2026-03-04T10:00:00+00:00", 60),
        _event("ev_dentist", "Dentist", "2026-03-03T09:00:00+00:00", 30)],
        schema=snapshot_schema("calendar_events")),
    "personal_emails": pa.Table.from_pylist([
        _mail("pm_ann", "Ann", "Your refund", "We will refund $49.99 within 5 days."),
        _mail("pm_shop", "Shop", "Refund for order 77", "A refund of $59.99 was issued.")],
        schema=snapshot_schema("personal_emails")),
}

MOVE_DENTIST = Oracle(
    year=2026,
    required={"version": V, "predicate": {"op": "all", "of": [
        {"op": "exists", "table": "calendar_events", "changed": True, "where": [
            {"field": "record_id", "op": "=", "value": "ev_dentist"},
            {"field": "start", "op": "between",
             "value": ["2026-03-04T08:00:00+00:00", "2026-03-04T16:30:00+00:00"]},
            {"field": "status", "op": "=", "value": "confirmed"}]},
        {"op": "no_overlap", "table": "calendar_events",
         "window": {"from": "2026-03-04T00:00:00+00:00", "to": "2026-03-05T00:00:00+00:00"},
         "exclude_where": [{"field": "status", "op": "=", "value": "cancelled"}]}]}},
    scope=(Scope("calendar_events", ids=("ev_dentist",)),))

REFUND = Oracle(year=2026, facts=(Fact("refund", "amount", 4999),),
                wrong=(WrongValue("refund", "amount", 5999, "distractor"),))

TELL_ANN = Oracle(
    year=2026,
    required={"version": V, "predicate": {"op": "exists", "table": "personal_emails",
                                          "created": True, "where": [
        {"field": "to_addresses", "op": "contains_normalised", "value": "ann@ex.com"},
        {"field": "body", "op": "contains_normalised", "value": "tuesday"}]}},
    scope=(Scope("personal_emails", created=True),))


def run(oracle: Oracle, calls: list[tuple[str, dict]], reply: str = ""):
    ws = Workspace(SNAPSHOT, as_of_us=int(AS_OF.timestamp() * 1e6), salt="run")
    box = Toolbox(ws, SERVICES, user=USER)
    for name, args in calls:
        box.call(name, args)
    initial = {k: pl.from_arrow(v) for k, v in SNAPSHOT.items()}
    final = {k: pl.from_arrow(v) for k, v in ws.final_state().items()}
    plain = grade(oracle, initial, final, reply, box.log)
    # The workspace's own account of what changed must give the very same grade.
    changes = {t: TableChanges(*ids) for t, ids in ws.diff().items()}
    assert grade(oracle, initial, final, reply, box.log, changes=changes) == plain
    return plain


def _move(start: str, record: str = "ev_dentist", minutes: int = 30):
    end = dt.datetime.fromisoformat(start) + dt.timedelta(minutes=minutes)
    return ("calendar_update", {"id": record, "start": start, "end": end.isoformat()})


@pytest.mark.parametrize("slot", ["2026-03-04T12:00:00+00:00", "2026-03-04T14:30:00+00:00",
                                  "2026-03-04T09:00:00+00:00"])
def test_any_free_slot_that_day_passes(slot):
    result = run(MOVE_DENTIST, [_move(slot)])
    assert result.passed, result.checks
    assert result.score == 1.0


@pytest.mark.parametrize(("calls", "failing"), [
    ([_move("2026-03-04T10:15:00+00:00")], ["required effects"]),  # clashes with the sync
    ([_move("2026-03-05T12:00:00+00:00")], ["required effects"]),  # wrong day
    ([_move("2026-03-04T12:00:00+00:00", record="ev_sync", minutes=60)],
     ["required effects", "no harmful collateral"]),  # moved the wrong meeting
    ([_move("2026-03-04T12:00:00+00:00"), ("sms_send", {"to": "+1 555 0100", "text": "hi"})],
     ["no harmful collateral"]),  # right move plus an unrelated text
    ([_move("2026-03-04T12:00:00+00:00"), ("calendar_cancel", {"id": "ev_sync"})],
     ["no harmful collateral"]),
])
def test_near_misses_fail_for_their_reason(calls, failing):
    result = run(MOVE_DENTIST, calls)
    assert not result.passed
    assert [c.name for c in result.checks if not c.passed] == failing


def test_a_note_of_ones_own_is_benign_collateral():
    result = run(MOVE_DENTIST, [("notes_create", {"title": "moved dentist"}),
                                _move("2026-03-04T12:00:00+00:00")])
    assert result.passed
    assert result.collateral["benign"]
    assert 0.5 <= result.score < 1.0


def test_a_fact_must_be_stated_grounded_and_alone():
    read = [("personal_email_read", {"id": "pm_ann"})]
    assert run(REFUND, read, "Ann will refund $49.99.").passed
    assert run(REFUND, read, "It's 49.99 dollars, i.e. 49.99").passed
    assert not run(REFUND, [], "Ann will refund $49.99.").passed  # never looked it up
    assert not run(REFUND, read, "I could not find it.").passed
    both = run(REFUND, [*read, ("personal_email_read", {"id": "pm_shop"})],
               "Either $49.99 or $59.99.")
    assert not both.passed
    assert "distractor" in both.checks[0].reason


# The dentist moved from 9:00 to 11:30 (local, New York); a look-alike shows 14:00.
DENTIST_TIME = Oracle(
    year=2026, tz="America/New_York",
    facts=(Fact("dentist time", "text", "11:30 am", contrastive=True),),
    wrong=(WrongValue("dentist time", "text", "9:00 am", "superseded"),
           WrongValue("dentist time", "text", "2:00 pm", "distractor")))


def test_clock_times_count_in_either_form_and_as_the_local_time_of_an_instant():
    def facts_ok(reply: str) -> bool:  # graded on its reply alone: nothing to ground
        return grade(DENTIST_TIME, {}, {}, reply, [], replayed=False).checks[0].passed

    assert facts_ok("It's at 11:30 am now.")
    assert facts_ok("It's at 11:30 now.")  # 24-hour form, before noon
    assert facts_ok("start: 2026-03-03T16:30:00+00:00")  # 11:30 in New York
    assert not facts_ok("start: 2026-03-03T11:30:00+00:00")  # 06:30 in New York
    assert not facts_ok("It's at 11:30 pm.")


def test_an_instant_grounds_the_day_it_falls_on_where_the_user_is():
    from scenarios.grading.facts import grounded, seen

    # A dinner at 21:00 in New York on March 2 is 02:00 UTC on March 3: a tool that shows
    # its instant has shown March 2, not March 3. A date column is a local day as written.
    shown = seen([{"tool": "calendar_read", "result": {
                      "record": {"start": "2026-03-03T02:00:00+00:00", "start_date": None}}},
                  {"tool": "todos_read", "result": {"record": {"due_date": "2026-03-10"}}}])
    tz = "America/New_York"
    assert grounded("date", "2026-03-02", shown, 2026, tz)
    assert not grounded("date", "2026-03-03", shown, 2026, tz)
    assert grounded("date", "2026-03-10", shown, 2026, tz)
    assert grounded("date", "2026-03-03", shown, 2026, "UTC")


def test_a_contrastive_slot_forgives_the_superseded_value_never_a_lookalikes():
    def facts_ok(reply: str) -> bool:
        return grade(DENTIST_TIME, {}, {}, reply, [], replayed=False).checks[0].passed

    assert facts_ok("Moved from 9:00 am to 11:30 am.")
    assert not facts_ok("It's at 11:30 am, or maybe 2:00 pm.")
    assert not facts_ok("It's at 11:30 am; the other one says 2026-03-03T19:00:00+00:00.")


def test_a_lookalike_s_own_clock_times_and_days_are_wrong_however_it_words_them():
    from scenarios.distractors import Lookalike
    from scenarios.tasks import shown_only

    # A look-alike calendar entry at another slot on the same day: its start is an instant,
    # while the fact is written as a clock time; the record it imitates starts at 9:00.
    entry = Lookalike("calendar_events", "ce_x", 0, "si_x", "entry", "high", "slot", 0.9,
                      shown="Dentist\n2026-03-03T19:00:00+00:00\n2026-03-03T20:00:00+00:00",
                      imitated="Dentist\n2026-03-03T14:00:00+00:00\n2026-03-03T15:00:00+00:00")
    tz = "America/New_York"
    assert shown_only(DENTIST_TIME.facts[0], entry, 2026, tz) == ["14:00", "15:00"]
    assert shown_only(Fact("day", "date", "2026-03-03"), entry, 2026, tz) == []
    moved = Lookalike("sms_messages", "sm_x", 0, "si_x", "moved", "high", "day", 0.9,
                      shown="Your visit is moved to Friday, March 6 at 2:00 pm ($40 fee).",
                      imitated="Your visit is moved to Thursday, March 5 at 2:00 pm ($40 fee).")
    assert shown_only(Fact("day", "date", "2026-03-05"), moved, 2026, tz) == ["2026-03-06"]
    assert shown_only(DENTIST_TIME.facts[0], moved, 2026, tz) == []
    assert shown_only(Fact("fee", "amount", 4000), moved, 2026, tz) == []
    assert shown_only(Fact("provider", "text", "Dr Lee"), moved, 2026, tz) == []


def test_a_new_mail_or_a_reply_both_pass_but_not_to_the_wrong_person():
    new = ("personal_email_send", {"to": ["ann@ex.com"], "subject": "Dentist",
                                   "body": "Moved to Tuesday noon."})
    reply = ("personal_email_reply", {"id": "pm_ann", "body": "See you Tuesday."})
    wrong = ("personal_email_send", {"to": ["shop@ex.com"], "subject": "Dentist",
                                     "body": "Moved to Tuesday noon."})
    assert run(TELL_ANN, [new]).passed
    assert run(TELL_ANN, [reply]).passed
    assert not run(TELL_ANN, [wrong]).passed


def test_independent_writes_pass_in_either_order():
    both = Oracle(year=2026, required={"version": V, "predicate": {"op": "all", "of": [
        MOVE_DENTIST.required["predicate"], TELL_ANN.required["predicate"]]}},
        scope=MOVE_DENTIST.scope + TELL_ANN.scope)
    move = _move("2026-03-04T12:00:00+00:00")
    mail = ("personal_email_send", {"to": ["ann@ex.com"], "subject": "x", "body": "Tuesday"})
    assert run(both, [move, mail]).passed
    assert run(both, [mail, move]).passed
    assert run(both, [mail, move]).claw_score == 1.0


def test_only_what_reading_tools_returned_grounds_a_fact():
    """An agent that writes a fact into a note, or asks for a record named after it, gets
    its own words back; neither shows it the world."""
    from scenarios.grading.facts import grounded, seen

    fact = "Family dinner at Kiara's"
    echoes = [
        {"tool": "calendar_read", "args": {"id": fact},
         "result": {"error": {"code": "not_found", "message": f"no record {fact!r}"}}},
        {"tool": "notes_create", "args": {"title": fact},
         "result": {"record": {"record_id": "nt_1", "title": fact}}},
    ]
    assert not grounded("text", fact, seen(echoes), 2026)
    found = {"tool": "calendar_search", "args": {"query": "dinner"},
             "result": {"results": [{"title": fact}], "total": 1}}
    assert grounded("text", fact, seen([*echoes, found]), 2026)

