"""The road-following line of a route, for maps and GeoJSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import dijkstra

from geo._edges import (
    SCHEMES,
    EdgeArrays,
    SimpleGraph,
    blocks,
    edge_arrays,
    max_finite,
    simple_graph,
)
from geo.errors import GraphError, NoRouteError


@dataclass(frozen=True)
class RoadPath:
    """A polyline along the roads (degrees), with its total `travel_time` (s) and `length`
    (m), summed from the graph's edges."""

    lats: tuple[float, ...]
    lons: tuple[float, ...]
    travel_time: float
    length: float

    def __post_init__(self) -> None:
        if len(self.lats) != len(self.lons):
            msg = f"a road path needs as many lats ({len(self.lats)}) as lons ({len(self.lons)})"
            raise ValueError(msg)


def road_path(graph: nx.MultiDiGraph, nodes: Sequence[int]) -> RoadPath:
    """The fastest road path visiting graph `nodes` in order.

    Each leg follows the same path `geo.travel_matrices` measures (fastest, then shortest), so
    its length matches the matrix distance up to rounding. Edges' ``geometry`` is used where
    present, oriented along the travel direction. Repeated consecutive nodes are fine; a pair
    with no path raises `NoRouteError` naming it.
    """
    if len(nodes) == 0:
        return RoadPath(lats=(), lons=(), travel_time=0.0, length=0.0)
    arrays = edge_arrays(graph)
    stops = arrays.index_of(np.asarray(nodes))
    legs = [(int(a), int(b)) for a, b in zip(stops[:-1], stops[1:], strict=True) if a != b]
    lats = [float(arrays.lats[stops[0]])]
    lons = [float(arrays.lons[stops[0]])]
    if not legs:
        return RoadPath(lats=tuple(lats), lons=tuple(lons), travel_time=0.0, length=0.0)

    simple, predecessors = _fastest_trees(arrays, np.unique([a for a, _ in legs]))
    pair_keys = simple.tail * arrays.num_nodes + simple.head
    path_edges = []
    for a, b in legs:
        chain = _walk_back(predecessors[a], a, b)
        if chain is None:
            u, v = int(arrays.node_ids[a]), int(arrays.node_ids[b])
            msg = f"no road path from node {u} to node {v}: snap both to the same road network"
            raise NoRouteError(msg)
        pos = np.searchsorted(pair_keys, chain[:-1] * arrays.num_nodes + chain[1:])
        path_edges.append(simple.edge[pos])
    edges = np.concatenate(path_edges)

    for e in edges:
        u, v = int(arrays.tail[e]), int(arrays.head[e])
        data = graph[int(arrays.node_ids[u])][int(arrays.node_ids[v])][arrays.keys[e]]
        geometry = data.get("geometry")
        if geometry is None:
            lats.append(float(arrays.lats[v]))
            lons.append(float(arrays.lons[v]))
            continue
        coords = np.asarray(geometry.coords, dtype=np.float64)
        start, end = coords[0], coords[-1]
        here = (arrays.lons[u], arrays.lats[u])
        if _sq(end, here) < _sq(start, here):
            coords = coords[::-1]
        lons.extend(float(x) for x in coords[1:, 0])
        lats.extend(float(y) for y in coords[1:, 1])
    return RoadPath(
        lats=tuple(lats),
        lons=tuple(lons),
        travel_time=float(arrays.travel_time[edges].sum()),
        length=float(arrays.length[edges].sum()),
    )


def _sq(point: np.ndarray, other: tuple[float, float]) -> float:
    return float((point[0] - other[0]) ** 2 + (point[1] - other[1]) ** 2)


def _fastest_trees(
    arrays: EdgeArrays, sources: np.ndarray
) -> tuple[SimpleGraph, dict[int, np.ndarray]]:
    """Shortest-path trees from `sources` under the matrices' packed weights."""
    for scheme in SCHEMES:
        ms, units = scheme.edge_weights(arrays)
        simple = simple_graph(arrays.tail, arrays.head, scheme.pack(ms, units))
        csr = simple.csr(arrays.num_nodes)
        trees: dict[int, np.ndarray] = {}
        max_label = 0.0
        for rows in blocks(len(sources), arrays.num_nodes):
            dist, pred = dijkstra(
                csr, directed=True, indices=sources[rows], return_predecessors=True
            )
            max_label = max(max_label, max_finite(dist))
            for i, source in enumerate(sources[rows]):
                trees[int(source)] = pred[i]
        if scheme.exact(max_label + float(simple.weight.max(initial=0.0)), arrays, units):
            return simple, trees
    msg = "paths in this road graph are too long to sum exactly: load a smaller region"
    raise GraphError(msg)


def _walk_back(pred: np.ndarray, source: int, target: int) -> np.ndarray | None:
    """Node indices from `source` to `target` along a predecessor row; None if unreachable."""
    chain = [target]
    node = target
    while node != source:
        node = int(pred[node])
        if node < 0:
            return None
        chain.append(node)
    return np.asarray(chain[::-1], dtype=np.int64)
