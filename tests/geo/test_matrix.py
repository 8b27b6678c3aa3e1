"""Travel matrices: exact on hand-checked graphs, every method equal, and equal to networkx."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geo.matrix
from geo import METHODS, MODES, NO_PATH, Matrices, RoadNetwork, load_network, travel_matrices

EXACT_METHODS = [m for m in METHODS if m != "auto"]


@pytest.mark.parametrize("method", METHODS)
def test_tiny_graph_by_hand(tiny_graph: nx.MultiDiGraph, method: str) -> None:
    """Every method gives the hand-computed fastest times, their path lengths and NO_PATH."""
    m = travel_matrices(tiny_graph, [1, 2, 3, 4, 6], method=method)
    x = NO_PATH
    assert m.durations.tolist() == [
        [0, 10, 20, x, 21],
        [40, 0, 10, x, 11],
        [30, 40, 0, x, 1],
        [x, x, x, 0, x],
        [x, x, x, x, 0],
    ]
    # 1->3 is the 200 m of the fastest path via 2, not the 150 m direct road
    assert m.distances.tolist() == [
        [0, 100, 200, x, 210],
        [400, 0, 100, x, 110],
        [300, 400, 0, x, 10],
        [x, x, x, 0, x],
        [x, x, x, x, 0],
    ]
    assert m.durations.dtype == np.int64 and m.distances.dtype == np.int64


def test_duplicates_and_order(tiny_graph: nx.MultiDiGraph) -> None:
    """Repeated nodes (two visits at one address) get zero between them; order is kept."""
    m = travel_matrices(tiny_graph, [3, 1, 3, 1])
    assert m.durations.tolist() == [[0, 30, 0, 30], [20, 0, 20, 0], [0, 30, 0, 30], [20, 0, 20, 0]]
    assert m.num_locations == 4


def test_empty_and_invalid_requests(tiny_graph: nx.MultiDiGraph) -> None:
    """No nodes gives 0x0 matrices; an unknown node or method is a ValueError saying what to do."""
    empty = travel_matrices(tiny_graph, [])
    assert empty.durations.shape == (0, 0) and empty.distances.shape == (0, 0)
    with pytest.raises(ValueError, match="node 99 is not in the road graph.*nearest_nodes"):
        travel_matrices(tiny_graph, [1, 99])
    with pytest.raises(ValueError, match="method 'fast' is not one of"):
        travel_matrices(tiny_graph, [1, 2], method="fast")


def test_graph_without_travel_times(tiny_graph: nx.MultiDiGraph) -> None:
    """A graph missing travel_time on an edge is rejected with how to add it."""
    del tiny_graph[1][2][0]["travel_time"]
    with pytest.raises(ValueError, match=r"edge \(1, 2\).*add_edge_travel_times"):
        travel_matrices(tiny_graph, [1, 2])


def test_matrices_validate_shape() -> None:
    """Matrices must be square int64 of one shape."""
    with pytest.raises(ValueError, match="square"):
        Matrices(durations=np.zeros((2, 3), np.int64), distances=np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match="int64"):
        Matrices(durations=np.zeros((2, 2)), distances=np.zeros((2, 2), np.int64))


def _sample_nodes(graph: nx.MultiDiGraph, count: int, seed: int) -> list[int]:
    nodes = sorted(graph.nodes)
    rng = np.random.default_rng(seed)
    return [nodes[i] for i in rng.choice(len(nodes), size=count, replace=False)]


@pytest.mark.parametrize("mode", MODES)
def test_methods_agree_on_helsinki(helsinki: RoadNetwork, mode: str) -> None:
    """scipy, chains and ch give identical matrices for 300 random Helsinki nodes (90,000 pairs)."""
    graph = helsinki.graph(mode)
    nodes = _sample_nodes(graph, 300, seed=1)
    results = {m: travel_matrices(graph, nodes, method=m) for m in EXACT_METHODS}
    reference = results["scipy"]
    assert (reference.durations < NO_PATH).all()  # strongly connected
    for method, result in results.items():
        assert np.array_equal(result.durations, reference.durations), method
        assert np.array_equal(result.distances, reference.distances), method


def _fastest_edge(graph: nx.MultiDiGraph, u: int, v: int) -> dict[str, float]:
    return min(graph[u][v].values(), key=lambda d: d["travel_time"])


@pytest.mark.parametrize("method", ["scipy", "chains"])
def test_networkx_agrees_on_helsinki(helsinki_drive: nx.MultiDiGraph, method: str) -> None:
    """networkx's Dijkstra gives the same seconds, and its fastest path the same metres."""
    # up to rounding: each edge to 1 ms and 1 cm, then the totals to 1 s and 1 m
    nodes = _sample_nodes(helsinki_drive, 60, seed=2)
    m = travel_matrices(helsinki_drive, nodes, method=method)
    for i, source in enumerate(nodes[:5]):
        times, paths = nx.single_source_dijkstra(helsinki_drive, source, weight="travel_time")
        for j, target in enumerate(nodes):
            path = paths[target]
            legs = list(zip(path, path[1:], strict=False))
            metres = sum(_fastest_edge(helsinki_drive, u, v)["length"] for u, v in legs)
            assert abs(m.durations[i, j] - times[target]) <= 0.5 + 0.0005 * len(legs) + 1e-9
            assert abs(m.distances[i, j] - metres) <= 0.5 + 0.005 * len(legs) + 1e-9


