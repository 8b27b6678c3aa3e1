"""Loading road networks: the sample, files of each kind, the cache, and errors."""

from __future__ import annotations

import socket
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import requests
from shapely.geometry import LineString

import geo.graphs
from geo import (
    BIKE_SPEED_KPH,
    MODES,
    WALK_SPEED_KPH,
    Bounds,
    NetworkSourceError,
    OfflineError,
    RoadNetwork,
    UnknownModeError,
    load_network,
    travel_matrices,
)

NODE_RANGES = {"drive": (1_000, 1_600), "bike": (1_800, 3_000), "walk": (4_000, 6_500)}


def _speed_consistent(graph: nx.MultiDiGraph) -> bool:
    return all(
        d["travel_time"] > 0
        and d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6), rel=1e-9)
        for _, _, d in graph.edges(data=True)
    )


@pytest.mark.parametrize("mode", MODES)
def test_sample_has_sane_strongly_connected_graphs(helsinki: RoadNetwork, mode: str) -> None:
    """Each sample graph is strongly connected, of a plausible size, with times from speeds."""
    graph = helsinki.graph(mode)
    low, high = NODE_RANGES[mode]
    assert low <= len(graph) <= high
    assert nx.is_strongly_connected(graph)
    assert _speed_consistent(graph)
    assert graph.graph["mode"] == mode


def test_sample_speeds_per_mode(helsinki: RoadNetwork) -> None:
    """Bike and walk use their constant speeds; drive uses maxspeed tags (30/40 in Helsinki)."""
    for mode, speed in (("bike", BIKE_SPEED_KPH), ("walk", WALK_SPEED_KPH)):
        speeds = {d["speed_kph"] for _, _, d in helsinki.graph(mode).edges(data=True)}
        assert speeds == {speed}
    drive = [d["speed_kph"] for _, _, d in helsinki.graph("drive").edges(data=True)]
    assert set(drive) <= {30.0, 40.0, 50.0}


def test_walk_graph_is_two_way(helsinki: RoadNetwork) -> None:
    """Walkers ignore one-way streets: every walk edge has a reverse edge."""
    graph = helsinki.graph("walk")
    assert all(graph.has_edge(v, u) for u, v in graph.edges())


def test_sample_attribute_types(helsinki_drive: nx.MultiDiGraph) -> None:
    """Node ids are ints, coordinates and weights floats: what osmnx-style code expects."""
    node, data = next(iter(helsinki_drive.nodes(data=True)))
    assert type(node) is int
    assert type(data["x"]) is float and type(data["y"]) is float
    _, _, edge = next(iter(helsinki_drive.edges(data=True)))
    for name in ("length", "travel_time", "speed_kph"):
        assert type(edge[name]) is float


def test_network_accessors(helsinki: RoadNetwork) -> None:
    """bounds() covers central Helsinki and graph() rejects unknown modes with the choices."""
    bounds = helsinki.bounds()
    assert bounds.contains(60.17, 24.94)
    assert not bounds.contains(60.30, 24.94)
    assert helsinki.modes == MODES
    assert len(helsinki.source_key) == 64
    with pytest.raises(UnknownModeError, match="drive, bike, walk"):
        helsinki.graph("boat")


def test_mode_not_loaded(geo_cache: Path) -> None:
    """Asking for a mode that was not loaded says to pass it in modes."""
    network = load_network("sample", cache_dir=geo_cache, modes=["drive"])
    assert network.modes == ("drive",)
    with pytest.raises(UnknownModeError, match="pass it in modes"):
        network.graph("walk")


def test_unknown_mode_rejected(geo_cache: Path) -> None:
    """load_network names the valid modes when given a wrong one."""
    with pytest.raises(UnknownModeError, match="drive, bike, walk"):
        load_network(None, cache_dir=geo_cache, modes=["car"])


def test_bounds_margin() -> None:
    """A margin in metres widens the box by about that distance on each side."""
    box = Bounds(south=60.0, west=25.0, north=60.01, east=25.02)
    assert not box.contains(59.9995, 25.01)  # 56 m south
    assert box.contains(59.9995, 25.01, margin_m=60)
    assert not box.contains(59.9995, 25.01, margin_m=50)
    assert box.contains(60.005, 25.0205, margin_m=30)  # 28 m east at lat 60
    with pytest.raises(ValueError, match="south <= north"):
        Bounds(south=1.0, west=0.0, north=0.0, east=1.0)


