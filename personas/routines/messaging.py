"""Chat, text messages and calls: short messages that come in bursts, mostly from the few
people the user is closest to; a missed call is often answered by a text."""

from __future__ import annotations

import re
from functools import partial

import numpy as np

from personas.life import OPENING, Life
from personas.pools import pick
from personas.routines.contacts import phone_at
from sim.clock import MINUTE
from sim.rng import name_digest

# Burst sizes: conversations are a few messages back and forth, rarely a long exchange.
_BURST = np.array([1, 2, 2, 3, 3, 4, 5, 6, 8, 12])


def install(life: Life) -> None:
    if life.world.has("chat") and len(life.person.contacts.of_kind("coworkers")):
        life.world.every(partial(_chat_period, life))
    if life.world.has("sms"):
        life.world.every(partial(_sms_period, life))
    if life.world.has("calls"):
        life.world.every(partial(_calls_period, life))


def _free(life: Life, idx: np.ndarray) -> np.ndarray:
    """Contacts no storyline has locked: routine texts and calls leave those alone."""
    locked = [i for kind, i in life.state.get("locks", ()) if kind == "contact"]
    return idx[~np.isin(idx, locked)] if locked else idx


def _personal_party(life: Life, rng, n: int, kinds=("family", "friends")) -> np.ndarray:
    c = life.person.contacts
    idx = _free(life, c.of_kind(*kinds))
    w = c.closeness[idx]
    return idx[rng.choice(len(idx), size=n, p=w / w.sum())]


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
    channels = life.state["chat_channels"]
    item_days = life.item_days("chat", days, rng, scale=1 / 3.5)  # bursts average 3.5
    if not len(item_days):
        return
    starts = life.in_work(item_days, rng)
    ts, burst = _bursts(rng, starts, 3)
    n = len(ts)
    ch = rng.integers(0, len(channels["id"]), len(starts))[burst]
    c = life.person.contacts
    members = channels["members"]
    sender = np.array([members[k][int(r * len(members[k]))]
                       for k, r in zip(ch.tolist(), rng.random(n), strict=True)])
    mine = rng.random(n) < 0.3
    social = channels["social"][ch]
    slots = {"first": c.first_name[sender], "project": channels["project"][ch],
             "topic": pick(rng, life.pools.work_topics, n),
             "time": life.plan_times(rng, n, life.WORK_HOURS),
             "day": life.weekday_names(ts + 86_400), "place": pick(rng, life.pools.places, n)}
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
         "sender_handle": np.where(mine, _handle(life.person.full_name),
                                   [_handle(x) for x in c.full_name[sender]]),
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


def _handle(name: str) -> str:
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
            "social": np.array(social), "project": np.array(project, dtype=object)}


# -- sms --------------------------------------------------------------------------------


def _sms_period(life: Life, *, days: range) -> None:
    rng = life.world.rng.stream("sms")
    c = life.person.contacts
    item_days = life.item_days("sms", days, rng, scale=1 / 3.5)
    if len(item_days) and len(_free(life, c.of_kind("family", "friends"))):
        starts = life.at_hours(item_days, rng)
        ts, burst = _bursts(rng, starts, 6)
        party = _personal_party(life, rng, len(starts))[burst]
        n = len(ts)
        mine = (np.arange(n) - np.r_[0, np.flatnonzero(np.diff(burst)) + 1][burst]) % 2 == (
            rng.random(len(starts)) < 0.4)[burst]
        family = c.kind[party] == "family"
        slots = {"first": c.first_name[party], "place": pick(rng, life.pools.places, n),
                 "time": life.plan_times(rng, n), "day": life.weekday_names(ts + 86_400)}
        text = np.empty(n, dtype=object)
        for intent, sel in (("sms_family", family), ("sms_friend", ~family)):
            if sel.any():
                text[sel] = life.grammar.sentences(
                    intent, rng, {k: v[sel] for k, v in slots.items()}, int(sel.sum())
                ).to_numpy(zero_copy_only=False)
        emit_sms(life, ts, party, mine, text)
    codes = life.item_days("spam", days, rng, scale=0.3)
    if len(codes):
        ts = life.at_hours(codes, rng)
        k = len(ts)
        merchant = pick(rng, life.pools.products.merchant, k)
        text = life.grammar.sentences(
            "sms_code", rng, {"code": rng.integers(100000, 999999, k).astype(str).astype(object),
                              "merchant": merchant}, k)
        emit_org_sms(life, ts, merchant, text)


