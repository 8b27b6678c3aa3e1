"""The offline base layer of a region's maps: its road network as GeoJSON, cached on disk.

Drawing the roads takes loading the region's road graphs (about a second for the sample);
the result depends only on the network source, so it is written once under the cache folder
and served from there, to every user, until the source changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import geo
from doorstep.export import write_atomic

log = logging.getLogger(__name__)

BASEMAP_VERSION = "1"
"""Bump when the drawing changes, so cached layers are redrawn."""


def basemap_path(network_source: str, cache_dir: Path) -> Path:
    """Where the base layer of `network_source` is cached: keyed by the source and, for a
    file, its size and modification time, so an updated extract is redrawn."""
    key = f"{BASEMAP_VERSION}|{network_source}"
    source = Path(network_source).expanduser()
    if network_source != geo.SAMPLE and source.is_file():
        stat = source.stat()
        key += f"|{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return cache_dir / "basemap" / f"{digest}.geojson"


def basemap_geojson(network_source: str, cache_dir: Path) -> Path:
    """The cached GeoJSON file of `network_source`'s roads (`geo.network_lines`), drawn now
    if not there yet. Raises ValueError or OSError when the network cannot be loaded."""
    path = basemap_path(network_source, cache_dir)
    if path.exists():
        return path
    source = None if network_source == geo.SAMPLE else network_source
    network = geo.load_network(source, cache_dir=cache_dir)
    lines = geo.network_lines(network)
    write_atomic(path, json.dumps(lines, separators=(",", ":")))
    log.info("base layer of %s drawn: %s", network_source, path)
    return path
