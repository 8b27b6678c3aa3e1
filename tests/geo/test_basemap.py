"""The offline base layer: every road once, grouped by class, in GeoJSON order."""

from __future__ import annotations

from pathlib import Path

import geo

TINY = Path(__file__).resolve().parent / "data" / "tiny.osm"


def test_network_lines_draw_each_road_once(tmp_path: Path) -> None:
    """The tiny network's roads appear once each (not per mode or direction), as [lon, lat]."""
    network = geo.load_network(TINY, cache_dir=tmp_path)
    drawn = geo.network_lines(network)
    assert drawn["type"] == "FeatureCollection"
    classes = [f["properties"]["road_class"] for f in drawn["features"]]
    assert set(classes) <= set(geo.ROAD_CLASSES) and len(classes) == len(set(classes))
    lines = [line for f in drawn["features"] for line in f["geometry"]["coordinates"]]
    ends = [frozenset((tuple(line[0]), tuple(line[-1]))) for line in lines]
    assert len(ends) == len(set(ends))
    for line in lines:
        for lon, lat in line:
            assert 24.9 < lon < 25.1 and 59.9 < lat < 60.1
    pairs = {frozenset((u, v)) for g in network.graphs.values() for u, v in g.edges()}
    assert len(lines) == len(pairs)
