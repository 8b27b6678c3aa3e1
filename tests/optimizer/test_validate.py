"""Hand-checked plans: each corruption of a valid plan gives exactly the violations expected."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
import pytest

from optimizer.model import (
    UNREACHABLE,
    BorrowerRule,
    Problem,
    TimeWindow,
    TravelMatrix,
    TravelMode,
)
from optimizer.plan import BreakTaken, Plan, ReasonCode, Route, Stop, Unassigned
from optimizer.solver import solve
from optimizer.validate import Violation, ViolationCode, validate
from tests.optimizer.conftest import DAY, TZ, V1
from tests.optimizer.tiny import Day, agent, visit

Found = set[tuple[str, str | None, str | None]]


def found(problem: Problem, plan: Plan) -> Found:
    """The violations as (code, team, visit) triples, for exact comparison."""
    return {(str(v.code), v.team_id, v.visit_id) for v in validate(problem, plan)}


def with_route(plan: Plan, k: int, **changes: object) -> Plan:
    routes = list(plan.routes)
    routes[k] = dataclasses.replace(routes[k], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(plan, routes=tuple(routes))


def with_stop(plan: Plan, k: int, s: int, **changes: object) -> Plan:
    stops = list(plan.routes[k].stops)
    stops[s] = dataclasses.replace(stops[s], **changes)  # type: ignore[arg-type]
    return with_route(plan, k, stops=tuple(stops))


def with_visit(problem: Problem, visit_id: str, **changes: object) -> Problem:
    visits = tuple(
        dataclasses.replace(v, **changes) if v.id == visit_id else v  # type: ignore[arg-type]
        for v in problem.visits
    )
    return dataclasses.replace(problem, visits=visits)


def with_agent(problem: Problem, agent_id: str, **changes: object) -> Problem:
    agents = tuple(
        dataclasses.replace(a, **changes) if a.id == agent_id else a  # type: ignore[arg-type]
        for a in problem.agents
    )
    return dataclasses.replace(problem, agents=agents)


A1 = "a1"
ETA, BREAK, TRAVEL = ViolationCode.ETA, ViolationCode.BREAK, ViolationCode.TRAVEL


# -- The valid plan and the accounting of visits ----------------------------------------------


def test_valid_plan_has_no_violations(day_small: Problem, day_small_plan: Plan) -> None:
    """The hand-computed plan of `day_small` keeps every rule."""
    assert validate(day_small, day_small_plan) == []


def test_stop_outside_plan_is_missing(day_small: Problem, day_small_plan: Plan) -> None:
    """A visit neither routed nor unassigned is missing."""
    plan = dataclasses.replace(day_small_plan, unassigned=())
    assert found(day_small, plan) == {("missing_visit", None, "v4")}


def test_dropped_stop_is_missing(day_small: Problem, day_small_plan: Plan) -> None:
    """Dropping a routed stop without listing it reports the visit missing."""
    plan = with_route(day_small_plan, 0, stops=day_small_plan.routes[0].stops[:2])
    assert ("missing_visit", None, "v3") in found(day_small, plan)


def test_stop_also_unassigned_is_duplicate(day_small: Problem, day_small_plan: Plan) -> None:
    """A visit both routed and unassigned is a duplicate."""
    extra = Unassigned("v1", ReasonCode.CROWDED_OUT, "no room")
    plan = dataclasses.replace(day_small_plan, unassigned=(*day_small_plan.unassigned, extra))
    assert found(day_small, plan) == {("duplicate_visit", None, "v1")}


def test_twice_unassigned_is_duplicate(day_small: Problem, day_small_plan: Plan) -> None:
    """A visit listed twice as unassigned is a duplicate."""
    plan = dataclasses.replace(day_small_plan, unassigned=day_small_plan.unassigned * 2)
    assert found(day_small, plan) == {("duplicate_visit", None, "v4")}


def test_stop_repeated_in_route_is_duplicate(day_small: Problem, day_small_plan: Plan) -> None:
    """The same visit in two stops is a duplicate (and its timeline breaks too)."""
    stops = day_small_plan.routes[0].stops
    plan = with_route(day_small_plan, 0, stops=(*stops, stops[2]))
    assert ("duplicate_visit", None, "v3") in found(day_small, plan)


def test_unknown_unassigned_visit(day_small: Problem, day_small_plan: Plan) -> None:
    """An unassigned entry naming no visit of the problem is unknown."""
    ghost = Unassigned("ghost", ReasonCode.CROWDED_OUT, "no room")
    plan = dataclasses.replace(day_small_plan, unassigned=(*day_small_plan.unassigned, ghost))
    assert found(day_small, plan) == {("unknown_visit", None, "ghost")}


def test_unknown_stop_visit(day_small: Problem, day_small_plan: Plan) -> None:
    """A stop naming no visit of the problem is unknown, and the real visit goes missing."""
    plan = with_stop(day_small_plan, 0, 1, visit_id="ghost")
    assert found(day_small, plan) == {
        ("unknown_visit", A1, "ghost"),
        ("missing_visit", None, "v2"),
    }


@pytest.mark.parametrize("reason", ["", "   "])
def test_blank_reason(day_small: Problem, day_small_plan: Plan, reason: str) -> None:
    """An unassigned visit needs a reason sentence."""
    entry = Unassigned("v4", ReasonCode.NO_CREW, reason)
    plan = dataclasses.replace(day_small_plan, unassigned=(entry,))
    assert found(day_small, plan) == {("bad_reason", None, "v4")}


def test_unknown_reason_code(day_small: Problem, day_small_plan: Plan) -> None:
    """An unassigned visit needs a known reason code."""
    entry = Unassigned("v4", "bored", "the agent was bored")  # type: ignore[arg-type]
    plan = dataclasses.replace(day_small_plan, unassigned=(entry,))
    assert found(day_small, plan) == {("bad_reason", None, "v4")}


def test_wrong_day(day_small: Problem, day_small_plan: Plan) -> None:
    """A plan for another day (or time zone) than the problem's is reported."""
    plan = dataclasses.replace(day_small_plan, day=DAY + timedelta(days=1))
    assert found(day_small, plan) == {("wrong_day", None, None)}
    plan = dataclasses.replace(day_small_plan, timezone="UTC")
    assert found(day_small, plan) == {("wrong_day", None, None)}


