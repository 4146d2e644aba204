"""What every ``lifeloom`` command shares: the Typer app, the error console, usage errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from personas.library import load_personas

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="lifeloom: seeded simulations of a person's digital life, as benchmark datasets.",
)
err = Console(stderr=True)


class UsageError(Exception):
    """A bad flag value found after parsing; ``where`` names the flag."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(why)
        self.where = where
        self.why = why


LibraryOpt = Annotated[
    Path | None,
    typer.Option("--library", help="A directory of your own specs (personas/ inside or flat)."),
]


def load_persona_library(library: Path | None):
    if library is not None and not library.is_dir():
        raise UsageError("--library", f"{library} is not a directory")
    return load_personas(library)
