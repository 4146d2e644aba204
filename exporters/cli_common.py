"""What every ``lifeloom`` command shares: the Typer app, the error console, usage errors.

The command modules import the library inside each command, not at the top: ``--help``,
a typo'd flag or a wrong path is then answered in a fraction of a second instead of after
seconds of loading NumPy, Arrow, Polars and the specs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from sim.errors import InputError

if TYPE_CHECKING:
    from exporters.loading import Dataset
    from personas.spec import PersonaSpec

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="lifeloom: seeded simulations of a person's digital life, as benchmark datasets.",
)


def console(*, stderr: bool = False) -> Console:
    """A rich console that prints what it is given as written: rich would turn a
    ``file.toml:id:`` into ``file.toml🆔`` (emoji codes), which hid keys in error messages.
    On stderr a message stays one line, however narrow the terminal, so logs can be
    searched for it."""
    return Console(stderr=stderr, emoji=False, soft_wrap=stderr)


err = console(stderr=True)


class UsageError(InputError):
    """A bad flag value found after parsing; ``where`` names the flag."""


LibraryOpt = Annotated[
    Path | None,
    typer.Option("--library", help="A directory of your own specs (personas/ inside or flat)."),
]


def load_persona_library(library: Path | None) -> dict[str, PersonaSpec]:
    from personas.library import load_personas

    if library is not None and not library.is_dir():
        raise UsageError("--library", f"{library} is not a directory")
    return load_personas(library)


def open_dataset(path: Path) -> Dataset:
    """The dataset at ``path`` (a ``DatasetError`` names what is wrong with it)."""
    from exporters.loading import Dataset

    return Dataset(path)
