"""Snap coordinates to the nearest road graph node.

Wraps the trap in osmnx's ``nearest_nodes(G, X=lon, Y=lat)``: here arguments are `lats`, then
`lons`. No scikit-learn: nodes are embedded on the unit sphere, where straight-line (chord)
distance grows with great-circle distance, so a k-d tree finds the truly nearest node anywhere
on Earth, and distances are reported in haversine metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from geo.errors import GraphError

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (m) used for every great-circle distance in `geo`."""


@dataclass(frozen=True, eq=False)
class Snapped:
    """`nodes[i]` (int64 graph node id) is the node nearest to point i, `distances[i]` the
    great-circle distance from the point to it in metres (float64)."""

    nodes: np.ndarray
    distances: np.ndarray


def nearest_nodes(graph: nx.MultiDiGraph, lats: ArrayLike, lons: ArrayLike) -> Snapped:
    """The graph node nearest to each point (degrees); arrays in, arrays out, 1-D."""
    lat = np.atleast_1d(np.asarray(lats, dtype=np.float64))
    lon = np.atleast_1d(np.asarray(lons, dtype=np.float64))
    if lat.ndim != 1 or lat.shape != lon.shape:
        msg = f"lats and lons must be 1-D and of equal length, got {lat.shape} and {lon.shape}"
        raise ValueError(msg)
    bad = ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
    if bad.any():
        i = int(np.argmax(bad))
        msg = f"point {i} ({lat[i]}, {lon[i]}) is not a lat/lon in degrees"
        raise ValueError(msg)
    if len(lat) == 0:
        return Snapped(nodes=np.zeros(0, dtype=np.int64), distances=np.zeros(0))
    if graph.number_of_nodes() == 0:
        msg = "the road graph has no nodes: load one with geo.load_network"
        raise GraphError(msg)

    ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    node_lat = np.array([y for _, y in graph.nodes(data="y", default=np.nan)], np.float64)
    node_lon = np.array([x for _, x in graph.nodes(data="x", default=np.nan)], np.float64)
    if not (np.isfinite(node_lat).all() and np.isfinite(node_lon).all()):
        msg = "every road graph node needs float 'x' (lon) and 'y' (lat): use geo.load_network"
        raise GraphError(msg)
    tree = cKDTree(_unit_vectors(node_lat, node_lon))
    _, nearest = tree.query(_unit_vectors(lat, lon), k=1)
    nearest = np.asarray(nearest, dtype=np.int64)
    return Snapped(
        nodes=ids[nearest],
        distances=haversine_m(lat, lon, node_lat[nearest], node_lon[nearest]),
    )


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def haversine_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    """Great-circle distance in metres between points in degrees (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlam = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))
