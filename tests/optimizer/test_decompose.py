"""Large days in parts: how the day is split, and what a part knows of the rest."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.decompose import SPARE_TEAMS, Part, partition, plane, sectors, sub_problem
from optimizer.model import BorrowerRule, Crew, Problem
from optimizer.precheck import screen
from tests.optimizer.tiny import Day, agent, visit


def line_day() -> Problem:
    """Twelve visits along 12 km, six agents (two idle-to-be), borrower B with two visits
    capped at one, and a crew."""
    visits = [visit(f"V{k}", 1000 * k) for k in range(12)]
    visits[3] = visit("V3", 3000, borrower="B")
    visits[9] = visit("V9", 9000, borrower="B")
    return Day(
        visits,
        [
            agent("A", 0),
            agent("C1", 4000),
            agent("C2", 4000),
            agent("D", 8000),
            agent("E", 11000),
            agent("F", 6000),
            agent("G", 6000),
        ],
        crews=[Crew("C", ("C1", "C2"))],
        borrowers=[BorrowerRule("B", max_visits=1)],
    ).problem()


def test_partition_covers_every_route_and_visit_once() -> None:
    """Each busy team, and each visit, is in exactly one part; idle teams at most once, and
    no part gets more than SPARE_TEAMS of them."""
    problem = line_day()
    teams = screen(problem).teams
    index = {t.id: k for k, t in enumerate(teams)}
    routes: list[list[int]] = [[] for _ in teams]
    routes[index["A"]] = [0, 1, 2]
    routes[index["C"]] = [3, 4, 5]
    routes[index["D"]] = [7, 8]
    routes[index["E"]] = [10, 11]
    unrouted = [6, 9]
    visit_xy, start_xy = plane(problem, teams)
    everyone = screen(problem).candidates
    parts = partition(
        problem,
        routes,
        unrouted,
        everyone,
        visit_xy,
        start_xy,
        size=4,
        rng=np.random.default_rng(3),
    )
    busy = [t for t, r in enumerate(routes) if r]
    in_parts = [t for p in parts for t in p.teams]
    assert sorted(t for t in in_parts if routes[t]) == busy
    assert len(in_parts) == len(set(in_parts))
    assert sorted(i for p in parts for i in p.visits) == list(range(12))
    for p in parts:
        assert sum(1 for t in p.teams if not routes[t]) <= SPARE_TEAMS
        for t in p.teams:
            assert set(routes[t]) <= set(p.visits)


def test_unserved_visits_of_one_borrower_join_one_part() -> None:
    """Two unserved visits of B at both ends of the line still land in the same part, so two
    parts solved at once cannot both use B's one allowed visit."""
    problem = line_day()
    teams = screen(problem).teams
    index = {t.id: k for k, t in enumerate(teams)}
    routes: list[list[int]] = [[] for _ in teams]
    routes[index["A"]] = [0, 1, 2]
    routes[index["E"]] = [10, 11]
    visit_xy, start_xy = plane(problem, teams)
    everyone = screen(problem).candidates
    for seed in range(5):
        parts = partition(
            problem,
            routes,
            [3, 9],
            everyone,
            visit_xy,
            start_xy,
            size=3,
            rng=np.random.default_rng(seed),
        )
        (holder,) = [p for p in parts if 3 in p.visits]
        assert 9 in holder.visits


def test_an_unserved_visit_joins_a_part_that_can_serve_it() -> None:
    """A Swedish-speaking visit next to A's route goes to the far part of the only agent who
    speaks Swedish, not to A's."""
    visits = [visit(f"V{k}", 1000 * k) for k in range(12)]
    visits[1] = visit("V1", 1000, required_skills=frozenset({"sv"}))
    problem = Day(visits, [agent("A", 0), agent("E", 11000, skills=frozenset({"sv"}))]).problem()
    screening = screen(problem)
    routes = [[0, 2, 3], [9, 10, 11]]
    visit_xy, start_xy = plane(problem, screening.teams)
    parts = partition(
        problem,
        routes,
        [1],
        screening.candidates,
        visit_xy,
        start_xy,
        size=3,
        rng=np.random.default_rng(0),
    )
    (holder,) = [p for p in parts if 1 in p.visits]
    assert holder.teams == (1,)


