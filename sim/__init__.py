"""lifeloom's kernel: clock, random streams, services and their graph, histories, event log.

The names below load on first use (PEP 562), so importing one light module of the kernel
(``sim.errors``, ``sim.clock``) does not pull in SimPy, NumPy and Arrow: the CLI answers
``--help`` and bad input without them.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "CATALOGUE": "sim.services",
    "EVENT_LOG_SCHEMA": "sim.events",
    "TABLES": "sim.services",
    "Clock": "sim.clock",
    "RngTree": "sim.rng",
    "ServiceGraphError": "sim.graph",
    "World": "sim.world",
    "build_service_graph": "sim.graph",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