# -- Routes and teams -------------------------------------------------------------------------


def test_unknown_team(day_small: Problem, day_small_plan: Plan) -> None:
    """A route of no team is reported once; its stops' own rules are still checked."""
    plan = with_route(day_small_plan, 0, team_id="nobody")
    assert found(day_small, plan) == {("unknown_team", "nobody", None)}
    plan = with_stop(plan, 0, 0, start=32399, end=34199)
    assert found(day_small, plan) == {("unknown_team", "nobody", None), ("window", "nobody", "v1")}


def test_wrong_agents(day_small: Problem, day_small_plan: Plan) -> None:
    """A route naming other agents than its team's is reported."""
    plan = with_route(day_small_plan, 0, agent_ids=("a2",))
    assert found(day_small, plan) == {("wrong_agents", A1, None)}


def test_wrong_mode(day_small: Problem, day_small_plan: Plan) -> None:
    """A route in another mode than its team's is reported; legs still follow the team's."""
    plan = with_route(day_small_plan, 0, mode="walk")
    assert found(day_small, plan) == {("wrong_mode", A1, None)}


def test_team_with_two_routes(day_small: Problem, day_small_plan: Plan) -> None:
    """A team may have one route only."""
    plan = dataclasses.replace(
        day_small_plan, routes=(*day_small_plan.routes, day_small_plan.routes[1])
    )
    assert found(day_small, plan) == {("duplicate_team", "a2", None)}


# -- Who may serve, caps ----------------------------------------------------------------------


def test_missing_skill(day_small: Problem, day_small_plan: Plan) -> None:
    """A visit needing a skill the team lacks is reported as a skill violation."""
    problem = with_agent(day_small, A1, skills=frozenset())
    assert found(problem, day_small_plan) == {("skill", A1, "v1")}


