"""Road-following route lines."""

from __future__ import annotations

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from shapely.geometry import LineString

from geo import NoRouteError, road_path, travel_matrices


def test_tiny_path_by_hand(tiny_graph: nx.MultiDiGraph) -> None:
    """1 -> 3 -> 1 runs 1, 2, 3 (the fastest way), then back to 1: 50 s and 500 m."""
    path = road_path(tiny_graph, [1, 3, 1])
    assert path.lons == (25.0, 25.001, 25.002, 25.0)
    assert path.lats == (60.0, 60.0, 60.0, 60.0)
    assert path.travel_time == 50.0
    assert path.length == 500.0


def test_repeated_and_single_nodes(tiny_graph: nx.MultiDiGraph) -> None:
    """Consecutive repeats add nothing; one node is a one-point path; none is empty."""
    assert road_path(tiny_graph, [1, 1, 2, 2]) == road_path(tiny_graph, [1, 2])
    single = road_path(tiny_graph, [4])
    assert (single.lats, single.lons, single.travel_time) == ((60.01,), (25.0,), 0.0)
    assert road_path(tiny_graph, []).lats == ()


def test_unreachable_pair_is_named(tiny_graph: nx.MultiDiGraph) -> None:
    """A pair with no road between them raises NoRouteError (a ValueError) naming both."""
    with pytest.raises(NoRouteError, match="from node 6 to node 1"):
        road_path(tiny_graph, [1, 6, 1])
    assert issubclass(NoRouteError, ValueError)


def test_geometry_is_oriented(tiny_graph: nx.MultiDiGraph) -> None:
    """An edge geometry stored against the travel direction is reversed in the path."""
    tiny_graph[1][2][0]["geometry"] = LineString([(25.001, 60.0), (25.0005, 60.0002), (25.0, 60.0)])
    path = road_path(tiny_graph, [1, 2])
    assert path.lons == (25.0, 25.0005, 25.001)
    assert path.lats == (60.0, 60.0002, 60.0)


def test_helsinki_day_matches_matrix(helsinki_drive: nx.MultiDiGraph) -> None:
    """A 40-stop day starts and ends at its nodes; length and time are the matrix legs' sums."""
    nodes = sorted(helsinki_drive.nodes)
    rng = np.random.default_rng(11)
    stops = [nodes[i] for i in rng.choice(len(nodes), size=40, replace=False)]
    stops.append(stops[0])
    path = road_path(helsinki_drive, stops)
    first, last = helsinki_drive.nodes[stops[0]], helsinki_drive.nodes[stops[-1]]
    assert (path.lats[0], path.lons[0]) == (first["y"], first["x"])
    assert (path.lats[-1], path.lons[-1]) == (last["y"], last["x"])
    m = travel_matrices(helsinki_drive, stops)
    legs = len(stops) - 1
    metres = sum(m.distances[i, i + 1] for i in range(legs))
    seconds = sum(m.durations[i, i + 1] for i in range(legs))
    assert abs(path.length - metres) <= 0.5 * legs + 0.01
    assert abs(path.travel_time - seconds) <= 0.5 * legs + 0.01
    assert len(path.lats) > len(stops)


def test_simplified_graph_uses_edge_geometry(helsinki_drive: nx.MultiDiGraph) -> None:
    """On a simplified graph the line follows each edge's bends, not just its end nodes."""
    simplified = ox.simplify_graph(helsinki_drive.copy())
    nodes = sorted(simplified.nodes)
    stops = [nodes[0], nodes[len(nodes) // 2], nodes[-1]]
    route = nx.shortest_path(simplified, stops[0], stops[1], weight="travel_time")
    route += nx.shortest_path(simplified, stops[1], stops[2], weight="travel_time")[1:]
    path = road_path(simplified, stops)
    assert len(path.lats) > len(route)
    start, end = simplified.nodes[stops[0]], simplified.nodes[stops[-1]]
    assert (path.lons[0], path.lats[0]) == (start["x"], start["y"])
    assert (path.lons[-1], path.lats[-1]) == (end["x"], end["y"])
    steps = np.hypot(np.diff(path.lons), np.diff(path.lats))
    assert steps.max() < 0.01  # no jumps across the city: points follow the roads
