"""The benchmark commands: ``generate``, ``check``, ``show``, ``tools`` and ``grade``.

Exit codes: 0 when the command ran (``grade`` also when the run failed its task), 1 when
something checked fails (``check``) or generation drops too many tasks, 2 on bad input.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from exporters.cli_common import (
    LibraryOpt,
    UsageError,
    app,
    console,
    err,
    load_persona_library,
    open_dataset,
)
from exporters.cli_progress import progress_bars

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
TaskOpt = Annotated[str, typer.Option("--task", help="A task id (see tasks/).")]


@app.command("generate")
def generate_(
    recipe: Annotated[str, typer.Option(help="Recipe id (shipped or in --library).")] = "smoke",
    out: Annotated[Path | None, typer.Option(help="Output directory (default out/<recipe>).")]
    = None,
    noise_ratio: Annotated[float | None, typer.Option(
        help="Override the recipe's noise-to-signal target (words).")] = None,
    workers: Annotated[int, typer.Option(
        help="Worlds generated at once (worker processes, or Ray CPUs).", min=1)] = 1,
    backend: Annotated[str, typer.Option(help="local (this machine) or ray.")] = "local",
    restart: Annotated[bool, typer.Option(
        help="Discard an unfinished run at <out>.partial instead of resuming it.")] = False,
    private_seeds: Annotated[bool, typer.Option(
        help="Publish seed commitments only; the seeds go to <out>.seeds.json.")] = False,
    library: LibraryOpt = None,
) -> None:
    """Mint a benchmark dataset from a recipe: worlds, snapshots, verified tasks, oracle.

    A stopped run resumes from <out>.partial; an <out> already holding it is kept."""
    if noise_ratio is not None and not 0 <= noise_ratio <= 1000:
        raise UsageError("--noise-ratio", f"must be between 0 and 1000, got {noise_ratio}")
    from exporters.generate import TooManyDroppedError, generate
    from scenarios.build import BelowFloorError
    from scenarios.library import load_recipes, load_storylines, load_task_families
    from scenarios.noise import load_profiles

    personas = load_persona_library(library)
    recipes = load_recipes(library)
    if recipe not in recipes:
        raise UsageError("--recipe", f"unknown recipe {recipe!r}; known: "
                         f"{', '.join(sorted(recipes))}")
    storylines = load_storylines(library)
    families = load_task_families(library, storylines)
    out = out or Path("out") / recipe
    # generate() refuses another recipe's dataset, so one there before a success is this
    # recipe's, left as it was.
    there_before = (out / "manifest.json").is_file()
    with progress_bars() as bars:
        try:
            manifest = generate(
                recipes[recipe], out, personas=personas, storylines=storylines,
                families=families, profiles=load_profiles(library), ratio=noise_ratio,
                workers=workers, backend=backend, restart=restart,
                private_seeds=private_seeds, progress=bars)
        except BelowFloorError as exc:
            where = ("--noise-ratio" if noise_ratio is not None
                     else f"{recipes[recipe].where}:noise")
            raise UsageError(where, str(exc)) from None
        except TooManyDroppedError as exc:
            err.print(f"error: recipe {recipe}: {exc}", markup=False)
            raise typer.Exit(1) from None
    done = "already there, left as it was:" if there_before else "wrote"
    err.print(f"{done} {out}: {len(manifest['worlds'])} worlds, {manifest['environments']} "
              f"environments, {manifest['tasks']} tasks "
              f"({sum(manifest['dropped'].values())} of {manifest['candidate_tasks']} "
              f"candidates dropped: {manifest['dropped'] or 'none'})")


@app.command()
def check(
    path: Annotated[Path, typer.Argument(help="A dataset directory.")],
    sample: Annotated[int | None, typer.Option(
        help="Self-check a seeded sample of this many tasks.", min=1)] = None,
    against: Annotated[Path | None, typer.Option(
        help="Another dataset (say the training set): fail if the two share a world "
             "seed, world id, persona instance or user.")] = None,
    seeds: Annotated[Path | None, typer.Option(
        help="The seeds file of a --private-seeds run (<out>.seeds.json): verify the "
             "seed commitments against it.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify schemas, content hashes, leak-free splits and every task's self-check.

    Exits 1 on a failure."""
    from exporters.check import check_dataset
    from exporters.loading import Dataset, DatasetError
    from exporters.seeds import read_seeds_file

    open_dataset(path)  # a clear usage error before any work
    for flag, value, read in (("--against", against, Dataset), ("--seeds", seeds, read_seeds_file)):
        if value is not None:
            try:
                read(value)
            except DatasetError as exc:
                raise UsageError(flag, str(exc)) from None
    report = check_dataset(path, sample=sample, against=against, seeds=seeds)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        for failure in report.failures:
            err.print(f"FAIL {failure}", markup=False)
        note = ("self-checks skipped (no oracle/)" if report.self_checks_skipped
                else f"{report.tasks_checked} tasks self-checked")
        err.print(f"{'ok' if report.ok else 'FAILED'}: {report.tables} tables, {note}")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def show(path: Annotated[Path, typer.Argument(help="A dataset directory.")], task: TaskOpt,
         as_json: JsonOpt = False) -> None:
    """A task, readable: prompt, evidence chain, conflicts, oracle and reference."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from sim.clock import zone
    from sim.tools.base import shown

    ds = open_dataset(path)
    row, gold = ds.task(task), ds.gold(task)  # a DatasetError names what is missing
    # A proactive task's evidence is all visible by its last heartbeat (not at the first,
    # its control).
    snapshot = ds.snapshot(row["episodes"][-1])
    wanted = pa.array(gold["evidence_ids"], pa.string())
    evidence = []
    for name, table in snapshot.items():
        hits = table.filter(pc.is_in(table["record_id"], value_set=wanted)).to_pylist()
        evidence += [{"table": name, **r} for r in hits]
    evidence.sort(key=lambda r: r["valid_from"])
    if as_json:
        evidence = [{k: str(v) for k, v in r.items()} for r in evidence]
        typer.echo(json.dumps({"task": {k: str(v) if k == "as_of" else v
                                        for k, v in row.items()},
                               "evidence": evidence,
                               "gold": gold}, indent=2, default=str))
        return
    # Times on the user's clock, as the task's tools show them (sim.tools.base.shown).
    tz = zone(ds.snapshot_info(row["episodes"][-1])["timezone"])
    out = console()
    out.rule(f"{task} · {row['family']} · {row['category']} · {row['difficulty']}")
    out.print(f"[bold]as of[/] {shown(row['as_of'], tz)} ({tz.key})   [bold]services[/] "
              f"{', '.join(row['services'])}   [bold]devices[/] {', '.join(row['devices'])}")
    out.print(f"[bold]prompt[/] {escape(row['prompt'])}", highlight=False)
    need = json.loads(gold["need"])
    if need is not None:
        window = [shown(dt.datetime.fromisoformat(need[k]), tz) for k in ("detectable",
                                                                         "deadline")]
        out.rule(f"heartbeats (need window {window[0]} .. {window[1]}, "
                 f"raised with {need['notice']})")
        for beat in need["heartbeats"]:
            info = ds.snapshot_info(beat["snapshot_id"])
            out.print(f"{shown(info['as_of'], tz)}  {beat['snapshot_id']}  {beat['phase']}",
                      highlight=False)
    out.rule("evidence chain (oldest first)")
    for r in evidence:
        text = " | ".join(str(r.get(c) or "") for c in ("title", "subject", "body", "description",
                                                          "text") if r.get(c))
        out.print(f"{shown(r['valid_from'], tz)}  {r['table']}:{r['record_id']}  {text[:160]}",
                  highlight=False, markup=False)
    out.rule("conflicts")
    for c in json.loads(gold["conflict_resolutions"]) or [{"none": ""}]:
        out.print(c, highlight=False)
    out.rule("oracle")
    for key in ("answer_facts", "wrong_values", "required_effects", "forbidden_effects",
                "allowed_scope"):
        out.print(f"[bold]{key}[/] {escape(str(gold[key]))}", highlight=False)
    out.print(f"[bold]services required[/] {gold['services_required']}  "
              f"[bold]distractors[/] {len(gold['distractor_ids'])}")
    out.rule("reference")
    for call in json.loads(gold["reference_actions"]):
        out.print(json.dumps(call), highlight=False, markup=False)
    out.print(f"[bold]reply[/] {escape(gold['reference_reply'])}", highlight=False)


@app.command()
def tools(path: Annotated[Path, typer.Argument(help="A dataset directory.")],
          task: TaskOpt) -> None:
    """The task's tools as JSON Schemas for function calling (every installed service)."""
    ds = open_dataset(path)
    typer.echo(json.dumps(ds.toolbox(task).specs(), indent=2))


