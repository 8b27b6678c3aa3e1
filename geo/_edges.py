"""A road graph as flat arrays, and the exact integer weights the vectorised routines share.

Why fixed point: travel times and lengths are floats on the graph, but a matrix must give the
same answer whichever algorithm computed it. Each edge's time is rounded once to milliseconds
and its length to a length unit; sums of integers are exact, so every method agrees.

Why one composite weight: the distance of a leg must be the length of the *fastest* path, not of
the shortest. Packing ``time << shift | length`` into one integer makes "fastest, then
shortest among equally fast" a single number that any shortest-path routine minimises; a
float64 holds integers below 2**53 exactly, which `FixedPoint.exact` checks after each run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geo.errors import GraphError

MS_PER_S = 1000
"""Fixed-point time unit: milliseconds, so per-edge rounding stays far below a second."""

_FLOAT_EXACT = float(2**53)
_BLOCK_ENTRIES = 2**23
"""Dijkstra rows are computed in blocks of at most this many entries (64 MB of float64)."""


@dataclass(frozen=True, eq=False)
class EdgeArrays:
    """A graph as arrays: nodes indexed 0..n-1 in ascending id order, edge i from node
    `tail[i]` to node `head[i]`, with the networkx key `keys[i]`; seconds and metres."""

    node_ids: np.ndarray
    lats: np.ndarray
    lons: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    keys: tuple[object, ...]
    travel_time: np.ndarray
    length: np.ndarray

    @property
    def num_nodes(self) -> int:
        return len(self.node_ids)

    def index_of(self, nodes: Sequence[int] | np.ndarray) -> np.ndarray:
        """Indices of graph node ids; ValueError naming the first id not in the graph."""
        ids = np.asarray(nodes)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            msg = f"node ids must be integers (graph node ids), got {ids.dtype} values"
            raise ValueError(msg)
        ids = ids.astype(np.int64, copy=False).ravel()
        pos = np.searchsorted(self.node_ids, ids)
        pos = np.minimum(pos, len(self.node_ids) - 1)
        missing = self.node_ids[pos] != ids
        if missing.any():
            bad = int(ids[np.argmax(missing)])
            msg = (
                f"node {bad} is not in the road graph: snap coordinates to the graph with "
                "geo.nearest_nodes and pass the node ids it returns"
            )
            raise ValueError(msg)
        return pos.astype(np.int64)


def edge_arrays(graph: nx.MultiDiGraph) -> EdgeArrays:
    """The arrays of `graph`; GraphError when it lacks integer ids, lat/lon or travel times."""
    n = graph.number_of_nodes()
    if n == 0:
        msg = "the road graph has no nodes: load one with geo.load_network"
        raise GraphError(msg)
    if not all(isinstance(node, int | np.integer) for node in graph.nodes):
        msg = "road graph node ids must be integers (OSM ids): load it with geo.load_network"
        raise GraphError(msg)
    ids = np.fromiter(graph.nodes, dtype=np.int64, count=n)
    order = np.argsort(ids, kind="stable")
    node_ids = ids[order]
    if n > 1 and (np.diff(node_ids) == 0).any():
        msg = "road graph node ids must be distinct integers"
        raise GraphError(msg)
    lats = _node_floats(graph, "y")[order]
    lons = _node_floats(graph, "x")[order]

    # adjacency() hands out networkx's own dicts: several times faster than an EdgeView. Flat
    # lists, not a tuple per edge: so many new tuples set off the garbage collector, which
    # then walks the whole graph again and again (twice the time on a 100,000-node graph)
    tails: list[int] = []
    heads: list[int] = []
    keys: list[object] = []
    datas: list[dict[str, object]] = []
    for u, nbrs in graph.adjacency():
        for v, keyed in nbrs.items():
            for key, data in keyed.items():
                tails.append(u)
                heads.append(v)
                keys.append(key)
                datas.append(data)
    tail_ids = np.array(tails, dtype=np.int64)
    head_ids = np.array(heads, dtype=np.int64)
    travel_time = np.array([d.get("travel_time", np.nan) for d in datas], dtype=np.float64)
    length = np.array([d.get("length", np.nan) for d in datas], dtype=np.float64)
    for name, values in (("travel_time", travel_time), ("length", length)):
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            at = int(np.argmax(bad))
            u, v, data = tails[at], heads[at], datas[at]
            msg = (
                f"edge ({u}, {v}) has {name}={data.get(name)!r}; every edge needs a finite, "
                "non-negative travel_time (s) and length (m): load graphs with "
                "geo.load_network, or call osmnx.add_edge_speeds and add_edge_travel_times"
            )
            raise GraphError(msg)
    return EdgeArrays(
        node_ids=node_ids,
        lats=lats,
        lons=lons,
        tail=np.searchsorted(node_ids, tail_ids),
        head=np.searchsorted(node_ids, head_ids),
        keys=tuple(keys),
        travel_time=travel_time,
        length=length,
    )


def edge_attribute(graph: nx.MultiDiGraph, name: str) -> list[object]:
    """Edge attribute `name` of every edge (None where absent), in `edge_arrays` edge order:
    both walk `graph.adjacency()` the same way, so the graph must not change in between."""
    return [
        data.get(name)
        for _, nbrs in graph.adjacency()
        for keyed in nbrs.values()
        for data in keyed.values()
    ]


def _node_floats(graph: nx.MultiDiGraph, name: str) -> np.ndarray:
    try:
        values = np.array([v for _, v in graph.nodes(data=name, default=np.nan)], np.float64)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if not np.isfinite(values).all():
        msg = (
            f"every road graph node needs a float {name!r} ({'lat' if name == 'y' else 'lon'} "
            "in degrees): load graphs with geo.load_network"
        )
        raise GraphError(msg)
    return values


def fingerprint(arrays: EdgeArrays) -> str:
    """A hash of what routing depends on (node ids, edges, travel times, lengths), independent
    of the order networkx stores them in; a GraphML round trip keeps it."""
    order = np.lexsort((arrays.length, arrays.travel_time, arrays.head, arrays.tail))
    digest = hashlib.sha256(b"doorstep-geo-routing-v1")
    for values in (
        arrays.node_ids,
        arrays.node_ids[arrays.tail[order]],
        arrays.node_ids[arrays.head[order]],
        arrays.travel_time[order],
        arrays.length[order],
    ):
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class FixedPoint:
    """Milliseconds and a length unit packed as ``ms << shift | length``; see module doc."""

    length_unit_cm: int
    shift: int

    def edge_weights(self, arrays: EdgeArrays) -> tuple[np.ndarray, np.ndarray]:
        """Per-edge (milliseconds, length units), int64, each rounded once."""
        ms = np.rint(arrays.travel_time * MS_PER_S).astype(np.int64)
        units = np.rint(arrays.length * (100.0 / self.length_unit_cm)).astype(np.int64)
        return ms, units

    def pack(self, ms: np.ndarray, units: np.ndarray) -> np.ndarray:
        return (ms * (1 << self.shift) + units).astype(np.float64)

    def unpack(self, packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(milliseconds, length units) as int64; entries that are inf come back as -1."""
        finite = np.isfinite(packed)
        whole = np.where(finite, packed, 0.0).astype(np.int64)
        ms = whole >> self.shift
        units = whole & ((1 << self.shift) - 1)
        return np.where(finite, ms, -1), np.where(finite, units, -1)

    def exact(self, max_label: float, arrays: EdgeArrays, units: np.ndarray) -> bool:
        """Whether a run whose largest finite label (plus one edge) was `max_label` computed
        exactly: no float64 rounding, and no path long enough for its length to carry into
        the time bits."""
        if not max_label < _FLOAT_EXACT:
            return False
        max_ms = int(max_label) >> self.shift
        moving = arrays.travel_time > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            vmax = float(np.max(arrays.length[moving] / arrays.travel_time[moving], initial=0.0))
        if (arrays.length[~moving] > 0).any():
            vmax = np.inf
        edges = max(arrays.num_nodes - 1, 1)
        per_ms = vmax * 100.0 / self.length_unit_cm / MS_PER_S
        by_speed = per_ms * (max_ms + 0.5 * edges) + 0.5 * edges
        bound = min(by_speed, float(units.sum()))
        return bound < 2**self.shift


