"""Routine life around storylines: people a storyline uses keep texting and calling as usual
outside its lock windows and only make small talk inside them (nothing at all with someone
whose number the story changes), state records are not all as old as the window, the
bank's text alerts never quote a balance, and a calendar entry's title, description and
place, like a personal note's title and lines, describe one thing, drafts to someone
mostly greet them, storyline trips go where routine ones go (which leave from the
persona's airport), a profile's need for travel traffic is met by fare alerts, not
trips, card lines name chains and local shops alike, and some card purchases are online
with no order behind them."""

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from personas.library import load_personas
from personas.routines import calendar
from personas.routines.money import ONLINE_SHARE
from personas.text.grammar import expand
from scenarios.build import live
from scenarios.library import load_storylines
from scenarios.noise import load_profiles
from scenarios.oracle_tables import label_table

FAMILIES = load_storylines()
# Families that pick people the user texts and calls.
PEOPLE = {k: FAMILIES[k] for k in ("party_vs_family", "stale_contact_number",
                                   "medical_appointment_sms")}
TEMPLATES = Path(__file__).resolve().parents[1] / "personas" / "text" / "templates"


@pytest.fixture(scope="module")
def lived():
    return live(load_personas()["retiree"], seed=3, days=90, families=PEOPLE, storylines=6)


def _signal(lived) -> set[tuple[str, str]]:
    labels = label_table(lived.storylines)
    return set(zip(labels["table"].to_pylist(), labels["record_id"].to_pylist(), strict=True))


def _routine_contact_records(lived):
    """(contact index, instant, table, what it says) of every routine text and call with a
    contact on file; a call says its voicemail, if it left one."""
    c = lived.life.person.contacts
    index = {name: i for i, name in enumerate(c.full_name.tolist())}
    signal = _signal(lived)
    tables = lived.world.tables()
    out = []
    for table, when, said in (("sms_messages", "sent_at", "text"),
                              ("call_log", "started_at", "voicemail_transcript")):
        t = tables[table]
        clock = lived.world.clock
        for rid, name, ts, text in zip(t["record_id"].to_pylist(),
                                       t["contact_name"].to_pylist(), t[when].to_pylist(),
                                       t[said].to_pylist(), strict=True):
            if name in index and (table, rid) not in signal:
                out.append((index[name], clock.seconds(ts), table, text))
    return out


# What small talk may not contain: digits (times, amounts, numbers), named days and
# months, or a place (``place_words``).
_FACTS = re.compile(r"\d|(mon|tues|wednes|thurs|fri|satur|sun)day|tonight|tomorrow|"
                    r"january|february|march|april|june|july|august|september|october|"
                    r"november|december", re.IGNORECASE)


def _states_facts(text: str, places: list[str]) -> bool:
    return bool(_FACTS.search(text)) or any(p.lower() in text.lower() for p in places)


def test_locked_people_make_only_small_talk_inside_their_windows(lived):
    windows = lived.life.state["lock_windows"]
    people = {i: spans for (kind, i), spans in windows.items() if kind == "contact"}
    chatty = {i for kind, i in lived.life.state.get("small_talk", ())}
    assert people, "no storyline picked a person"
    assert chatty, "no storyline lets its people make small talk"
    assert set(people) - chatty, "no storyline silences its people"
    inside: list[tuple[int, str, str | None]] = []
    outside = 0
    for who, ts, table, text in _routine_contact_records(lived):
        if any(lo <= ts < hi for lo, hi in people.get(who, ())):
            inside.append((who, table, text))
        else:
            outside += who in people
    assert outside > 0  # the same people text and call as usual outside their windows
    assert inside, "small talk never happened"
    assert {who for who, _, _ in inside} <= chatty  # "none": not a word inside the window
    assert [t for _, table, t in inside if table == "call_log" and t is not None] == []
    texts = [t for _, table, t in inside if table == "sms_messages"]
    places = lived.life.pools.places.tolist()
    assert texts
    assert not [t for t in texts if _states_facts(t, places)]


def test_people_the_story_reaches_another_way_hear_nothing_old_again(lived):
    # Whose number a story changes ("none") is never reached the old way again: no routine
    # text or call under their card from the story's start to the end of the world (the
    # old number "is gone"), though they texted and called as usual before it.
    windows = lived.life.state["lock_windows"]
    chatty = {i for kind, i in lived.life.state.get("small_talk", ())}
    silent = {i: min(lo for lo, _ in spans) for (kind, i), spans in windows.items()
              if kind == "contact" and i not in chatty}
    assert silent
    records = [(who, ts) for who, ts, _, _ in _routine_contact_records(lived) if who in silent]
    assert [r for r in records if r[1] >= silent[r[0]]] == []
    assert records, "they never texted or called before the story either"


