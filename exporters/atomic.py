"""Writing a directory so that it appears whole or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from sim.errors import InputError


class OutputError(InputError):
    """The output location cannot be used; ``where`` names the option it came from."""


def has_manifest(out: Path) -> bool:
    """Whether ``out`` holds a lifeloom manifest (whose dataset it is is judged later)."""
    return (out / "manifest.json").exists()


def only_listed(kind: str) -> Callable[[Path], bool]:
    """A test that ``out`` holds what lifeloom wrote as a ``kind`` ("world") and nothing
    else: a manifest of that kind and only the files its tables list. A dataset, or a
    world someone has added notes to, is not one to replace."""

    def ours(out: Path) -> bool:
        try:
            manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if not isinstance(manifest, dict) or manifest.get("kind") != kind:
            return False
        listed = {"manifest.json"}
        for key in ("tables", "oracle_tables"):
            tables = manifest.get(key, {})
            if not isinstance(tables, dict):
                return False  # not a manifest lifeloom wrote
            for table in tables.values():
                files = table.get("files", []) if isinstance(table, dict) else None
                if not isinstance(files, list):
                    return False
                listed.update(map(str, files))
        return all(path.relative_to(out).as_posix() in listed
                   for path in out.rglob("*") if not path.is_dir())

    return ours


def check_output(out: Path, *, flag: str = "--out",
                 ours: Callable[[Path], bool] = has_manifest) -> None:
    """Refuse an output location before any work is done (not at the end of a long run):
    an existing non-empty directory must be ``ours`` to be replaced."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(flag, f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not ours(out):
        raise OutputError(flag, f"{out} is a non-empty directory that lifeloom did not write "
                                f"(or holds more than it wrote); choose another {flag}")
    existing = out.absolute().parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(flag, f"cannot write to {out}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(flag, f"cannot write to {out}: {existing} is not writable")


@contextlib.contextmanager
def atomic_directory(out: Path, *, flag: str = "--out",
                     ours: Callable[[Path], bool] = has_manifest) -> Iterator[Path]:
    """Yield a temporary sibling of ``out`` to fill; on success it is renamed to ``out``.

    On any failure the temporary directory is removed and ``out`` is untouched. An existing
    ``out`` is replaced only if it is ``ours``; anything else is refused rather than
    overwritten.
    """
    out = Path(out)
    check_output(out, flag=flag, ours=ours)
    parent = out.absolute().parent
    created = parent
    while not created.parent.exists():  # the top-most directory this call will create
        created = created.parent
    created_any = not parent.exists()
    tmp = parent / f".{out.name}.tmp-{os.getpid()}"
    old = parent / f".{out.name}.old-{os.getpid()}"

    def undo() -> None:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():  # put the previous dataset back
            old.rename(out)
        if created_any:
            shutil.rmtree(created, ignore_errors=True)

    try:
        parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    except OSError as exc:
        undo()
        raise OutputError(flag, f"cannot write to {parent}: {exc.strerror}") from None
    try:
        yield tmp
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        undo()
        raise
