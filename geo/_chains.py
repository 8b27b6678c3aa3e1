"""Exact many-to-many fastest paths on a road graph with its degree-2 chains contracted.

An unsimplified OSM graph is mostly chains: nodes on a street between two junctions (Andorra's
22,700 drive nodes have 1,600 junctions). A path that leaves a node inside a chain can only run
along the chain to one of its ends, so each location is joined to the junction graph by at most
two exits and two entries ("phantom nodes", as OSRM calls them), and Dijkstra runs on the small
junction graph from the distinct exits only. Pairs on the same chain also get the direct way
along it. The weights are the packed integers of `geo._edges`, so the answer is bit-for-bit the
one Dijkstra gives on the whole graph. `many_to_many` gives the weights (for matrices), `paths`
the edges of given legs (for route lines).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import dijkstra

from geo._edges import SimpleGraph, blocks, max_finite, simple_graph


@dataclass(frozen=True, eq=False)
class Chains:
    """The chain decomposition of a `SimpleGraph` over `num_nodes` nodes.

    For each edge e: `suffix[e]` is the weight from e's tail to the end of its chain, `last[e]`
    the junction the chain ends at, `prefix[e]` the weight from the chain's start through e,
    `first[e]` the chain's first edge and `rank[e]` e's position in the chain (1-based).
    """

    graph: SimpleGraph
    interior: np.ndarray
    junction_index: np.ndarray
    junctions: SimpleGraph
    num_junctions: int
    suffix: np.ndarray
    last: np.ndarray
    prefix: np.ndarray
    first: np.ndarray
    rank: np.ndarray
    in_start: np.ndarray
    in_order: np.ndarray


def decompose(graph: SimpleGraph, num_nodes: int) -> Chains:
    """Find the chains and build the junction graph."""
    tail, head, weight = graph.tail, graph.head, graph.weight
    num_edges = len(tail)
    outdeg = np.bincount(tail, minlength=num_nodes)
    indeg = np.bincount(head, minlength=num_nodes)
    out_start = np.zeros(num_nodes + 1, dtype=np.int64)
    np.cumsum(outdeg, out=out_start[1:])
    interior = _interior_nodes(graph, num_nodes, outdeg, indeg, out_start)

    while True:
        nxt = np.full(num_edges, -1, dtype=np.int64)
        into = np.nonzero(interior[head])[0]
        first_out = out_start[head[into]]
        # the edge leaving the interior node that does not turn straight back
        nxt[into] = np.where(head[first_out] == tail[into], first_out + 1, first_out)
        prv = np.full(num_edges, -1, dtype=np.int64)
        prv[nxt[into]] = into
        suffix, last, open_next = _jump(weight.astype(np.float64), head.copy(), nxt)
        prefix, first, open_prev = _jump(weight.astype(np.float64), np.arange(num_edges), prv)
        rank, _, _ = _jump(np.ones(num_edges), np.zeros(num_edges, np.int64), prv)
        cycling = open_next | open_prev
        if not cycling.any():
            break
        # a ring with no junction at all (an isolated roundabout, say): make its nodes junctions
        interior[head[cycling]] = False
        interior[tail[cycling]] = False

    junction_nodes = np.nonzero(~interior)[0]
    junction_index = np.full(num_nodes, -1, dtype=np.int64)
    junction_index[junction_nodes] = np.arange(len(junction_nodes))
    starts = np.nonzero(~interior[tail])[0]
    junctions = simple_graph(
        junction_index[tail[starts]], junction_index[last[starts]], suffix[starts], starts
    )
    in_order = np.argsort(head, kind="stable")
    in_start = np.zeros(num_nodes + 1, dtype=np.int64)
    np.cumsum(indeg, out=in_start[1:])
    return Chains(
        graph=graph,
        interior=interior,
        junction_index=junction_index,
        junctions=junctions,
        num_junctions=len(junction_nodes),
        suffix=suffix,
        last=last,
        prefix=prefix,
        first=first,
        rank=rank.astype(np.int64),
        in_start=in_start,
        in_order=in_order,
    )


def _interior_nodes(
    graph: SimpleGraph,
    num_nodes: int,
    outdeg: np.ndarray,
    indeg: np.ndarray,
    out_start: np.ndarray,
) -> np.ndarray:
    """Nodes in the middle of a one-way chain (one way in, another way out) or of a two-way
    chain (in from and out to the same two neighbours)."""
    tail, head = graph.tail, graph.head
    num_edges = len(tail)
    if num_edges == 0:
        return np.zeros(num_nodes, dtype=bool)
    first = np.minimum(out_start[:-1], num_edges - 1)
    second = np.minimum(out_start[:-1] + 1, num_edges - 1)
    succ0 = np.where(outdeg > 0, head[first], -1)
    succ1 = np.where(outdeg > 1, head[second], -1)
    pred_min = np.full(num_nodes, np.iinfo(np.int64).max)
    pred_max = np.full(num_nodes, -1, dtype=np.int64)
    np.minimum.at(pred_min, head, tail)
    np.maximum.at(pred_max, head, tail)
    one_way = (indeg == 1) & (outdeg == 1) & (pred_min != succ0)
    two_way = (indeg == 2) & (outdeg == 2) & (pred_min == succ0) & (pred_max == succ1)
    return np.asarray(one_way | two_way)


def _jump(
    values: np.ndarray, ends: np.ndarray, pointer: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointer jumping along `pointer` (-1 ends a list): the sum of `values` from each element
    to the end of its list, the `ends` value of the list's last element, and which elements
    never reached an end (they are on a cycle)."""
    total = values.copy()
    end = ends.copy()
    ptr = pointer.copy()
    for _ in range(max(1, int(len(ptr)).bit_length() + 1)):
        live = np.nonzero(ptr >= 0)[0]
        if live.size == 0:
            break
        target = ptr[live]
        total[live] = total[live] + total[target]
        end[live] = end[target]
        ptr[live] = ptr[target]
    return total, end, ptr >= 0


