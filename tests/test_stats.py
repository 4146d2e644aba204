"""``lifeloom stats``: stable keys, and counts that agree with the files."""

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

LIFELOOM = [sys.executable, "-m", "exporters.cli"]


def test_stats_reports_classes_ratio_and_storylines(tmp_path):
    out = tmp_path / "w"
    r = subprocess.run([*LIFELOOM, "world", "--persona", "staff_engineer", "--days", "40",
                        "--noise", "typical", "--storylines", "4", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    s = subprocess.run([*LIFELOOM, "stats", str(out), "--json"], capture_output=True,
                       text=True, timeout=300)
    assert s.returncode == 0, s.stderr
    report = json.loads(s.stdout)
    for key in ("events", "words", "classes", "noise_to_signal", "storylines", "conflicts",
                "services_per_storyline", "storyline_span_days", "diversity", "separability"):
        assert key in report
    assert set(report["noise_to_signal"]) == {"target", "achieved_words", "achieved_events"}
    labels = pq.read_table(next((out / "oracle" / "labels").glob("*.parquet"))).to_pylist()
    signal_records = sum(c["signal"]["records"] for c in report["classes"].values())
    assert signal_records == sum(1 for lab in labels if lab["class"] == "signal")
    assert sum(report["storylines"].values()) == 4
    # Counted from oracle/storylines, as for a dataset's splits: the manifest agrees.
    assert report["storylines"] == json.loads((out / "manifest.json").read_text())["storylines"]
    for probes in report["separability"].values():
        assert probes["signal_records"] >= 10
        assert all(0.5 <= v <= 1.0 for k, v in probes.items() if k != "signal_records")
    # Intervals resample a dataset's worlds: one world has nothing to resample.
    one = subprocess.run([*LIFELOOM, "stats", str(out), "--intervals", "20"],
                         capture_output=True, text=True, timeout=300)
    assert one.returncode == 2
    assert one.stderr.strip().splitlines()[-1].startswith("error: --intervals: ")


@pytest.mark.parametrize(("text", "key", "why"), [
    ("{}", ":kind", "expected world or dataset"),
    ("not json", "", "unreadable"),
    ('{"kind": "world", "timezone": "UTC", "start": "2026-01-05"}', ":world_id",
     "required key is missing"),
    ('{"kind": "dataset", "recipe": {"id": "x"}, "worlds": [], "splits": {}}', ":tables",
     "required key is missing"),
])
def test_stats_of_a_malformed_manifest_exits_2_naming_it(tmp_path, text, key, why):
    (tmp_path / "manifest.json").write_text(text)
    r = subprocess.run([*LIFELOOM, "stats", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(
        f"error: {tmp_path / 'manifest.json'}{key}: {why}")


def test_stats_of_a_non_dataset_exits_2(tmp_path):
    r = subprocess.run([*LIFELOOM, "stats", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path}: ")
