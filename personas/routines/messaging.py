"""Chat and text messages: short messages that come in bursts, mostly from the few people
the user is closest to (``personas.routines.parties`` chooses who is on the other end)."""

from __future__ import annotations

import re
from functools import partial

import numpy as np
import pyarrow as pa

from personas.instance import fictional_phone
from personas.life import OPENING, Life
from personas.pools import pick
from personas.routines.contacts import phone_at
from personas.routines.parties import avoid_locks, locked_at, personal_party
from sim.clock import MINUTE
from sim.rng import name_digest

# Burst sizes: conversations are a few messages back and forth, rarely a long exchange.
_BURST = np.array([1, 2, 2, 3, 3, 4, 5, 6, 8, 12])


def install(life: Life) -> None:
    if life.world.has("chat") and len(life.person.contacts.of_kind("coworkers")):
        life.world.every(partial(_chat_period, life))
    if life.world.has("sms"):
        life.world.every(partial(_sms_period, life))


def _bursts(rng, starts: np.ndarray, gap_minutes: float) -> tuple[np.ndarray, np.ndarray]:
    """Expand burst start instants into messages: (message instants, burst index)."""
    size = rng.choice(_BURST, len(starts))
    burst = np.repeat(np.arange(len(starts)), size)
    gaps = rng.exponential(gap_minutes * MINUTE, len(burst)).astype(np.int64) + 5
    first = np.r_[True, burst[1:] != burst[:-1]]
    gaps[first] = 0
    offset = np.cumsum(gaps)
    offset -= np.repeat(offset[first], size)
    return starts[burst] + offset, burst


# -- chat -------------------------------------------------------------------------------


def _chat_period(life: Life, *, days: range) -> None:
    rng = life.world.rng.stream("chat")
    if days.start == 0:
        life.state["chat_channels"] = _channels(life, rng)
        # New conversations over the whole window, drawn at once (in the order opened).
        life.state["chat_channels"] = _open_dms(life, rng, life.state["chat_channels"],
                                                range(0, life.world.days))
    channels = life.state["chat_channels"]
    item_days = life.item_days("chat", days, rng, scale=1 / 3.5)  # bursts average 3.5
    if not len(item_days):
        return
    starts = np.sort(life.in_work(item_days, rng))
    ts, burst = _bursts(rng, starts, 3)
    n = len(ts)
    # A burst goes to a channel that exists by then (channels are in the order opened).
    existing = np.searchsorted(channels["created"], starts, side="right")
    ch = np.minimum((rng.random(len(starts)) * existing).astype(np.int64), existing - 1)[burst]
    c = life.person.contacts
    members = channels["members"]
    sender = np.array([members[k][int(r * len(members[k]))]
                       for k, r in zip(ch.tolist(), rng.random(n), strict=True)])
    mine = rng.random(n) < 0.3
    social = channels["social"][ch]
    slots = {"first": c.first_name[sender], "project": channels["project"][ch],
             "topic": pick(rng, life.pools.work_topics, n),
             "time": life.plan_times(rng, n, life.WORK_HOURS),
             "day": life.day_refs(rng, ts + 86_400), "place": pick(rng, life.pools.places, n)}
    text = np.empty(n, dtype=object)
    for intent, sel in (("chat_social", social), ("chat_work", ~social)):
        if sel.any():
            text[sel] = life.grammar.documents(
                intent, rng, {k: v[sel] for k, v in slots.items()},
                rng.choice([1, 1, 1, 2], int(sel.sum()))).to_numpy(zero_copy_only=False)
    ids = life.world.ids.mint("records/chat_messages", "cm_", n)
    # Within a burst, some messages answer the burst's first message (a thread reply).
    first_of_burst = np.r_[0, np.flatnonzero(burst[1:] != burst[:-1]) + 1]
    head = first_of_burst[burst]
    threaded = (np.arange(n) != head) & (rng.random(n) < 0.3)
    reply_to = np.where(threaded, np.array(ids, dtype=object)[head], None)
    # A thread reply is caused by the message it answers; its event id is minted in the
    # same call, so cause is filled after: write heads first, then replies.
    first_rows = ~threaded
    _, head_events = _emit_chat(life, channels, ch, mine, sender, text, ts, reply_to, ids,
                                first_rows, None)
    event_of = dict(zip(np.array(ids, dtype=object)[first_rows].tolist(), head_events,
                        strict=True))
    cause = [event_of[r] for r in reply_to[threaded]]
    _emit_chat(life, channels, ch, mine, sender, text, ts, reply_to, ids, threaded, cause)


