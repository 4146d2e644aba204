"""Reading a generated dataset back: its tasks, a task's snapshot, workspace and tools.

Only files are read (the manifest, Parquet tables): nothing is simulated again, so a
harness grades the very snapshots the dataset ships. Files hold many worlds sorted by
``world_id``, so reading one snapshot skips every other world's row groups and opening
one task stays cheap in a big set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from exporters.task_tables import need_of, oracle_of, solutions_of
from scenarios.grading import Oracle
from scenarios.grading.proactive import Need
from scenarios.tasks import Solution
from sim.errors import InputError
from sim.snapshot import snapshot_schema
from sim.tools import Toolbox
from sim.workspace import Workspace


class DatasetError(InputError):
    """The path is not a usable dataset, or lacks what was asked of it; ``where`` names
    the file, table or id."""


class Dataset:
    """A generated dataset on disk (see :mod:`exporters.generate` for the layout)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        manifest = self.path / "manifest.json"
        if not manifest.is_file():
            raise DatasetError(str(self.path), "not a lifeloom dataset (no manifest.json)")
        try:
            self.manifest = json.loads(manifest.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DatasetError(str(manifest), f"unreadable: {exc}") from None
        if self.manifest.get("kind") != "dataset":
            raise DatasetError(str(manifest), "a one-world dataset has no tasks; use "
                                              "`lifeloom generate` to make a benchmark")
        self._tasks: pl.DataFrame | None = None
        self._gold: dict[str, dict] | None = None

    # -- tables ---------------------------------------------------------------------------

    def _files(self, group: str, name: str) -> list[Path]:
        entry = self.manifest.get(group, {}).get(name)
        if entry is None:
            raise DatasetError(f"{self.path}/manifest.json", f"lists no table {name!r}")
        files = [self.path / f for f in entry["files"]]
        for f in files:
            if not f.is_file():  # a partial copy, or a file removed by hand
                raise DatasetError(str(f), "listed in manifest.json but missing")
        return files

    @property
    def has_oracle(self) -> bool:
        return (self.path / "oracle").is_dir()

    @property
    def tasks(self) -> pl.DataFrame:
        if self._tasks is None:
            self._tasks = pl.concat([pl.read_parquet(f) for f in
                                     self._files("tables", "tasks")]).sort("task_id")
        return self._tasks

    def task(self, task_id: str) -> dict[str, Any]:
        rows = self.tasks.filter(pl.col("task_id") == task_id)
        if not rows.height:
            raise DatasetError("--task", f"no task {task_id!r} in {self.path}")
        return rows.row(0, named=True)

    def episodes(self, task_id: str) -> list[str]:
        """The snapshot ids a task runs on, in order: one for a reactive task, one per
        heartbeat for a proactive task. Agent writes never carry from one to the next."""
        return list(self.task(task_id)["episodes"])

    def gold(self, task_id: str) -> dict[str, Any]:
        if not self.has_oracle:
            raise DatasetError(str(self.path), "has no oracle/ (shipped without answers)")
        if self._gold is None:
            table = pa.concat_tables([pq.read_table(f)
                                      for f in self._files("oracle_tables", "gold")])
            self._gold = {row["task_id"]: row for row in table.to_pylist()}
        if task_id not in self._gold:
            raise DatasetError("--task", f"no gold row for task {task_id!r}")
        return self._gold[task_id]

    def oracle(self, task_id: str) -> Oracle:
        return oracle_of(self.gold(task_id))

    def need(self, task_id: str) -> Need | None:
        """A proactive task's need (heartbeat phases, its records): None when reactive."""
        return need_of(self.gold(task_id))

    def solutions(self, task_id: str, which: str) -> list[Solution]:
        return solutions_of(self.gold(task_id), which)

    def snapshot_info(self, snapshot_id: str) -> dict[str, Any]:
        split, world = self.locate(snapshot_id)
        table = pq.read_table(self._split_file("snapshots", split),
                              filters=[("world_id", "=", world),
                                       ("snapshot_id", "=", snapshot_id)])
        return table.to_pylist()[0]

    def snapshot(self, snapshot_id: str) -> dict[str, pa.Table]:
        """Every agent-visible table of one snapshot, in snapshot schemas."""
        split, world = self.locate(snapshot_id)
        out = {}
        for name in self.manifest["tables"]:
            if name in ("tasks", "snapshots"):
                continue
            # Files are sorted by world: row-group statistics skip every other world.
            table = pq.read_table(self._split_file(name, split),
                                  filters=[("world_id", "=", world),
                                           ("snapshot_id", "=", snapshot_id)])
            out[name] = table.select(snapshot_schema(name).names).cast(snapshot_schema(name))
        return out

    def locate(self, snapshot_id: str) -> tuple[str, str]:
        """The split and world a snapshot belongs to (from the tasks, or the snapshots)."""
        rows = self.tasks.filter(pl.col("snapshot_id") == snapshot_id)
        if rows.height:
            return rows["split"][0], rows["world_id"][0]
        for f in self._files("tables", "snapshots"):
            table = pq.read_table(f, columns=["snapshot_id", "world_id", "split"],
                                  filters=[("snapshot_id", "=", snapshot_id)])
            if table.num_rows:
                return table["split"][0].as_py(), table["world_id"][0].as_py()
        raise DatasetError("snapshot_id", f"no snapshot {snapshot_id!r} in {self.path}")

    def _split_file(self, name: str, split: str) -> Path:
        for f in self._files("tables", name):
            if f.stem == split:
                return f
        raise DatasetError(f"data/{name}", f"no file for split {split!r}")

    # -- running ----------------------------------------------------------------------

    def toolbox(self, task_id: str, *, snapshot_id: str | None = None,
                salt: str = "run") -> Toolbox:
        """A fresh workspace on one of the task's episodes (the first by default) and the
        tools of its world."""
        episodes = self.episodes(task_id)
        sid = snapshot_id if snapshot_id is not None else episodes[0]
        if sid not in episodes:
            raise DatasetError("snapshot_id", f"{sid!r} is not an episode of task {task_id!r}")
        info = self.snapshot_info(sid)
        as_of_us = int(info["as_of"].timestamp() * 1_000_000)
        workspace = Workspace(self.snapshot(sid), as_of_us=as_of_us,
                              salt=f"{task_id}/{sid}/{salt}", timezone=info["timezone"])
        user = {"name": info["user_name"], "email": info["user_email"],
                "work_email": info["user_work_email"], "phone": info["user_phone"],
                "handle": info["user_handle"]}
        return Toolbox(workspace, info["services"], user=user, snapshot_id=sid)


def load(path: Path | str) -> Dataset:
    """Open a dataset written by ``lifeloom generate``."""
    return Dataset(path)
