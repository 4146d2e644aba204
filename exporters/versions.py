"""Versions that decide whether two datasets are comparable."""

from __future__ import annotations

import platform
from importlib import metadata

FORMAT_VERSION = "1.2"  # bumps when tables or columns change (1.1: travel_alerts; 1.2: shop_views)
# Bumps when the same seed would produce different content, or the tools would show or
# grade it differently (runs on the same dataset would not compare).
GENERATOR_VERSION = "0.27.0"

_LIBRARIES = ("lifeloom", "simpy", "numpy", "faker", "holidays", "tzdata", "networkx", "polars",
              "pyarrow", "pydantic")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
