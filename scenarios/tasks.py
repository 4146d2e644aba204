"""Tasks from a lived world: when the user asks, what, and what a right answer is.

For every storyline instance and every task family built on its storyline, the user asks
once, at a difficulty drawn from the recipe's mix. The ask falls inside the window the
family names (after one milestone, before the first of others); difficulty picks how far
in (``SHARES``), so a hard task's evidence lies deeper in history, often beyond the tools'
default 30-day search window. Asks whose windows overlap share one snapshot instant
(:func:`share_snapshots`), the way several requests land on one day of a user's life.

A proactive family's task has no ask: its episodes are the heartbeats around the need's
window (:mod:`scenarios.heartbeats`), rendered at the first heartbeat inside it.

Everything a task states is rendered from the instance at the ask: its bindings, the
records it wrote so far, its look-alikes and conflicts. Nothing here decides whether a task
is sound; :mod:`scenarios.selfcheck` replays it and drops those that fail.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from scenarios.distractors import Lookalike
from scenarios.engine import Instance, Storylines
from scenarios.expressions import Context, parse
from scenarios.grading import Fact, Oracle, Scope, WrongValue
from scenarios.grading.facts import amounts_in, clock_minutes, dates_in, stated, times_in
from scenarios.grading.proactive import Need
from scenarios.heartbeats import DEFAULT_AT, Episode, episodes, heartbeat_of
from scenarios.storyline_spec import EmitStep
from scenarios.task_spec import DIFFICULTIES, SolutionSpec, TaskFamilySpec
from scenarios.values import render_in
from sim.clock import DAY, HOUR, MINUTE
from sim.errors import InputError
from sim.services import TABLE_SERVICE

# Where in its window each difficulty asks (shares of the window's length).
SHARES = {"simple": (0.02, 0.25), "medium": (0.25, 0.6), "hard": (0.6, 0.95)}
SIMILARITY = ("low", "medium", "high")  # of a look-alike to the record it imitates
PHONE_TABLES = frozenset({"sms_messages", "call_log"})
_WHOLE = re.compile(r"^\{([^{}]+)\}$")


@dataclass(frozen=True)
class Solution:
    """Tool calls (``{"tool", "args"}``) and a reply."""

    description: str
    calls: tuple[dict, ...]
    reply: str
    episode: int = 0  # which of the task's episodes the calls are made in


@dataclass(frozen=True)
class Ask:
    """One task to be: an instance, a family, a difficulty and the window it may fall in
    (a proactive task's window is its first heartbeat inside the need's window)."""

    instance: Instance
    family: TaskFamilySpec
    difficulty: str
    low: int  # world seconds
    high: int
    episodes: tuple[Episode, ...] = ()  # proactive: the heartbeats kept
    window: tuple[int, int] | None = None  # proactive: need detectable, deadline (seconds)


@dataclass
class Task:
    key: str  # "<storyline instance id>/<family id>": unique in a world
    family: TaskFamilySpec
    instance_id: str
    difficulty: str
    template: int  # which prompt template of the family and difficulty
    as_of: int  # world seconds
    prompt: str
    oracle: Oracle
    reference: Solution
    alternatives: list[Solution]
    near_misses: list[Solution]
    evidence: list[tuple[str, str]]  # (table, record_id) visible at the ask
    distractors: list[tuple[str, str]]
    conflicts: list[dict]
    devices: list[str]
    # How hard finding the evidence is, measured: how long before the ask its oldest record
    # appeared, across how many services it lies, how alike its look-alikes are.
    evidence_age_days: float
    hops: int
    distractor_similarity: list[str]
    services_required: list[str] = field(default_factory=list)  # filled by the self-check
    services_touched: list[str] = field(default_factory=list)
    episodes: tuple[Episode, ...] = ()  # proactive only; a reactive task is one episode
    need: Need | None = None  # proactive only: what each heartbeat is for
    window: tuple[str, str] | None = None  # proactive only: need detectable, deadline (ISO)

    @property
    def instants(self) -> list[int]:
        """The snapshot instants of the task's episodes, in order."""
        return [e.at for e in self.episodes] or [self.as_of]


class TaskFamilyError(InputError):
    """A task family's data failed on a real instance; ``where`` names its file and key."""


