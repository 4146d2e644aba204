"""The dataset card: ``README.md`` with Hugging Face ``configs`` (filled in below)."""

from __future__ import annotations

from pathlib import Path


def write_card(dest: Path, manifest: dict) -> None:
    (Path(dest) / "README.md").write_text(f"# {manifest['recipe']['id']}\n")
