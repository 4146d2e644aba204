"""Notes to self and the to-do list: written, edited, ticked off."""

from __future__ import annotations

from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from personas.life import Life
from personas.pools import pick, pick_weighted
from sim.clock import DAY, HOUR
from sim.history import NULL_DATE, NULL_TS


def install(life: Life) -> None:
    if life.world.has("notes"):
        life.world.every(partial(_notes_period, life))
    if life.world.has("todos"):
        life.world.every(partial(_todos_period, life))


def _slots(life: Life, rng, n: int, ts: np.ndarray) -> dict[str, np.ndarray]:
    c, pools = life.person.contacts, life.pools
    people = c.of_kind("family", "friends", "coworkers")
    return {"place": pick(rng, pools.places, n), "product": pick(rng, pools.products.title, n),
            "day": life.weekday_names(ts + rng.integers(1, 6, n) * DAY),
            "topic": pick(rng, np.concatenate([pools.personal_topics,
                                               np.array(life.person.interests, dtype=object)]),
                          n),
            "project": pick(rng, np.array(life.spec.projects, dtype=object), n),
            "first": c.first_name[people[rng.integers(0, len(people), n)]],
            "date": life.dates(ts + rng.integers(1, 14, n) * DAY)}


# The kinds of personal note (intents of templates/notes.toml) and their weights: lists
# and ideas of the user's own, and notes about the people in the user's life.
_OWN_KINDS = {"note_gifts": 2, "note_errands": 3, "note_places": 2, "note_ideas": 2,
              "note_home": 2}
_PEOPLE_KINDS = {"note_gifts_for": 2, "note_ask": 2, "note_money": 1}


def _notes_period(life: Life, *, days: range) -> None:
    rng = life.world.rng.stream("notes")
    # Most notes are lists and ideas; some are about the people in the user's life (those
    # drawn for the whole window at once). Meetings add the rest.
    item_days = life.item_days("notes", days, rng, scale=0.7 * 0.7)
    lists = len(item_days)
    if days.start == 0:
        item_days = np.r_[item_days, life.item_days("notes", range(0, life.world.days), rng,
                                                    scale=0.7 * 0.3)]
    n = len(item_days)
    if n == 0:
        return
    people = np.arange(n) >= lists
    kind = np.empty(n, dtype=object)
    for weights, rows in ((_OWN_KINDS, ~people), (_PEOPLE_KINDS, people)):
        kind[rows] = pick_weighted(rng, weights, int(rows.sum()))
    ts = life.at_hours(item_days, rng)
    slots = _slots(life, rng, n, ts)
    g = life.grammar
    # A third of notes are revisited a day or two later: a line of the same kind is added,
    # one the note does not have yet, so each is rendered with its later line and written
    # without it first. Notes are lists, an item a line.
    edit = rng.random(n) < 0.33
    size = {k: len(g.intent(k).sentences.first_variant) for k in {*_OWN_KINDS, *_PEOPLE_KINDS}}
    templates = np.array([size[k] for k in kind.tolist()])
    lines = np.minimum(rng.integers(2, 6, n), templates - edit)
    title, body = g.titled(kind, rng, slots, lines + edit, sep="\n")
    first = [b.rsplit("\n", 1)[0] if e else b for b, e in zip(body.tolist(), edit.tolist(),
                                                                 strict=True)]
    title = pa.array(title, pa.string())
    device = life.device(ts, phone_share=0.67)
    rec, ev = life.world.emit(
        "notes", "note_created", ts,
        {"folder": "Personal", "title": title, "body": pa.array(first, pa.string()),
         "updated_at": ts},
        actor="user", device=device,
    )
    if edit.any():
        k = int(edit.sum())
        t2 = life.awake(ts[edit] + rng.integers(2 * HOUR, 3 * DAY, k), rng)
        life.world.emit(
            "notes", "note_edited", t2,
            {"folder": "Personal", "title": title.filter(edit),
             "body": pa.array(body[edit], pa.string()), "updated_at": t2},
            record_ids=np.array(rec, dtype=object)[edit].tolist(), actor="user",
            device=np.array(device, dtype=object)[edit].tolist(),
            cause=np.array(ev, dtype=object)[edit].tolist(),
        )


def _todos_period(life: Life, *, days: range) -> None:
    rng = life.world.rng.stream("todos")
    item_days = life.item_days("todos", days, rng)
    n = len(item_days)
    if n == 0:
        return
    lists = np.where(rng.random(n) < 0.5, "Personal",
                     "Work" if life.spec.work.blocks else "Errands")
    work = lists == "Work"
    # Work to-dos are jotted down at work; the rest whenever.
    ts = np.where(work, life.in_work(item_days, rng), life.at_hours(item_days, rng))
    slots = _slots(life, rng, n, ts)
    slots["topic"] = np.where(work, pick(rng, life.pools.work_topics, n), slots["topic"])
    # Work lists hold follow-ups and deliverables, the others errands and personal calls.
    title = np.empty(n, dtype=object)
    for intent, sel in (("todo_work", work), ("todo", ~work)):
        if sel.any():
            title[sel] = life.grammar.sentences(
                intent, rng, {key: v[sel] for key, v in slots.items()}, int(sel.sum()),
                pool="subjects").to_numpy(zero_copy_only=False)
    title = pa.array(title, pa.string())
    # Many to-dos carry a little context: what they are for, or when.
    when = life.weekday_names(ts + rng.integers(1, 6, n) * DAY)
    context = np.select(
        [rng.random(n) < 0.45, work], ["", np.char.add(np.char.add(" (", slots["project"].astype(
            str)), ")")], np.char.add(np.where(rng.random(n) < 0.5, " by ", " before "),
                                       when.astype(str)))
    timed = pc.match_substring_regex(title, r"\)$| by | before ").to_numpy(zero_copy_only=False)
    context = np.where(timed, "", context)
    title = pc.binary_join_element_wise(title, pa.array(context.astype(object), pa.string()), "")
    due = np.where(rng.random(n) < 0.7, life.local_days(ts + rng.integers(1, 10, n) * DAY),
                   NULL_DATE)
    cols = {"list": lists, "title": title, "due_date": due, "related_id": None}
    rec, ev = life.world.emit(
        "todos", "todo_created", ts, cols | {"status": "open", "completed_at": np.full(n, NULL_TS)},
        actor="user", device="phone",
    )
    done = rng.random(n) < 0.7
    if done.any():
        k = int(done.sum())
        t2 = life.awake(ts[done] + rng.integers(HOUR, 6 * DAY, k), rng)
        life.world.emit(
            "todos", "todo_completed", t2,
            {key: (v[done] if isinstance(v, np.ndarray) else v.filter(done) if v is not None
                   else None) for key, v in cols.items()}
            | {"status": "done", "completed_at": t2},
            record_ids=np.array(rec, dtype=object)[done].tolist(), actor="user",
            device="phone", cause=np.array(ev, dtype=object)[done].tolist(),
        )
