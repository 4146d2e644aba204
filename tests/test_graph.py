import pytest

from sim.graph import ServiceGraphError, build_service_graph, install_order
from sim.services import CATALOGUE


def test_catalogue_declares_at_least_16_services_each_complete():
    assert len(CATALOGUE) >= 16
    for spec in CATALOGUE.values():
        assert spec.tables
        assert len(spec.event_kinds) >= 2
        assert spec.feeds
        assert spec.devices
        for kind in spec.event_kinds:
            assert kind.endswith(("ed", "_sent", "_paid", "_made")), kind  # past tense


def test_full_catalogue_is_a_valid_graph_with_acyclic_requires():
    g = build_service_graph(CATALOGUE)
    order = install_order(g)
    for src, dst, data in g.edges(data=True):
        if data.get("requires"):
            assert order.index(dst) < order.index(src)
    assert any(d.get("feeds") for _, _, d in g.edges(data=True))


def test_unknown_service_is_named():
    with pytest.raises(ServiceGraphError, match="unknown service 'fax'"):
        build_service_graph(["contacts", "fax"])


def test_requires_edge_to_missing_service_is_refused():
    with pytest.raises(ServiceGraphError, match="work_email requires"):
        build_service_graph(["work_email", "contacts"])


def test_requires_cycle_is_refused_with_the_cycle_named():
    with pytest.raises(ServiceGraphError, match="requires cycle"):
        build_service_graph(["contacts", "calendar", "todos"],
                            extra_requires=[("contacts", "todos"), ("todos", "contacts")])


def test_feeds_edges_only_between_installed_services():
    g = build_service_graph(["contacts", "sms", "calls"])
    assert set(g.nodes) == {"contacts", "sms", "calls"}
    assert g.has_edge("sms", "calls")
    assert g.edges["sms", "calls"].get("feeds")