def _open_dms(life: Life, rng, channels: dict, days: range) -> dict:
    """Now and then the user starts a direct conversation with another coworker, or joins
    a channel someone opened for a piece of work."""
    c = life.person.contacts
    cow = c.of_kind("coworkers")
    have = {int(m[0]) for m, dm in zip(channels["members"], channels["is_dm"], strict=True)
            if dm}
    fresh = np.array([j for j in cow.tolist() if j not in have], dtype=np.int64)
    k = min(int(rng.poisson(3.0 * len(days) / 28)), len(fresh))
    g = int(rng.poisson(1.0 * len(days) / 28))
    work_days = np.arange(days.start, days.stop)
    work_days = work_days[life.workdays[work_days]] if len(work_days) else work_days
    if k + g == 0 or not len(work_days):
        return channels
    who = rng.choice(fresh, size=k, replace=False) if k else np.zeros(0, np.int64)
    ts = life.in_work(rng.choice(work_days, k + g), rng)
    keep = np.r_[~locked_at(life, who, ts[:k]), np.ones(g, bool)]
    project = pick(rng, np.array(life.spec.projects, dtype=object), k + g)
    topic = pick(rng, life.pools.work_topics, k + g)
    members = [np.array([j]) for j in who.tolist()] + [
        rng.choice(cow, size=min(len(cow), int(rng.integers(3, 9))), replace=False)
        for _ in range(g)]
    name = np.r_[c.full_name[who], np.array([f"{_channel_name(p)}-{t.split()[-1]}"[:30]
                                             for p, t in zip(project[k:], topic[k:],
                                                             strict=True)], dtype=object)]
    about = np.r_[np.full(k, "", dtype=object),
                  np.array([f"Working on {t}" for t in topic[k:]], dtype=object)]
    is_dm = np.r_[np.ones(k, bool), np.zeros(g, bool)]
    order = np.flatnonzero(keep)[np.argsort(ts[keep], kind="stable")]
    if not len(order):
        return channels
    n = len(order)
    ts = ts[order]
    ids = life.world.emit(
        "chat_channels", "chat_channel_joined", ts,
        {"name": name[order], "topic": about[order], "is_dm": is_dm[order],
         "member_count": np.array([len(members[i]) + 1 for i in order], np.int32),
         "created_at": ts},
        actor="user", device=life.device(ts, phone_share=0.2),
    )[0]
    return {"id": np.r_[channels["id"], np.array(ids, dtype=object)],
            "members": channels["members"] + [members[i] for i in order],
            "social": np.r_[channels["social"], np.zeros(n, bool)],
            "project": np.r_[channels["project"], project[order]],
            "is_dm": np.r_[channels["is_dm"], is_dm[order]],
            "created": np.r_[channels["created"], ts]}


def _emit_chat(life, channels, ch, mine, sender, text, ts, reply_to, ids, rows, cause):
    c = life.person.contacts
    ch, mine, sender, text, ts, reply_to = (a[rows] for a in (ch, mine, sender, text, ts,
                                                               reply_to))
    return life.world.emit(
        "chat_messages",
        np.where(mine, "chat_message_sent", "chat_message_received"),
        ts,
        {"channel_id": channels["id"][ch],
         "sender_name": np.where(mine, life.person.full_name, c.full_name[sender]),
         "sender_handle": np.where(mine, chat_handle(life.person.full_name),
                                   [chat_handle(x) for x in c.full_name[sender]]),
         "text": text, "sent_at": ts, "reply_to": reply_to},
        record_ids=np.array(ids, dtype=object)[rows].tolist(),
        actor=np.where(mine, "user", c.full_name[sender]).tolist(),
        device=np.where(mine, life.device(ts, phone_share=0.33), None).tolist(),
        cause=cause,
    )


def _channel_name(project: str) -> str:
    """A chat channel name as people make them: lowercase words joined by hyphens, short."""
    words = re.sub(r"[^a-z0-9 ]", "", project.lower()).split()
    name = ""
    for w in words:
        if len(name) + len(w) + 1 > 24 and name:
            break
        name = f"{name}-{w}" if name else w
    return name


def chat_handle(name: str) -> str:
    """How a person appears in team chat: ``@first.last``."""
    return "@" + name.lower().replace(" ", ".")