def plan(runner: Storylines, families: Mapping[str, TaskFamilySpec],
         difficulty: Mapping[str, float], *,
         heartbeat: tuple[int, int] = DEFAULT_AT) -> list[Ask]:
    """Every ask this world offers: one per (instance, family on its storyline) whose window
    opened and is long enough, at a difficulty dealt by :func:`deal_difficulty` from the
    mix ``difficulty`` (weights of simple, medium and hard); proactive tasks are woken
    daily at ``heartbeat`` (local hour, minute)."""
    end = runner.world.clock.end_seconds
    by_storyline: dict[str, list[TaskFamilySpec]] = {}
    for fam in sorted(families.values(), key=lambda f: f.id):
        by_storyline.setdefault(fam.storyline, []).append(fam)
    windows = []
    for inst in runner.instances:
        if inst.aborted:
            continue
        for fam in by_storyline.get(inst.spec.id, []):
            opened = reached_at(inst, fam.ask.after)
            if opened is None:
                continue
            closes = [reached_at(inst, point) for point in fam.ask.before]
            closed = min([t for t in closes if t is not None] + [end - HOUR])
            if closed - opened >= fam.ask.min_hours * HOUR:
                windows.append((inst, fam, opened, closed))
    levels = deal_difficulty(runner, [(inst, fam) for inst, fam, *_ in windows], difficulty)
    asks = []
    for (inst, fam, opened, closed), level in zip(windows, levels, strict=True):
        if fam.mode == "proactive":
            first_seen: dict[str, int] = {}
            for _t, rid, vf, role in inst.records:
                if role in fam.evidence:
                    first_seen.setdefault(rid, vf)
            beats = episodes(runner.world.clock, opened, closed,
                             deadline_reached=closed < end - HOUR,
                             evidence=sorted(first_seen.values()), at=heartbeat)
            if beats is not None:
                first = beats[1].at
                asks.append(Ask(inst, fam, level, first, first, tuple(beats),
                                (opened, closed)))
            continue
        lo, hi = SHARES[level]
        span = closed - opened
        asks.append(Ask(inst, fam, level, opened + int(lo * span), opened + int(hi * span)))
    return asks


def reached_at(inst: Instance, point: str) -> int | None:
    """When ``inst`` reached ``point`` (``started``, a milestone, or a step's first record);
    None if it never did."""
    if point == "started":
        return inst.start
    if point in inst.milestones:
        return inst.milestones[point]
    return next((vf for *_, vf, role in inst.records if role == point), None)


def deal_difficulty(runner: Storylines, candidates: list[tuple[Instance, TaskFamilySpec]],
                    mix: Mapping[str, float]) -> list[str]:
    """A difficulty per candidate, in the proportions of ``mix``, dealt by hardness.

    Hardness is a seeded jitter, plus how alike the look-alikes of the task's own evidence
    are compared with the other candidates of the same family in this world (so, of two
    instances of a family, the one whose evidence has the more alike look-alikes leans
    *hard*; most worlds hold one, and then the term is zero), plus a nudge for evidence
    spread over more services, which leans such families *hard*. Alikeness counts within
    a family, not across: whether a family's steps have look-alikes at all is the family's
    nature, and ranking it globally dealt whole families one level (a family without
    look-alikes always *simple*), so per-difficulty results compared families. The jitter
    outweighs the nudge, so every family meets every level.
    """
    weights = np.array([mix.get(d, 0.0) for d in DIFFICULTIES], float)
    cumulative = np.cumsum(weights / weights.sum())
    made = runner.lookalikes.made if runner.lookalikes is not None else []
    alike: dict[tuple[str, str], int] = {}  # (instance, step) -> most alike look-alike
    for d in made:
        key = (d.instance_id, d.role)
        alike[key] = max(alike.get(key, 0), SIMILARITY.index(d.similarity) + 1)
    similarity, hops = [], []
    for inst, fam in candidates:
        similarity.append(max((alike.get((inst.instance_id, e), 0) for e in fam.evidence),
                              default=0))
        steps = {s.id: s for s in inst.spec.steps}
        tables = {getattr(steps.get(e), "table", None) for e in fam.evidence} - {None}
        hops.append(len({TABLE_SERVICE[t] for t in tables}))
    of_family: dict[str, list[int]] = {}
    for (_, fam), sim in zip(candidates, similarity, strict=True):
        of_family.setdefault(fam.id, []).append(sim)
    family_mean = {f: float(np.mean(sims)) for f, sims in of_family.items()}
    scores = []
    for (inst, fam), sim, hop in zip(candidates, similarity, hops, strict=True):
        jitter = runner.world.rng.child(inst.instance_id).stream(f"tasks/{fam.id}").random()
        scores.append(2.0 * jitter + (sim - family_mean[fam.id]) + 0.25 * hop)
    order = np.argsort(np.array(scores), kind="stable")
    levels = [""] * len(candidates)
    for rank, i in enumerate(order):
        quantile = (rank + 0.5) / len(candidates)
        levels[i] = DIFFICULTIES[int(np.searchsorted(cumulative, quantile))]
    return levels


