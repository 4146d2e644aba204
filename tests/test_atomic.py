"""Writes are all or nothing, and a failed rewrite keeps the previous dataset."""

import json

import pytest

import exporters.world_dataset as wd
from exporters.atomic import OutputError
from tests.conftest import PERSONAS


class DiskFullError(RuntimeError):
    pass


def failing_after(n: int, real):
    calls = {"n": 0}

    def write(table, path):
        calls["n"] += 1
        if calls["n"] > n:
            raise DiskFullError("disk full")
        return real(table, path)

    return write


def test_a_failure_mid_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(wd, "_write", failing_after(3, wd._write))
    out = tmp_path / "nested" / "w"
    with pytest.raises(DiskFullError):
        wd.write_world(out, PERSONAS["staff_engineer"], days=2)
    assert not (tmp_path / "nested").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rewrite_keeps_the_previous_dataset(tmp_path, monkeypatch):
    out = tmp_path / "w"
    first = wd.write_world(out, PERSONAS["staff_engineer"], seed=1, days=2)
    monkeypatch.setattr(wd, "_write", failing_after(3, wd._write))
    with pytest.raises(DiskFullError):
        wd.write_world(out, PERSONAS["staff_engineer"], seed=2, days=2)
    assert json.loads((out / "manifest.json").read_text())["world_id"] == first["world_id"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


def test_a_successful_rewrite_replaces_the_dataset(tmp_path):
    out = tmp_path / "w"
    wd.write_world(out, PERSONAS["staff_engineer"], seed=1, days=2)
    second = wd.write_world(out, PERSONAS["staff_engineer"], seed=2, days=2)
    assert json.loads((out / "manifest.json").read_text())["world_id"] == second["world_id"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


@pytest.mark.parametrize("added", ["notes.txt", "history/todos/mine.parquet"])
def test_a_world_with_files_added_to_it_is_not_replaced(tmp_path, added):
    """Rewriting a world would delete what someone put beside its tables."""
    out = tmp_path / "w"
    first = wd.write_world(out, PERSONAS["staff_engineer"], seed=1, days=2)
    (out / added).write_text("mine")
    with pytest.raises(OutputError, match="more than it wrote"):
        wd.write_world(out, PERSONAS["staff_engineer"], seed=2, days=2)
    assert (out / added).read_text() == "mine"
    assert json.loads((out / "manifest.json").read_text())["world_id"] == first["world_id"]


def test_a_benchmark_dataset_is_not_replaced_by_a_world(tmp_path):
    out = tmp_path / "smoke"
    (out / "tasks").mkdir(parents=True)
    (out / "manifest.json").write_text(json.dumps({"kind": "dataset", "tables": {}}))
    (out / "tasks" / "tasks.jsonl").write_text("{}\n")
    with pytest.raises(OutputError):
        wd.write_world(out, PERSONAS["staff_engineer"], days=2)
    assert (out / "tasks" / "tasks.jsonl").exists()


@pytest.mark.parametrize("manifest", ['{"kind": "world", "tables": ["x"]}',
                                      '{"kind": "world", "tables": {"t": {"files": "x"}}}',
                                      "[1, 2]"])
def test_a_directory_with_a_manifest_lifeloom_did_not_write_is_refused(tmp_path, manifest):
    out = tmp_path / "w"
    out.mkdir()
    (out / "manifest.json").write_text(manifest)
    with pytest.raises(OutputError):
        wd.write_world(out, PERSONAS["staff_engineer"], days=2)
    assert (out / "manifest.json").read_text() == manifest
