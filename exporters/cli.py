"""The ``lifeloom`` command line: a thin layer over the library.

Errors end with one line, ``error: <file:key or --flag>: <why>``, and no traceback. Usage
and spec errors exit 2, runtime failures exit 1.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from exporters import cli_baseline, cli_tasks  # noqa: F401  (they register their commands)
from exporters.cli_common import (
    LibraryOpt,
    UsageError,
    app,
    console,
    err,
    load_persona_library,
)
from sim.errors import InputError


@app.command()
def personas(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    library: LibraryOpt = None,
) -> None:
    """List personas: id first on each line."""
    specs = load_persona_library(library)
    if as_json:
        rows = [{"id": s.id, "occupation": s.occupation, "timezone": s.timezone,
                 "locale": s.locale, "services": s.services, "description": s.description}
                for s in specs.values()]
        typer.echo(json.dumps(rows, indent=2))
        return
    if sys.stdout.isatty():
        table = Table("id", "occupation", "timezone", "services")
        for s in specs.values():
            table.add_row(s.id, s.occupation, s.timezone, str(len(s.services)))
        console().print(table)
        return
    for s in specs.values():
        typer.echo(f"{s.id}\t{s.timezone}\t{len(s.services)}\t{s.occupation}")


@app.command()
def storylines(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    library: LibraryOpt = None,
) -> None:
    """List storyline families: id, services crossed, description."""
    from scenarios.library import load_storylines

    if library is not None and not library.is_dir():
        raise UsageError("--library", f"{library} is not a directory")
    families = load_storylines(library)
    if as_json:
        rows = [{"id": f.id, "services": f.services, "min_days": f.min_days,
                 "description": f.description} for f in families.values()]
        typer.echo(json.dumps(rows, indent=2))
        return
    for f in families.values():
        typer.echo(f"{f.id}\t{','.join(f.services)}\t{f.description}")


@app.command()
def world(
    persona: Annotated[str | None, typer.Option(help="Persona id (default: the first).")] = None,
    seed: Annotated[int, typer.Option(help="Root seed of the world.")] = 0,
    days: Annotated[int, typer.Option(help="Days to simulate.")] = 100,
    start: Annotated[str, typer.Option(help="First local date, YYYY-MM-DD.")] = "2026-01-05",
    variation: Annotated[int, typer.Option(help="Persona variation (0 = canonical).")] = 0,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("out/world"),
    noise: Annotated[str, typer.Option(
        help="Noise profile (storylines, volume, ratio target); 'none': routine life only.",
    )] = "typical",
    noise_ratio: Annotated[float | None, typer.Option(
        help="Override the profile's noise-to-signal target (words).")] = None,
    storylines: Annotated[str | None, typer.Option(
        help="Storyline instances to plant: a number, or 'none'.")] = None,
    family: Annotated[list[str] | None, typer.Option(
        help="Plant only this storyline family (repeatable).")] = None,
    library: LibraryOpt = None,
) -> None:
    """Simulate one person's digital life and write it as a one-world dataset."""
    if noise_ratio is not None and not 0 <= noise_ratio <= 1000:
        raise UsageError("--noise-ratio", f"must be between 0 and 1000, got {noise_ratio}")
    if seed < 0:
        raise UsageError("--seed", f"must be non-negative, got {seed}")
    if not 1 <= days <= 3660:
        raise UsageError("--days", f"must be between 1 and 3660, got {days}")
    count = _storyline_count(storylines, days)
    if variation < 0:
        raise UsageError("--variation", f"must be non-negative, got {variation}")
    try:
        start_date = dt.date.fromisoformat(start)
    except ValueError:
        raise UsageError("--start", f"expected YYYY-MM-DD, got {start!r}") from None
    from exporters.world_dataset import write_world
    from personas.spec import window_error
    from scenarios.build import BelowFloorError
    from scenarios.library import load_storylines
    from scenarios.noise import load_profiles

    if (why := window_error(start_date, days)) is not None:
        raise UsageError("--start", why)
    specs = load_persona_library(library)
    families = load_storylines(library)  # validated even when none are planted
    profiles = load_profiles(library)
    if noise != "none" and noise not in profiles:
        raise UsageError("--noise", f"unknown profile {noise!r}; known: "
                         f"{', '.join(sorted(profiles))}, none")
    if persona is None:
        persona = next(iter(specs))
    if persona not in specs:
        raise UsageError("--persona", f"unknown persona {persona!r}; see `lifeloom personas`")
    _no_contradiction(noise, noise_ratio, count, family)
    if family:
        families = _chosen_families(families, family, specs[persona], days)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(f"{persona}: starting", total=None)
        try:
            manifest = write_world(
                out, specs[persona], seed=seed, days=days, start=start_date,
                variation=variation, families=families, storylines=count,
                noise=None if noise == "none" else profiles[noise], ratio=noise_ratio,
                progress=lambda msg: bar.update(task, description=f"{persona}: {msg}"),
            )
        except BelowFloorError as exc:
            where = "--noise-ratio" if noise_ratio is not None else f"noise profile {noise}:ratio"
            raise UsageError(where, str(exc)) from None
    events = manifest["oracle_tables"]["events"]["rows"]
    rows = sum(t["rows"] for t in manifest["tables"].values())
    err.print(f"wrote {out}: {events} events, {rows} record versions, world {manifest['world_id']}")
    ratio = manifest.get("noise_to_signal") or {}
    target, achieved = ratio.get("target"), ratio.get("achieved_words")
    if target and achieved is not None and achieved < 0.9 * target:  # 10% short
        err.print(f"note: the ratio reached {achieved:g} of the target {target:g}: routine "
                  "life ran out, even lived at its highest rates; more --days or fewer "
                  "--storylines would reach it")
    over = ratio.get("service_floors_above_target") or {}
    if over:  # reported, not refused: the world total still meets the target
        err.print("note: never-thinned records keep these services above the target: "
                  + ", ".join(f"{s} (floor {f:g})" for s, f in sorted(over.items())))
    aborted = manifest.get("storylines_aborted") or {}
    if aborted:
        err.print("note: found nothing free to pick, so did not happen: "
                  + ", ".join(f"{n} {f}" for f, n in aborted.items()))
    skipped = manifest.get("storylines_skipped") or []
    wanted = count != 0 and not (noise == "none" and count is None)
    if wanted and skipped and set(skipped) >= set(families):
        err.print(f"note: no storyline fits this world; all {len(skipped)} families were "
                  f"skipped (services the persona lacks, or more than {days} days needed)")


