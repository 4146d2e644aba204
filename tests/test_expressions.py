import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from personas.pools import word_pools
from scenarios.expressions import Context, ExpressionError, parse

CTX = Context(
    {"product": {"price": 1999, "title": "Kettle"}, "n": 5,
     "placed": dt.datetime(2026, 1, 9, 10, tzinfo=dt.UTC)},
    holidays=frozenset({dt.date(2026, 1, 12)}),
)


@pytest.mark.parametrize(("source", "value"), [
    ("product.price * 85 // 100", 1699),
    ("product.price > 1000 and n in [3, 5]", True),
    ("n if n > 3 else 0", 5),
    ("-product.price", -1999),
    ("min(n, 3) + max(1, 2)", 5),
    ("placed + days(3) + hours(2)", dt.datetime(2026, 1, 12, 12, tzinfo=dt.UTC)),
    ("business_days(placed, n)", dt.date(2026, 1, 19)),  # skips the weekend and the holiday
    ("date(placed)", dt.date(2026, 1, 9)),
    ("'Kettle' == product.title", True),
])
def test_grammar_evaluates(source, value):
    assert parse(source).evaluate(CTX) == value


@pytest.mark.parametrize("source", [
    '__import__("os")', "product.__class__", 'open("x")', "lambda: 1", "[x for x in n]",
    "product[0]", "n.bit_length()", "f(n=1)", "x := 1", "{1: 2}", "b'bytes'",
])
def test_anything_outside_the_grammar_is_refused_before_evaluation(source):
    with pytest.raises(ExpressionError):
        parse(source)


def test_unknown_names_and_fields_are_errors_not_crashes():
    with pytest.raises(ExpressionError, match="unknown name"):
        parse("missing + 1").evaluate(CTX)
    with pytest.raises(ExpressionError, match="no field"):
        parse("product.colour").evaluate(CTX)
    with pytest.raises(ExpressionError, match="has no fields"):
        parse("n.real").evaluate(CTX)


@given(start=st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 1)), n=st.integers(0, 30))
def test_business_days_land_on_working_days_n_working_days_later(start, n):
    end = parse("business_days(s, n)").evaluate(Context({"s": start, "n": n}))
    assert end >= start
    if n:
        assert end.weekday() < 5
    working = sum(1 for k in range(1, (end - start).days + 1)
                  if (start + dt.timedelta(days=k)).weekday() < 5)
    assert working == n


def test_dates_of_instants_are_local_and_at_builds_local_times():
    la = __import__("zoneinfo").ZoneInfo("America/Los_Angeles")
    evening = dt.datetime(2026, 1, 21, 5, 30, tzinfo=dt.UTC)  # 21:30 on Jan 20 in LA
    ctx = Context({"t": evening}, tz=la)
    assert parse("date(t)").evaluate(ctx) == dt.date(2026, 1, 20)
    assert parse("business_days(t, 1)").evaluate(ctx) == dt.date(2026, 1, 21)
    assert parse("at(date(t), '14:30')").evaluate(ctx) == dt.datetime(
        2026, 1, 20, 22, 30, tzinfo=dt.UTC)
    spring = parse("at(d, '02:30')").evaluate(Context({"d": dt.date(2026, 3, 8)}, tz=la))
    assert spring.astimezone(la).hour == 3  # the gap shifts forward


def test_days_between_dates_never_move_an_instant_and_clock_of_keeps_the_wall_clock():
    la = __import__("zoneinfo").ZoneInfo("America/Los_Angeles")
    # 10:30 in LA the Friday before daylight saving begins (Sunday 8 March 2026)
    before = dt.datetime(2026, 3, 6, 18, 30, tzinfo=dt.UTC)
    ctx = Context({"t": before, "d0": dt.date(2026, 3, 6), "d1": dt.date(2026, 3, 9)}, tz=la)
    for source in ["t + (d1 - d0)", "t - (d1 - d0)", "(d1 - d0) + t",
                   "t + ((d1 - d0) + hours(8))", "t + (d1 - d0) * 2", "t - -(d1 - d0)",
                   "t + (d1 - d0) // 2"]:
        with pytest.raises(ExpressionError, match="calendar days"):
            parse(source).evaluate(ctx)
    # Between dates, and against durations, they are ordinary days.
    assert parse("d0 + (d1 - d0)").evaluate(ctx) == dt.date(2026, 3, 9)
    assert parse("d1 - d0 >= days(3) and d1 - d0 < days(4)").evaluate(ctx) is True
    assert parse("t + days(3)").evaluate(ctx) == before + dt.timedelta(days=3)  # 72 hours
    # at(day, clock_of(t)) is the same wall-clock time on the other side of the change.
    assert parse("clock_of(t)").evaluate(ctx) == "10:30"
    monday = parse("at(d1, clock_of(t))").evaluate(ctx)
    assert monday.astimezone(la).strftime("%a %H:%M") == "Mon 10:30"
    assert monday - before == dt.timedelta(days=3, hours=-1)
    with pytest.raises(ExpressionError, match="clock_of needs an instant"):
        parse("clock_of(d0)").evaluate(ctx)


def test_and_or_return_the_deciding_operand():
    assert parse("n > 3 and 'big' or 'small'").evaluate(CTX) == "big"
    assert parse("n > 9 and 'big' or 'small'").evaluate(CTX) == "small"


@pytest.mark.parametrize("source", ["days(10**9)", "business_days(placed, 10**6)",
                                    "'ab' * 10**9", "[0] * 10**9", "minutes(10**12)"])
def test_runaway_sizes_are_refused_not_run(source):
    with pytest.raises(ExpressionError):
        parse(source).evaluate(CTX)


def test_deep_nesting_is_an_expression_error():
    with pytest.raises(ExpressionError):
        parse("(" * 400 + "1" + ")" * 400)


def test_a_name_bound_like_a_function_is_still_read():
    """A storyline may call a parameter ``days``: as a name it is a binding the spec must
    define, not the function."""
    assert parse("days + days(1)").names == {"days"}
    assert parse("nth_carrier(carrier_n)").names == {"carrier_n"}


def test_trip_cities_are_numbered_from_one_with_their_airports():
    """Storylines number the cities a country's trips go to from 1, as routine trips know
    them, each with its airport code; a currency without listed cities gets the destinations
    abroad instead, so a user's persona with any currency can live a travel story."""
    for currency, cities in word_pools()["domestic_cities"].items():
        ctx = Context({"cur": currency})
        named = [parse(f"domestic_city(cur, {n})").evaluate(ctx) for n in (1, 2, 3, 4)]
        assert named == [city for city, _ in cities]
        assert [parse(f"airport_code('{c}')").evaluate(ctx) for c in named] == \
            [code for _, code in cities]
    abroad = [city for city, _ in word_pools()["destinations"]]
    assert parse("domestic_city('JPY', 2)").evaluate(CTX) == abroad[1]


@pytest.mark.parametrize("source", [
    "nth_carrier(0)", "nth_airline(6)", "nth_carrier(1.5)", "nth_carrier(True)",
    "domestic_city('NZD', 5)", "airport_code('Atlantis')",
])
def test_a_lookup_out_of_range_is_an_expression_error(source):
    with pytest.raises(ExpressionError):
        parse(source).evaluate(CTX)
