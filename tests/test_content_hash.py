import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from exporters.content_hash import content_hash, read_table_dir

ROWS = st.lists(
    st.tuples(st.text(max_size=8), st.one_of(st.none(), st.integers(-10**12, 10**12)),
              st.booleans()),
    min_size=0, max_size=40,
)


def make(rows, *, large=False):
    names, nums, flags = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.table({
        "name": pa.array(list(names), pa.large_string() if large else pa.string()),
        "n": pa.array(list(nums), pa.int64()),
        "flag": pa.array(list(flags), pa.bool_()),
    })


@given(rows=ROWS, seed=st.randoms())
def test_hash_ignores_row_order_chunking_and_string_flavour(rows, seed):
    table = make(rows)
    shuffled = list(rows)
    seed.shuffle(shuffled)
    other = make(shuffled, large=True)
    if other.num_rows > 1:
        half = other.num_rows // 2
        other = pa.concat_tables([other.slice(0, half), other.slice(half)])
    assert content_hash(table) == content_hash(other)
    assert content_hash(table) == content_hash(table.select(["flag", "n", "name"]))


@given(rows=ROWS.filter(bool), data=st.data())
def test_hash_changes_when_any_value_changes(rows, data):
    i = data.draw(st.integers(0, len(rows) - 1))
    name, n, flag = rows[i]
    changed = list(rows)
    changed[i] = (name, n, not flag)
    assert content_hash(make(rows)) != content_hash(make(changed))
    dropped = rows[:i] + rows[i + 1:]
    assert content_hash(make(rows)) != content_hash(make(dropped))


def test_hash_distinguishes_null_from_zero_and_empty_string():
    a = pa.table({"x": pa.array([None, 1], pa.int64()), "s": ["", "a"]})
    b = pa.table({"x": pa.array([0, 1], pa.int64()), "s": ["", "a"]})
    c = pa.table({"x": pa.array([None, 1], pa.int64()), "s": pa.array([None, "a"])})
    assert len({content_hash(a), content_hash(b), content_hash(c)}) == 3


def test_parquet_round_trip_and_file_layout_keep_the_hash(tmp_path):
    ts = pa.array([dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)] * 3, pa.timestamp("us", tz="UTC"))
    table = pa.table({"ts": ts, "d": pa.array([dt.date(2026, 1, 5)] * 3), "v": [1, 2, 3]})
    pq.write_table(table.slice(0, 1), tmp_path / "a.parquet", compression="zstd")
    pq.write_table(table.slice(1), tmp_path / "b.parquet", compression="snappy")
    assert content_hash(read_table_dir(tmp_path)) == content_hash(table)
