"""Splitting a large region-day into parts, and stitching the parts' plans back."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from doorstep.batch.split import num_parts, split_day
from doorstep.batch.stitch import stitch_plans
from doorstep.csvio import DayInput
from optimizer import (
    Agent,
    BorrowerRule,
    Crew,
    Location,
    Plan,
    Problem,
    TimeWindow,
    TravelMatrix,
    Visit,
)
from optimizer.plan import ReasonCode, Route, Unassigned

SHIFT = TimeWindow(8 * 3600, 17 * 3600)


def two_towns(*, visits_per_town: int = 20) -> DayInput:
    """Visits in a western and an eastern town 20 km apart, two borrowers with two visits
    each; a crew and an agent start in each town; one visit only agent W2 may do, though
    its borrower lives in the east."""
    visits = []
    for town, lon in (("W", 24.60), ("E", 24.96)):
        for n in range(visits_per_town):
            borrower = f"{town}B{n // 2}" if n < 4 else f"{town}B{n}"
            visits.append(
                Visit(
                    id=f"{town}V{n}",
                    borrower_id=borrower,
                    location=Location(60.17 + 0.001 * n, lon + 0.001 * n),
                    duration=1800,
                )
            )
    visits[-1] = Visit(
        id="EVlast",
        borrower_id="EBlast",
        location=Location(60.19, 24.98),
        duration=1800,
        allowed_agents=frozenset({"W2"}),
    )
    agents = []
    for town, lon in (("W", 24.60), ("E", 24.96)):
        start = Location(60.17, lon)
        agents += [Agent(f"{town}{k}", start, start, SHIFT) for k in (1, 2, 3)]
    crews = (Crew("WC", ("W1", "W3")), Crew("EC", ("E1", "E3")))
    borrowers = tuple(BorrowerRule(b) for b in dict.fromkeys(v.borrower_id for v in visits))
    return DayInput(
        visits=tuple(visits),
        agents=tuple(agents),
        crews=crews,
        borrowers=borrowers,
        addresses={v.id: f"street {v.id}" for v in visits},
        agent_names={a.id: a.id for a in agents},
        start_labels={a.id: "office" for a in agents},
    )


def test_a_small_day_is_not_split() -> None:
    """At or under the threshold, or with a single team, the day is one part: itself."""
    day = two_towns()
    assert split_day(day, max_visits=40) == (day,)
    assert num_parts(5000, 1, max_visits=100) == 1
    assert num_parts(1001, 50, max_visits=1000) == 2
    assert num_parts(10_000, 3, max_visits=1000) == 3
    with pytest.raises(ValueError, match="max_visits"):
        num_parts(10, 2, max_visits=0)


def test_parts_follow_the_map_and_keep_what_belongs_together() -> None:
    """Two towns make two parts, each with its own agents; every visit and agent is in
    exactly one part; a borrower's visits and a crew stay together; a visit restricted to
    an agent goes to that agent's part."""
    day = two_towns()
    parts = split_day(day, max_visits=25)
    assert len(parts) == 2
    visits = [v.id for p in parts for v in p.visits]
    agents = [a.id for p in parts for a in p.agents]
    assert sorted(visits) == sorted(v.id for v in day.visits)
    assert sorted(agents) == sorted(a.id for a in day.agents)
    for part in parts:
        towns = {v.id[0] for v in part.visits if v.id != "EVlast"}
        assert len(towns) == 1
        (town,) = towns
        assert {a.id[0] for a in part.agents} == {town}
        borrowers = {v.borrower_id for v in part.visits}
        assert {b.borrower_id for b in part.borrowers} == borrowers
        for crew in part.crews:
            assert set(crew.agent_ids) <= {a.id for a in part.agents}
        assert set(part.addresses) == {v.id for v in part.visits}
    west = next(p for p in parts if any(a.id == "W2" for a in p.agents))
    assert "EVlast" in {v.id for v in west.visits}


def test_split_is_deterministic() -> None:
    """The same day splits the same way every time (the report and tests rely on it)."""
    day = two_towns(visits_per_town=30)
    assert split_day(day, max_visits=20) == split_day(day, max_visits=20)


def _plan(day: date, routes: tuple[Route, ...], unassigned: tuple[Unassigned, ...]) -> Plan:
    return Plan(day, "Europe/Helsinki", routes, unassigned, objective=5, solve_seconds=1.5)


def test_stitch_orders_routes_by_team_and_unassigned_by_visit() -> None:
    """The stitched plan lists routes in the problem's team order and unassigned visits in
    visit order, adds objectives and keeps the slowest part's solve time."""
    day_input = two_towns(visits_per_town=4)
    n = len(day_input.visits) + 2 * len(day_input.agents)
    matrix = TravelMatrix(np.zeros((n, n), dtype=np.int64), np.zeros((n, n), dtype=np.int64))
    problem = Problem(
        visits=day_input.visits,
        agents=day_input.agents,
        matrices={day_input.agents[0].mode: matrix},
        crews=day_input.crews,
        day=date(2026, 11, 24),
        timezone="Europe/Helsinki",
    )

    def idle(team: str, agents: tuple[str, ...]) -> Route:
        return Route(team, agents, "drive", 28800, 28800, (), (), 0, 0)

    west = _plan(
        problem.day,
        (idle("W2", ("W2",)), idle("WC", ("W1", "W3"))),
        (Unassigned("WV3", ReasonCode.CROWDED_OUT, "full"),),
    )
    east = _plan(
        problem.day,
        (idle("EC", ("E1", "E3")), idle("E2", ("E2",))),
        (Unassigned("WV0", ReasonCode.CROWDED_OUT, "full"),),
    )
    plan = stitch_plans(problem, [east, west])
    assert [r.team_id for r in plan.routes] == [t.id for t in problem.teams()]
    assert [u.visit_id for u in plan.unassigned] == ["WV0", "WV3"]
    assert (plan.objective, plan.solve_seconds) == (10, 1.5)
    with pytest.raises(ValueError, match="same team"):
        stitch_plans(problem, [west, west])
