"""How a day is searched without a plan to start from: ruin and recreate for a smaller day,
sectors for a large day of a depot's fleet. Plans must pass the independent validator."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from ortools.constraint_solver import pywrapcp
from ortools.util import optional_boolean_pb2

import optimizer.solver
from optimizer import BorrowerRule, Location, Plan, Problem, TravelMatrix, VisitKind, solve
from optimizer.decompose import Part, sub_problem
from optimizer.parallel import workers
from optimizer.parts import Schedule
from optimizer.plan import Route
from optimizer.precheck import Screening, screen
from optimizer.validate import validate
from tests.optimizer.test_validate_solver import CASES
from tests.optimizer.test_warm_start import busy_day
from tests.optimizer.tiny import SECONDS_PER_METRE, Day, agent, visit

METRES_PER_DEGREE = 111_320.0


def appointments_kept(problem: Problem, plan: Plan) -> int:
    """Appointments on the plan's routes."""
    kind = {v.id: v.kind for v in problem.visits}
    return sum(1 for r in plan.routes for s in r.stops if kind[s.visit_id] is VisitKind.APPOINTMENT)


def ring_day(num_visits: int, num_agents: int = 6) -> Problem:
    """Visits evenly round a circle of 2 km about the depot, in angle order (V0 due east,
    counter-clockwise), every fourth with a morning and every fourth with an afternoon
    appointment, for like agents (six unless told) who all leave from and return to the
    depot. Travel is the straight line at the tiny days' speeds."""
    angle = 2 * np.pi * np.arange(num_visits) / num_visits
    east, north = 2000 * np.cos(angle), 2000 * np.sin(angle)
    scale = np.cos(np.radians(60.0))
    visits = [
        replace(
            visit(
                f"V{k}",
                0,
                minutes=20,
                windows={0: [(9 * 60, 11 * 60)], 1: [(13 * 60, 15 * 60)]}.get(k % 4, []),
                appointment=k % 4 < 2,
            ),
            location=Location(
                lat=60.0 + north[k] / METRES_PER_DEGREE,
                lon=20.0 + east[k] / (METRES_PER_DEGREE * scale),
            ),
        )
        for k in range(num_visits)
    ]
    agents = [agent(f"A{k}", 0) for k in range(num_agents)]
    xy = np.column_stack([np.append(east, [0.0, 0.0]), np.append(north, [0.0, 0.0])])
    metres = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)).round()
    # Every agent's start and end are the same point as agent A0's, at index n and n + 1.
    points = np.r_[np.arange(num_visits), [num_visits, num_visits + 1] * len(agents)]
    metres = metres[np.ix_(points, points)].astype(np.int64)
    matrices = {
        mode: TravelMatrix(metres * factor, metres.copy())
        for mode, factor in SECONDS_PER_METRE.items()
    }
    return replace(Day(visits, agents).problem(), matrices=matrices)


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
    plan = solve(problem, time_limit=1)
    assert validate(problem, plan) == []
    status = str(plan.stats["status"])
    assert status == "nothing to route" or status.startswith("ruin and recreate"), status


@pytest.fixture
def small_sectors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sectors for days from 10 visits, of about 8 visits, at least 4 visits and 2 teams,
    for up to 0.2 s a visit (a few visits would otherwise leave them no time to start)."""
    monkeypatch.setattr(optimizer.solver, "_SECTORS_FROM", 10)
    monkeypatch.setattr(optimizer.solver, "_SECTOR_SIZE", 8)
    monkeypatch.setattr(optimizer.solver, "_MIN_SECTOR", 4)
    monkeypatch.setattr(optimizer.solver, "_SECTOR_SECONDS_PER_VISIT", 0.2)


@pytest.mark.usefixtures("small_sectors")
def test_a_large_day_of_a_depots_fleet_is_planned_in_sectors() -> None:
    """From `_SECTORS_FROM` visits, like agents leaving from one place get a first plan in
    sectors, improved in parts; every visit is served and the plan is valid."""
    problem = ring_day(24)
    plan = solve(problem, time_limit=4)
    assert validate(problem, plan) == []
    assert "planned in 3 sectors" in str(plan.stats["status"])
    assert plan.num_assigned == 24


@pytest.mark.usefixtures("small_sectors")
@pytest.mark.parametrize("num_workers", [1, 2])
def test_sectors_serve_every_visit_each_on_its_own_arc(num_workers: int) -> None:
    """The sector stage alone serves all 24 visits round the ring, and each route keeps to
    its sector's arc (8 neighbouring visits: at most 7 steps of 15 degrees apart). Two
    workers would make 4 sectors of 6, but 6 agents make at most 3 of 2 agents each."""
    problem = ring_day(24)
    planned = optimizer.solver._plan_sectors(
        problem, screen(problem), time.monotonic() + 3, num_workers
    )
    assert planned.count == 3
    served = sorted(i for route in planned.routes for i in route)
    assert served == list(range(24))
    assert set(planned.timed) == {t for t, route in enumerate(planned.routes) if route}
    for route in filter(None, planned.routes):
        assert any(all((i - k) % 24 <= 7 for i in route) for k in route), route


SectorCall = tuple[Problem, str, float]
"""A sector search's problem, start and the time it must end by."""