def share_snapshots(asks: list[Ask], is_up: Callable[[np.ndarray], np.ndarray] | None = None
                    ) -> list[tuple[int, list[Ask]]]:
    """Group asks whose windows overlap under one instant (greedy interval stabbing), each
    instant a whole minute at which the user is up (``is_up``: world seconds -> bool, e.g.
    ``personas.life.Life.is_up``; :func:`_ask_instant`). A proactive ask is placed at its
    first heartbeat inside the window (low = high)."""
    groups = []
    todo = sorted(asks, key=lambda a: (a.high, a.low, a.instance.instance_id, a.family.id))
    while todo:
        first = todo[0]
        start = max(a.low for a in todo if a.low <= first.high)
        at = _ask_instant(first.low, start, first.high, is_up)
        if at < first.low:  # rounding fell before its window: its end serves it
            at = first.high
        served = [a.low <= at <= a.high for a in todo]
        groups.append((at, [a for a, hit in zip(todo, served, strict=True) if hit]))
        todo = [a for a, hit in zip(todo, served, strict=True) if not hit]
    return sorted(groups, key=lambda g: g[0])


def _ask_instant(own_low: int, low: int, high: int,
                 is_up: Callable[[np.ndarray], np.ndarray] | None) -> int:
    """The whole minute nearest the middle of [low, high], the common window of a group of
    asks, at which the user is up: inside that window if it holds one, else inside the
    first ask's own [own_low, high] (it is asked while the user is up; the asks that no
    longer share its instant get their own). The middle itself when the user sleeps
    through both, or no rhythm is given."""
    middle = (low + high) // 2 // MINUTE * MINUTE
    if is_up is None:
        return middle
    minutes = np.arange(-(-own_low // MINUTE), high // MINUTE + 1, dtype=np.int64) * MINUTE
    up = minutes[is_up(minutes)]
    shared = up[up >= low]
    up = shared if len(shared) else up
    return int(up[np.argmin(np.abs(up - middle))]) if len(up) else middle


def instantiate(runner: Storylines, ask: Ask, as_of: int, *,
                held_out: frozenset[str] = frozenset()) -> Task | None:
    """The task ``ask`` becomes when the user asks at ``as_of`` (None when the family's
    ``when`` is false for this instance then, or every prompt template it could use is
    ``held_out``: keys "<family>/<difficulty>/<index>" another split keeps for itself)."""
    fam = ask.family
    names = _names_as_of(ask.instance.names, runner.world.clock.instant(as_of))
    # What a family may ask about the instance's progress: the steps that wrote a record
    # and the milestones passed by the ask (`'refund_mail' in written`).
    names["written"] = sorted({role for *_, vf, role in ask.instance.records if vf <= as_of})
    names["reached"] = sorted(m for m, t in ask.instance.milestones.items() if t <= as_of)
    inst = replace(ask.instance, clock=as_of, names=names)
    at = _Renderer(runner, inst, fam.where)
    if fam.when is not None and not at.value("when", "{" + fam.when + "}"):
        return None
    rng = runner.world.rng.child(inst.instance_id).stream(f"tasks/{fam.id}/prompt")
    templates = getattr(fam.prompts, ask.difficulty)
    usable = [i for i in range(len(templates))
              if f"{fam.id}/{ask.difficulty}/{i}" not in held_out]
    if not usable:
        return None
    k = usable[int(rng.integers(len(usable)))]
    visible = [(t, rid, role) for t, rid, vf, role in inst.records if vf <= as_of]
    evidence = list(dict.fromkeys((t, rid) for t, rid, role in visible if role in fam.evidence))
    first_seen = min((vf for t, rid, vf, role in inst.records
                      if vf <= as_of and role in fam.evidence), default=as_of)
    present = runner.lookalikes.present if runner.lookalikes is not None else []
    seen_lookalikes = [d for d in present if d.instance_id == inst.instance_id
                       and d.valid_from <= as_of]
    conflicts = [c for c in inst.conflicts if c["valid_from"] <= as_of]
    facts = tuple(Fact(f.slot, f.kind, at.value(f"facts.{f.slot}", f.value), f.contrastive)
                  for f in fam.facts)
    reference = Solution("reference", tuple(at.calls("reference", fam.reference)),
                         at.value("reply", fam.reply))
    year = runner.world.clock.instant(as_of).astimezone(runner.world.clock.tz).year
    tz = str(runner.world.clock.tz)
    oracle = Oracle(
        year=year, tz=tz,
        required=at.value("required", fam.required),
        forbidden=tuple(at.value(f"forbidden[{i}]", d) for i, d in enumerate(fam.forbidden)),
        facts=facts,
        wrong=_wrong(runner, inst, fam, facts, seen_lookalikes, conflicts, year, tz,
                     own=lambda kind, value: stated(kind, value, reference.reply, year, tz)),
        scope=tuple(Scope(s.table, None if s.ids is None else
                          tuple(at.value(f"scope.{s.table}", i) for i in s.ids), s.created)
                    for s in fam.scope))

    def solutions(key: str, specs: list[SolutionSpec]) -> list[Solution]:
        return [Solution(s.description, tuple(at.calls(f"{key}[{i}]", s.calls)),
                         reference.reply if s.reply is None else at.value(key, s.reply))
                for i, s in enumerate(specs)]

    steps = {s.id: s for s in inst.spec.steps}
    devices = {fam.device}
    for table, _rid, role in visible:
        if role in fam.evidence:
            step = steps.get(role)
            if table in PHONE_TABLES:
                devices.add("phone")
            if isinstance(step, EmitStep) and step.device:
                devices.add(step.device)
    task = Task(
        key=f"{inst.instance_id}/{fam.id}", family=fam, instance_id=inst.instance_id,
        difficulty=ask.difficulty, template=k, as_of=as_of,
        prompt=at.value(f"prompts.{ask.difficulty}[{k}]", templates[k]), oracle=oracle,
        reference=reference, alternatives=solutions("alternatives", fam.alternatives),
        near_misses=solutions("near_misses", fam.near_misses), evidence=evidence,
        distractors=list(dict.fromkeys((d.table, d.record_id) for d in seen_lookalikes)),
        conflicts=[{k: v for k, v in c.items() if k != "valid_from"} for c in conflicts],
        devices=sorted(devices), evidence_age_days=round((as_of - first_seen) / DAY, 2),
        hops=len({TABLE_SERVICE[t] for t, _ in evidence}),
        distractor_similarity=sorted(d.similarity for d in seen_lookalikes))
    return _proactive(runner, ask, task) if ask.episodes else task


def _proactive(runner: Storylines, ask: Ask, task: Task) -> Task:
    """A proactive task: its heartbeats, what the oracle knows at each, and the solutions
    moved to the first window heartbeat. Beside the family's own, every proactive task
    checks the reference at another window heartbeat (it must pass), at the control and
    after the deadline (it must fail), and a notice about a look-alike (it must fail)."""
    beats = ask.episodes
    first = next(i for i, e in enumerate(beats) if e.phase == "window")

    def at(solution: Solution, i: int, description: str | None = None) -> Solution:
        return replace(solution, episode=i, description=description or solution.description)

    alternatives = [at(s, first) for s in task.alternatives]
    near_misses = [at(s, first) for s in task.near_misses]
    for i, beat in enumerate(beats):
        if i == first:
            continue
        moved = at(task.reference, i, f"the reference at the {beat.phase} heartbeat")
        (alternatives if beat.phase == "window" else near_misses).append(moved)
    if task.family.notice == "notify_user":
        for table, rid in task.distractors:
            near_misses.append(Solution(
                f"a notice about the look-alike {rid}",
                ({"tool": "notify_user", "args": {"title": "Heads up",
                                                  "body": f"Please look at this {table} record.",
                                                  "refs": [rid]}},), "", first))
    need = Need(task.family.notice,
                tuple(heartbeat_of(ask.instance, runner.instances, e) for e in beats))
    iso = tuple(_json(runner.world.clock.instant(t)) for t in ask.window)
    return replace(task, reference=at(task.reference, first), alternatives=alternatives,
                   near_misses=near_misses, episodes=beats, need=need, window=iso)


def _names_as_of(names: Mapping[str, Any], at: dt.datetime) -> dict[str, Any]:
    """An instance's bindings as they stood at ``at``: a bound record that was updated
    later is rewound along its ``previous`` chain to the version the user could see."""
    out = {}
    for name, value in names.items():
        if isinstance(value, dict) and "_table" in value:
            seen = value
            while seen["at"] > at and seen.get("previous"):
                seen = seen["previous"]
            value = value if seen is value else {**seen, "_table": value["_table"]}
        out[name] = value
    return out


class _Renderer:
    """Fills a family's templates in one instance at its ask."""

    def __init__(self, runner: Storylines, inst: Instance, where: str) -> None:
        self.runner, self.inst, self.where = runner, inst, where  # where: the family's file
        self._ctx: Context | None = None

    def value(self, key: str, template: Any) -> Any:
        try:
            if self._ctx is None:  # every template of the ask sees the instance at its clock
                self._ctx = self.runner.context(self.inst)
            return _fill(self._ctx, template)
        except ValueError as exc:  # ExpressionError and StorylineRunError are ValueErrors
            raise TaskFamilyError(f"{self.where}:{key}", str(exc)) from None

    def calls(self, key: str, specs) -> list[dict]:
        return [{"tool": c.tool, "args": self.value(f"{key}[{i}].args", c.args)}
                for i, c in enumerate(specs)]


def _fill(ctx: Context, template: Any) -> Any:
    if isinstance(template, dict):
        return {k: _fill(ctx, v) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(ctx, v) for v in template]
    if not isinstance(template, str):
        return template
    whole = _WHOLE.match(template)
    if whole:
        return _json(parse(whole.group(1)).evaluate(ctx))
    return render_in(ctx, template)


def _json(value: Any) -> Any:
    """A value as task JSON carries it: instants and dates in ISO-8601."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items() if not k.startswith("_")}
    return value


def _wrong(runner: Storylines, inst: Instance, fam: TaskFamilySpec, facts: tuple[Fact, ...],
           lookalikes: list[Lookalike], conflicts: list[dict], year: int, tz: str,
           own: Callable[[str, Any], bool]) -> tuple[WrongValue, ...]:
    """Values a reply must not state for a fact's slot: what its conflicts superseded, and
    what the instance's visible look-alikes show instead (the fact rendered from their
    bindings, and any amount, date or clock time of the fact's kind a look-alike shows but
    the record it imitates does not). A look-alike may happen to show a value the storyline
    itself shows (a superseded one, or one the reference reply states: ``own``); that value
    is the storyline's, not a look-alike's. (``year`` completes dates written without
    one; clock times are read in zone ``tz``.)"""
    out: list[WrongValue] = []
    for spec, fact in zip(fam.facts, facts, strict=True):
        for c in conflicts:
            if c["slot"] != fact.slot:
                continue
            for old in json.loads(c["superseded"]):
                value = _as_kind(fact.kind, old, runner)
                if value is not None and value != fact.value:
                    out.append(WrongValue(fact.slot, fact.kind, value, "superseded"))
        taken = {_same(fact.kind, v) for v in
                 [fact.value, *(w.value for w in out if w.slot == fact.slot)]}
        for d in lookalikes:
            shadow = replace(inst, names=d.names)
            try:
                others = [_fill(runner.context(shadow), spec.value)]
            except ValueError:
                others = []
            for other in [*others, *shown_only(fact, d, year, tz)]:
                if _same(fact.kind, other) not in taken and not own(fact.kind, other):
                    taken.add(_same(fact.kind, other))
                    out.append(WrongValue(fact.slot, fact.kind, other, "distractor"))
    return tuple(dict.fromkeys(out))


def shown_only(fact: Fact, d: Lookalike, year: int, tz: str) -> list[Any]:
    """The values of ``fact``'s kind look-alike ``d`` shows and the record it imitates
    does not: the facts it changed, however its template words them."""
    if fact.kind == "amount":
        return sorted(amounts_in(d.shown) - amounts_in(d.imitated))
    if fact.kind == "date":
        return sorted(day.isoformat() for day in
                      dates_in(d.shown, year, tz) - dates_in(d.imitated, year, tz))
    if clock_minutes(str(fact.value)) is None:
        return []
    return [f"{m // 60}:{m % 60:02d}"
            for m in sorted(times_in(d.shown, tz) - times_in(d.imitated, tz))]


def _same(kind: str, value: Any) -> Any:
    """What makes two values of ``kind`` the same: minor units, the ISO day, the minute of
    a clock time, else the text."""
    if kind == "amount":
        return int(value)
    if kind == "date":
        return str(value)[:10]
    minutes = clock_minutes(str(value))
    return str(value) if minutes is None else minutes


def _as_kind(kind: str, text: str, runner: Storylines) -> Any:
    """A conflict's recorded value (its text form) as a fact of ``kind``."""
    if kind == "amount":
        try:
            return int(text)
        except ValueError:
            return None
    if kind == "date":
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is not None:
            return moment.astimezone(runner.world.clock.tz).date().isoformat()
        return moment.date().isoformat()
    return text