def test_some_state_records_start_during_the_window():
    """Not every subscription, recurring payment, watch or channel predates the window."""
    started = {}
    for seed in range(3):
        lw = live(load_personas()["staff_engineer"], seed=seed, days=100)
        tables = lw.world.tables()
        opening = int(lw.world.clock.to_arrow_us(np.array([0]))[0])
        for name in ("subscriptions", "bank_recurring", "price_watches", "chat_channels"):
            first = tables[name].filter(tables[name]["version"].to_numpy() == 1)
            late = first["valid_from"].cast("int64").to_numpy() > opening
            started[name] = started.get(name, 0) + int(late.sum())
    assert all(started.values()), started


def test_bank_alert_texts_quote_no_balance(lived):
    """Thinning recomputes balances, so a routine text must never state one."""
    signal = _signal(lived)
    sms = lived.world.tables()["sms_messages"]
    alerts = [text for rid, name, text in zip(sms["record_id"].to_pylist(),
                                              sms["contact_name"].to_pylist(),
                                              sms["text"].to_pylist(), strict=True)
              if name == "Bank alerts" and ("sms_messages", rid) not in signal]
    assert alerts
    assert not [t for t in alerts if "balance" in t.lower()]


def test_card_lines_name_chains_and_local_shops_alike():
    """A person pays at chains ("Freshway") and at shops named for their owners ("Hanna
    Cafe"), so how long a card line is does not tell one kind of spending from another."""
    words = []
    for seed in range(3):
        bank = live(load_personas()["staff_engineer"], seed=seed, days=60
                    ).world.tables()["bank_transactions"]
        words += [len(d.split()) for d in bank["description"].to_pylist()
                  if d.startswith("CARD PURCHASE ")]
    words = np.array(words)
    assert (words == 3).mean() > 0.2, np.bincount(words)
    assert (words >= 4).mean() > 0.2, np.bincount(words)


def test_some_card_purchases_are_online_with_no_order_in_the_shopping_app():
    """People also pay on a web shop's own site, which a statement shows as "ONLINE <shop>"
    like an order from the shopping app but with no order behind it: an ONLINE line alone
    does not say an order (often a storyline's) was placed."""
    lived = live(load_personas()["staff_engineer"], seed=0, days=100)
    tables = lived.world.tables()
    bank, orders = tables["bank_transactions"], tables["shop_orders"]
    order_ids = set(orders["record_id"].to_pylist())
    web_shops = set(lived.life.pools.products.merchant.tolist())
    direct, in_person, for_orders = [], 0, 0
    for text, merchant, related in zip(bank["description"].to_pylist(),
                                       bank["merchant"].to_pylist(),
                                       bank["related_id"].to_pylist(), strict=True):
        if related in order_ids:
            for_orders += 1
            assert text == f"ONLINE {merchant}", text
        elif text.startswith("CARD PURCHASE "):
            in_person += 1
        elif text.startswith("ONLINE ") and not text.startswith("ONLINE TRANSFER"):
            direct.append(merchant)
            assert merchant in web_shops, merchant
    assert for_orders > 0
    assert direct
    share = len(direct) / (len(direct) + in_person)
    assert abs(share - ONLINE_SHARE) < 0.1, (len(direct), in_person)


def test_offices_word_their_texts_as_storyline_offices_do():
    """Routine office texts come in both reminder-system wordings a storyline's office uses
    ("<office>: your appointment..." and "Your appointment with <person>..."), from
    offices named like the storyline's ("<name>'s office"), each office in one wording."""
    texts, wording = [], {}
    for seed in range(3):
        sms = live(load_personas()["retiree"], seed=seed, days=60,
                   storylines=0).world.tables()["sms_messages"]
        for name, t, way in zip(sms["contact_name"].to_pylist(), sms["text"].to_pylist(),
                                sms["direction"].to_pylist(), strict=True):
            if name.endswith("'s office") and way == "incoming":
                texts.append(t)
                wording.setdefault((seed, name), set()).add(t.startswith(name + ":"))
    terse = sum(": your appointment" in t for t in texts)
    assert 0 < terse < len(texts)
    assert all(len(w) == 1 for w in wording.values())


