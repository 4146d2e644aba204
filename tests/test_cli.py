"""The command line: what users type, including every kind of bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from personas.library import SHIPPED

LIFELOOM = [sys.executable, "-m", "exporters.cli"]


def run(*args: str, env: dict | None = None, cwd: Path | None = None):
    return subprocess.run([*LIFELOOM, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=300)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_personas_lists_ids_first_without_a_header_when_piped():
    out = run("personas")
    assert out.returncode == 0
    lines = out.stdout.strip().splitlines()
    ids = [line.split("\t")[0] for line in lines]
    assert ids == sorted(p.stem for p in SHIPPED.glob("*.toml"))
    data = json.loads(run("personas", "--json").stdout)
    assert [d["id"] for d in data] == ids


def test_world_writes_the_layout_and_hash_reads_it_back(tmp_path):
    out = tmp_path / "w"
    r = run("world", "--persona", "staff_engineer", "--seed", "3", "--days", "3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("seed", "persona", "persona_instance", "start", "days", "libraries",
                "format_version", "generator_version", "tables", "oracle_tables"):
        assert key in manifest
    assert (out / "oracle" / "events").is_dir()
    for name, info in manifest["tables"].items():
        for f in info["files"]:
            assert (out / f).is_file(), name
    hashes = json.loads(run("hash", str(out), "--json").stdout)
    for name, info in manifest["tables"].items():
        assert hashes[name]["content_hash"] == info["content_hash"]
        assert hashes[name]["rows"] == info["rows"]
    assert hashes["oracle/events"]["content_hash"] == manifest["oracle_tables"]["events"][
        "content_hash"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


def write_persona(directory: Path, mutate) -> Path:
    text = (SHIPPED / "staff_engineer.toml").read_text().replace(
        'id = "staff_engineer"', 'id = "my_person"')
    path = directory / "my_person.toml"
    path.write_text(mutate(text))
    return path


BAD_SPECS = {
    "malformed TOML": (lambda t: t + "\n[volume\n", "my_person.toml", "malformed TOML"),
    "unknown key": (lambda t: t.replace("[volume]", "[volume]\nemails_per_hour = 3"),
                    "my_person.toml:volume.emails_per_hour", "unknown key"),
    "unknown service": (lambda t: t.replace('"social",', '"social", "fax",'),
                        "my_person.toml:services", "unknown service 'fax'"),
    "requires cycle": (lambda t: t + '\n[[integrations]]\nservice = "calendar"\n'
                       'requires = "todos"\n', "my_person.toml:integrations", "requires cycle"),
    "bad value": (lambda t: t.replace('start = "09:00"', 'start = "9am"'),
                  "my_person.toml:work.blocks[0].start", "HH:MM"),
    # A copy of a shipped persona, not yet renamed (the key once printed as an emoji).
    "duplicate id": (lambda t: t.replace('id = "my_person"', 'id = "staff_engineer"'),
                     "my_person.toml:id:", "defined twice"),
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_bad_persona_specs_exit_2_naming_file_and_key(case, tmp_path):
    mutate, where, why = BAD_SPECS[case]
    (tmp_path / "lib").mkdir()
    write_persona(tmp_path / "lib", mutate)
    out = tmp_path / "out"
    r = run("world", "--library", str(tmp_path / "lib"), "--persona", "my_person",
            "--days", "2", "--out", str(out))
    assert r.returncode == 2
    line = last_line(r.stderr)
    assert line.startswith("error: ")
    assert where in line, line
    assert why in line, line
    assert "Traceback" not in r.stderr
    assert not out.exists()


@pytest.mark.parametrize(("args", "flag"), [
    (["--days", "-3"], "--days"),
    (["--days", "abc"], "--days"),
    (["--seed", "-1"], "--seed"),
    (["--start", "2026-13-01"], "--start"),
    (["--start", "9998-12-30"], "--start"),
    (["--start", "0001-01-02"], "--start"),
    (["--storylines", "61", "--days", "30"], "--storylines"),
    # flags that contradict each other are refused, not half obeyed
    (["--family", "price_drop_gift", "--storylines", "none"], "--storylines"),
    (["--noise", "none", "--noise-ratio", "5"], "--noise-ratio"),
    (["--noise", "none", "--family", "price_drop_gift"], "--family"),
    (["--persona", "astronaut"], "--persona"),
    (["--library", "/nonexistent/dir"], "--library"),
    (["--bogus"], "--bogus"),
])
def test_bad_flags_exit_2_naming_the_flag(args, flag, tmp_path):
    out = tmp_path / "out"
    r = run("world", *args, "--out", str(out))
    assert r.returncode == 2
    assert last_line(r.stderr).startswith(f"error: {flag}: ")
    assert not out.exists()


def test_unwritable_out_exits_2_and_leaves_nothing(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # running as root: use a path under a regular file
            target = tmp_path / "file"
            target.write_text("x")
            out = target / "w"
        else:
            out = locked / "w"
        r = run("world", "--days", "2", "--out", str(out))
        assert r.returncode == 2
        assert last_line(r.stderr).startswith("error: --out: ")
        assert not out.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) in (["locked"], ["file", "locked"])
    finally:
        locked.chmod(0o700)


def test_out_that_is_someone_elses_directory_is_refused(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("do not delete")
    r = run("world", "--days", "2", "--out", str(out))
    assert r.returncode == 2
    assert (out / "thesis.tex").read_text() == "do not delete"


@pytest.mark.parametrize("command", [["check"], ["show", "--task", "t"]])
def test_a_wrong_dataset_path_is_named(command, tmp_path):
    r = run(command[0], str(tmp_path / "nope"), *command[1:])
    assert r.returncode == 2
    assert last_line(r.stderr).startswith(f"error: {tmp_path / 'nope'}: not a lifeloom dataset")


def test_noise_none_with_a_ratio_thins_the_storylines_it_is_given(tmp_path):
    """--noise none with --storylines N has signal to thin against: a ratio is honoured
    (it is refused only when nothing would be planted)."""
    r = run("world", "--days", "30", "--noise", "none", "--storylines", "3",
            "--noise-ratio", "5", "--out", str(tmp_path / "w"))
    assert r.returncode == 0, r.stderr
    ratio = json.loads((tmp_path / "w" / "manifest.json").read_text())["noise_to_signal"]
    assert abs(ratio["achieved_words"] - 5) < 0.5
    assert "no storyline fits" not in r.stderr


def test_no_storyline_note_only_when_storylines_were_wanted(tmp_path):
    quiet = run("world", "--days", "40", "--noise", "none", "--out", str(tmp_path / "a"))
    assert quiet.returncode == 0, quiet.stderr
    assert "no storyline fits" not in quiet.stderr
    short = run("world", "--days", "10", "--out", str(tmp_path / "b"))
    assert short.returncode == 0, short.stderr
    assert "note: no storyline fits this world" in short.stderr


def test_hash_of_a_missing_path_exits_2(tmp_path):
    r = run("hash", str(tmp_path / "nope"))
    assert r.returncode == 2
    assert last_line(r.stderr).startswith(f"error: {tmp_path / 'nope'}: ")


def test_naming_a_bill_family_for_a_persona_without_such_a_bill_exits_2(tmp_path):
    (tmp_path / "lib").mkdir()
    write_persona(tmp_path / "lib", lambda t: t.replace("autopay = false\n", ""))
    out = tmp_path / "out"
    r = run("world", "--library", str(tmp_path / "lib"), "--persona", "my_person",
            "--days", "60", "--family", "bill_before_salary", "--out", str(out))
    assert r.returncode == 2
    assert last_line(r.stderr) == ("error: --family: bill_before_salary takes over one of "
                                   "the persona's bills paid by hand, and persona my_person "
                                   "has none")
    assert not out.exists()


def test_a_target_routine_life_cannot_reach_is_noted(tmp_path):
    """Thirty days of one life hold too little routine for a ratio of 1000 even at the
    highest rates: the world is written, and stderr says how far it got."""
    r = run("world", "--days", "30", "--noise-ratio", "1000", "--out", str(tmp_path / "w"))
    assert r.returncode == 0, r.stderr
    reached = json.loads((tmp_path / "w" / "manifest.json").read_text())["noise_to_signal"]
    assert reached["achieved_words"] < 900
    assert "note: the ratio reached" in " ".join(r.stderr.split())


# Runs the CLI on its arguments in a fresh interpreter, then prints the exit code and the
# heavy packages that got imported on the way.
_IMPORT_PROBE = """
import io, sys
from exporters.cli import main
HEAVY = ("numpy", "pyarrow", "polars", "simpy", "networkx", "faker", "pydantic")
sys.argv, sys.stdout, code = ["lifeloom", *sys.argv[1:]], io.StringIO(), 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
print(code, *(m for m in HEAVY if m in sys.modules), file=sys.__stdout__)
"""


def test_help_and_bad_flags_are_answered_before_the_library_loads():
    """The command modules import the library inside their commands: the CLI module alone
    pulls in none of the heavy packages, and a bad flag fails before any is loaded."""
    for argv, code in ((["--help"], 0), (["world", "--seed", "-1"], 2),
                       (["generate", "--noise-ratio", "-2"], 2), (["world", "--days", "x"], 2)):
        r = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, *argv], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [str(code)], argv  # the exit code, and nothing heavy
    r = run("world", "--seed", "-1")
    assert last_line(r.stderr) == "error: --seed: must be non-negative, got -1"


def test_every_input_error_of_the_library_is_one_kind_and_pickles():
    """One base class for what a user can fix, wherever in the layers it is raised (the
    CLI's one handler for it names ``where`` and exits 2), and each survives pickling, as
    it must to cross from a spawned worker process."""
    import pickle

    from exporters.atomic import OutputError
    from exporters.backends import BackendError
    from exporters.loading import DatasetError
    from exporters.runs import RunError
    from personas.errors import SpecError
    from scenarios.engine import StorylineRunError
    from scenarios.tasks import TaskFamilyError
    from sim.errors import InputError
    from sim.graph import ServiceGraphError

    for kind in (OutputError, BackendError, DatasetError, RunError, SpecError,
                 StorylineRunError, TaskFamilyError, ServiceGraphError):
        exc = pickle.loads(pickle.dumps(kind("file.toml:key", "what is wrong")))
        assert isinstance(exc, InputError), kind
        assert (exc.where, exc.why, str(exc)) == ("file.toml:key", "what is wrong",
                                                  "file.toml:key: what is wrong"), kind


def test_help_reads_cleanly_for_every_command():
    """Rich help keeps a docstring's line breaks where Click would rewrap them, so a
    wrapped sentence shows up broken mid-line in ``lifeloom --help``: every paragraph of a
    command's help is one line. And a flag takes no value, so its help shows no type
    (typer 0.29 printed ``--json <bool>``)."""
    import inspect

    from typer.main import get_command
    from typer.testing import CliRunner

    from exporters.cli import app

    group = get_command(app)
    runner = CliRunner()
    assert len(group.commands) >= 11
    for name, command in [("", group), *group.commands.items()]:
        for paragraph in inspect.cleandoc(command.help or "").split("\n\n"):
            assert "\n" not in paragraph, (name, paragraph)
        shown = runner.invoke(app, [name, "--help"] if name else ["--help"])
        assert shown.exit_code == 0, (name, shown.output)
        assert "--help" in shown.output, name
        assert "<bool>" not in shown.output, name
