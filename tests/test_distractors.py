"""Look-alikes and the conflict rate: what the profile asks for, measured on what is written."""

import subprocess
import sys

import numpy as np
import pytest

from personas.errors import SpecError
from personas.library import load_personas
from scenarios.build import live
from scenarios.distractors import token_overlap
from scenarios.library import load_storylines
from scenarios.noise import NoiseProfile, SimilarityMix
from scenarios.oracle_tables import conflict_table, label_table
from scenarios.storyline_spec import EmitStep
from sim.check import check_world

PERSONA = load_personas()["staff_engineer"]
FAMILIES = load_storylines()

# A storyline whose text is mostly its parameters, so changing more of them shares less.
MEETUP = '''
id = "meetup"
description = "A friend proposes a meetup by text; the user notes it and puts it in the calendar."
services = ["sms", "notes", "calendar"]
min_days = 10
start = [0.1, 0.5]

[params.friend]
pick = "contact"
description = "Who proposes it."

[params.place]
pick = "place"
description = "Where."

[params.topic]
pick = "topic"
description = "What about."

[params.hour]
uniform = [8, 20]
description = "At what hour."

[params.table]
uniform = [1, 40]
description = "Which table."

[[steps]]
do = "emit"
id = "proposal"
description = "The friend texts the plan."
table = "sms_messages"
kind = "sms_received"
actor = "friend.name"
vary = ["place", "topic", "hour", "table"]
[steps.text]
phone_number = "{friend.phone}"
contact_name = "{friend.name}"
text = "Shall we meet at {place} to talk about {topic}? Say {hour}h, table {table}"

[[steps]]
do = "wait"
id = "later"
description = "A little later."
delay = { minutes = [5, 60] }

[[steps]]
do = "emit"
id = "note"
description = "The user notes it."
table = "notes"
kind = "note_created"
device = "phone"
text = { title = "Meetup", body = "{place} at {hour}:00 with {friend.first}" }

[[steps]]
do = "emit"
id = "entry"
description = "And puts it in the calendar."
table = "calendar_events"
kind = "event_created"
device = "phone"
text = { title = "Meetup at {place}", calendar = "personal" }

[steps.fields]
start = "now + days(2)"
end = "now + days(2) + hours(1)"
all_day = false
status = "'confirmed'"
'''


def _profile(**changes) -> NoiseProfile:
    base = {"id": "test", "description": "test", "storylines_per_30_days": 0}
    return NoiseProfile(**(base | changes))


@pytest.fixture(scope="module")
def meetup(tmp_path_factory):
    library = tmp_path_factory.mktemp("library")
    (library / "storylines").mkdir()
    (library / "storylines" / "meetup.toml").write_text(MEETUP)
    return load_storylines(library)["meetup"]


def test_token_overlap_is_jaccard_of_words():
    assert token_overlap("Lunch at noon", "lunch at NOON") == 1.0
    assert token_overlap("a b c d", "a b x y") == pytest.approx(2 / 6)
    assert token_overlap("", "") == 1.0


def test_overlap_rises_from_low_to_medium_to_high(meetup):
    noise = _profile(distractors_per_signal=4.0, distractor_similarity=SimilarityMix())
    lived = live(PERSONA, seed=5, days=60, families={"meetup": meetup}, storylines=12,
                 noise=noise, ratio=None)
    made = lived.storylines.lookalikes.made
    by_level = {lvl: [d.overlap for d in made if d.similarity == lvl]
                for lvl in ("high", "medium", "low")}
    assert all(len(v) >= 3 for v in by_level.values()), {k: len(v) for k, v in
                                                         by_level.items()}
    means = {k: float(np.mean(v)) for k, v in by_level.items()}
    assert means["low"] < means["medium"] < means["high"], means
    assert max(by_level["low"]) < 0.5 <= min(by_level["medium"])
    for d in made:
        assert d.table == "sms_messages"  # only the step that opted in
        assert d.violates
        assert (d.similarity == "high") == (len(d.violates.split(",")) == 1)