def test_the_user_answers_an_office_only_when_asked_and_with_the_word_asked_for():
    """A reply to an office's reminder system is the word its text asked for ("Reply C to
    confirm" gets "C", "reply YES" gets "YES"); a text that asks for nothing gets none."""
    replies = 0
    for seed in range(3):
        world = live(load_personas()["retiree"], seed=seed, days=60, storylines=0).world
        texts = {r["record_id"]: r for r in world.tables()["sms_messages"].to_pylist()}
        events = [e for e in world.event_log().to_pylist() if e["table"] == "sms_messages"]
        said = {e["event_id"]: texts[e["entity_id"]]["text"] for e in events}
        for e in events:
            record = texts[e["entity_id"]]
            if record["contact_name"].endswith("'s office") and record["direction"] == "outgoing":
                asked = re.search(r"[Rr]eply ([A-Z]+) ", said[e["cause_event_id"]])
                assert asked, said[e["cause_event_id"]]
                assert asked.group(1) == record["text"], (said[e["cause_event_id"]],
                                                          record["text"])
                replies += 1
    assert replies > 0


def test_a_storyline_restaurant_is_one_the_user_eats_at():
    from scenarios.engine import Storylines  # noqa: F401 (the picker needs a running life)
    from scenarios.picks import Picker
    from scenarios.storyline_params import PickSpec

    lw = live(load_personas()["staff_engineer"], seed=1, days=30, storylines=0)
    picker = Picker(lw.life)
    pools = lw.life.pools
    dining = set(pools.merchants[pools.merchant_category == "dining"].tolist())
    rng = np.random.default_rng(0)
    for _ in range(5):
        got = picker.pick(None, PickSpec(pick="restaurant"), rng)
        assert got["name"] in dining
        assert got["email"].endswith(".example")


# A story whose second pick can never be bound: its first pick must not stay held.
_UNBINDABLE = '''
id = "unbindable"
description = "A friend texts about someone the user does not know."
services = ["sms", "calls", "contacts"]
min_days = 5
start = [0.1, 0.5]

[params.pal]
pick = "contact"
routine = "none"
description = "Who texts (held for good, were the story to run)."

[params.nobody]
pick = "contact"
relationships = ["no such relationship"]
description = "Someone no address book holds."

[[steps]]
do = "emit"
id = "text"
description = "The text."
table = "sms_messages"
kind = "sms_received"
actor = "pal.name"
[steps.text]
phone_number = "{pal.phone}"
contact_name = "{pal.name}"
text = "Have you met {nobody.first}?"

[[steps]]
do = "wait"
id = "later"
description = "A little later."
delay = { minutes = [5, 60] }
'''


def test_a_story_that_cannot_bind_holds_nobody(tmp_path):
    (tmp_path / "storylines").mkdir()
    (tmp_path / "storylines" / "unbindable.toml").write_text(_UNBINDABLE)
    families = {"unbindable": load_storylines(tmp_path)["unbindable"]}
    lived = live(load_personas()["retiree"], seed=1, days=30, families=families, storylines=2)
    assert lived.storylines.instances
    assert all(inst.aborted for inst in lived.storylines.instances)
    state = lived.life.state
    assert not state.get("locks")
    assert not state.get("lock_windows")
    assert not state.get("small_talk")


def _any_variant(templates: list[str]) -> str:
    """A regex matching any variant of ``templates``, each slot standing for any text."""
    return "|".join(re.sub(r"<[a-z_]+>", ".+?", re.escape(v))  # escape() keeps <slot>
                    for t in templates for v in expand(t))


class _Kinds:
    """The kinds of one template file (``calendar.toml``, ``notes.toml``): which of them a
    title and a text fit, the text being sentences of one kind, one after another."""

    def __init__(self, file: str, prefix: str) -> None:
        spec = tomllib.loads((TEMPLATES / file).read_text())
        self.kinds = {k: v for k, v in spec.items() if k.startswith(prefix)}
        self._title = {k: re.compile(_any_variant(v.get("subjects", [])))
                       for k, v in self.kinds.items()}
        sentence = {k: f"(?:{_any_variant(v['sentences'])})" for k, v in self.kinds.items()}
        self._text = {k: re.compile(f"{s}(?:\\s+{s})*") for k, s in sentence.items()}

    def titled(self, title: str) -> bool:
        return any(p.fullmatch(title) for p in self._title.values())

    def fitting(self, title: str | None, text: str) -> list[str]:
        return [k for k in self.kinds if (title is None or self._title[k].fullmatch(title))
                and self._text[k].fullmatch(text)]