def test_cache_round_trip(helsinki: RoadNetwork, geo_cache: Path) -> None:
    """A second load reads the cache: same key, same attributes and types, same matrices."""
    again = load_network(None, cache_dir=geo_cache, modes=["drive"])
    assert again.source_key == helsinki.source_key
    first, second = helsinki.graph("drive"), again.graph("drive")
    assert first is not second
    assert list(first.nodes(data=True)) == list(second.nodes(data=True))
    assert list(first.edges(keys=True, data=True)) == list(second.edges(keys=True, data=True))
    nodes = list(first.nodes)[::40]
    a, b = travel_matrices(first, nodes), travel_matrices(second, nodes)
    assert np.array_equal(a.durations, b.durations)
    assert np.array_equal(a.distances, b.distances)


def test_cache_is_plain_osmnx_graphml(helsinki: RoadNetwork, geo_cache: Path) -> None:
    """osmnx.load_graphml reads our cache files to the very same graph."""
    path = next(geo_cache.glob(f"roads-{helsinki.source_key[:40]}-bike.graphml"))
    via_osmnx = ox.load_graphml(path)
    ours = helsinki.graph("bike")
    assert list(via_osmnx.nodes(data=True)) == list(ours.nodes(data=True))
    assert list(via_osmnx.edges(keys=True, data=True)) == list(ours.edges(keys=True, data=True))
    assert via_osmnx.graph == ours.graph


def test_cache_survives_a_corrupt_file(tmp_path: Path, tiny_osm: Path) -> None:
    """A truncated cache file is rebuilt, and writes leave no temporary files behind."""
    network = load_network(tiny_osm, cache_dir=tmp_path, modes=["drive"])
    (cached,) = tmp_path.glob("*.graphml")
    cached.write_text(cached.read_text()[:500])
    again = load_network(tiny_osm, cache_dir=tmp_path, modes=["drive"])
    assert sorted(again.graph("drive").nodes) == sorted(network.graph("drive").nodes)
    assert [p.name for p in tmp_path.iterdir()] == [cached.name]


def test_osm_xml_modes(tmp_path: Path, tiny_osm: Path) -> None:
    """Each mode keeps the ways it may use, one-ways included, as the fixture's comment says."""
    network = load_network(tiny_osm, cache_dir=tmp_path)
    drive, bike, walk = (network.graph(m) for m in MODES)
    assert network.name == "tiny"
    assert sorted(drive.nodes) == [1, 2, 3, 4, 5, 7, 8]
    assert drive.has_edge(3, 4) and not drive.has_edge(4, 3)
    assert drive.has_edge(5, 7) and not drive.has_edge(3, 8)
    assert sorted(bike.nodes) == [1, 2, 3, 4, 5, 6]
    assert bike.has_edge(6, 4) and not bike.has_edge(2, 6) and not bike.has_edge(4, 3)
    assert sorted(walk.nodes) == [1, 2, 3, 4, 5, 6]
    assert walk.has_edge(4, 3) and walk.has_edge(2, 6)
    assert drive[1][2][0]["name"] == "Kauppakatu & Co"
    assert drive[1][2][0]["speed_kph"] == 30.0
    assert all(nx.is_strongly_connected(g) for g in (drive, bike, walk))
    cached = load_network(tiny_osm, cache_dir=tmp_path, modes=["drive"]).graph("drive")
    assert list(cached.edges(keys=True, data=True)) == list(drive.edges(keys=True, data=True))


