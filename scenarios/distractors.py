"""Look-alikes: records that resemble a storyline's record but break one of its facts.

Right after a storyline step writes a record, its look-alikes are made by rendering the
same step again with some of its parameters changed (another drawn number or day, another
product of the same kind at its own price, another shop, place, project or topic) and
writing the result at another time, as a record of its own with no cause. Each look-alike
breaks the facts it changed (``violates`` names them), so it is never also a valid answer.

A step opts in by naming what its look-alikes may change (``vary``): only the family's
author knows which changes leave the world consistent (another meeting slot is harmless; a
text about a charge the bank never made is not). The people a look-alike names are the
storyline's own, products are real at their real price, links to the storyline's own
records (the meeting an invitation is for) are cut but not the chat a message is posted in,
and only records that stand alone (messages, notes, to-dos, calendar entries) get
look-alikes.

Similarity, measured on what was written:

- **high**: the same record type with exactly one fact different (one parameter changed);
- **medium**: the same type with more changed, still sharing at least half of its content
  tokens (:func:`token_overlap`);
- **low**: the same service, sharing less than half.

The profile asks for a mix of levels (how many facts to change); the label records the
level measured. Look-alikes draw from their own random streams and id streams, so the
storyline's own facts are the same with or without them. (Not every byte: the measuring run
that sizes routine life counts their words, so a different set of look-alikes can move
routine volume a little, and with it ids that routine and storylines mint from one stream,
such as mail thread ids. At every noise ratio the same look-alikes are made, so the signal
is identical across ratios.)

Look-alikes are noise, so the noise-to-signal knob thins them like the rest of it: each is
a causal cascade of its own, kept or dropped by its service's keep fraction
(``scenarios.noise.thin``). The profile's count holds at the profile's own ratio; a world
thinned to a lower target keeps a subset, so the same task meets fewer look-alikes in a
quieter world and more in a noisier one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from scenarios.storyline_params import ComputeSpec, DrawSpec, PickSpec, depends
from scenarios.storyline_spec import VARIABLE_PICKS, EmitStep
from sim.clock import DAY, day_date
from sim.services import TABLES

if TYPE_CHECKING:
    from scenarios.engine import Instance, Storylines

LEVELS = ("high", "medium", "low")
# Records that stand alone. An order, a charge, a shipment or a booking implies others (the
# charge for the order, the legs of the shipment), so a lone copy would break the world.
TABLES_WITH_LOOKALIKES = frozenset({
    "personal_emails", "work_emails", "sms_messages", "chat_messages", "call_log", "notes",
    "todos", "calendar_events", "feed_posts"})
# Tables whose records hold others (a chat holds its messages): a look-alike keeps its link.
CONTAINERS = frozenset({"chat_channels"})
_TOKEN = re.compile(r"[a-z0-9]+")


def token_overlap(a: str, b: str) -> float:
    """Jaccard overlap of the lower-cased word and number tokens of two texts."""
    x, y = set(_TOKEN.findall(a.lower())), set(_TOKEN.findall(b.lower()))
    return len(x & y) / len(x | y) if x | y else 1.0


@dataclass(frozen=True)
class Lookalike:
    """One look-alike as the oracle keeps it."""

    table: str
    record_id: str
    valid_from: int
    instance_id: str
    role: str  # the step whose record it resembles
    similarity: str
    violates: str  # the parameters it changed, comma-separated
    overlap: float
    # The bindings it was rendered from, so a task can say which wrong value it shows.
    names: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # What it shows and what the record it imitates shows (every field, instants and days
    # in ISO form): the values only it shows are the facts it changed, however it words them.
    shown: str = field(default="", compare=False, repr=False)
    imitated: str = field(default="", compare=False, repr=False)


class Lookalikes:
    """Makes ``per_signal`` look-alikes (on average) for each record a storyline emits."""

    def __init__(self, per_signal: float, mix: dict[str, float]) -> None:
        self.per_signal = per_signal
        weights = np.array([mix.get(level, 0.0) for level in LEVELS], float)
        self.mix = weights / weights.sum()
        self.made: list[Lookalike] = []  # every look-alike the simulation wrote
        self._kept: list[Lookalike] | None = None  # those thinning kept (None: all)

    def keep(self, records: set[tuple[str, str]]) -> None:
        """After thinning: only the look-alikes among ``records`` (table, id) remain."""
        self._kept = [d for d in self.made if (d.table, d.record_id) in records]

    @property
    def present(self) -> list[Lookalike]:
        """The look-alikes the exported world holds: what tasks and labels may name. (The
        unthinned ``made`` deals difficulty, so a task is the same task at every ratio.)"""
        return list(self.made) if self._kept is None else list(self._kept)

    def after(self, runner: Storylines, inst: Instance, step: EmitStep,
              written: dict[str, Any]) -> None:
        """Write look-alikes of the record ``step`` just wrote (``written``) for ``inst``."""
        if self.per_signal <= 0 or not step.vary or step.table not in TABLES_WITH_LOOKALIKES:
            return
        variable = _variable(inst, step.vary)
        if not variable:
            return
        rng = runner.world.rng.child(inst.instance_id).stream(f"lookalikes/{step.id}")
        count = int(self.per_signal) + int(rng.random() < self.per_signal % 1)
        signal_at = inst.records[-1][2]
        signal_text = _text(step.table, written)
        for _ in range(count):
            level = LEVELS[int(rng.choice(3, p=self.mix))]
            n_change = {"high": 1, "medium": max(2, (len(variable) + 1) // 2),
                        "low": len(variable)}[level]
            changed = sorted(rng.choice(variable, size=min(n_change, len(variable)),
                                        replace=False).tolist())
            at = _another_time(runner, signal_at, rng)
            names = None if at is None else _changed_names(runner, inst, changed, rng, at)
            if names is None:
                continue
            shadow = replace(inst, names=names, clock=signal_at, records=[], conflicts=[],
                             conflict_records=[])
            columns = _unlinked(inst, step.table, runner.columns_of(shadow, step))
            if all(columns.get(k) == written.get(k) for k in step.shown):
                continue  # the change does not show (a cut link is none): it would be a copy
            text = _text(step.table, columns)
            overlap = token_overlap(signal_text, text)
            similarity = ("high" if len(changed) == 1 else
                          "medium" if overlap >= 0.5 else "low")
            record_id = runner.write_lookalike(shadow, step, columns, at)
            self.made.append(Lookalike(step.table, record_id, at, inst.instance_id, step.id,
                                       similarity, ",".join(changed), round(overlap, 3),
                                       names, _shown(runner, step.table, columns),
                                       _shown(runner, step.table, written)))


def _unlinked(inst: Instance, table: str, columns: dict[str, Any]) -> dict[str, Any]:
    """``columns`` with links to the storyline's own records cut: a look-alike may mention
    the same meeting or order in passing, but it is not part of that record's chain. Links
    to a container (``CONTAINERS``: the chat a message is posted in) stay: another message
    in the same DM is a look-alike, a chat message in no chat is not a record at all."""
    own = {b["id"] for b in inst.names.values() if isinstance(b, dict) and "_table" in b}
    cut = {k for k, target in TABLES[table].references.items() if target not in CONTAINERS}
    return {k: None if k in cut and v in own else v for k, v in columns.items()}


def _variable(inst: Instance, vary: list[str]) -> list[str]:
    """The parameters in ``vary`` that can take another value."""
    out = []
    for name in vary:
        p = inst.spec.params[name]
        drawn = isinstance(p, DrawSpec) and p.uniform[0] < p.uniform[1]
        if drawn or (isinstance(p, PickSpec) and p.pick in VARIABLE_PICKS):
            out.append(name)
    return out


def _changed_names(runner: Storylines, inst: Instance, changed: list[str],
                   rng: np.random.Generator, at: int) -> dict[str, Any] | None:
    """The instance's bindings with ``changed`` redrawn and what depends on them recomputed."""
    names = dict(inst.names)
    for name in changed:
        param = inst.spec.params[name]
        if isinstance(param, DrawSpec):
            low, high = param.uniform
            choices = [v for v in range(low, high + 1) if v != names[name]] if \
                high - low < 1000 else None
            names[name] = int(rng.choice(choices)) if choices else int(
                names[name] + rng.choice([-1, 1]) * max(1, (high - low) // 5))
        else:
            other = runner.picker.another(param, names[name], rng, at)
            if other is None:
                return None
            names[name] = other
    stale = {n for n, p in inst.spec.params.items()
             if isinstance(p, ComputeSpec) and depends(inst.spec.params, {n}) & set(changed)}
    shadow = replace(inst, names=names)
    for n, p in inst.spec.params.items():  # in declaration order, like the first time
        if n in stale:
            names[n] = runner.evaluate(shadow, p.expr)
    return names


def _another_time(runner: Storylines, signal_at: int, rng: np.random.Generator) -> int | None:
    """At the same time of day, either two days to three weeks before the record (an older
    exchange of the same kind) or one to four days after it (the kind of message that keeps
    coming: a later one lands while the user may still be asking about the first)."""
    clock = runner.world.clock
    before = signal_at - int(rng.integers(2, 22)) * DAY
    after = signal_at + int(rng.integers(1, 5)) * DAY
    can_before = before > DAY
    can_after = after < clock.end_seconds
    if can_before and (not can_after or rng.random() < 0.5):
        return before
    return after if can_after else None


def _shown(runner: Storylines, table: str, columns: dict[str, Any]) -> str:
    """Every field of a record but when it was written, as text, instants and days in ISO
    form (as tools show them: a due day held as days since 1970 must read as a day, or a
    look-alike's changed due date would never count as a wrong value)."""
    clock, spec = runner.world.clock, TABLES[table]
    out = []
    for column in spec.columns:
        value = columns.get(column.name)
        if value is None or column.name == spec.created_column:
            continue
        if pa.types.is_timestamp(column.type) and isinstance(value, int | np.integer):
            value = clock.instant(int(value)).isoformat()
        elif pa.types.is_date32(column.type) and isinstance(value, int | np.integer):
            value = day_date(value).isoformat()
        out.append(str(value))
    return "\n".join(out)


def _text(table: str, columns: dict[str, Any]) -> str:
    return " ".join(str(columns.get(c) or "") for c in TABLES[table].text_columns)
