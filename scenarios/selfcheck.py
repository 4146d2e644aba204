"""Every task verified by construction (DESIGN.md contract 5), before it is written.

A task is kept only when, replayed through the same workspace and tools an agent uses:

- the reference solution passes (and none of its calls is refused);
- doing nothing fails;
- every declared alternative passes, and every declared near miss fails;
- every answer fact is visible somewhere in the snapshot;
- every service it requires really is required: the reference writes through it, or some
  answer fact's value is visible in that service and in no other at the snapshot (and then
  the reference must have read it there);
- for a proactive task, its control heartbeat really lacks a necessary evidence record.

A failing task is dropped with the first reason that failed (``REASONS``); the caller counts
them. ``services_required`` and ``services_touched`` (every service holding evidence or
receiving a write, the number to compare with Claw-Anything's 10.1) are filled in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

import polars as pl
import pyarrow as pa

from scenarios import predicates
from scenarios.grading import Grade
from scenarios.grading.proactive import EpisodeRun, grade_episodes
from scenarios.tasks import Solution, Task, TaskFamilyError
from sim.services import TABLE_SERVICE, TABLES
from sim.tools import Toolbox
from sim.tools.reading import searched_columns
from sim.workspace import Workspace

REASONS = ("reference_tool_error", "reference_fails", "doing_nothing_passes",
           "alternative_fails", "near_miss_passes", "fact_not_visible",
           "required_service_unread", "control_sees_need")
READ_VERBS = ("search", "list", "read")


class Frames(Mapping[str, pl.DataFrame]):
    """Arrow tables read as polars frames, each converted on first use: a run's grading
    reads a few of a snapshot's tables, and each conversion costs a query's overhead.
    Tables that are the very objects of ``shared``'s come from it, so an unchanged table
    is the same frame in the initial and the final state."""

    def __init__(self, tables: Mapping[str, pa.Table], shared: Frames | None = None,
                 written: Callable[[str], tuple[list[int], pa.Table] | None] | None = None,
                 ) -> None:
        self.tables, self._shared, self._written = tables, shared, written
        self._frames: dict[str, pl.DataFrame] = {}

    def __getitem__(self, table: str) -> pl.DataFrame:
        if table not in self._frames:
            self._frames[table] = self._frame(table)
        return self._frames[table]

    def _frame(self, table: str) -> pl.DataFrame:
        shared = self._shared
        if shared is not None and table in shared:
            parts = None if self._written is None else self._written(table)
            if parts is not None:
                return self._rewritten(table, *parts)
            if shared.tables[table] is self.tables[table]:  # unchanged: the same frame
                return shared[table]
        return pl.from_arrow(self.tables[table])

    def _rewritten(self, table: str, gone: list[int], rows: pa.Table) -> pl.DataFrame:
        """A table a run wrote, from the shared frame of its snapshot: the slices between
        the rows it replaced, then its own rows (``Workspace.written``). The same frame
        as converting the final table, without converting the snapshot's rows again (a
        mail table's bodies cost far more than the handful of rows a run writes)."""
        base = self._shared[table]
        pieces, at = [], 0
        for i in [*gone, base.height]:
            if i > at:
                pieces.append(base.slice(at, i - at))
            at = i + 1
        pieces.append(pl.from_arrow(rows))
        return pl.concat(pieces, how="vertical", rechunk=False)

    def __contains__(self, table: object) -> bool:
        return table in self.tables  # without converting it

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)


@dataclass
class Snapshot:
    """One frozen snapshot, prepared once for every task that shares it."""

    tables: Mapping[str, pa.Table]
    as_of_us: int
    services: list[str]
    user: Mapping[str, str]
    money: Callable[[int], str]  # the persona's way of writing an amount
    date_text: Callable[[dt.date], str]
    timezone: str  # the user's, whose days the tools read

    def __post_init__(self) -> None:
        self.frames = Frames(self.tables)
        self._base = Workspace(self.tables, as_of_us=self.as_of_us, timezone=self.timezone)
        self._shown: dict[tuple[str, str], _Shown] = {}

    def replay(self, task: Task, solution: Solution) -> Toolbox:
        """``solution``'s calls on a fresh workspace; the toolbox holds the log and state."""
        box = Toolbox(self._base.fork(salt=task.key), self.services, user=self.user)
        for call in solution.calls:
            box.call(call["tool"], call["args"])
        return box

    def episode(self, task: Task, solution: Solution) -> EpisodeRun:
        """Replay ``solution`` on a fresh workspace: the state before and after, the log,
        and which records the run changed (so grading need not compare whole tables)."""
        if not solution.calls:
            return EpisodeRun(self.frames, self.frames, [], {})
        box = self.replay(task, solution)
        final = Frames(box.workspace.final_view(), shared=self.frames,
                       written=box.workspace.written)
        changes = {t: predicates.TableChanges(*ids) for t, ids in box.workspace.diff().items()}
        return EpisodeRun(self.frames, final, box.log, changes)

    @cached_property
    def record_ids(self) -> set[str]:
        return {rid for table in self.tables.values() if table.num_rows
                for rid in table.column("record_id").to_pylist()}

    def showing(self, kind: str, value, *, enough: int | None = None) -> set[str]:
        """Services with a record that shows ``value`` (an answer fact) at the snapshot;
        with ``enough``, stops once it has found that many (a caller asking only whether
        the fact is in no, one or several services need not scan every table)."""
        if kind == "amount":
            minor = abs(int(value))
            texts, numbers = [self.money(minor)], [minor, -minor]
        elif kind == "date":
            day = dt.date.fromisoformat(str(value)[:10])
            texts, numbers = [self.date_text(day), day.isoformat()], [day]
        else:
            texts, numbers = [str(value).lower()], []
        out = set()
        for table, arrow in self.tables.items():
            if enough is not None and len(out) >= enough:
                break
            # A service already found needs no second table.
            if TABLE_SERVICE[table] in out:
                continue
            if arrow.num_rows and self._shown_in(table, kind).shows(texts, numbers):
                out.add(TABLE_SERVICE[table])
        return out

    def _shown_in(self, table: str, kind: str) -> _Shown:
        key = (table, "text" if kind == "text" else "written")
        if key not in self._shown:
            self._shown[key] = _Shown.of(self.tables[table], self.frames, table, kind)
        return self._shown[key]


