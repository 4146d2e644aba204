"""Running storylines: each instance is one SimPy process that binds its parameters and walks
its steps, writing records through the same ``World.emit`` as routine life.

Facts live once: an instance's parameters and the records it writes are bound by name, and
every later step renders from those bindings. The people and products an instance uses are
picked when it is planted, before the clock starts, and locked (``scenarios.picks``).
Ids come from the instance's own stream, so they do not move when routine volume changes.
Oracle-side tables are built from the instances by ``scenarios.oracle_tables``.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from personas.life import Life
from personas.routines.ledger import Hold
from scenarios import phrasing, values
from scenarios.distractors import Lookalikes
from scenarios.expressions import Context, ExpressionError, parse
from scenarios.picks import NoCandidateError, Picker
from scenarios.storyline_params import ComputeSpec, DrawSpec
from scenarios.storyline_spec import (
    BranchStep,
    EmitStep,
    EndStep,
    MilestoneStep,
    PhrasingSpec,
    PropagateStep,
    StorylineSpec,
    UpdateStep,
    WaitStep,
    phrasings,
)
from sim.clock import DAY, HOUR, MINUTE
from sim.errors import InputError
from sim.services import TABLES

_SPACING = 20  # seconds between two writes of one instance at the same instant

@dataclass
class Instance:
    """One running storyline: its bindings, milestones and the records it wrote."""

    instance_id: str
    spec: StorylineSpec
    start: int
    names: dict[str, Any] = field(default_factory=dict)
    milestones: dict[str, int] = field(default_factory=dict)
    records: list[tuple[str, str, int, str]] = field(default_factory=list)
    # Records it wrote versions of without creating them (a picked bill's bank entry), with
    # the events it wrote on them: of such a record only those are signal.
    foreign: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    conflicts: list[dict] = field(default_factory=list)
    # (table, record_id, valid_from, conflict_id, role) of records a conflict involves
    conflict_records: list[tuple[str, str, int, str, str]] = field(default_factory=list)
    last_event: str | None = None  # each step is caused by the one before it
    last_write: int = -1  # writes at one instant are spaced so causes come first
    finished: bool = False
    aborted: bool = False  # its parameters could not be bound
    clock: int | None = None  # renders as of this instant instead of now (look-alikes)
    # On the checking balance, until the instance's next bank posting or its end.
    holds: list[Hold] = field(default_factory=list)


class StorylineRunError(InputError):
    """A storyline's data failed while running (a name it never bound, a bad type).

    ``where`` names the family's file and the step, as the CLI reports it.
    """


class Storylines:
    """Plants storyline instances in a world and runs them."""

    def __init__(self, life: Life, *, lookalikes: Lookalikes | None = None,
                 conflict_rate: float = 0.0) -> None:
        self.life = life
        self.world = life.world
        self.instances: list[Instance] = []
        self.lookalikes = lookalikes
        self.conflict_rate = conflict_rate  # chance an instance is `conflicted`
        self.picker = Picker(life)

    # -- planting -----------------------------------------------------------------------

    def eligible(self, specs: Iterable[StorylineSpec]) -> tuple[list[StorylineSpec], list[str]]:
        """Families this persona can live through, and the ids of those it cannot (a
        service it lacks, a world too short, or nothing of its own for a pick to take: a
        bill story for someone who has no such bill)."""
        have = set(self.world.services)
        ok, skipped = [], []
        for spec in specs:
            fits = (set(spec.services) <= have and spec.min_days <= self.world.days
                    and self.picker.could_bind(spec))
            (ok if fits else skipped).append(spec if fits else spec.id)
        return ok, skipped

    def plant(self, specs: list[StorylineSpec], count: int) -> list[Instance]:
        """Start ``count`` instances, cycling through ``specs`` in a seeded order."""
        if not specs or count <= 0:
            return []
        rng = self.world.rng.stream("storylines/plan")
        specs = sorted(specs, key=lambda s: s.id)  # renaming a file changes nothing
        order = rng.permutation(len(specs))
        planted = []
        for k in range(count):
            spec = specs[int(order[k % len(specs)])]
            iid = self.world.ids.one("storylines/instances", "sy_")
            low, high = spec.start
            latest = max(0.0, 1.0 - spec.min_days / self.world.days)
            share = rng.uniform(min(low, latest), min(high, latest) or 1e-9)
            day = int(share * self.world.days)
            start = int(self.life.at_hours(np.array([day]), rng)[0])
            instance = Instance(iid, spec, start)
            try:  # people and products are chosen now, so routine life can avoid them
                self.picker.bind(instance)
            except NoCandidateError:
                instance.aborted = True
            planted.append(instance)
            self.instances.append(instance)
            self.world.process(self._run(instance))
        return planted

    # -- running ------------------------------------------------------------------------

    def _run(self, inst: Instance) -> Generator:
        world = self.world
        if inst.start > world.now:
            yield world.env.timeout(inst.start - world.now)
        if inst.aborted:  # nothing free to build it from: it does not happen
            return
        self.picker.refresh(inst)
        rng = world.rng.child(inst.instance_id).stream("steps")
        conflicted = world.rng.child(inst.instance_id).stream("conflicted").random()
        inst.names["conflicted"] = bool(conflicted < self.conflict_rate)
        try:
            self._bind_params(inst, rng)
        except ExpressionError as exc:
            raise StorylineRunError(f"{inst.spec.where}:params", str(exc)) from None
        steps = inst.spec.steps
        position = {s.id: i for i, s in enumerate(steps)}
        pc = 0
        while pc < len(steps):
            step = steps[pc]
            pc += 1
            try:
                jump = self._step(inst, step, rng)
            except ExpressionError as exc:
                raise StorylineRunError(f"{inst.spec.where}:steps.{step.id}",
                                        str(exc)) from None
            if isinstance(jump, int):  # a wait: let time pass
                if jump > world.now:
                    yield world.env.timeout(jump - world.now)
            elif jump == "end":
                break
            elif jump is not None:
                pc = position[jump]
        inst.finished = True
        self._release(inst, after=max(world.now, inst.last_write))

    def _step(self, inst: Instance, step, rng) -> int | str | None:
        """Do one step; return an instant to wait until, a step id to jump to, or "end"."""
        world = self.world
        if isinstance(step, WaitStep):
            return self._wait_until(inst, step, rng)
        if isinstance(step, BranchStep):
            taken = (self.evaluate(inst, step.when) if step.when is not None
                     else rng.random() < step.probability)
            return step.goto if taken else None
        if isinstance(step, MilestoneStep):
            at = (world.now if step.at is None
                  else values.instant(world.clock, self.evaluate(inst, step.at)))
            inst.milestones[step.milestone] = at
        elif isinstance(step, EmitStep):  # and PropagateStep, its subclass
            self._emit(inst, step, rng)
        elif isinstance(step, UpdateStep):
            self._update(inst, step)
        elif isinstance(step, EndStep):
            return "end"
        return None

    def context(self, inst: Instance) -> Context:
        """What ``inst``'s expressions see now (its bindings, at its clock): build it once
        to evaluate many of them at one instant (``values.render_in``, ``parse(e).evaluate``)."""
        life, clock = self.life, self.world.clock
        # "now" is when this instance's next write happens (writes are spaced apart).
        now = clock.instant(inst.clock if inst.clock is not None
                            else max(self.world.now, inst.last_write + _SPACING))
        p = life.person
        ledger = life.state.get("ledger")
        names = {
            "user": {"name": p.full_name, "first": p.first_name, "email": p.personal_email,
                     "work_email": p.work_email, "phone": p.phone, "city": p.city,
                     "employer": p.employer, "currency": life.spec.money.currency,
                     "occupation": life.spec.occupation, "fx": life.pools.fx,
                     "rent": int(life.spec.money.rent_minor * p.budget_factor),
                     "checking": ledger.checking if ledger else None,
                     "card": ledger.card if ledger else None},
            "now": now,
            "today": now.astimezone(clock.tz).date(),
            **inst.names,
        }
        return Context(names, self.world.holidays, clock.tz, formatters=values.formatters(life))

    def evaluate(self, inst: Instance, expr) -> Any:
        """An expression of ``inst``'s storyline, in its bindings and at its clock."""
        return parse(expr).evaluate(self.context(inst))

    def _wait_until(self, inst: Instance, step: WaitStep, rng) -> int:
        if step.until is not None:
            at = values.instant(self.world.clock, self.evaluate(inst, step.until))
        else:
            d = step.delay
            unit, (low, high) = next((u, b) for u, b in (
                ("minutes", d.minutes), ("hours", d.hours), ("days", d.days)) if b is not None)
            scale = {"minutes": MINUTE, "hours": HOUR, "days": DAY}[unit]
            at = self.world.now + max(1, int(rng.uniform(low, high) * scale))
        if step.hours == "work":  # as routine work mail and chat are timed
            day = self.world.clock.local_day(np.array([at], np.int64))
            at = int(self.life.in_work(day, rng)[0])
        return at

    def _bind_params(self, inst: Instance, rng) -> None:
        for name, param in inst.spec.params.items():
            if isinstance(param, DrawSpec):
                inst.names[name] = values.draw(param, rng)
            elif isinstance(param, ComputeSpec):
                inst.names[name] = self.evaluate(inst, param.expr)

    # -- writing ------------------------------------------------------------------------

    def _columns(self, inst: Instance, table: str, fields: dict, text: dict,
                 step_id: str) -> dict[str, Any]:
        spec = TABLES[table]
        types = {f.name: f.type for f in spec.columns}
        out: dict[str, Any] = {}
        ctx = self.context(inst)  # a record's columns are all written at one instant
        for name, expr in fields.items():
            out[name] = values.to_column(self.world.clock, parse(expr).evaluate(ctx), types[name])
        for name, value in text.items():
            if isinstance(value, PhrasingSpec):
                out[name] = self._phrase(inst, step_id, name, value, ctx)
            else:
                out[name] = values.render_in(ctx, self._phrasing(inst, step_id, name, value))
        return out

    def _phrasing(self, inst: Instance, step_id: str, column: str, value: str | list[str]) -> str:
        return phrasing.choose(self.world.rng.child(inst.instance_id), step_id, column,
                               phrasings(value))

    def _phrase(self, inst: Instance, step_id: str, column: str, spec: PhrasingSpec,
                ctx: Context) -> str:
        try:
            return phrasing.phrase(self.life.grammar, self.world.rng.child(inst.instance_id),
                                   step_id, column, spec, lambda t: values.render_in(ctx, t))
        except ValueError as exc:
            raise StorylineRunError(
                f"storyline {inst.spec.id}:steps.{step_id}.text.{column}", str(exc)) from None

    def _with_defaults(self, table: str, columns: dict[str, Any],
                       threads: str) -> dict[str, Any]:
        """``columns`` completed the way an app fills them in: mail lands in the inbox of
        the right address, in a new thread from the id stream ``threads``; a text is
        incoming, in the thread routine life keeps for its number."""
        p = self.life.person
        if table in ("personal_emails", "work_emails"):
            return {"thread_id": self.world.ids.one(threads, "th_"), "folder": "inbox",
                    "to_addresses": p.personal_email if table == "personal_emails"
                    else p.work_email, "cc_addresses": ""} | columns
        if table == "sms_messages":
            out = {"direction": "incoming"} | columns
            out.setdefault("conversation_id", self._thread_of(str(out.get("phone_number", ""))))
            return out
        return dict(columns)

    def _emit(self, inst: Instance, step: EmitStep, rng) -> None:
        columns = self._with_defaults(
            step.table, self._columns(inst, step.table, step.fields, step.text, step.id),
            threads=f"threads/{step.table}")
        cause, before = None, inst.last_event
        if isinstance(step, PropagateStep):
            cause = inst.names[step.source].get("event_id")
        self._write(inst, step.table, step.kind, columns, step.id, step.actor, step.device,
                    bind=step.bind, cause=cause)
        if step.balance_below is not None:
            hold = self.life.state["ledger"].hold_below(
                int(self.evaluate(inst, step.balance_below)), at=inst.last_write, cause=before)
            inst.holds += [hold] if hold else []
        if step.conflict:
            self._conflict(inst, step.conflict)
        if self.lookalikes is not None:
            self.lookalikes.after(self, inst, step, columns)

    def _release(self, inst: Instance, *, after: int) -> None:
        """The user moves the money ``inst`` held on savings back to checking."""
        for hold in inst.holds:
            self.life.state["ledger"].release(hold, after=after, cause=inst.last_event)
        inst.holds = []

    # -- for look-alikes (scenarios.distractors) -----------------------------------------

    def columns_of(self, inst: Instance, step: EmitStep) -> dict[str, Any]:
        """What ``step`` would write for ``inst`` (its bindings, its clock)."""
        return self._columns(inst, step.table, step.fields, step.text, step.id)

    def write_lookalike(self, inst: Instance, step: EmitStep, columns: dict[str, Any],
                        at: int) -> str:
        """Write a look-alike record at instant ``at``: its own root, its own ids."""
        stream = f"lookalikes/{inst.instance_id}/{step.table}"
        columns = self._with_defaults(step.table, columns, f"{stream}/threads")
        created = TABLES[step.table].created_column
        if created:
            columns[created] = at
        actor = "user" if step.actor == "user" else str(self.evaluate(inst, step.actor))
        rec, _ = self.world.emit(step.table, step.kind, np.array([at]),
                                 {k: [v] for k, v in columns.items()}, actor=actor,
                                 device=step.device if step.actor == "user" else None,
                                 id_stream=stream, cause=[None])
        return rec[0]

    def _thread_of(self, number: str) -> str:
        """The SMS thread a number's texts are in, named as routine life names them."""
        phones = self.life.person.contacts.phone
        known = np.flatnonzero(phones == number)
        if len(known):
            return f"cv_{int(known[0]):03d}"
        return "cv_" + "".join(ch for ch in number if ch.isdigit())

    def _update(self, inst: Instance, step: UpdateStep) -> None:
        record = inst.names[step.record]
        table = record["_table"]
        columns = dict(record["_columns"]) | self._columns(inst, table, step.fields, step.text,
                                                            step.id)
        self._write(inst, table, step.kind, columns, step.id, step.actor, None,
                    bind=step.record, record_id=record["id"])
        if step.conflict:
            self._conflict(inst, step.conflict)

    def _write(self, inst: Instance, table: str, kind: str, columns: dict, role: str,
               actor: str, device: str | None, *, bind: str | None,
               record_id: str | None = None, cause: str | None = None) -> None:
        # Several writes in one step instant happen seconds apart, in step order.
        now = max(self.world.now, inst.last_write + _SPACING)
        inst.last_write = now
        created = TABLES[table].created_column
        if created and record_id is None:
            columns[created] = now
        actor_value = "user" if actor == "user" else str(self.evaluate(inst, actor))
        stream = f"storyline/{inst.instance_id}/{table}"
        if table == "bank_transactions":  # the bank posts it, so balances stay right
            rec, ev = self._post(columns, kind, stream, record_id)
            self._release(inst, after=now)  # the money held back comes back after it
        else:
            rec, ev = self.world.emit(
                table, kind, np.array([now]), {k: [v] for k, v in columns.items()},
                record_ids=None if record_id is None else [record_id],
                actor=actor_value, device=device if actor == "user" else None,
                id_stream=stream, cause=[cause or inst.last_event],
            )
            inst.last_event = ev[0]
            # Routines that react to what the user reads look this up (personas.routines.device)
            self.life.state.setdefault("story_events", set()).add(ev[0])
            if record_id is not None and ((table, record_id) in inst.foreign or not any(
                    t == table and r == record_id for t, r, _, _ in inst.records)):
                inst.foreign.setdefault((table, record_id), []).append(ev[0])
        inst.records.append((table, rec[0], now, role))
        if bind:
            at = self.world.clock.instant(now)
            before = inst.names.get(bind) if record_id is not None else None
            # An update changes some fields; what it does not write stays as it was (a
            # picked bill keeps its name and usual amount once its bank entry is updated).
            inst.names[bind] = {**(before or {}),
                                **{k: values.readable(self.world.clock, v, TABLES[table], k)
                                   for k, v in columns.items()},
                                "id": rec[0], "at": at, "event_id": ev[0],
                                # after an update, what it said before ("moved from ..."),
                                # itself with its own previous: a chain back to the first
                                "previous": None if before is None else {
                                    k: v for k, v in before.items() if not k.startswith("_")},
                                "_table": table, "_columns": columns}

    def _conflict(self, inst: Instance, spec) -> None:
        """Record that the write just made disagrees with earlier records, and who wins."""
        cid = self.world.ids.one(f"storylines/{inst.instance_id}/conflicts", "cf_")
        table, rid, valid_from, _ = inst.records[-1]
        inst.conflicts.append({
            "conflict_id": cid, "storyline_instance_id": inst.instance_id,
            "operator": spec.operator, "slot": spec.slot,
            "authoritative": values.plain(self.evaluate(inst, spec.authoritative)),
            "superseded": json.dumps([values.plain(self.evaluate(inst, e))
                                      for e in spec.superseded]),
            "why": spec.why, "table": table, "record_id": rid, "valid_from": valid_from,
        })
        inst.conflict_records.append((table, rid, valid_from, cid, "authoritative"))
        for name in spec.records:
            bound = inst.names[name]
            if "_table" in bound:  # a record the storyline wrote
                table, since = bound["_table"], self.world.clock.seconds(bound["at"])
            else:  # a picked contact or product: its card as it has been since the start
                table, since = bound["_pick_table"], 0
            inst.conflict_records.append((table, bound["id"], since, cid, "superseded"))

    def _post(self, columns: dict, kind: str, stream: str,
              record_id: str | None) -> tuple[list[str], list[None]]:
        ledger = self.life.state["ledger"]
        rid = record_id or self.world.ids.one(f"records/{stream}", TABLES[
            "bank_transactions"].id_prefix)
        ledger.add(np.array([columns["posted_at"]]), np.array([columns["amount_minor"]]),
                   description=columns.get("description", ""),
                   merchant=columns.get("merchant", ""), category=columns.get("category", ""),
                   kind=kind, account=columns.get("account_id") or ledger.checking,
                   related=columns.get("related_id"), record_ids=[rid], id_stream=stream)
        return [rid], [None]  # the posting event is written when the bank posts

    # -- export -------------------------------------------------------------------------

    def signal_events(self) -> set[str]:
        """Events that wrote storyline records (bank rows get theirs when posted): every
        event of a record a storyline created, and a storyline's own events on a record it
        only updated (the routine versions of a picked bill's bank entry stay routine)."""
        foreign = {k: v for inst in self.instances for k, v in inst.foreign.items()}
        written = {(t, r) for inst in self.instances for t, r, _, _ in inst.records} - set(
            foreign)
        # Record ids first: a string lookup rules out nearly every event without building
        # a (table, id) pair for each of them.
        records = {r for _, r in written}
        ids, entities, tables = self.world.log.columns("event_id", "entity_id", "table")
        return {i for i, e, t in zip(ids.tolist(), entities.tolist(), tables.tolist(),
                                     strict=True) if e in records and (t, e) in written} | {
            e for events in foreign.values() for e in events}

    def thin_lookalikes(self, kept: AbstractSet[str]) -> None:
        """Keep the look-alikes whose events thinning kept: they are noise like the rest."""
        if self.lookalikes is None or not self.lookalikes.made:
            return
        made = {d.record_id for d in self.lookalikes.made}  # only these pairs are asked about
        ids, entities, tables = self.world.log.columns("event_id", "entity_id", "table")
        self.lookalikes.keep({(t, e) for i, e, t in zip(ids.tolist(), entities.tolist(),
                                                        tables.tolist(), strict=True)
                              if e in made and i in kept})