@pytest.fixture
def sector_calls(monkeypatch: pytest.MonkeyPatch) -> list[SectorCall]:
    """The sector searches `_plan_sectors` runs (in this process: one worker)."""
    calls: list[SectorCall] = []
    solve_sector = optimizer.solver._solve_sector

    def spy(
        problem: Problem, first_solution: str, seconds: float, not_after: float
    ) -> tuple[tuple[Route, ...], int | None]:
        calls.append((problem, first_solution, not_after))
        return solve_sector(problem, first_solution, seconds, not_after)

    monkeypatch.setattr(optimizer.solver, "_solve_sector", spy)
    return calls


@pytest.mark.usefixtures("small_sectors")
@pytest.mark.parametrize(
    ("seconds_per_visit", "expected"),
    [(0.02, 24 * 0.02), (1.0, 0.7 * 10)],
    ids=["a few ms a visit", "at most a share of the time"],
)
def test_sectors_take_their_time_per_visit_up_to_a_share_of_the_limit(
    monkeypatch: pytest.MonkeyPatch,
    sector_calls: list[SectorCall],
    seconds_per_visit: float,
    expected: float,
) -> None:
    """The sectors end after `_SECTOR_SECONDS_PER_VISIT` a visit of the day, or at
    `_SECTOR_SHARE` (0.7) of the time left if that comes first (no time to choose the
    start here: each sector once, from the usual start)."""
    monkeypatch.setattr(optimizer.solver, "_SECTOR_SECONDS_PER_VISIT", seconds_per_visit)
    monkeypatch.setattr(optimizer.solver, "_PROBE_SECONDS_PER_VISIT", 10.0)
    problem = ring_day(24)
    started = time.monotonic()
    planned = optimizer.solver._plan_sectors(problem, screen(problem), started + 10, 1)
    assert len(sector_calls) == 3
    assert {start for _, start, _ in sector_calls} == {"PARALLEL_CHEAPEST_INSERTION"}
    assert (planned.start, planned.probe) == ("PARALLEL_CHEAPEST_INSERTION", None)
    ends = {end for _, _, end in sector_calls}
    assert len(ends) == 1
    assert expected <= ends.pop() - started <= expected + 0.2


@pytest.mark.usefixtures("small_sectors")
@pytest.mark.parametrize(
    ("seconds_per_visit", "expected"),
    [(0.02, 24 * 0.02 * 4 / 3), (1.0, 0.7 * 10)],
    ids=["a round more", "within the share"],
)
def test_sectors_start_as_their_first_sector_ends_shortest(
    monkeypatch: pytest.MonkeyPatch,
    sector_calls: list[SectorCall],
    seconds_per_visit: float,
    expected: float,
) -> None:
    """With time for it, the first sector is planned from each start, the other sectors
    from the start whose plan of it cost less; choosing takes one round of sectors more
    (three sectors on one worker: four), within `_SECTOR_SHARE` of the time left."""
    monkeypatch.setattr(optimizer.solver, "_SECTOR_SECONDS_PER_VISIT", seconds_per_visit)
    problem = ring_day(24)
    started = time.monotonic()
    planned = optimizer.solver._plan_sectors(problem, screen(problem), started + 10, 1)
    starts = optimizer.solver._SECTOR_STARTS
    assert [start for _, start, _ in sector_calls[:2]] == list(starts)
    assert sector_calls[0][0] is sector_calls[1][0]  # both starts plan the same sector
    assert [start for _, start, _ in sector_calls[2:]] == [planned.start] * 2
    assert planned.probe is not None
    assert set(planned.probe) == set(starts)
    costs = {start: cost for start, cost in planned.probe.items() if cost is not None}
    assert planned.start == min(costs, key=lambda s: (costs[s], starts.index(s)))
    assert sorted(i for route in planned.routes for i in route) == list(range(24))
    ends = {end for _, _, end in sector_calls}
    assert len(ends) == 1
    assert expected <= ends.pop() - started <= expected + 0.2