def test_sub_problem_keeps_crews_whole_and_caps_what_others_use() -> None:
    """The part's problem has the crew's two agents, its visits' matrix entries, and B's cap
    less the visit another route already makes."""
    problem = line_day()
    teams = screen(problem).teams
    index = {t.id: k for k, t in enumerate(teams)}
    routes: list[list[int]] = [[] for _ in teams]
    routes[index["A"]] = [0, 1, 2, 3]  # A serves B's visit V3
    routes[index["C"]] = [4, 5]
    part = Part((index["C"],), (4, 5, 9))
    sub = sub_problem(problem, teams, part, routes)
    assert [v.id for v in sub.visits] == ["V4", "V5", "V9"]
    assert [a.id for a in sub.agents] == ["C1", "C2"]
    assert [c.id for c in sub.crews] == ["C"]
    rule = sub.borrower_rule("B")
    assert rule is not None and rule.max_visits == 0
    original = problem.matrices[next(iter(problem.matrices))].durations
    cut = sub.matrices[next(iter(sub.matrices))].durations
    c1 = problem.agents.index(next(a for a in problem.agents if a.id == "C1"))
    assert cut[0, 1] == original[4, 5]
    assert cut[2, sub.agent_start_point(0)] == original[9, problem.agent_start_point(c1)]
    assert screen(sub).excluded.keys() == {2}  # V9: B has no visit left for this part


def ring(num_visits: int) -> tuple[np.ndarray, np.ndarray]:
    """Visits evenly round a circle (in angle order), and seven teams at its centre."""
    angle = np.linspace(0, 2 * np.pi, num_visits, endpoint=False)
    visit_xy = np.column_stack([np.cos(angle), np.sin(angle)])
    return visit_xy, np.zeros((7, 2))


def test_sectors_cut_the_day_into_even_arcs_with_their_share_of_teams() -> None:
    """Twelve visits round a depot in three sectors: four neighbouring visits each, every
    visit and every team exactly once, teams in proportion (3, 2, 2)."""
    problem = Day(
        [visit(f"V{k}", k) for k in range(12)], [agent(f"A{k}") for k in range(7)]
    ).problem()
    visit_xy, start_xy = ring(12)
    parts = sectors(problem, range(12), visit_xy, start_xy, num_sectors=3)
    assert sorted(i for p in parts for i in p.visits) == list(range(12))
    assert sorted(t for p in parts for t in p.teams) == list(range(7))
    assert sorted(len(p.visits) for p in parts) == [4, 4, 4]
    assert sorted(len(p.teams) for p in parts) == [2, 2, 3]
    for part in parts:
        # One arc: the ring lists visits in angle order, so a sector's visits run on.
        assert any(set(part.visits) == {(k + j) % 12 for j in range(4)} for k in part.visits)


def test_every_sector_gets_a_team() -> None:
    """More sectors asked than teams: as many sectors as teams, one team each; a small
    sector beside a large one still gets one."""
    problem = Day(
        [visit(f"V{k}", k) for k in range(12)], [agent(f"A{k}") for k in range(7)]
    ).problem()
    visit_xy, start_xy = ring(12)
    parts = sectors(problem, range(12), visit_xy, start_xy, num_sectors=10)
    assert len(parts) == 7
    assert all(len(p.teams) == 1 for p in parts)
    assert sorted(i for p in parts for i in p.visits) == list(range(12))
    # Borrower B's visits pull most of the ring into one sector: sizes 10, 1 and 1, whose
    # shares of three teams would be 2.5, 0.25 and 0.25.
    pulled = {7, 11, 0, 1, 3, 4, 5}
    problem = Day(
        [visit(f"V{k}", k, borrower="B" if k in pulled else None) for k in range(12)],
        [agent(f"A{k}") for k in range(3)],
    ).problem()
    uneven = sectors(problem, range(12), visit_xy, start_xy[:3], num_sectors=3)
    assert sorted(len(p.visits) for p in uneven) == [1, 1, 10]
    assert [len(p.teams) for p in uneven] == [1, 1, 1]


def test_a_borrowers_visits_share_a_sector() -> None:
    """V3 and V9 (borrower B, capped at one visit) lie on opposite sides yet go together."""
    problem = line_day()
    visit_xy, start_xy = ring(12)
    parts = sectors(problem, range(12), visit_xy, start_xy, num_sectors=4)
    (home,) = [p for p in parts if 3 in p.visits]
    assert 9 in home.visits


def test_sectors_need_at_least_one() -> None:
    """Zero sectors is refused with the value named."""
    problem = line_day()
    visit_xy, start_xy = ring(12)
    with pytest.raises(ValueError, match="num_sectors must be at least 1, got 0"):
        sectors(problem, range(12), visit_xy, start_xy, num_sectors=0)
