"""Loading behaviour files: storyline and task families and recipes, shipped and from
``--library``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from personas.build import shipped_grammar
from personas.errors import SpecError, load_by_id, load_spec
from scenarios.phrasing import PhrasingError, usable_variants
from scenarios.recipe_spec import RecipeSpec, check_splits
from scenarios.storyline_spec import EmitStep, PhrasingSpec, StorylineSpec, UpdateStep
from scenarios.task_spec import TaskFamilySpec
from sim.services import CATALOGUE

SHIPPED = Path(str(resources.files("scenarios") / "library"))


def _files(kind: str, library: Path | None) -> list[Path]:
    files = sorted((SHIPPED / kind).glob("*.toml"))
    if library is not None and (library / kind).is_dir():
        files += sorted((library / kind).glob("*.toml"))
    return files


def load_storyline(path: Path) -> StorylineSpec:
    """Parse and validate one storyline file; every failure is a :class:`SpecError`.

    Text fields worded by a routine intent are checked against the shipped text grammar
    here, where the file is known, not when an instance first writes one.
    """
    spec = load_spec(path, StorylineSpec)
    for i, step in enumerate(spec.steps):
        for column, value in getattr(step, "text", {}).items():
            if isinstance(value, PhrasingSpec):
                try:
                    usable_variants(shipped_grammar(), value)
                except PhrasingError as exc:
                    raise SpecError(f"{path}:steps[{i}].text.{column}.{exc.field}",
                                    str(exc)) from None
    return spec


def load_storylines(library: Path | None = None) -> dict[str, StorylineSpec]:
    """All storyline families by id: shipped first, then ``library``/storylines."""
    return load_by_id(_files("storylines", library), load_storyline, "storyline")


def load_task_families(library: Path | None = None,
                       storylines: dict[str, StorylineSpec] | None = None,
                       ) -> dict[str, TaskFamilySpec]:
    """All task families by id (shipped, then ``library``/tasks), each checked against the
    storyline it builds on: the storyline exists, its evidence names steps of it, and its
    tools belong to real services."""
    storylines = storylines if storylines is not None else load_storylines(library)
    out = {}
    for path in _files("tasks", library):
        family = load_spec(path, TaskFamilySpec)
        _check_against(path, family, storylines)
        if family.id in out:
            raise SpecError(f"{path}:id", f"task family id {family.id!r} is defined twice")
        out[family.id] = family
    return out


def _check_against(path: Path, family: TaskFamilySpec,
                   storylines: dict[str, StorylineSpec]) -> None:
    story = storylines.get(family.storyline)
    if story is None:
        raise SpecError(f"{path}:storyline", f"no storyline family {family.storyline!r}")
    steps = {s.id for s in story.steps}
    for i, role in enumerate(family.evidence):
        if role not in steps:
            raise SpecError(f"{path}:evidence[{i}]",
                            f"storyline {story.id} has no step {role!r}")
    # An ask window opens and closes at the instance's start, a milestone, or a step's
    # first record.
    points = {"started", *story.milestones,
              *(s.id for s in story.steps if isinstance(s, EmitStep | UpdateStep))}
    for key, point in [("after", family.ask.after),
                       *((f"before[{i}]", p) for i, p in enumerate(family.ask.before))]:
        if point not in points:
            raise SpecError(f"{path}:ask.{key}", f"storyline {story.id} has no milestone or "
                            f"record-writing step {point!r}")
    solutions = [("reference", family.reference)]
    solutions += [(f"alternatives[{i}].calls", s.calls) for i, s in enumerate(family.alternatives)]
    solutions += [(f"near_misses[{i}].calls", s.calls) for i, s in enumerate(family.near_misses)]
    for key, calls in solutions:
        for j, call in enumerate(calls):
            service = call.tool.rsplit("_", 1)[0]
            if call.tool not in ("ask_user", "notify_user") and service not in CATALOGUE:
                raise SpecError(f"{path}:{key}[{j}].tool", f"no service {service!r}")


def load_recipes(library: Path | None = None) -> dict[str, RecipeSpec]:
    """All split recipes by id: shipped, then ``library``/recipes."""
    return load_by_id(_files("recipes", library),
                      lambda p: check_splits(load_spec(p, RecipeSpec), p), "recipe")
