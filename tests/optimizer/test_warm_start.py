"""Warm starts (`initial_routes`), large days in parts, and several workers.

Every plan here must pass the independent validator; the days have breaks and crews, which
is where handing OR-Tools a plan of our own used to fail.
"""

from __future__ import annotations

import pytest

import optimizer.solver
from optimizer import Crew, Plan, Problem, ReasonCode, SolverTimeoutError, solve
from optimizer.parts import Schedule
from optimizer.validate import validate
from tests.optimizer.tiny import Day, agent, visit


def busy_day() -> Problem:
    """Eighteen visits (six of them appointments) for a crew and two agents, everyone with a
    lunch break; V5 needs the crew, V7 a Finnish speaker."""
    visits = [
        visit(
            f"V{k}",
            700 * k % 9000,
            minutes=40,
            windows=[(9 * 60 + 30 * (k % 6), 11 * 60 + 30 * (k % 6))] if k % 3 == 0 else [],
            appointment=k % 3 == 0,
            crew_size=2 if k == 5 else 1,
            required_skills=frozenset({"fi"}) if k == 7 else frozenset(),
        )
        for k in range(18)
    ]
    lunch = [(11 * 60 + 30, 13 * 60, 30)]
    return Day(
        visits,
        [
            agent("A1", 0, breaks=lunch, skills=frozenset({"fi"})),
            agent("A2", 0, breaks=[(12 * 60, 13 * 60 + 30, 20)]),
            agent("B", 4000, breaks=lunch),
            agent("C", 8000, breaks=lunch),
        ],
        crews=[Crew("PAIR", ("A1", "A2"))],
    ).problem()


def valid(problem: Problem, plan: Plan) -> Plan:
    assert validate(problem, plan) == []
    return plan


def routes_of(plan: Plan) -> dict[str, list[str]]:
    return {r.team_id: [s.visit_id for s in r.stops] for r in plan.routes if r.stops}


def test_a_plan_given_back_is_kept_when_no_search_is_asked() -> None:
    """Starting from a valid plan with a limit of one solution returns that plan's routes."""
    problem = busy_day()
    first = valid(problem, solve(problem, time_limit=10, max_solutions=20))
    again = valid(
        problem, solve(problem, time_limit=10, max_solutions=1, initial_routes=routes_of(first))
    )
    assert routes_of(again) == routes_of(first)


def test_a_warm_start_never_loses_an_appointment_the_start_kept() -> None:
    """Improving from a given plan keeps at least its appointments and its visits."""
    problem = busy_day()
    start = valid(problem, solve(problem, time_limit=10, max_solutions=5))
    better = valid(
        problem, solve(problem, time_limit=10, max_solutions=50, initial_routes=routes_of(start))
    )
    assert better.num_assigned >= start.num_assigned
    assert better.objective <= start.objective


def test_what_the_start_gets_wrong_is_dropped_quietly() -> None:
    """Unknown teams and visits, a visit listed twice, one the team lacks the skill for, an
    order that misses a window and values of the wrong type: no exception, a valid plan."""
    problem = busy_day()
    given = {
        "NOBODY": ["V1", "V2"],
        "B": ["V0", "V7", "NOPE", "V1", "V1", "V3"],  # V7 needs Finnish; V0 and V3 at 09:00
        "C": ["V1", "V4", "V9"],  # V1 again
        "A1": ["V5", "V2"],  # a crew member's id stands for the crew
        "A2": "V6",  # a string, not a list of visit ids
    }
    plan = valid(problem, solve(problem, time_limit=10, max_solutions=30, initial_routes=given))
    assert not any(u.reason_code is ReasonCode.MISSING_SKILL for u in plan.unassigned)
    served = [s.visit_id for r in plan.routes for s in r.stops]
    assert len(served) == len(set(served))


def test_a_large_day_in_parts_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """The path for large days (construction, then parts re-planned in turn), forced here on
    a small day: valid, every appointment that fits kept, no visit twice."""
    monkeypatch.setattr(optimizer.solver, "_PARTS_FROM", 5)
    problem = busy_day()
    plan = valid(problem, solve(problem, time_limit=3))
    assert "improved in parts" in str(plan.stats["status"])
    whole = valid(problem, solve(problem, time_limit=10, max_solutions=50))
    kept = {s.visit_id for r in plan.routes for s in r.stops if s.visit_id in {"V0", "V3"}}
    assert (
        len(kept)
        >= len({s.visit_id for r in whole.routes for s in r.stops if s.visit_id in {"V0", "V3"}})
        - 1
    )


def test_a_warm_started_day_that_fits_whole_is_polished_in_parts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A smaller warm-started day whose whole search serves every visit gets its travel
    polished in parts (parts of four visits here), and keeps every visit."""
    monkeypatch.setattr(optimizer.solver, "_SMALL_PARTS", Schedule(size=4, min_seconds=0.1))
    problem = Day(
        [visit(f"V{k}", 500 * k, minutes=20) for k in range(12)],
        [agent("A", 0, breaks=[(12 * 60, 13 * 60, 30)]), agent("B", 3000), agent("C", 6000)],
    ).problem()
    plan = valid(problem, solve(problem, time_limit=3, initial_routes={"A": ["V0", "V1"]}))
    assert "improved in parts" in str(plan.stats["status"])
    assert plan.num_assigned == 12


def test_a_warm_start_in_parts_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm start on the large-day path goes through the same repair."""
    monkeypatch.setattr(optimizer.solver, "_PARTS_FROM", 5)
    problem = busy_day()
    given = {"B": ["V3", "V0", "V1"], "PAIR": ["V5"], "X": ["V2"]}
    valid(problem, solve(problem, time_limit=2, initial_routes=given))


@pytest.mark.parametrize("parts_from", [5, 10_000])
def test_two_workers_give_a_valid_plan(monkeypatch: pytest.MonkeyPatch, parts_from: int) -> None:
    """On two worker processes, whole or in parts, the plan is as valid as on one."""
    monkeypatch.setattr(optimizer.solver, "_PARTS_FROM", parts_from)
    problem = busy_day()
    valid(problem, solve(problem, time_limit=3, num_workers=2))


def test_time_limit_and_workers_are_checked() -> None:
    """A non-positive limit or worker count is refused with a message naming it."""
    problem = busy_day()
    with pytest.raises(ValueError, match="time_limit must be a positive"):
        solve(problem, time_limit=0)
    with pytest.raises(ValueError, match="num_workers must be at least 1"):
        solve(problem, time_limit=1, num_workers=0)


def test_a_plan_or_tools_cannot_restore_is_an_error_or_kept_routes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should OR-Tools restore no plan of ours (its restore limit ran out on a loaded machine),
    a warm-started day says to raise the time limit, and a day in parts keeps what it has:
    never an internal assertion."""
    monkeypatch.setattr(optimizer.solver._Model, "_read", lambda self, routes, deadline: None)
    problem = busy_day()
    given = {"B": ["V3", "V0", "V1"]}
    with pytest.raises(SolverTimeoutError, match="raise the time limit"):
        solve(problem, time_limit=1, initial_routes=given)
    monkeypatch.setattr(optimizer.solver, "_PARTS_FROM", 5)
    plan = valid(problem, solve(problem, time_limit=1))
    assert plan.num_assigned == 0  # no part could be timed: every visit stays unassigned
    assert {u.visit_id for u in plan.unassigned} == {v.id for v in problem.visits}
