"""StorylineSpec: a causal chain across services, written as data.

A storyline binds a few seeded parameters (a contact, a product, a deadline), then runs a
list of steps from a fixed vocabulary as one SimPy process:

- ``emit``: write a new record (a table, an event kind, field expressions), bound to a name;
- ``update``: write a new version of a bound record (changed field expressions);
- ``propagate``: write the consequence of a bound record in a service its service ``feeds``
  (an order confirmed by mail, a delay texted), caused by that record;
- ``wait``: let time pass (a uniform delay in minutes, hours or days, or until an instant;
  ``hours = "work"`` moves the instant into the user's working hours of its day);
- ``branch``: jump to another step when a condition holds or with a probability;
- ``milestone``: mark an instant the oracle needs (``need_detectable``, ``deadline``,
  ``resolved``);
- ``end``: stop here (the branch not taken is skipped by jumping past it).

Field values are expressions of :mod:`scenarios.expressions`; text fields may embed them
in braces (``"Refund for order {order.order_number}"``). A text field may also be a list of
such templates: each instance then words the record with one of them (fixed per instance and
step), as people and apps word the same kind of message several ways, so a storyline's records
do not all open the same recognisable way. Or it may name a routine text intent
(``{ intent = "order_confirmation", slots = { order_number = "{order.order_number}" } }``):
the record is then worded with one of the phrasings routine life uses for that kind of
message (``personas/text/templates``), its slots filled from the storyline's facts, so a
storyline's mail reads like the other mail of its kind. Every step has a description.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from personas.errors import FromFile
from personas.spec import Strict
from scenarios.expressions import parse
from scenarios.storyline_params import (
    ComputeSpec,
    DrawSpec,
    Expr,
    ParamSpec,
    PickSpec,
    check_expression,
    depends,
)
from sim.services import CATALOGUE, TABLE_SERVICE, TABLES

MILESTONES = ("need_detectable", "deadline", "resolved")
VARIABLE_PICKS = ("product", "merchant", "place", "project", "topic")  # look-alikes vary them
RECORD_PICKS = {"bill": "bank_recurring"}  # picks that are records steps may update
RESERVED = frozenset({"user", "now", "today", "conflicted"})
_BUILT_INS = ", ".join(sorted(RESERVED))  # for error messages
TEMPLATE_HOLES = re.compile(r"\{([^{}]+)\}")  # "{expr}" inside a text template


def _holes(text: dict) -> list[str]:
    """The expressions in the {holes} of text templates (every phrasing of each)."""
    return [hole for value in text.values() for template in phrasings(value)
            for hole in TEMPLATE_HOLES.findall(template)]


def _expressions(step) -> list:
    """Every expression a step evaluates (templates contribute their {holes})."""
    out: list = list(getattr(step, "fields", {}).values())
    out += _holes(getattr(step, "text", {}))
    for name in ("when", "until", "at", "balance_below"):
        if getattr(step, name, None) is not None:
            out.append(getattr(step, name))
    actor = getattr(step, "actor", "user")
    if actor != "user":
        out.append(actor)
    conflict = getattr(step, "conflict", None)
    if conflict:
        out += [conflict.authoritative, *conflict.superseded]
    return out



class PhrasingSpec(Strict):
    """Word a text field as routine life words this kind of message: a text intent's pool.

    Only phrasings whose slots are all given here are used, so a phrasing never needs a
    fact the storyline does not have; ``require`` keeps those that use each listed slot
    (the fact a task searches for), ``exclude`` drops those containing any listed word
    (case-insensitive: a phrasing that would state something untrue of this record, such
    as "AutoPay" on a bill paid by hand).
    """

    intent: str
    pool: Literal["subjects", "sentences"] = "subjects"
    slots: dict[str, str] = Field(default_factory=dict)  # slot name -> "{expr}" template
    require: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)

    @field_validator("slots")
    @classmethod
    def _slots(cls, value: dict[str, str]) -> dict[str, str]:
        for template in value.values():
            check_template(template)
        return value


def phrasings(value: str | list[str] | PhrasingSpec) -> list[str]:
    """The templates a text field may be worded with (for an intent: its slot templates)."""
    if isinstance(value, PhrasingSpec):
        return list(value.slots.values())
    return [value] if isinstance(value, str) else list(value)


def check_template(value: str | list[str] | PhrasingSpec) -> str | list[str] | PhrasingSpec:
    if isinstance(value, PhrasingSpec):
        return value
    templates = phrasings(value)
    if not templates:
        raise ValueError("a list of phrasings needs at least one template")
    for template in templates:
        for inner in TEMPLATE_HOLES.findall(template):
            check_expression(inner)
    return value


# A text field: one "{expr}" template, alternatives of which each instance uses one, or a
# routine text intent to word it with.
Text = str | list[str] | PhrasingSpec


class Delay(Strict):
    """A uniform delay; exactly one unit."""

    minutes: tuple[float, float] | None = None
    hours: tuple[float, float] | None = None
    days: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> Delay:
        units = [u for u in (self.minutes, self.hours, self.days) if u is not None]
        if len(units) != 1:
            raise ValueError("give exactly one of minutes, hours, days")
        if units[0][0] > units[0][1] or units[0][0] < 0:
            raise ValueError("bounds must be ordered and non-negative")
        return self


class ConflictSpec(Strict):
    """This step makes two sources disagree on purpose; the oracle records who is right."""

    operator: Literal["superseded", "unofficial", "not_propagated", "reversed"]
    slot: str  # what they disagree about ("meeting start", "deadline", "phone number")
    authoritative: Expr  # the value that holds
    superseded: list[Expr] = Field(min_length=1)  # the value(s) it replaces or contradicts
    records: list[str] = Field(default_factory=list)  # bound records showing superseded values
    why: str  # one sentence: why the authoritative value wins

    @model_validator(mode="after")
    def _exprs(self) -> ConflictSpec:
        for value in (self.authoritative, *self.superseded):
            check_expression(value)
        return self


class EmitStep(Strict):
    do: Literal["emit"]
    id: str
    description: str
    table: str
    kind: str
    fields: dict[str, Expr] = Field(default_factory=dict)
    text: dict[str, Text] = Field(default_factory=dict)  # string columns as "{expr}" templates
    actor: str = "user"  # "user", or an expression naming who acted
    device: Literal["laptop", "phone", "web"] | None = None
    bind: str | None = None  # name the record for later steps
    conflict: ConflictSpec | None = None
    # Parameters a look-alike of this record may change: drawn numbers and picked products,
    # merchants, places, projects or topics (``scenarios.distractors``). Empty: none.
    vary: list[str] = Field(default_factory=list)
    # An amount (minor units) the checking balance is below when this record appears (a
    # low-balance alert): routine life moves money to savings just before, and back after
    # the instance's next bank posting or its end (``personas.routines.ledger.Hold``).
    balance_below: Expr | None = None

    @property
    def shown(self) -> list[str]:
        """The columns it writes that a reader sees: its fields and texts, links to other
        records aside."""
        links = TABLES[self.table].references
        return [k for k in (*self.fields, *self.text) if k not in links]

    @model_validator(mode="after")
    def _table(self) -> EmitStep:
        if self.table not in TABLES:
            raise ValueError(f"unknown table {self.table!r}")
        service = CATALOGUE[TABLE_SERVICE[self.table]]
        if self.kind not in service.event_kinds:
            raise ValueError(f"{service.name} has no event kind {self.kind!r}; "
                             f"it declares {', '.join(service.event_kinds)}")
        columns = {f.name for f in TABLES[self.table].columns}
        for name in (*self.fields, *self.text):
            if name not in columns:
                raise ValueError(f"table {self.table} has no column {name!r}")
        for value in (*self.fields.values(), *filter(None, [self.balance_below])):
            check_expression(value)
        for value in self.text.values():
            check_template(value)
        return self


class PropagateStep(EmitStep):
    do: Literal["propagate"]  # type: ignore[assignment]
    source: str  # a record bound earlier; the target service must be one its service feeds


class UpdateStep(Strict):
    do: Literal["update"]
    id: str
    description: str
    record: str  # a name bound by an earlier emit
    kind: str
    fields: dict[str, Expr] = Field(default_factory=dict)
    text: dict[str, Text] = Field(default_factory=dict)
    actor: str = "user"
    conflict: ConflictSpec | None = None

    @model_validator(mode="after")
    def _exprs(self) -> UpdateStep:
        for value in self.fields.values():
            check_expression(value)
        for value in self.text.values():
            check_template(value)
        return self


class WaitStep(Strict):
    """Let time pass: a uniform ``delay``, or ``until`` an instant (a date is its 09:00).

    ``hours = "work"`` then moves the instant into the user's working hours of its local
    day, drawn as routine work mail and chat draw theirs (``personas.life.Life.in_work``:
    inside the day's work blocks, a night shift's included; waking hours on a day off), so
    a colleague's mail reaches a night nurse on her shift, not at ten in the morning.
    """

    do: Literal["wait"]
    id: str
    description: str
    delay: Delay | None = None
    until: Expr | None = None  # an instant expression
    hours: Literal["any", "work"] = "any"

    @model_validator(mode="after")
    def _one(self) -> WaitStep:
        if (self.delay is None) == (self.until is None):
            raise ValueError("a wait needs exactly one of delay or until")
        if self.until is not None:
            check_expression(self.until)
        return self


class BranchStep(Strict):
    do: Literal["branch"]
    id: str
    description: str
    goto: str  # a later step id
    when: Expr | None = None
    probability: Annotated[float, Field(ge=0.0, le=1.0)] | None = None

    @model_validator(mode="after")
    def _condition(self) -> BranchStep:
        if (self.when is None) == (self.probability is None):
            raise ValueError("a branch needs exactly one of when or probability")
        if self.when is not None:
            check_expression(self.when)
        return self


class MilestoneStep(Strict):
    do: Literal["milestone"]
    id: str
    description: str
    milestone: Literal["need_detectable", "deadline", "resolved"]
    at: Expr | None = None  # default: now

    @model_validator(mode="after")
    def _at(self) -> MilestoneStep:
        if self.at is not None:
            check_expression(self.at)
        return self


class EndStep(Strict):
    do: Literal["end"]
    id: str
    description: str


Step = Annotated[EmitStep | PropagateStep | UpdateStep | WaitStep | BranchStep | MilestoneStep
                 | EndStep, Field(discriminator="do")]


class StorylineSpec(Strict, FromFile):
    KIND = "storyline"
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    description: str
    services: list[str] = Field(min_length=3)
    min_days: Annotated[int, Field(ge=1, le=365)]
    start: tuple[float, float] = (0.1, 0.6)  # when it begins, as a share of the window

    @field_validator("start")
    @classmethod
    def _share(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 <= v[0] <= v[1] <= 1.0:
            raise ValueError("start must be [low, high] with 0 <= low <= high <= 1")
        return v

    @field_validator("params")
    @classmethod
    def _reserved(cls, v: dict) -> dict:
        clash = sorted(set(v) & RESERVED)
        if clash:
            raise ValueError(f"parameter {clash[0]!r} shadows a built-in name")
        return v

    @field_validator("params")
    @classmethod
    def _bound_in_order(cls, v: dict) -> dict:
        """Picks are bound when an instance is planted; draws and computed parameters in
        the order written, when it starts: each may read only what is bound before it."""
        known = set(RESERVED) | {n for n, p in v.items() if isinstance(p, PickSpec)}
        for name, param in v.items():
            if isinstance(param, ComputeSpec):
                missing = parse(param.expr).names - known
                if missing:
                    raise ValueError(f"{name}: {sorted(missing)[0]!r} is not defined by then "
                                     f"(picks, parameters above it, {_BUILT_INS})")
            known.add(name)
        return v
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=2)

    @field_validator("services")
    @classmethod
    def _services(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in CATALOGUE]
        if unknown:
            raise ValueError(f"unknown service {unknown[0]!r}")
        return v

    @model_validator(mode="after")
    def _graph(self) -> StorylineSpec:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("step ids must be unique")
        position = {sid: i for i, sid in enumerate(ids)}
        bound = {name: RECORD_PICKS[p.pick] for name, p in self.params.items()
                 if isinstance(p, PickSpec) and p.pick in RECORD_PICKS}  # name -> table
        for i, step in enumerate(self.steps):
            if isinstance(step, BranchStep) and position.get(step.goto, -1) <= i:
                raise ValueError(f"step {step.id}: goto {step.goto!r} must name a later step")
            if isinstance(step, UpdateStep):
                if step.record not in bound:
                    raise ValueError(f"step {step.id}: record {step.record!r} is not bound "
                                     "earlier")
                table = bound[step.record]
                columns = {f.name for f in TABLES[table].columns}
                unknown = sorted((set(step.fields) | set(step.text)) - columns)
                if unknown:
                    raise ValueError(f"step {step.id}: table {table} has no column "
                                     f"{unknown[0]!r}")
                kinds = CATALOGUE[TABLE_SERVICE[table]].event_kinds
                if step.kind not in kinds:
                    raise ValueError(f"step {step.id}: {TABLE_SERVICE[table]} has no event "
                                     f"kind {step.kind!r}")
            if isinstance(step, PropagateStep):
                if step.source not in bound:
                    raise ValueError(f"step {step.id}: source {step.source!r} is not bound "
                                     "earlier")
                origin = TABLE_SERVICE[bound[step.source]]
                target = TABLE_SERVICE[step.table]
                if target not in CATALOGUE[origin].feeds:
                    raise ValueError(f"step {step.id}: {origin} does not feed {target} "
                                     f"(it feeds {', '.join(CATALOGUE[origin].feeds)})")
            if isinstance(step, EmitStep):
                self._check_vary(step)
            if isinstance(step, EmitStep) and step.bind:
                bound[step.bind] = step.table
            known = RESERVED | set(self.params) | set(bound)
            for expr in _expressions(step):
                missing = parse(expr).names - known
                if missing:
                    raise ValueError(f"step {step.id}: {sorted(missing)[0]!r} is not defined "
                                     f"by then (params, bound records, {_BUILT_INS})")
            conflict = getattr(step, "conflict", None)
            if conflict:
                unknown = [r for r in conflict.records if r not in bound and r not in self.params]
                if unknown:
                    raise ValueError(f"step {step.id}: conflict record {unknown[0]!r} is not "
                                     "bound")
        touched = {TABLE_SERVICE[s.table] for s in self.steps if isinstance(s, EmitStep)}
        touched |= {"bank" for s in self.steps if getattr(s, "balance_below", None) is not None}
        missing = touched - set(self.services)
        if missing:
            raise ValueError(f"steps write to {sorted(missing)} which services does not list")
        return self

    def _check_vary(self, step: EmitStep) -> None:
        """A look-alike changes what ``vary`` names, so each must be a parameter that can
        take another value and that the record shows: a column it writes, links to other
        records aside (directly or through computed parameters). A change the record never
        shows would make a copy, not a look-alike; who acts, when, and a conflict's values
        are not shown. (A name only some of a text's phrasings read passes: look-alikes
        rendered with the others are copies, and are not written.)"""
        shown = [step.fields[k] for k in step.shown if k in step.fields]
        shown += _holes({k: step.text[k] for k in step.shown if k in step.text})
        read = depends(self.params, {n for e in shown for n in parse(e).names})
        for name in step.vary:
            param = self.params.get(name)
            if not (isinstance(param, DrawSpec) or (isinstance(param, PickSpec)
                    and param.pick in VARIABLE_PICKS)):
                raise ValueError(f"step {step.id}: vary names {name!r}, which is not a drawn "
                                 "number or a product, merchant, place, project or topic "
                                 "parameter")
            if name not in read:
                raise ValueError(f"step {step.id}: vary names {name!r}, which the record it "
                                 "writes never shows in a column (who acts, when, a "
                                 "conflict's values and links are not shown, and a value "
                                 "read through a bound record, such as meeting.start, keeps "
                                 "its first value), so its look-alikes could not differ")

    @property
    def milestones(self) -> set[str]:
        return {s.milestone for s in self.steps if isinstance(s, MilestoneStep)}
