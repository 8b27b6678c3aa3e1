"""Snapping coordinates to the nearest graph node."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from geo import RoadNetwork, haversine_m, nearest_nodes


def _node_coords(graph: nx.MultiDiGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = np.array(list(graph.nodes), dtype=np.int64)
    lats = np.array([graph.nodes[n]["y"] for n in ids])
    lons = np.array([graph.nodes[n]["x"] for n in ids])
    return ids, lats, lons


def test_point_on_a_node_snaps_to_it(helsinki_drive: nx.MultiDiGraph) -> None:
    """Points exactly at nodes snap to those nodes, about 0 m away."""
    ids, lats, lons = _node_coords(helsinki_drive)
    snapped = nearest_nodes(helsinki_drive, lats[::50], lons[::50])
    assert np.array_equal(snapped.nodes, ids[::50])
    assert snapped.nodes.dtype == np.int64
    assert np.all(snapped.distances < 1e-3)


def test_matches_brute_force(helsinki: RoadNetwork) -> None:
    """Random points in and around the city snap to the brute-force haversine nearest node."""
    graph = helsinki.graph("walk")
    ids, lats, lons = _node_coords(graph)
    box = helsinki.bounds()
    rng = np.random.default_rng(7)
    qlat = rng.uniform(box.south - 0.01, box.north + 0.01, 400)
    qlon = rng.uniform(box.west - 0.02, box.east + 0.02, 400)
    snapped = nearest_nodes(graph, qlat, qlon)
    all_d = haversine_m(qlat[:, None], qlon[:, None], lats[None, :], lons[None, :])
    best = all_d.min(axis=1)
    np.testing.assert_allclose(snapped.distances, best, rtol=0, atol=1e-6)
    assert (snapped.nodes == ids[all_d.argmin(axis=1)]).mean() > 0.99  # others are exact ties


def test_argument_order_is_lat_then_lon(tiny_graph: nx.MultiDiGraph) -> None:
    """lats come first (osmnx's X=lon, Y=lat trap is wrapped): (60.01, 25.001) is node 5."""
    snapped = nearest_nodes(tiny_graph, [60.01], [25.001])
    assert snapped.nodes.tolist() == [5]


def test_distance_in_metres(tiny_graph: nx.MultiDiGraph) -> None:
    """0.001 degrees of latitude north of node 1 is about 111 m."""
    snapped = nearest_nodes(tiny_graph, [59.999], [25.0])
    assert snapped.nodes.tolist() == [1]
    assert snapped.distances[0] == pytest.approx(111.2, abs=0.1)


def test_empty_and_invalid_input(tiny_graph: nx.MultiDiGraph) -> None:
    """Empty arrays give empty results; mismatched or impossible coordinates are ValueErrors."""
    empty = nearest_nodes(tiny_graph, [], [])
    assert empty.nodes.shape == (0,) and empty.nodes.dtype == np.int64
    assert empty.distances.shape == (0,)
    with pytest.raises(ValueError, match="equal length"):
        nearest_nodes(tiny_graph, [60.0, 60.1], [25.0])
    with pytest.raises(ValueError, match=r"point 1 \(91.0, 25.0\)"):
        nearest_nodes(tiny_graph, [60.0, 91.0], [25.0, 25.0])
