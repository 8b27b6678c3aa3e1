"""The answer: routes of timed stops, and the visits left out with a reason a dispatcher can act on.

Times are seconds since local midnight of the plan day (see `optimizer.model`); `Plan.local_time`
turns them into time-zone-aware date-times for anything a user sees.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class ReasonCode(enum.StrEnum):
    """Why a visit is not in the plan. Stable strings: they appear in plan JSON and reports."""

    NO_ROAD_CONNECTION = "no_road_connection"
    MISSING_SKILL = "missing_skill"
    NO_CREW = "no_crew"
    AGENT_NOT_AVAILABLE = "agent_not_available"
    BORROWER_CAP = "borrower_cap"
    OUTSIDE_ALLOWED_HOURS = "outside_allowed_hours"
    NO_SHIFT_OVERLAP = "no_shift_overlap"
    WINDOW_UNREACHABLE = "window_unreachable"
    CROWDED_OUT = "crowded_out"
    CONTACT_POLICY = "contact_policy"
    OVER_WORKLOAD = "over_workload"


@dataclass(frozen=True)
class Stop:
    """One visit on a route.

    `travel_time`/`travel_distance` are the leg that leads here from the previous stop (or
    the route's start). The timeline of a leg, from `t0` (the previous stop's `end`, or the
    route's `departure`) to this stop's `start`, holds the travel, the breaks that fall in
    it, and waiting:

    - `arrival` = t0 + travel_time + the durations of the leg's breaks that start before the
      arrival (taken on the way); computed by adding breaks in start order while they start
      before the running arrival time;
    - `waiting` = start - arrival - the durations of the leg's breaks that start at or after
      arrival (taken on site before the visit); never negative;
    - `end` = start + the visit's duration.
    The route's `arrival` at its end location follows the same rule from the last `end`.
    """

    visit_id: str
    borrower_id: str
    lat: float
    lon: float
    arrival: int
    start: int
    end: int
    waiting: int
    travel_time: int
    travel_distance: int


@dataclass(frozen=True, order=True)
class BreakTaken:
    """A break as it falls in the route: from `start` to `end`."""

    start: int
    end: int


@dataclass(frozen=True)
class Route:
    """One team's day: leave the start at `departure`, serve `stops` in order, arrive at the
    end location at `arrival`. Totals include the final leg to the end location.

    `breaks` are in the order of the team's breaks (`Team.breaks`), one each. A team with no
    visits stays idle: no stops, no breaks, `arrival == departure`, and a zero end leg.
    The breaks of a leg are those that start in [t0, next start), and for the final leg
    those that start at or after the last stop's end.
    """

    team_id: str
    agent_ids: tuple[str, ...]
    mode: str
    departure: int
    arrival: int
    stops: tuple[Stop, ...]
    breaks: tuple[BreakTaken, ...]
    end_travel_time: int
    end_travel_distance: int

    @property
    def travel_time(self) -> int:
        return sum(s.travel_time for s in self.stops) + self.end_travel_time

    @property
    def travel_distance(self) -> int:
        return sum(s.travel_distance for s in self.stops) + self.end_travel_distance

    @property
    def service_time(self) -> int:
        return sum(s.end - s.start for s in self.stops)

    @property
    def waiting_time(self) -> int:
        return sum(s.waiting for s in self.stops)

    @property
    def num_stops(self) -> int:
        return len(self.stops)


@dataclass(frozen=True)
class Unassigned:
    """A visit left out of the plan, with a stable code and a sentence for the dispatcher."""

    visit_id: str
    reason_code: ReasonCode
    reason: str


@dataclass(frozen=True)
class Plan:
    """Routes (one per team that has work, or that was given none) and unassigned visits."""

    day: date
    timezone: str
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    objective: int = 0
    solve_seconds: float = 0.0
    stats: dict[str, int | float | str] = field(default_factory=dict, hash=False, compare=False)
    notes: tuple[str, ...] = ()
    """Things a dispatcher should know that are not about one visit (an agent who cannot work)."""

    def local_time(self, seconds: int) -> datetime:
        """A time of the plan day (s since local midnight) as an aware local date-time."""
        midnight = datetime.combine(self.day, time(0), tzinfo=ZoneInfo(self.timezone))
        # Wall-clock arithmetic: 09:00 stays 09:00 on a day the clocks change.
        return midnight + timedelta(seconds=seconds)

    @property
    def num_assigned(self) -> int:
        return sum(r.num_stops for r in self.routes)
