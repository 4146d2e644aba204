"""A storyline's parameters: what an instance picks from the world, draws, or computes.

Three kinds, told apart in a file by the key that marks each (``pick``, ``uniform``,
``expr``). Picks are bound when an instance is planted; draws and computed parameters in
the order written, when it starts (``scenarios.engine``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from personas.spec import Strict
from scenarios.expressions import ExpressionError, parse


def check_expression(value: str | int | float | bool) -> str | int | float | bool:
    try:
        parse(value)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    return value


Expr = Annotated[str | int | float | bool, Field(description="an expression")]


class PickSpec(Strict):
    """Bind a name to something from the world: a person, a product, a bill, a shop, a
    place."""

    pick: Literal["contact", "coworker", "manager", "product", "merchant", "restaurant",
                  "place", "project", "topic", "bill"]
    kinds: list[Literal["family", "friends", "coworkers", "clients", "vendors", "services"]] = (
        Field(default_factory=list))
    relationships: list[str] = Field(default_factory=list)  # e.g. ["landlord", "dentist"]
    liked: bool = False  # products the person is interested in
    # Bills: only those on AutoPay (true) or paid by hand (false), and the due date the
    # story works towards (``<name>.due``): the bill's first one at least this many days
    # after the story starts. A picked bill is also its entry in the bank's recurring list,
    # a record ``update`` steps may change; routine life leaves the bill alone for that one
    # billing cycle (from a few days after the previous due date to a few days past it).
    autopay: bool | None = None
    due_after_days: int = Field(0, ge=0, le=60)
    # What routine life may still exchange with a picked person while the story runs:
    # "small_talk" (texts and calls that state no date, time, place or amount, so they can
    # contradict nothing the story says) or "none" (a person whose number or address the
    # story changes, whom routine life would reach the old way: left alone from the story's
    # start to the end of the world, since the change outlasts the story).
    routine: Literal["small_talk", "none"] = "small_talk"
    description: str = ""

    @model_validator(mode="after")
    def _bill_fields(self) -> PickSpec:
        if self.pick != "bill" and (self.autopay is not None or self.due_after_days):
            raise ValueError("autopay and due_after_days apply to bill picks only")
        return self


class DrawSpec(Strict):
    """Bind a name to a uniform integer in ``[low, high]``.

    ``hours = "awake"`` makes it a time of day, seconds after 09:00 local, drawn in
    ``[low, high]`` as routine life draws the hours of a personal text or a calendar entry
    (weighted by ``personas.life.DAY_PROFILE``: busier evenings), not uniformly.
    """

    uniform: tuple[int, int]
    hours: Literal["uniform", "awake"] = "uniform"
    description: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> DrawSpec:
        if self.uniform[0] > self.uniform[1]:
            raise ValueError("uniform bounds must be ordered [low, high]")
        if self.hours == "awake" and (self.uniform[0] < 0 or self.uniform[1] >= 15 * 3600):
            raise ValueError("awake hours are seconds after 09:00, in [0, 54000)")
        return self


class ComputeSpec(Strict):
    """Bind a name to an expression over earlier names."""

    expr: Expr
    description: str = ""

    _check = field_validator("expr")(check_expression)


# Each kind of parameter, the key that marks it in a file, and its tag (in error locations,
# as a step's ``do`` is: ``params.fx.compute.expr``).
_KINDS = {"pick": (PickSpec, "pick"), "uniform": (DrawSpec, "draw"),
          "expr": (ComputeSpec, "compute")}


def _param_kind(value: Any) -> str | None:
    """Which kind of parameter ``value`` is, by the key that says so: a parameter is
    validated as that kind alone, so a bad expression is reported as one (not as a pick
    missing its ``pick``, the first kind tried)."""
    for key, (model, tag) in _KINDS.items():
        if (key in value) if isinstance(value, dict) else isinstance(value, model):
            return tag
    return None


ParamSpec = Annotated[
    Annotated[PickSpec, Tag("pick")] | Annotated[DrawSpec, Tag("draw")]
    | Annotated[ComputeSpec, Tag("compute")],
    Discriminator(_param_kind, custom_error_type="parameter_kind",
                  custom_error_message="a parameter needs one of pick, uniform or expr"),
]


def depends(params: dict[str, ParamSpec], names: set[str]) -> set[str]:
    """``names`` and every parameter they are computed from, however indirectly."""
    out, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out.add(name)
        param = params.get(name)
        if isinstance(param, ComputeSpec):
            todo += list(parse(param.expr).names)
    return out
