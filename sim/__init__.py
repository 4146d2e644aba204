"""lifeloom's kernel: clock, random streams, services and their graph, histories, event log."""

from sim.clock import Clock
from sim.events import EVENT_LOG_SCHEMA
from sim.graph import ServiceGraphError, build_service_graph
from sim.rng import RngTree
from sim.services import CATALOGUE, TABLES
from sim.world import World

__all__ = [
    "CATALOGUE",
    "EVENT_LOG_SCHEMA",
    "TABLES",
    "Clock",
    "RngTree",
    "ServiceGraphError",
    "World",
    "build_service_graph",
]
