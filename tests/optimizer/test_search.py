"""How a day is searched without a plan to start from: ruin and recreate for a smaller day,
sectors for a large day of a depot's fleet. Plans must pass the independent validator."""

from __future__ import annotations

import pytest

import optimizer.solver
from optimizer import Problem, VisitKind, solve
from optimizer.validate import validate
from tests.optimizer.test_validate_solver import CASES
from tests.optimizer.test_warm_start import busy_day
from tests.optimizer.tiny import Day, agent, visit


def appointments_kept(problem: Problem, plan: optimizer.Plan) -> int:
    kind = {v.id: v.kind for v in problem.visits}
    return sum(1 for r in plan.routes for s in r.stops if kind[s.visit_id] is VisitKind.APPOINTMENT)


def depot_day(num_visits: int) -> Problem:
    """Visits spread over 9 km, some with morning or afternoon appointments, for six like
    agents who all leave from and return to 0."""
    visits = [
        visit(
            f"V{k}",
            (k * 3700) % 9000,
            minutes=20,
            windows=[(9 * 60, 11 * 60)]
            if k % 4 == 0
            else [(13 * 60, 15 * 60)]
            if k % 4 == 1
            else [],
            appointment=k % 4 < 2,
        )
        for k in range(num_visits)
    ]
    return Day(visits, [agent(f"A{k}", 0) for k in range(6)]).problem()


def test_a_day_without_a_plan_is_searched_by_ruin_and_recreate() -> None:
    """The default search (no warm start, no solution limit) is ruin and recreate, and its
    plan of a day with crews, breaks and skills is valid and keeps every appointment the
    deterministic search keeps."""
    problem = busy_day()
    plan = solve(problem, time_limit=2)
    assert validate(problem, plan) == []
    assert str(plan.stats["status"]).startswith("ruin and recreate")
    steady = solve(problem, time_limit=10, max_solutions=50)
    assert appointments_kept(problem, plan) >= appointments_kept(problem, steady)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ruin_and_recreate_keeps_the_edge_cases_valid(case: str) -> None:
    """The edge cases the property tests once found, searched by ruin and recreate."""
    problem = CASES[case]
    assert validate(problem, solve(problem, time_limit=1)) == []


def test_a_large_day_of_a_depots_fleet_is_planned_in_sectors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From `_PARTS_FROM` visits, like agents leaving from one place get a first plan in
    sectors, improved in parts; every visit that fits is served and the plan is valid."""
    monkeypatch.setattr(optimizer.solver, "_PARTS_FROM", 10)
    monkeypatch.setattr(optimizer.solver, "_SECTOR_SIZE", 8)
    problem = depot_day(24)
    plan = solve(problem, time_limit=4)
    assert validate(problem, plan) == []
    assert "planned in 3 sectors" in str(plan.stats["status"])
    assert plan.num_assigned == 24


def test_a_large_day_of_agents_with_their_own_starts_is_constructed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Teams that differ (starts, breaks, skills, a crew) get the regret construction, which
    weighs every team for every appointment, instead of sectors."""
    monkeypatch.setattr(optimizer.solver, "_PARTS_FROM", 5)
    problem = busy_day()
    plan = solve(problem, time_limit=3)
    assert validate(problem, plan) == []
    assert str(plan.stats["status"]).startswith("constructed")


def test_ruin_settings_are_checked() -> None:
    """A ruin of no visits or temperatures out of order are refused with the values named."""
    with pytest.raises(ValueError, match="at least 1 visit"):
        optimizer.solver._Ruin(max_string=0)
    with pytest.raises(ValueError, match="cold <= hot"):
        optimizer.solver._Ruin(hot=0.001, cold=0.01)