@pytest.mark.usefixtures("small_sectors")
def test_a_sector_the_chosen_start_cannot_plan_is_planned_from_the_usual_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Savings chosen on the first sector can run out of time on another (its first plan is
    slower, on an overloaded sector): that sector is planned again from parallel cheapest
    insertion rather than left to the parts. Here savings finds nothing on any sector."""
    calls: list[str] = []
    solve_sector = optimizer.solver._solve_sector

    def savings_out_of_time(
        problem: Problem, first_solution: str, seconds: float, not_after: float
    ) -> tuple[tuple[Route, ...], int | None]:
        calls.append(first_solution)
        if first_solution == "SAVINGS":
            return (), None
        return solve_sector(problem, first_solution, seconds, not_after)

    monkeypatch.setattr(optimizer.solver, "_solve_sector", savings_out_of_time)
    problem = ring_day(24)
    screening = screen(problem)
    teams = screening.teams
    halves = [tuple(range(12)), tuple(range(12, 24))]
    subs = [
        sub_problem(problem, teams, Part((2 * k, 2 * k + 1), visits), [[] for _ in teams])
        for k, visits in enumerate(halves)
    ]
    deadline = time.monotonic() + 5
    with workers(1) as pool:
        planned = optimizer.solver._plan_each(pool, subs, "SAVINGS", 0.5, deadline, deadline)
    assert calls == ["SAVINGS"] * 2 + ["PARALLEL_CHEAPEST_INSERTION"] * 2
    served = sorted(
        int(stop.visit_id[1:]) for routes in planned for r in routes for stop in r.stops
    )
    assert served == list(range(24))


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


def test_an_empty_plan_to_start_from_is_no_warm_start() -> None:
    """`initial_routes={}` (a re-plan of a day with nothing planned yet) is searched like a
    day without one: ruin and recreate."""
    problem = busy_day()
    plan = solve(problem, time_limit=1, initial_routes={})
    assert validate(problem, plan) == []
    assert str(plan.stats["status"]).startswith("ruin and recreate")


def spare_teams_left_out(problem: Problem, seconds: float = 5) -> Problem:
    """The problem `_without_spare_teams` would search instead of `problem`."""
    deadline = time.monotonic() + seconds
    fewer, _ = optimizer.solver._without_spare_teams(problem, screen(problem), deadline)
    return fewer


def lean_ring() -> Problem:
    """Twelve visits round the ring for twenty like agents, without fair shares of work."""
    return replace(ring_day(12, num_agents=20), balance_work=False)


def test_a_search_from_scratch_leaves_out_the_teams_it_is_unlikely_to_need() -> None:
    """The construction uses two agents: the search gets those and two spares, every visit,
    and the travel of each of them (visits, then each agent's start and end)."""
    problem = lean_ring()
    fewer = spare_teams_left_out(problem)
    assert [a.id for a in fewer.agents] == ["A0", "A1", "A2", "A3"]
    assert [v.id for v in fewer.visits] == [v.id for v in problem.visits]
    points = [*range(12)] + [
        p for k in range(4) for p in (problem.agent_start_point(k), problem.agent_end_point(k))
    ]
    for mode, matrix in fewer.matrices.items():
        assert matrix.durations.shape == (20, 20)
        whole = problem.matrices[mode]
        assert np.array_equal(matrix.durations, whole.durations[np.ix_(points, points)])
        assert np.array_equal(matrix.distances, whole.distances[np.ix_(points, points)])


def test_the_teams_left_out_are_idle_in_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """OR-Tools searches a model of four teams; the plan still has a route for each of the
    twenty agents, the sixteen left out idle, and serves every visit."""
    searched: list[int] = []
    model = optimizer.solver._Model

    def counting(problem: Problem, screening: Screening) -> object:
        searched.append(len(screening.teams))
        return model(problem, screening)

    monkeypatch.setattr(optimizer.solver, "_Model", counting)
    problem = lean_ring()
    plan = solve(problem, time_limit=2)
    assert searched == [4]
    assert validate(problem, plan) == []
    assert "(4 of 20 teams searched" in str(plan.stats["status"])
    assert sorted(r.team_id for r in plan.routes) == sorted(a.id for a in problem.agents)
    assert plan.num_assigned == 12
    left_out = {a.id for a in problem.agents} - {"A0", "A1", "A2", "A3"}
    assert all(not r.stops for r in plan.routes if r.team_id in left_out)


def test_borrowers_caps_do_not_keep_every_team() -> None:
    """Three visits to one borrower who may have one: a plan can serve ten of the twelve,
    which the construction does, so the spare teams are still left out."""
    lean = lean_ring()
    shared = tuple(
        replace(v, borrower_id="B-shared") if k < 3 else v for k, v in enumerate(lean.visits)
    )
    problem = replace(lean, visits=shared, borrowers=(BorrowerRule("B-shared", 1),))
    assert len(spare_teams_left_out(problem).agents) < 20


def test_every_team_stays_where_the_teams_are_needed_or_differ() -> None:
    """Fair shares spread the work over every agent; a visit naming its agent, agents with
    their own starts, one agent whose start snaps to other roads, a construction out of time
    before it served every visit, and a day whose construction needs nearly every team keep
    every team."""
    lean = lean_ring()
    named = replace(
        lean, visits=(replace(lean.visits[0], preferred_agents=frozenset({"A7"})), *lean.visits[1:])
    )
    moved = {}
    for mode, matrix in lean.matrices.items():
        durations = matrix.durations.copy()
        durations[lean.agent_start_point(19), :12] += 60
        moved[mode] = TravelMatrix(durations, matrix.distances)
    snapped = replace(lean, matrices=moved)
    crowded = replace(ring_day(200), balance_work=False)
    differ = replace(busy_day(), balance_work=False)
    for problem in (ring_day(12, num_agents=20), named, differ, snapped, crowded):
        assert spare_teams_left_out(problem) is problem
    assert spare_teams_left_out(lean, seconds=-1) is lean


def zigzag(problem: Problem, num_agents: int) -> dict[str, list[str]]:
    """A poor plan of a ring day to start from: the visits shared out in turn, so each route
    crosses the ring back and forth."""
    return {f"A{k}": [v.id for v in problem.visits[k::num_agents]] for k in range(num_agents)}


def test_ruin_and_recreate_follows_the_plan_it_is_given() -> None:
    """OR-Tools' first plan when ruin and recreate starts from a plan is that plan, next for
    next (it builds the routes by our evaluator, which prefers the plan's next visit)."""
    problem = replace(ring_day(24, num_agents=4), balance_work=False)
    screening = screen(problem)
    model = optimizer.solver._Model(problem, screening)
    start = model.first_plan(
        optimizer.solver._PART_SEARCH, zigzag(problem, 3), time.monotonic() + 5
    )
    assert start is not None
    routing = model.routing
    given = {i: start.Value(routing.NextVar(i)) for i in range(routing.Size())}
    model._hint = {i: j for i, j in given.items() if j != i}
    follow = replace(optimizer.solver._PART_SEARCH, first_solution=optimizer.solver._FOLLOW)
    followed = routing.SolveWithParameters(optimizer.solver._search_parameters(follow, 5, 1))
    assert followed is not None
    assert {i: followed.Value(routing.NextVar(i)) for i in range(routing.Size())} == given
    assert followed.ObjectiveValue() == start.ObjectiveValue()


def test_ruin_and_recreate_from_a_plan_improves_it() -> None:
    """From the zigzag plan, ruin and recreate ends with less travel and every visit still
    served; it never ends worse than the plan it started from."""
    problem = replace(ring_day(24, num_agents=4), balance_work=False)
    model = optimizer.solver._Model(problem, screen(problem))
    start = model.first_plan(
        optimizer.solver._PART_SEARCH, zigzag(problem, 3), time.monotonic() + 5
    )
    assert start is not None and model.serves_all(start)
    found = model.ruin_and_recreate(
        optimizer.solver._PART_SEARCH, time.monotonic() + 1, start=start
    )
    assert found is not None
    solution, status = found
    assert status.startswith("ruin and recreate")
    assert model.serves_all(solution)
    assert solution.ObjectiveValue() < start.ObjectiveValue()


@pytest.fixture
def ruin_starts(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each ruin and recreate run from here on: whether it started from a given plan."""
    starts: list[bool] = []
    ruin_and_recreate = optimizer.solver._Model.ruin_and_recreate

    def spy(self: object, search: object, deadline: float, start: object = None) -> object:
        starts.append(start is not None)
        return ruin_and_recreate(self, search, deadline, start)  # type: ignore[arg-type]

    monkeypatch.setattr(optimizer.solver._Model, "ruin_and_recreate", spy)
    return starts


@pytest.mark.usefixtures("small_sectors")
def test_the_parts_of_a_day_planned_in_sectors_are_searched_by_ruin_and_recreate(
    monkeypatch: pytest.MonkeyPatch, ruin_starts: list[bool]
) -> None:
    """After the sectors, each part is searched by ruin and recreate from its routes; the
    plan serves every visit and is valid. A constructed large day keeps guided local search
    in its parts."""
    monkeypatch.setattr(
        optimizer.solver, "_SECTOR_PARTS", Schedule(size=8, min_seconds=0.1, min_routes=2)
    )
    problem = ring_day(24)
    plan = solve(problem, time_limit=4)
    assert validate(problem, plan) == []
    assert "planned in 3 sectors" in str(plan.stats["status"])
    assert plan.num_assigned == 24
    assert ruin_starts.count(False) == 4  # the sectors from scratch, the first from both starts
    assert ruin_starts.count(True) >= 3  # at least a pass of parts, from their routes
    ruin_starts.clear()
    monkeypatch.setattr(optimizer.solver, "_PARTS_FROM", 5)
    constructed = busy_day()
    assert validate(constructed, solve(constructed, time_limit=3)) == []
    assert ruin_starts == []


def test_a_part_that_leaves_visits_out_is_not_searched_by_ruin_and_recreate(
    ruin_starts: list[bool],
) -> None:
    """Ruin and recreate's first descent is not bound by the time limit, so a part gets it
    only where its first plan serves every visit; one agent cannot serve forty visits of
    twenty minutes, so that part gets guided local search, and still a route back."""
    for problem, expected in ((ring_day(12, num_agents=4), [True]), (ring_day(40, 1), [])):
        lean = replace(problem, balance_work=False)
        initial = {"A0": [lean.visits[0].id]}
        deadline = time.monotonic() + 1
        routes = optimizer.solver._solve_part(
            lean, initial, 1.0, deadline, search=optimizer.solver._RUIN_PART_SEARCH
        )
        assert ruin_starts == expected
        assert len(routes) == len(lean.agents)
        ruin_starts.clear()


@pytest.mark.parametrize(
    ("search", "bandit", "insertion"),
    [
        ("_RUIN_PART_SEARCH", False, False),
        ("_LARGE_PART_SEARCH", True, False),
        ("_PART_SEARCH", False, True),
    ],
)
def test_a_part_is_searched_with_the_operators_its_search_names(
    monkeypatch: pytest.MonkeyPatch, search: str, bandit: bool, insertion: bool
) -> None:
    """OR-Tools fixes its local search operators when the model closes, and reading the part's
    plan would close it with its defaults: the model is closed first with the search's own
    parameters. Ruin and recreate and a large day's parts turn the insertion operators off,
    a large day's parts let the multi-armed bandit order the operators, and a smaller day's
    polish keeps OR-Tools' defaults."""
    closed: list[object] = []
    close = pywrapcp.RoutingModel.CloseModelWithParameters

    def spy(self: pywrapcp.RoutingModel, params: object) -> None:
        closed.append(params)
        close(self, params)

    monkeypatch.setattr(pywrapcp.RoutingModel, "CloseModelWithParameters", spy)
    problem = replace(ring_day(12, num_agents=4), balance_work=False)
    initial = {"A0": [v.id for v in problem.visits]}
    deadline = time.monotonic() + 1
    chosen = getattr(optimizer.solver, search)
    routes = optimizer.solver._solve_part(problem, initial, 0.5, deadline, search=chosen)
    assert sum(len(r.stops) for r in routes) == 12
    assert closed, "the model was closed by reading the plan, with OR-Tools' defaults"
    params = closed[0]
    assert params.use_multi_armed_bandit_concatenate_operators is bandit  # type: ignore[attr-defined]
    operators = params.local_search_operators  # type: ignore[attr-defined]
    off = optional_boolean_pb2.BOOL_FALSE
    for name in optimizer.solver._INSERTION_LNS:
        assert (getattr(operators, f"use_{name}") != off) is insertion, name


@pytest.mark.usefixtures("small_sectors")
def test_each_kind_of_large_day_gets_its_own_part_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parts of a day planned in sectors are searched by ruin and recreate, those of a
    constructed large day by guided local search with the bandit (`_LARGE_PART_SEARCH`)."""
    searches: list[object] = []
    solve_part = optimizer.solver._solve_part

    def spy(*args: object, search: object = None) -> object:
        searches.append(search)
        return solve_part(*args, search=search)  # type: ignore[arg-type]

    monkeypatch.setattr(optimizer.solver, "_solve_part", spy)
    solve(ring_day(24), time_limit=3)
    assert optimizer.solver._RUIN_PART_SEARCH in searches
    assert optimizer.solver._LARGE_PART_SEARCH not in searches
    searches.clear()
    monkeypatch.setattr(optimizer.solver, "_PARTS_FROM", 5)
    solve(busy_day(), time_limit=3)
    assert optimizer.solver._LARGE_PART_SEARCH in searches
    assert optimizer.solver._RUIN_PART_SEARCH not in searches