def _no_contradiction(noise: str, ratio: float | None, count: int | None,
                      family: list[str] | None) -> None:
    """Refuse flags that ask for opposite things, rather than silently obey one of them."""
    if noise == "none" and ratio is not None and not count:
        raise UsageError("--noise-ratio", "--noise none plants no storylines, so there is no "
                         "signal to measure a ratio against; give --storylines N or a "
                         "profile with --noise")
    if family and count == 0:
        raise UsageError("--storylines", "no storylines (--storylines none or 0) leaves "
                         f"nothing for --family {', '.join(family)} to plant")
    if family and noise == "none" and count is None:
        raise UsageError("--family", "--noise none plants no storylines unless "
                         "--storylines N says how many")


def _chosen_families(families: dict, chosen: list[str], spec, days: int) -> dict:
    """The named families, each one this persona can live through in ``days``."""
    from scenarios.picks import unfillable

    out = {}
    for fid in chosen:
        if fid not in families:
            raise UsageError("--family", f"unknown storyline family {fid!r}; see "
                             "`lifeloom storylines`")
        missing = sorted(set(families[fid].services) - set(spec.services))
        if missing:
            raise UsageError("--family", f"{fid} needs services {', '.join(missing)}, which "
                             f"persona {spec.id} does not use")
        lacking = unfillable(families[fid], spec.money.bills)
        if lacking:
            kind = {None: "", True: " on AutoPay", False: " paid by hand"}[
                families[fid].params[lacking[0]].autopay]
            raise UsageError("--family", f"{fid} takes over one of the persona's bills{kind}, "
                             f"and persona {spec.id} has none")
        if families[fid].min_days > days:
            raise UsageError("--family", f"{fid} needs at least {families[fid].min_days} days, "
                             f"got --days {days}")
        out[fid] = families[fid]
    return out


