"""TaskFamilySpec: a task built on a storyline, written as data.

A *reactive* family says when, inside a storyline instance's life, the user asks (between
two of its milestones), what they ask (prompt templates per difficulty, in the user's
voice), and what a right answer is: the answer facts a reply must state, the writes that
must (and must not) happen as predicate documents, the writes allowed at all, a reference
solution as tool calls with its reply, valid alternatives, and near misses that must fail.

A *proactive* family (``mode = "proactive"``) is the same data read differently: ``ask``
is the need window (from the milestone that makes the need detectable to its deadline),
the prompts are heartbeat messages ("Good morning - anything I should know or do
today?"), the reference raises the need with ``notice`` (``notify_user``, or ``ask_user``
when the right move is to ask rather than act) at the first heartbeat inside the window,
and the facts are what a notice may state to be recognised (:mod:`scenarios.heartbeats`,
:mod:`scenarios.grading.proactive`). Near misses are optional there: the same notice at
the control heartbeat, after the deadline, or about a look-alike is always checked.

Every string may embed ``{expression}`` holes (the grammar of :mod:`scenarios.expressions`,
over the instance's parameters and bound records, ``user``, and ``now``/``today`` = the
moment the user asks). A string that is exactly one hole takes the expression's value and
type: a record id, an amount in minor units, an instant (ISO-8601 in JSON). Otherwise the
holes render as text, the way the storyline's own records render them. Bound records show
the version the user could see at the ask; ``written`` lists the steps that had written a
record by then and ``reached`` the milestones passed (``when = "'sorted' not in reached"``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from personas.errors import FromFile
from personas.spec import Strict
from scenarios.storyline_params import check_expression
from scenarios.storyline_spec import check_template
from sim.services import TABLES
from sim.tools.base import NAME

DIFFICULTIES = ("simple", "medium", "hard")
CATEGORIES = ("information_triage", "aggregation", "scheduling", "trade_off",
              "constraint_solving", "conflict_detection", "risk_safety", "workflow")
PROMPTS_PER_DIFFICULTY = 5
_VERB = re.compile(r"^[a-z_]+_[a-z]+$|^ask_user$|^notify_user$")



def _templates(value: Any) -> Any:
    """Check every ``{hole}`` in a nested JSON-like value."""
    if isinstance(value, str):
        check_template(value)
    elif isinstance(value, list):
        for item in value:
            _templates(item)
    elif isinstance(value, dict):
        for item in value.values():
            _templates(item)
    return value


class AskSpec(Strict):
    """When the user asks: after ``after``, before the first of ``before`` that happened (or
    the end of the world). Each names ``started``, a milestone, or a step (the moment its
    first record is written). Difficulty picks how far into that window
    (``scenarios.tasks.SHARES``): later asks leave the evidence deeper in history."""

    after: str
    before: list[str] = Field(min_length=1)
    min_hours: float = Field(default=1.0, ge=0)  # a window shorter than this has no task


class CallSpec(Strict):
    """One tool call: a tool name and its arguments (templates)."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("tool")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value) or not _VERB.match(value):
            raise ValueError(f"{value!r} is not a tool name (<service>_<verb>)")
        return value

    _holes = field_validator("args")(_templates)


class SolutionSpec(Strict):
    """Another way to solve the task (it must pass), or a near miss (it must fail)."""

    description: str
    calls: list[CallSpec] = Field(default_factory=list)
    reply: str | None = None  # the reference reply when absent

    _holes = field_validator("reply")(lambda v: v if v is None else check_template(v))


class FactSpec(Strict):
    """Something the reply must state."""

    slot: str  # what it is about; conflicts and look-alikes are matched to it by name
    kind: Literal["amount", "date", "text"]
    value: str  # a template (an amount in minor units, a date or instant, or text)
    contrastive: bool = False  # the reply may name the superseded values too, as old
    description: str

    _holes = field_validator("value")(check_template)


class ScopeSpec(Strict):
    """Writes the task allows in ``table``: to these records (templates giving ids), to any
    record (no ``ids``), and new records when ``created``."""

    table: str
    ids: list[str] | None = None
    created: bool = False

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        if value not in TABLES:
            raise ValueError(f"unknown table {value!r}")
        return value

    _holes = field_validator("ids")(_templates)


class PromptsSpec(Strict):
    simple: list[str] = Field(min_length=PROMPTS_PER_DIFFICULTY)
    medium: list[str] = Field(min_length=PROMPTS_PER_DIFFICULTY)
    hard: list[str] = Field(min_length=PROMPTS_PER_DIFFICULTY)

    _holes = field_validator("simple", "medium", "hard")(_templates)


class TaskFamilySpec(Strict, FromFile):
    """A reactive task family (see the module docstring)."""

    KIND = "task family"
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    storyline: str  # the storyline family it is built on
    mode: Literal["reactive", "proactive"] = "reactive"
    notice: Literal["notify_user", "ask_user"] = "notify_user"  # proactive: raises the need
    category: Literal[*CATEGORIES]
    device: Literal["laptop", "phone"] = "laptop"  # where the user asks
    when: str | None = None  # a condition on the instance at the ask; no task unless true
    ask: AskSpec
    prompts: PromptsSpec
    evidence: list[str] = Field(min_length=1)  # step ids whose records the answer rests on
    facts: list[FactSpec] = Field(default_factory=list)
    required: dict[str, Any] | None = None  # a predicate document (templates)
    forbidden: list[dict[str, Any]] = Field(default_factory=list)
    scope: list[ScopeSpec] = Field(default_factory=list)
    reference: list[CallSpec] = Field(default_factory=list)
    reply: str  # the reference reply
    alternatives: list[SolutionSpec] = Field(default_factory=list)
    near_misses: list[SolutionSpec] = Field(default_factory=list)

    _holes = field_validator("required", "forbidden")(_templates)
    _reply = field_validator("reply")(check_template)

    @field_validator("when")
    @classmethod
    def _when(cls, value: str | None) -> str | None:
        if value is not None:
            check_expression(value)
        return value

    @model_validator(mode="after")
    def _solvable(self) -> TaskFamilySpec:
        if self.required is None and not self.facts:
            raise ValueError("a task needs required effects, answer facts or both")
        if self.required is not None and not self.scope and self.reference:
            raise ValueError("a task with writes needs a scope that allows them")
        if self.mode == "reactive" and not self.near_misses:
            raise ValueError("near_misses: a reactive task needs at least one")
        if self.mode == "proactive" and self.required is None and not any(
                c.tool == self.notice for c in self.reference):
            raise ValueError(f"reference: a proactive task must raise the need "
                             f"({self.notice}) or have required effects")
        return self

