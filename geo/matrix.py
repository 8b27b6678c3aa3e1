"""Travel-time and distance matrices between road graph nodes.

Durations are integer seconds of the fastest path (edge ``travel_time``); distances are integer
metres of that same path, so a leg's time and distance describe one real route. Among equally
fast paths (to the millisecond) the shorter one counts. Every method gives the same numbers:
each edge is rounded once to milliseconds and centimetres and paths are summed in integers (see
`geo._edges`), then totals are rounded half up to seconds and metres.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from geo import _chains
from geo._edges import (
    MS_PER_S,
    SCHEMES,
    EdgeArrays,
    dijkstra_columns,
    edge_arrays,
    fingerprint,
    simple_graph,
)
from geo.errors import GraphError

logger = logging.getLogger(__name__)

NO_PATH = 10**9
"""Travel time (s) or distance (m) meaning there is no path."""

METHODS = ("auto", "scipy", "chains", "ch")
"""``scipy``: Dijkstra on the whole graph from each distinct location, the plain reference.
``chains``: Dijkstra on the junction graph with degree-2 chains contracted; same answers, about
eight times faster on an unsimplified OSM graph (2,000 x 2,000 on Andorra: 0.5 s against 4 s).
``ch``: durations from a customisable contraction hierarchy (`pyroutingkit`), distances from
``chains``, since a 32-bit hierarchy cannot carry the length of the fastest path; so it is
slower than ``chains`` and kept as an independent check. ``auto``: ``scipy`` for a handful of
locations, else ``chains``."""

_AUTO_SCIPY_MAX_LOCATIONS = 4
"""Up to this many distinct locations, a few whole-graph searches cost no more than chains."""

_CACHE_VERSION = "1"


@dataclass(frozen=True, eq=False)
class Matrices:
    """Square int64 matrices, row = from, column = to, in the order of the nodes asked for:
    `durations` in seconds, `distances` in metres; diagonal 0; `NO_PATH` where there is none."""

    durations: np.ndarray
    distances: np.ndarray

    def __post_init__(self) -> None:
        for name in ("durations", "distances"):
            values = getattr(self, name)
            if values.ndim != 2 or values.shape[0] != values.shape[1]:
                msg = f"{name} must be a square matrix, got shape {values.shape}"
                raise ValueError(msg)
            if values.dtype != np.int64:
                msg = f"{name} must be int64, got {values.dtype}"
                raise ValueError(msg)
        if self.durations.shape != self.distances.shape:
            msg = (
                f"durations {self.durations.shape} and distances {self.distances.shape} "
                "must have the same shape"
            )
            raise ValueError(msg)

    @property
    def num_locations(self) -> int:
        return int(self.durations.shape[0])


def travel_matrices(
    graph: nx.MultiDiGraph,
    nodes: Sequence[int],
    *,
    method: str = "auto",
    cache_dir: Path | None = None,
) -> Matrices:
    """Fastest-path durations and distances between graph `nodes` (duplicates allowed).

    Parameters
    ----------
    graph
        A road graph with float edge attributes ``travel_time`` (s) and ``length`` (m), as
        `geo.load_network` makes.
    nodes
        Graph node ids, e.g. from `geo.nearest_nodes`.
    method
        One of `METHODS`; all give the same matrices.
    cache_dir
        When given, matrices are kept there as ``.npy`` files keyed by the graph's content and
        the node list, so a second call with the same graph and nodes reads them back.
    """
    if method not in METHODS:
        msg = f"method {method!r} is not one of {', '.join(METHODS)}"
        raise ValueError(msg)
    arrays = edge_arrays(graph)
    if len(nodes) == 0:
        empty = np.zeros((0, 0), dtype=np.int64)
        return Matrices(durations=empty, distances=empty.copy())
    locations = arrays.index_of(np.asarray(nodes))
    ids = arrays.node_ids[locations]

    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"matrices-{_cache_key(arrays, ids)}.npy"
        cached = _read_cache(path, len(ids))
        if cached is not None:
            return cached

    unique, repeats = np.unique(locations, return_inverse=True)
    inverse: np.ndarray | None = repeats
    if len(unique) == len(locations):  # no duplicates: keep the caller's order, skip a copy
        unique, inverse = locations, None
    if method == "auto":
        method = "scipy" if len(unique) <= _AUTO_SCIPY_MAX_LOCATIONS else "chains"
    ms, centimetres = _compute(arrays, unique, method, cache_dir)
    durations = np.where(ms < 0, NO_PATH, (ms + MS_PER_S // 2) // MS_PER_S)
    distances = np.where(centimetres < 0, NO_PATH, (centimetres + 50) // 100)
    if inverse is not None:
        durations = durations[np.ix_(inverse, inverse)]
        distances = distances[np.ix_(inverse, inverse)]
    result = Matrices(
        durations=durations.astype(np.int64, copy=False),
        distances=distances.astype(np.int64, copy=False),
    )
    if path is not None:
        _write_cache(path, result)
    return result


def _compute(
    arrays: EdgeArrays, unique: np.ndarray, method: str, cache_dir: Path | None
) -> tuple[np.ndarray, np.ndarray]:
    """(milliseconds, centimetres) between distinct node indices, -1 where there is no path."""
    for scheme in SCHEMES:
        ms_edge, units_edge = scheme.edge_weights(arrays)
        graph = simple_graph(arrays.tail, arrays.head, scheme.pack(ms_edge, units_edge))
        max_edge = float(graph.weight.max(initial=0.0))
        if method == "scipy":
            packed, max_label = dijkstra_columns(graph.csr(arrays.num_nodes), unique, unique)
        else:
            chains = _chains.decompose(graph, arrays.num_nodes)
            packed, max_label = _chains.many_to_many(chains, unique)
        if not scheme.exact(max_label + max_edge, arrays, units_edge):
            logger.info("path sums overflow %s; retrying with a coarser length unit", scheme)
            continue
        ms, units = scheme.unpack(packed)
        centimetres = np.where(units < 0, -1, units * scheme.length_unit_cm)
        if method == "ch":
            ms = _ch_durations(arrays, graph, ms_edge, unique, ms, cache_dir)
        return ms, centimetres
    msg = (
        "paths in this road graph are too long to sum exactly (over 149 h or 16,777 km): "
        "load a smaller region"
    )
    raise GraphError(msg)


def _ch_durations(
    arrays: EdgeArrays,
    graph: Any,
    ms_edge: np.ndarray,
    unique: np.ndarray,
    expected_ms: np.ndarray,
    cache_dir: Path | None,
) -> np.ndarray:
    """Durations (ms) from a customisable contraction hierarchy over the same simple graph."""
    try:
        from pyroutingkit import INF_WEIGHT, CCHMetric, CCHTopology
    except ImportError as exc:
        msg = "method 'ch' needs the pyroutingkit package: install it, or use method='chains'"
        raise ValueError(msg) from exc
    weights = ms_edge[graph.edge]
    if len(weights) and int(weights.max()) >= INF_WEIGHT:
        msg = "an edge takes longer than the contraction hierarchy can hold: use 'chains'"
        raise GraphError(msg)
    topology = _topology(arrays, graph, cache_dir, CCHTopology)
    metric = CCHMetric(topology)
    metric.customize(weights.astype(np.uint32))
    loc = unique.astype(np.uint32)
    raw = metric.distances_many_to_many(loc, loc).astype(np.int64)
    ms = np.where(raw >= INF_WEIGHT, -1, raw)
    np.fill_diagonal(ms, 0)
    if not np.array_equal(ms, expected_ms):
        msg = "the contraction hierarchy and Dijkstra disagree; this is a bug in geo.matrix"
        raise RuntimeError(msg)
    return np.asarray(ms)


def _topology(arrays: EdgeArrays, graph: Any, cache_dir: Path | None, topology_type: Any) -> Any:
    """The hierarchy's topology (the expensive part), read from or saved to `cache_dir`."""
    topology = topology_type()
    folder = None
    if cache_dir is not None:
        folder = Path(cache_dir) / f"cch-{_CACHE_VERSION}-{fingerprint(arrays)[:32]}"
        if folder.is_dir():
            try:
                topology.load(str(folder))
                return topology
            except (OSError, RuntimeError, ValueError):
                logger.warning("unreadable hierarchy cache %s; rebuilding it", folder)
                topology = topology_type()
    topology.build(
        graph.tail.astype(np.uint32),
        graph.head.astype(np.uint32),
        arrays.lats.astype(np.float32),
        arrays.lons.astype(np.float32),
        arrays.num_nodes,
    )
    if folder is not None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".cch-", dir=folder.parent))
        topology.save(str(staging))
        try:
            os.replace(staging, folder)
        except OSError:  # another process saved it first
            _remove_tree(staging)
    return topology


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _cache_key(arrays: EdgeArrays, ids: np.ndarray) -> str:
    digest = hashlib.sha256(f"matrices|{_CACHE_VERSION}|{fingerprint(arrays)}|".encode())
    digest.update(ids.astype("<i8").tobytes())
    return digest.hexdigest()[:40]


def _read_cache(path: Path, size: int) -> Matrices | None:
    if not path.is_file():
        return None
    try:
        stacked = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        logger.warning("unreadable matrix cache %s; recomputing it", path)
        return None
    if stacked.shape != (2, size, size) or stacked.dtype != np.int64:
        return None
    return Matrices(durations=stacked[0].copy(), distances=stacked[1].copy())


def _write_cache(path: Path, matrices: Matrices) -> None:
    """Write to a temporary file then rename it, so a crash never leaves a partial cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".matrices-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, np.stack([matrices.durations, matrices.distances]))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
