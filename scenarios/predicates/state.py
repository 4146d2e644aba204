"""Reading a final (or initial) state from disk, and comparing records across states.

Layout of a state directory, one table per name::

    <dir>/<table>.parquet            a table in one file, or
    <dir>/<table>/*.parquet          a table split over files (read in name order, concatenated)
    <dir>/manifest.json              optional; its ``tables`` (an object keyed by table name,
                                     or a list of names) declares tables that exist even when
                                     no file holds them: those load as empty tables

Anything else (other files, folders without Parquet files) is ignored. A table present in
both forms is refused as ambiguous. A state holds one row per record (a snapshot, not a
history): ``created``, ``changed`` and ``unchanged`` identify records by ``record_id``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from .errors import PredicateError

# Columns that change whenever a record is rewritten, even when nothing a user sees did;
# valid_to is only in history-shaped states, but is bookkeeping all the same.
BOOKKEEPING = frozenset({"version", "valid_from", "valid_to", "snapshot_id"})

State = Mapping[str, pl.DataFrame]


@dataclass(frozen=True)
class TableChanges:
    """How one table of a final state differs from the initial state, for a caller that
    already knows (a copy-on-write workspace does): record ids new in the final state,
    present in both with different content (every column but the bookkeeping ones), and
    gone from it. With it, ``created``/``changed`` nodes and ``unchanged`` need no joins
    over whole tables, and give the same verdicts."""

    created: frozenset[str] = frozenset()
    changed: frozenset[str] = frozenset()
    deleted: frozenset[str] = frozenset()


# Per table; a table not listed holds the same records with the same content in both states.
Changes = Mapping[str, TableChanges]


def load_state(directory: str | os.PathLike[str]) -> dict[str, pl.DataFrame]:
    """Every table of the state directory as a polars DataFrame (layout: module docstring)."""
    root = Path(directory)
    if not root.is_dir():
        raise PredicateError(str(root), "state directory does not exist")
    files: dict[str, list[Path]] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".parquet":
            found = [entry]
        elif entry.is_dir():
            found = sorted(p for p in entry.glob("*.parquet") if not p.name.startswith("."))
        else:
            continue
        name = entry.stem if entry.is_file() else entry.name
        if found and name in files:
            raise PredicateError(str(entry), f"table {name} is both a file and a folder")
        if found:
            files[name] = found
    state = {name: _read(paths) for name, paths in files.items()}
    for name in _declared(root):
        state.setdefault(name, pl.DataFrame())
    return state


def as_state(state: State | str | os.PathLike[str]) -> State:
    """Accept a loaded state or a directory holding one."""
    return load_state(state) if isinstance(state, str | os.PathLike) else state


def table(state: State, name: str, path: str, which: str) -> pl.DataFrame:
    """The named table, or an error naming the node that asked for it."""
    if name not in state:
        raise PredicateError(path, f"no table {name!r} in the {which} state")
    return state[name]


def contents(frame: pl.DataFrame, name: str, path: str,
             ids: Collection[str] | None = None) -> dict[str, dict[str, Any]]:
    """record_id -> the record's content (every column but the bookkeeping ones), for the
    records among ``ids`` only when given (the table is refused all the same)."""
    if frame.height == 0:
        return {}
    if "record_id" not in frame.columns:
        raise PredicateError(path, f"table {name} has no record_id column")
    columns = [c for c in frame.columns if c not in BOOKKEEPING]
    if ids is not None:  # a few records of thousands: convert only their rows
        every = record_ids(frame, name, path)
        frame = frame.gather([i for i, rid in enumerate(every) if rid in ids])
    out: dict[str, dict[str, Any]] = {}
    for row in frame.select(columns).rows(named=True):
        rid = row["record_id"]
        if rid in out:
            raise PredicateError(path, f"table {name} has several rows for record {rid}; a "
                                       "state holds one version per record")
        out[rid] = row
    return out


def record_ids(frame: pl.DataFrame, name: str, path: str) -> list[str]:
    """The record ids of ``frame`` in row order, refused exactly as :func:`contents` refuses
    them (no record_id column, several rows for one record), without reading the rows."""
    if frame.height == 0:
        return []
    if "record_id" not in frame.columns:
        raise PredicateError(path, f"table {name} has no record_id column")
    ids = frame["record_id"].to_list()
    if len(set(ids)) != len(ids):
        known: set[str] = set()
        for rid in ids:
            if rid in known:
                raise PredicateError(path, f"table {name} has several rows for record {rid}; "
                                           "a state holds one version per record")
            known.add(rid)
    return ids


def rows_with_ids(frame: pl.DataFrame, ids: frozenset[str]) -> pl.DataFrame:
    """The rows of ``frame`` whose record id is in ``ids``, in the frame's order (a gather:
    a filter would cost a query plan, and ``ids`` is a run's handful of records)."""
    if not ids or frame.height == 0:
        return frame.clear()
    positions = [i for i, rid in enumerate(frame["record_id"].to_list()) if rid in ids]
    return frame.gather(positions) if positions else frame.clear()


def new_or_changed(final: pl.DataFrame, initial: pl.DataFrame, *, created: bool) -> pl.DataFrame:
    """Rows of ``final`` that are new (``created``) or that changed content since
    ``initial``, found with joins rather than row by row: states hold thousands of rows."""
    if final.height == 0 or (final is initial and not created):
        return final.clear()
    ids = initial["record_id"] if initial.height else pl.Series([], dtype=pl.String)
    known = pl.col("record_id").is_in(ids.implode())
    if created:
        return final.clear() if final is initial else final.filter(~known)
    if initial.height == 0 or final.equals(initial):
        return final.clear()
    columns = [c for c in final.columns if c not in BOOKKEEPING and c in initial.columns]
    same = final.join(initial.select(columns).unique(), on=columns, how="semi",
                      nulls_equal=True)
    return final.filter(known & ~pl.col("record_id").is_in(same["record_id"].implode()))


def _read(paths: list[Path]) -> pl.DataFrame:
    try:
        return pl.concat([pl.read_parquet(p) for p in paths], how="vertical")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise PredicateError(str(paths[0].parent), f"cannot read table: {exc}") from None


def _declared(root: Path) -> list[str]:
    manifest = root / "manifest.json"
    if not manifest.is_file():
        return []
    try:
        tables = json.loads(manifest.read_text(encoding="utf-8")).get("tables", [])
    except (OSError, ValueError, AttributeError) as exc:
        raise PredicateError(str(manifest), f"unreadable manifest: {exc}") from None
    if isinstance(tables, Mapping | list) and all(isinstance(t, str) for t in tables):
        return sorted(tables)
    raise PredicateError(str(manifest), "`tables` must be an object or a list of names")