def test_crew_size(day_small: Problem, day_small_plan: Plan) -> None:
    """A visit for a pair done by one agent is a crew-size violation."""
    problem = with_visit(day_small, "v2", crew_size=2)
    assert found(problem, day_small_plan) == {("crew_size", A1, "v2")}


def test_not_allowed_agent(day_small: Problem, day_small_plan: Plan) -> None:
    """A visit reserved for other agents is reported; preferred agents are not a rule."""
    problem = with_visit(day_small, "v2", allowed_agents=frozenset({"a2"}))
    assert found(problem, day_small_plan) == {("not_allowed_agent", A1, "v2")}
    problem = with_visit(day_small, "v2", preferred_agents=frozenset({"a2"}))
    assert found(problem, day_small_plan) == set()


def test_all_serve_rules_reported_together(day_small: Problem, day_small_plan: Plan) -> None:
    """Skill, crew size and allowed agents failing at once give three violations."""
    problem = with_visit(
        day_small,
        "v2",
        required_skills=frozenset({"sv"}),
        crew_size=2,
        allowed_agents=frozenset({"a2"}),
    )
    assert found(problem, day_small_plan) == {
        ("skill", A1, "v2"),
        ("crew_size", A1, "v2"),
        ("not_allowed_agent", A1, "v2"),
    }


def test_max_visits(day_small: Problem, day_small_plan: Plan) -> None:
    """A route with more stops than the team's max_visits is reported; equal is fine."""
    assert found(with_agent(day_small, A1, max_visits=3), day_small_plan) == set()
    assert found(with_agent(day_small, A1, max_visits=2), day_small_plan) == {
        ("max_visits", A1, None)
    }


def test_max_working_time(day_small: Problem, day_small_plan: Plan) -> None:
    """Departure to arrival (42470 - 28800 s) may not exceed max_working_time."""
    assert found(with_agent(day_small, A1, max_working_time=13670), day_small_plan) == set()
    assert found(with_agent(day_small, A1, max_working_time=13669), day_small_plan) == {
        ("max_working_time", A1, None)
    }


def test_borrower_cap(day_small: Problem, day_small_plan: Plan) -> None:
    """More visits to a borrower than its rule allows is reported once for the borrower."""
    problem = dataclasses.replace(day_small, borrowers=(BorrowerRule("b2", 1),))
    violations = validate(problem, day_small_plan)
    assert [(v.code, v.team_id, v.visit_id) for v in violations] == [("borrower_cap", None, None)]
    assert "b2" in violations[0].message


def test_borrower_without_rule_has_no_cap(day_small: Problem, day_small_plan: Plan) -> None:
    """A borrower with no rule may get any number of visits."""
    assert found(dataclasses.replace(day_small, borrowers=()), day_small_plan) == set()


def test_borrower_cap_zero(day_small: Problem, day_small_plan: Plan) -> None:
    """A cap of zero forbids any visit to the borrower."""
    problem = dataclasses.replace(day_small, borrowers=(BorrowerRule("b1", 0),))
    assert found(problem, day_small_plan) == {("borrower_cap", None, None)}


# -- Windows and shift ------------------------------------------------------------------------


def test_start_outside_window(day_small: Problem, day_small_plan: Plan) -> None:
    """A stop starting outside every window is reported; window ends are inclusive."""
    problem = with_visit(day_small, "v1", windows=(TimeWindow(9 * 3600 + 1, 9 * 3600 + 1800),))
    assert found(problem, day_small_plan) == {("window", A1, "v1")}
    problem = with_visit(day_small, "v1", windows=(TimeWindow(8 * 3600, 9 * 3600),))
    assert found(problem, day_small_plan) == set()


def test_second_window_counts(day_small: Problem, day_small_plan: Plan) -> None:
    """Starting inside any one of the visit's windows is enough."""
    wins = (TimeWindow(8 * 3600, 8 * 3600 + 60), TimeWindow(9 * 3600, 9 * 3600 + 60))
    assert found(with_visit(day_small, "v1", windows=wins), day_small_plan) == set()


