"""The canonical content hash of a table: the one way lifeloom proves determinism.

Two tables hash equal exactly when they hold the same multiset of rows under the same column
names, whatever the row order, the chunking, the Parquet writer or the string/large-string
flavour. Columns are taken in name order and cast to canonical types (timestamps to int64
microseconds UTC, dates to int32 days, strings to large strings, lists to their JSON
text); rows are sorted on every
column; then each column's validity, values and string offsets are fed to SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HASH_VERSION = "lifeloom-content-v1"


def _canonical_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(t):
        return pa.int64()
    if pa.types.is_date32(t) or pa.types.is_date64(t):
        return pa.int32()
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return pa.large_string()
    if pa.types.is_boolean(t):
        return pa.int8()
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_floating(t):
        return pa.float64()
    raise TypeError(f"no canonical form for column type {t}")


def canonical(table: pa.Table) -> pa.Table:
    """Columns in name order with canonical types, rows sorted on every column."""
    names = sorted(table.column_names)
    cols = []
    for name in names:
        col = table[name]
        t = col.type
        if pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
        if pa.types.is_timestamp(t):
            col = col.cast(pa.timestamp("us", tz="UTC") if t.tz else pa.timestamp("us"))
            col = col.cast(pa.int64())
        elif pa.types.is_date(t):
            col = col.cast(pa.date32()).cast(pa.int32())
        elif pa.types.is_list(t) or pa.types.is_large_list(t):  # as JSON text, order kept
            col = pa.array([None if v is None else json.dumps(v, ensure_ascii=False)
                            for v in col.to_pylist()], pa.large_string())
        else:
            col = col.cast(_canonical_type(t))
        cols.append(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
    out = pa.Table.from_arrays(cols, names=names)
    if out.num_rows and names:
        order = pc.sort_indices(out, [(n, "ascending", "at_end") for n in names])
        out = out.take(order)
    return out.combine_chunks()


def content_hash(table: pa.Table) -> str:
    """``sha256:<hex>`` of the table's contents (see module docstring)."""
    t = canonical(table)
    h = hashlib.sha256(HASH_VERSION.encode())
    h.update(repr([(f.name, str(f.type)) for f in t.schema]).encode())
    h.update(t.num_rows.to_bytes(8, "little"))
    for name in t.column_names:
        arr = t[name].combine_chunks() if t.num_rows else pa.array([], t[name].type)
        h.update(np.asarray(arr.is_valid(), dtype=np.uint8).tobytes())
        if pa.types.is_large_string(arr.type):
            offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
                arr.offset : arr.offset + len(arr) + 1] if len(arr) else np.zeros(1, np.int64)
            h.update((offsets - offsets[0]).astype("<i8").tobytes())
            data = arr.buffers()[2]
            if data is not None and len(arr):
                h.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
        else:
            values = arr.fill_null(0).to_numpy(zero_copy_only=False)
            h.update(np.ascontiguousarray(values).astype(values.dtype.newbyteorder("<"))
                     .tobytes())
    return "sha256:" + h.hexdigest()


def read_table_dir(path: Path) -> pa.Table:
    """All Parquet files under ``path`` as one table (schemas must agree)."""
    files = sorted(path.rglob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no Parquet files under {path}")
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="none")