def _channels(life: Life, rng) -> dict[str, np.ndarray]:
    c = life.person.contacts
    cow = c.of_kind("coworkers")
    projects = life.spec.projects
    names = ["general", "random", *[_channel_name(p) for p in projects[:3]]]
    social = [False, True, *[False] * min(3, len(projects))]
    project = [projects[0], projects[0], *projects[:3]]
    members = [cow, cow, *[rng.choice(cow, size=min(len(cow), 8), replace=False)
                           for _ in projects[:3]]]
    topic = ["Company-wide announcements", "Anything goes",
             *[f"Day-to-day work: {p}" for p in projects[:3]]]
    close = cow[np.argsort(-c.closeness[cow])[:5]]
    for j in close.tolist():
        names.append(c.full_name[j])
        social.append(False)
        project.append(projects[j % len(projects)])
        members.append(np.array([j]))
        topic.append("")
    n = len(names)
    ids = life.world.emit(
        "chat_channels", "chat_channel_joined", np.full(n, OPENING),
        {"name": np.array(names, dtype=object), "topic": np.array(topic, dtype=object),
         "is_dm": np.array([False] * (n - len(close)) + [True] * len(close)),
         "member_count": np.array([len(m) + 1 for m in members], dtype=np.int32),
         "created_at": np.full(n, OPENING)},
        actor="user",
    )[0]
    return {"id": np.array(ids, dtype=object), "members": members,
            "social": np.array(social), "project": np.array(project, dtype=object),
            "is_dm": np.array([False] * (n - len(close)) + [True] * len(close)),
            "created": np.full(n, OPENING, np.int64)}


# -- sms --------------------------------------------------------------------------------

# First names of people who are not in the address book: a seller, a courier, someone met
# once. Fictional and common, so they name nobody in particular.
STRANGERS = np.array(
    ["Alex", "Sam", "Jordan", "Taylor", "Chris", "Pat", "Robin", "Jamie", "Casey", "Morgan",
     "Dana", "Lee", "Kim", "Drew", "Jesse", "Toni", "Max", "Nico", "Ari", "Quinn"], dtype=object)
# Numbers a stranger may text from: the fictional range past the address book's and the
# changed numbers' indices, short of the user's own (see personas.instance.fictional_phone).
_STRANGER_NUMBERS = (600, 780)


def _sms_period(life: Life, *, days: range) -> None:
    rng = life.world.rng.stream("sms")
    c = life.person.contacts
    item_days = life.item_days("sms", days, rng, scale=1 / 3.5)
    kinds = ("family", "friends")
    parts: list[dict] = []  # everything this period texts, written in one go
    if len(item_days) and len(c.of_kind(*kinds)):
        starts = life.at_hours(item_days, rng)
        ts, burst = _bursts(rng, starts, 6)
        party, go = avoid_locks(life, rng, personal_party(life, rng, len(starts)), ts,
                                burst, kinds, small_talk=True)
        keep = go[burst]
        ts, burst, party = ts[keep], burst[keep], party[burst[keep]]
        n = len(ts)
        mine = _position(burst) % 2 == (rng.random(len(starts)) < 0.4)[burst]
        family = c.kind[party] == "family"
        slots = {"first": c.first_name[party], "place": pick(rng, life.pools.places, n),
                 "time": life.plan_times(rng, n), "day": life.day_refs(rng, ts + 86_400),
                 "to_first": np.where(mine, c.first_name[party], life.person.first_name)}
        # Most texts are quick one-liners; some greet, some make plans. With someone a
        # storyline holds, only small talk: nothing the story could contradict.
        roll = rng.random(n)
        intent = np.where(roll < 0.1, "sms_greeting", np.where(
            roll < 0.22, "sms_plans", np.where(family, "sms_family", "sms_friend"))).astype(object)
        intent[locked_at(life, party, ts)] = "sms_small_talk"
        # Like chat, a one-liner sometimes runs to two sentences (storyline texts often do).
        two = np.where(roll >= 0.22, rng.choice([1, 1, 1, 2], n), 1)
        parts.append(_contact_texts(life, ts, party, mine,
                                    _render(life, rng, intent, slots, two)))
    if days.start == 0:
        parts += _new_numbers(life, rng)
        parts += _strangers(life, rng, range(0, life.world.days))
    codes = life.item_days("spam", days, rng, scale=0.5)
    if len(codes):
        ts = life.at_hours(codes, rng)
        k = len(ts)
        # Codes come from every kind of account: shops online and local, streaming and
        # gym subscriptions, airlines; most of them text rarely.
        merchant = pick(rng, _code_senders(life), k)
        text = life.grammar.sentences(
            "sms_code", rng, {"code": rng.integers(100000, 999999, k).astype(str).astype(object),
                              "merchant": merchant}, k)
        parts.append(_org_texts(ts, merchant, text))
    promos = life.item_days("spam", range(0, life.world.days), rng, scale=0.2) \
        if days.start == 0 else ()
    if len(promos):
        ts = life.at_hours(promos, rng)
        k = len(ts)
        merchant = pick(rng, life.pools.products.merchant, k)
        text = life.grammar.sentences(
            "sms_promo", rng, {"merchant": merchant, "percent": np.char.add(
                rng.choice([10, 15, 20, 25, 30, 40], k).astype(str), "%").astype(object),
                "day": life.weekday_names(ts + 3 * 86_400)}, k)
        parts.append(_org_texts(ts, merchant, text))
    _emit_texts(life, parts)


