"""A realistic, deterministic sample day on any road network: visits, agents, crews, borrowers.

`generate_day` builds a day for a team of field agents from the road graphs of the travel modes
(osmnx-compatible `MultiDiGraph`s keyed "drive", "bike", "walk"; node attributes `x` = lon,
`y` = lat; edge attributes `length` in metres and, optionally, `travel_time` in seconds). The
same graphs and seed give the same day on every run and machine. Distances are scaled to the
graph's extent, so it works on a city centre of a square kilometre as well as on a region of
tens of kilometres.

The day is loaded like a real one: most agreed appointments can be kept and most flexible
visits served, but not every one. It also holds exactly one visit that no plan can serve for
each reason the pre-check can state (see `SampleDay.expected_unassigned`), each set up so that
only that reason applies.

With `pairs` (the default, as the default contact policy `cn` needs two agents on every home
visit) every team is a crew: pairs, and one crew of three (a trainee along) so that a visit
needing three agents can lack a crew. Without it most agents work alone, as before.

Every day also has a contact history (`SampleDay.history`): recent visits that block a
borrower under a policy with 7 days between visits, one visit exactly 7 days before, calls and
messages, older visits; one borrower is flagged `do_not_visit`, and every appointment records
when it was agreed. `write_sample` writes visits.csv, agents.csv and history.csv.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from doorstep.history import HistoryRecord
from optimizer.model import (
    Agent,
    BorrowerRule,
    Break,
    Crew,
    Location,
    TimeWindow,
    TravelMode,
    Visit,
    VisitKind,
)
from optimizer.plan import ReasonCode

__all__ = ["SAMPLE_DAY", "SAMPLE_TIMEZONE", "SampleDay", "generate_day", "write_sample"]

SAMPLE_DAY = date(2026, 11, 24)
"""The sample's plan day, a Tuesday."""
SAMPLE_TIMEZONE = "Europe/Helsinki"

MIN_VISITS = 10
MIN_AGENTS = 4
MIN_PAIR_AGENTS = 7
"""With `pairs`: a crew of three and two pairs (one of them part-time)."""
DEFAULT_PAIR_AGENTS = 25
"""With `pairs`: 12 crews, 11 pairs and a crew of three."""
DEFAULT_SOLO_AGENTS = 12
"""Without `pairs`: 10 lone agents and a pair."""
BLOCKING_FLAG = "do_not_visit"

_EARTH_RADIUS_M = 6_371_008.8
_SNAP_TOLERANCE_M = 30.0
"""A borrower's node must lie this close to a node of every mode's graph."""
_NO_ROAD_TARGET_M = 400.0
_NO_ROAD_RANGE_M = (300.0, 600.0)
_FASTEST_MPS = {"drive": 50 / 3.6, "bike": 25 / 3.6, "walk": 6 / 3.6}
"""Speeds no agent beats in a city, whatever speed model builds the travel matrices; used for
a lower bound of travel times."""
_TYPICAL_MPS = {"drive": 30 / 3.6, "bike": 18 / 3.6, "walk": 4.8 / 3.6}
"""Speeds for graphs without `travel_time`, to judge which appointments an agent can keep."""
_ETA_FACTOR, _ETA_EXTRA_S = 1.3, 180
"""An estimated trip: typical travel time times the factor plus parking and stairs."""
_MODE_REACH_M = {"drive": math.inf, "bike": 6_000.0, "walk": 1_500.0}
"""How far from their office an agent of the mode plausibly lives."""
_MAJOR_ROADS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})


# Skill profiles of the agents, in the order agents are created (cycled for larger teams).
# Every agent but one speaks Finnish; seniors take large balances. Some language is always
# spoken by a single agent but not by the crew (the crew visit that no crew can do needs it).
_PROFILES: tuple[frozenset[str], ...] = tuple(
    frozenset(p)
    for p in (
        ("lang:fi", "lang:sv", "lang:en", "senior"),
        ("lang:fi", "lang:en"),  # crew lead
        ("lang:fi", "lang:en", "senior"),  # crew member
        ("lang:fi", "lang:en"),  # part-timer, mornings only
        ("lang:fi", "lang:ru", "lang:en", "senior"),
        ("lang:fi", "lang:sv", "lang:en"),
        ("lang:fi", "lang:sv", "senior"),
        ("lang:fi", "lang:et", "lang:en", "senior"),
        ("lang:sv", "lang:en"),
        ("lang:fi", "lang:ru", "senior"),
        ("lang:fi", "lang:et", "lang:en"),
        ("lang:fi", "lang:sv", "lang:en"),
    )
)
_CREW_SLOTS = ((1, 2), (13, 14))
"""Agent indices that form crews (lead first); the second crew exists from 24 agents on."""
_PART_TIMER = 3

# With `pairs`: the members' profiles of each crew, lead first (pairs cycled for more crews).
# Every agent but one speaks Finnish, and most crews have a senior. The crew of three (a
# trainee along) speaks no Swedish, Russian or Estonian, so a visit that needs three agents
# and one of those languages has no crew: only pairs speak them.
_TRIO_PROFILES: tuple[frozenset[str], ...] = tuple(
    frozenset(p) for p in (("lang:fi", "lang:en", "senior"), ("lang:fi", "lang:en"), ("lang:fi",))
)
_PAIR_PROFILES: tuple[tuple[frozenset[str], ...], ...] = tuple(
    tuple(frozenset(p) for p in pair)
    for pair in (
        (("lang:fi", "lang:sv", "lang:en", "senior"), ("lang:sv", "lang:en")),
        (("lang:fi", "lang:en"), ("lang:fi", "lang:en")),  # part-time, mornings only
        (("lang:fi", "lang:ru", "lang:en", "senior"), ("lang:fi", "lang:en")),
        (("lang:fi", "lang:sv", "lang:en"), ("lang:fi", "senior")),
        (("lang:fi", "lang:et", "lang:en", "senior"), ("lang:fi", "lang:sv")),
        (("lang:fi", "lang:ru", "senior"), ("lang:fi", "lang:en")),
        (("lang:fi", "lang:et", "lang:en"), ("lang:fi", "lang:en", "senior")),
        (("lang:fi", "lang:sv", "lang:en"), ("lang:fi",)),
        (("lang:fi", "lang:en"), ("lang:fi", "lang:ru")),
        (("lang:fi", "lang:sv", "senior"), ("lang:fi", "lang:en")),
        (("lang:fi", "lang:et"), ("lang:fi", "lang:en", "senior")),
    )
)
_PART_TIME_PAIR = 1
"""Index among the pairs of the crew that works mornings only."""
_LANGUAGES = (
    ("lang:fi", 0.74),
    ("lang:sv", 0.11),
    ("lang:ru", 0.06),
    ("lang:en", 0.06),
    ("lang:et", 0.03),
)
_RARE_LANGUAGE = "lang:so"

_FIRST_FI = (
    "Aino",
    "Mikko",
    "Laura",
    "Juha",
    "Elina",
    "Antti",
    "Sanna",
    "Ville",
    "Heidi",
    "Timo",
    "Noora",
    "Jari",
    "Katja",
    "Petri",
    "Riikka",
    "Tuomas",
    "Hanna",
    "Janne",
    "Minna",
    "Olli",
    "Veera",
    "Lauri",
    "Satu",
    "Teemu",
)
_LAST_FI = (
    "Virtanen",
    "Korhonen",
    "Mäkinen",
    "Nieminen",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lehtonen",
    "Salonen",
    "Turunen",
    "Rantanen",
    "Karjalainen",
)
_NAMES = {
    "lang:sv": (
        "Johan Lindqvist",
        "Annika Nyström",
        "Fredrik Holmberg",
        "Sofia Sjöberg",
        "Henrik Ekholm",
        "Linnea Grönroos",
        "Mikael Wikström",
        "Emma Lindroos",
    ),
    "lang:ru": (
        "Olga Ivanova",
        "Dmitri Smirnov",
        "Natalia Volkova",
        "Sergei Petrov",
        "Irina Kuznetsova",
        "Aleksei Sokolov",
    ),
    "lang:et": ("Kadri Tamm", "Marko Saar", "Liis Kask", "Rasmus Sepp", "Triin Mägi"),
}

