"""Road-following route lines."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from shapely.geometry import LineString

import geo
import geo._edges
from geo import NoRouteError, load_network, road_path, road_paths, travel_matrices


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


def _line_graph(edges: list[tuple[int, int]]) -> nx.MultiDiGraph:
    """Nodes 1..n at lon 25 + node/1000 on one parallel; each edge 10 s and 100 m."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    for u, v in edges:
        for node in (u, v):
            graph.add_node(node, y=60.0, x=25.0 + node / 1000)
        graph.add_edge(u, v, travel_time=10.0, length=100.0)
    return graph


def _key(path: geo.RoadPath) -> tuple[object, ...]:
    return (path.lats, path.lons, path.travel_time, path.length)


def _random_routes(
    graph: nx.MultiDiGraph, num_routes: int, size: int, seed: int
) -> list[list[int]]:
    nodes = sorted(graph.nodes)
    rng = np.random.default_rng(seed)
    return [[nodes[i] for i in rng.choice(len(nodes), size=size)] for _ in range(num_routes)]


def test_legs_inside_one_street() -> None:
    """On a two-way street 1-2-3-4-5, legs between its inner nodes go straight along it."""
    street = _line_graph([(1, 2), (2, 3), (3, 4), (4, 5), (5, 4), (4, 3), (3, 2), (2, 1)])
    forth, back, both = road_paths(street, [[2, 4], [4, 2], [3, 5, 1]])
    assert forth.lons == (25.002, 25.003, 25.004)
    assert back.lons == (25.004, 25.003, 25.002)
    assert both.lons == (25.003, 25.004, 25.005, 25.004, 25.003, 25.002, 25.001)
    assert (forth.travel_time, back.length, both.length) == (20.0, 200.0, 600.0)


def test_one_way_ring() -> None:
    """On a one-way ring 1->2->3->4->1 with no other road, 3 to 2 goes round through 4 and 1."""
    ring = _line_graph([(1, 2), (2, 3), (3, 4), (4, 1)])
    path = road_path(ring, [3, 2])
    assert path.lons == (25.003, 25.004, 25.001, 25.002)
    assert path.travel_time == 30.0


def test_batch_edge_cases(tiny_graph: nx.MultiDiGraph) -> None:
    """No routes, empty and one-node routes are fine; the first unreachable leg is named."""
    assert road_paths(tiny_graph, []) == []
    empty, single, full = road_paths(tiny_graph, [[], [4], [1, 3, 1]])
    assert empty.lats == () and single.lats == (60.01,)
    assert full == road_path(tiny_graph, [1, 3, 1])
    with pytest.raises(NoRouteError, match="from node 6 to node 1"):
        road_paths(tiny_graph, [[1, 2], [2, 6, 1], [4, 1]])
    with pytest.raises(ValueError, match="node 99 is not in the road graph"):
        road_paths(tiny_graph, [[1, 2], [99]])


def test_batch_equals_single_routes(helsinki: geo.RoadNetwork) -> None:
    """Every mode: a batch of routes (sharing nodes) gives exactly the per-route lines."""
    for mode in geo.MODES:
        graph = helsinki.graph(mode)
        routes = _random_routes(graph, num_routes=12, size=8, seed=3)
        routes.append(routes[0][::-1])
        batch = road_paths(graph, routes)
        assert [_key(p) for p in batch] == [_key(road_path(graph, r)) for r in routes], mode


def test_batch_in_small_blocks(
    helsinki_drive: nx.MultiDiGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Dijkstra forced to run one source location at a time, the lines are the same."""
    routes = _random_routes(helsinki_drive, num_routes=5, size=10, seed=4)
    expected = [_key(p) for p in road_paths(helsinki_drive, routes)]
    monkeypatch.setattr(geo._edges, "_BLOCK_ENTRIES", 1)
    assert [_key(p) for p in road_paths(helsinki_drive, routes)] == expected


@pytest.mark.slow
def test_andorra_batch_matches_routes_and_matrix(andorra_pbf: Path, tmp_path: Path) -> None:
    """On Andorra's drive graph, 30 routes in one batch equal the per-route lines, and each
    route's length is the sum of its matrix legs (rounded per leg)."""
    graph = load_network(andorra_pbf, cache_dir=tmp_path, modes=["drive"]).graph("drive")
    routes = _random_routes(graph, num_routes=30, size=12, seed=8)
    batch = road_paths(graph, routes)
    for route, path in zip(routes, batch, strict=True):
        assert _key(path) == _key(road_path(graph, route))
        m = travel_matrices(graph, route)
        legs = len(route) - 1
        metres = sum(int(m.distances[i, i + 1]) for i in range(legs))
        assert abs(path.length - metres) <= 0.5 * legs + 0.01