def _code_senders(life: Life) -> np.ndarray:
    """Everyone who may text the user a one-time code, each once."""
    pools = life.pools
    names = [*pools.products.merchant.tolist(), *pools.merchants.tolist(),
             *(s[0] for s in pools.subscriptions), *pools.airlines.tolist()]
    return np.array(sorted(set(names)), dtype=object)


def _position(group: np.ndarray) -> np.ndarray:
    """Each message's place in its group (groups are runs of equal, sorted ids)."""
    first = np.r_[True, group[1:] != group[:-1]]
    return np.arange(len(group)) - np.flatnonzero(first)[np.cumsum(first) - 1]


def _render(life: Life, rng, intent: np.ndarray, slots: dict[str, np.ndarray],
            counts: np.ndarray | None = None) -> np.ndarray:
    """Text per row from the intent named in ``intent`` (grouped per intent): one sentence,
    or two from different templates where ``counts`` is 2."""
    text = np.empty(len(intent), dtype=object)
    g = life.grammar
    for name in np.unique(intent).tolist():
        sel = intent == name
        k = int(sel.sum())
        sub = {key: v[sel] for key, v in slots.items() if key in g.intent(name).slots}
        pool = g.intent(name).sentences
        first = pool.draw(rng, k)
        out = g.sentences(name, rng, sub, k, variants=first).to_numpy(zero_copy_only=False)
        two = counts[sel] > 1 if counts is not None else np.zeros(k, bool)
        if two.any():  # a second sentence, never from the first one's template
            m, n_t = int(two.sum()), len(pool.first_variant)
            t = (pool.template_of[first[two]] + rng.integers(1, max(n_t, 2), m)) % n_t
            more = g.sentences(name, rng, {key: v[two] for key, v in sub.items()}, m,
                               variants=pool.variant_of(rng, t)).to_numpy(zero_copy_only=False)
            out[two] = np.char.add(np.char.add(out[two].astype(str), " "),
                                   more.astype(str)).astype(object)
        text[sel] = out
    return text


def _new_numbers(life: Life, rng) -> list[dict]:
    """Someone who changes number texts from it before the user saves it on their card."""
    who, when, new = life.state.get("phone_changes", ((), (), ()))
    if not len(who):
        return []
    c = life.person.contacts
    who, when = np.asarray(who), np.asarray(when, dtype=np.int64)
    k = len(who)
    hello = np.maximum(when - rng.integers(10, 90, k) * MINUTE, 120)
    reply = np.minimum(hello + rng.integers(2, 8, k) * MINUTE, when - 30)
    number = np.asarray(new, dtype=object)
    user = np.full(k, life.person.first_name, dtype=object)
    greeting = life.grammar.sentences(
        "sms_new_number", rng, {"user_first": user, "first": c.first_name[who]}, k)
    thanks = life.grammar.sentences(
        "sms_stranger_reply", rng, {"first": c.first_name[who],
                                    "day": life.weekday_names(reply + 86_400),
                                    "time": life.plan_times(rng, k)}, k,
        variants=np.zeros(k, np.int64))
    return [_number_texts(hello, number, np.zeros(k, bool), greeting),
            _number_texts(reply, number, np.ones(k, bool), thanks)]