def emit_sms(life: Life, ts, party, outgoing, text, cause=None):
    c = life.person.contacts
    return life.world.emit(
        "sms_messages", np.where(outgoing, "sms_sent", "sms_received"), ts,
        {"conversation_id": np.char.add("cv_", np.char.mod("%03d", party)).astype(object),
         "phone_number": phone_at(life, party, ts), "contact_name": c.full_name[party],
         "direction": np.where(outgoing, "outgoing", "incoming"), "text": text, "sent_at": ts},
        actor=np.where(outgoing, "user", c.full_name[party]).tolist(),
        device=np.where(outgoing, "phone", None).tolist(), cause=cause,
    )


def emit_org_sms(life: Life, ts, org, text, cause=None):
    """A text from a short code (a shop, a carrier, a clinic): not in the address book."""
    short = np.array([str(name_digest(o) % 90000 + 10000) for o in org], dtype=object)
    return life.world.emit(
        "sms_messages", "sms_received", ts,
        {"conversation_id": np.char.add("cv_", short.astype(str)).astype(object),
         "phone_number": short, "contact_name": org, "direction": "incoming", "text": text,
         "sent_at": ts},
        actor=list(org), cause=cause,
    )


# -- calls ------------------------------------------------------------------------------


def _calls_period(life: Life, *, days: range) -> None:
    rng = life.world.rng.stream("calls")
    c = life.person.contacts
    item_days = life.item_days("calls", days, rng)
    n = len(item_days)
    if n == 0:
        return
    work = rng.random(n) < (0.5 if life.spec.work.blocks else 0.0)
    party = _personal_party(life, rng, n, kinds=("family", "friends", "services"))
    if work.any() and len(_free(life, c.of_kind("coworkers", "clients", "vendors"))):
        pool = _free(life, c.of_kind("coworkers", "clients", "vendors"))
        party[work] = pool[rng.integers(0, len(pool), int(work.sum()))]
        ts = np.where(work, life.in_work(item_days, rng), life.at_hours(item_days, rng))
    else:
        ts = life.at_hours(item_days, rng)
    roll = rng.random(n)
    direction = np.where(roll < 0.45, "incoming", np.where(roll < 0.8, "outgoing", "missed"))
    duration = np.where(direction == "missed", 0,
                        np.clip(rng.lognormal(np.log(240), 0.9, n), 15, 5400)).astype(np.int32)
    voicemail = (direction == "missed") & (rng.random(n) < 0.5)
    slots = {"first": c.first_name[party], "topic": pick(rng, life.pools.personal_topics, n),
             "time": life.plan_times(rng, n), "day": life.weekday_names(ts + 86_400)}
    transcript = np.where(voicemail, life.grammar.documents(
        "voicemail", rng, slots, rng.integers(1, 3, n)).to_numpy(zero_copy_only=False), None)
    kind = np.select([direction == "incoming", direction == "outgoing"],
                     ["call_received", "call_placed"], "call_missed")
    _, ev = life.world.emit(
        "call_log", kind, ts,
        {"phone_number": phone_at(life, party, ts), "contact_name": c.full_name[party],
         "direction": direction, "started_at": ts, "duration_seconds": duration,
         "voicemail_transcript": transcript},
        actor=np.where(direction == "outgoing", "user", c.full_name[party]).tolist(),
        device="phone",
    )
    # A missed call from someone close is usually answered by a text.
    back = (direction == "missed") & ~work & (rng.random(n) < 0.6) & life.world.has("sms")
    if back.any():
        k = int(back.sum())
        t = ts[back] + rng.integers(5 * MINUTE, 90 * MINUTE, k)
        text = life.grammar.sentences(
            "sms_friend", rng, {key: v[back] for key, v in slots.items()} |
            {"place": pick(rng, life.pools.places, k)}, k)
        emit_sms(life, t, party[back], np.ones(k, bool), text,
                 cause=np.array(ev, dtype=object)[back].tolist())
