"""Many-to-many travel-time matrices: Doorstep's methods against networkx and scipy.

Run: `.venv/bin/python -m benchmarks.matrices [--quick] [--full]` (or `make bench-matrices`).
Times square matrices between distinct random drive-graph nodes (seeded) on three graphs: the
bundled sample city (central Helsinki, 1,283 nodes, so its largest size is every node), the
Andorra extract in `../shared/osm/andorra.osm.pbf` (skipped when absent) and a synthetic
450 x 450 street grid of about 202,000 nodes. Methods: `geo.travel_matrices` with ``chains``
(what ``auto`` picks), ``ch`` and ``scipy`` (the reference), a plain
`scipy.sparse.csgraph.dijkstra` on a CSR built straight from the networkx graph, and networkx
`single_source_dijkstra_path_length` per source (on a capped subset of sources, extrapolated).

Every matrix is compared with the reference: Doorstep's methods must match it exactly
(durations and distances), the plain ones within 1 s (they sum float seconds where Doorstep sums
milliseconds rounded per edge). Any disagreement exits non-zero without writing the results.

Takes about 6.5 minutes on two cores and writes `benchmarks/results/matrices.md`. ``--quick``
runs the sample city at 100 and 300 locations only, in seconds, and writes nothing; ``--full``
adds 2,000 locations on the synthetic grid (about 15 minutes more).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import networkx as nx
import numpy as np
import pyroutingkit
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

import geo
import geo._chains
import geo.matrix
from doorstep.settings import Settings
from geo._edges import SCHEMES, FixedPoint, SimpleGraph, edge_arrays, simple_graph

ROOT = Path(__file__).resolve().parent.parent
ANDORRA = ROOT.parent / "shared" / "osm" / "andorra.osm.pbf"
RESULTS = Path(__file__).resolve().parent / "results" / "matrices.md"

REPEATS = 2
"""Each timing is run this many times and the fastest run kept (the machine is shared)."""

PLAIN_TOLERANCE_S = 1
"""Largest difference allowed between Doorstep's durations and a float-summing method's."""

BLOCK_ENTRIES = 2**23
"""Plain scipy runs Dijkstra in blocks of sources of at most this many entries, as Doorstep
does, so 500 rows over 200,000 nodes do not need 800 MB at once."""

DOORSTEP_METHODS = ("chains", "ch", "scipy")
REFERENCE = "scipy"


@dataclass(frozen=True)
class Case:
    """One graph and the matrix sizes to time on it."""

    name: str
    graph: nx.MultiDiGraph = field(repr=False)
    sizes: tuple[int, ...]
    networkx_max_sources: int
    setup_s: float

    def __post_init__(self) -> None:
        if not self.sizes or min(self.sizes) < 1:
            msg = f"sizes must be positive location counts, got {self.sizes}"
            raise ValueError(msg)
        if self.networkx_max_sources < 1:
            msg = f"networkx_max_sources must be at least 1, got {self.networkx_max_sources}"
            raise ValueError(msg)


@dataclass(frozen=True)
class Timing:
    """Seconds of one run: `prep` (independent of the locations), `query` (the searches between
    them), `total` (the whole call, so also what is neither); `notes` names sub-stages."""

    prep_s: float
    query_s: float
    total_s: float
    notes: str = ""

    @property
    def other_s(self) -> float:
        return max(0.0, self.total_s - self.prep_s - self.query_s)


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    graph: str
    num_locations: int
    method: str
    timing: Timing
    max_diff: int
    allowed_diff: int
    extrapolated_from: int | None = None

    @property
    def agrees(self) -> bool:
        return self.max_diff <= self.allowed_diff


def synthetic_grid(side: int = 450, *, seed: int = 7) -> nx.MultiDiGraph:
    """A `side` x `side` street grid as an osmnx-style drive graph, its largest strongly
    connected part: blocks of 80-130 m, faster arterials every tenth street, 8 % of street
    segments missing and 10 % one-way; nodes carry ``x``/``y`` in degrees (about 100 m apart
    near 60 N), edges ``length`` (m), ``speed_kph`` and ``travel_time`` (s)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(side * side).reshape(side, side)
    tail = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    head = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    kept = rng.random(len(tail)) >= 0.08
    tail, head = tail[kept], head[kept]
    row_t, col_t = np.divmod(tail, side)
    row_h, col_h = np.divmod(head, side)
    arterial = ((row_t % 10 == 0) & (row_h % 10 == 0)) | ((col_t % 10 == 0) & (col_h % 10 == 0))
    speed = np.where(
        arterial,
        rng.choice([50.0, 60.0, 70.0, 80.0], len(tail)),
        rng.choice([20.0, 30.0, 40.0, 50.0], len(tail)),
    )
    length = 100.0 * rng.uniform(0.8, 1.3, len(tail))
    travel_time = length / (speed / 3.6)
    one_way = rng.random(len(tail)) < 0.10
    backwards = rng.random(len(tail)) < 0.5

    graph = nx.MultiDiGraph(crs="epsg:4326", name=f"synthetic grid {side}x{side}", mode="drive")
    rows, cols = np.divmod(np.arange(side * side), side)
    graph.add_nodes_from(
        (node, {"y": 60.0 + r * 0.0009, "x": 24.0 + c * 0.0018})
        for node, r, c in zip(range(side * side), rows.tolist(), cols.tolist(), strict=True)
    )
    edges = []
    for u, v, m, kph, s, one, back in zip(
        tail.tolist(),
        head.tolist(),
        length.tolist(),
        speed.tolist(),
        travel_time.tolist(),
        one_way.tolist(),
        backwards.tolist(),
        strict=True,
    ):
        if not (one and back):
            edges.append((u, v, {"length": m, "speed_kph": kph, "travel_time": s}))
        if not one or back:
            edges.append((v, u, {"length": m, "speed_kph": kph, "travel_time": s}))
    graph.add_edges_from(edges)
    largest = max(nx.strongly_connected_components(graph), key=len)
    graph.remove_nodes_from([node for node in list(graph) if node not in largest])
    return graph