# Agreed appointment start times: relative weight of each hour of the day.
_HOUR_WEIGHTS = {
    8: 0.6,
    9: 1.0,
    10: 1.1,
    11: 0.9,
    12: 0.6,
    13: 0.9,
    14: 1.0,
    15: 1.0,
    16: 0.9,
    17: 0.6,
    18: 0.3,
}
_BROAD_WINDOWS = ((8 * 60, 12 * 60), (12 * 60, 17 * 60), (10 * 60, 16 * 60), (14 * 60, 18 * 60))
_BORROWER_HOURS = (
    ((10 * 60, 20 * 60), "asked not to be visited before 10:00"),
    ((8 * 60, 16 * 60), "asked not to be visited after 16:00"),
    ((15 * 60, 20 * 60), "works days; visits after 15:00 only"),
)


@dataclass(frozen=True)
class SampleDay:
    """A generated region-day and what a planner should make of it.

    `addresses` maps visit id to street text; `names` and `start_labels` map agent id to a
    display name and to where the agent starts ("office <street>" or "home").
    `expected_unassigned` maps the id of each visit that no plan can serve to the
    `ReasonCode` value the pre-check gives it. Besides those, one visit of each borrower who
    has two visits today must stay out (the borrower cap is one visit a day).

    `history` holds the borrowers' earlier contacts; `agreed_at` maps every appointment's id
    to when it was agreed (aware, in the day's time zone), `borrower_flags` the flagged
    borrowers to their flags. `expected_excluded` maps the id of each visit that a contact
    policy like the default `cn` (7 days between visits, attempts counted, calls and messages
    not, `do_not_visit` blocks) excludes to what its reason names: the ISO date of the
    borrower's last visit, or the flag. `earliest_starts` maps the id of each visit whose
    borrower was visited exactly 7 days before to the earliest start (seconds since local
    midnight) such a policy leaves it.
    """

    visits: tuple[Visit, ...]
    agents: tuple[Agent, ...]
    crews: tuple[Crew, ...]
    borrowers: tuple[BorrowerRule, ...]
    addresses: Mapping[str, str]
    names: Mapping[str, str]
    start_labels: Mapping[str, str]
    expected_unassigned: Mapping[str, str]
    history: tuple[HistoryRecord, ...]
    agreed_at: Mapping[str, datetime]
    borrower_flags: Mapping[str, frozenset[str]]
    expected_excluded: Mapping[str, str]
    earliest_starts: Mapping[str, int]
    day: date = SAMPLE_DAY
    timezone: str = SAMPLE_TIMEZONE

    @property
    def num_visits(self) -> int:
        return len(self.visits)

    @property
    def num_agents(self) -> int:
        return len(self.agents)


def generate_day(
    graphs: Mapping[str, nx.MultiDiGraph],
    *,
    num_visits: int = 120,
    num_agents: int | None = None,
    pairs: bool = True,
    seed: int = 7,
    day: date = SAMPLE_DAY,
    timezone: str = SAMPLE_TIMEZONE,
) -> SampleDay:
    """Generate a realistic sample day on the road graphs of the travel modes.

    Parameters
    ----------
    graphs
        Road graph per travel mode ("drive", "bike", "walk"; at least one). Borrowers live at
        nodes of the drive graph (or of the only graph given) that every mode can reach.
    num_visits, num_agents
        Size of the day; at least 10 visits (8 of them cannot be served) and 4 agents (7 with
        `pairs`). `num_agents` defaults to 25 with `pairs` (12 crews), else 12.
    pairs
        Every team a crew that visits together: pairs, and one crew of three (a trainee
        along; two such crews when `num_agents` is even). Each crew member shares the lead's
        start, end, shift, breaks and mode and brings their own skills. Without it, agents
        work alone but for one pair (two from 24 agents on).
    seed
        The same seed and graphs give the same day.
    day, timezone
        The plan day and the region's IANA time zone, carried in the result.

    Raises
    ------
    ValueError
        Too few visits or agents, no usable graph, or a graph too small to place the day on.
    """
    if num_agents is None:
        num_agents = DEFAULT_PAIR_AGENTS if pairs else DEFAULT_SOLO_AGENTS
    if num_visits < MIN_VISITS:
        msg = f"num_visits {num_visits} must be at least {MIN_VISITS}"
        raise ValueError(msg)
    least = MIN_PAIR_AGENTS if pairs else MIN_AGENTS
    if num_agents < least:
        msg = f"num_agents {num_agents} must be at least {least}" + (
            " when every team is a crew" if pairs else ""
        )
        raise ValueError(msg)
    modes = [m.value for m in TravelMode if m.value in graphs]
    if not modes:
        msg = f"graphs has none of the modes drive, bike, walk (got {sorted(graphs)})"
        raise ValueError(msg)
    generator = _Generator(graphs, modes, num_visits, num_agents, seed, day, timezone)
    return generator.run(pairs=pairs)


def write_sample(day: SampleDay, folder: Path) -> tuple[Path, Path, Path]:
    """Write the day as `folder`/visits.csv, agents.csv and history.csv; return the paths."""
    from doorstep.csvio import write_agents_csv, write_visits_csv
    from doorstep.history import write_history_csv

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    visits_path, agents_path = folder / "visits.csv", folder / "agents.csv"
    history_path = folder / "history.csv"
    write_visits_csv(
        visits_path,
        day.visits,
        addresses=day.addresses,
        borrowers=day.borrowers,
        agreed_at=day.agreed_at,
        borrower_flags=day.borrower_flags,
    )
    write_agents_csv(
        agents_path, day.agents, day.crews, names=day.names, start_labels=day.start_labels
    )
    write_history_csv(day.history, history_path)
    return visits_path, agents_path, history_path


# --- geometry ---------------------------------------------------------------------------