@pytest.mark.parametrize("persona", ["staff_engineer", "retiree"])
def test_a_calendar_entry_s_title_description_and_place_agree(persona):
    """A routine entry's title and description come from one kind of entry, and it takes
    place where that kind does: no design review at the ramen bar, no dinner in Room 2A."""
    kinds = _Kinds("calendar.toml", "")
    lw = live(load_personas()[persona], seed=2, days=60, storylines=0)
    eateries = set(lw.life.pools.eateries.tolist())
    t = lw.world.tables()["calendar_events"]
    seen = set()
    for title, desc, where in zip(t["title"].to_pylist(), t["description"].to_pylist(),
                                  t["location"].to_pylist(), strict=True):
        if where.endswith("'s office"):  # an appointment, named after its office
            fits = kinds.fitting(None, desc)
        elif kinds.titled(title):
            fits = kinds.fitting(title, desc)
        else:
            continue  # not one of these kinds: a rota block, a flight, a birthday, a 1:1
        assert fits, (title, desc)
        placed = [k for k in fits if k == "appointment"
                  or where in calendar._ROOMS.get(k, ())
                  or (k in calendar._AT_THEIRS and where.endswith("'s place")
                      and where.removesuffix("'s place") in title + desc)
                  or (k not in calendar._ROOMS and k not in calendar._AT_THEIRS
                      and where in eateries)]
        assert placed, (title, desc, where)
        seen.update(placed)
    contacts = ("coworkers", "friends") if persona == "staff_engineer" else ("family",
                                                                             "services")
    assert {k for contact in contacts for k in calendar._KINDS[contact]} <= seen


def test_a_personal_note_s_title_and_lines_agree():
    """A routine personal note's title and every line of it, later additions included,
    come from one kind of note: no gift list under "Things to fix at home"."""
    kinds = _Kinds("notes.toml", "note_")
    lw = live(load_personas()["parent_of_two"], seed=2, days=100, storylines=0)
    t = lw.world.tables()["notes"]
    seen = set()
    for folder, title, body in zip(t["folder"].to_pylist(), t["title"].to_pylist(),
                                   t["body"].to_pylist(), strict=True):
        if folder == "Personal":
            fits = kinds.fitting(title, body)
            assert fits, (title, body)
            seen.update(fits)
    assert seen >= set(kinds.kinds) - {"note_meeting"}


def test_a_draft_to_someone_mostly_opens_with_a_greeting():
    """Drafts in mail, texts and chat open the way messages to a person do ("Hi Sam,"),
    most of them, as a storyline's drafts to a landlord do; drafts of notes never do."""
    lw = live(load_personas()["staff_engineer"], seed=0, days=60, storylines=0)
    firsts = set(lw.life.person.contacts.first_name.tolist())

    def greets(text: str) -> bool:
        m = re.match(r"(?:Hi |Hey )?([^,]+),", text)
        return bool(m) and m.group(1) in firsts

    drafts = [r for r in lw.world.tables()["device_activity"].to_pylist()
              if r["action"] == "drafted_discarded"]
    to_someone = [greets(r["draft_text"]) for r in drafts if r["app"] != "notes"]
    in_notes = [greets(r["draft_text"]) for r in drafts if r["app"] == "notes"]
    assert len(to_someone) >= 20
    assert 0.4 < np.mean(to_someone) < 0.8
    assert in_notes
    assert not any(in_notes)


def test_storyline_trips_go_where_routine_trips_go():
    """A storyline's trip goes to a city routine trips go to, and its hotel is named the
    way routine hotels are (before 0.19.0 storylines flew to home-country cities no routine
    trip went to, and the probe told their bookings apart at an AUC of 0.78)."""
    travel = {k: FAMILIES[k] for k in ("delivery_while_travelling", "flight_delay_meeting")}
    cities, hotels = {True: set(), False: set()}, {True: set(), False: set()}
    for seed in (2, 3, 4):  # 300 days of routine trips: a few dozen
        lw = live(load_personas()["travelling_sales_rep"], seed=seed, days=100,
                  families=travel, storylines=6)
        signal, home = _signal(lw), lw.life.person.city
        for r in lw.world.tables()["travel_bookings"].to_pylist():
            story = ("travel_bookings", r["record_id"]) in signal
            cities[story] |= {r["origin"], r["destination"]} - {home, ""}
            if r["booking_type"] == "hotel":  # "The Linden Hotel Halifax" -> "The Hotel"
                words = r["provider"].removesuffix(" " + r["destination"]).split()
                hotels[story].add(" ".join(words[:-2] + words[-1:]))
    assert cities[True]
    assert hotels[True]
    assert cities[True] <= cities[False]
    assert hotels[True] <= hotels[False]