PREP_STAGES = ("arrays", "weights", "simple graph", "csr", "decompose", "topology", "customise")
"""Stages of `geo.travel_matrices` that do not depend on the locations."""

QUERY_STAGES = ("dijkstra", "chains query", "ch query")
"""Stages that search between the locations."""


@contextmanager
def _stage_clock() -> Iterator[dict[str, float]]:
    """Seconds spent in each stage of `geo.travel_matrices` while inside, by wrapping the
    functions it calls (private to geo: the public API does not expose the split). A stage
    called from inside another (the junction CSR inside the chains query) counts for the outer
    one only."""
    spent: dict[str, float] = defaultdict(float)
    depth = [0]

    def timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            depth[0] += 1
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    spent[name] += time.perf_counter() - start

        return wrapper

    class TimedMetric(pyroutingkit.CCHMetric):
        def customize(self, weights: np.ndarray) -> Any:
            return timed("customise", super().customize)(weights)

        def distances_many_to_many(self, sources: np.ndarray, targets: np.ndarray) -> Any:
            return timed("ch query", super().distances_many_to_many)(sources, targets)

    stages: tuple[tuple[Any, str, str], ...] = (
        (geo.matrix, "edge_arrays", "arrays"),
        (FixedPoint, "edge_weights", "weights"),
        (FixedPoint, "pack", "weights"),
        (geo.matrix, "simple_graph", "simple graph"),
        (SimpleGraph, "csr", "csr"),
        (geo.matrix, "dijkstra_columns", "dijkstra"),
        (geo.matrix, "_topology", "topology"),
        (geo._chains, "decompose", "decompose"),
        (geo._chains, "many_to_many", "chains query"),
    )
    with ExitStack() as stack:
        for owner, attr, name in stages:
            stack.enter_context(mock.patch.object(owner, attr, timed(name, getattr(owner, attr))))
        stack.enter_context(mock.patch.object(pyroutingkit, "CCHMetric", TimedMetric))
        yield spent