class _Plane:
    """A local equirectangular projection in metres: accurate to well under 1 % over a few
    tens of kilometres, which is all the generator needs."""

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0, self.lon0 = lat0, lon0
        self.kx = math.radians(1.0) * _EARTH_RADIUS_M * math.cos(math.radians(lat0))
        self.ky = math.radians(1.0) * _EARTH_RADIUS_M

    def xy(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        return np.column_stack(((lons - self.lon0) * self.kx, (lats - self.lat0) * self.ky))

    def latlon(self, x: float, y: float) -> tuple[float, float]:
        return self.lat0 + y / self.ky, self.lon0 + x / self.kx


@dataclass
class _ModeGraph:
    """One mode's graph as arrays: sorted nodes, their plane coordinates, a KD-tree, and a
    sparse matrix of lower-bound travel times (s) for Dijkstra."""

    name: str
    graph: nx.MultiDiGraph
    nodes: list[Any]
    xy: np.ndarray
    tree: cKDTree
    in_core: np.ndarray
    """Whether each node is in the graph's largest strongly connected part."""
    fastest: csr_matrix = field(repr=False)
    typical: csr_matrix = field(repr=False)
    """Travel times (s) as the edges' `travel_time` gives them, else at a typical speed."""

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dist, idx = self.tree.query(xy)
        return np.asarray(dist), np.asarray(idx)

    def lower_bound_times(self, sources: Sequence[int]) -> np.ndarray:
        """Lower bounds of travel times (s) from the node indices `sources` to every node."""
        return np.asarray(dijkstra(self.fastest, directed=True, indices=list(sources)))

    def typical_times(self, source: int) -> np.ndarray:
        """Travel times (s) from the node index `source` to every node, as usually driven."""
        return np.asarray(dijkstra(self.typical, directed=True, indices=source))


def _mode_graph(name: str, graph: nx.MultiDiGraph, plane: _Plane) -> _ModeGraph:
    nodes = sorted(graph.nodes)
    index = {n: k for k, n in enumerate(nodes)}
    lats = np.array([float(graph.nodes[n]["y"]) for n in nodes])
    lons = np.array([float(graph.nodes[n]["x"]) for n in nodes])
    xy = plane.xy(lats, lons)
    in_core = np.zeros(len(nodes), dtype=bool)
    if nodes:
        core = max(nx.strongly_connected_components(graph), key=len)
        in_core[[index[n] for n in core]] = True
    fastest: dict[tuple[int, int], float] = {}
    typical: dict[tuple[int, int], float] = {}
    for u, v, data in graph.edges(data=True):
        key = (index[u], index[v])
        if key[0] == key[1]:
            continue
        length = float(data.get("length", 0.0) or 0.0)
        usual = length / _TYPICAL_MPS[name]
        tt = data.get("travel_time")
        if isinstance(tt, int | float) and math.isfinite(tt) and tt >= 0:
            usual = float(tt)
        # Dijkstra reads an explicit 0 as "no edge"; keep zero-length edges usable.
        low = max(min(length / _FASTEST_MPS[name], usual), 1e-6)
        fastest[key] = min(fastest.get(key, math.inf), low)
        typical[key] = min(typical.get(key, math.inf), max(usual, 1e-6))
    return _ModeGraph(
        name,
        graph,
        nodes,
        xy,
        cKDTree(xy),
        in_core,
        _csr(fastest, len(nodes)),
        _csr(typical, len(nodes)),
    )


def _csr(weights: Mapping[tuple[int, int], float], size: int) -> csr_matrix:
    rows = np.fromiter((k[0] for k in weights), dtype=np.int64, count=len(weights))
    cols = np.fromiter((k[1] for k in weights), dtype=np.int64, count=len(weights))
    vals = np.fromiter(weights.values(), dtype=float, count=len(weights))
    return csr_matrix((vals, (rows, cols)), shape=(size, size))


def _text(value: object) -> str:
    """An OSM tag value as text: osmnx merges values into lists when it simplifies."""
    if isinstance(value, list | tuple):
        value = next((v for v in value if isinstance(v, str) and v), "")
    return value.strip() if isinstance(value, str) else ""


def _incident_edges(graph: nx.MultiDiGraph, node: Any) -> Iterable[dict[str, Any]]:
    for *_, data in graph.out_edges(node, data=True):
        yield data
    for *_, data in graph.in_edges(node, data=True):
        yield data


def _street_name(
    graph: nx.MultiDiGraph, node: Any, *, hops: int = 6, livable_only: bool = False
) -> str:
    """The name of the street at a node: the longest named edge nearest to it (within `hops`
    edges), preferring streets where people live to tunnels, bridges and trunk roads."""
    for livable in (True,) if livable_only else (True, False):
        frontier, seen = [node], {node}
        for _ in range(hops):
            named = sorted(
                (-float(data.get("length", 0.0) or 0.0), name)
                for n in frontier
                for data in _incident_edges(graph, n)
                if (name := _text(data.get("name"))) and (not livable or _livable(data))
            )
            if named:
                return named[0][1]
            nxt = []
            for n in frontier:
                for m in sorted(set(graph.successors(n)) | set(graph.predecessors(n))):
                    if m not in seen:
                        seen.add(m)
                        nxt.append(m)
            frontier = nxt
    return ""


def _livable(edge: Mapping[str, Any]) -> bool:
    """Whether an edge is a street someone could live on."""
    if _text(edge.get("tunnel")) not in ("", "no") or _text(edge.get("bridge")) not in ("", "no"):
        return False
    return _text(edge.get("highway")) not in _MAJOR_ROADS


def _is_residential(graph: nx.MultiDiGraph, node: Any) -> bool:
    """Whether anyone may live at the node: it touches a street that is not a motorway, a
    trunk road, a tunnel or a bridge."""
    return any(_livable(d) for d in _incident_edges(graph, node))


# --- times ------------------------------------------------------------------------------


def _s(minutes: int) -> int:
    return minutes * 60


def _tw(start_min: int, end_min: int) -> TimeWindow:
    return TimeWindow(_s(start_min), _s(end_min))


# --- the generator ----------------------------------------------------------------------


@dataclass
class _Team:
    """A route's worth of agents as the generator sees it (a crew moves as its lead)."""

    agent_ids: tuple[str, ...]
    mode: str
    start: int
    """Index of the start node in the drive (base) graph."""
    shift: tuple[int, int]
    """Minutes since midnight."""
    skills: frozenset[str]
    end: int
    """Index of the end node in the base graph."""
    last: int
    """The latest minute the team may be back at its end (its shift or working-time cap)."""

    @property
    def size(self) -> int:
        return len(self.agent_ids)


@dataclass
class _Draft:
    """A visit before ids are assigned."""

    node: int | None
    """Index into the base graph's nodes; -1 until placed, None for the visit with no road
    connection."""
    duration_min: int
    kind: VisitKind
    windows: tuple[tuple[int, int], ...] = ()
    priority: int = 20
    skills: frozenset[str] = frozenset()
    crew_size: int = 1
    allowed: frozenset[str] = frozenset()
    preferred: frozenset[str] = frozenset()
    borrower: int = -1
    """Index of the borrower (into the generator's borrower list)."""
    unservable: str = ""
    latlon: tuple[float, float] | None = None


@dataclass(frozen=True)
class _Contacts:
    """The contact history and what it means for the day (see `SampleDay`)."""

    history: tuple[HistoryRecord, ...]
    agreed_at: dict[str, datetime]
    flags: dict[str, frozenset[str]]
    excluded: dict[str, str]
    earliest: dict[str, int]


@dataclass
class _Borrower:
    node: int | None
    rule_max: int = 1
    hours: tuple[int, int] | None = None
    reason: str = ""


class _Generator:
    def __init__(
        self,
        graphs: Mapping[str, nx.MultiDiGraph],
        modes: list[str],
        num_visits: int,
        num_agents: int,
        seed: int,
        day: date,
        timezone: str,
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.modes = modes
        self.num_visits = num_visits
        self.num_agents = num_agents
        self.day = day
        self.timezone = timezone
        base_name = "drive" if "drive" in modes else modes[0]
        base_graph = graphs[base_name]
        if base_graph.number_of_nodes() < 50:
            msg = f"the {base_name} graph has {base_graph.number_of_nodes()} nodes; need 50+"
            raise ValueError(msg)
        lats = np.array([float(d["y"]) for _, d in base_graph.nodes(data=True)])
        lons = np.array([float(d["x"]) for _, d in base_graph.nodes(data=True)])
        self.plane = _Plane(float(np.median(lats)), float(np.median(lons)))
        self.graphs = {m: _mode_graph(m, graphs[m], self.plane) for m in modes}
        self.base = self.graphs[base_name]
        self.candidates = self._candidates()
        if len(self.candidates) < num_visits + num_agents + 10:
            msg = (
                f"the {base_name} graph has {len(self.candidates)} usable address nodes; "
                f"{num_visits} visits and {num_agents} agents need more"
            )
            raise ValueError(msg)
        cxy = self.base.xy[self.candidates]
        self.extent_m = float(np.hypot(*(cxy.max(axis=0) - cxy.min(axis=0))))
        self.used: set[int] = set()
        self._on_mode = {m: g.snap(self.base.xy)[1] for m, g in self.graphs.items()}
        self._etas: dict[tuple[str, int], np.ndarray] = {}
        # A weighted random order of the candidates (Efraimidis-Spirakis keys): borrowers and
        # agents' homes are drawn from it, so built-up areas get more of them.
        weight = self._junction_density(300.0) + 1.0
        keys = np.array([self.rng.random() for _ in range(len(self.candidates))]) ** (1 / weight)
        self.home_order = [int(self.candidates[k]) for k in np.argsort(-keys, kind="stable")]

    # -- places ----------------------------------------------------------------------

    def _candidates(self) -> np.ndarray:
        """Base-graph nodes where a borrower may live: in the graph's connected core, next to
        a node in the core of every other mode's graph, on a road that is not a motorway."""
        base = self.base
        ok = base.in_core.copy()
        for mode in self.graphs.values():
            if mode is base:
                continue
            dist, idx = mode.snap(base.xy)
            ok &= (dist <= _SNAP_TOLERANCE_M) & mode.in_core[idx]
        ok &= np.array([_is_residential(base.graph, n) for n in base.nodes])
        named = np.array(
            [bool(_street_name(base.graph, n, hops=1, livable_only=True)) for n in base.nodes]
        )
        # Prefer nodes on a named street (addresses read better); fall back when too few.
        if (ok & named).sum() >= 0.5 * ok.sum():
            ok &= named
        return np.flatnonzero(ok)

    def _junction_density(self, radius_m: float) -> np.ndarray:
        """Street junctions within the radius of each candidate: a measure of how built-up
        the area is that ignores the many nodes of curvy roads in an unsimplified graph."""
        graph = self.base.graph
        junctions = [
            k
            for k, n in enumerate(self.base.nodes)
            if len(set(graph.successors(n)) | set(graph.predecessors(n))) >= 3
        ]
        tree = cKDTree(self.base.xy[junctions] if junctions else self.base.xy)
        found = tree.query_ball_point(self.base.xy[self.candidates], radius_m, return_length=True)
        return np.asarray(found, dtype=float)

    def _pick(self, pool: Sequence[int] | np.ndarray | None = None) -> int:
        """An unused node (index into the base graph), at random with more weight where
        streets are dense; from `pool` when given (and it has a free node)."""
        allowed = None if pool is None else {int(i) for i in pool}
        for node in self.home_order:
            if node not in self.used and (allowed is None or node in allowed):
                self.used.add(node)
                return node
        if allowed is not None:
            return self._pick()
        raise ValueError("the road graph has too few nodes for this many visits and agents")

    def _near(self, node: int, radius_m: float) -> np.ndarray:
        if math.isinf(radius_m):
            return self.candidates
        d = np.hypot(*(self.base.xy[self.candidates] - self.base.xy[node]).T)
        near = self.candidates[d <= radius_m]
        return near if len(near) >= 5 else self.candidates

    def _offices(self, count: int) -> list[int]:
        """Offices in the densest parts of the network, spread apart."""
        density = self._junction_density(max(150.0, self.extent_m / 12))
        order = np.lexsort((np.arange(len(density)), -density))
        spacing = max(400.0, self.extent_m / 5)
        chosen: list[int] = []
        for k in order:
            node = int(self.candidates[k])
            if all(np.hypot(*(self.base.xy[node] - self.base.xy[c])) >= spacing for c in chosen):
                chosen.append(node)
                if len(chosen) == count:
                    break
        if len(chosen) < count:
            chosen += [
                int(self.candidates[k]) for k in order if int(self.candidates[k]) not in chosen
            ][: count - len(chosen)]
        self.used.update(chosen)
        return chosen

    # -- agents ----------------------------------------------------------------------

    def _mode_counts(self, n: int) -> dict[str, int]:
        """How many of `n` teams use each mode."""
        # On a large region walking reaches little, so most agents drive.
        shares = (
            {"drive": 0.42, "bike": 0.33, "walk": 0.25}
            if self.extent_m <= 6_000
            else {"drive": 0.6, "bike": 0.25, "walk": 0.15}
        )
        present = {m: s for m, s in shares.items() if m in self.graphs}
        total = sum(present.values())
        counts = {m: round(n * s / total) for m, s in present.items()}
        first = next(iter(counts))
        counts[first] += n - sum(counts.values())
        return counts

    def _names(self, profiles: list[frozenset[str]]) -> list[str]:
        """Display names that fit the agents' languages; first names differ while they last."""
        firsts: set[str] = set()
        names: list[str] = []
        for skills in profiles:
            pool: tuple[str, ...] = ()
            if "lang:ru" in skills or "lang:et" in skills:
                pool = _NAMES["lang:ru" if "lang:ru" in skills else "lang:et"]
            elif "lang:sv" in skills and ("lang:fi" not in skills or self.rng.random() < 0.6):
                pool = _NAMES["lang:sv"]
            if not [p for p in pool if p.split()[0] not in firsts]:
                fresh = [f for f in _FIRST_FI if f not in firsts] or list(_FIRST_FI)
                lasts = {n.split()[-1] for n in names}
                family = [x for x in _LAST_FI if x not in lasts] or list(_LAST_FI)
                pool = tuple(f"{f} {last}" for f in fresh for last in family)
            free = [p for p in pool if p.split()[0] not in firsts and p not in names]
            name = self.rng.choice(free or [p for p in pool if p not in names] or list(pool))
            firsts.add(name.split()[0])
            names.append(name)
        return names

    def _agents(self) -> None:
        n = self.num_agents
        width = max(2, len(str(n)))
        ids = [f"A{k + 1:0{width}d}" for k in range(n)]
        profiles = [_PROFILES[k % len(_PROFILES)] for k in range(n)]
        crew_slots = [c for c in _CREW_SLOTS if c[1] < n and (c == _CREW_SLOTS[0] or n >= 24)]
        crew_of = {k: c for c in crew_slots for k in c}
        part_timer = _PART_TIMER if _PART_TIMER < n else None

        # Modes: crews drive, the part-timer walks (lives nearby), the rest shuffled.
        counts = self._mode_counts(n)
        fixed = {k: "drive" if "drive" in counts else self.modes[0] for k in crew_of}
        if part_timer is not None:
            fixed[part_timer] = "walk" if "walk" in counts else self.modes[-1]
        for mode in fixed.values():
            counts[mode] -= 1
        pool = [m for m, c in counts.items() for _ in range(max(c, 0))]
        self.rng.shuffle(pool)
        modes = [
            fixed[k] if k in fixed else pool.pop() if pool else self.modes[0] for k in range(n)
        ]

        num_offices = min(3, max(2, round(n / 5))) + (n >= 30)
        offices = self._offices(num_offices)
        self.office_labels = self._office_labels(offices)

        # Shifts (minutes), 8-9 h long: walkers and cyclists start 08:00-09:00, drivers
        # (who fetch a car first) 08:15-09:30; two teams at least start at 08:00.
        early_starts = (480, 480, 480, 495, 510, 510, 540)
        late_starts = (495, 510, 510, 540, 540, 570)
        first_two = [k for k in range(n) if k not in crew_of and modes[k] != "drive"][:2]
        if len(first_two) < 2:
            first_two = [k for k in range(n) if k not in crew_of][:2]
        shifts: list[tuple[int, int]] = []
        for k in range(n):
            if k == part_timer:
                shifts.append((8 * 60, 12 * 60))
                continue
            if k in crew_of and k != crew_of[k][0]:
                shifts.append(shifts[crew_of[k][0]])
                continue
            start = self.rng.choice(late_starts if modes[k] == "drive" else early_starts)
            if k in first_two:
                start = 8 * 60
            shifts.append((start, start + self.rng.choice((480, 510, 540))))

        names = self._names(profiles)
        num_elsewhere = max(1, round(0.15 * n))
        movable = [k for k in range(n) if k not in crew_of and k != part_timer]
        ends_elsewhere = set(self.rng.sample(movable, min(num_elsewhere, len(movable))))

        agents: list[Agent] = []
        self.names: dict[str, str] = {}
        self.start_labels: dict[str, str] = {}
        starts_at: list[int] = []
        ends_at: list[int] = []
        lasts: list[int] = []
        for k in range(n):
            mode = modes[k]
            office = self.rng.choice(offices)
            if k in crew_of and k != crew_of[k][0]:
                office = starts_at[crew_of[k][0]]
            at_home = k == part_timer or (
                k not in crew_of and mode != "walk" and self.rng.random() < 0.3
            )
            if at_home:
                start = self._pick(self._near(office, _MODE_REACH_M[mode]))
                label = "home"
            else:
                start, label = office, self.office_labels[office]
            end = start
            if k in ends_elsewhere:
                if at_home:
                    end = office
                else:
                    end = self._pick(self._near(office, _MODE_REACH_M[mode]))
            starts_at.append(start)
            ends_at.append(end)
            shift = shifts[k]
            breaks, max_visits, max_work = self._day_limits(shift)
            if k in crew_of:
                max_visits = max_work = None
            lasts.append(min(shift[1], shift[0] + max_work) if max_work else shift[1])
            agents.append(
                Agent(
                    id=ids[k],
                    start=self._location(start),
                    end=self._location(end),
                    shift=_tw(*shift),
                    mode=TravelMode(mode),
                    skills=profiles[k],
                    breaks=tuple(breaks),
                    max_visits=max_visits,
                    max_working_time=_s(max_work) if max_work else None,
                )
            )
            self.names[ids[k]] = names[k]
            self.start_labels[ids[k]] = label
        # A crew works its lead's hours and breaks.
        for lead, member in crew_slots:
            agents[member] = Agent(
                id=agents[member].id,
                start=agents[member].start,
                end=agents[member].end,
                shift=agents[lead].shift,
                mode=agents[member].mode,
                skills=agents[member].skills,
                breaks=agents[lead].breaks,
            )
        self.agents = agents
        self.crews = [
            Crew(id=f"C{j + 1}", agent_ids=(ids[lead], ids[member]))
            for j, (lead, member) in enumerate(crew_slots)
        ]
        self.teams = [
            _Team(
                (ids[lead], ids[member]),
                modes[lead],
                starts_at[lead],
                shifts[lead],
                profiles[lead] | profiles[member],
                ends_at[lead],
                lasts[lead],
            )
            for lead, member in crew_slots
        ] + [
            _Team((ids[k],), modes[k], starts_at[k], shifts[k], profiles[k], ends_at[k], lasts[k])
            for k in range(n)
            if k not in crew_of
        ]
        self.part_time = next(
            (t for t in self.teams if part_timer is not None and t.agent_ids == (ids[part_timer],)),
            None,
        )

    def _pair_agents(self) -> None:
        """Every team a crew: pairs, and a crew of three (two when the agents are even).

        A crew is built like a lone agent (mode, office or home, shift, breaks, caps on the
        lead); its other members share the lead's start, end, shift, breaks and mode.
        """
        n = self.num_agents
        num_pairs = (n - 3) // 2 if n % 2 else (n - 6) // 2
        sizes = [3] + [2] * num_pairs + ([] if n % 2 else [3])
        num_teams = len(sizes)
        width = max(2, len(str(n)))
        ids = [f"A{k + 1:0{width}d}" for k in range(n)]
        members: list[list[int]] = []
        for size in sizes:
            first = sum(len(m) for m in members)
            members.append(list(range(first, first + size)))
        pair_slots = [j for j, size in enumerate(sizes) if size == 2]
        part_time = pair_slots[min(_PART_TIME_PAIR, len(pair_slots) - 1)]
        profiles: list[frozenset[str]] = []
        for j, size in enumerate(sizes):
            rows = (
                _TRIO_PROFILES
                if size == 3
                else _PAIR_PROFILES[pair_slots.index(j) % len(_PAIR_PROFILES)]
            )
            profiles += rows

        # Modes: crews of three drive, the part-time crew walks (lives nearby), the rest
        # shuffled in the shares lone agents have.
        counts = self._mode_counts(num_teams)
        drive = "drive" if "drive" in counts else self.modes[0]
        fixed = {j: drive for j, size in enumerate(sizes) if size == 3}
        fixed[part_time] = "walk" if "walk" in counts else self.modes[-1]
        for mode in fixed.values():
            counts[mode] -= 1
        pool = [m for m, c in counts.items() for _ in range(max(c, 0))]
        self.rng.shuffle(pool)
        modes = [
            fixed[j] if j in fixed else pool.pop() if pool else self.modes[0]
            for j in range(num_teams)
        ]

        num_offices = min(3, max(2, round(n / 5))) + (n >= 30)
        offices = self._offices(num_offices)
        self.office_labels = self._office_labels(offices)

        # Shifts as lone agents have them; two crews at least start at 08:00.
        early_starts = (480, 480, 480, 495, 510, 510, 540)
        late_starts = (495, 510, 510, 540, 540, 570)
        regular = [j for j in range(num_teams) if sizes[j] == 2 and j != part_time]
        first_two = [j for j in regular if modes[j] != "drive"][:2]
        if len(first_two) < 2:
            first_two = regular[:2]
        shifts: list[tuple[int, int]] = []
        for j in range(num_teams):
            if j == part_time:
                shifts.append((8 * 60, 12 * 60))
                continue
            start = self.rng.choice(late_starts if modes[j] == "drive" else early_starts)
            if j in first_two:
                start = 8 * 60
            shifts.append((start, start + self.rng.choice((480, 510, 540))))

        names = self._names(profiles)
        num_elsewhere = max(1, round(0.15 * num_teams))
        ends_elsewhere = set(self.rng.sample(regular, min(num_elsewhere, len(regular))))

        agents: list[Agent] = []
        self.names = {}
        self.start_labels = {}
        self.crews = []
        self.teams = []
        for j, team in enumerate(members):
            mode, shift = modes[j], shifts[j]
            office = self.rng.choice(offices)
            at_home = j == part_time or (
                sizes[j] == 2 and mode != "walk" and self.rng.random() < 0.3
            )
            if at_home:
                start = self._pick(self._near(office, _MODE_REACH_M[mode]))
                label = "home"
            else:
                start, label = office, self.office_labels[office]
            end = start
            if j in ends_elsewhere:
                end = office if at_home else self._pick(self._near(office, _MODE_REACH_M[mode]))
            breaks, max_visits, max_work = self._day_limits(shift)
            if sizes[j] == 3:
                max_visits = max_work = None
            lead = ids[team[0]]
            for k in team:
                agents.append(
                    Agent(
                        id=ids[k],
                        start=self._location(start),
                        end=self._location(end),
                        shift=_tw(*shift),
                        mode=TravelMode(mode),
                        skills=profiles[k],
                        breaks=tuple(breaks),
                        # A crew's caps are its lead's.
                        max_visits=max_visits if k == team[0] else None,
                        max_working_time=_s(max_work) if max_work and k == team[0] else None,
                    )
                )
                self.names[ids[k]] = names[k]
                self.start_labels[ids[k]] = f"home of {lead}" if at_home and k != team[0] else label
            agent_ids = tuple(ids[k] for k in team)
            self.crews.append(Crew(id=f"C{j + 1:0{len(str(num_teams))}d}", agent_ids=agent_ids))
            self.teams.append(
                _Team(
                    agent_ids,
                    mode,
                    start,
                    shift,
                    frozenset().union(*(profiles[k] for k in team)),
                    end,
                    min(shift[1], shift[0] + max_work) if max_work else shift[1],
                )
            )
        self.agents = agents
        self.part_time = self.teams[part_time]

    def _day_limits(self, shift: tuple[int, int]) -> tuple[list[Break], int | None, int | None]:
        """Breaks, max visits and max working minutes for a shift (minutes): lunch and
        sometimes an afternoon break on a full day, one short break on a half day."""
        breaks: list[Break] = []
        if shift[1] - shift[0] >= 6 * 60:
            lunch = self.rng.choice((11 * 60, 11 * 60 + 30, 11 * 60 + 30, 12 * 60))
            breaks.append(Break(_tw(lunch, lunch + 120), _s(30)))
            if self.rng.random() < 0.25:
                breaks.append(Break(_tw(14 * 60 + 30, 16 * 60), _s(15)))
        elif shift[1] - shift[0] >= 4 * 60:
            breaks.append(Break(_tw(shift[0] + 90, shift[0] + 150), _s(15)))
        max_visits = self.rng.randint(8, 12) if self.rng.random() < 0.4 else None
        length = shift[1] - shift[0]
        max_work = length - 30 if length >= 480 and self.rng.random() < 0.25 else None
        return breaks, max_visits, max_work

    def _office_labels(self, offices: list[int]) -> dict[int, str]:
        labels: dict[int, str] = {}
        for node in offices:
            street = _street_name(self.base.graph, self.base.nodes[node]) or "centre"
            label = f"office {street}"
            k = 2
            while label in labels.values():
                label, k = f"office {street} {k}", k + 1
            labels[node] = label
        return labels

    def _location(self, node: int) -> Location:
        data = self.base.graph.nodes[self.base.nodes[node]]
        return Location(lat=float(data["y"]), lon=float(data["x"]))

    # -- visits ----------------------------------------------------------------------

    def _covering(self, skills: frozenset[str], crew_size: int = 1) -> list[_Team]:
        return [t for t in self.teams if skills <= t.skills and t.size >= crew_size]

    def _skills(self) -> frozenset[str]:
        """A borrower's language, and `senior` for a large balance, when two teams cover it."""
        lang = self.rng.choices([x for x, _ in _LANGUAGES], [w for _, w in _LANGUAGES])[0]
        skills = {lang}
        if self.rng.random() < 0.14:
            skills.add("senior")
        need = min(2, len(self.teams))
        if len(self._covering(frozenset(skills))) < need:
            skills.discard("senior")
        if len(self._covering(frozenset(skills))) < need:
            skills = {"lang:fi"}
        return frozenset(skills)

    def _duration(self) -> int:
        return self.rng.choices((20, 25, 30, 35, 40, 45, 50, 60), (3, 3, 12, 10, 14, 14, 7, 7))[0]

    def _priority(self, skills: frozenset[str]) -> int:
        if "senior" in skills:
            return self.rng.randint(45, 90)
        r = self.rng.random()
        if r < 0.05:
            return self.rng.randint(70, 100)  # a broken promise to pay
        if r < 0.80:
            return self.rng.randint(10, 40)
        if r < 0.95:
            return self.rng.randint(41, 69)
        return self.rng.randint(1, 9)

    def _eta(self, mode: str, node: int) -> np.ndarray:
        """Estimated minutes of a trip in the mode between the base-graph node and every
        base-graph node (roads are near enough symmetric for an estimate)."""
        key = (mode, node)
        if key not in self._etas:
            graph = self.graphs[mode]
            on_mode = self._on_mode[mode]
            seconds = graph.typical_times(int(on_mode[node]))[on_mode]
            self._etas[key] = np.ceil((seconds * _ETA_FACTOR + _ETA_EXTRA_S) / 60)
        return self._etas[key]

    def _window_starts(
        self, teams: list[_Team], node: int, duration: int, lo: int, hi: int
    ) -> list[int]:
        """Half-hour times in lo..hi at which one of the teams can be at the node, coming from
        its start, and still do the visit and get back before its shift ends."""
        reach = [
            (
                x.shift[0] + self._eta(x.mode, x.start)[node],
                x.last - self._eta(x.mode, x.end)[node] - duration - 15,
            )
            for x in teams
        ]
        return [t for t in range(lo, hi + 1, 30) if any(a <= t <= b for a, b in reach)]

    def _appointment(
        self,
        skills: frozenset[str],
        node: int,
        duration: int,
        crew_size: int = 1,
        *,
        busy: Sequence[tuple[int, int]] = (),
    ) -> tuple[tuple[int, int], ...]:
        """Agreed windows for an appointment at the node that a team who may do it can keep:
        one of 30 min to 2 h, or (about one in seven) a morning and an afternoon window.
        Empty when no team can reach the node in its shift."""
        teams = self._covering(skills, crew_size)
        if self.rng.random() < 0.15:
            morning = self._window_starts(teams, node, duration, 8 * 60, 10 * 60 + 30)
            afternoon = self._window_starts(teams, node, duration, 13 * 60, 16 * 60)
            if morning and afternoon:
                a, b = self.rng.choice(morning), self.rng.choice(afternoon)
                return ((a, a + self.rng.choice((60, 120))), (b, b + self.rng.choice((60, 120))))
        length = self.rng.choices((30, 60, 120), (2, 4.5, 3.5))[0]
        starts = [
            t
            for t in self._window_starts(teams, node, duration, 8 * 60, 18 * 60)
            if t + length <= 19 * 60
            and all(t + length + duration + 30 <= b0 or t >= b1 + 30 for b0, b1 in busy)
        ]
        if not starts:
            return ()
        weights = [_HOUR_WEIGHTS.get(t // 60, 0.3) for t in starts]
        start = self.rng.choices(starts, weights)[0]
        return ((start, start + length),)

    def _regular(self, count: int) -> list[_Draft]:
        """The visits a plan can serve; each borrower at their own address."""
        drafts: list[_Draft] = []
        num_crew = min(max(2, round(0.04 * self.num_visits)), 5 * len(self.crews), count // 4)
        num_doubles = min(max(1, round(self.num_visits / 40)), count // 6)
        num_appointments = round(0.45 * self.num_visits) - 4  # four unservables are appointments
        num_appointments = max(1, min(num_appointments, count - num_doubles))
        crews = [t for t in self.teams if t.size > 1]

        def draft(**kwargs: Any) -> _Draft:
            node = self._pick()
            return _Draft(node=node, borrower=self._new_borrower(node), **kwargs)

        # Visits that need a pair (risk flag): the crews' appointments spaced through the day.
        crew_busy: dict[int, list[tuple[int, int]]] = {j: [] for j in range(len(crews))}
        for k in range(num_crew if crews else 0):
            j = k % len(crews)
            crew = crews[j]
            skills = frozenset(s for s in self._skills() if s in crew.skills) or frozenset(
                {"lang:fi"} & crew.skills
            )
            duration = self.rng.choice((40, 45, 50, 60))
            d = draft(
                duration_min=duration,
                kind=VisitKind.FLEXIBLE,
                priority=self.rng.randint(30, 80),
                skills=skills,
                crew_size=2,
            )
            if k // len(crews) % 2 == 0:
                assert d.node is not None
                d.windows = self._appointment(skills, d.node, duration, 2, busy=crew_busy[j])
                crew_busy[j] += d.windows
                if d.windows:
                    d.kind = VisitKind.APPOINTMENT
            drafts.append(d)
        num_appointments -= sum(d.kind is VisitKind.APPOINTMENT for d in drafts)
        while len(drafts) < count:
            skills = self._skills()
            d = draft(
                duration_min=self._duration(),
                kind=VisitKind.FLEXIBLE,
                priority=self._priority(skills),
                skills=skills,
            )
            assert d.node is not None
            if num_appointments > 0:
                d.windows = self._appointment(skills, d.node, d.duration_min)
                if d.windows:
                    d.kind = VisitKind.APPOINTMENT
                    num_appointments -= 1
            elif self.rng.random() < 0.3:
                d.windows = (self.rng.choice(_BROAD_WINDOWS),)
            drafts.append(d)
        # A few borrowers have a second case (a flexible visit besides their appointment) at
        # the same address, so the cap of one visit a day matters.
        self.rng.shuffle(drafts)
        appointments = [d for d in drafts if d.kind is VisitKind.APPOINTMENT and d.crew_size == 1]
        flexible = [
            d for d in drafts if d.kind is VisitKind.FLEXIBLE and d.crew_size == 1 and not d.windows
        ]
        pairs = list(zip(appointments[:num_doubles], reversed(flexible), strict=False))
        for first, extra in pairs:
            self.used.discard(extra.node if extra.node is not None else -1)
            extra.node, extra.borrower, extra.skills = first.node, first.borrower, first.skills
            extra.priority = self._priority(extra.skills)
        self.doubles = {first.borrower for first, _ in pairs}
        # Borrowers' own hours for a few flexible visits with no window.
        for d in drafts:
            if (
                d.kind is VisitKind.FLEXIBLE
                and not d.windows
                and d.crew_size == 1
                and d.borrower not in self.doubles
                and self.rng.random() < 0.08
            ):
                (lo, hi), why = self.rng.choice(_BORROWER_HOURS)
                assert d.node is not None
                if self._window_starts(
                    self._covering(d.skills), d.node, d.duration_min, lo, hi - 30
                ):
                    b = self.borrowers[d.borrower]
                    b.hours, b.reason = (lo, hi), f"borrower {why}"
        self._preferences(drafts)
        return drafts

    def _preferences(self, drafts: list[_Draft]) -> None:
        """The agent who met a borrower before is preferred for about one visit in ten;
        a couple of cases may be done only by the agents (or crews) who own them."""
        # Lone agents (or, when every team is a crew, crews), not the part-timers; in order
        # of their (lead's) id.
        solo = any(t.size == 1 for t in self.teams)
        owners = sorted(
            (t for t in self.teams if (t.size == 1 or not solo) and t is not self.part_time),
            key=lambda t: t.agent_ids[0],
        )
        num_allowed = max(1, round(self.num_visits / 60))
        for d in drafts:
            if d.crew_size > 1:
                continue
            assert d.node is not None
            fits = [
                t
                for t in owners
                if d.skills <= t.skills
                and self._eta(t.mode, t.start)[d.node] <= 45
                and all(t.shift[0] <= a and b + d.duration_min <= t.last for a, b in d.windows)
            ]
            if (
                len(fits) >= 2
                and num_allowed > 0
                and d.kind is VisitKind.FLEXIBLE
                and not d.windows
                and d.borrower not in self.doubles
            ):
                d.allowed = frozenset(a for t in self.rng.sample(fits, 2) for a in t.agent_ids)
                num_allowed -= 1
            elif fits and self.rng.random() < 0.1:
                d.preferred = frozenset({self.rng.choice(fits).agent_ids[0]})

    def _new_borrower(self, node: int | None) -> int:
        self.borrowers.append(_Borrower(node))
        return len(self.borrowers) - 1

    def _unservable(self) -> list[_Draft]:
        """One visit for each reason no plan can serve it; only that reason applies."""
        fi = frozenset({"lang:fi"}) & frozenset().union(*(t.skills for t in self.teams))
        drafts: list[_Draft] = []

        def add(reason: ReasonCode, draft: _Draft, borrower: _Borrower | None = None) -> None:
            draft.unservable = reason.value
            if draft.node == -1:
                draft.node = self._pick()
            self.borrowers.append(borrower or _Borrower(draft.node))
            self.borrowers[-1].node = draft.node
            draft.borrower = len(self.borrowers) - 1
            drafts.append(draft)

        add(
            ReasonCode.MISSING_SKILL,
            _Draft(
                node=-1,
                duration_min=45,
                kind=VisitKind.FLEXIBLE,
                priority=35,
                skills=frozenset({_RARE_LANGUAGE}),
            ),
        )
        # A visit for the largest crew (a pair, or with `pairs` three: a risk flag) to a
        # borrower whose language only smaller teams speak. A crew bigger than any in
        # agents.csv would be an input error, not an unassigned visit.
        largest = max(t.size for t in self.teams)
        crew_skills = frozenset().union(*(t.skills for t in self.teams if t.size == largest))
        small_skills = frozenset().union(*(t.skills for t in self.teams if t.size < largest))
        lonely = sorted(small_skills - crew_skills, key=lambda s: (not s.startswith("lang:"), s))
        crew_size = largest if lonely and largest > 1 else largest + 1
        add(
            ReasonCode.NO_CREW,
            _Draft(
                node=-1,
                duration_min=45,
                kind=VisitKind.FLEXIBLE,
                priority=80,
                skills=frozenset(lonely[:1]) if crew_size == largest else fi,
                crew_size=crew_size,
            ),
        )
        # The borrower asked for the agent (crew) who owns the case, who works mornings only.
        owner = self.part_time or min(self.teams, key=lambda t: t.shift[1])
        after = owner.shift[1] + 180
        later = [t for t in self.teams if t.shift[0] <= after and after + 90 <= t.shift[1]]
        if not later:
            after = owner.shift[1] + 30
        add(
            ReasonCode.AGENT_NOT_AVAILABLE,
            _Draft(
                node=-1,
                duration_min=30,
                kind=VisitKind.APPOINTMENT,
                priority=45,
                skills=fi & owner.skills,
                windows=((after, after + 60),),
                allowed=frozenset(owner.agent_ids),
            ),
        )
        latest_end = max(t.shift[1] for t in self.teams)
        evening = -(-(latest_end + 45) // 30) * 30
        add(
            ReasonCode.NO_SHIFT_OVERLAP,
            _Draft(
                node=-1,
                duration_min=30,
                kind=VisitKind.APPOINTMENT,
                priority=30,
                skills=fi,
                windows=((evening, evening + 30),),
            ),
        )
        add(
            ReasonCode.BORROWER_CAP,
            _Draft(node=-1, duration_min=30, kind=VisitKind.FLEXIBLE, priority=60, skills=fi),
            _Borrower(
                None,
                rule_max=0,
                # With `pairs` the day has a contact history, which this borrower is not in.
                reason=(
                    "the case is on hold while a payment plan is agreed by phone"
                    if self.pairs
                    else f"already visited on {(self.day - timedelta(days=4)).isoformat()}; "
                    "policy allows one visit a week"
                ),
            ),
        )
        add(
            ReasonCode.OUTSIDE_ALLOWED_HOURS,
            _Draft(
                node=-1,
                duration_min=30,
                kind=VisitKind.APPOINTMENT,
                priority=25,
                skills=fi,
                windows=((16 * 60, 17 * 60),),
            ),
            _Borrower(
                None,
                hours=(8 * 60, 10 * 60),
                reason="borrower asked for visits between 08:00 and 10:00 only",
            ),
        )
        node, window = self._unreachable_place()
        add(
            ReasonCode.WINDOW_UNREACHABLE,
            _Draft(
                node=node,
                duration_min=30,
                kind=VisitKind.APPOINTMENT,
                priority=50,
                skills=fi,
                windows=(window,),
            ),
        )
        add(
            ReasonCode.NO_ROAD_CONNECTION,
            _Draft(
                node=None,
                duration_min=40,
                kind=VisitKind.FLEXIBLE,
                priority=30,
                skills=fi,
                latlon=self._off_road_point(),
            ),
        )
        return drafts

    def _unreachable_place(self) -> tuple[int, tuple[int, int]]:
        """A node and an early window no team can reach from its start in time.

        The window opens when the first shifts start and lasts at most half the fastest
        possible trip (travel-time lower bound) of every team starting then, at least a
        minute: the node is the one farthest in time from those teams' starts.
        """
        first = min(t.shift[0] for t in self.teams)
        early = [t for t in self.teams if t.shift[0] <= first + 15]
        worst = np.full(len(self.candidates), np.inf)
        for team in early:
            graph = self.graphs[team.mode]
            _, src = graph.snap(self.base.xy[[team.start]])
            _, dst = graph.snap(self.base.xy[self.candidates])
            times = graph.lower_bound_times([int(src[0])])[0][dst]
            worst = np.minimum(worst, times)
        worst[[k for k, c in enumerate(self.candidates) if int(c) in self.used]] = -1.0
        worst[~np.isfinite(worst)] = -1.0
        k = int(np.argmax(worst))
        node = int(self.candidates[k])
        self.used.add(node)
        # Teams starting later than the window's end cannot overlap it; teams starting
        # within the window would need a longer trip, which the half margin covers.
        minutes = int(worst[k] // 120)
        minutes = min(minutes, 10)
        if minutes >= 1:
            return node, (first, first + minutes)
        return node, (first - 15, first)

    def _off_road_point(self) -> tuple[float, float]:
        """A point just beyond the network's outer edge, about 400 m from the nearest node of
        any mode's graph (an island, a harbour, or a geocoding error in real life).

        Every mode's graph is at least 400 m away, so no mode can snap to it; where possible
        (modes that cover the same area) each is at most 600 m away as well.
        """
        centre = np.median(self.base.xy[self.candidates], axis=0)
        radius = max(float(np.hypot(*(g.xy - centre).T).max()) for g in self.graphs.values())
        along = np.arange(0.0, radius + 1_000.0, 10.0)
        fallback: np.ndarray | None = None
        # South-east first: on the sample (central Helsinki) that is the South Harbour.
        for angle in (-45, -90, 0, -135, 45, 180, 90, 135, -22.5, -67.5, 22.5, 67.5):
            direction = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
            ray = centre + along[:, None] * direction
            dists = np.column_stack([g.tree.query(ray)[0] for g in self.graphs.values()])
            near = dists.min(axis=1) < _NO_ROAD_TARGET_M
            if not near.any():
                continue
            # The first step past the last one near a road: where the ray leaves the network.
            k = int(np.flatnonzero(near)[-1]) + 1
            if dists[k].max() <= _NO_ROAD_RANGE_M[1]:
                return self.plane.latlon(float(ray[k][0]), float(ray[k][1]))
            if fallback is None:
                fallback = ray[k]
        if fallback is None:
            raise ValueError("found no point 400 m from the road graphs around the network")
        return self.plane.latlon(float(fallback[0]), float(fallback[1]))

    # -- assembly --------------------------------------------------------------------

    def _address(self, node: int, used: set[str]) -> str:
        street = _street_name(self.base.graph, self.base.nodes[node]) or "Unnamed road"
        while True:
            number = int(self.rng.triangular(1, 60, 3))
            # "Carretera General 3, 12" rather than "Carretera General 3 12".
            text = f"{street}{',' if street[-1].isdigit() else ''} {number}"
            if self.rng.random() < 0.35:
                text += f" {self.rng.choice('ABCD')} {self.rng.randint(1, 40)}"
            if text not in used:
                used.add(text)
                return text

    # -- contact history -------------------------------------------------------------

    def _contacts(self, visits: Sequence[Visit], drafts: Sequence[_Draft]) -> _Contacts:
        """The borrowers' earlier contacts, the flagged borrower and when appointments were
        agreed, relative to the plan day; drawn from their own random stream, so the visits
        and agents are the same with or without them.

        Only plain cases take part (one visit today, one agent, no owner, no own hours, not
        designed unservable), appointments and flexible visits mixed: about one borrower in
        24 visited 1-6 days before (met or not at home; never on a Sunday), one visited 7
        days before at 10:00 (a flexible visit with no window, free from 10:00 under a 7-day
        gap), one flagged `do_not_visit`, about one in 30 called the day before to check the
        appointment or messaged, about one in 24 visited 8-30 days before. Every appointment
        was agreed 1-5 days before, at office hours, but one agreed at 08:00 that morning.
        """
        rng = random.Random(f"contacts:{self.seed}")
        tz = ZoneInfo(self.timezone)
        n = self.num_visits
        visits_of = Counter(d.borrower for d in drafts)
        plain = [
            (v, d)
            for v, d in zip(visits, drafts, strict=True)
            if not d.unservable
            and visits_of[d.borrower] == 1
            and d.crew_size == 1
            and not d.allowed
            and self.borrowers[d.borrower].hours is None
            and self.borrowers[d.borrower].rule_max == 1
        ]
        rng.shuffle(plain)
        appointments = [v for v, _ in plain if v.kind is VisitKind.APPOINTMENT]
        open_flexible = [v for v, _ in plain if v.kind is VisitKind.FLEXIBLE and not v.windows]
        flexible = [v for v, _ in plain if v.kind is VisitKind.FLEXIBLE and v.windows]
        flexible += open_flexible  # the ones with a window go first; pop takes from the end

        def take(*pools: list[Visit]) -> Visit | None:
            return next((pool.pop() for pool in pools if pool), None)

        def moment(days_back: int, minute: int) -> datetime:
            when = self.day - timedelta(days=days_back)
            return datetime.combine(when, time(minute // 60, minute % 60), tzinfo=tz)

        def office_hours() -> int:
            return rng.randrange(9 * 60, 19 * 60, 5)

        def workdays(first: int, last: int) -> list[int]:
            """Days back in first..last that are not Sundays (no visits on Sundays)."""
            days = range(first, last + 1)
            return [k for k in days if (self.day - timedelta(days=k)).weekday() != 6]

        leads = sorted(t.agent_ids[0] for t in self.teams)
        records: list[tuple[datetime, str, str, str, str, str]] = []
        excluded: dict[str, str] = {}
        earliest: dict[str, int] = {}
        flags: dict[str, frozenset[str]] = {}

        def visited(visit: Visit, at: datetime, outcome: str) -> None:
            records.append((at, visit.borrower_id, "visit", outcome, rng.choice(leads), ""))

        seventh = take(open_flexible)
        if seventh is not None:
            flexible.remove(seventh)
            # 168 h before 10:00 today, which is 10:00 a week before unless the clocks moved.
            week_before = moment(0, 10 * 60).astimezone(UTC) - timedelta(hours=168)
            visited(seventh, week_before.astimezone(tz), "not_home")
            earliest[seventh.id] = _s(10 * 60)
        flagged = take(flexible, appointments)
        if flagged is not None:
            flags[flagged.borrower_id] = frozenset({BLOCKING_FLAG})
            excluded[flagged.id] = BLOCKING_FLAG
        num_blocked = max(1, round(n / 24))
        recent = workdays(1, 6)
        days_back = rng.sample(recent, min(num_blocked, len(recent)))
        days_back += [rng.choice(recent) for _ in range(num_blocked - len(days_back))]
        outcomes = ("not_home", "met", "promise_to_pay", "not_home", "refused")
        for k, back in enumerate(days_back):
            # Two in five are appointments: the borrower agreed a time the policy now forbids.
            pools = (appointments, flexible) if k % 5 in (1, 3) else (flexible, appointments)
            visit = take(*pools)
            if visit is None:
                break
            if rng.random() < 0.3:
                visited(
                    visit, moment(rng.choice(workdays(12, 30)), office_hours()), "promise_to_pay"
                )
            visited(visit, moment(back, office_hours()), outcomes[k % len(outcomes)])
            excluded[visit.id] = (self.day - timedelta(days=back)).isoformat()
        checked: set[str] = set()
        for k in range(max(1, round(n / 30))):
            visit = take(appointments, flexible) if k % 3 != 2 else take(flexible, appointments)
            if visit is None:
                break
            if visit.kind is VisitKind.APPOINTMENT:
                outcome = "answered" if rng.random() < 0.75 else "no_answer"
                at = moment(1, rng.randrange(16 * 60, 18 * 60 + 30, 5))
                records.append((at, visit.borrower_id, "call", outcome, "", "appointment check"))
                checked.add(visit.id)
            else:
                at = moment(rng.randint(1, 3), office_hours())
                records.append(
                    (at, visit.borrower_id, "message", "delivered", "", "payment reminder")
                )
        older = ("met", "not_home", "promise_to_pay", "met", "refused", "agreement_signed")
        for k in range(max(1, round(n / 24))):
            visit = take(appointments, flexible) if k % 2 else take(flexible, appointments)
            if visit is None:
                break
            for back in sorted(rng.sample(workdays(8, 30), rng.choice((1, 1, 2))), reverse=True):
                visited(visit, moment(back, office_hours()), rng.choice(older))

        # When each appointment was agreed; one the same morning, for an afternoon visit.
        same_morning = next(
            (v for v in reversed(appointments) if v.windows[0].start >= _s(12 * 60)), None
        )
        agreed_at: dict[str, datetime] = {}
        for visit in visits:
            if visit.kind is not VisitKind.APPOINTMENT:
                continue
            if visit is same_morning:
                agreed_at[visit.id] = moment(0, 8 * 60)
                continue
            least = 2 if visit.id in checked else 1
            agreed_at[visit.id] = moment(rng.randint(least, 5), rng.randrange(9 * 60, 18 * 60, 5))

        records.sort(key=lambda r: (r[0], r[1]))
        width = max(3, len(str(len(records))))
        history = tuple(
            HistoryRecord(
                event_id=f"H{k + 1:0{width}d}",
                borrower_id=borrower_id,
                at=at,
                channel=channel,
                outcome=outcome,
                agent_id=agent_id,
                note=note,
            )
            for k, (at, borrower_id, channel, outcome, agent_id, note) in enumerate(records)
        )
        return _Contacts(history, agreed_at, flags, excluded, earliest)

    def run(self, *, pairs: bool) -> SampleDay:
        self.pairs = pairs
        self.borrowers: list[_Borrower] = []
        if pairs:
            self._pair_agents()
        else:
            self._agents()
        unservable = self._unservable()
        drafts = self._regular(self.num_visits - len(unservable)) + unservable
        self.rng.shuffle(drafts)

        width = max(3, len(str(len(drafts))))
        numbers = self.rng.sample(range(10_000, 100_000), len(self.borrowers))
        borrower_ids = [f"B{x}" for x in numbers]
        visits: list[Visit] = []
        addresses: dict[str, str] = {}
        expected: dict[str, str] = {}
        used_text: set[str] = set()
        address_of: dict[int, str] = {}
        for k, d in enumerate(drafts):
            vid = f"V{k + 1:0{width}d}"
            if d.latlon is not None:
                lat, lon = d.latlon
                point = self.plane.xy(np.array([lat]), np.array([lon]))[0]
                gaps = np.hypot(*(self.base.xy[self.candidates] - point).T)
                nearest = int(self.candidates[int(np.argmin(gaps))])
                location = Location(lat=lat, lon=lon)
                address_of.setdefault(d.borrower, self._address(nearest, used_text))
            else:
                assert d.node is not None and d.node >= 0
                location = self._location(d.node)
                address_of.setdefault(d.borrower, self._address(d.node, used_text))
            visits.append(
                Visit(
                    id=vid,
                    borrower_id=borrower_ids[d.borrower],
                    location=location,
                    duration=_s(d.duration_min),
                    windows=tuple(_tw(a, b) for a, b in d.windows),
                    kind=d.kind,
                    priority=d.priority,
                    required_skills=d.skills,
                    crew_size=d.crew_size,
                    allowed_agents=d.allowed,
                    preferred_agents=d.preferred,
                )
            )
            addresses[vid] = address_of[d.borrower]
            if d.unservable:
                expected[vid] = d.unservable
        # One rule per borrower, in order of first visit, as read_day gives them back.
        rules: dict[str, BorrowerRule] = {}
        for visit, d in zip(visits, drafts, strict=True):
            b = self.borrowers[d.borrower]
            rules.setdefault(
                visit.borrower_id,
                BorrowerRule(
                    borrower_id=visit.borrower_id,
                    max_visits=b.rule_max,
                    allowed_hours=_tw(*b.hours) if b.hours else None,
                    reason=b.reason,
                ),
            )
        contacts = self._contacts(visits, drafts)
        return SampleDay(
            visits=tuple(visits),
            agents=tuple(self.agents),
            crews=tuple(self.crews),
            borrowers=tuple(rules.values()),
            addresses=addresses,
            names=dict(self.names),
            start_labels=dict(self.start_labels),
            expected_unassigned=expected,
            history=contacts.history,
            agreed_at=contacts.agreed_at,
            borrower_flags=contacts.flags,
            expected_excluded=contacts.excluded,
            earliest_starts=contacts.earliest,
            day=self.day,
            timezone=self.timezone,
        )
