"""Writing a directory so that it appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


class OutputError(OSError):
    """The output location cannot be used; ``flag`` names the option it came from."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(message)
        self.flag = flag


def check_output(out: Path, *, flag: str = "--out", replaceable: str = "manifest.json") -> None:
    """Refuse an output location before any work is done (not at the end of a long run)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(flag, f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / replaceable).exists():
        raise OutputError(flag, f"{out} is a non-empty directory that lifeloom did not write")
    existing = out.absolute().parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(flag, f"cannot write to {out}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(flag, f"cannot write to {out}: {existing} is not writable")


@contextlib.contextmanager
def atomic_directory(out: Path, *, flag: str = "--out",
                     replaceable: str = "manifest.json") -> Iterator[Path]:
    """Yield a temporary sibling of ``out`` to fill; on success it is renamed to ``out``.

    On any failure the temporary directory is removed and ``out`` is untouched. An existing
    ``out`` is replaced only if it holds ``replaceable`` (it is one of ours); anything else
    is refused rather than overwritten.
    """
    out = Path(out)
    check_output(out, flag=flag, replaceable=replaceable)
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
