"""Errors a caller can fix. Each is a `ValueError`, so `except ValueError` still works, and
each message says what to do."""

from __future__ import annotations


class NetworkSourceError(ValueError):
    """The road network source cannot be read: a missing file, an unknown file type, a bad
    bbox string, or a place OpenStreetMap does not know."""


class OfflineError(ValueError):
    """A road network had to be fetched from OpenStreetMap but the machine has no network."""


class UnknownModeError(ValueError):
    """A travel mode that is not one of `geo.MODES`, or that a network was not loaded for."""


class GraphError(ValueError):
    """A road graph lacks what routing needs (travel times, integer node ids, lat/lon)."""


class NoRouteError(ValueError):
    """Two graph nodes that must be joined by a road path are not connected."""