def test_lookalikes_are_labelled_and_differ_from_the_signal(meetup):
    noise = _profile(distractors_per_signal=2.0)
    lived = live(PERSONA, seed=6, days=40, families={"meetup": meetup}, storylines=4,
                 noise=noise, ratio=None)
    labels = label_table(lived.storylines).to_pylist()
    lookalike_ids = {r["record_id"] for r in labels if r["class"] == "distractor"}
    signal_ids = {r["record_id"] for r in labels if r["class"] == "signal"}
    assert lookalike_ids
    assert not lookalike_ids & signal_ids
    sms = lived.world.tables()["sms_messages"].to_pylist()
    texts = {r["record_id"]: r["text"] for r in sms}
    signal_texts = {texts[i] for i in signal_ids if i in texts}
    assert all(texts[i] not in signal_texts for i in lookalike_ids)
    w = lived.world
    assert check_world(lived.tables(), lived.event_log(), start=w.clock.epoch,
                       end=w.clock.instant(w.clock.end_seconds)) == []


def _signal(lived) -> list[tuple]:
    """Each signal record version's table, id, instant and text columns."""
    tables = lived.world.tables()
    out = []
    for row in label_table(lived.storylines).to_pylist():
        if row["class"] != "signal" or row["table"] == "bank_transactions":
            continue  # running balances depend on what else the bank posts
        t = tables[row["table"]]
        match = [r for r in t.to_pylist() if r["record_id"] == row["record_id"]
                 and r["valid_from"] == row["valid_from"]]
        out.append((row["table"], row["record_id"], row["valid_from"],
                    tuple(sorted((k, str(v)) for k, v in match[0].items()))))
    return sorted(out)


def test_lookalikes_never_change_a_storylines_facts():
    families = {f: FAMILIES[f] for f in ("meeting_moved_twice", "party_vs_family",
                                          "price_drop_gift")}
    worlds = [live(PERSONA, seed=8, days=60, families=families, storylines=3,
                   noise=_profile(distractors_per_signal=d, conflict_rate=0.5), ratio=None)
              for d in (0.0, 3.0)]
    assert worlds[1].storylines.lookalikes.made
    assert _signal(worlds[0]) == _signal(worlds[1])


def test_conflicts_per_storyline_rise_with_the_conflict_rate():
    family = {"price_drop_gift": FAMILIES["price_drop_gift"]}
    per_storyline = []
    for rate in (0.0, 0.5, 1.0):
        lived = live(PERSONA, seed=9, days=100, families=family, storylines=10,
                     noise=_profile(conflict_rate=rate), ratio=None)
        happened = [i for i in lived.storylines.instances if not i.aborted]
        per_storyline.append(conflict_table(lived.storylines).num_rows / len(happened))
    assert per_storyline[0] < per_storyline[1] < per_storyline[2], per_storyline


