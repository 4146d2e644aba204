"""Loading persona specs: the shipped library plus any user ``--library`` directories."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from personas.errors import SpecError, load_by_id, load_spec
from personas.spec import PersonaSpec
from sim.graph import ServiceGraphError, build_service_graph

SHIPPED = Path(str(resources.files("personas") / "library"))


def load_persona(path: Path) -> PersonaSpec:
    """Parse and validate one persona file; every failure is a :class:`SpecError`."""
    spec = load_spec(path, PersonaSpec)
    problems = spec.cross_field_problems()
    if problems:
        key, why = problems[0]
        raise SpecError(f"{path}:{key}", why)
    try:  # the installed services must form a valid graph (requires edges acyclic)
        build_service_graph(spec.services, [(i.service, i.requires) for i in spec.integrations])
    except ServiceGraphError as exc:
        raise SpecError(f"{path}:{exc.where}", exc.why) from None
    return spec


def persona_files(library: Path | None = None) -> list[Path]:
    """Persona TOML files: the shipped ones, then a user's ``library``/personas (or flat)."""
    files = sorted(SHIPPED.glob("*.toml"))
    if library is not None:
        if not library.is_dir():
            raise SpecError(str(library), "library directory does not exist")
        sub = library / "personas"
        files += sorted((sub if sub.is_dir() else library).glob("*.toml"))
    return files


def load_personas(library: Path | None = None) -> dict[str, PersonaSpec]:
    """All personas by id, in file order; a user's persona may not reuse a shipped id."""
    return load_by_id(persona_files(library), load_persona, "persona")