def test_borrower_hours_cut_window(day_small: Problem, day_small_plan: Plan) -> None:
    """The borrower's allowed hours narrow the visit's window."""
    rule = BorrowerRule("b1", 1, TimeWindow(9 * 3600 + 600, 20 * 3600))
    problem = dataclasses.replace(day_small, borrowers=(*day_small.borrowers, rule))
    assert found(problem, day_small_plan) == {("window", A1, "v1")}


def test_shift_start(day_small: Problem, day_small_plan: Plan) -> None:
    """Departing before the shift starts is reported."""
    problem = with_agent(day_small, A1, shift=TimeWindow(8 * 3600 + 1, 13 * 3600))
    assert found(problem, day_small_plan) == {("shift", A1, None)}


def test_shift_end(day_small: Problem, day_small_plan: Plan) -> None:
    """Arriving at the end after the shift ends is reported; exactly at the end is fine."""
    agent = day_small.agents[0]
    brk = dataclasses.replace(agent.breaks[0], window=TimeWindow(11 * 3600, 11 * 3600 + 60))
    problem = with_agent(day_small, A1, shift=TimeWindow(8 * 3600, 42470), breaks=(brk,))
    assert found(problem, day_small_plan) == set()
    problem = with_agent(day_small, A1, shift=TimeWindow(8 * 3600, 42469), breaks=(brk,))
    assert found(problem, day_small_plan) == {("shift", A1, None)}


# -- Legs and timing --------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["travel_time", "travel_distance"])
def test_wrong_leg(day_small: Problem, day_small_plan: Plan, field: str) -> None:
    """A leg that is not the matrix entry is a travel violation (times follow the matrix)."""
    stop = day_small_plan.routes[0].stops[1]
    plan = with_stop(day_small_plan, 0, 1, **{field: getattr(stop, field) + 1})
    assert found(day_small, plan) == {("travel", A1, "v2")}


def test_leg_from_wrong_point(day_small: Problem, day_small_plan: Plan) -> None:
    """Swapping two stops makes every leg come from the wrong point."""
    plan = with_route(day_small_plan, 0, stops=day_small_plan.routes[0].stops[::-1])
    assert {("travel", A1, v) for v in ("v1", "v2", "v3")} <= found(day_small, plan)


@pytest.mark.parametrize("field", ["end_travel_time", "end_travel_distance"])
def test_wrong_end_leg(day_small: Problem, day_small_plan: Plan, field: str) -> None:
    """The end leg is checked against the matrix entry to the team's end point."""
    plan = with_route(day_small_plan, 0, **{field: getattr(day_small_plan.routes[0], field) - 1})
    assert found(day_small, plan) == {("travel", A1, None)}


def test_unreachable_leg(day_small: Problem, day_small_plan: Plan) -> None:
    """A leg with no road connection is reported as unreachable, not as a travel mismatch."""
    matrix = day_small.matrices[TravelMode.DRIVE]
    seconds = matrix.durations.copy()
    seconds[0, 1] = UNREACHABLE
    problem = dataclasses.replace(
        day_small,
        matrices={**day_small.matrices, TravelMode.DRIVE: TravelMatrix(seconds, matrix.distances)},
    )
    assert found(problem, day_small_plan) == {("unreachable", A1, "v2")}


@pytest.mark.parametrize(
    ("stop", "field", "delta"),
    [(0, "arrival", 1), (1, "waiting", -1), (2, "arrival", -1), (0, "waiting", 1)],
)
def test_wrong_arrival_or_waiting(
    day_small: Problem, day_small_plan: Plan, stop: int, field: str, delta: int
) -> None:
    """A stop's arrival or waiting off by a second is an eta violation of that stop only."""
    value = getattr(day_small_plan.routes[0].stops[stop], field)
    plan = with_stop(day_small_plan, 0, stop, **{field: value + delta})
    visit = day_small_plan.routes[0].stops[stop].visit_id
    assert found(day_small, plan) == {("eta", A1, visit)}


