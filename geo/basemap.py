"""The road network drawn as a map: an offline base layer for when no tile server answers.

A web map needs something under the routes. Tiles come from a server, which a lender's
network may not reach; the road graphs are already here, so their edges, drawn as lines,
make a plain but true street map of exactly the area the plans cover.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shapely.geometry import LineString

from geo.graphs import RoadNetwork

ROAD_CLASSES = ("major", "street", "path")
"""How the lines are grouped, so a map can draw main roads bolder than footpaths."""
_MAJOR = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
    }
)
_STREET = frozenset(
    {"tertiary", "tertiary_link", "unclassified", "residential", "living_street", "service", "road"}
)


def network_lines(network: RoadNetwork, *, decimals: int = 5) -> dict[str, Any]:
    """Every road of every mode's graph once, as a GeoJSON FeatureCollection.

    One MultiLineString feature per road class (`ROAD_CLASSES`, property `road_class`);
    coordinates are `[lon, lat]` rounded to `decimals` places (5 places is about 1 m, and
    keeps the file small). A road used by several modes, or in both directions, is drawn once.
    """
    if decimals < 0:
        msg = f"decimals must be >= 0, got {decimals}"
        raise ValueError(msg)
    seen: set[tuple[Any, Any]] = set()
    lines: dict[str, list[list[list[float]]]] = {name: [] for name in ROAD_CLASSES}
    for graph in network.graphs.values():
        nodes = graph.nodes
        for u, v, data in graph.edges(data=True):
            pair = (u, v) if str(u) <= str(v) else (v, u)
            if pair in seen:
                continue
            seen.add(pair)
            geometry = data.get("geometry")
            if isinstance(geometry, LineString):
                points: Iterable[tuple[float, ...]] = geometry.coords
            else:
                points = ((nodes[u]["x"], nodes[u]["y"]), (nodes[v]["x"], nodes[v]["y"]))
            line = [[round(p[0], decimals), round(p[1], decimals)] for p in points]
            lines[_road_class(data.get("highway"))].append(line)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "MultiLineString", "coordinates": lines[name]},
                "properties": {"road_class": name},
            }
            for name in ROAD_CLASSES
            if lines[name]
        ],
    }


def _road_class(highway: Any) -> str:
    kinds = set(highway) if isinstance(highway, list) else {highway}
    if kinds & _MAJOR:
        return "major"
    if kinds & _STREET:
        return "street"
    return "path"
