"""Reading tools: search, list and read for every service, and the two user tools."""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.services import CATALOGUE, TABLES
from sim.tools.base import Tool, ToolError, date_arg, object_schema, tool_record
from sim.workspace import Workspace

PAGE = 20
# What the reading tools of a service are called: ``<service><suffix>`` (``reading_tools``).
# Grading reads only their results as what the agent was shown (scenarios.grading.facts).
READING_SUFFIXES = ("_search", "_list", "_read")
WINDOW_DAYS = 30
_TOKEN = re.compile(r"\w+")
# The calendar reads by when events happen, not when they were made (an all-day event from
# the start of its day: its timed column, else its date column), and opens on today as a
# calendar app's agenda does: without since/until it shows what is on from the start of
# the user's today, soonest first, and it always reads forward. Every other table reads
# newest first. Days (since, until, today, an all-day event's) are the user's local days.
_AGENDA = {"calendar_events": ("start", "start_date")}
# The table search and list read unless told otherwise: what the app opens on (its
# timeline), not the account list or the catalogue. Others default to their only table.
OPENS_ON = {"bank": "bank_transactions", "shopping": "shop_orders",
            "price_tracker": "price_alerts", "chat": "chat_messages"}


@functools.cache
def searched_columns(table: str) -> tuple[str, ...]:
    """What search reads in a record: its text and every other string a user would type
    (names, addresses, numbers, places, statuses), not the internal ids that link records."""
    spec = TABLES[table]
    refs = set(spec.references)
    return tuple(f.name for f in spec.columns if pa.types.is_string(f.type)
                 and f.name not in refs and not f.name.endswith("_id"))


# -- reading ------------------------------------------------------------------------------


def reading_tools(service: str) -> list[Tool]:
    """``search``, ``list`` and ``read`` for one service."""
    tables = [t.name for t in CATALOGUE[service].tables]
    tables = sorted(tables, key=lambda t: t != OPENS_ON.get(service, tables[0]))
    which = {"table": {"type": "string", "enum": tables,
                       "description": f"Which kind of record (default: {tables[0]})."}}
    span = {"since": {"type": "string", "format": "date",
                      "description": "First day to include (YYYY-MM-DD, your local day)."},
            "until": {"type": "string", "format": "date",
                      "description": "Last day to include (YYYY-MM-DD, your local day)."},
            "page": {"type": "integer", "minimum": 1, "description": "Page (20 per page)."}}
    listing = {**(which if len(tables) > 1 else {}), **span}
    return [
        Tool(f"{service}_search",
             f"Search {service} records: case-insensitive, every word must appear; "
             f"{_order(tables[0])}.",
             object_schema({"query": {"type": "string", "minLength": 1}, **listing}, ["query"]),
             lambda ws, a: _find(ws, tables, a, a["query"])),
        Tool(f"{service}_list",
             f"List {service} records, {PAGE} per page (same order and window as search).",
             object_schema(listing, []),
             lambda ws, a: _find(ws, tables, a, None)),
        Tool(f"{service}_read", f"Read one {service} record by its id.",
             object_schema({"id": {"type": "string", "minLength": 1}}, ["id"]),
             lambda ws, a: _read(ws, tables, a["id"])),
    ]


def _order(table: str) -> str:
    """How search and list order a table's records and which window they read by default."""
    if table in _AGENDA:
        return ("by when events start, soonest first; from the start of today "
                "unless since/until say otherwise")
    if TABLES[table].created_column:
        return (f"newest first; records with a time are searched over the last "
                f"{WINDOW_DAYS} days unless since/until say otherwise")
    return "newest first"


def user_tools() -> list[Tool]:
    return [
        Tool("ask_user", "Ask the user a question (optionally with options to choose from).",
             object_schema({"question": {"type": "string", "minLength": 1},
                      "options": {"type": "array", "items": {"type": "string"}}},
                     ["question"]),
             lambda ws, a: {"status": "asked"}),
        Tool("notify_user", "Tell the user something, pointing at the records it is about.",
             object_schema({"title": {"type": "string", "minLength": 1},
                      "body": {"type": "string"},
                      "refs": {"type": "array", "items": {"type": "string"}}},
                     ["title", "body"]),
             lambda ws, a: {"status": "delivered"}),
    ]