@dataclass(frozen=True, eq=False)
class _Phantoms:
    """Up to two ways out of and into each location: junction index (-1: none) and weight."""

    exit_node: np.ndarray
    exit_weight: np.ndarray
    entry_node: np.ndarray
    entry_weight: np.ndarray
    in_edge: np.ndarray


def _phantoms(chains: Chains, locations: np.ndarray) -> _Phantoms:
    k = len(locations)
    exit_node = np.full((k, 2), -1, dtype=np.int64)
    entry_node = np.full((k, 2), -1, dtype=np.int64)
    exit_weight = np.full((k, 2), np.inf)
    entry_weight = np.full((k, 2), np.inf)
    in_edge = np.full((k, 2), -1, dtype=np.int64)
    at_junction = ~chains.interior[locations]
    rows = np.nonzero(at_junction)[0]
    exit_node[rows, 0] = entry_node[rows, 0] = chains.junction_index[locations[rows]]
    exit_weight[rows, 0] = entry_weight[rows, 0] = 0.0
    rows = np.nonzero(~at_junction)[0]
    g = chains.graph
    for slot in range(2):
        pos = chains.in_start[locations[rows]] + slot
        has = pos < chains.in_start[locations[rows] + 1]
        e = chains.in_order[pos[has]]
        r = rows[has]
        in_edge[r, slot] = e
        exit_node[r, slot] = chains.junction_index[chains.last[e]]
        exit_weight[r, slot] = chains.suffix[e] - g.weight[e]
        entry_node[r, slot] = chains.junction_index[g.tail[chains.first[e]]]
        entry_weight[r, slot] = chains.prefix[e]
    return _Phantoms(exit_node, exit_weight, entry_node, entry_weight, in_edge)


