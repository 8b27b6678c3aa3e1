"""Road graphs, snapping, travel matrices and route geometry.

Units, stated once: durations in seconds, distances in metres (integers in matrices),
coordinates in WGS84 degrees named `lat` and `lon`. A leaf package: it imports none of
`optimizer`, `doorstep` or `webui`.
"""

from geo.basemap import ROAD_CLASSES, network_lines
from geo.errors import GraphError, NetworkSourceError, NoRouteError, OfflineError, UnknownModeError
from geo.geometry import RoadPath, road_path, road_paths
from geo.graphs import (
    BIKE_SPEED_KPH,
    DRIVE_FALLBACK_SPEED_KPH,
    DRIVE_HIGHWAY_SPEEDS_KPH,
    MODES,
    SAMPLE,
    WALK_SPEED_KPH,
    Bounds,
    RoadNetwork,
    load_network,
)
from geo.matrix import METHODS, NO_PATH, Matrices, travel_matrices
from geo.snap import Snapped, haversine_m, nearest_nodes

__all__ = [
    "BIKE_SPEED_KPH",
    "DRIVE_FALLBACK_SPEED_KPH",
    "DRIVE_HIGHWAY_SPEEDS_KPH",
    "METHODS",
    "MODES",
    "NO_PATH",
    "ROAD_CLASSES",
    "SAMPLE",
    "WALK_SPEED_KPH",
    "Bounds",
    "GraphError",
    "Matrices",
    "NetworkSourceError",
    "NoRouteError",
    "OfflineError",
    "RoadNetwork",
    "RoadPath",
    "Snapped",
    "UnknownModeError",
    "haversine_m",
    "load_network",
    "nearest_nodes",
    "network_lines",
    "road_path",
    "road_paths",
    "travel_matrices",
]
