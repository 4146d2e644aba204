"""Agent tools: valid function-calling schemas, documented search rules, errors not crashes."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import jsonschema
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.services import CATALOGUE
from sim.snapshot import snapshot_schema
from sim.tools import NAME, PAGE, Toolbox
from sim.workspace import Workspace

AS_OF = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def _mail(i: int, days_ago: float, subject: str, body: str = "hello") -> dict:
    at = AS_OF - dt.timedelta(days=days_ago)
    return {"record_id": f"pm_{i:03d}", "version": 1, "valid_from": at, "thread_id": f"th_{i}",
            "folder": "inbox", "from_name": "Ann Lee", "from_address": "ann@example.com",
            "to_addresses": "me@example.com", "cc_addresses": "", "subject": subject,
            "body": body, "sent_at": at, "in_reply_to": None, "related_id": None}


@pytest.fixture
def box():
    rows = [_mail(i, days_ago=i * 0.5, subject=f"Invoice {i}" if i % 3 else f"Lunch {i}")
            for i in range(50)]
    rows.append(_mail(99, days_ago=45, subject="Old invoice from the plumber"))
    mail = pa.Table.from_pylist(rows, schema=snapshot_schema("personal_emails"))
    ws = Workspace({"personal_emails": mail}, as_of_us=int(AS_OF.timestamp() * 1e6))
    return Toolbox(ws, ["personal_email", "notes"])


def test_every_service_offers_valid_function_calling_schemas():
    box = Toolbox(Workspace({}, as_of_us=0), sorted(CATALOGUE))
    names = [s["name"] for s in box.specs()]
    assert len(names) == len(set(names))
    for service in CATALOGUE:
        assert {f"{service}_search", f"{service}_list", f"{service}_read"} <= set(names)
    assert {"ask_user", "notify_user", "calendar_cancel", "work_email_reply"} <= set(names)
    for spec in box.specs():
        assert NAME.match(spec["name"])
        jsonschema.Draft202012Validator.check_schema(spec["parameters"])
        assert spec["description"]


def test_search_is_token_and_case_insensitive_newest_first_and_paged(box):
    hits = box.call("personal_email_search", {"query": "INVOICE"})
    assert hits["total"] == 33  # 50 mails over 25 days, 17 of them lunches; none too old
    assert len(hits["results"]) == PAGE
    times = [r["sent_at"] for r in hits["results"]]
    assert times == sorted(times, reverse=True)
    second = box.call("personal_email_search", {"query": "invoice", "page": 2})
    assert len(second["results"]) == 13
    assert not {r["record_id"] for r in second["results"]} & {r["record_id"]
                                                             for r in hits["results"]}
    assert box.call("personal_email_search", {"query": "invoice 7"})["total"] == 1


def test_older_history_needs_an_explicit_range(box):
    assert box.call("personal_email_search", {"query": "plumber"})["total"] == 0
    found = box.call("personal_email_search", {"query": "plumber", "since": "2026-01-01"})
    assert [r["record_id"] for r in found["results"]] == ["pm_099"]


def _event(i: int, start: dt.datetime | None, title: str, day: dt.date | None = None) -> dict:
    return {"record_id": f"ce_{i:03d}", "version": 1, "valid_from": AS_OF - dt.timedelta(days=60),
            "series_id": None, "title": title, "description": "", "location": "",
            "start": start, "end": start and start + dt.timedelta(hours=1),
            "all_day": start is None, "start_date": day, "end_date": day, "organizer": "",
            "attendees": "", "status": "confirmed", "calendar": "personal"}


def test_the_calendar_opens_on_today_and_reads_forward():
    """A calendar app opens on today's agenda: by default the first page is what is on from
    the start of today, soonest first (an all-day event by its day), not the furthest-ahead
    entries; the past needs since/until, and a range also reads forward."""
    start = dt.datetime.combine(AS_OF.date(), dt.time(), dt.UTC)
    rows = [_event(i, start + dt.timedelta(hours=9 + 24 * i), f"Review {i}")
            for i in range(-10, 60)]
    rows.append(_event(900, None, "Review trip", AS_OF.date() + dt.timedelta(days=2)))
    rows.append(_event(901, None, "Review old trip", AS_OF.date() - dt.timedelta(days=2)))
    events = pa.Table.from_pylist(rows, schema=snapshot_schema("calendar_events"))
    box = Toolbox(Workspace({"calendar_events": events}, as_of_us=int(AS_OF.timestamp() * 1e6)),
                  ["calendar"])
    for call in ({}, {"query": "review"}):
        tool = "calendar_search" if call else "calendar_list"
        shown = box.call(tool, call)
        assert shown["total"] == 61  # today's 09:00 (already past) to day 59, and one trip
        titles = [r["title"] for r in shown["results"]]
        assert titles[:4] == ["Review 0", "Review 1", "Review trip", "Review 2"]
    past = box.call("calendar_list", {"since": str(AS_OF.date() - dt.timedelta(days=3)),
                                      "until": str(AS_OF.date() - dt.timedelta(days=1))})
    assert [r["title"] for r in past["results"]] == ["Review -3", "Review old trip",
                                                     "Review -2", "Review -1"]


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles"])
def test_days_are_the_user_s_local_days(zone):
    """Today, since/until and an all-day event's day are the user's days, as the world
    writes dates and a phone shows them: a 07:00 heartbeat in Auckland is the previous
    UTC day, and a Saturday-evening dinner in Los Angeles starts on Sunday in UTC."""
    tz = ZoneInfo(zone)
    saturday = dt.date(2026, 3, 7)
    as_of = dt.datetime.combine(saturday, dt.time(7), tz).astimezone(dt.UTC)

    def at(day: dt.date, hour: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour), tz).astimezone(dt.UTC)

    friday, sunday = saturday - dt.timedelta(days=1), saturday + dt.timedelta(days=1)
    rows = [_event(1, at(friday, 18), "Friday drinks"), _event(2, at(saturday, 9), "Brunch"),
            _event(3, at(saturday, 19), "Family dinner"), _event(4, at(sunday, 8), "Run"),
            _event(5, None, "Saturday market", saturday),
            _event(6, None, "Friday fair", friday)]
    events = pa.Table.from_pylist(rows, schema=snapshot_schema("calendar_events"))
    ws = Workspace({"calendar_events": events}, as_of_us=int(as_of.timestamp() * 1e6),
                   timezone=zone)
    assert ws.today == saturday
    box = Toolbox(ws, ["calendar"])
    expected = ["Saturday market", "Brunch", "Family dinner"]
    agenda = [r["title"] for r in box.call("calendar_list", {})["results"]]
    assert agenda == [*expected, "Run"]
    one_day = box.call("calendar_list", {"since": str(saturday), "until": str(saturday)})
    assert [r["title"] for r in one_day["results"]] == expected
    found = box.call("calendar_search", {"query": "fair", "since": str(friday),
                                         "until": str(friday)})
    assert [r["title"] for r in found["results"]] == ["Friday fair"]
    # Instants are shown as the user's wall clock, with the offset that makes them exact.
    dinner = next(r for r in one_day["results"] if r["title"] == "Family dinner")
    assert dinner["start"].startswith("2026-03-07T19:00:00")
    assert dt.datetime.fromisoformat(dinner["start"]) == at(saturday, 19)
    moved = box.call("calendar_update", {"id": dinner["record_id"],
                                         "start": at(saturday, 20).isoformat(),
                                         "end": at(saturday, 22).isoformat()})
    assert moved["record"]["start"].startswith("2026-03-07T20:00:00")


def test_an_answer_is_plain_json_on_the_user_s_clock():
    from sim.tools.base import shown

    la = ZoneInfo("America/Los_Angeles")
    aware = dt.datetime(2026, 3, 8, 3, tzinfo=dt.UTC)
    answer = {"record": {"start": aware, "due": dt.date(2026, 3, 9), "n": 1},
              "results": [{"at": aware.replace(tzinfo=None)}]}  # a naive instant is UTC
    assert shown(answer, la) == {"record": {"start": "2026-03-07T19:00:00-08:00",
                                            "due": "2026-03-09", "n": 1},
                                 "results": [{"at": "2026-03-07T19:00:00-08:00"}]}


@pytest.mark.parametrize("args", [{"since": "0001-01-01"}, {"until": "9999-12-31"}])
def test_a_day_out_of_range_is_a_bad_argument_in_any_zone(args):
    ws = Workspace({}, as_of_us=int(AS_OF.timestamp() * 1e6), timezone="Pacific/Auckland")
    box = Toolbox(ws, ["calendar", "personal_email"])
    for tool in ("calendar_list", "personal_email_list"):
        assert box.call(tool, args)["error"]["code"] == "bad_arguments", (tool, args)


def test_read_and_errors(box):
    assert box.call("personal_email_read", {"id": "pm_004"})["record"]["subject"] == "Invoice 4"
    for name, args, code in [("personal_email_read", {"id": "pm_nope"}, "not_found"),
                             ("personal_email_search", {}, "bad_arguments"),
                             ("personal_email_search", {"query": "x", "page": 0},
                              "bad_arguments"),
                             ("personal_email_search", {"query": "x", "since": "March"},
                              "bad_arguments"),
                             # not the schema's YYYY-MM-DD, though fromisoformat takes them
                             ("personal_email_search", {"query": "x", "since": "20260301"},
                              "bad_arguments"),
                             ("personal_email_search", {"query": "x", "until": "2026-W10-1"},
                              "bad_arguments"),
                             ("personal_email_search", {"query": "x", "colour": 1},
                              "bad_arguments"),
                             ("fax_send", {}, "unknown_tool")]:
        assert box.call(name, args)["error"]["code"] == code, (name, args)
    assert len(box.log) == 9


def test_a_whole_number_given_as_a_float_is_the_integer_it_names(box):
    """JSON Schema counts 2.0 as an integer; the tool must then treat it as 2 (it once
    sliced pages with it and crashed), and a name that is not a string is an unknown tool."""
    assert box.call("personal_email_search", {"query": "invoice", "page": 2.0}) == \
        box.call("personal_email_search", {"query": "invoice", "page": 2})
    assert box.call("personal_email_search", {"query": "x", "page": 1.5})["error"]["code"] \
        == "bad_arguments"
    assert box.call(["personal_email_list"], {})["error"]["code"] == "unknown_tool"


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(["personal_email_search", "personal_email_list",
                             "personal_email_read", "notes_search", "ask_user"]),
       args=st.dictionaries(st.sampled_from(["query", "id", "page", "since", "until",
                                             "table", "question"]),
                            st.one_of(st.text(max_size=8), st.integers(-3, 5),
                                      st.integers(-3, 5).map(float), st.floats(-3, 5),
                                      st.none()),
                            max_size=4))
def test_arbitrary_calls_answer_and_never_write(name, args):
    ws = Workspace({}, as_of_us=int(AS_OF.timestamp() * 1e6))
    result = Toolbox(ws, ["personal_email", "notes"]).call(name, args)
    assert isinstance(result, dict)
    assert ws.changed() == {}


WORDS = st.sampled_from(["Café", "cafe", "café", "naïve", "x_y", "A1", "tax", "taxes", "42",
                         "Ann", "o'neil", "e-mail", "Zoë", "ZOË", "straße"])
TEXTS = st.lists(st.tuples(WORDS, st.sampled_from([" ", ", ", "-", "/", ".", "\n", "—"])),
                 max_size=6).map(lambda parts: "".join(w + sep for w, sep in parts))


@given(st.lists(st.tuples(TEXTS, TEXTS), min_size=1, max_size=8),
       st.lists(WORDS, min_size=1, max_size=2), st.booleans())
def test_snapshot_search_matches_the_documented_token_rule(texts, query, rewrite):
    """Search filters the snapshot in Arrow and this run's writes in Python: both must
    follow one rule (every query word is a token of the record, ignoring case)."""
    from sim.tools.reading import _words

    rows = [_mail(i, days_ago=1, subject=s, body=b) for i, (s, b) in enumerate(texts)]
    mail = pa.Table.from_pylist(rows, schema=snapshot_schema("personal_emails"))
    box = Toolbox(Workspace({"personal_emails": mail}, as_of_us=int(AS_OF.timestamp() * 1e6)),
                  ["personal_email"])
    if rewrite:  # the first record now lives in this run's delta
        box.workspace.update("personal_emails", rows[0]["record_id"], {"body": rows[0]["body"]})
    q = " ".join(query)
    words = {w.lower() for w in re.findall(r"\w+", q)}
    expected = {r["record_id"] for r in rows if words <= _words("personal_emails", r)}
    got = box.call("personal_email_search", {"query": q})
    assert {r["record_id"] for r in got["results"]} == expected
