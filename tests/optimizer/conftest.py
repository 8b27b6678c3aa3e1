"""Small named instances with hand-computed plans, for exact expectations in tests.

`day_small` is three visits for one driving agent plus an idle walker; `day_small_plan` is its
plan, every time worked out by hand from the matrix below (see the comments). `break_day` is
one visit and one agent whose break can fall in every place the timing rule knows.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from optimizer.model import (
    Agent,
    BorrowerRule,
    Break,
    Location,
    Problem,
    TimeWindow,
    TravelMatrix,
    TravelMode,
    Visit,
    VisitKind,
)
from optimizer.plan import BreakTaken, Plan, ReasonCode, Route, Stop, Unassigned

DAY = date(2026, 11, 24)
TZ = "Europe/Helsinki"
H = 3600


def grid_matrix(num_points: int, *, scale: int = 1) -> TravelMatrix:
    """Asymmetric, every entry distinct: seconds `scale * (300 + 60 i + 10 j)`, metres x10."""
    i, j = np.indices((num_points, num_points))
    seconds = scale * (300 + 60 * i + 10 * j)
    np.fill_diagonal(seconds, 0)
    return TravelMatrix(seconds, 10 * seconds)


HOME = Location(60.17, 24.94)
V1 = Location(60.18, 24.95)
V2 = Location(60.19, 24.96)
V3 = Location(60.20, 24.97)


@pytest.fixture
def day_small() -> Problem:
    """Visits v1 (window 09:00-09:30, skill fi), v2 (10:00-11:00), v3 (11:30-12:00) and v4
    (needs a pair, nobody can do it); borrower b2 (v2, v3) may get two visits. Agent a1
    drives, has skill fi and a 30-minute break in 11:00-12:00; a2 walks and stays home.

    Points: v1..v4 are 0..3, a1 start/end 4/5, a2 start/end 6/7.
    """
    visits = (
        Visit(
            "v1",
            "b1",
            V1,
            1800,
            (TimeWindow(9 * H, 9 * H + 1800),),
            VisitKind.APPOINTMENT,
            required_skills=frozenset({"fi"}),
        ),
        Visit("v2", "b2", V2, 1200, (TimeWindow(10 * H, 11 * H),), VisitKind.APPOINTMENT),
        Visit("v3", "b2", V3, 600, (TimeWindow(11 * H + 1800, 12 * H),)),
        Visit("v4", "b3", V3, 600, crew_size=2),
    )
    agents = (
        Agent(
            "a1",
            HOME,
            HOME,
            TimeWindow(8 * H, 13 * H),
            TravelMode.DRIVE,
            frozenset({"fi"}),
            (Break(TimeWindow(11 * H, 12 * H), 1800),),
        ),
        Agent("a2", HOME, HOME, TimeWindow(8 * H, 13 * H), TravelMode.WALK),
    )
    return Problem(
        visits=visits,
        agents=agents,
        matrices={
            TravelMode.DRIVE: grid_matrix(8),
            TravelMode.WALK: grid_matrix(8, scale=3),
        },
        borrowers=(BorrowerRule("b2", 2, TimeWindow(8 * H, 20 * H)),),
        day=DAY,
        timezone=TZ,
    )


@pytest.fixture
def day_small_plan() -> Plan:
    """The valid plan of `day_small`, by hand (drive matrix: 300 + 60 i + 10 j seconds).

    a1 departs 08:00 (28800); leg 4->0 is 540 s, arrives 29340, waits 3060 for v1 at 32400,
    ends 34200. Leg 0->1 is 310 s: arrives 34510, waits 1490, v2 36000-37200. Leg 1->2 is
    380 s: arrives 37580; the break 39600-41400 starts after arrival (on site), so waiting is
    41400 - 37580 - 1800 = 2020, v3 41400-42000. End leg 2->5 is 470 s: back at 42470.
    """
    stops = (
        Stop("v1", "b1", V1.lat, V1.lon, 29340, 32400, 34200, 3060, 540, 5400),
        Stop("v2", "b2", V2.lat, V2.lon, 34510, 36000, 37200, 1490, 310, 3100),
        Stop("v3", "b2", V3.lat, V3.lon, 37580, 41400, 42000, 2020, 380, 3800),
    )
    a1 = Route("a1", ("a1",), "drive", 28800, 42470, stops, (BreakTaken(39600, 41400),), 470, 4700)
    a2 = Route("a2", ("a2",), "walk", 28800, 28800, (), (), 0, 0)
    unassigned = (Unassigned("v4", ReasonCode.NO_CREW, "needs a pair of agents; no crew"),)
    return Plan(DAY, TZ, (a1, a2), unassigned)


@pytest.fixture
def break_day() -> Problem:
    """One visit w1 (20 min, window 10:00-10:30) and agent b with a 15-minute break that may
    start 08:00-11:00, shift 08:00-12:00.

    Points: w1 is 0, b start/end 1/2. The leg 1->0 is 1000 s / 2000 m, 0->2 is 500 s /
    1000 m, 1->2 is 700 s / 1400 m.
    """
    seconds = np.array([[0, 900, 500], [1000, 0, 700], [800, 600, 0]])
    return Problem(
        visits=(Visit("w1", "bw", V1, 1200, (TimeWindow(10 * H, 10 * H + 1800),)),),
        agents=(
            Agent(
                "b",
                HOME,
                HOME,
                TimeWindow(8 * H, 12 * H),
                breaks=(Break(TimeWindow(8 * H, 11 * H), 900),),
            ),
        ),
        matrices={TravelMode.DRIVE: TravelMatrix(seconds, 2 * seconds)},
        day=DAY,
        timezone=TZ,
    )
