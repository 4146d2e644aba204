"""The user's own footprint on their devices: what they opened, searched, viewed, and the
drafts they started and threw away.

This routine runs one period behind the others, so every item the user opens already
exists when they open it.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from personas.life import Life
from personas.pools import pick
from sim.clock import MINUTE

# The table a user lands in when opening each app.
MAIN_TABLE = {
    "personal_email": "personal_emails", "work_email": "work_emails",
    "calendar": "calendar_events", "chat": "chat_messages", "sms": "sms_messages",
    "calls": "call_log", "contacts": "contacts", "notes": "notes", "todos": "todos",
    "bank": "bank_transactions", "shopping": "shop_products", "price_tracker": "price_alerts",
    "deliveries": "shipments", "travel": "travel_bookings", "subscriptions": "subscriptions",
    "social": "feed_posts",
}
_DRAFTABLE = {"personal_email", "work_email", "sms", "chat", "notes"}
_DRAFT_SHARE = 0.03  # of the later actions in a draftable app, before any boost
_GREETED = 0.6  # drafts to someone (not notes) that open with a greeting


def install(life: Life) -> None:
    if not life.world.has("device_activity"):
        return
    life.world.every(partial(_period, life))

    def last_period():
        yield life.world.env.timeout(life.world.clock.end_seconds - life.world.now)
        _sessions(life, range(life.state.get("device_from", 0), life.world.days))

    life.world.process(last_period())


def _period(life: Life, *, days: range) -> None:
    if days.start:
        _sessions(life, range(life.state.get("device_from", 0), days.start))
    life.state["device_from"] = days.start


def _sessions(life: Life, days: range) -> None:
    rng = life.world.rng.stream("device_activity")
    apps = [s for s in MAIN_TABLE if life.world.has(s)]
    if not apps:
        return
    item_days = life.item_days("device_sessions", days, rng)
    n = len(item_days)
    if n == 0:
        return
    start = life.at_hours(item_days, rng)
    end = int(start.max()) + 1
    existing = {s: life.world.history[MAIN_TABLE[s]].versions_before(end) for s in apps}
    weight = np.array([np.log1p(len(existing[s][0])) for s in apps])
    if weight.sum() == 0:
        return
    session_app = np.array(apps, dtype=object)[rng.choice(len(apps), n, p=weight / weight.sum())]
    # A session opens one app and does a few things in it, seconds to minutes apart.
    size = rng.choice([1, 2, 2, 3, 3, 4, 5], n)
    session = np.repeat(np.arange(n), size)
    first = np.r_[True, session[1:] != session[:-1]]
    step = np.where(first, 0, rng.integers(5, 4 * MINUTE, len(session)))
    ts = start[session] + np.cumsum(step) - np.repeat(np.cumsum(step)[first], size)
    app = session_app[session]
    n = len(ts)
    action = np.full(n, "opened", dtype=object)
    target = np.full(n, None, dtype=object)
    cause = np.full(n, None, dtype=object)  # opening an item is caused by its arrival
    for s in np.unique(app):
        sel = np.flatnonzero(app == s)
        ids, start, events = existing[s]
        hi = np.searchsorted(start, ts[sel], side="left")
        back = rng.geometric(0.15, len(sel))  # mostly the latest few items
        j = hi - back
        ok = j >= 0
        target[sel[ok]] = ids[j[ok]]
        cause[sel[ok]] = events[j[ok]]
    roll = rng.random(n)
    later = ~first
    action[later & (roll < 0.2)] = "searched"
    action[later & (roll >= 0.2) & (target != None)] = "viewed"  # noqa: E711
    draftable = np.isin(app, list(_DRAFTABLE))
    # A noise profile may ask for more thrown-away drafts (``Life.boost``, "drafts"), but
    # not about a storyline's records: what a storyline causes is the same whatever noise
    # is asked for, and is never thinned, so boosted drafts there would only raise the
    # floor below which device activity cannot meet a target.
    story = life.state.get("story_events", ())
    on_story = np.fromiter((c in story for c in cause), bool, n)
    draft_share = np.where(on_story, _DRAFT_SHARE,
                           min(0.75, _DRAFT_SHARE * life.boost.get("drafts", 1.0)))
    action[later & draftable & (roll > 1 - draft_share)] = "drafted_discarded"
    untargeted = (action == "searched") | first
    target[untargeted] = None
    cause[untargeted] = None
    queries = np.where(action == "searched", _queries(life, rng, n), None)
    draft = np.full(n, None, dtype=object)
    d = action == "drafted_discarded"
    if d.any():
        draft[d] = _drafts(life, rng, ts[d], app[d])
    phone_only = np.array([set(life.world.services[a].devices) <= {"phone"} for a in app])
    device = np.where(phone_only | (rng.random(n) < 0.55), "phone", "laptop")
    kind = np.select([action == "opened", action == "searched", action == "viewed"],
                     ["app_opened", "search_performed", "item_viewed"], "draft_discarded")
    life.world.emit(
        "device_activity", kind, ts,
        {"occurred_at": ts, "device": device, "app": app, "action": action,
         "target_id": target, "query": queries, "draft_text": draft},
        actor="user", device=device.tolist(), cause=cause.tolist(),
    )


def _drafts(life: Life, rng, ts: np.ndarray, app: np.ndarray) -> np.ndarray:
    """The text of drafts started at ``ts`` in ``app``: a message to someone, which
    mostly opens the way messages to a person do ("Hi Sam, ..."), except in notes."""
    k = len(ts)
    c = life.person.contacts
    people = c.of_kind("family", "friends", "coworkers", "services")
    first = c.first_name[people[rng.integers(0, len(people), k)]]
    slots = {"first": first, "topic": pick(rng, life.pools.personal_topics, k),
             "amount": life.money(rng.integers(20, 900, k) * 100),
             "date": life.dates(ts + 3 * 86_400)}
    text = life.grammar.documents("draft", rng, slots, rng.integers(1, 5, k)).to_numpy(
        zero_copy_only=False)
    greet = (app != "notes") & (rng.random(k) < _GREETED)
    if greet.any():
        hello = life.grammar.sentences("draft_greeting", rng, {"first": first[greet]},
                                       int(greet.sum())).to_numpy(zero_copy_only=False)
        # Mail opens on a line of its own; a text or a chat line runs on.
        gap = np.where(np.isin(app[greet], ["personal_email", "work_email"]), "\n\n", " ")
        text[greet] = [h + g + t for h, g, t in zip(hello, gap, text[greet], strict=True)]
    return text


def _queries(life: Life, rng, n: int) -> np.ndarray:
    c, pools = life.person.contacts, life.pools
    choices = np.concatenate([
        c.full_name, np.array([t.removeprefix("the ") for t in pools.work_topics], dtype=object),
        pools.products.brand, np.array(life.person.interests, dtype=object),
        np.array(life.spec.projects, dtype=object),
    ])
    return pick(rng, choices, n)
