"""The closed expression grammar of storyline files.

Data never names a Python callable. An expression is parsed with :mod:`ast` and every node is
checked against a small allow-list before anything is evaluated: literals, names bound by the
storyline (``product``, ``deadline``...), attribute access on them (``product.price``),
arithmetic, comparisons, ``and``/``or``/``not``, conditional expressions, and calls to the
functions in :data:`FUNCTIONS` only. Dates are plain local dates, instants are aware UTC
datetimes, money is integer minor units.

The days between two dates (``sync_day - first_day``) are calendar days: they move a date,
or compare with ``days(n)``, but the grammar refuses to add them to an instant, where they
would count 24-hour days and land an hour off across a daylight-saving change. An instant
moves to another day at the same wall-clock time with ``at(day, clock_of(instant))``.

Examples::

    product.price * 85 // 100
    business_days(order.placed, promised_days)
    renewal.price > note.cancel_above
    days(3) + hours(2)
    at(business_days(sync_day, 1), clock_of(sync.start))
    short_code(carrier)
    domestic_city(user.currency, city_n)
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import numbers
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from personas.pools import sender_address, word_pools
from personas.routines.commerce import tracking_prefix
from personas.routines.messaging import short_code
from personas.routines.travel import airport_code, domestic
from sim.clock import local_to_utc


class ExpressionError(ValueError):
    """An expression is outside the grammar or cannot be evaluated."""


MAX_DAYS = 3660  # no storyline spans more than ten years; bigger numbers are mistakes
MAX_REPEAT = 10_000  # "ab" * n and [x] * n stay small


def _bounded(n: float, what: str) -> float:
    if abs(n) > MAX_DAYS * 24 * 60:
        raise ExpressionError(f"{what}({n}) is beyond any window")
    return n


class CalendarDays(dt.timedelta):
    """The days between two local dates, and what is computed from them: never added to an
    instant (see the module's docstring)."""


def _calendar(result: Any, *operands: Any) -> Any:
    """``result`` marked as calendar days when it is a duration computed from some."""
    if isinstance(result, dt.timedelta) and any(isinstance(o, CalendarDays) for o in operands):
        return CalendarDays(days=result.days, seconds=result.seconds,
                            microseconds=result.microseconds)
    return result


def _refuse_calendar_days_on_an_instant(a: Any, b: Any) -> None:
    if (isinstance(a, dt.datetime) and isinstance(b, CalendarDays)) or (
            isinstance(b, dt.datetime) and isinstance(a, CalendarDays)):
        raise ExpressionError(
            "the days between two dates count calendar days, not 24-hour ones: move an "
            "instant to another day with at(day, clock_of(instant))")


def _add(a: Any, b: Any) -> Any:
    _refuse_calendar_days_on_an_instant(a, b)
    return _calendar(a + b, a, b)


def _subtract(a: Any, b: Any) -> Any:
    _refuse_calendar_days_on_an_instant(a, b)
    if type(a) is dt.date and type(b) is dt.date:  # not datetimes, which are dates too
        return CalendarDays(days=(a - b).days)
    return _calendar(a - b, a, b)


def _multiply(a: Any, b: Any) -> Any:
    if isinstance(a, str | list) or isinstance(b, str | list):
        count = b if isinstance(a, str | list) else a
        if not isinstance(count, int) or abs(count) > MAX_REPEAT:
            raise ExpressionError(f"repeating text or lists {count!r} times is not allowed")
    return _calendar(operator.mul(a, b), a, b)


def _business_days(start: dt.date, n: int, holidays: frozenset) -> dt.date:
    if abs(n) > MAX_DAYS:
        raise ExpressionError(f"business_days(..., {n}) is beyond any window")
    day = start
    step = 1 if n >= 0 else -1
    left = abs(int(n))
    while left:
        day += dt.timedelta(days=step)
        if day.weekday() < 5 and day not in holidays:
            left -= 1
    return day


@dataclass(frozen=True)
class Context:
    """What an expression can see: bound names, the holiday calendar and the local zone.

    Instants become local calendar dates in ``tz`` (the persona's zone), never UTC dates.
    """

    names: Mapping[str, Any]
    holidays: frozenset = frozenset()
    tz: dt.tzinfo = dt.UTC
    # How a world writes money, dates and times (the persona's locale); see FORMATTERS.
    formatters: Mapping[str, Callable] = field(default_factory=dict)

    def local_date(self, value: dt.date | dt.datetime) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.astimezone(self.tz).date()
        return value

    def at(self, day: dt.date | dt.datetime, clock: str) -> dt.datetime:
        """The instant of local wall-clock ``clock`` ("HH:MM") on ``day`` (DST-aware)."""
        hour, minute = (int(x) for x in clock.split(":"))
        naive = dt.datetime.combine(self.local_date(day), dt.time(hour, minute))
        return local_to_utc(naive, self.tz)

    def clock_of(self, instant: dt.datetime) -> str:
        """The local wall-clock time ("HH:MM") of ``instant``, for :meth:`at`."""
        if not isinstance(instant, dt.datetime):
            raise ExpressionError(f"clock_of needs an instant, not {instant!r}")
        return instant.astimezone(self.tz).strftime("%H:%M")

    def functions(self) -> dict[str, Callable]:
        missing = {n: _unavailable(n) for n in FORMATTERS if n not in self.formatters}
        return {
            **missing,
            **self.formatters,
            "days": lambda n: dt.timedelta(days=_bounded(n * 1440, "days") / 1440),
            "hours": lambda n: dt.timedelta(hours=_bounded(n * 60, "hours") / 60),
            "minutes": lambda n: dt.timedelta(minutes=_bounded(n, "minutes")),
            "business_days": lambda start, n: _business_days(self.local_date(start), n,
                                                             self.holidays),
            "date": self.local_date,
            "at": self.at,
            "clock_of": self.clock_of,
            "weekday": lambda d: self.local_date(d).weekday(),  # Monday = 0
            "min": min,
            "max": max,
            "abs": abs,
            "round": lambda x, n=0: round(x, n) if n else round(x),
            "len": len,
            # What routine life calls and numbers things, so that a story's carrier, airline
            # or trip is one routine life knows: the five-digit number an organisation
            # texts from, the address it mails from, ...
            "short_code": lambda name: str(short_code([str(name)])[0]),
            "mail_address": lambda name: sender_address(str(name)),
            "tracking_prefix": lambda carrier: tracking_prefix(str(carrier)),
            "nth_carrier": lambda n: _nth(word_pools()["carriers"], n, "nth_carrier"),
            "nth_airline": lambda n: _nth(word_pools()["airlines"], n, "nth_airline"),
            "domestic_city": _domestic_city,
            "airport_code": lambda city: airport_code(str(city)),
        }


def _nth(pool: list, n: int, what: str) -> Any:
    """The ``n``-th (from 1) of ``pool``; ``what`` names it in the error."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= n <= len(pool):
        raise ExpressionError(f"{what}: there is no number {n!r}, only 1 to {len(pool)}")
    return pool[int(n) - 1]


def _domestic_city(currency: str, n: int) -> str:
    """The ``n``-th (from 1) of the cities trips in the country of ``currency`` go to
    (``personas.routines.travel.domestic``); for a currency without listed cities, where
    all its trips go abroad, the ``n``-th destination abroad."""
    cities = domestic(str(currency)) or word_pools()["destinations"]
    return _nth([city for city, _ in cities], n, f"domestic_city for {currency!r}")


class _Functions:
    """``context.functions()``, built on the first call: most expressions call none, and
    storylines evaluate thousands of them per world."""

    __slots__ = ("_context", "_table")

    def __init__(self, context: Context) -> None:
        self._context, self._table = context, None

    def __getitem__(self, name: str) -> Callable:
        if self._table is None:
            self._table = self._context.functions()
        return self._table[name]


def _unavailable(name: str) -> Callable:
    def fail(*_args):
        raise ExpressionError(f"{name}() needs a world to format for")

    return fail


FORMATTERS = frozenset({"money", "date_text", "time_text"})  # supplied by the world
FUNCTIONS = frozenset(Context({}).functions())

_BINARY = {ast.Add: _add, ast.Sub: _subtract, ast.Mult: _multiply,
           ast.FloorDiv: lambda a, b: _calendar(a // b, a, b),
           ast.Div: lambda a, b: _calendar(a / b, a, b), ast.Mod: operator.mod}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
            ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}
_UNARY = {ast.USub: lambda a: _calendar(-a, a), ast.UAdd: operator.pos, ast.Not: operator.not_}


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression; evaluate it with :meth:`evaluate`."""

    source: str
    tree: ast.Expression

    @property
    def names(self) -> set[str]:
        """The bound names it reads (so a spec can check they are defined)."""
        return set(self._names)

    @functools.cached_property
    def _names(self) -> frozenset[str]:
        # Walked once per parsed source: look-alikes ask for the names of the same few
        # expressions thousands of times per world.
        called = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        return frozenset(n.id for n in ast.walk(self.tree)
                         if isinstance(n, ast.Name) and id(n) not in called)

    def evaluate(self, context: Context) -> Any:
        try:
            return _eval(self.tree.body, context, _Functions(context))
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError, KeyError, AttributeError,
                MemoryError, RecursionError) as exc:
            raise ExpressionError(f"{self.source!r}: {type(exc).__name__}: {exc}") from None