def test_a_trip_leaves_from_the_persona_s_airport():
    """An outbound flight's calendar entry is at the airport the persona's spec names, not
    at a code made of the city's first letters ("CAL airport" before 0.19.0)."""
    lw = live(load_personas()["travelling_sales_rep"], seed=2, days=60, storylines=0)
    home = lw.life.person.city
    t = lw.world.tables()["calendar_events"]
    out = {place for title, place in zip(t["title"].to_pylist(), t["location"].to_pylist(),
                                         strict=True)
           if title.startswith("Flight to ") and title != f"Flight to {home}"}
    assert out == {"YYC airport"}


def test_a_note_s_later_line_is_one_it_did_not_have():
    """A personal note revisited later gains a line of its kind it does not have yet (18%
    of edits repeated one of its lines word for word before 0.19.0)."""
    lw = live(load_personas()["parent_of_two"], seed=2, days=100, storylines=0)
    versions: dict[str, list[str]] = {}
    for row in lw.world.tables()["notes"].to_pylist():
        if row["folder"] == "Personal":
            versions.setdefault(row["record_id"], []).append(row["body"])
    edited = [v for v in versions.values() if len(v) > 1]
    assert len(edited) >= 20
    for first, later in edited:
        lines = first.split("\n")
        assert later.split("\n") == [*lines, later.split("\n")[-1]]
        assert later.split("\n")[-1] not in lines


def test_a_profile_that_needs_travel_traffic_adds_fare_alerts_not_trips():
    """At the default ratio of 100 the staff engineer (a trip a month) needs a hundred
    travel words for each word of a storyline's trip. Before 0.25.0 they came as trips: 172
    flights in 100 days. Now a travel app's fare alerts carry them, and each alert quotes
    its own fare against the route's usual one, so any of them may be thinned away."""
    lw = live(load_personas()["staff_engineer"], seed=0, days=100, families=FAMILIES,
              noise=load_profiles()["typical"])
    tables = lw.tables()
    flights = {r["record_id"] for r in tables["travel_bookings"].to_pylist()
               if r["booking_type"] == "flight"}
    assert len(flights) <= 20
    travel = lw.thinning.by_service["travel"]
    assert travel["signal_words"] > 0
    assert abs(travel["ratio"] - 100) <= 25, travel
    alerts = tables["travel_alerts"].to_pylist()
    assert len(alerts) >= 50
    money = lw.life.money
    for a in alerts:
        fare, usual = a["price_minor"], a["usual_price_minor"]
        assert str(money([fare])[0]) in a["message"]
        assert 0.05 <= abs(fare / usual - 1) <= 0.38  # a move worth an alert (and a cent)
        assert not re.search("below" if fare > usual else "above", a["message"])
    assert len({(a["destination"], a["provider"]) for a in alerts}) == len(
        {a["destination"] for a in alerts})  # one airline's fare per watched route


def test_a_profile_that_needs_shopping_traffic_adds_browsing_and_parcels_not_orders():
    """Before 0.26.0 the retiree's shopping and deliveries reached a ratio of 100 by orders
    multiplied sixfold: 372 orders in 100 days, each charged and mailed. Now the shop's
    browsing history and parcels other people send carry those words, and the person orders
    at their own rate."""
    lw = live(load_personas()["retiree"], seed=0, days=100, families=FAMILIES,
              noise=load_profiles()["typical"])
    assert "orders" not in lw.expansion
    tables = lw.tables()
    placed = {r["record_id"] for r in tables["shop_orders"].to_pylist()}
    assert len(placed) <= 1.3 * lw.life.rates("orders", range(100)).sum()
    for service in ("shopping", "deliveries"):
        ratio = lw.thinning.by_service[service]["ratio"]
        assert abs(ratio - 100) <= 25, (service, ratio)
    titles = dict(zip(tables["shop_products"]["record_id"].to_pylist(),
                      tables["shop_products"]["title"].to_pylist(), strict=True))
    views = tables["shop_views"].to_pylist()
    assert len(views) >= 300
    assert all(v["product_title"] == titles[v["product_id"]] for v in views)
    elsewhere = {r["record_id"] for r in tables["shipments"].to_pylist() if r["order_id"] is None}
    assert len(elsewhere) > len(placed)  # most of the tracker's parcels come from others