def test_graphml_source_serves_every_mode(tmp_path: Path, helsinki_drive: nx.MultiDiGraph) -> None:
    """A .graphml file is one graph for all modes: speeds per mode, walk two-way, geometry kept."""
    simplified = ox.simplify_graph(helsinki_drive.copy())
    path = tmp_path / "helsinki-simplified.graphml"
    ox.save_graphml(simplified, path)
    network = load_network(str(path), cache_dir=tmp_path / "cache")
    drive, bike, walk = (network.graph(m) for m in MODES)
    assert network.name == "helsinki-simplified"
    assert len(drive) == len(bike) < 700
    assert not all(drive.has_edge(v, u) for u, v in drive.edges())
    assert all(walk.has_edge(v, u) for u, v in walk.edges())
    assert {d["speed_kph"] for _, _, d in bike.edges(data=True)} == {BIKE_SPEED_KPH}
    assert _speed_consistent(drive) and _speed_consistent(walk)
    bent = [d["geometry"] for _, _, d in drive.edges(data=True) if "geometry" in d]
    assert bent and all(isinstance(g, LineString) for g in bent)
    reread = load_network(path, cache_dir=tmp_path / "cache", modes=["drive"]).graph("drive")
    assert list(reread.edges(keys=True, data=True)) == list(drive.edges(keys=True, data=True))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    """A missing file is a NetworkSourceError (a ValueError) naming the path."""
    missing = tmp_path / "nowhere.osm.pbf"
    with pytest.raises(ValueError, match="nowhere.osm.pbf.*does not exist"):
        load_network(missing, cache_dir=tmp_path)
    with pytest.raises(NetworkSourceError, match="nowhere.graphml"):
        load_network(str(tmp_path / "nowhere.graphml"), cache_dir=tmp_path)


def test_unknown_file_type(tmp_path: Path) -> None:
    """An existing file of another type says which types are read."""
    path = tmp_path / "roads.csv"
    path.write_text("a,b\n")
    with pytest.raises(NetworkSourceError, match=r"\.osm\.pbf, \.osm or \.graphml"):
        load_network(path, cache_dir=tmp_path)


def test_bad_bbox(tmp_path: Path) -> None:
    """A bbox string must be four numbers in west,south,east,north order."""
    with pytest.raises(NetworkSourceError, match="west,south,east,north"):
        load_network("bbox:24.9,60.1,24.95", cache_dir=tmp_path)
    with pytest.raises(NetworkSourceError, match="order is west,south,east,north"):
        load_network("bbox:24.95,60.2,24.93,60.1", cache_dir=tmp_path)


def _no_network(*args: object, **kwargs: object) -> None:
    raise OSError("Name or service not known (test)")


@pytest.mark.parametrize("source", ["Kallio, Helsinki, Finland", "bbox:24.93,60.16,24.95,60.18"])
def test_offline_place_says_pass_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """Offline, a place or bbox fails at once with an OfflineError saying to pass a file."""
    monkeypatch.setattr(socket, "create_connection", _no_network)
    with pytest.raises(OfflineError, match="no network.*Pass a file instead"):
        load_network(source, cache_dir=tmp_path)
    assert issubclass(OfflineError, ValueError)


def test_connection_lost_during_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection error inside osmnx also becomes an OfflineError."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise requests.ConnectionError("connection reset (test)")

    monkeypatch.setattr(geo.graphs, "_require_network", lambda url, name: None)
    monkeypatch.setattr(ox, "graph_from_place", refuse)
    with pytest.raises(OfflineError, match="connection reset"):
        load_network("Kallio, Helsinki", cache_dir=tmp_path, modes=["walk"])


def test_place_loads_offline_once_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_osm: Path
) -> None:
    """A place fetched once is read from the cache afterwards, with no network at all."""
    raw = ox.graph_from_xml(tiny_osm, simplify=False, retain_all=True)
    monkeypatch.setattr(geo.graphs, "_require_network", lambda url, name: None)
    monkeypatch.setattr(ox, "graph_from_place", lambda *a, **k: raw.copy())
    first = load_network("Tinytown", cache_dir=tmp_path, modes=["drive"])
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.setattr(ox, "graph_from_place", _no_network)
    again = load_network("Tinytown", cache_dir=tmp_path, modes=["drive"])
    assert again.source_key == first.source_key
    assert sorted(again.graph("drive").nodes) == sorted(first.graph("drive").nodes)


@pytest.mark.slow
def test_andorra_pbf(andorra_pbf: Path, tmp_path: Path) -> None:
    """The whole of Andorra loads for every mode: ~22,700 drive nodes, strongly connected."""
    network = load_network(andorra_pbf, cache_dir=tmp_path)
    drive = network.graph("drive")
    assert 20_000 <= len(drive) <= 25_000
    for mode in MODES:
        graph = network.graph(mode)
        assert nx.is_strongly_connected(graph)
        assert _speed_consistent(graph)
    assert network.bounds().contains(42.5063, 1.5218)  # Andorra la Vella
