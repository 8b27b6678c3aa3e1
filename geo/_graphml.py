"""Fast GraphML for the road graph cache.

`osmnx.save_graphml`/`load_graphml` go through networkx's generic XML code: about 30 s to write
and 25 s to read Andorra's 196,000-edge walking graph, slower than building it from the PBF.
This module writes the same GraphML osmnx writes (every value stringified, so
`osmnx.load_graphml` reads our files unchanged) with one element per line, and reads those files
back with a line parser that applies osmnx's own type conversions. A file it did not write is
read with `osmnx.load_graphml`.
"""

from __future__ import annotations

import ast
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, unescape

import networkx as nx
import osmnx as ox
import shapely

_MARKER = "<!-- doorstep-geo graphml 1: one element per line -->"
_ESCAPES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}


def _boolean(value: Any) -> Any:
    """osmnx's "True"/"False" conversion (bool("False") would be True)."""
    if isinstance(value, bool):
        return value
    if value in {"True", "False"}:
        return value == "True"
    msg = f"invalid literal for boolean: {value!r}"
    raise ValueError(msg)


# osmnx.load_graphml's default conversions, applied the same way
_GRAPH_TYPES: dict[str, Callable[[Any], Any]] = {"consolidated": _boolean, "simplified": _boolean}
_NODE_TYPES: dict[str, Callable[[Any], Any]] = {
    "elevation": float,
    "elevation_res": float,
    "osmid": int,
    "street_count": int,
    "x": float,
    "y": float,
}
_EDGE_TYPES: dict[str, Callable[[Any], Any]] = {
    "bearing": float,
    "grade": float,
    "grade_abs": float,
    "length": float,
    "oneway": _boolean,
    "osmid": int,
    "reversed": _boolean,
    "speed_kph": float,
    "travel_time": float,
}

_TYPES = {"graph": _GRAPH_TYPES, "node": _NODE_TYPES, "edge": _EDGE_TYPES}

_KEY = re.compile(r'<key id="([^"]+)" for="(graph|node|edge)" attr\.name="([^"]*)"')
_DATA = re.compile(r'<data key="([^"]+)">([^<]*)</data>')
_NODE = re.compile(r'<node id="([^"]*)">')
_EDGE = re.compile(r'<edge source="([^"]*)" target="([^"]*)" id="([^"]*)">')


def save(graph: nx.MultiDiGraph, path: Path) -> None:
    """Write `graph` as GraphML atomically: a temporary file renamed into place."""
    keys = {
        "graph": _names(graph.graph),
        "node": _names(data for _, data in graph.nodes(data=True)),
        "edge": _names(data for _, _, data in graph.edges(data=True)),
    }
    ids = {(kind, name): f"{kind[0]}{i}" for kind in keys for i, name in enumerate(keys[kind])}
    lines = [
        "<?xml version='1.0' encoding='utf-8'?>",
        _MARKER,
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
        'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
    ]
    for (kind, name), key_id in ids.items():
        lines.append(
            f'<key id="{key_id}" for="{kind}" attr.name="{_esc(name)}" attr.type="string" />'
        )
    lines.append('<graph edgedefault="directed">')
    lines.append(_data(ids, "graph", graph.graph))
    for node, data in graph.nodes(data=True):
        lines.append(f'<node id="{node}">{_data(ids, "node", data)}</node>')
    for u, v, k, data in graph.edges(keys=True, data=True):
        lines.append(f'<edge source="{u}" target="{v}" id="{k}">{_data(ids, "edge", data)}</edge>')
    lines.append("</graph>")
    lines.append("</graphml>")
    fd, tmp = tempfile.mkstemp(prefix=".roads-", suffix=".graphml.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines))
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _names(dicts: Iterable[dict[str, Any]] | dict[str, Any]) -> list[str]:
    if isinstance(dicts, dict):
        return list(dicts)
    seen: dict[str, None] = {}
    for data in dicts:
        for name in data:
            seen.setdefault(name, None)
    return list(seen)


def _esc(value: str) -> str:
    return escape(value, _ESCAPES)


def _data(ids: dict[tuple[str, str], str], kind: str, data: dict[str, Any]) -> str:
    return "".join(f'<data key="{ids[kind, n]}">{_esc(str(v))}</data>' for n, v in data.items())


def load(path: Path) -> nx.MultiDiGraph:
    """Read a GraphML file: ours with the line parser, any other with osmnx."""
    with path.open(encoding="utf-8") as handle:
        handle.readline()
        ours = handle.readline().rstrip("\n") == _MARKER
    if not ours:
        return ox.load_graphml(path)
    fields: dict[str, tuple[str, Callable[[Any], Any] | None]] = {}
    graph_attrs: dict[str, Any] = {}
    nodes: list[tuple[int, dict[str, Any]]] = []
    edges: list[tuple[int, int, int, dict[str, Any]]] = []
    wkts: list[str] = []
    with_geometry: list[dict[str, Any]] = []
    line = ""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("<edge "):
                head = _EDGE.match(line)
                if head is None:
                    raise _malformed(path, line)
                data = _parse(fields, line)
                geometry = data.get("geometry")
                if geometry is not None:
                    wkts.append(geometry)
                    with_geometry.append(data)
                u, v, k = head.groups()
                edges.append((int(u), int(v), int(k), data))
            elif line.startswith("<node "):
                head = _NODE.match(line)
                if head is None:
                    raise _malformed(path, line)
                nodes.append((int(head.group(1)), _parse(fields, line)))
            elif line.startswith("<key "):
                match = _KEY.match(line)
                if match is None:
                    raise _malformed(path, line)
                key_id, kind, name = match.groups()
                name = _unesc(name)
                fields[key_id] = (name, _TYPES[kind].get(name))
            elif line.startswith("<data "):
                graph_attrs.update(_parse(fields, line))
    if not line.startswith("</graphml>"):
        msg = f"{path} ends early (truncated): delete it and load the network again"
        raise ValueError(msg)
    if wkts:
        for data, geometry in zip(with_geometry, shapely.from_wkt(wkts), strict=True):
            data["geometry"] = geometry
    graph = nx.MultiDiGraph()
    graph.graph.update(graph_attrs)
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return graph


def _malformed(path: Path, line: str) -> ValueError:
    msg = f"malformed line in {path}: {line[:80]!r}; delete the file and load again"
    return ValueError(msg)


def _unesc(value: str) -> str:
    return unescape(value, _UNESCAPES) if "&" in value else value


def _parse(fields: dict[str, tuple[str, Callable[[Any], Any] | None]], line: str) -> dict[str, Any]:
    """The data of one element, converted as `osmnx.load_graphml` would: stringified lists
    and dicts evaluated, then the attribute's type applied (to each item of a list)."""
    data: dict[str, Any] = {}
    for key_id, raw in _DATA.findall(line):
        name, convert = fields[key_id]
        value: Any = unescape(raw, _UNESCAPES) if "&" in raw else raw
        first = value[:1]
        if (first == "[" and value.endswith("]")) or (first == "{" and value.endswith("}")):
            try:
                value = ast.literal_eval(value)
            except (SyntaxError, ValueError):
                pass
        if convert is not None:
            value = [convert(x) for x in value] if isinstance(value, list) else convert(value)
        data[name] = value
    return data
