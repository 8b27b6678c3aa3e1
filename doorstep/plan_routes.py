"""Plan JSON routes as the routing core's `Route`s: for code that changes a stored plan
(moving a visit by hand, re-planning during the day) and must keep the rest as it was."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from optimizer.plan import BreakTaken, Route, Stop


def seconds_of(text: str, day: date, zone: ZoneInfo) -> int:
    """An ISO local date-time of the plan JSON as seconds since local midnight of `day`
    (wall-clock arithmetic, as the plan JSON was written)."""
    local = datetime.fromisoformat(text).astimezone(zone).replace(tzinfo=None)
    return int((local - datetime.combine(day, time(0))) / timedelta(seconds=1))


def route_of_document(doc: dict[str, Any], day: date, zone: ZoneInfo) -> Route:
    """A stored plan JSON route as a `Route` (its stored times, unchanged)."""
    stops = tuple(
        Stop(
            visit_id=s["visit_id"],
            borrower_id=s["borrower_id"],
            lat=float(s["lat"]),
            lon=float(s["lon"]),
            arrival=seconds_of(s["arrival"], day, zone),
            start=seconds_of(s["start"], day, zone),
            end=seconds_of(s["end"], day, zone),
            waiting=int(s["waiting_s"]),
            travel_time=int(s["travel_time_s"]),
            travel_distance=int(s["travel_distance_m"]),
        )
        for s in doc["stops"]
    )
    return Route(
        team_id=doc["team_id"],
        agent_ids=tuple(doc["agent_ids"]),
        mode=doc["mode"],
        departure=seconds_of(doc["departure"], day, zone),
        arrival=seconds_of(doc["arrival"], day, zone),
        stops=stops,
        breaks=tuple(
            BreakTaken(seconds_of(b["start"], day, zone), seconds_of(b["end"], day, zone))
            for b in doc["breaks"]
        ),
        end_travel_time=int(doc["travel_time_s"]) - sum(s.travel_time for s in stops),
        end_travel_distance=int(doc["travel_distance_m"]) - sum(s.travel_distance for s in stops),
    )
