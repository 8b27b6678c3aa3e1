"""The road-following line of a route, for maps and GeoJSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import networkx as nx
import numpy as np

from geo import _chains
from geo._edges import SCHEMES, EdgeArrays, edge_arrays, edge_attribute, simple_graph
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
    """The fastest road path visiting graph `nodes` in order: `road_paths` for one route.

    Each leg follows the same path `geo.travel_matrices` measures (fastest, then shortest), so
    its length matches the matrix distance up to rounding. Edges' ``geometry`` is used where
    present, oriented along the travel direction. Repeated consecutive nodes are fine; a pair
    with no path raises `NoRouteError` naming it.
    """
    return road_paths(graph, [nodes])[0]


def road_paths(graph: nx.MultiDiGraph, routes: Sequence[Sequence[int]]) -> list[RoadPath]:
    """The fastest road path of each route (graph nodes visited in order), in route order.

    The same paths as `road_path` route by route, but the graph is prepared once and all
    distinct legs of all routes are found together, by Dijkstra on the junction graph (the
    road graph with its degree-2 chains contracted, see `geo._chains`), so a day of routes
    costs little more than one. An empty route gives an empty path. The first leg in route
    order with no path raises `NoRouteError` naming it; a node not in the graph, ValueError.
    """
    empty = RoadPath(lats=(), lons=(), travel_time=0.0, length=0.0)
    if all(len(nodes) == 0 for nodes in routes):
        return [empty for _ in routes]
    arrays = edge_arrays(graph)
    stops = [arrays.index_of(np.asarray(nodes)).tolist() for nodes in routes]
    legs = sorted({(a, b) for s in stops for a, b in pairwise(s) if a != b})
    ends = np.array(legs, dtype=np.int64).reshape(-1, 2)
    leg_edges = dict(zip(legs, _leg_edges(arrays, ends[:, 0], ends[:, 1]), strict=True))
    geometries = edge_attribute(graph, "geometry")

    result = []
    for s in stops:
        if not s:
            result.append(empty)
            continue
        path_edges = []
        for a, b in pairwise(s):
            if a == b:
                continue
            edges = leg_edges[a, b]
            if edges is None:
                u, v = int(arrays.node_ids[a]), int(arrays.node_ids[b])
                msg = f"no road path from node {u} to node {v}: snap both to the same road network"
                raise NoRouteError(msg)
            path_edges.append(edges)
        result.append(_line(arrays, geometries, s[0], path_edges))
    return result


def _leg_edges(
    arrays: EdgeArrays, sources: np.ndarray, targets: np.ndarray
) -> list[np.ndarray | None]:
    """The edges (`arrays` indices) of the fastest path of each leg, None where there is none,
    under the matrices' packed weights and their choice of fixed-point scheme."""
    if len(sources) == 0:
        return []
    for scheme in SCHEMES:
        ms, units = scheme.edge_weights(arrays)
        simple = simple_graph(arrays.tail, arrays.head, scheme.pack(ms, units))
        chains = _chains.decompose(simple, arrays.num_nodes)
        found, max_label = _chains.paths(chains, sources, targets)
        if scheme.exact(max_label + float(simple.weight.max(initial=0.0)), arrays, units):
            return [None if path is None else simple.edge[path] for path in found]
    msg = "paths in this road graph are too long to sum exactly: load a smaller region"
    raise GraphError(msg)


def _line(
    arrays: EdgeArrays, geometries: list[Any], start: int, path_edges: list[np.ndarray]
) -> RoadPath:
    """The polyline from node index `start` along the legs' edges, with their totals. Each
    edge adds its head node, or the points of its ``geometry`` (`geometries`, by edge) after
    the first, oriented along the travel direction."""
    edges = np.concatenate([np.zeros(0, dtype=np.int64), *path_edges])
    lats = [arrays.lats[start : start + 1]]
    lons = [arrays.lons[start : start + 1]]
    done = 0
    for i in [i for i, e in enumerate(edges.tolist()) if geometries[e] is not None]:
        heads = arrays.head[edges[done:i]]
        lats.append(arrays.lats[heads])
        lons.append(arrays.lons[heads])
        coords = np.asarray(geometries[edges[i]].coords, dtype=np.float64)
        tail = arrays.tail[edges[i]]
        here = (arrays.lons[tail], arrays.lats[tail])
        if _sq(coords[-1], here) < _sq(coords[0], here):
            coords = coords[::-1]
        lats.append(coords[1:, 1])
        lons.append(coords[1:, 0])
        done = i + 1
    heads = arrays.head[edges[done:]]
    lats.append(arrays.lats[heads])
    lons.append(arrays.lons[heads])
    return RoadPath(
        lats=tuple(np.concatenate(lats).tolist()),
        lons=tuple(np.concatenate(lons).tolist()),
        travel_time=float(arrays.travel_time[edges].sum()),
        length=float(arrays.length[edges].sum()),
    )


def _sq(point: np.ndarray, other: tuple[float, float]) -> float:
    return float((point[0] - other[0]) ** 2 + (point[1] - other[1]) ** 2)