def many_to_many(chains: Chains, locations: np.ndarray) -> tuple[np.ndarray, float]:
    """Packed fastest-path weights between distinct node indices `locations` (row: from), inf
    where there is no path, and the largest finite partial sum for `FixedPoint.exact`."""
    k = len(locations)
    ph = _phantoms(chains, locations)
    valid_exit = ph.exit_node >= 0
    sources = np.unique(ph.exit_node[valid_exit])
    source_pos = np.full(chains.num_junctions, -1, dtype=np.int64)
    source_pos[sources] = np.arange(len(sources))
    entry_cols = np.where(ph.entry_node >= 0, ph.entry_node, 0)

    csr = chains.junctions.csr(chains.num_junctions)
    # via[x, t]: best weight from exit junction x into location t
    via = np.empty((len(sources), k), dtype=np.float64)
    max_label = 0.0
    for rows in blocks(len(sources), chains.num_junctions):
        dist = dijkstra(csr, directed=True, indices=sources[rows])
        max_label = max(max_label, max_finite(dist))
        best = dist[:, entry_cols[:, 0]] + ph.entry_weight[:, 0]
        np.minimum(best, dist[:, entry_cols[:, 1]] + ph.entry_weight[:, 1], out=best)
        via[rows] = best

    # every location has a first exit (itself at a junction, else the end of a chain)
    result = via[source_pos[ph.exit_node[:, 0]]]
    result += ph.exit_weight[:, 0][:, None]
    has = np.nonzero(valid_exit[:, 1])[0]
    if has.size:
        second = via[source_pos[ph.exit_node[has, 1]]] + ph.exit_weight[has, 1][:, None]
        result[has] = np.minimum(result[has], second)
    ends = np.concatenate([ph.exit_weight[valid_exit], ph.entry_weight[ph.entry_node >= 0]])
    max_label += float(ends.max(initial=0.0)) * 2

    _same_chain(chains, ph, result)
    np.fill_diagonal(result, 0.0)
    return result, max_label


def _same_chain(chains: Chains, ph: _Phantoms, result: np.ndarray) -> None:
    """Lower `result` to the direct way along a chain for two locations inside the same chain,
    the second one further along it."""
    slot_rows, slots = np.nonzero(ph.in_edge >= 0)
    if slot_rows.size < 2:
        return
    edges = ph.in_edge[slot_rows, slots]
    chain = chains.first[edges]
    order = np.lexsort((chains.rank[edges], chain))
    chain, edges, slot_rows = chain[order], edges[order], slot_rows[order]
    bounds = np.nonzero(np.diff(chain))[0] + 1
    for group in np.split(np.arange(len(chain)), bounds):
        if len(group) < 2:
            continue
        at = chains.prefix[edges[group]]
        who = slot_rows[group]
        # entries sorted by rank along the chain: from i to j (i before j) costs at[j] - at[i]
        direct = at[None, :] - at[:, None]
        later = np.triu(np.ones((len(group), len(group)), dtype=bool), k=1)
        rows, cols = np.nonzero(later)
        cur = result[who[rows], who[cols]]
        result[who[rows], who[cols]] = np.minimum(cur, direct[rows, cols])


def paths(
    chains: Chains, sources: np.ndarray, targets: np.ndarray
) -> tuple[list[np.ndarray | None], float]:
    """The fastest path of each leg `sources[i]` -> `targets[i]` (distinct node indices), as
    indices of `chains.graph` edges in travel order (None: no path), and the largest finite
    partial sum for `FixedPoint.exact`.

    A path's weight is the `many_to_many` entry of its pair, so it is the path the matrices
    measure; among equally fast and long paths the choice is deterministic but arbitrary.
    Dijkstra runs on the junction graph from the exits of the distinct sources only, a block
    of sources at a time, then each junction hop is expanded into its chain.
    """
    num_legs = len(sources)
    found: list[np.ndarray | None] = [None] * num_legs
    if num_legs == 0:
        return found, 0.0
    walk = _ChainWalk.of(chains)
    src, dst = _phantoms(chains, sources), _phantoms(chains, targets)
    direct, direct_slots = _direct(chains, src, dst)
    junctions, num_junctions = chains.junctions, chains.num_junctions
    hop_keys = junctions.tail * num_junctions + junctions.head
    csr = junctions.csr(num_junctions)

    locations, leg_location = np.unique(sources, return_inverse=True)
    by_location = np.argsort(leg_location, kind="stable")
    bounds = np.searchsorted(leg_location[by_location], np.arange(len(locations) + 1))
    max_label = 0.0
    # a block's Dijkstra rows are the (at most two) exits of each of its source locations
    for rows in blocks(len(locations), 2 * num_junctions):
        legs = by_location[bounds[rows.start] : bounds[rows.stop]]
        exits = src.exit_node[legs]
        starts = np.unique(exits[exits >= 0])
        dist, pred = dijkstra(csr, directed=True, indices=starts, return_predecessors=True)
        max_label = max(max_label, max_finite(dist))
        row_of = np.full(num_junctions, -1, dtype=np.int64)
        row_of[starts] = np.arange(len(starts))
        exit_rows = row_of[np.maximum(exits, 0)]
        entry_cols = np.maximum(dst.entry_node[legs], 0)
        # via[leg, exit slot, entry slot]; an absent exit or entry has an infinite weight
        via = dist[exit_rows[:, :, None], entry_cols[:, None, :]]
        via += src.exit_weight[legs][:, :, None] + dst.entry_weight[legs][:, None, :]
        via = via.reshape(len(legs), 4)
        best = np.argmin(via, axis=1)
        best_via = via[np.arange(len(legs)), best]
        for i, leg in enumerate(legs.tolist()):
            if direct[leg] <= best_via[i] and np.isfinite(direct[leg]):
                s, t = direct_slots[leg]
                found[leg] = walk.between(int(src.in_edge[leg, s]), int(dst.in_edge[leg, t]))
                continue
            if not np.isfinite(best_via[i]):
                continue
            s, t = divmod(int(best[i]), 2)
            hops = _hops(pred[exit_rows[i, s]], int(exits[i, s]), int(dst.entry_node[leg, t]))
            chain_starts = junctions.edge[
                np.searchsorted(hop_keys, hops[:-1] * num_junctions + hops[1:])
            ]
            parts = [walk.after(int(src.in_edge[leg, s]))]
            parts += [walk.whole(int(start)) for start in chain_starts]
            parts.append(walk.upto(int(dst.in_edge[leg, t])))
            found[leg] = np.concatenate(parts)
    ends = np.concatenate(
        [src.exit_weight[src.exit_node >= 0], dst.entry_weight[dst.entry_node >= 0]]
    )
    return found, max_label + float(ends.max(initial=0.0)) * 2


