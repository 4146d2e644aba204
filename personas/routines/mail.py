"""Email conversations: threads that start, get answered, bounce back and get forwarded.

Each day the routine draws the day's new threads as arrays, then walks them level by level:
a share of level-k messages is answered at level k+1 after a log-normal delay, with the
direction flipped. Mail the user sends for work is moved into their work hours (apart from
the persona's small out-of-hours share).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa

from personas.life import Life
from personas.pools import pick
from personas.routines.compose import email_bodies, join, prefixed, quote, strip_quote, subjects
from sim.clock import DAY, HOUR, MINUTE

_MAX_DEPTH = 5


@dataclass
class Mailbox:
    """Which mailbox, who writes to it, and how they write."""

    table: str
    kinds: tuple[str, ...]  # contact kinds who start threads
    user_address: str
    intents: dict[str, tuple[str, ...]]  # contact kind -> intents of a new thread
    reply_intent: str
    work: bool


def install(life: Life) -> None:
    p = life.person
    if life.world.has("work_email"):
        box = Mailbox(
            table="work_emails",
            kinds=("coworkers", "clients", "vendors"),
            user_address=p.work_email,
            intents={"coworkers": ("work_request", "work_update", "work_fyi"),
                     "clients": ("work_client",), "vendors": ("work_vendor",)},
            reply_intent="work_reply",
            work=True,
        )
        life.world.every(partial(_period, life, box, volume="work_email"))
    if life.world.has("personal_email"):
        box = Mailbox(
            table="personal_emails",
            kinds=("family", "friends"),
            user_address=p.personal_email,
            intents={"family": ("personal_catchup", "personal_plans"),
                     "friends": ("personal_catchup", "personal_plans")},
            reply_intent="personal_reply",
            work=False,
        )
        life.world.every(partial(_period, life, box, volume="personal_email"))


def _parties(life: Life, box: Mailbox, rng: np.random.Generator, n: int) -> np.ndarray:
    c = life.person.contacts
    idx = c.of_kind(*box.kinds)
    if box.work:
        weight = np.where(c.kind[idx] == "coworkers", 1.0, 0.6) * (c.closeness[idx] + 0.3)
    else:
        weight = c.closeness[idx]  # close people write most
    return idx[rng.choice(len(idx), size=n, p=weight / weight.sum())]


def _period(life: Life, box: Mailbox, *, days: range, volume: str) -> None:
    rng = life.world.rng.stream(f"mail/{box.table}")
    c = life.person.contacts
    item_days = life.item_days(volume, days, rng, scale=0.45)  # the rest is replies
    n = len(item_days)
    if n == 0 or not len(c.of_kind(*box.kinds)):
        return
    party = _parties(life, box, rng, n)
    outgoing = rng.random(n) < 0.3
    ts = life.in_work(item_days, rng) if box.work else life.at_hours(item_days, rng)
    if box.work:
        ts = _user_hours(life, rng, ts, outgoing)
    intent = np.array([box.intents[k][int(r * len(box.intents[k]))]
                       for k, r in zip(c.kind[party], rng.random(n), strict=True)], dtype=object)
    slots = _slots(life, rng, ts, party, outgoing)
    subject = np.empty(n, dtype=object)
    body = np.empty(n, dtype=object)
    for name in np.unique(intent):
        sel = np.flatnonzero(intent == name)
        sub_slots = {k: v[sel] for k, v in slots.items()}
        subject[sel] = subjects(life, rng, name, sub_slots, len(sel)).to_numpy(
            zero_copy_only=False)
        body[sel] = _bodies(life, rng, name, sub_slots, party[sel], outgoing[sel],
                            work=box.work).to_numpy(
            zero_copy_only=False)
    thread = life.world.ids.mint(f"threads/{box.table}", "th_", n)
    cc = _cc(life, rng, party) if box.work else np.full(n, "", dtype=object)
    rec, ev = _emit(life, box, ts, party, outgoing, pa.array(subject), pa.array(body),
                    np.array(thread, dtype=object), cc, None, None)
    _follow(life, box, rng, ts, party, outgoing, pa.array(subject), pa.array(body),
            np.array(thread, dtype=object), cc, np.array(rec, dtype=object),
            np.array(ev, dtype=object))
    _forward(life, box, rng, ts, party, outgoing, pa.array(subject), pa.array(body),
             np.array(rec, dtype=object), np.array(ev, dtype=object))


def _user_hours(life: Life, rng, ts: np.ndarray, user_sends: np.ndarray) -> np.ndarray:
    """User-sent work mail moves into work hours, apart from the persona's late ones; on a
    public holiday only the persona's small holiday share is sent at all."""
    late = rng.random(len(ts)) < life.spec.work.mail_outside_hours
    out = np.where(user_sends & ~late, life.next_working(ts, rng), ts)
    day = np.clip(life.world.clock.local_day(out), 0, len(life.holidays) - 1)
    holiday = life.holidays[day] & (not life.spec.work.works_public_holidays)
    wait = user_sends & holiday & (rng.random(len(ts)) >= life.spec.work.holiday_mail_share)
    return np.where(wait, life.next_working(out, rng), out)