def test_distance_is_of_the_fastest_path(helsinki: RoadNetwork) -> None:
    """On Helsinki streets the fastest path is often not the shortest, and distances follow it."""
    graph = helsinki.graph("drive")
    nodes = _sample_nodes(graph, 40, seed=3)
    m = travel_matrices(graph, nodes)
    longer = 0
    for i, source in enumerate(nodes):
        shortest = nx.single_source_dijkstra_path_length(graph, source, weight="length")
        for j, target in enumerate(nodes):
            assert m.distances[i, j] >= round(shortest[target]) - 1
            longer += m.distances[i, j] > shortest[target] + 1
    assert longer > 0


def test_cache_reads_back(tiny_graph: nx.MultiDiGraph, tmp_path: Path, monkeypatch) -> None:
    """With cache_dir, a second call reads the .npy file instead of computing."""
    first = travel_matrices(tiny_graph, [1, 2, 3], cache_dir=tmp_path)
    assert len(list(tmp_path.glob("matrices-*.npy"))) == 1

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed instead of reading the cache")

    monkeypatch.setattr(geo.matrix, "_compute", fail)
    again = travel_matrices(tiny_graph, [1, 2, 3], method="scipy", cache_dir=tmp_path)
    assert np.array_equal(first.durations, again.durations)
    assert np.array_equal(first.distances, again.distances)
    assert [p.suffix for p in tmp_path.iterdir()] == [".npy"]


def test_cache_key_follows_content(tiny_graph: nx.MultiDiGraph, tmp_path: Path) -> None:
    """Changing a travel time changes the cache key, so stale matrices are never read."""
    travel_matrices(tiny_graph, [1, 3], cache_dir=tmp_path)
    tiny_graph[1][2][0]["travel_time"] = 1.0
    m = travel_matrices(tiny_graph, [1, 3], cache_dir=tmp_path)
    assert m.durations[0, 1] == 11
    assert len(list(tmp_path.glob("matrices-*.npy"))) == 2


def test_ch_caches_its_topology(helsinki_drive: nx.MultiDiGraph, tmp_path: Path) -> None:
    """The ch method saves the hierarchy's topology and reuses it with the same answers."""
    nodes = _sample_nodes(helsinki_drive, 30, seed=4)
    first = travel_matrices(helsinki_drive, nodes, method="ch", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("cch-*"))) == 1
    second = travel_matrices(helsinki_drive, nodes[::-1], method="ch", cache_dir=tmp_path)
    assert np.array_equal(second.durations, first.durations[::-1, ::-1])


# Random street networks: ways of 2-5 nodes, one-way or not, with integer seconds and metres,
# so networkx's float sums are exact and ties are common (the tie-break is the shorter path).
_WAYS = st.lists(
    st.tuples(
        st.lists(st.integers(0, 11), min_size=2, max_size=5, unique=True),
        st.booleans(),
        st.lists(st.tuples(st.integers(0, 9), st.integers(0, 50)), min_size=4, max_size=4),
    ),
    min_size=1,
    max_size=12,
)


def _street_graph(ways: list[tuple[list[int], bool, list[tuple[int, int]]]]) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    for node in range(12):
        graph.add_node(node, y=60.0 + node * 1e-3, x=25.0)
    for nodes, oneway, weights in ways:
        for (u, v), (seconds, metres) in zip(
            zip(nodes, nodes[1:], strict=False), weights, strict=False
        ):
            graph.add_edge(u, v, travel_time=float(seconds), length=float(metres))
            if not oneway:
                graph.add_edge(v, u, travel_time=float(seconds), length=float(metres))
    return graph


@settings(max_examples=150, deadline=None)
@given(ways=_WAYS, picks=st.lists(st.integers(0, 11), min_size=1, max_size=8))
def test_random_streets_match_networkx(ways, picks) -> None:
    """Every method equals networkx on random street networks (by seconds, then metres)."""
    # the ways make chains, parallel edges, self-loops, islands; picks repeat nodes
    graph = _street_graph(ways)
    scale = 1_000_000.0

    def weight(u: int, v: int, data: dict) -> float:
        return min(d["travel_time"] * scale + d["length"] for d in data.values())

    expected_t = np.full((len(picks), len(picks)), NO_PATH)
    expected_d = np.full((len(picks), len(picks)), NO_PATH)
    for i, source in enumerate(picks):
        best = nx.single_source_dijkstra_path_length(graph, source, weight=weight)
        for j, target in enumerate(picks):
            if target in best:
                expected_t[i, j] = best[target] // scale
                expected_d[i, j] = best[target] % scale
    for method in EXACT_METHODS:
        m = travel_matrices(graph, picks, method=method)
        assert m.durations.tolist() == expected_t.tolist(), method
        assert m.distances.tolist() == expected_d.tolist(), method


@pytest.mark.slow
def test_andorra_methods_agree(andorra_pbf: Path, tmp_path: Path) -> None:
    """On Andorra's drive graph (~22,700 nodes) chains and ch equal scipy for 400 nodes."""
    graph = load_network(andorra_pbf, cache_dir=tmp_path, modes=["drive"]).graph("drive")
    nodes = _sample_nodes(graph, 400, seed=5)
    reference = travel_matrices(graph, nodes, method="scipy")
    for method in ("chains", "ch"):
        result = travel_matrices(graph, nodes, method=method)
        assert np.array_equal(result.durations, reference.durations), method
        assert np.array_equal(result.distances, reference.distances), method