def _direct(chains: Chains, src: _Phantoms, dst: _Phantoms) -> tuple[np.ndarray, np.ndarray]:
    """Per leg, the weight of the direct way along a chain both ends lie inside, the target
    further along it (inf: none), and the (source, target) in-edge slots it uses."""
    e_a = src.in_edge[:, :, None]
    e_b = dst.in_edge[:, None, :]
    inside = (e_a >= 0) & (e_b >= 0)
    a, b = np.maximum(e_a, 0), np.maximum(e_b, 0)
    along = inside & (chains.first[a] == chains.first[b]) & (chains.rank[b] > chains.rank[a])
    weight = np.where(along, chains.prefix[b] - chains.prefix[a], np.inf).reshape(-1, 4)
    best = np.argmin(weight, axis=1)
    slots = np.stack(np.divmod(best, 2), axis=1)
    return weight[np.arange(len(weight)), best], slots


def _hops(pred: np.ndarray, source: int, target: int) -> np.ndarray:
    """Junctions from `source` to `target` along a Dijkstra predecessor row (target reached)."""
    chain = [target]
    node = target
    while node != source:
        node = int(pred[node])
        chain.append(node)
    return np.asarray(chain[::-1], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class _ChainWalk:
    """The edges of every chain laid out in travel order: `order[pos[e]]` is edge e, and a
    chain's edges are `order[pos[first] : pos[first] + size[first]]`."""

    chains: Chains
    order: np.ndarray
    pos: np.ndarray
    size: np.ndarray

    @classmethod
    def of(cls, chains: Chains) -> _ChainWalk:
        order = np.lexsort((chains.rank, chains.first))
        pos = np.empty_like(order)
        pos[order] = np.arange(len(order))
        size = np.bincount(chains.first, minlength=len(order))
        return cls(chains, order, pos, size)

    def whole(self, start: int) -> np.ndarray:
        """The chain beginning with edge `start` (its tail a junction)."""
        return self.order[self.pos[start] : self.pos[start] + self.size[start]]

    def after(self, edge: int) -> np.ndarray:
        """The rest of `edge`'s chain after it; nothing for -1 (a source at a junction)."""
        if edge < 0:
            return self.order[:0]
        first = self.chains.first[edge]
        return self.order[self.pos[edge] + 1 : self.pos[first] + self.size[first]]

    def upto(self, edge: int) -> np.ndarray:
        """`edge`'s chain from its start through `edge`; nothing for -1 (a target junction)."""
        if edge < 0:
            return self.order[:0]
        return self.order[self.pos[self.chains.first[edge]] : self.pos[edge] + 1]

    def between(self, edge: int, later: int) -> np.ndarray:
        """The edges after `edge` through `later`, further along the same chain."""
        return self.order[self.pos[edge] + 1 : self.pos[later] + 1]