SCHEMES = (FixedPoint(length_unit_cm=1, shift=27), FixedPoint(length_unit_cm=100, shift=24))
"""Tried in order: centimetres (paths up to 1,342 km and 18.6 h), then metres (16,777 km and
149 h). Region-sized graphs always fit the first."""


@dataclass(frozen=True, eq=False)
class SimpleGraph:
    """The lightest edge of each ordered node pair, self-loops dropped, sorted by (tail, head);
    `edge` indexes the original `EdgeArrays` edge."""

    tail: np.ndarray
    head: np.ndarray
    weight: np.ndarray
    edge: np.ndarray

    def csr(self, num_nodes: int) -> sp.csr_matrix:
        return sp.csr_matrix((self.weight, (self.tail, self.head)), shape=(num_nodes, num_nodes))


def simple_graph(
    tail: np.ndarray, head: np.ndarray, weight: np.ndarray, edge: np.ndarray | None = None
) -> SimpleGraph:
    """Drop self-loops and keep the lightest of parallel edges (ties: the first)."""
    if edge is None:
        edge = np.arange(len(tail), dtype=np.int64)
    keep = tail != head
    tail, head, weight, edge = tail[keep], head[keep], weight[keep], edge[keep]
    order = np.lexsort((edge, weight, head, tail))
    tail, head, weight, edge = tail[order], head[order], weight[order], edge[order]
    first = np.ones(len(tail), dtype=bool)
    first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    return SimpleGraph(tail[first], head[first], weight[first], edge[first])


def blocks(num_rows: int, row_width: int) -> Iterator[slice]:
    """Row slices whose dense Dijkstra output stays under `_BLOCK_ENTRIES` entries."""
    step = max(1, _BLOCK_ENTRIES // max(row_width, 1))
    for start in range(0, num_rows, step):
        yield slice(start, min(start + step, num_rows))


def dijkstra_columns(
    csr: sp.csr_matrix, sources: np.ndarray, columns: np.ndarray
) -> tuple[np.ndarray, float]:
    """Shortest-path labels from `sources` to `columns` (inf: no path), and the largest finite
    label of any node reached, which `FixedPoint.exact` needs."""
    out = np.empty((len(sources), len(columns)), dtype=np.float64)
    max_label = 0.0
    for rows in blocks(len(sources), csr.shape[0]):
        full = dijkstra(csr, directed=True, indices=sources[rows])
        max_label = max(max_label, max_finite(full))
        out[rows] = full[:, columns]
    return out, max_label


def max_finite(values: np.ndarray) -> float:
    """The largest finite entry (0 if none), without copying the array."""
    return float(np.max(values, where=np.isfinite(values), initial=0.0))
