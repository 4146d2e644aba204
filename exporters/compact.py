"""From world shards to the dataset layout: one file per table and split, many worlds each.

Shards are streamed into ``<group>/<table>/<split>.parquet`` in ``world_id`` order, one
world at a time, so memory stays flat however many worlds a split has. A table's content
hash combines its worlds' hashes (:func:`combined_hash`): each world is hashed once, in
the worker that made it, and ``check`` re-hashes a file a world at a time
(:func:`iter_worlds`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from exporters.world_shard import shard_dir
from sim.services import TABLE_SERVICE

COMBINED_VERSION = "lifeloom-tables-v1"


def combined_hash(world_hashes: Iterable[tuple[str, str, str]]) -> str:
    """The hash of a table from its worlds' (split, world_id, content hash) triples, in
    any order: equal exactly when every world's rows are."""
    h = hashlib.sha256(COMBINED_VERSION.encode())
    for split, wid, digest in sorted(world_hashes):
        h.update(f"{split}\t{wid}\t{digest}\n".encode())
    return "sha256:" + h.hexdigest()


def iter_worlds(path: Path) -> Iterator[tuple[str, pa.Table]]:
    """(world_id, rows) of a compacted file, a world at a time (worlds are contiguous)."""
    pf = pq.ParquetFile(path)
    current, parts = None, []
    for i in range(pf.num_row_groups):
        group = pf.read_row_group(i)
        for wid in pc.unique(group["world_id"]).to_pylist():
            rows = group.filter(pc.equal(group["world_id"], wid))
            if wid != current and parts:
                yield current, pa.concat_tables(parts)
                parts = []
            current = wid
            parts.append(rows)
    if parts:
        yield current, pa.concat_tables(parts)


def compact(partial: Path, records: list[dict], dest: Path) -> dict:
    """Write every table of every split under ``dest``; return the manifest's listing."""
    by_split: dict[str, list[dict]] = {}
    for r in sorted(records, key=lambda r: (r["split"], r["world_id"])):
        by_split.setdefault(r["split"], []).append(r)
    keys = sorted({key for r in records for key in r["tables"]})
    listing: dict[str, dict] = {"tables": {}, "oracle_tables": {}, "history_tables": {}}
    for key in keys:
        files, rows, triples = [], 0, []
        for split, worlds in by_split.items():
            rel = f"{key}/{split}.parquet"
            _concatenate([shard_dir(partial, split, r["index"]) / _shard_file(key)
                          for r in worlds], dest / rel)
            files.append(rel)
            rows += sum(r["tables"][key]["rows"] for r in worlds)
            triples += [(split, r["world_id"], r["tables"][key]["content_hash"]) for r in worlds]
        entry = {"files": files, "rows": rows, "content_hash": combined_hash(triples)}
        group, _, name = key.partition("/")
        if group == "tasks":
            listing["tables"]["tasks"] = entry
        elif group == "data":
            if name in TABLE_SERVICE:
                entry["service"] = TABLE_SERVICE[name]
            listing["tables"][name] = entry
        else:
            listing[f"{group}_tables"][name] = entry
    return listing


def _shard_file(key: str) -> str:
    return f"{key.replace('/', '__')}.parquet"


def _concatenate(sources: list[Path], target: Path) -> None:
    """Stream ``sources`` (one schema; zero-row ones too) into one zstd Parquet file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    schema = pq.read_schema(sources[0])
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        for source in sources:
            table = pq.read_table(source, schema=schema)
            if table.num_rows:  # a zero-row row group trips readers that size batches by it
                writer.write_table(table)