_SEP = "\x00"  # joins a table's cells into one text; a needle holding it is judged per cell


@dataclass
class _Shown:
    """What one table of a snapshot shows, prepared once and asked about every fact: its
    cells as one text (a substring of a cell is a substring of the text, and conversely
    when the needle holds no separator) and the values of its amount or date columns."""

    raw: list[str]  # the cells, as the table holds them (nulls as "")
    lower: bool  # matched lower-cased by str.lower (all ASCII); else ``raw`` is as matched
    values: set
    joined: str | None = None  # _SEP.join(raw), when already made

    @classmethod
    def of(cls, arrow: pa.Table, frames: Frames, table: str, kind: str) -> _Shown:
        spec = TABLES[table]
        # Text facts (a name, a new phone number) may sit in any field search reads, and
        # are matched ignoring case (lower-cased by polars, as the check always was);
        # amounts and dates are written out in the readable text.
        if kind == "text":
            columns = searched_columns(table)
            cells = [v or "" for c in columns for v in arrow[c].to_pylist()]
            joined = _SEP.join(cells)
            if joined.isascii():  # ASCII lower-cases alike everywhere, joined or cell by cell
                return cls(cells, True, set(), joined)
            lowered = frames[table].select(pl.col(c).fill_null("").str.to_lowercase()
                                           for c in columns)
            return cls([v for c in columns for v in lowered[c].to_list()], False, set())
        cells = [v or "" for c in spec.text_columns for v in arrow[c].to_pylist()]
        numeric = [f.name for f in spec.columns if f.name.endswith("_minor")
                   or pa.types.is_date32(f.type)]
        values = {v for c in numeric for v in arrow[c].to_pylist() if v is not None}
        return cls(cells, False, values)

    @cached_property
    def cells(self) -> list[str]:
        return [v.lower() for v in self.raw] if self.lower else self.raw

    @cached_property
    def text(self) -> str:
        joined = _SEP.join(self.raw) if self.joined is None else self.joined
        return joined.lower() if self.lower else joined

    def shows(self, texts: list[str], numbers: list) -> bool:
        for t in texts:
            if _SEP in t:
                if any(t in cell for cell in self.cells):
                    return True
            elif self.raw and t in self.text:
                return True
        return any(n in self.values for n in numbers)


def service_of(tool: str) -> str | None:
    """The service a ``<service>_<verb>`` tool belongs to (None for the user tools)."""
    return tool.rsplit("_", 1)[0] if tool not in ("ask_user", "notify_user") else None


def run(task: Task, solution: Solution, snaps: list[Snapshot]) -> tuple[Grade, list[dict]]:
    """Replay ``solution`` in its episode (``snaps``: one per episode of ``task``) and grade
    the whole run; returns the grade and the log of the episode it acted in."""
    runs = [snap.episode(task, solution if i == solution.episode else _NOTHING)
            for i, snap in enumerate(snaps)]
    return grade_episodes(task.oracle, task.need, runs, solution.reply), list(
        runs[solution.episode].log)


_NOTHING = Solution("nothing", (), "")


def self_check(task: Task, snaps: list[Snapshot]) -> str | None:
    """None when ``task`` is sound (and its service lists are filled in), else the reason
    it must be dropped. ``snaps`` holds the snapshot of each of its episodes. A predicate
    the family wrote wrong is not a drop but an error in the family's data
    (:class:`TaskFamilyError`)."""
    try:
        return _self_check(task, snaps)
    except predicates.PredicateError as exc:
        raise TaskFamilyError(f"{task.family.where}:{exc.path}", exc.why) from None


def _self_check(task: Task, snaps: list[Snapshot]) -> str | None:
    result, log = run(task, task.reference, snaps)
    if any("error" in (entry.get("result") or {}) for entry in log):
        return "reference_tool_error"
    if not result.passed:
        return "reference_fails"
    if run(task, _NOTHING, snaps)[0].passed:
        return "doing_nothing_passes"
    if any(not run(task, alt, snaps)[0].passed for alt in task.alternatives):
        return "alternative_fails"
    if any(run(task, miss, snaps)[0].passed for miss in task.near_misses):
        return "near_miss_passes"
    if task.need is not None:
        control = next(i for i, e in enumerate(task.episodes) if e.phase == "control")
        if all(rid in snaps[control].record_ids for _t, rid in task.evidence):
            return "control_sees_need"
    snap = snaps[task.reference.episode]
    written = {service_of(c["tool"]) for c in task.reference.calls
               if c["tool"].rsplit("_", 1)[-1] not in READ_VERBS} - {None}
    read = {service_of(e["tool"]) for e in log
            if str(e["tool"]).rsplit("_", 1)[-1] in READ_VERBS}
    unique = set()
    for fact in task.oracle.facts:
        where = snap.showing(fact.kind, fact.value, enough=2)  # none, one, or several
        if not where:
            return "fact_not_visible"
        if len(where) == 1:
            unique |= where
    if unique - read:
        return "required_service_unread"
    task.services_required = sorted(written | unique)
    evidence = {TABLE_SERVICE[table] for table, _ in task.evidence}
    task.services_touched = sorted(evidence | written | unique)
    return None