def test_wrong_end(day_small: Problem, day_small_plan: Plan) -> None:
    """A stop's end must be its start plus the visit's duration."""
    plan = with_stop(day_small_plan, 0, 2, end=42001)
    assert found(day_small, plan) == {("eta", A1, "v3"), ("eta", A1, None)}


def test_wrong_route_arrival(day_small: Problem, day_small_plan: Plan) -> None:
    """The route's arrival at its end location follows the timing rule."""
    plan = with_route(day_small_plan, 0, arrival=42471)
    assert found(day_small, plan) == {("eta", A1, None)}


def test_negative_waiting(day_small: Problem, day_small_plan: Plan) -> None:
    """Negative waiting is reported even if start - arrival says so."""
    plan = with_stop(day_small_plan, 0, 1, arrival=36001, waiting=-1)
    assert ("eta", A1, "v2") in found(day_small, plan)


def test_start_before_arrival(day_small: Problem, day_small_plan: Plan) -> None:
    """A visit cannot start before the agent gets there."""
    # v2's window opens at 10:00; move it to 09:30 so only the timing is wrong.
    problem = with_visit(day_small, "v2", windows=(TimeWindow(9 * 3600, 11 * 3600),))
    plan = with_stop(day_small_plan, 0, 1, start=34500, end=35700, waiting=0)
    violations = validate(problem, plan)
    assert {(v.code, v.visit_id) for v in violations} == {("eta", "v2"), ("eta", "v3")}
    assert any("before arriving" in v.message for v in violations)


def test_overlapping_stops(day_small: Problem, day_small_plan: Plan) -> None:
    """A visit starting before the previous one ends is reported."""
    problem = with_visit(day_small, "v2", windows=(TimeWindow(9 * 3600, 11 * 3600),))
    plan = with_stop(day_small_plan, 0, 1, start=34000, end=35200)
    violations = validate(problem, plan)
    assert any(
        v.code == ETA and v.visit_id == "v2" and "previous stop ends" in v.message
        for v in violations
    )


def test_every_violation_is_listed(day_small: Problem, day_small_plan: Plan) -> None:
    """Several independent corruptions are all reported, not just the first."""
    plan = with_stop(day_small_plan, 0, 0, lat=V1.lat + 0.01)
    plan = with_stop(plan, 0, 1, travel_distance=1)
    plan = with_route(plan, 1, mode="drive")
    plan = dataclasses.replace(plan, unassigned=())
    assert found(day_small, plan) == {
        ("location", A1, "v1"),
        ("travel", A1, "v2"),
        ("wrong_mode", "a2", None),
        ("missing_visit", None, "v4"),
    }


# -- Copies of the problem's data -------------------------------------------------------------


def test_location(day_small: Problem, day_small_plan: Plan) -> None:
    """A stop's lat/lon may differ from the visit's by 1e-6 degrees at most."""
    assert found(day_small, with_stop(day_small_plan, 0, 0, lon=V1.lon + 5e-7)) == set()
    plan = with_stop(day_small_plan, 0, 0, lon=V1.lon + 2e-6)
    assert found(day_small, plan) == {("location", A1, "v1")}


def test_wrong_borrower(day_small: Problem, day_small_plan: Plan) -> None:
    """A stop must name its visit's borrower."""
    plan = with_stop(day_small_plan, 0, 0, borrower_id="b2")
    assert found(day_small, plan) == {("wrong_borrower", A1, "v1")}


# -- Breaks -----------------------------------------------------------------------------------


def test_break_missing(day_small: Problem, day_small_plan: Plan) -> None:
    """A break not taken is reported (and v3's waiting no longer adds up)."""
    plan = with_route(day_small_plan, 0, breaks=())
    assert found(day_small, plan) == {("break", A1, None), ("eta", A1, "v3")}


def test_break_overlapping_visit(day_small: Problem, day_small_plan: Plan) -> None:
    """A break overlapping a visit's service is reported against that visit."""
    plan = with_route(day_small_plan, 0, breaks=(BreakTaken(40000, 41800),))
    assert found(day_small, plan) == {("break", A1, "v3")}


