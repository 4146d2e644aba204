"""Calendar life: recurring series, one-off meetings with invitations, reschedules and
cancellations, personal appointments, birthdays; meetings leave notes and to-dos behind."""

from __future__ import annotations

from functools import partial

import numpy as np
import pyarrow.compute as pc

from personas.life import OPENING, Life
from personas.pools import pick, pick_weighted
from personas.routines.compose import join
from personas.routines.contacts import phone_at
from personas.routines.notify import after
from personas.routines.offices import OFFICE_HOURS, office_texts
from personas.routines.parties import locked_at
from sim.clock import DAY, HOUR, MINUTE, Clock, day_number
from sim.history import NULL_DATE, NULL_TS

# The kinds of entry the user shares with each kind of contact, with their weights. Each
# kind is an intent of templates/calendar.toml with its own titles and descriptions, and
# takes place where that kind of thing does: a dinner is never in the boardroom, nor a
# design review at the ramen bar.
_KINDS: dict[str, dict[str, float]] = {
    "coworkers": {"meeting_project": 4, "meeting_person": 3, "meeting_team": 1,
                  "meeting_interview": 1},
    "clients": {"meeting_project": 1, "meeting_person": 1},
    "friends": {"plans_meal": 3, "plans_drinks": 2, "plans_home": 1},
    "family": {"plans_meal": 1, "plans_family": 1},
    "services": {"appointment": 1},
}
_ROOMS = {
    "meeting_project": ("Room 2A", "Room 3B", "Boardroom", "Video call", "Video call"),
    "meeting_person": ("Video call", "Video call", "Phone", "Room 2A"),
    "meeting_team": ("Boardroom", "Video call"),
    "meeting_interview": ("Room 2A", "Room 3B", "Video call"),
}
_AT_THEIRS = ("plans_home", "plans_family")  # at the other person's home


def install(life: Life) -> None:
    if not life.world.has("calendar"):
        return
    life.world.every(partial(_period, life))


def _period(life: Life, *, days: range) -> None:
    rng = life.world.rng.stream("calendar")
    if days.start == 0:
        _series(life, rng)
        _birthdays(life, rng)
        _rota(life)
    if life.spec.work.blocks and len(life.person.contacts.of_kind("coworkers", "clients")):
        _meetings(life, rng, days)
    _personal(life, rng, days)


def _snap(clock: Clock, ts: np.ndarray, step: int = 30 * MINUTE) -> np.ndarray:
    """Meetings start on the half hour of the user's clock, like people schedule them
    (rounded in local time: in a zone 45 minutes off UTC's hours, UTC's half hours are not
    the user's)."""
    return _snap_local(clock, clock.sim_to_local(ts), step)


