"""The workspace agent tools act on: a frozen snapshot plus a copy-on-write delta.

The snapshot's Arrow tables are shared and never modified; every write lands in a small
per-workspace delta (record id -> new row, or a deletion), so replaying thousands of tasks
against one snapshot costs only what each run changes. Reads see the snapshot through the
delta. ``final_state`` exports the result in the snapshot schemas, so the grader and any
harness read the agent's final state exactly as they read the snapshot.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from sim.clock import local_to_utc, zone
from sim.services import TABLES
from sim.snapshot import snapshot_schema

_DELETED = None  # a delta entry meaning "this record is gone"
_BOOKKEEPING = ("version", "valid_from")  # rewritten by every write, whatever it changes


class WorkspaceError(LookupError):
    """A write the workspace refuses (an unknown table, record or column)."""


@dataclass
class _Base:
    """The shared, read-only snapshot, a lazily built record-id index per table, and rows
    converted to Python only when asked for (most runs read a handful of records)."""

    tables: Mapping[str, pa.Table]
    index: dict[str, dict[str, int]] = field(default_factory=dict)
    rows: dict[str, list[dict]] = field(default_factory=dict)
    one: dict[tuple[str, int], dict] = field(default_factory=dict)
    derived: dict[tuple[str, str], Any] = field(default_factory=dict)
    id_list: dict[str, list[str]] = field(default_factory=dict)

    def row_ids(self, table: str) -> list[str]:
        """The record id of each snapshot row, in row order."""
        if table not in self.id_list:
            base = self.tables.get(table)
            self.id_list[table] = base.column("record_id").to_pylist() if base is not None else []
        return self.id_list[table]

    def ids(self, table: str) -> dict[str, int]:
        if table not in self.index:
            self.index[table] = {rid: i for i, rid in enumerate(self.row_ids(table))}
        return self.index[table]

    def row(self, table: str, record_id: str) -> dict | None:
        i = self.ids(table).get(record_id)
        if i is None:
            return None
        if table in self.rows:
            return self.rows[table][i]
        if (table, i) not in self.one:
            self.one[(table, i)] = self.tables[table].slice(i, 1).to_pylist()[0]
        return self.one[(table, i)]

    def positions(self, table: str, column: str) -> dict[Any, list[int]]:
        """Value -> the rows holding it in ``column``, in order (one column read, not the
        table: a tool looking up a phone's messages needs a handful of its rows)."""
        key = (table, "\x1fpositions\x1f" + column)
        if key not in self.derived:
            base = self.tables.get(table)
            index: dict[Any, list[int]] = {}
            values = base.column(column).to_pylist() if base is not None else []
            for i, value in enumerate(values):
                index.setdefault(value, []).append(i)
            self.derived[key] = index
        return self.derived[key]

    def rows_at(self, table: str, positions: list[int]) -> list[dict]:
        """The rows at ``positions``, converted in one batch unless already converted."""
        if table in self.rows:
            return [self.rows[table][i] for i in positions]
        missing = [i for i in positions if (table, i) not in self.one]
        if missing:
            rows = self.tables[table].take(missing).to_pylist()
            self.one.update(((table, i), row) for i, row in zip(missing, rows, strict=True))
        return [self.one[(table, i)] for i in positions]

    def table_rows(self, table: str) -> list[dict]:
        if table not in self.rows:
            self.rows[table] = self.tables[table].to_pylist() if table in self.tables else []
        return self.rows[table]


class Workspace:
    """One run's view of a snapshot: reads see the snapshot through this run's writes."""

    def __init__(self, tables: Mapping[str, pa.Table], *, as_of_us: int,
                 salt: str = "", timezone: str = "UTC") -> None:
        unknown = sorted(set(tables) - set(TABLES))
        if unknown:
            raise WorkspaceError(f"unknown table {unknown[0]!r}")
        self._base = _Base(tables)
        self.as_of_us = as_of_us
        zone(timezone)  # an unknown zone is refused here, not at the first tool call
        self._timezone = timezone  # the user's: days the tools take and give are theirs
        self._salt = salt
        self._delta: dict[str, dict[str, dict | None]] = {}
        self._created = 0

    def fork(self, salt: str = "") -> Workspace:
        """A fresh workspace on the same snapshot (shares it; no copy)."""
        other = Workspace.__new__(Workspace)
        other._base, other.as_of_us, other._salt = self._base, self.as_of_us, salt
        other._timezone = self._timezone
        other._delta, other._created = {}, 0
        return other

    # -- reading ------------------------------------------------------------------------

    def get(self, table: str, record_id: str) -> dict | None:
        """The record as this run sees it, or None."""
        self._check(table)
        delta = self._delta.get(table, {})
        if record_id in delta:
            row = delta[record_id]
            return None if row is _DELETED else dict(row)
        row = self._base.row(table, record_id)
        return None if row is None else dict(row)

    def rows(self, table: str) -> Iterator[dict]:
        """Every record as this run sees it: the snapshot's order, then new ones."""
        self._check(table)
        delta = self._delta.get(table, {})
        for row in self._base.table_rows(table):
            rid = row["record_id"]
            if rid in delta:
                if delta[rid] is not _DELETED:
                    yield dict(delta[rid])
            else:
                yield dict(row)
        known = self._base.ids(table)
        for rid, row in delta.items():
            if rid not in known and row is not _DELETED:
                yield dict(row)

    def rows_where(self, table: str, column: str, value: Any) -> list[dict]:
        """The records as this run sees them whose ``column`` equals ``value``, in the
        order of :meth:`rows` (without reading every record of the table)."""
        self._check(table)
        delta = self._delta.get(table, {})
        known = self._base.ids(table)
        row_ids = self._base.row_ids(table)
        at = [i for i in self._base.positions(table, column).get(value, [])
              if row_ids[i] not in delta]
        found = list(zip(at, self._base.rows_at(table, at), strict=True))
        # Records this run rewrote match (or not) as rewritten, at their snapshot place.
        found += [(known[rid], row) for rid, row in delta.items()
                  if rid in known and row is not _DELETED and row[column] == value]
        found.sort(key=lambda pair: pair[0])
        return [dict(row) for _, row in found] + [
            dict(row) for rid, row in delta.items()
            if rid not in known and row is not _DELETED and row[column] == value]

    def snapshot_table(self, table: str) -> pa.Table:
        """The snapshot's own version of ``table`` (without this run's writes), for tools
        that filter it column-wise; :meth:`changed` says which records to read instead."""
        self._check(table)
        base = self._base.tables.get(table)
        return base if base is not None else snapshot_schema(table).empty_table()

    def snapshot_rows(self, table: str, positions: list[int]) -> list[dict]:
        """Rows of :meth:`snapshot_table` by position, converted once per snapshot and
        shared by its forks: treat them as read-only."""
        self._check(table)
        return self._base.rows_at(table, positions)

    def derived(self, table: str, name: str, derive: Callable[[pa.Table], Any]) -> Any:
        """``derive(snapshot table)``, computed once per snapshot and shared by its forks
        (a search index, say). It sees the snapshot only: this run's writes are in
        :meth:`changed`."""
        key = (table, name)
        if key not in self._base.derived:
            self._base.derived[key] = derive(self.snapshot_table(table))
        return self._base.derived[key]

    # -- writing ------------------------------------------------------------------------

    def new_id(self, table: str) -> str:
        """A fresh record id for ``table`` (deterministic: salt, table and count)."""
        self._check(table)
        self._created += 1
        digest = hashlib.blake2b(f"{self._salt}\x1f{table}\x1f{self._created}".encode(),
                                 digest_size=8).hexdigest()
        return TABLES[table].id_prefix + digest

    def insert(self, table: str, values: Mapping[str, Any], *,
               record_id: str | None = None) -> dict:
        """A new record (with a fresh id unless ``record_id`` comes from :meth:`new_id`);
        columns not given are null."""
        self._check(table)
        self._columns(table, values)
        row = dict.fromkeys(snapshot_schema(table).names)
        row |= dict(values)
        row |= {"record_id": record_id or self.new_id(table), "version": 1,
                "valid_from": self.as_of}
        self._delta.setdefault(table, {})[row["record_id"]] = row
        return dict(row)

    def update(self, table: str, record_id: str, changes: Mapping[str, Any]) -> dict:
        """A new version of an existing record."""
        row = self.get(table, record_id)
        if row is None:
            raise WorkspaceError(f"{table} has no record {record_id!r}")
        self._columns(table, changes)
        row |= dict(changes)
        row["version"] += 1
        row["valid_from"] = self.as_of
        self._delta.setdefault(table, {})[record_id] = row
        return dict(row)

    def delete(self, table: str, record_id: str) -> None:
        if self.get(table, record_id) is None:
            raise WorkspaceError(f"{table} has no record {record_id!r}")
        self._delta.setdefault(table, {})[record_id] = _DELETED

    # -- exporting ----------------------------------------------------------------------

    def changed(self) -> dict[str, set[str]]:
        """Record ids this run created, changed or deleted, per table."""
        return {t: set(d) for t, d in self._delta.items() if d}

    def diff(self) -> dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]]:
        """Per table this run wrote: the record ids it created, changed and deleted, as the
        final state shows them. A record is changed when a content column (every column
        but ``version`` and ``valid_from``) differs from the snapshot's once stored in the
        snapshot schema (so rewriting a value with an equal one changes nothing)."""
        out = {}
        for table, delta in self._delta.items():
            if not delta:
                continue
            known, schema = self._base.ids(table), snapshot_schema(table)
            content = [n for n in schema.names if n not in _BOOKKEEPING]
            stored = pa.Table.from_pylist([r for r in delta.values() if r is not _DELETED],
                                          schema=schema).to_pylist()
            created = {row["record_id"] for row in stored if row["record_id"] not in known}
            changed = {row["record_id"] for row in stored if row["record_id"] in known
                       and _differs(row, self._base.row(table, row["record_id"]), content)}
            deleted = {rid for rid, row in delta.items() if row is _DELETED and rid in known}
            out[table] = (frozenset(created), frozenset(changed), frozenset(deleted))
        return out

    def final_state(self) -> dict[str, pa.Table]:
        """Every table as this run leaves it, in the snapshot schemas (records this run
        wrote come after the snapshot's; row order carries no meaning)."""
        return dict(self.final_view())

    def final_view(self) -> Mapping[str, pa.Table]:
        """:meth:`final_state`, each table built when first read (a grader reads few of
        them); read it once the run is over."""
        return _FinalView(self)

    def written(self, table: str) -> tuple[list[int], pa.Table] | None:
        """The two parts of ``final_state()[table]`` for a table this run wrote and the
        snapshot has: the snapshot's row positions its writes replace or delete (sorted),
        and its rows as the snapshot schema stores them; the final table is the snapshot
        without those positions, then those rows. None for any other table (a reader
        then takes the final table whole)."""
        base, delta = self._base.tables.get(table), self._delta.get(table)
        if base is None or not delta:
            return None
        index = self._base.ids(table)
        if len(index) != base.num_rows:  # repeated record ids: only the filter is exact
            return None
        gone = sorted(index[rid] for rid in delta if rid in index)
        return gone, pa.Table.from_pylist([r for r in delta.values() if r is not _DELETED],
                                          schema=snapshot_schema(table))

    def _final_table(self, table: str) -> pa.Table:
        schema = snapshot_schema(table)
        base = self._base.tables.get(table)
        if table not in self._delta:
            return base if base is not None else schema.empty_table()
        # The snapshot's untouched rows stay Arrow; only this run's rows are built.
        delta = self._delta[table]
        kept = schema.empty_table() if base is None else base.filter(pc.invert(pc.is_in(
            base["record_id"], value_set=pa.array(sorted(delta), pa.string())))).cast(schema)
        new = pa.Table.from_pylist([r for r in delta.values() if r is not _DELETED],
                                   schema=schema)
        return pa.concat_tables([kept, new])

    # -- checks -------------------------------------------------------------------------

    def _check(self, table: str) -> None:
        if table not in TABLES:
            raise WorkspaceError(f"unknown table {table!r}")

    def _columns(self, table: str, values: Mapping[str, Any]) -> None:
        own = {f.name for f in TABLES[table].columns}
        unknown = sorted(set(values) - own)
        if unknown:
            raise WorkspaceError(f"{table} has no column {unknown[0]!r}")

    @property
    def as_of(self) -> dt.datetime:
        """The snapshot instant, when every write of this run happens."""
        return dt.datetime.fromtimestamp(self.as_of_us / 1_000_000, dt.UTC)

    @property
    def timezone(self) -> str:
        """The user's IANA zone, fixed for the snapshot (its derived data depend on it)."""
        return self._timezone

    @property
    def zone(self) -> ZoneInfo:
        """The user's zone itself, from the pinned tzdata."""
        return zone(self._timezone)

    @property
    def today(self) -> dt.date:
        """The user's calendar day at the snapshot instant."""
        return self.as_of.astimezone(self.zone).date()

    def day_start(self, day: dt.date) -> dt.datetime:
        """When the user's ``day`` begins, as a UTC instant. Dates are the user's local
        days everywhere (in the world's records and in tool arguments).
        Raises OverflowError for a day whose start lies outside what datetime holds."""
        return local_to_utc(dt.datetime.combine(day, dt.time()), self.zone)


def _differs(row: Mapping[str, Any], before: Mapping[str, Any], columns: list[str]) -> bool:
    return any(row[c] != before[c] for c in columns)


class _FinalView(Mapping[str, pa.Table]):
    """A workspace's final state, table by table on demand."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._names = sorted(set(workspace._base.tables) | set(workspace._delta))
        self._known = set(self._names)
        self._built: dict[str, pa.Table] = {}

    def __getitem__(self, table: str) -> pa.Table:
        if table not in self._built:
            if table not in self._known:
                raise KeyError(table)
            self._built[table] = self._workspace._final_table(table)
        return self._built[table]

    def __contains__(self, table: object) -> bool:
        return table in self._known

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
