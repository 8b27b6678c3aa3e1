"""`retime`: a route in a hand-chosen order, timed by the `Stop` rule, or why it cannot be."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.model import Problem, Team
from optimizer.plan import BreakTaken, Plan, ReasonCode, Route, Unassigned
from optimizer.retime import retime
from optimizer.validate import validate
from tests.optimizer.strategies import greedy_plan, problems
from tests.optimizer.tiny import Day, H, M, agent, visit


def _team(problem: Problem, team_id: str = "a") -> Team:
    return next(t for t in problem.teams() if t.id == team_id)


def _plan_of(problem: Problem, route: Route) -> Plan:
    served = {s.visit_id for s in route.stops}
    unassigned = tuple(
        Unassigned(v.id, ReasonCode.CROWDED_OUT, "left out")
        for v in problem.visits
        if v.id not in served
    )
    return Plan(problem.day, problem.timezone, (route,), unassigned)


def test_visits_start_as_early_as_their_windows_allow() -> None:
    # Agent at x=0, 08:00-17:00; v1 at 600 m (10 min), v2 at 1200 m with a 09:00-10:00 window.
    problem = Day(
        [visit("v1", 600), visit("v2", 1200, windows=[(9 * 60, 10 * 60)])], [agent("a")]
    ).problem()
    route = retime(problem, _team(problem), ["v1", "v2"])
    assert isinstance(route, Route)
    v1, v2 = route.stops
    assert (v1.arrival, v1.start, v1.end, v1.waiting) == (8 * H + 600, 8 * H + 600, 8 * H + 2400, 0)
    # Leaves v1 at 08:40, arrives 08:50, waits 10 min for the window.
    assert (v2.arrival, v2.start, v2.waiting) == (8 * H + 3000, 9 * H, 600)
    assert route.departure == 8 * H
    assert route.arrival == 9 * H + 30 * M + 1200
    assert validate(problem, _plan_of(problem, route)) == []


def test_the_team_leaves_as_late_as_its_first_visit_allows() -> None:
    """A first appointment at 10:00, 10 minutes away: leave at 09:50, not wait from 08:10."""
    problem = Day([visit("v1", 600, windows=[(10 * 60, 11 * 60)])], [agent("a")]).problem()
    route = retime(problem, _team(problem), ["v1"])
    assert isinstance(route, Route)
    assert route.departure == 10 * H - 600
    assert (route.stops[0].arrival, route.stops[0].waiting) == (10 * H, 0)
    assert validate(problem, _plan_of(problem, route)) == []


def test_a_break_before_the_first_visit_keeps_the_shift_start() -> None:
    """Lunch due before the first visit: the team leaves at the shift start, as laid out."""
    problem = Day(
        [visit("v1", 600, windows=[(10 * 60, 11 * 60)])],
        [agent("a", breaks=[(8 * 60, 9 * 60, 30)])],
    ).problem()
    route = retime(problem, _team(problem), ["v1"])
    assert isinstance(route, Route)
    assert route.departure == 8 * H and route.breaks == (BreakTaken(8 * H, 8 * H + 30 * M),)
    assert validate(problem, _plan_of(problem, route)) == []


def test_the_working_time_is_kept() -> None:
    """Two hours of visits do not fit a 90-minute working day: said, with both figures."""
    problem = Day(
        [visit("v1", 600, minutes=60), visit("v2", 1200, minutes=60)],
        [agent("a", max_working_time=90 * M)],
    ).problem()
    why = retime(problem, _team(problem), ["v1", "v2"])
    assert isinstance(why, str)
    assert "would work 02:" in why and "more than the 01:30 allowed" in why


def test_the_other_order_is_timed_too() -> None:
    problem = Day([visit("v1", 600), visit("v2", 1200)], [agent("a")]).problem()
    route = retime(problem, _team(problem), ["v2", "v1"])
    assert isinstance(route, Route)
    assert [s.visit_id for s in route.stops] == ["v2", "v1"]
    assert route.stops[1].start == 8 * H + 1200 + 30 * M + 600
    assert validate(problem, _plan_of(problem, route)) == []


def test_a_break_is_taken_as_early_as_its_window_allows() -> None:
    # Lunch 30 min starting 08:20-09:00; v1 at 1800 m: the break falls on the way.
    problem = Day([visit("v1", 1800)], [agent("a", breaks=[(8 * 60 + 20, 9 * 60, 30)])]).problem()
    route = retime(problem, _team(problem), ["v1"])
    assert isinstance(route, Route)
    assert route.breaks == (BreakTaken(8 * H + 20 * M, 8 * H + 50 * M),)
    assert route.stops[0].arrival == 8 * H + 1800 + 30 * M
    assert validate(problem, _plan_of(problem, route)) == []


def test_a_missed_window_is_named() -> None:
    problem = Day(
        [visit("v1", 600, minutes=60), visit("v2", 600, windows=[(8 * 60, 8 * 60 + 30)])],
        [agent("a")],
    ).problem()
    why = retime(problem, _team(problem), ["v1", "v2"])
    assert isinstance(why, str)
    assert "v2" in why and "window" in why and "08:00-08:30" in why
    assert isinstance(retime(problem, _team(problem), ["v2", "v1"]), Route)


def test_the_shift_end_is_kept() -> None:
    problem = Day([visit("v1", 600, minutes=120)], [agent("a", shift=(8 * 60, 9 * 60))]).problem()
    why = retime(problem, _team(problem), ["v1"])
    assert isinstance(why, str)
    assert "after the shift ends at 09:00" in why


def test_an_unreachable_visit_and_an_unknown_one_are_named() -> None:
    problem = Day([visit("v1", 600)], [agent("a")], unreachable={"v1"}).problem()
    assert "cannot be reached" in str(retime(problem, _team(problem), ["v1"]))
    assert "v9" in str(retime(problem, _team(problem), ["v9"]))


def test_no_visits_is_an_idle_route() -> None:
    problem = Day([visit("v1", 600)], [agent("a")]).problem()
    route = retime(problem, _team(problem), [])
    assert isinstance(route, Route)
    assert route.stops == () and route.arrival == route.departure


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems(max_visits=8, max_agents=3), data=st.data())
def test_validate_accepts_every_retimed_route(problem: Problem, data: st.DataObject) -> None:
    """Greedy routes, shuffled and retimed: whatever `retime` returns as a route is valid."""
    plan = greedy_plan(problem)
    routes = []
    for route in plan.routes:
        order = data.draw(st.permutations([s.visit_id for s in route.stops]))
        team = _team(problem, route.team_id)
        # The greedy builder keeps the same rule: its own order always retimes to its visit
        # times (leaving no earlier than the builder did).
        own = retime(problem, team, [s.visit_id for s in route.stops])
        assert isinstance(own, Route), own
        assert [(s.visit_id, s.start, s.end) for s in own.stops] == [
            (s.visit_id, s.start, s.end) for s in route.stops
        ]
        assert (own.breaks, own.arrival) == (route.breaks, route.arrival)
        assert own.departure >= route.departure
        timed = retime(problem, team, order)
        if isinstance(timed, str):
            routes.append(route)
            continue
        routes.append(timed)
    retimed = dataclasses.replace(plan, routes=tuple(routes))
    assert validate(problem, retimed) == []