def _strangers(life: Life, rng, days: range) -> list[dict]:
    """Short exchanges with numbers that are not in the address book."""
    item_days = life.item_days("sms", days, rng, scale=0.02)
    if not len(item_days):
        return []
    starts = life.at_hours(item_days, rng)
    ts, burst = _bursts(rng, starts, 8)
    size = np.bincount(burst)
    ts, burst = ts[size[burst] <= 4], burst[size[burst] <= 4]  # a few lines, no more
    if not len(ts):
        return []
    n, m = len(ts), len(starts)
    number = stranger_numbers(life, rng, m)[burst]
    first = pick(rng, STRANGERS, m)[burst]
    mine = _position(burst) % 2 == 1
    slots = {"user_first": np.full(n, life.person.first_name, dtype=object), "first": first,
             "place": pick(rng, life.pools.places, n), "day": life.weekday_names(ts + 86_400),
             "time": life.plan_times(rng, n)}
    text = _render(life, rng, np.where(mine, "sms_stranger_reply", "sms_stranger"), slots)
    return [_number_texts(ts, number, mine, text)]


def stranger_numbers(life: Life, rng, n: int) -> np.ndarray:
    lo, hi = _STRANGER_NUMBERS
    book = life.state.get("stranger_numbers")
    if book is None:
        book = np.array([fictional_phone(life.spec.country, i) for i in range(lo, hi)],
                        dtype=object)
        life.state["stranger_numbers"] = book
    return book[rng.integers(0, hi - lo, n)]


def _digits(numbers: np.ndarray) -> np.ndarray:
    """"cv_" and the digits of each number: the thread a number's texts are in."""
    uniq, inverse = np.unique(np.asarray(numbers, dtype=str), return_inverse=True)
    return np.array(["cv_" + "".join(ch for ch in u if ch.isdigit()) for u in uniq],
                    dtype=object)[inverse]


def _as_objects(text) -> np.ndarray:
    return text.to_numpy(zero_copy_only=False) if isinstance(text, pa.Array) else \
        np.asarray(text, dtype=object)


def _contact_texts(life: Life, ts, party, outgoing, text) -> dict:
    c = life.person.contacts
    return {"ts": np.asarray(ts, np.int64), "outgoing": np.asarray(outgoing, bool),
            "conversation_id": np.char.add("cv_", np.char.mod("%03d", party)).astype(object),
            "phone_number": phone_at(life, party, ts), "contact_name": c.full_name[party],
            "text": _as_objects(text)}


def _number_texts(ts, number, outgoing, text) -> dict:
    number = np.asarray(number, dtype=object)
    return {"ts": np.asarray(ts, np.int64), "outgoing": np.asarray(outgoing, bool),
            "conversation_id": _digits(number), "phone_number": number,
            "contact_name": number, "text": _as_objects(text)}


def _org_texts(ts, org, text, outgoing=None) -> dict:
    org = np.asarray(org, dtype=object)
    short = short_code(org)
    return {"ts": np.asarray(ts, np.int64),
            "outgoing": np.zeros(len(org), bool) if outgoing is None
            else np.asarray(outgoing, bool),
            "conversation_id": np.char.add("cv_", short.astype(str)).astype(object),
            "phone_number": short, "contact_name": org, "text": _as_objects(text)}


def _emit_texts(life: Life, parts: list[dict], cause=None):
    """Write texts (from :func:`_contact_texts`, :func:`_number_texts`, :func:`_org_texts`)
    in one call; the other party is the actor of what the user receives."""
    parts = [p for p in parts if len(p["ts"])]
    if not parts:
        return [], []
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    out, ts = cols.pop("outgoing"), cols.pop("ts")
    return life.world.emit(
        "sms_messages", np.where(out, "sms_sent", "sms_received"), ts,
        cols | {"direction": np.where(out, "outgoing", "incoming"), "sent_at": ts},
        actor=np.where(out, "user", cols["contact_name"]).tolist(),
        device=np.where(out, "phone", None).tolist(), cause=cause,
    )


def emit_sms(life: Life, ts, party, outgoing, text, cause=None):
    return _emit_texts(life, [_contact_texts(life, ts, party, outgoing, text)], cause)


def emit_number_sms(life: Life, ts, number, outgoing, text, cause=None):
    """Texts with a number the address book does not know: the phone shows the number."""
    return _emit_texts(life, [_number_texts(ts, number, outgoing, text)], cause)


def short_code(org) -> np.ndarray:
    """The five-digit short code an organisation texts from (stable per name)."""
    uniq, inverse = np.unique(np.asarray(org, dtype=str), return_inverse=True)
    return np.array([str(name_digest(o) % 90000 + 10000) for o in uniq], dtype=object)[inverse]


def emit_org_sms(life: Life, ts, org, text, cause=None, outgoing=None):
    """A text from a short code (a shop, a carrier, a clinic): not in the address book.

    ``outgoing`` marks the user's own replies to it ("Y" to confirm).
    """
    return _emit_texts(life, [_org_texts(ts, org, text, outgoing)], cause)