def _slots(life: Life, rng, ts: np.ndarray, party: np.ndarray,
           outgoing: np.ndarray) -> dict[str, np.ndarray]:
    c, p, pools = life.person.contacts, life.person, life.pools
    n = len(party)
    later = ts + rng.integers(1, 20, n) * DAY  # what mail talks about lies ahead
    return {
        "first": np.where(outgoing, c.first_name[party], p.first_name),
        "sender_first": np.where(outgoing, p.first_name, c.first_name[party]),
        "project": pick(rng, np.array(life.spec.projects, dtype=object), n),
        "topic": pick(rng, pools.work_topics if life.spec.work.blocks else pools.personal_topics,
                      n),
        "date": life.dates(later),
        "time": life.plan_times(rng, n, life.WORK_HOURS if life.spec.work.blocks
                                else (10, 12, 13, 18, 19)),
        "company": np.where(c.company[party] != "", c.company[party], p.employer),
        "amount": life.money(rng.integers(200, 9000, n) * 100),
        "place": pick(rng, pools.places, n),
        "day": life.weekday_names(later),
    }


def _signature(life: Life, party: np.ndarray, outgoing: np.ndarray, work: bool) -> np.ndarray:
    """Work mail is signed with name, title and company; personal mail with the name."""
    c, p = life.person.contacts, life.person
    if not work:
        return np.where(outgoing, p.full_name, c.full_name[party])
    theirs = np.array([f"{name}\n{title + ', ' if title else ''}{company or ''}".rstrip(", \n")
                       for name, title, company in zip(c.full_name[party], c.job_title[party],
                                                       c.company[party], strict=True)],
                      dtype=object)
    mine = f"{p.full_name}\n{p.spec.occupation}, {p.employer}"
    return np.where(outgoing, mine, theirs)


def _bodies(life: Life, rng, intent: str, slots, party, outgoing, *, work: bool,
            **quoted) -> pa.Array:
    c, p = life.person.contacts, life.person
    return email_bodies(
        life, rng, intent, slots,
        recipient_first=np.where(outgoing, c.first_name[party], p.first_name),
        sender_first=np.where(outgoing, p.first_name, c.first_name[party]),
        signature=_signature(life, party, outgoing, work),
        **quoted,
    )


def _cc(life: Life, rng, party: np.ndarray) -> np.ndarray:
    """Copy in a few people the other party works with (their neighbours in the graph)."""
    c = life.person.contacts
    out = np.full(len(party), "", dtype=object)
    k = rng.choice(4, size=len(party), p=[0.55, 0.25, 0.15, 0.05])
    for i in np.flatnonzero(k):
        nbrs = sorted(c.graph.neighbors(int(party[i])))
        if nbrs:
            chosen = rng.choice(nbrs, size=min(int(k[i]), len(nbrs)), replace=False)
            out[i] = ", ".join(c.email[j] for j in sorted(chosen))
    return out