def test_break_outside_window(day_small: Problem, day_small_plan: Plan) -> None:
    """A break must start inside its window."""
    plan = with_route(day_small_plan, 0, breaks=(BreakTaken(39599, 41399),))
    assert found(day_small, plan) == {("break", A1, None)}


W1 = "w1"


def break_route(
    departure: int,
    arrival: int,
    stop: tuple[int, int, int] | None,
    breaks: tuple[tuple[int, int], ...],
) -> Plan:
    """A plan of `break_day`: stop as (arrival, start, waiting), breaks as (start, end)."""
    if stop is None:
        stops: tuple[Stop, ...] = ()
        end_leg = (700, 1400) if arrival > departure else (0, 0)
        unassigned: tuple[Unassigned, ...] = (Unassigned(W1, ReasonCode.CROWDED_OUT, "no room"),)
    else:
        a, s, w = stop
        stops = (Stop(W1, "bw", V1.lat, V1.lon, a, s, s + 1200, w, 1000, 2000),)
        end_leg = (500, 1000)
        unassigned = ()
    taken = tuple(BreakTaken(s, e) for s, e in breaks)
    route = Route("b", ("b",), "drive", departure, arrival, stops, taken, *end_leg)
    return Plan(DAY, TZ, (route,), unassigned)


BREAK_CASES = {
    # valid placements of the one break (15 min, window 08:00-11:00)
    "before departure": (break_route(35000, 37700, (36000, 36000, 0), ((34000, 34900),)), set()),
    "on the way": (break_route(34500, 38100, (36400, 36400, 0), ((35000, 35900),)), set()),
    "at the departure": (break_route(34500, 38100, (36400, 36400, 0), ((34500, 35400),)), set()),
    "on site": (break_route(28800, 37700, (29800, 36000, 5300), ((30000, 30900),)), set()),
    "on site at arrival": (
        break_route(34000, 37700, (35000, 36000, 100), ((35000, 35900),)),
        set(),
    ),
    "after arrival": (break_route(34000, 37700, (35000, 36000, 1000), ((38000, 38900),)), set()),
    "end leg": (break_route(34000, 38600, (35000, 36000, 1000), ((37300, 38200),)), set()),
    "end leg at t0": (break_route(34000, 38600, (35000, 36000, 1000), ((37200, 38100),)), set()),
    "empty trip": (break_route(28800, 29500, None, ((29600, 30500),)), set()),
    "idle without break": (break_route(28800, 28800, None, ()), set()),
    # broken ones
    "straddles departure": (
        break_route(34500, 37700, (35500, 36000, 500), ((34000, 34900),)),
        {(BREAK, "b", None)},
    ),
    "overlaps visit": (
        break_route(34000, 37700, (35000, 36000, 1000), ((36500, 37400),)),
        {(BREAK, "b", W1)},
    ),
    "outside window": (
        break_route(34000, 37700, (35000, 36000, 1000), ((40000, 40900),)),
        {(BREAK, "b", None)},
    ),
    "wrong duration": (
        break_route(34000, 37700, (35000, 36000, 1000), ((38000, 38800),)),
        {(BREAK, "b", None)},
    ),
    "missing": (break_route(34000, 37700, (35000, 36000, 1000), ()), {(BREAK, "b", None)}),
    "extra": (
        break_route(34000, 37700, (35000, 36000, 1000), ((38000, 38900), (39000, 39900))),
        {(BREAK, "b", None)},
    ),
    "two breaks overlap": (
        break_route(34000, 37700, (35000, 36000, 1000), ((38000, 38900), (38500, 39400))),
        {(BREAK, "b", None)},
    ),
    "on the way, not counted": (
        break_route(34500, 37700, (35500, 36000, 500), ((35000, 35900),)),
        {(ETA, "b", W1)},
    ),
    "on site, not counted": (
        break_route(34000, 37700, (35000, 36000, 1000), ((35100, 36000),)),
        {(ETA, "b", W1)},
    ),
    "straddles arrival": (
        break_route(34000, 37700, (35000, 36000, 1000), ((37600, 38500),)),
        {(BREAK, "b", None), (ETA, "b", None)},
    ),
    "empty trip must break": (break_route(28800, 29500, None, ()), {(BREAK, "b", None)}),
    "empty trip, wrong arrival": (
        break_route(28800, 29400, None, ((29600, 30500),)),
        {(ETA, "b", None)},
    ),
}


