"""The ``baseline`` command: run a fixed agent over a dataset and grade it like any agent.

Exit codes: 0 when the run finished (whatever the pass rate), 2 on a bad agent or path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from exporters.cli_common import UsageError, app, err, open_dataset

# The agents of ``scenarios.baselines.AGENTS``, named here so that ``--help`` need not load
# them (a test keeps the two lists equal).
AGENT_HELP = "One of: naive, null, oracle."


@app.command()
def baseline(
    path: Annotated[Path, typer.Argument(help="A dataset directory (with its oracle/).")],
    agent: Annotated[str, typer.Option("--agent", help=AGENT_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Run a baseline agent on every task and grade it.

    Pass rates by mode, category, difficulty and noise ratio."""
    from exporters.baseline import run_baseline
    from scenarios.baselines import AGENTS

    if agent not in AGENTS:
        raise UsageError("--agent", f"unknown agent {agent!r}; known: {', '.join(AGENTS)}")
    ds = open_dataset(path)
    if not ds.has_oracle:  # grading needs the gold rows, and the oracle agent replays them
        raise UsageError(str(path), "has no oracle/ (shipped without answers)")
    with Progress(TextColumn(f"{agent}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True,
                  disable=not err.is_terminal) as bar:
        job = bar.add_task(agent, total=ds.tasks.height)
        result = run_baseline(ds, agent, progress=lambda done, _total: bar.update(
            job, completed=done))
    if as_json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    typer.echo(f"{agent}: {result['passed']}/{result['tasks']} tasks passed "
               f"({_rate(result['pass_rate'])}), mean score {result['mean_score']:.3f}, "
               f"noise ratio {_ratio(result['noise_ratio'])}")
    if result["false_alarm_rate"] is not None:
        typer.echo(f"  proactive tasks with a false alarm: {_rate(result['false_alarm_rate'])}")
    for column in ("mode", "difficulty", "category"):
        for value, stats in result["by"][column].items():
            typer.echo(f"  {column} {value}: {stats['passed']}/{stats['tasks']} "
                       f"({_rate(stats['pass_rate'])}), mean score {stats['mean_score']:.3f}")


def _ratio(ratio: float | None) -> str:
    return "unknown" if ratio is None else f"{ratio:g}"


def _rate(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"