def _emit(life: Life, box: Mailbox, ts, party, outgoing, subject, body, thread, cc,
          reply_to, cause, related=None, kind=None):
    c, p = life.person.contacts, life.person
    user_name = p.full_name
    if kind is None:
        kind = np.where(outgoing, "email_sent", "email_received")
    return life.world.emit(
        box.table,
        kind,
        ts,
        {
            "thread_id": thread,
            "folder": np.where(outgoing, "sent", "inbox"),
            "from_name": np.where(outgoing, user_name, c.full_name[party]),
            "from_address": np.where(outgoing, box.user_address, c.email[party]),
            "to_addresses": np.where(outgoing, c.email[party], box.user_address),
            "cc_addresses": cc,
            "subject": subject,
            "body": body,
            "sent_at": ts,
            "in_reply_to": reply_to,
            "related_id": related,
        },
        actor=np.where(outgoing, "user", c.full_name[party]).tolist(),
        device=np.where(outgoing, life.device(ts, phone_share=0.4), None).tolist(),
        cause=cause,
    )


def _follow(life: Life, box: Mailbox, rng, ts, party, outgoing, subject, body, thread, cc,
            rec, ev) -> None:
    """Replies, level by level, each answering the previous message of its thread."""
    for depth in range(_MAX_DEPTH):
        p_reply = np.where(outgoing, 0.55, 0.6 if box.work else 0.5) * (0.7**depth)
        keep = rng.random(len(ts)) < p_reply
        if not keep.any():
            return
        ts, party, prev_out = ts[keep], party[keep], outgoing[keep]
        subject, body, thread, cc = subject.filter(keep), body.filter(keep), thread[keep], cc[keep]
        rec, ev = rec[keep], ev[keep]
        outgoing = ~prev_out
        delay = rng.lognormal(np.log(45 * MINUTE if box.work else 5 * HOUR), 1.0, len(ts))
        new_ts = life.awake(ts + np.maximum(delay, 60).astype(np.int64), rng)
        if box.work:
            new_ts = np.maximum(_user_hours(life, rng, new_ts, outgoing), ts + 60)
        slots = _slots(life, rng, new_ts, party, outgoing)
        c, p = life.person.contacts, life.person
        quoted_from = np.where(prev_out, p.full_name, c.full_name[party])
        new_body = _bodies(life, rng, box.reply_intent, slots, party, outgoing, work=box.work,
                           sentences=(1, 3), quoted=body, quoted_from=quoted_from,
                           quoted_ts=ts)
        new_subject = prefixed("Re: ", subject)
        new_rec, new_ev = _emit(life, box, new_ts, party, outgoing, new_subject, new_body,
                                thread, cc, rec, ev)
        ts, subject, body = new_ts, new_subject, new_body
        rec, ev = np.array(new_rec, dtype=object), np.array(new_ev, dtype=object)


def _forward(life: Life, box: Mailbox, rng, ts, party, outgoing, subject, body, rec, ev) -> None:
    """Some incoming mail is passed on to a colleague or friend with a short note."""
    keep = ~outgoing & (rng.random(len(ts)) < (0.12 if box.work else 0.05))
    if not keep.any():
        return
    n = int(keep.sum())
    c, _p = life.person.contacts, life.person
    target = _parties(life, box, rng, n)
    src_party = party[keep]
    new_ts = ts[keep] + rng.integers(10 * MINUTE, 6 * HOUR, n)
    if box.work:
        new_ts = np.maximum(_user_hours(life, rng, new_ts, np.ones(n, bool)), ts[keep] + 60)
    slots = _slots(life, rng, new_ts, target, np.ones(n, bool))
    note = _bodies(life, rng, "work_fyi" if box.work else "personal_reply", slots, target,
                   np.ones(n, bool), work=box.work, sentences=(1, 2))
    original = strip_quote(body.filter(keep))
    header = [
        f"\n\n---------- Forwarded message ----------\nFrom: {name} <{addr}>\nSubject: {s}\n\n"
        for name, addr, s in zip(c.full_name[src_party], c.email[src_party],
                                 subject.filter(keep).to_pylist(), strict=True)
    ]
    fwd_body = join(note, pa.array(header, pa.string()), quote(original))
    thread = np.array(life.world.ids.mint(f"threads/{box.table}", "th_", n), dtype=object)
    _emit(life, box, new_ts, target, np.ones(n, bool), prefixed("Fwd: ", subject.filter(keep)),
          fwd_body, thread, np.full(n, "", dtype=object), rec[keep], ev[keep],
          kind="email_forwarded")