def _find(ws: Workspace, tables: list[str], args: dict, query: str | None) -> dict:
    table = args.get("table", tables[0])
    agenda = table in _AGENDA
    time_column = _AGENDA[table][0] if agenda else TABLES[table].created_column
    first, last = _day(args.get("since"), "since"), _day(args.get("until"), "until")
    try:
        since = ws.day_start(first) if first is not None else None
        # until names the last day included: the window ends where the next day begins
        until = ws.day_start(last + dt.timedelta(days=1)) if last is not None else None
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 anywhere
        raise ToolError("bad_arguments", "since/until: a day out of range") from None
    if first is None and last is None:
        if agenda:
            since = ws.day_start(ws.today)
        elif TABLES[table].created_column:
            since = ws.as_of - dt.timedelta(days=WINDOW_DAYS)
    words = [w.lower() for w in _TOKEN.findall(query or "")]
    if query is not None and not words:
        raise ToolError("bad_arguments", "query: needs at least one word")
    at_column = time_column or "valid_from"
    written = ws.changed().get(table, set())
    # The snapshot's records are filtered in Arrow and stay there until a page shows them
    # (a position stands for each); those this run wrote are filtered in Python.
    found: list[tuple[Any, str, int | dict]] = list(
        _search_snapshot(ws, table, at_column, since, until, words, written))
    for rid in sorted(written):
        row = ws.get(table, rid)
        if row is None:
            continue
        at = _when(ws, table, row, at_column)
        if since is not None and (at is None or at < since):
            continue
        if until is not None and (at is None or at >= until):
            continue
        if words and not set(words) <= _words(table, row):
            continue
        found.append((at or row["valid_from"], rid, row))
    found.sort(key=lambda hit: (hit[0], hit[1]), reverse=not agenda)
    page = args.get("page", 1)
    pages = max(1, -(-len(found) // PAGE))
    chunk = [hit[2] for hit in found[(page - 1) * PAGE: page * PAGE]]
    shown = iter(ws.snapshot_rows(table, [p for p in chunk if isinstance(p, int)]))
    return {"table": table, "total": len(found), "page": page, "pages": pages,
            "results": [tool_record(next(shown) if isinstance(row, int) else row)
                        for row in chunk]}


def _search_snapshot(ws: Workspace, table: str, at_column: str, since: dt.datetime | None,
                     until: dt.datetime | None, words: list[str],
                     written: set[str]) -> list[tuple[Any, str, int]]:
    """Snapshot records in the window whose searched fields hold every word as a token
    (the same rule as :func:`_words`, in RE2: a word flanked by non-word characters),
    except those this run rewrote, as (when, record id, row position): what sorting and
    paging need, without converting every hit's row. The snapshot's hits are computed
    once per snapshot and query, and shared by every run on it (a task's solutions
    repeat their searches)."""
    key = f"search\x1f{at_column}\x1f{since}\x1f{until}\x1f{' '.join(words)}"
    hits = ws.derived(table, key, lambda base: _hits(ws, table, base, at_column, since,
                                                      until, words))
    return [hit for hit in hits if hit[1] not in written] if written else hits


def _hits(ws: Workspace, table: str, base: pa.Table, at_column: str,
          since: dt.datetime | None, until: dt.datetime | None,
          words: list[str]) -> list[tuple[Any, str, int]]:
    if not base.num_rows:
        return []
    mask = pa.array(np.ones(base.num_rows, bool))
    at = _instants(ws, table, base, at_column)
    if since is not None:
        mask = pc.and_(mask, pc.fill_null(pc.greater_equal(at, _utc(since)), False))
    if until is not None:
        mask = pc.and_(mask, pc.fill_null(pc.less(at, _utc(until)), False))
    rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    if words and len(rows):
        text = ws.derived(table, "search_text", lambda t: _search_text(table, t)).take(rows)
        for word in words:
            # A token match is a substring match too: a cheap literal pass first; then the
            # few records holding the word are judged in Python where every neighbour of
            # the word is ASCII, and by RE2 only otherwise (compiling its Unicode classes
            # costs ~2 ms a call, more than the whole search).
            hit = pc.match_substring(text, word).to_numpy(zero_copy_only=False)
            rows, text = rows[hit], text.filter(pa.array(hit))
            if not len(rows):
                break
            verdicts = [_token_in(t, word) for t in text.to_pylist()]
            unsure = [i for i, v in enumerate(verdicts) if v is None]
            if unsure:
                pattern = f"(?:^|[^\\p{{L}}\\p{{N}}_]){word}(?:$|[^\\p{{L}}\\p{{N}}_])"
                found = pc.match_substring_regex(text.take(unsure), pattern).to_pylist()
                for i, v in zip(unsure, found, strict=True):
                    verdicts[i] = v
            hit = np.array(verdicts, bool)
            rows, text = rows[hit], text.filter(pa.array(hit))
    # What sorting needs: each hit's instant (its at_column, else when it became true).
    taken = pa.array(rows)
    at, since, ids = (c.take(taken).to_pylist()
                      for c in (at, base["valid_from"], base["record_id"]))
    return [(a or v, rid, i) for a, v, rid, i in zip(at, since, ids, rows.tolist(),
                                                    strict=True)]


def _instants(ws: Workspace, table: str, base: pa.Table,
              at_column: str) -> pa.ChunkedArray | pa.Array:
    """When each record happened, as search filters and sorts it (:data:`_AGENDA`)."""
    if table not in _AGENDA:
        return base[at_column]
    timed, day = _AGENDA[table]

    def day_starts(snapshot: pa.Table) -> pa.Array:
        days = snapshot[day].to_pylist()
        starts = {d: ws.day_start(d) for d in set(days) - {None}}  # a few hundred days
        return pa.array([starts.get(d) for d in days], snapshot.schema.field(timed).type)

    return pc.coalesce(base[timed], ws.derived(table, "\x1fday_starts", day_starts))


def _when(ws: Workspace, table: str, row: dict, at_column: str) -> dt.datetime | None:
    """:func:`_instants` for one row this run wrote."""
    at = row.get(at_column)
    if at is None and table in _AGENDA and row.get(_AGENDA[table][1]) is not None:
        at = ws.day_start(row[_AGENDA[table][1]])
    return at


def _token_in(text: str, word: str) -> bool | None:
    """Whether ``word`` occurs in ``text`` flanked by non-word characters (the RE2 pattern
    of :func:`_hits`: word characters are letters, digits and ``_``); None when that
    turns on a non-ASCII neighbour, which only RE2's Unicode classes may judge."""
    unsure, n = False, len(word)
    i = text.find(word)
    while i >= 0:
        sides = [_word_char(text[i - 1]) if i else False,
                 _word_char(text[i + n]) if i + n < len(text) else False]
        if sides == [False, False]:
            return True
        if True not in sides:
            unsure = True
        i = text.find(word, i + 1)
    return None if unsure else False


def _word_char(c: str) -> bool | None:
    """Whether ``c`` is a letter, digit or ``_``; None for a non-ASCII character."""
    return (c.isalnum() or c == "_") if c.isascii() else None


def _search_text(table: str, base: pa.Table) -> pa.Array:
    """Every searched field of each record, lower-cased, one line per field (a token never
    spans two fields)."""
    columns = [pc.fill_null(base[c], "") for c in searched_columns(table)]
    if not columns:
        return pa.array([""] * base.num_rows)
    joined = pc.binary_join_element_wise(*columns, "\n") if len(columns) > 1 else columns[0]
    return pc.utf8_lower(joined).combine_chunks()


def _utc(moment: dt.datetime) -> pa.Scalar:
    return pa.scalar(moment, pa.timestamp("us", tz="UTC"))


def _words(table: str, row: dict) -> frozenset[str]:
    return frozenset(w.lower() for c in searched_columns(table)
                     for w in _TOKEN.findall(row.get(c) or ""))


def _read(ws: Workspace, tables: list[str], record_id: str) -> dict:
    for table in tables:
        row = ws.get(table, record_id)
        if row is not None:
            return {"table": table, "record": tool_record(row)}
    raise ToolError("not_found", f"no record {record_id!r} here")


def _day(value: str | None, name: str) -> dt.date | None:
    return None if value is None else date_arg(value, name)