def test_a_target_below_the_floor_exits_2_and_names_it(tmp_path):
    r = subprocess.run([sys.executable, "-m", "exporters.cli", "world", "--persona",
                        "retiree", "--days", "30", "--noise-ratio", "0.01",
                        "--out", str(tmp_path / "out")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("error: --noise-ratio: target 0.01 is below this world's floor of ")
    assert not (tmp_path / "out").exists()


def test_naming_a_family_the_persona_cannot_live_exits_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "exporters.cli", "world", "--persona",
                        "retiree", "--days", "30", "--family", "expense_receipts",
                        "--out", str(tmp_path / "out")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: --family: expense_receipts")
    assert not (tmp_path / "out").exists()


def test_lookalikes_thin_with_the_ratio_and_a_quieter_world_keeps_a_subset(meetup):
    noise = _profile(distractors_per_signal=3.0, ratio=64.0)
    worlds = {r: live(PERSONA, seed=11, days=60, families={"meetup": meetup}, storylines=8,
                      noise=noise, ratio=r) for r in (4.0, 64.0)}
    present = {r: {d.record_id for d in w.storylines.lookalikes.present}
               for r, w in worlds.items()}
    made = [{d.record_id for d in w.storylines.lookalikes.made} for w in worlds.values()]
    assert made[0] == made[1]  # the same look-alikes are written at every ratio...
    assert present[4.0] < present[64.0] <= made[0]  # ...and fewer stay in a quieter world
    for r, w in worlds.items():  # labels name only what the exported tables hold
        tables = w.tables()
        labelled = {(row["table"], row["record_id"]) for row in
                    label_table(w.storylines).to_pylist() if row["class"] == "distractor"}
        assert {rid for _, rid in labelled} == present[r]
        for table, rid in labelled:
            assert rid in set(tables[table].column("record_id").to_pylist())


def test_a_lookalikes_due_day_is_shown_as_a_day():
    # What a look-alike shows is read for the wrong values a reply must not state; a due day
    # (a date32 column) must read as the ISO day tools show, or a to-do look-alike's changed
    # due day would never count as a wrong value.
    families = {"deadline_changed_in_chat": load_storylines()["deadline_changed_in_chat"]}
    lived = live(load_personas()["staff_engineer"], seed=2, days=40, families=families,
                 storylines=3, noise=_profile(distractors_per_signal=3.0), ratio=None)
    todos = lived.world.tables()["todos"]
    due = dict(zip(todos["record_id"].to_pylist(), todos["due_date"].to_pylist(), strict=True))
    made = [d for d in lived.storylines.lookalikes.made if d.table == "todos"]
    assert made
    for d in made:
        assert due[d.record_id].isoformat() in d.shown.splitlines(), (d.shown, due[d.record_id])


def _lived_with_lookalikes(family: str):
    """A 100-day world with four instances of ``family`` and three look-alikes per record."""
    return live(PERSONA, seed=4, days=100, families={family: FAMILIES[family]}, storylines=4,
                noise=_profile(distractors_per_signal=3.0), ratio=None)


OPTING_IN = sorted(f for f, spec in FAMILIES.items()
                   if any(isinstance(s, EmitStep) and s.vary for s in spec.steps))


@pytest.mark.parametrize("family", OPTING_IN)
def test_every_step_that_opts_in_gets_lookalikes_that_show_their_change(family):
    # A look-alike that shows nothing new is a second copy of the signal record: a valid
    # answer labelled a wrong one. (A to-do whose only change was its cut link to the story
    # used to pass as one, and steps whose text read a varied time through a bound record,
    # such as meeting.start, made none at all.)
    spec = FAMILIES[family]
    made = _lived_with_lookalikes(family).storylines.lookalikes.made
    opted = {s.id for s in spec.steps if isinstance(s, EmitStep) and s.vary}
    assert opted <= {d.role for d in made}, opted - {d.role for d in made}
    for d in made:
        assert set(d.shown.splitlines()) - set(d.imitated.splitlines()), (d.role, d.shown)


def test_a_chat_lookalike_is_posted_in_the_storylines_chat():
    # A link to the story's own record is cut (a look-alike is no part of its chain), but a
    # chat message lives in a chat: cut that and it is in no chat at all, which no app shows.
    lived = _lived_with_lookalikes("deadline_changed_in_chat")
    messages = lived.world.tables()["chat_messages"]
    channel = dict(zip(messages["record_id"].to_pylist(), messages["channel_id"].to_pylist(),
                       strict=True))
    signal = {channel[rid] for inst in lived.storylines.instances
              for table, rid, _, _ in inst.records if table == "chat_messages"}
    made = [d for d in lived.storylines.lookalikes.made if d.table == "chat_messages"]
    assert made
    for d in made:
        assert channel[d.record_id] in signal, d


# The calendar entry's title names the place, not the hour, the topic or the table: a
# look-alike that changed only those could only ever copy the entry, however else the step
# reads them. Each case: the parameter, and the (old, new) edits that make the step vary it.
_TITLE = 'text = { title = "Meetup at {place}"'
_CONFIRMED = 'status = "\'confirmed\'"\n'
NEVER_SHOWN = {
    "not read at all": ("hour", [(_TITLE, 'vary = ["hour"]\n' + _TITLE)]),
    "read only as who acts": ("topic", [(_TITLE, 'vary = ["topic"]\nactor = "topic"\n' + _TITLE)]),
    "read only by a conflict": ("table", [
        (_TITLE, 'vary = ["table"]\n' + _TITLE),
        (_CONFIRMED, _CONFIRMED + '\n[steps.conflict]\noperator = "superseded"\n'
         'slot = "table"\nauthoritative = "table"\nsuperseded = ["table + 1"]\n'
         'why = "A later word holds."\n')]),
}


@pytest.mark.parametrize("case", sorted(NEVER_SHOWN))
def test_a_vary_the_record_never_shows_is_refused_where_it_is_written(tmp_path, case):
    name, edits = NEVER_SHOWN[case]
    spec = MEETUP
    for old, new in edits:
        assert old in spec
        spec = spec.replace(old, new)
    library = tmp_path / "library"
    (library / "storylines").mkdir(parents=True)
    path = library / "storylines" / "meetup.toml"
    path.write_text(spec)
    with pytest.raises(SpecError) as err:
        load_storylines(library)
    message = str(err.value)
    assert str(path) in message
    assert f"step entry: vary names {name!r}, which the record it writes never" in message