def _snap_local(clock: Clock, local: np.ndarray, step: int = 30 * MINUTE) -> np.ndarray:
    """:func:`_snap` of times already on the user's clock (local seconds), as instants."""
    return clock.local_to_sim((local + step // 2) // step * step)


def _emit_events(life: Life, rng, start, duration, *, title, description, location, organizer,
                 attendees, calendar, created, kind, series=None, record_ids=None,
                 status="confirmed", cause=None, payload=None):
    created = np.maximum(np.asarray(created, dtype=np.int64), OPENING)
    return life.world.emit(
        "calendar_events",
        kind,
        created,
        {
            "series_id": series,
            "title": title,
            "description": description,
            "location": location,
            "start": start,
            "end": start + duration,
            "all_day": False,
            "start_date": np.full(len(start), NULL_DATE, np.int32),
            "end_date": np.full(len(start), NULL_DATE, np.int32),
            "organizer": organizer,
            "attendees": attendees,
            "status": status,
            "calendar": calendar,
        },
        record_ids=record_ids,
        actor=np.where(organizer == life.person.full_name, "user", organizer).tolist(),
        device=None,
        cause=cause,
        payload=payload,
    )


def _attendees(life: Life, rng, host: np.ndarray) -> np.ndarray:
    c = life.person.contacts
    out = np.empty(len(host), dtype=object)
    size = rng.integers(0, 5, len(host))
    for i, h in enumerate(host.tolist()):
        nbrs = sorted(c.graph.neighbors(h))
        pick_ = rng.choice(nbrs, size=min(int(size[i]), len(nbrs)), replace=False) if nbrs else []
        names = [life.person.full_name, c.full_name[h], *(c.full_name[j] for j in sorted(pick_))]
        out[i] = ", ".join(dict.fromkeys(names))
    return out


def _entries(life: Life, rng, party: np.ndarray, kinds: dict[str, float] | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Title, description and location of an entry with each of ``party`` (contacts),
    each of a kind drawn for that contact's kind (``_KINDS``), or from ``kinds``."""
    c = life.person.contacts
    n = len(party)
    kind = np.empty(n, dtype=object)
    for contact_kind in np.unique(c.kind[party]).tolist():
        rows = np.flatnonzero(c.kind[party] == contact_kind)
        kind[rows] = pick_weighted(rng, kinds or _KINDS[contact_kind], len(rows))
    slots = {"project": pick(rng, np.array(life.spec.projects, dtype=object), n),
             "first": c.first_name[party],
             "topic": pick(rng, life.pools.work_topics, n),
             "place": pick(rng, life.pools.eateries, n)}
    title, desc = life.grammar.titled(kind, rng, slots, rng.integers(1, 3, n))
    location = slots["place"].copy()  # meals and drinks: at the eatery the entry names
    home = np.isin(kind, _AT_THEIRS)
    location[home] = np.char.add(slots["first"][home].astype(str), "'s place")
    office = kind == "appointment"  # named after the office or what it does
    name = c.full_name[party[office]].astype(str)
    title[office] = np.where(rng.random(len(name)) < 0.4, np.char.add("Appointment with ", name),
                             [f"{r[:1].upper()}{r[1:]} appointment"
                              for r in c.relationship[party[office]].tolist()])
    location[office] = np.char.add(name, "'s office")
    for meeting, rooms in _ROOMS.items():
        rows = np.flatnonzero(kind == meeting)
        location[rows] = pick(rng, np.array(rooms, dtype=object), len(rows))
    return title, desc, location


def _series(life: Life, rng) -> None:
    """Weekly recurring meetings (a 1:1 with the manager, a team sync) for the whole window."""
    if not life.spec.work.blocks or not len(life.person.contacts.of_kind("coworkers")):
        return
    c = life.person.contacts
    hosts = np.array([life.person.manager, *rng.choice(c.of_kind("coworkers"), 2)])
    weeks = life.world.days // 7
    for s, host in enumerate(hosts.tolist()):
        first_day = int(rng.integers(0, 5))
        days = np.arange(first_day, life.world.days, 7)
        days = days[life.workdays[days]] if len(days) else days
        if not len(days) or weeks == 0:
            continue
        # Same local wall-clock time every week, across DST changes.
        first = _snap(life.world.clock, life.in_work(days[:1], rng))
        tod = life.world.clock.sim_to_local(first)[0] % DAY
        start = life.world.clock.local_to_sim(days * DAY + tod)
        n = len(days)
        # The first series is the 1:1 with the manager; the others, team or project meetings.
        kinds = {"meeting_person": 1} if s == 0 else {"meeting_project": 2, "meeting_team": 1}
        title, desc, location = (np.full(n, x[0], dtype=object)
                                 for x in _entries(life, rng, np.array([host]), kinds))
        if s == 0:
            title[:] = f"1:1 {life.person.first_name} / {c.first_name[host]}"
        series = life.world.ids.one("series/calendar", "se_")
        _emit_events(
            life, rng, start, np.full(n, 30 * MINUTE if s == 0 else 45 * MINUTE),
            title=title, description=desc, location=location,
            organizer=np.full(n, c.full_name[host], dtype=object),
            attendees=np.full(n, _attendees(life, rng, np.array([host]))[0], dtype=object),
            calendar="work", created=np.full(n, OPENING), kind="event_invited",
            series=np.full(n, series, dtype=object),
        )


def _rota(life: Life) -> None:
    """People who work shifts, gigs or lessons keep their work blocks in the calendar."""
    if not life.spec.work.in_calendar or not life.work:
        return
    blocks = life.spec.work.blocks
    start = np.array([a for a, _ in life.work], dtype=np.int64)
    end = np.array([b for _, b in life.work], dtype=np.int64)
    n = len(start)
    title = np.array([blocks[b].description or life.spec.occupation for b in life.work_block],
                     dtype=object)
    # Each block is entered about four weeks ahead (never before the window opens).
    created = np.maximum(60, start - 28 * DAY)
    created = np.where(created < start, created, start - HOUR)
    _emit_events(
        life, None, start, end - start, title=title,
        description=np.full(n, f"{life.spec.occupation} at {life.person.employer}", dtype=object),
        location=np.full(n, life.person.employer, dtype=object),
        organizer=np.full(n, life.person.full_name, dtype=object),
        attendees=np.full(n, life.person.full_name, dtype=object), calendar="work",
        created=created, kind="event_created",
    )


def _birthdays(life: Life, rng) -> None:
    """All-day birthday entries for the people the user is closest to."""
    c = life.person.contacts
    close = np.argsort(-c.closeness)[:12]
    start = life.world.clock.start
    days, who = [], []
    for i in close.tolist():
        b = c.birthday[i]
        for year in (start.year, start.year + 1):
            try:
                d = b.replace(year=year)
            except ValueError:  # 29 February
                continue
            offset = (d - start).days
            if 0 <= offset < life.world.days:
                days.append(offset)
                who.append(i)
    if not days:
        return
    days_arr = np.array(days, dtype=np.int64)
    n = len(days)
    epoch_day = day_number(start)
    life.world.emit(
        "calendar_events", "event_created", np.full(n, OPENING),
        {
            "title": join(c.full_name[np.array(who)], "'s birthday"),
            "description": np.full(n, "", dtype=object),
            "location": "",
            "start": np.full(n, NULL_TS), "end": np.full(n, NULL_TS),
            "all_day": True,
            "start_date": (days_arr + epoch_day).astype(np.int32),
            "end_date": (days_arr + epoch_day + 1).astype(np.int32),
            "organizer": life.person.full_name, "attendees": life.person.full_name,
            "status": "confirmed", "calendar": "personal",
        },
        actor="user",
    )


def _meetings(life: Life, rng, days: range) -> None:
    c = life.person.contacts
    item_days = life.item_days("meetings", days, rng, scale=0.75)  # series supply the rest
    item_days = item_days[life.workdays[item_days]]
    n = len(item_days)
    if n == 0:
        return
    pool = c.of_kind("coworkers", "clients")
    host = pool[rng.integers(0, len(pool), n)]
    user_hosts = rng.random(n) < 0.3
    start = _snap(life.world.clock, life.in_work(item_days, rng))
    duration = rng.choice([30, 30, 45, 60, 60, 90], n) * MINUTE
    # Organisers send invitations from work, the same day up to a week or so ahead.
    ahead = life.world.clock.local_day(start) - rng.integers(0, 9, n)
    created = life.in_work(ahead, rng)
    created = np.where(created < start - HOUR, created,
                       life.awake(start - rng.integers(2 * HOUR, 6 * HOUR, n), rng))
    created = np.maximum(created, OPENING)
    created = np.where(created < start, created, start - HOUR)
    title, desc, location = _entries(life, rng, host)
    organizer = np.where(user_hosts, life.person.full_name, c.full_name[host])
    attendees = _attendees(life, rng, host)
    rec, ev = _emit_events(
        life, rng, start, duration, title=title, description=desc, location=location,
        organizer=organizer, attendees=attendees, calendar="work",
        created=created, kind=np.where(user_hosts, "event_created", "event_invited"),
    )
    rec, ev = np.array(rec, dtype=object), np.array(ev, dtype=object)
    invited = ~user_hosts & (created > OPENING)  # older invitations were mailed before
    first = (created[invited], host[invited], title[invited], start[invited],
             location[invited], rec[invited], ev[invited])
    start, held, last_ev, moved = _changes(life, rng, rec, ev, start, duration, created, title,
                                           desc, location, organizer, attendees, host)
    if life.world.has("work_email") and (invited.any() or len(moved[0])):
        # Invitations, and updated ones for the meetings that moved (written together).
        both = [np.concatenate([a, b]) for a, b in zip(first, moved, strict=True)]
        prefix = np.r_[np.full(len(first[0]), "Invitation: ", dtype=object),
                       np.full(len(moved[0]), "Updated invitation: ", dtype=object)]
        _invite_mail(life, rng, *both, prefix=prefix)
    # Only meetings that took place leave traces, at the time they really ended.
    _aftermath(life, rng, start[held] + duration[held], host[held], title[held], rec[held],
               last_ev[held])


def _invite_mail(life, rng, ts, host, title, start, location, rec, ev,
                 prefix: str | np.ndarray = "Invitation: ") -> None:
    c = life.person.contacts
    n = len(ts)
    slots = {"title": title, "date": life.dates(start, weekday=True),
             "time": life.times(start), "location": location, "organizer": c.full_name[host]}
    g = life.grammar
    user = np.full(n, life.person.first_name, dtype=object)
    body = join(g.sentences("greeting", rng, {"first": user}, n), "\n\n",
                g.documents("calendar_invite", rng, slots, rng.integers(2, 5, n)),
                "\n\nWhen: ", slots["date"], " ", slots["time"], "\nWhere: ", location,
                "\nOrganizer: ", c.full_name[host], "\n-- \nInvitation from the calendar")
    sent = after(rng, ts, 0, 1)
    life.world.emit(
        "work_emails", "email_received", sent,
        {"thread_id": life.world.ids.mint("threads/work_emails", "th_", n), "folder": "inbox",
         "from_name": c.full_name[host], "from_address": c.email[host],
         "to_addresses": life.person.work_email, "cc_addresses": "",
         "subject": join(prefix, title), "body": body,
         "sent_at": sent, "related_id": rec},
        actor=c.full_name[host].tolist(), cause=ev.tolist(),
    )


def _changes(life, rng, rec, ev, start, duration, created, title, desc, location, organizer,
             attendees, host):
    """Some meetings move (a new version) and a few are cancelled.

    Returns the final start of each meeting, whether it was held, and the event that last
    changed it (what its aftermath follows from).
    """
    n = len(rec)
    none = np.zeros(0, dtype=object)
    moved_mail = (np.zeros(0, np.int64), np.zeros(0, np.int64), none, np.zeros(0, np.int64),
                  none, none, none)
    roll = rng.random(n)
    moved = roll < 0.15
    cancelled = (roll >= 0.15) & (roll < 0.2)
    start, last_ev = start.copy(), ev.copy()
    for mask, kind in ((moved, "event_rescheduled"), (cancelled, "event_cancelled")):
        if not mask.any():
            continue
        k = int(mask.sum())
        when = created[mask] + ((start[mask] - created[mask]) * rng.uniform(0.3, 0.9, k)).astype(
            np.int64)
        # Organisers move and cancel meetings from work when they can.
        at_work = life.next_working(when, rng)
        when = np.where(at_work < start[mask] - HOUR, at_work, when)
        new_start = start[mask]
        if kind == "event_rescheduled":
            # Moves are by the user's clock: "a day later" keeps the hour across DST.
            clock = life.world.clock
            local = clock.sim_to_local(new_start)
            shifted = _snap_local(clock, local + rng.choice([-2, -1, 1, 2, 24, 48], k) * HOUR)
            # A meeting is never moved to a time that has already passed.
            new_start = np.where(shifted > when + HOUR, shifted, _snap_local(clock, local + DAY))
        _, change_ev = _emit_events(
            life, rng, new_start, duration[mask], title=title[mask], description=desc[mask],
            location=location[mask], organizer=organizer[mask], attendees=attendees[mask],
            calendar="work", created=when, kind=kind, record_ids=rec[mask].tolist(),
            status="confirmed" if kind == "event_rescheduled" else "cancelled",
            cause=ev[mask].tolist(),
            payload=[{"old_start": life.world.clock.instant(a).isoformat(),
                      "new_start": life.world.clock.instant(b).isoformat()}
                     for a, b in zip(start[mask].tolist(), new_start.tolist(), strict=True)],
        )
        sent = organizer[mask] != life.person.full_name
        if kind == "event_rescheduled":
            moved_mail = (when[sent], host[mask][sent], title[mask][sent], new_start[sent],
                     location[mask][sent], rec[mask][sent],
                     np.array(change_ev, dtype=object)[sent])
        start[mask] = new_start
        last_ev[mask] = change_ev
    return start, ~cancelled, last_ev, moved_mail


def _aftermath(life, rng, end, host, title, rec, ev) -> None:
    """Meetings leave traces: a recap mail, the user's notes, a to-do."""
    c = life.person.contacts
    g = life.grammar
    n = len(end)
    slots = {"project": pick(rng, np.array(life.spec.projects, dtype=object), n),
             "topic": pick(rng, life.pools.work_topics, n), "first": c.first_name[host],
             "date": life.dates(end + 3 * DAY), "time": life.times(end), "product": title,
             "place": pick(rng, life.pools.places, n)}
    roll = rng.random(n)
    recap = (roll < 0.25) & life.world.has("work_email")
    if recap.any():
        k = int(recap.sum())
        sub = {key: v[recap] for key, v in slots.items()}
        ts = after(rng, end[recap], 20, 180)
        # "All," when the greeting is the name alone; no other word of it is a name.
        greeting = pc.utf8_capitalize(
            g.sentences("greeting", rng, {"first": np.full(k, "all", dtype=object)}, k))
        body = join(greeting,
                    "\n\n", g.documents("meeting_followup", rng, sub, rng.integers(3, 6, k)),
                    "\n\n", g.sentences("signoff", rng, {"sender_first": sub["first"]}, k),
                    "\n", sub["first"], "\n-- \n", c.full_name[host[recap]])
        life.world.emit(
            "work_emails", "email_received", ts,
            {"thread_id": life.world.ids.mint("threads/work_emails", "th_", k),
             "folder": "inbox", "from_name": c.full_name[host[recap]],
             "from_address": c.email[host[recap]], "to_addresses": life.person.work_email,
             "cc_addresses": "", "subject": join("Notes: ", title[recap]), "body": body,
             "sent_at": ts, "related_id": rec[recap]},
            actor=c.full_name[host[recap]].tolist(), cause=ev[recap].tolist(),
        )
    notes = (roll > 0.6) & life.world.has("notes")
    if notes.any():
        k = int(notes.sum())
        sub = {key: v[notes] for key, v in slots.items()}
        ts = after(rng, end[notes], 1, 30)
        life.world.emit(
            "notes", "note_created", ts,
            {"folder": "Meetings", "title": title[notes],
             "body": g.documents("note_meeting", rng, sub, rng.integers(3, 7, k)),
             "updated_at": ts, "related_id": rec[notes]},
            actor="user", device=life.device(ts, phone_share=0.5),
            cause=ev[notes].tolist(),
        )
    todo = (roll > 0.85) & life.world.has("todos")
    if todo.any():
        k = int(todo.sum())
        sub = {key: v[todo] for key, v in slots.items()}
        ts = after(rng, end[todo], 1, 60)
        due = life.local_days(ts + rng.integers(1, 8, k) * DAY)
        life.world.emit(
            "todos", "todo_created", ts,
            {"list": "Work", "title": g.sentences("todo_work", rng, sub, k, pool="subjects"),
             "due_date": due, "status": "open", "completed_at": np.full(k, NULL_TS),
             "related_id": rec[todo]},
            actor="user", device="phone", cause=ev[todo].tolist(),
        )


def _personal(life: Life, rng, days: range) -> None:
    """Dinners, appointments and family plans, mostly evenings and weekends."""
    c = life.person.contacts
    item_days = life.item_days("personal_events", days, rng)
    people = c.of_kind("family", "friends")  # offices are booked below
    party, start, lead = [], [], []
    if len(item_days) and len(people):
        w = c.closeness[people] + 0.5
        party.append(people[rng.choice(len(people), len(item_days), p=w / w.sum())])
        evening = np.array([0] * 9 + [0.5] * 8 + [1.5, 2, 2, 1.5, 0.5, 0.1] + [0.0])
        start.append(_snap(life.world.clock, life.at_hours(item_days, rng, profile=evening)))
        lead.append(rng.integers(1 * DAY, 14 * DAY, len(item_days)))
    # Appointments: the dentist, the garage, the hairdresser, booked a week or three ahead
    # in the office's opening hours (drawn for the whole window at once).
    services = c.of_kind("services")
    item_days = life.item_days("personal_events", range(0, life.world.days), rng,
                               scale=0.012 * len(services) / max(life.spec.volume.personal_events,
                                                                 0.1)) if days.start == 0 else ()
    if len(item_days) and len(services):
        w = c.closeness[services] + 0.5
        party.append(services[rng.choice(len(services), len(item_days), p=w / w.sum())])
        # Offices are closed on Sundays: those bookings fall on the Monday.
        sunday = life.world.clock.local_weekday(life.world.clock.local_to_sim(
            item_days * DAY)) == 6
        item_days = np.where(sunday, item_days + 1, item_days)
        start.append(_snap(life.world.clock, life.at_hours(item_days, rng, profile=OFFICE_HOURS),
                           15 * MINUTE))
        lead.append(rng.integers(2 * DAY, 21 * DAY, len(item_days)))
    if party:
        _plan(life, rng, np.concatenate(party), np.concatenate(start), np.concatenate(lead))


def _plan(life: Life, rng, party: np.ndarray, start: np.ndarray, lead: np.ndarray) -> None:
    """Personal events the user puts in their calendar ``lead`` seconds ahead."""
    c = life.person.contacts
    created = np.maximum(life.awake(start - lead, rng), OPENING)
    # Half the appointments are booked by phoning the office in its opening hours; the
    # entry goes in the calendar right after the call.
    by_phone = (c.kind[party] == "services") & (rng.random(len(party)) < 0.5)
    call = life.at_hours(life.world.clock.local_day(start - lead), rng, profile=OFFICE_HOURS)
    by_phone &= (call > OPENING) & (call < start - HOUR)
    created = np.where(by_phone, call + rng.integers(5 * MINUTE, 15 * MINUTE, len(party)),
                       created)
    # People a storyline holds at the time are not booked by routine life.
    keep = ~(locked_at(life, party, created) | locked_at(life, party, start)
             | locked_at(life, party, call))
    party, start, created, by_phone, call = (a[keep] for a in (party, start, created, by_phone,
                                                               call))
    n = len(party)
    if n == 0:
        return
    if by_phone.any() and life.world.has("calls"):
        k = int(by_phone.sum())
        who = party[by_phone]
        life.world.emit(
            "call_log", "call_placed", call[by_phone],
            {"phone_number": phone_at(life, who, call[by_phone]),
             "contact_name": c.full_name[who], "direction": "outgoing",
             "started_at": call[by_phone],
             "duration_seconds": rng.integers(60, 420, k).astype(np.int32),
             "voicemail_transcript": np.full(k, None, dtype=object)},
            actor="user", device="phone",
        )
    is_service = c.kind[party] == "services"
    title, desc, location = _entries(life, rng, party)
    duration = np.where(is_service, rng.choice([30, 45, 60], n),
                        rng.choice([60, 90, 120, 180], n)) * MINUTE
    _, ev = _emit_events(
        life, rng, start, duration, title=title, description=desc, location=location,
        organizer=np.full(n, life.person.full_name, dtype=object),
        attendees=np.array([f"{life.person.full_name}, {c.full_name[p]}" for p in party],
                           dtype=object),
        calendar=np.where(c.kind[party] == "family", "family", "personal"),
        created=created, kind="event_created",
    )
    if life.world.has("sms") and is_service.any():
        office_texts(life, rng, np.flatnonzero(is_service), party, start, created,
                     np.array(ev, dtype=object))
