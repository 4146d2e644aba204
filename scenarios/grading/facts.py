"""Answer facts: finding amounts, dates and phrases in a reply, and in what the agent saw.

A fact is matched after normalisation: amounts as minor units (``$1,234.50``, ``1234.50 $``
and ``EUR 1 234,50`` are all 123450; a number is an amount only with a currency sign or
code, or with two decimals); dates in ISO form, English long form (``5 March
2026``, ``Thursday, March 5``) or a numeric day/month form only when it cannot be read
two ways (``25/3`` but not ``5/3``); a clock time (a text fact such as ``4:00 pm`` or
``16:00``) as minutes after midnight, in either form; other text ignoring case, accents
and runs of whitespace. An ISO instant (``2026-03-11T16:00:00-05:00``, as tools give
times, or the same moment with any other offset) states the local date and time it denotes
in the user's zone: a reply that pastes a record's instant says when that record is. A fact
is *grounded* when its value appeared in what a reading tool (search, list, read) returned
during the run: an agent must have looked it up, not guessed it. An error message, or what
a write gave back (the agent's own words, echoed), grounds nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from scenarios.predicates import normalise
from sim.tools.reading import READING_SUFFIXES

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
MONTHS |= {m[:3]: i for m, i in list(MONTHS.items())} | {"sept": 9}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_NUMBER = r"(\d{1,3}(?:[ ,\u202f]\d{3})+|\d+)(?:[.,](\d{1,2}))?(?![\d])"
# An amount has a currency sign or code before or after it, or two decimals: a bare "5" is
# a day, a count or a time far more often than money.
_CURRENCY = r"(?:[$€£¥₹]|\b[A-Z]{3}\b)"
_AMOUNT = re.compile(rf"{_CURRENCY}\s?{_NUMBER}|(?<![\w.,]){_NUMBER}\s?{_CURRENCY}"
                     r"|(?<![\w.,:/-])(\d{1,3}(?:[ ,\u202f]\d{3})+|\d+)[.,](\d{2})(?![\d])")
_INSTANT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\.?"
                        r"(?:,?\s+(\d{4}))?\b", re.I)
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b",
                        re.I)
_NUMERIC = re.compile(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.](\d{4}))?\b")
_CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})(?::\d{2})?(?:\s*([ap])\.?m\b\.?)?", re.I)


def amounts_in(text: str) -> set[int]:
    """Every amount written in ``text``, in minor units (two decimals)."""
    return set(_amounts(text))


# Remembered per text: a self-check grounds each of a task's facts in the same run's tool
# results, and grades every solution against one reference text many times.
@functools.lru_cache(maxsize=64)
def _amounts(text: str) -> frozenset[int]:
    out = set()
    for match in _AMOUNT.finditer(text):
        groups = list(match.groups())
        whole, cents = next((groups[i], groups[i + 1]) for i in (0, 2, 4) if groups[i])
        digits = re.sub(r"[ ,\u202f]", "", whole)
        out.add(int(digits) * 100 + int((cents or "0").ljust(2, "0")))
    return frozenset(out)


def dates_in(text: str, year: int, tz: str | None = None) -> set[dt.date]:
    """Every date written in ``text``; ``year`` completes dates written without one. With
    a zone ``tz``, an ISO instant gives its local date there (else its own date)."""
    return set(_dates(text, year, tz))


@functools.lru_cache(maxsize=64)  # as _amounts
def _dates(text: str, year: int, tz: str | None) -> frozenset[dt.date]:
    out: set[dt.date] = set()
    if tz is not None:
        out |= {moment.date() for moment in _local_instants(text, tz)}
        text = _INSTANT.sub(" ", text)

    def add(y: int | str | None, m: int, d: int | str) -> None:
        with contextlib.suppress(ValueError):
            out.add(dt.date(int(y) if y else year, m, int(d)))

    for y, m, d in _ISO.findall(text):
        add(y, int(m), d)
    for d, month, y in _DAY_MONTH.findall(text):
        add(y, MONTHS[month.lower()], d)
    for month, d, y in _MONTH_DAY.findall(text):
        add(y, MONTHS[month.lower()], d)
    for a, b, y in _NUMERIC.findall(text):
        a_, b_ = int(a), int(b)
        if a_ > 12 >= b_:  # only one reading: day/month
            add(y, b_, a_)
        elif b_ > 12 >= a_:  # month/day
            add(y, a_, b_)
        elif a_ == b_:
            add(y, a_, a_)
    return frozenset(out)


def clock_minutes(value: str) -> int | None:
    """Minutes after midnight when ``value`` is a clock time alone ("4:00 pm", "16:00")."""
    found = _CLOCK.fullmatch(value.strip())
    return None if found is None else _minutes(*found.groups())


def times_in(text: str, tz: str) -> set[int]:
    """Every clock time written in ``text`` (12- or 24-hour form), and the local time of
    every ISO instant in zone ``tz``, as minutes after midnight."""
    out = {m.hour * 60 + m.minute for m in _local_instants(text, tz)}
    out |= {_minutes(*found.groups()) for found in _CLOCK.finditer(_INSTANT.sub(" ", text))}
    return out - {None}


def _minutes(hour: str, minute: str, half: str | None) -> int | None:
    h, m = int(hour), int(minute)
    if m > 59 or h > (12 if half else 23):
        return None
    if half:
        h = h % 12 + (12 if half.lower() == "p" else 0)
    return h * 60 + m


def _local_instants(text: str, tz: str) -> list[dt.datetime]:
    zone = ZoneInfo(tz)
    out = []
    for match in _INSTANT.finditer(text):
        with contextlib.suppress(ValueError):
            out.append(dt.datetime.fromisoformat(match.group(0)).astimezone(zone))
    return out


def stated(kind: str, value: Any, reply: str, year: int, tz: str = "UTC") -> bool:
    """Whether ``reply`` states ``value`` (an amount in minor units, an ISO date, a clock
    time, a text); instants count as local dates and times in zone ``tz``."""
    if kind == "amount":
        return int(value) in amounts_in(reply)
    if kind == "date":
        return dt.date.fromisoformat(str(value)[:10]) in dates_in(reply, year, tz)
    minutes = clock_minutes(str(value))
    if minutes is not None:
        return minutes in times_in(reply, tz)
    return normalise(str(value)) in normalise(reply)


def seen(log: Iterable[dict]) -> str:
    """Everything the reading tools showed the agent in a run's ``log`` (``Toolbox.log``
    entries), as one searchable text."""
    return "\n".join(json.dumps(e.get("result"), ensure_ascii=False, sort_keys=True,
                                default=str)
                     for e in log if str(e.get("tool", "")).endswith(READING_SUFFIXES)
                     and not (isinstance(e.get("result"), dict) and "error" in e["result"]))


def grounded(kind: str, value: Any, shown: str, year: int, tz: str = "UTC") -> bool:
    """Whether ``value`` appeared in what the agent was shown (``seen``); dates and times
    count in any written form and as the local date or time of an instant in the user's
    zone ``tz``. An instant shows only its local date there, whatever offset it is written
    with (a meeting at 18:00 UTC may be tomorrow where the user is)."""
    if kind == "amount":
        minor = int(value)
        return (re.search(rf"_minor\": -?{abs(minor)}\b", shown) is not None
                or minor in amounts_in(shown))
    if kind == "date":
        return dt.date.fromisoformat(str(value)[:10]) in dates_in(shown, year, tz)
    minutes = clock_minutes(str(value))
    if minutes is not None and minutes in times_in(shown, tz):
        return True
    return normalise(str(value)) in normalise(shown)
