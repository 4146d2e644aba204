"""The dependency graph of the services a persona has installed.

Two edge kinds on one networkx ``DiGraph``: ``requires`` (install-time: A needs B; must be
acyclic) and ``feeds`` (an event in A can cause one in B; loops are fine). ``feeds`` edges
to services the persona lacks are dropped: nothing propagates into an app that isn't there.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from sim.errors import InputError
from sim.services import CATALOGUE


class ServiceGraphError(InputError):
    """The installed services do not form a valid graph. ``where`` names the offending
    entry."""


def build_service_graph(
    installed: Iterable[str],
    extra_requires: Iterable[tuple[str, str]] = (),
) -> nx.DiGraph:
    """Validate ``installed`` (plus persona-declared ``extra_requires`` edges) into a graph."""
    installed = list(installed)
    for name in installed:
        if name not in CATALOGUE:
            raise ServiceGraphError(
                "services", f"unknown service {name!r}; known: {', '.join(sorted(CATALOGUE))}"
            )
    graph = nx.DiGraph()
    graph.add_nodes_from(sorted(installed))
    have = set(installed)
    requires = [(s, r) for s in sorted(have) for r in CATALOGUE[s].requires]
    for src, dst in extra_requires:
        for end in (src, dst):
            if end not in CATALOGUE:
                raise ServiceGraphError("integrations", f"unknown service {end!r}")
        requires.append((src, dst))
    for src, dst in requires:
        if dst not in have:
            raise ServiceGraphError(
                "services", f"{src} requires {dst}, which the persona has not installed"
            )
        graph.add_edge(src, dst, requires=True)
    req_only = nx.DiGraph([(u, v) for u, v, d in graph.edges(data=True) if d.get("requires")])
    try:
        cycle = nx.find_cycle(req_only)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        raise ServiceGraphError("integrations", f"requires cycle: {path}")
    for src in sorted(have):
        for dst in CATALOGUE[src].feeds:
            if dst in have:
                if graph.has_edge(src, dst):
                    graph.edges[src, dst]["feeds"] = True
                else:
                    graph.add_edge(src, dst, feeds=True)
    return graph


def install_order(graph: nx.DiGraph) -> list[str]:
    """Services in an order where every service comes after what it requires."""
    req = nx.DiGraph()
    req.add_nodes_from(graph.nodes)
    req.add_edges_from((v, u) for u, v, d in graph.edges(data=True) if d.get("requires"))
    return list(nx.lexicographical_topological_sort(req))