@functools.lru_cache(maxsize=4096, typed=True)  # the same few hundred sources, often
def parse(source: str | int | float | bool) -> Expression:
    """Parse and check ``source`` against the grammar (numbers and booleans pass through)."""
    if not isinstance(source, str):
        source = repr(source)
    if len(source) > 2000:
        raise ExpressionError(f"{source[:40]!r}...: expressions are at most 2000 characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"{source!r}: not an expression ({exc.msg})") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"{source[:40]!r}: nested too deeply") from None
    for node in ast.walk(tree):
        _check(node, source)
    return Expression(source, tree)


_ALLOWED = (ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.BinOp,
            ast.UnaryOp, ast.BoolOp, ast.And, ast.Or, ast.Compare, ast.IfExp, ast.Call,
            ast.List, ast.Tuple, *_BINARY, *_COMPARE, *_UNARY)


def _check(node: ast.AST, source: str) -> None:
    if not isinstance(node, _ALLOWED):
        raise ExpressionError(f"{source!r}: {type(node).__name__} is not part of the grammar")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = getattr(node.func, "id", ast.unparse(node.func))
            raise ExpressionError(
                f"{source!r}: unknown function {name!r}; allowed: {', '.join(sorted(FUNCTIONS))}")
        if node.keywords:
            raise ExpressionError(f"{source!r}: keyword arguments are not part of the grammar")
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ExpressionError(f"{source!r}: private attribute {node.attr!r}")
    if isinstance(node, ast.Constant) and not isinstance(node.value, str | int | float | bool):
        raise ExpressionError(f"{source!r}: constant {node.value!r} is not allowed")


def _eval(node: ast.AST, ctx: Context, fns: Mapping[str, Callable] | _Functions) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ctx.names:
            return ctx.names[node.id]
        raise ExpressionError(f"unknown name {node.id!r}")
    if isinstance(node, ast.Attribute):
        base = _eval(node.value, ctx, fns)
        if isinstance(base, Mapping):
            if node.attr not in base:
                raise ExpressionError(f"{ast.unparse(node.value)} has no field {node.attr!r}")
            return base[node.attr]
        raise ExpressionError(f"{ast.unparse(node.value)} has no fields")
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, ctx, fns), _eval(node.right, ctx, fns))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, ctx, fns))
    if isinstance(node, ast.BoolOp):  # Python's semantics: the deciding operand
        value = None
        for v in node.values:
            value = _eval(v, ctx, fns)
            if bool(value) != isinstance(node.op, ast.And):
                return value
        return value
    if isinstance(node, ast.Compare):
        left = _eval(node.left, ctx, fns)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, ctx, fns)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        branch = node.body if _eval(node.test, ctx, fns) else node.orelse
        return _eval(branch, ctx, fns)
    if isinstance(node, ast.Call):
        return fns[node.func.id](*(_eval(a, ctx, fns) for a in node.args))
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(e, ctx, fns) for e in node.elts]
    raise ExpressionError(f"cannot evaluate {type(node).__name__}")