@app.command()
def grade(
    path: Annotated[Path, typer.Argument(help="A dataset directory.")],
    task: Annotated[str | None, typer.Option("--task", help="The task graded.")] = None,
    actions: Annotated[Path | None, typer.Option(
        help="run.jsonl: one tool call per line, replayed through the task's workspace.")]
    = None,
    final_state: Annotated[Path | None, typer.Option(
        help="A directory of final tables exported by a harness.")] = None,
    reply: Annotated[Path | None, typer.Option(help="The agent's final reply (text file).")]
    = None,
    runs: Annotated[Path | None, typer.Option(
        help="A directory of *.json runs {task_id, actions, reply} to grade together.")]
    = None,
    as_json: JsonOpt = False,
) -> None:
    """Grade a run (or many): exit 0 whenever grading ran, passed or not."""
    from exporters.runs import (
        RunError,
        grade_actions,
        grade_final_state,
        grade_runs,
        read_actions,
    )

    ds = open_dataset(path)
    if runs is not None:
        if task or actions or final_state:
            raise UsageError("--runs", "grades whole runs; drop --task/--actions/--final-state")
        result = grade_runs(ds, runs)
        typer.echo(json.dumps(result, indent=2) if as_json else
                   f"{result['passed']}/{result['runs']} runs passed "
                   f"(mean score {result['mean_score']:.3f})")
        return
    if task is None:
        raise UsageError("--task", "required unless --runs is given")
    ds.task(task)
    if (actions is None) == (final_state is None):
        raise UsageError("--actions", "give exactly one of --actions and --final-state")
    text = ""
    if reply is not None:
        if not reply.is_file():
            raise UsageError("--reply", f"{reply}: no such file")
        text = reply.read_text(encoding="utf-8")
    if actions is not None:
        calls = read_actions(actions)
        try:
            verdict = grade_actions(ds, task, calls, text)
        except RunError as exc:  # a call's episode: name the file it came from
            raise RunError(f"{actions}:{exc.where}", exc.why) from None
    else:
        if not final_state.is_dir():
            raise UsageError("--final-state", f"{final_state} is not a directory")
        verdict = grade_final_state(ds, task, final_state, text)
    result = {"task_id": task, **verdict.to_json()}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"{task}: {'PASSED' if verdict.passed else 'FAILED'} score {verdict.score} "
               f"claw_score {verdict.claw_score}")
    for c in verdict.checks:
        typer.echo(f"  [{'x' if c.passed else ' '}] {c.name}{': ' + c.reason if c.reason else ''}")