@app.command()
def stats(
    path: Annotated[Path, typer.Argument(help="A world or a benchmark dataset directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    intervals: Annotated[int, typer.Option(
        "--intervals", min=0, metavar="N",
        help="Benchmark datasets: a 95% interval for each separability AUC over N draws "
             "of each split's worlds (0: none).")] = 0,
) -> None:
    """Events and words per service and label class, noise-to-signal, storylines, probes.

    On a benchmark dataset: per split, with its worlds, environments and tasks."""
    kind = _manifest_kind(path)
    from exporters.split_stats import split_stats
    from exporters.stats import dataset_stats

    if kind == "dataset":
        _print_split_stats(split_stats(path, intervals), as_json)
        return
    if intervals:
        raise UsageError("--intervals", f"{path} is one world; intervals resample the worlds "
                         "of a benchmark dataset's splits")
    report = dataset_stats(path)
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    screen = console()
    screen.print(_service_table(report))
    ratio = report["noise_to_signal"]
    screen.print(f"noise-to-signal: target {ratio['target']}, achieved "
                 f"{ratio['achieved_words']} (words), {ratio['achieved_events']} (events)")
    screen.print(f"storylines: {report['storylines']}")


def _manifest_kind(path: Path) -> str:
    """What ``path``'s manifest says it holds, "world" or "dataset"; a missing, unreadable
    or incomplete manifest is a usage error naming the file."""
    manifest_file = path / "manifest.json"
    if not manifest_file.is_file():
        raise UsageError(str(path), "not a lifeloom dataset (no manifest.json)")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(str(manifest_file), f"unreadable: {exc}") from None
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    needs = {"world": ("world_id", "timezone", "start"),
             "dataset": ("recipe", "worlds", "splits", "tables")}
    if kind not in needs:
        raise UsageError(f"{manifest_file}:kind", f"expected world or dataset, got {kind!r}")
    if missing := [key for key in needs[kind] if key not in manifest]:
        raise UsageError(f"{manifest_file}:{missing[0]}", "required key is missing")
    return kind


def _service_table(report: dict, title: str | None = None) -> Table:
    """Events, words and signal words per service and in all, and their words ratio."""
    from exporters.stats import pooled_ratio

    table = Table("service", "events", "words", "signal words", "noise/signal", title=title)
    services = sorted(report["words"])
    for service in services:
        cls = report["classes"].get(service, {})
        ratio = report["noise_to_signal_by_service"].get(service)
        table.add_row(service, str(report["events"].get(service, 0)),
                      str(report["words"][service]),
                      str(cls.get("signal", {}).get("words", 0)),
                      "-" if ratio is None else str(ratio), end_section=service == services[-1])
    ratio = pooled_ratio(report["classes"])
    table.add_row("all", str(sum(report["events"].values())), str(sum(report["words"].values())),
                  str(sum(c["signal"]["words"] for c in report["classes"].values())),
                  "-" if ratio is None else str(ratio))
    return table