@pytest.mark.parametrize("case", list(BREAK_CASES))
def test_break_placement(break_day: Problem, case: str) -> None:
    """Breaks before departure, on the way, on site or after arrival; each misuse reported."""
    plan, expected = BREAK_CASES[case]
    assert found(break_day, plan) == expected


# -- Crews, idle routes, the Violation type ---------------------------------------------------


def test_crew_route(day_small: Problem, day_small_plan: Plan) -> None:
    """A crew's route uses the lead's points and mode and may serve visits for a pair."""
    from optimizer.model import Crew

    problem = dataclasses.replace(
        with_visit(day_small, "v2", crew_size=2), crews=(Crew("c1", ("a1", "a2")),)
    )
    plan = with_route(day_small_plan, 0, team_id="c1", agent_ids=("a1", "a2"))
    plan = dataclasses.replace(plan, routes=plan.routes[:1])
    assert found(problem, plan) == set()
    swapped = with_route(plan, 0, agent_ids=("a2", "a1"))
    assert found(problem, swapped) == {("wrong_agents", "c1", None)}
    solo = with_route(day_small_plan, 0, agent_ids=("a1",))
    assert ("unknown_team", "a1", None) in found(problem, solo)


def test_idle_route_skips_breaks_and_legs(day_small: Problem, day_small_plan: Plan) -> None:
    """An idle route (no stops, arrival == departure) is not checked for breaks or legs."""
    idle = Route("a1", ("a1",), "drive", 30000, 30000, (), (), 123, 456)
    plan = dataclasses.replace(
        day_small_plan,
        routes=(idle, day_small_plan.routes[1]),
        unassigned=tuple(
            Unassigned(v.id, ReasonCode.CROWDED_OUT, "no room") for v in day_small.visits
        ),
    )
    assert found(day_small, plan) == set()


def test_team_without_route_is_fine(day_small: Problem, day_small_plan: Plan) -> None:
    """A team may be left out of the routes altogether."""
    plan = dataclasses.replace(day_small_plan, routes=day_small_plan.routes[:1])
    assert validate(day_small, plan) == []


def test_violation_reads_as_a_sentence() -> None:
    """str(Violation) names the team, the visit, the message and the code."""
    v = Violation(ViolationCode.WINDOW, "starts at 09:31, outside its windows", "a1", "v1")
    assert str(v) == "team a1, visit v1: starts at 09:31, outside its windows [window]"
    assert str(Violation("wrong_day", "the plan is for another day")).startswith("the plan")


def test_matrix_is_the_teams_mode(day_small: Problem, day_small_plan: Plan) -> None:
    """Legs are checked against the team's mode matrix, not another mode's."""
    walk = day_small.matrices[TravelMode.WALK]
    problem = dataclasses.replace(
        day_small, matrices={**day_small.matrices, TravelMode.DRIVE: walk}
    )
    codes = found(problem, day_small_plan)
    assert ("travel", A1, "v1") in codes and ("eta", A1, "v1") in codes


def test_problem_not_changed_by_validate(day_small: Problem, day_small_plan: Plan) -> None:
    """validate reads the problem's matrices without writing them."""
    before = {m: t.durations.copy() for m, t in day_small.matrices.items()}
    validate(day_small, with_route(day_small_plan, 0, breaks=()))
    for mode, seconds in before.items():
        assert np.array_equal(day_small.matrices[mode].durations, seconds)


def test_a_route_over_its_workload_limit_is_reported() -> None:
    visits = [visit(f"V{i}", 100 * i, workload=2) for i in range(1, 4)]
    plan = solve(Day(visits, [agent("A")]).problem(), time_limit=2, max_solutions=5)
    limited = Day(visits, [agent("A", max_workload=4)]).problem()
    codes = [v.code for v in validate(limited, plan)]
    assert codes == [ViolationCode.MAX_WORKLOAD]
