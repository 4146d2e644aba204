"""Reading a dataset back: its tables and their content hashes."""

from __future__ import annotations

from pathlib import Path

from exporters.content_hash import content_hash, read_table_dir


def table_dirs(path: Path) -> dict[str, Path]:
    """``history/<t>`` as ``t``, ``data/<t>`` as ``t``, and ``oracle/<t>`` as ``oracle/<t>``."""
    out: dict[str, Path] = {}
    for group in ("history", "data", "tasks", "oracle"):
        root = path / group
        if not root.is_dir():
            continue
        if group == "tasks":
            out["tasks"] = root
            continue
        for d in sorted(p for p in root.iterdir() if p.is_dir()):
            key = f"oracle/{d.name}" if group == "oracle" else d.name
            out[key] = d
    return out


def dataset_hashes(path: Path) -> dict[str, dict]:
    """Rows and canonical content hash of every table found under ``path``."""
    out = {}
    for name, d in table_dirs(path).items():
        table = read_table_dir(d)
        out[name] = {"rows": table.num_rows, "content_hash": content_hash(table)}
    if not out:
        raise FileNotFoundError("holds no lifeloom tables")
    return out