def _print_split_stats(report: dict, as_json: bool) -> None:
    from exporters.separability import LIMIT

    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    # Fits 80 columns: pairing gets its column only when some split is paired.
    paired = any(s["paired_with"] for s in report["splits"].values())
    table = Table("split", "worlds", "envs", "tasks", "reactive", "proactive", "target",
                  "achieved", *(["paired with"] if paired else []),
                  caption="noise-to-signal: target, and the median world's words ratio")
    for name, s in report["splits"].items():
        ratio = s["noise_to_signal"]
        table.add_row(name, str(s["worlds"]), str(s["environments"]), str(s["tasks"]),
                      str(s["tasks_by"]["mode"].get("reactive", 0)),
                      str(s["tasks_by"]["mode"].get("proactive", 0)),
                      ", ".join(map(str, ratio["target"])),
                      "-" if ratio["achieved_words"] is None
                      else str(ratio["achieved_words"]["median"]),
                      *([", ".join(s["paired_with"]) or "-"] if paired else []))
    screen = console()
    screen.print(table)
    for name, s in report["splits"].items():
        screen.print(_service_table(s, title=f"split {name}"))
        screen.print(f"storylines: {sum(s['storylines'].values())} in "
                     f"{len(s['storylines'])} families; conflicts: "
                     f"{sum(s['conflicts'].values())}; distractors: "
                     f"{sum(s['distractors'].values())}")
        ci = s.get("separability_ci95", {})
        over = [f"{t} {f} {v}" + (" [{}, {}]".format(*ci[t][f]) if f in ci.get(t, {}) else "")
                for t, found in sorted(s["separability"].items()) for f, v in found.items()
                if f != "signal_records" and v > LIMIT]
        screen.print(f"separability AUCs over {LIMIT}: "
                     + ("; ".join(over) or "none"))


def _storyline_count(value: str | None, days: int) -> int | None:
    """``--storylines``: a count of at most two a day (the densest a noise profile may
    ask for: 60 in 30 days), or 'none'."""
    if value is None:
        return None
    if value == "none":
        return 0
    if not value.isdigit():
        raise UsageError("--storylines", f"expected a number or 'none', got {value!r}")
    if int(value) > 2 * days:
        raise UsageError("--storylines", f"at most two a day, {2 * days} in {days} days; "
                         f"got {value}")
    return int(value)


@app.command("hash")
def hash_(
    path: Annotated[Path, typer.Argument(help="A dataset directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print the canonical content hash of every table in a dataset."""
    from exporters.dataset import dataset_hashes

    if not path.is_dir():
        raise UsageError(str(path), "not a directory")
    try:
        hashes = dataset_hashes(path)
    except FileNotFoundError as exc:
        raise UsageError(str(path), str(exc)) from None
    if as_json:
        typer.echo(json.dumps(hashes, indent=2, sort_keys=True))
        return
    for name, info in hashes.items():
        typer.echo(f"{name}\t{info['rows']}\t{info['content_hash']}")


def _fail(where: str, why: str, code: int) -> None:
    err.print(f"error: {where}: {why}", markup=False, highlight=False)
    raise SystemExit(code)


def _param_name(exc: typer.TyperException) -> str:
    param = getattr(exc, "param", None)
    if param is not None:
        opts = getattr(param, "opts", None) or [param.name or "?"]
        return max(opts, key=len) if opts[0].startswith("-") else opts[0].upper()
    name = getattr(exc, "option_name", None)
    return name or "usage"


def main() -> None:
    """Entry point of the ``lifeloom`` console script."""
    try:
        code = app(standalone_mode=False)  # Click returns typer.Exit's code here
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        _fail("interrupted", "aborted by the user", 130)
    except typer.TyperException as exc:  # Typer's parse errors: bad or unknown options
        why = exc.format_message() or "missing command; see `lifeloom --help`"
        _fail(_param_name(exc), why, 2)
    except InputError as exc:  # a spec, flag, path, run file or id to fix, from any layer
        _fail(exc.where, exc.why, 2)
    except Exception as exc:  # a runtime failure (a bug, a full disk): one clear line, exit 1
        _fail("lifeloom", f"{type(exc).__name__}: {exc}", 1)


if __name__ == "__main__":
    main()