def doorstep_matrices(
    graph: nx.MultiDiGraph, nodes: list[int], method: str
) -> tuple[geo.Matrices, Timing]:
    """One `geo.travel_matrices` call (no cache): its matrices, and its time split into
    `PREP_STAGES`, `QUERY_STAGES` and the rest (ids to indices, unpacking, rounding)."""
    with _stage_clock() as spent:
        start = time.perf_counter()
        result = geo.travel_matrices(graph, nodes, method=method)
        total = time.perf_counter() - start
    prep = sum(spent.get(name, 0.0) for name in PREP_STAGES)
    query = sum(spent.get(name, 0.0) for name in QUERY_STAGES)
    shown = ("arrays", "csr", "decompose", "topology", "customise", "chains query", "ch query")
    notes = ", ".join(f"{name} {_number(spent[name])}" for name in shown if name in spent)
    return result, Timing(prep_s=prep, query_s=query, total_s=total, notes=notes)


def plain_scipy_durations(graph: nx.MultiDiGraph, nodes: list[int]) -> tuple[np.ndarray, Timing]:
    """Durations (s, rounded half up) from `scipy.sparse.csgraph.dijkstra` on a CSR of edge
    ``travel_time`` built straight from the graph, the fastest of parallel edges kept."""
    start = time.perf_counter()
    node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    position = {node: i for i, node in enumerate(node_ids.tolist())}
    tails, heads, seconds = [], [], []
    for u, v, s in graph.edges(data="travel_time"):
        tails.append(position[u])
        heads.append(position[v])
        seconds.append(s)
    tail, head, weight = np.array(tails), np.array(heads), np.array(seconds, dtype=np.float64)
    order = np.lexsort((weight, head, tail))
    tail, head, weight = tail[order], head[order], weight[order]
    fastest = np.ones(len(tail), dtype=bool)
    fastest[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    n = len(node_ids)
    csr = sp.csr_matrix((weight[fastest], (tail[fastest], head[fastest])), shape=(n, n))
    locations = np.array([position[node] for node in nodes], dtype=np.int64)
    prep = time.perf_counter() - start

    start = time.perf_counter()
    seconds_matrix = np.empty((len(locations), len(locations)))
    step = max(1, BLOCK_ENTRIES // n)
    for first in range(0, len(locations), step):
        block = locations[first : first + step]
        seconds_matrix[first : first + step] = dijkstra(csr, directed=True, indices=block)[
            :, locations
        ]
    query = time.perf_counter() - start
    return _whole_seconds(seconds_matrix), Timing(prep, query, prep + query)


def networkx_durations(
    graph: nx.MultiDiGraph, nodes: list[int], max_sources: int
) -> tuple[np.ndarray, Timing, int]:
    """Durations (s, rounded half up) from the first `max_sources` of `nodes` to all of them by
    networkx per-source Dijkstra on ``travel_time``, the time extrapolated linearly to every
    source, and the number of sources actually run."""
    sources = nodes[:max_sources]
    seconds_matrix = np.full((len(sources), len(nodes)), np.inf)
    start = time.perf_counter()
    for row, source in enumerate(sources):
        lengths = nx.single_source_dijkstra_path_length(graph, source, weight="travel_time")
        seconds_matrix[row] = [lengths.get(node, np.inf) for node in nodes]
    spent = time.perf_counter() - start
    query = spent * len(nodes) / len(sources)
    return _whole_seconds(seconds_matrix), Timing(0.0, query, query), len(sources)


def _whole_seconds(seconds: np.ndarray) -> np.ndarray:
    finite = np.isfinite(seconds)
    whole = np.floor(np.where(finite, seconds, 0.0) + 0.5).astype(np.int64)
    return np.where(finite, whole, geo.NO_PATH)


def _max_diff(values: np.ndarray, reference: np.ndarray) -> int:
    if values.size == 0:
        return 0
    return int(np.abs(values.astype(np.int64) - reference.astype(np.int64)).max())


def _best(runs: list[Any], timing_of: Callable[[Any], Timing]) -> Any:
    return min(runs, key=lambda run: timing_of(run).total_s)


def run_case(case: Case) -> list[Row]:
    """Every method at every size of `case`, fastest of `REPEATS` runs, checked against the
    reference."""
    rows: list[Row] = []
    ids = np.fromiter(case.graph.nodes, dtype=np.int64, count=case.graph.number_of_nodes())
    # nested location sets: the first k of one seeded permutation
    order = np.random.default_rng(2026).permutation(np.sort(ids)).tolist()
    for size in sorted({min(size, len(order)) for size in case.sizes}):
        nodes = order[:size]
        found: dict[str, tuple[geo.Matrices, Timing]] = {}
        for method in (REFERENCE, *[m for m in DOORSTEP_METHODS if m != REFERENCE]):
            runs = [doorstep_matrices(case.graph, nodes, method) for _ in range(REPEATS)]
            found[method] = _best(runs, lambda run: run[1])
        reference = found[REFERENCE][0]
        for method in DOORSTEP_METHODS:
            matrices, timing = found[method]
            diff = max(
                _max_diff(matrices.durations, reference.durations),
                _max_diff(matrices.distances, reference.distances),
            )
            label = "doorstep " + {"chains": "chains (auto)", "scipy": "scipy (reference)"}.get(
                method, method
            )
            rows.append(Row(case.name, size, label, timing, diff, allowed_diff=0))

        plain = _best(
            [plain_scipy_durations(case.graph, nodes) for _ in range(REPEATS)], lambda r: r[1]
        )
        diff = _max_diff(plain[0], reference.durations)
        rows.append(Row(case.name, size, "scipy csgraph", plain[1], diff, PLAIN_TOLERANCE_S))

        nx_runs = [
            networkx_durations(case.graph, nodes, case.networkx_max_sources) for _ in range(REPEATS)
        ]
        durations, timing, used = _best(nx_runs, lambda r: r[1])
        diff = _max_diff(durations, reference.durations[:used])
        rows.append(
            Row(
                case.name,
                size,
                "networkx per source",
                timing,
                diff,
                PLAIN_TOLERANCE_S,
                extrapolated_from=used if used < size else None,
            )
        )
        for row in rows[-len(DOORSTEP_METHODS) - 2 :]:
            print(_line(row), file=sys.stderr, flush=True)
    return rows


def _number(seconds: float) -> str:
    digits = 3 if seconds < 1 else 2 if seconds < 100 else 1
    return f"{seconds:.{digits}f}"


def _seconds(value: float, estimated: bool) -> str:
    return f"~{_number(value)}" if estimated else _number(value)


def _line(row: Row) -> str:
    est = row.extrapolated_from is not None
    t = row.timing
    prep, other = _seconds(t.prep_s, est), _seconds(t.other_s, est)
    if row.method.startswith("networkx"):
        prep = other = "–"
    notes = row.timing.notes
    if est:
        notes = f"extrapolated from {row.extrapolated_from} sources (rows checked: those)"
    elif row.method.startswith("networkx"):
        notes = "every source"
    verdict = "" if row.agrees else " DISAGREES"
    return (
        f"| {row.graph} | {row.num_locations:,} | {row.method} | {prep} | "
        f"{_seconds(t.query_s, est)} | {other} | {_seconds(t.total_s, est)} | "
        f"{row.max_diff}{verdict} | {notes} |"
    )


def _load(source: Path | None, cache: Path) -> tuple[nx.MultiDiGraph, float]:
    start = time.perf_counter()
    graph = geo.load_network(source, cache_dir=cache, modes=("drive",)).graph("drive")
    return graph, time.perf_counter() - start


def cases(*, quick: bool, full: bool) -> Iterator[Case]:
    """The graphs to time, each built or loaded only when its turn comes."""
    cache = Settings.from_env().cache_dir
    graph, seconds = _load(None, cache)
    sizes: tuple[int, ...] = (100, 300) if quick else (100, 500, 1000, 2000)
    yield Case("helsinki sample", graph, sizes, networkx_max_sources=500, setup_s=seconds)
    if quick:
        return
    if ANDORRA.exists():
        graph, seconds = _load(ANDORRA, cache)
        yield Case("andorra", graph, (100, 500, 1000, 2000), 20, setup_s=seconds)
    else:
        print(f"skipping Andorra: {ANDORRA} not found", file=sys.stderr)
    start = time.perf_counter()
    graph = synthetic_grid()
    seconds = time.perf_counter() - start
    sizes = (100, 500, 2000) if full else (100, 500)  # 2,000: about 15 minutes more
    yield Case("synthetic grid", graph, sizes, networkx_max_sources=3, setup_s=seconds)


def _graph_line(case: Case) -> str:
    arrays = edge_arrays(case.graph)
    scheme = SCHEMES[0]
    weights = scheme.pack(*scheme.edge_weights(arrays))
    simple = simple_graph(arrays.tail, arrays.head, weights)
    chains = geo._chains.decompose(simple, arrays.num_nodes)
    return (
        f"| {case.name} | {case.graph.number_of_nodes():,} | {case.graph.number_of_edges():,} | "
        f"{chains.num_junctions:,} | {case.setup_s:.1f} |"
    )


def report(rows: list[Row], graph_lines: list[str], elapsed: float, *, quick: bool) -> str:
    header = [
        "Many-to-many travel times between distinct random drive-graph nodes (seeded), "
        f"fastest of {REPEATS} runs, seconds; `.venv/bin/python -m benchmarks.matrices"
        f"{' --quick' if quick else ''}` (total run {elapsed / 60:.1f} min, "
        f"{os.cpu_count()} cores shared, pyroutingkit OpenMP "
        f"threads: {os.environ.get('OMP_NUM_THREADS', 'default')}).",
        "",
        "| graph | nodes | edges | junctions (chains) | load or build s |",
        "| --- | ---: | ---: | ---: | ---: |",
        *graph_lines,
        "",
        "Columns. **prep**: work that does not depend on the locations, yet is redone on every "
        "call (no cache) — for Doorstep the graph to arrays, integer edge weights, the simple "
        "graph, its CSR (scipy), the chain decomposition (chains, ch) and the CH topology and "
        "customisation (ch); for plain scipy building the CSR from the networkx graph. "
        "**query**: the shortest-path searches between the locations — Doorstep scipy: "
        "Dijkstra on the whole graph from each location; chains: Dijkstra on the junction "
        "graph plus the joins to the locations (`geo._chains.many_to_many`); ch: the "
        "hierarchy's many-to-many for durations *plus* the chains query for distances (the "
        "`ch` method needs both); plain scipy: the `dijkstra` calls; networkx: the per-source "
        "loop. **other**: the rest of the call (node ids to indices, unpacking, rounding, the "
        "ch cross-check). **total**: the whole call, for Doorstep "
        "`geo.travel_matrices(graph, nodes, method=...)`; the notes give its sub-stages. "
        "**max Δ**: largest difference from the reference (Doorstep scipy), in seconds and, "
        "for Doorstep's methods, metres; these must be 0, the float-summing plain methods "
        f"within {PLAIN_TOLERANCE_S} s. **~**: networkx run from the first few sources only, "
        "its time scaled linearly to all of them.",
        "",
        "| graph | locations | method | prep s | query s | other s | total s | max Δ | notes (s) |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    return "\n".join(header + [_line(row) for row in rows]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="sample city, 100 and 300 only")
    parser.add_argument("--full", action="store_true", help="add 2,000 on the synthetic grid")
    args = parser.parse_args()
    start = time.perf_counter()
    rows: list[Row] = []
    graph_lines: list[str] = []
    for case in cases(quick=args.quick, full=args.full):
        graph_lines.append(_graph_line(case))
        print(graph_lines[-1], file=sys.stderr, flush=True)
        rows.extend(run_case(case))
    text = report(rows, graph_lines, time.perf_counter() - start, quick=args.quick)
    print(text)
    bad = [row for row in rows if not row.agrees]
    if bad:
        names = "; ".join(f"{r.graph} {r.num_locations} {r.method} (Δ {r.max_diff})" for r in bad)
        sys.exit(f"matrices disagree with the reference: {names}; results not written")
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
