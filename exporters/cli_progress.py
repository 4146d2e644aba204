"""Progress bars for ``lifeloom generate``: one per split, with worlds/s and time left.

The library reports progress through a callback (``stage, done, total``) and never
prints; this turns those calls into rich bars on stderr (none when it is not a terminal).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from exporters.cli_common import err


class RateColumn(ProgressColumn):
    """Worlds per second, once there is a rate to show."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:.2f} worlds/s", style="progress.data.speed")


@contextlib.contextmanager
def progress_bars() -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(stage, done, total)`` callback that draws a bar per stage."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  RateColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=err,
                  disable=not err.is_terminal) as bars:
        ids: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in ids:
                ids[stage] = bars.add_task(stage, total=total, completed=done)
            else:
                bars.update(ids[stage], completed=done, total=total)

        yield update
