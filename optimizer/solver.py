"""Turn a `Problem` into a `Plan` with OR-Tools' routing solver.

This is the only module that imports OR-Tools; its words (node, index, vehicle, cumul,
dimension) stay here. One OR-Tools vehicle is one team (an agent, or a crew moving as one);
one node is one visit the pre-check let through, or a team's start or end.

The objective is lexicographic by construction of the costs: dropping an agreed appointment
costs more than dropping every flexible visit together; dropping a flexible visit costs its
priority times more than any travel it could save; then travel seconds; then small penalties
for work above a team's fair share and for a visit not done by a preferred agent.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, partial

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_heuristic_parameters_pb2
from ortools.util import optional_boolean_pb2

from optimizer import construct
from optimizer.costs import (
    BALANCE_PENALTY,
    FORBIDDEN,
    Costs,
    drop_penalty,
    drop_units,
    fair_shares,
    preference_penalty,
)
from optimizer.decompose import Part, plane, sectors, sub_problem
from optimizer.explain import explain_dropped
from optimizer.model import DAY_SECONDS, Problem, Team, TravelMode
from optimizer.parallel import Workers, usable_workers, workers
from optimizer.parts import Schedule, improve_in_parts
from optimizer.plan import BreakTaken, Plan, Route, Stop, Unassigned
from optimizer.precheck import Screening, screen

log = logging.getLogger(__name__)

HORIZON = 2 * DAY_SECONDS
_FORBIDDEN = FORBIDDEN


class SolverTimeoutError(RuntimeError):
    """The time limit ran out before the search found any plan: give it more time."""


@dataclass(frozen=True)
class _Nodes:
    """Map between OR-Tools nodes and the problem's points and visits."""

    visit_of_node: tuple[int, ...]  # node -> visit index, for the first num_visit_nodes nodes
    point_of_node: tuple[int, ...]  # node -> problem point

    @property
    def num_visit_nodes(self) -> int:
        return len(self.visit_of_node)


def solve(
    problem: Problem,
    *,
    time_limit: float = 10.0,
    max_solutions: int | None = None,
    initial_routes: Mapping[str, Sequence[str]] | None = None,
    num_workers: int = 1,
) -> Plan:
    """Plan the day.

    Parameters
    ----------
    problem
        The validated region-day.
    time_limit
        Wall-clock seconds for the whole call: screening, building the model, the first
        plan, the search and reading the plan back. The call returns within a few percent
        of it.
    max_solutions
        Stop after this many improving solutions. The search has no random element, so
        with a limit that is reached before `time_limit` the result is identical on every
        run: use it in tests.
    initial_routes
        A plan to start from (a warm start, e.g. the current plan when re-planning during
        the day): team id (a crew's id, or an agent's; a crew member's id stands for the
        crew) to visit ids in order. Unknown teams and visits, visits listed twice, and
        whatever does not fit the team's day are dropped; the rest of the visits are
        inserted around it, and the search improves the whole.
    num_workers
        Processes to search on. 1 (the default) keeps to the calling process; more is for
        callers that own the machine (the CLI passes the CPU count). In a daemonic process
        (a Dask worker) it falls back to 1.
    """
    started = time.monotonic()
    if time_limit <= 0:
        msg = f"time_limit must be a positive number of seconds, got {time_limit}"
        raise ValueError(msg)
    deadline = started + time_limit * (1 - _TIME_MARGIN)
    screening = screen(problem)
    teams = screening.teams
    unassigned = dict(screening.excluded)
    if not screening.candidates or not teams:
        routes = tuple(idle_route(team) for team in teams)
        return _plan(problem, screening, routes, unassigned, 0, started, status="nothing to route")
    num_workers = usable_workers(num_workers)
    size = len(screening.candidates)
    warm = bool(initial_routes)
    depot_fleet = _depot_fleet(problem, teams)
    in_sectors = not warm and depot_fleet and _any_team_may_take_any_visit(problem)
    if max_solutions is None and size >= (_SECTORS_FROM if in_sectors else _PARTS_FROM):
        routes, objective, status = _solve_in_parts(
            problem, screening, initial_routes, deadline, num_workers, in_sectors=in_sectors
        )
    else:
        searches = _searches_for(size, warm, depot_fleet)
        if max_solutions is not None:
            searches = searches[:1]  # deterministic: one search, in this process
        polish_from = None
        if max_solutions is None and size >= 2 * _SMALL_PARTS.size and searches[0].ruin is None:
            now = time.monotonic()
            polish_from = now + _WHOLE_SHARE * (deadline - now)
        found = _solve_whole(
            problem, initial_routes, searches[:num_workers], deadline, max_solutions, polish_from
        )
        if found is None:
            # Every visit is optional and every team can stay idle, so this means no time.
            msg = (
                f"the solver found no first plan for {size} visits "
                f"within {time_limit:.1f} s; raise the time limit"
            )
            raise SolverTimeoutError(msg)
        routes, objective, status, complete = found
        if complete and polish_from is not None:
            start, timed = _as_indices(problem, screening.teams, routes)
            routes, objective, status = _improve_in_parts(
                problem, screening, start, timed, deadline, num_workers, _SMALL_PARTS, status
            )
    served = {stop.visit_id for route in routes for stop in route.stops}
    for i in screening.candidates:
        visit = problem.visits[i]
        if visit.id not in served:
            unassigned[i] = explain_dropped(problem, teams, screening.candidates[i], i, routes)
    return _plan(problem, screening, routes, unassigned, objective, started, status=status)


_Found = tuple[tuple[Route, ...], int, str, bool]
"""Routes of every screened team, the objective, the search's status, and whether the plan
stopped early because it serves every visit it may (to be polished in parts)."""


def _solve_whole(
    problem: Problem,
    initial_routes: Mapping[str, Sequence[str]] | None,
    searches: Sequence[_Search],
    deadline: float,
    max_solutions: int | None,
    polish_from: float | None,
) -> _Found | None:
    """The day as one model, searched once per search given, at the same time on as many
    workers; the plan with the lowest objective wins."""
    args = (problem, initial_routes)
    if len(searches) == 1:
        return _search_whole(*args, searches[0], deadline, max_solutions, polish_from)
    with workers(len(searches)) as pool:
        futures = [
            pool.submit(_search_whole, *args, search, deadline, max_solutions, polish_from)
            for search in searches
        ]
        found = [f.result() for f in futures]
    best = min((f for f in found if f is not None), key=lambda f: f[1], default=None)
    if best is None:
        return None
    routes, objective, status, complete = best
    return routes, objective, f"{status} (best of {len(searches)} searches)", complete


def _search_whole(
    problem: Problem,
    initial_routes: Mapping[str, Sequence[str]] | None,
    search: _Search,
    deadline: float,
    max_solutions: int | None,
    polish_from: float | None,
) -> _Found | None:
    """One search of the whole day (also run in a worker process).

    A search with a `ruin`, on a day without a plan to start from or a solution limit, is
    ruin and recreate to the deadline; should that find no plan in its time, the day is
    constructed and searched instead. Otherwise guided local search from the first plan:
    with `polish_from` (a `time.monotonic()` before the deadline) it stops then if its plan
    serves every visit it may: only travel is left to gain, which parts do faster. A day that
    cannot take every visit is searched whole to the end, since what to leave out is a choice
    across the whole day.
    """
    screening = screen(problem)
    if search.ruin is not None and not initial_routes and max_solutions is None:
        ruined = _ruin_and_recreate(problem, screening, search, deadline)
        if ruined is not None:
            return ruined
        # OR-Tools' heuristic ran out of time inside it: no time for it again.
        log.info("ruin and recreate found no plan; searching from a constructed one")
        search = replace(search, first_solution=_CONSTRUCT, ruin=None)
    model = _Model(problem, screening)
    first = model.first_plan(search, initial_routes, deadline)
    if first is None:
        return None
    if polish_from is not None:
        first, status = model.search(first, search, polish_from, None)
        if model.serves_all(first):
            return model.extract_routes(first), first.ObjectiveValue(), status, True
    solution, status = model.search(first, search, deadline, max_solutions)
    return model.extract_routes(solution), solution.ObjectiveValue(), status, False


def _ruin_and_recreate(
    problem: Problem, screening: Screening, search: _Search, deadline: float
) -> _Found | None:
    """The whole day by ruin and recreate, without the spare teams it is unlikely to need
    (`_without_spare_teams`); those stay idle.
    None if it found no plan in time."""
    fewer, fewer_screening = _without_spare_teams(problem, screening, deadline)
    model = _Model(fewer, fewer_screening)
    ruined = model.ruin_and_recreate(search, deadline)
    if ruined is None:
        return None
    solution, status = ruined
    by_team = {route.team_id: route for route in model.extract_routes(solution)}
    routes = tuple(by_team.get(team.id) or idle_route(team) for team in screening.teams)
    searched, total = len(fewer_screening.teams), len(screening.teams)
    if searched < total:
        status += f" ({searched} of {total} teams searched, the rest spare)"
    return routes, solution.ObjectiveValue(), status, False


@dataclass(frozen=True)
class _Sectors:
    """A large day's first plan from its sectors (`_plan_sectors`)."""

    routes: list[list[int]]
    """Problem visit indices per team."""
    timed: dict[int, Route]
    """The timed route of every team that serves any."""
    count: int
    start: str
    """The OR-Tools first-solution strategy the sectors started from."""
    probe: Mapping[str, int | None] | None
    """The first sector's objective from each start, where the start was chosen by it
    (None: that start found no plan)."""


def _solve_in_parts(
    problem: Problem,
    screening: Screening,
    initial_routes: Mapping[str, Sequence[str]] | None,
    deadline: float,
    num_workers: int,
    *,
    in_sectors: bool,
) -> tuple[tuple[Route, ...], int, str]:
    """A large day: a first plan, then improved part by part (`optimizer.parts`).

    With `in_sectors` (a depot fleet, no plan to start from, no visit naming its agents) the
    first plan comes from sectors (`_plan_sectors`); any other day, or a warm start, gets it from
    `optimizer.construct`, whose regret insertion weighs every team for every appointment.
    (Measured on a generated 1,000-visit Andorra day of agents with their own starts,
    shifts, breaks and skills: sectors kept 430 of 450 appointments at 10 s and 439 at 60 s
    against 445 constructed; with every agent moved to one start, 431 against 437 at 30 s.)"""
    if in_sectors:
        planned = _plan_sectors(problem, screening, deadline, num_workers)
        return _improve_in_parts(
            problem,
            screening,
            planned.routes,
            planned.timed,
            deadline,
            num_workers,
            _SECTOR_PARTS,
            f"planned in {planned.count} sectors from {_words(planned.start)}",
            search=_RUIN_PART_SEARCH,
        )
    numbers = construct.instance_from(problem, screening)
    given = _given_nodes(problem, screening, initial_routes) if initial_routes else None
    repaired = construct.repair(numbers, given) if given is not None else None
    visit_of_node = sorted(screening.candidates)
    first = _insert_the_rest(problem, screening, numbers, repaired, deadline)
    start = [[visit_of_node[n] for n in r] for r in first]
    return _improve_in_parts(
        problem,
        screening,
        start,
        {},
        deadline,
        num_workers,
        _LARGE_PARTS,
        "constructed",
        search=_LARGE_PART_SEARCH,
    )


def _plan_sectors(
    problem: Problem, screening: Screening, deadline: float, num_workers: int
) -> _Sectors:
    """A first plan for a large day: the visits cut into sectors of about `_SECTOR_SIZE`
    (`optimizer.decompose.sectors`), each planned from scratch by ruin and recreate, as many
    at once as there are workers, for `_SECTOR_SECONDS_PER_VISIT` a visit, at most
    `_SECTOR_SHARE` of the time left.

    A whole number of rounds of sectors per worker, but no sector under `_MIN_SECTOR`
    visits or `_MIN_SECTOR_TEAMS` teams: many workers on a smaller day make fewer, larger
    sectors rather than sectors without a team or too small to trade visits in.

    Where there is time for it (`_probes`), one round more plans the first sector from both
    starts (`_SECTOR_STARTS`), and the rest from the one whose plan of it cost less.
    Visits no sector served are left for the parts.
    """
    teams = screening.teams
    size = len(screening.candidates)
    wanted = math.ceil(size / (_SECTOR_SIZE * num_workers)) * num_workers
    visit_xy, start_xy = plane(problem, teams)
    parts = sectors(
        problem,
        sorted(screening.candidates),
        visit_xy,
        start_xy,
        num_sectors=max(1, min(wanted, size // _MIN_SECTOR, len(teams) // _MIN_SECTOR_TEAMS)),
    )
    now = time.monotonic()
    most = _SECTOR_SHARE * (deadline - now)
    window = min(most, _SECTOR_SECONDS_PER_VISIT * size / num_workers)
    rounds = math.ceil(len(parts) / num_workers)
    probe = _probes(parts, window / rounds, most / (rounds + 1))
    if probe:
        window = min(window * (rounds + 1) / rounds, most)
        rounds += 1
    sectors_end = now + window
    seconds = window / rounds
    no_routes: list[list[int]] = [[] for _ in teams]
    subs = [sub_problem(problem, teams, part, no_routes) for part in parts]
    start, cost = _SECTOR_STARTS[0], None
    planned: list[tuple[Route, ...]] = []
    with workers(num_workers) as pool:
        if probe:
            start, first, cost = _choose_start(pool, subs[0], seconds, sectors_end)
            planned.append(first)
        planned += _plan_each(pool, subs[len(planned) :], start, seconds, sectors_end, deadline)
    routes_out: list[list[int]] = [[] for _ in teams]
    timed: dict[int, Route] = {}
    index = {v.id: i for i, v in enumerate(problem.visits)}
    team_of = {team.id: t for t, team in enumerate(teams)}
    for sector in planned:
        for route in sector:
            if route.stops:
                t = team_of[route.team_id]
                routes_out[t] = [index[stop.visit_id] for stop in route.stops]
                timed[t] = route
    return _Sectors(routes_out, timed, len(parts), start, cost)


def _choose_start(
    pool: Workers, sector: Problem, seconds: float, not_after: float
) -> tuple[str, tuple[Route, ...], dict[str, int | None]]:
    """Plan `sector` from each of `_SECTOR_STARTS` (side by side on two workers): the start
    whose plan cost less (on a tie, or where neither found one, the usual start), its
    routes, and each start's objective (None: no plan)."""
    tries = [
        (name, pool.submit(_solve_sector, sector, name, seconds, not_after))
        for name in _SECTOR_STARTS
    ]
    found = [(name, *job.result()) for name, job in tries]
    cost = {name: objective for name, _, objective in found}
    start, routes, _ = min(
        found, key=lambda f: (f[2] is None, f[2] or 0, _SECTOR_STARTS.index(f[0]))
    )
    log.info("the sectors start from %s (first sector: %s)", start, cost)
    return start, routes, cost


def _plan_each(
    pool: Workers,
    subs: Sequence[Problem],
    start: str,
    seconds: float,
    sectors_end: float,
    deadline: float,
) -> list[tuple[Route, ...]]:
    """Each sector's routes from `start`. A start other than the usual one can be slower on
    another sector than on the first (savings on an overloaded one): a sector it found no
    plan for is planned from the usual start in the same time, taken from the parts, rather
    than left to them."""
    jobs = [pool.submit(_solve_sector, sub, start, seconds, sectors_end) for sub in subs]
    found = [job.result() for job in jobs]
    if start != _SECTOR_STARTS[0]:
        again = {
            k: pool.submit(_solve_sector, sub, _SECTOR_STARTS[0], seconds, deadline)
            for k, (sub, (_, objective)) in enumerate(zip(subs, found, strict=True))
            if objective is None
        }
        for k, job in again.items():
            found[k] = job.result()
    return [routes for routes, _ in found]


def _probes(parts: Sequence[Part], seconds: float, at_most: float) -> bool:
    """Whether the sectors have time for a round more to choose their start (`seconds` a
    sector now, `at_most` with a round more within their share): more than one sector, and
    with the round more still `_PROBE_SECONDS_PER_VISIT` a visit of the first sector."""
    if len(parts) < 2:
        return False
    return min(seconds, at_most) >= _PROBE_SECONDS_PER_VISIT * len(parts[0].visits)


def _solve_sector(
    problem: Problem, first_solution: str, seconds: float, not_after: float
) -> tuple[tuple[Route, ...], int | None]:
    """Plan one sector of a large day from scratch from `first_solution` (runs in a worker
    process): its routes and objective; no routes and None if the search found none."""
    deadline = min(time.monotonic() + seconds, not_after)
    screening = screen(problem)
    if not screening.candidates or not screening.teams:
        return (), 0
    # Sectors are cut for depot fleets only: the depot fleet's first search.
    search = _searches_for(len(screening.candidates), warm=False, depot_fleet=True)[0]
    ruined = _ruin_and_recreate(
        problem, screening, replace(search, first_solution=first_solution), deadline
    )
    if ruined is None:
        log.warning("a sector of the day found no plan in its time; its visits go to the parts")
        return (), None
    return ruined[0], ruined[1]


def _without_spare_teams(
    problem: Problem, screening: Screening, deadline: float
) -> tuple[Problem, Screening]:
    """The day with only the teams a search from scratch is unlikely to need left out, where
    the teams are interchangeable (a depot's fleet whose teams share their travel, any of
    which may take any visit, without fair shares of work): kept are those a quick
    construction uses, and half as many again, at least `_SPARE_TEAMS` more.

    OR-Tools' local search slows down with every team, busy or idle (Homberger's R2_10_1 with
    its 250 vehicles: 340 ms per improving move, with 60 vehicles 60 ms), while idle teams
    alike do not change where its search goes: a sector of 250 visits with 62 teams or with
    11 ends in the same plan, the smaller in half the time (Homberger 1,000 at 60 s: +6.3 %
    above PyVRP before, +4.3 % after, sectors as they were). A day with fair shares of work
    keeps every team, since its objective spreads the visits over all of them; so does a day
    the construction does not serve as fully as the borrowers' caps allow (it ran out of its
    time), or that would keep every team anyway."""
    teams = screening.teams
    if (
        len(teams) <= _SPARE_TEAMS + 1
        or problem.balance_work
        or not _interchangeable(problem, teams)
    ):
        return problem, screening
    numbers = construct.instance_from(problem, screening)
    budget = time.monotonic() + _COUNT_SHARE * (deadline - time.monotonic())
    first = construct.insert(numbers, None, deadline=budget)
    used = [t for t, route in enumerate(first) if route]
    keep = len(used) + max(_SPARE_TEAMS, math.ceil(len(used) / 2))
    if sum(map(len, first)) < numbers.most_served or keep >= len(teams):
        return problem, screening
    idle = [t for t, route in enumerate(first) if not route]
    part = Part(tuple(sorted(used + idle[: keep - len(used)])), tuple(range(len(problem.visits))))
    fewer = sub_problem(problem, teams, part, [[] for _ in teams])
    return fewer, screen(fewer)


def _interchangeable(problem: Problem, teams: Sequence[Team]) -> bool:
    """Whether any team could take any other's place: alike (`_depot_fleet`), free to take
    any visit, and with the same travel between its start or end and every visit, and from
    its start to its end (one address can still snap to different roads)."""
    if not _depot_fleet(problem, teams) or not _any_team_may_take_any_visit(problem):
        return False
    head, nv = teams[0], problem.num_visits
    travel = problem.matrices[head.mode].durations
    return all(
        np.array_equal(travel[team.start_point, :nv], travel[head.start_point, :nv])
        and np.array_equal(travel[:nv, team.end_point], travel[:nv, head.end_point])
        and travel[team.start_point, team.end_point] == travel[head.start_point, head.end_point]
        for team in teams[1:]
    )


def _insert_the_rest(
    problem: Problem,
    screening: Screening,
    numbers: construct.Instance,
    given: construct.Routes | None,
    deadline: float,
) -> list[list[int]]:
    """`given` (visit nodes per team, already fitting) with every other visit that fits
    inserted by `optimizer.construct`, in a share of the time left (most of it goes to the
    search, which improves any first plan): by regret, and where that left visits out and
    took at most `_SECOND_LOOK_SHARE` of the time left, also cheapest first; the plan that
    costs less (`optimizer.costs.Costs`) stands.

    Regret suits a day the teams can mostly serve. On a day with far more visits than the
    teams can make it fills the routes with long drives: a generated 1,000-visit Andorra
    day with 12 agents alike at one start got 28 visits (26 appointments) from regret
    against 75 (52) cheapest first; after 60 s of parts, 61 and 63 visits (55 and 57
    appointments) from regret's plan, 82 and 82 (60 and 65) from cheapest first's. On the
    generated days of one agent per 11 visits regret's plans cost far less (1,000 visits:
    748 routed, 445 appointments, against 762 and 431) and stand, but the second pass takes
    0.8 s of a 10 s limit and 3 s of 20 s from the parts (one run with it routed 806 and
    1,654 visits at those limits, against 818 and 1,685 in the benchmark), hence the share."""
    started = time.monotonic()
    budget = started + _CONSTRUCT_SHARE * (deadline - started)
    best = construct.insert(numbers, given, deadline=budget)
    quick = time.monotonic() - started <= _SECOND_LOOK_SHARE * (deadline - started)
    if quick and sum(map(len, best)) < numbers.most_served:
        cheapest = construct.insert(numbers, given, deadline=budget, by_regret=False)
        costs = Costs(problem, screening)
        visit_of_node = sorted(screening.candidates)

        def cost(routes: construct.Routes) -> int:
            return costs.total([[visit_of_node[n] for n in r] for r in routes])

        if cost(cheapest) < cost(best):
            best = cheapest
    return [list(r) for r in best]


def _as_indices(
    problem: Problem, teams: Sequence[Team], routes: Sequence[Route]
) -> tuple[list[list[int]], dict[int, Route]]:
    """Timed routes as problem visit indices per team (in `teams` order), and the timed
    route of each team that serves any."""
    index = {v.id: i for i, v in enumerate(problem.visits)}
    by_team = {r.team_id: r for r in routes}
    indices = [[index[s.visit_id] for s in by_team[team.id].stops] for team in teams]
    timed = {t: by_team[team.id] for t, team in enumerate(teams) if by_team[team.id].stops}
    return indices, timed


def _improve_in_parts(
    problem: Problem,
    screening: Screening,
    start: Sequence[Sequence[int]],
    timed: Mapping[int, Route],
    deadline: float,
    num_workers: int,
    schedule: Schedule,
    before: str,
    *,
    search: _Search | None = None,
) -> tuple[tuple[Route, ...], int, str]:
    """Improve a plan (visit indices per team; `timed`: the timed routes where known, by
    team) part by part until the deadline, each part by `search` (by default `_PART_SEARCH`),
    and time whatever no part brought back."""
    teams = screening.teams
    with workers(num_workers) as pool:
        progress = improve_in_parts(
            problem,
            screening,
            start,
            timed=timed,
            deadline=deadline,
            workers=pool,
            num_workers=num_workers,
            solve_part=partial(_solve_part, search=search),
            schedule=schedule,
        )
    untimed = [t for t, r in enumerate(progress.routes) if r and t not in progress.timed]
    if untimed:
        # Routes no part brought back (time ran out first, or no part did better): time them.
        part = Part(tuple(untimed), tuple(i for t in untimed for i in progress.routes[t]))
        sub = sub_problem(problem, teams, part, progress.routes)
        initial = {teams[t].id: [problem.visits[i].id for i in progress.routes[t]] for t in untimed}
        for route in _solve_part(sub, initial, 0.0, time.monotonic()):
            t = next(t for t in untimed if teams[t].id == route.team_id)
            progress.timed[t] = route
            kept = {s.visit_id for s in route.stops}
            progress.routes[t] = [i for i in progress.routes[t] if problem.visits[i].id in kept]
    for t in untimed:
        if t not in progress.timed:
            log.warning("a route could not be timed in the time left; its visits stay unassigned")
            progress.routes[t] = []
    routes_out = tuple(
        progress.timed[t] if progress.routes[t] else idle_route(team)
        for t, team in enumerate(teams)
    )
    objective = Costs(problem, screening).total(progress.routes)
    status = f"{before}, improved in parts ({progress.passes} passes, {progress.parts} parts)"
    return routes_out, objective, status


def _solve_part(
    problem: Problem,
    initial: Mapping[str, Sequence[str]],
    seconds: float,
    not_after: float,
    *,
    search: _Search | None = None,
) -> tuple[Route, ...]:
    """Re-plan one part of a large day from its current routes (runs in a worker process):
    by `search` (by default `_PART_SEARCH`): guided local search, or for a search with a
    `ruin` (`_RUIN_PART_SEARCH`) ruin and recreate where the part's first plan serves every
    visit in it (from one that leaves visits out, its first descent runs past the time
    limit)."""
    search = search or _PART_SEARCH
    started = time.monotonic()
    deadline = max(min(started + seconds, not_after), started + _MIN_SEARCH_SECONDS)
    screening = screen(problem)
    if not screening.candidates or not screening.teams:
        return tuple(idle_route(team) for team in screening.teams)
    model = _Model(problem, screening)
    model.close(search)
    first = model.first_plan(search, initial, deadline)
    if first is None:
        return ()  # no routes back: the part keeps the ones it has
    if search.ruin is not None and model.serves_all(first):
        ruined = model.ruin_and_recreate(search, deadline, start=first)
        solution = first if ruined is None else ruined[0]
    else:
        solution, _ = model.search(first, replace(search, ruin=None), deadline, None)
    return model.extract_routes(solution)


def _given_nodes(
    problem: Problem, screening: Screening, initial_routes: Mapping[str, Sequence[str]]
) -> list[list[int]]:
    """A warm start in solver nodes per team; what the model does not know is left out."""
    teams = screening.teams
    team_of = {team.id: t for t, team in enumerate(teams)}
    for t, team in enumerate(teams):
        for agent_id in team.agent_ids:
            team_of.setdefault(agent_id, t)
    node_of = {problem.visits[i].id: node for node, i in enumerate(sorted(screening.candidates))}
    routes: list[list[int]] = [[] for _ in teams]
    for team_id, visit_ids in initial_routes.items():
        k = team_of.get(team_id)
        if k is None or routes[k] or isinstance(visit_ids, str):
            continue
        routes[k] = [node_of[v] for v in visit_ids if isinstance(v, str) and v in node_of]
    return routes


def _plan(
    problem: Problem,
    screening: Screening,
    routes: tuple[Route, ...],
    unassigned: dict[int, Unassigned],
    objective: int,
    started: float,
    *,
    status: str,
) -> Plan:
    return Plan(
        day=problem.day,
        timezone=problem.timezone,
        routes=routes + tuple(idle_route(team) for team, _ in screening.idle),
        unassigned=tuple(unassigned[i] for i in sorted(unassigned)),
        notes=tuple(why for _, why in screening.idle),
        objective=int(objective),
        solve_seconds=time.monotonic() - started,
        stats={"status": status},
    )


def _words(strategy: str) -> str:
    """An OR-Tools strategy's name as words: "SAVINGS" -> "savings"."""
    return strategy.lower().replace("_", " ")


def _status_name(status: int) -> str:
    name: str = routing_enums_pb2.RoutingSearchStatus.Value.Name(status)
    return name.removeprefix("ROUTING_").lower()


def _build_nodes(problem: Problem, screening: Screening) -> _Nodes:
    visit_of_node = tuple(sorted(screening.candidates))
    points = [problem.visit_point(i) for i in visit_of_node]
    for team in screening.teams:
        points += [team.start_point, team.end_point]
    return _Nodes(visit_of_node=visit_of_node, point_of_node=tuple(points))


_CONSTRUCT = "construct"
"""First plan from `optimizer.construct` instead of an OR-Tools heuristic."""
_FOLLOW = "EVALUATOR_STRATEGY"
"""OR-Tools' first-solution strategy that extends each route by the cheapest next visit by
an evaluator of ours, which names the next visit of a given plan: so ruin and recreate can
start from a plan, which OR-Tools 9.15 has no other way to do."""
_TIME_MARGIN = 0.02
"""Share of the time limit kept back for reading the plan out and for clock granularity."""
_CONSTRUCT_SHARE = 0.5
"""At most this share of the time left goes to constructing the first plan."""
_SECOND_LOOK_SHARE = 0.02
"""Most of the time left the regret construction may have taken for a second, cheapest-first
one to be tried as well (`_insert_the_rest`)."""
_HEURISTIC_SHARE = 0.4
"""At most this share of the time left goes to OR-Tools' first-solution heuristic."""
_MIN_SEARCH_SECONDS = 0.05
_COUNT_SHARE = 0.05
"""Share of a search's time for the construction that counts the teams it needs."""
_SPARE_TEAMS = 2
"""Fewest idle teams a search from scratch keeps beside those a construction used."""
_SECTORS_FROM = 300
"""Visits from which a depot fleet's day (no visit naming its agents) is planned in sectors
and improved in parts (`optimizer.parts`) rather than searched whole: OR-Tools' first plan and each
descent of the whole day slow down with its size (Homberger 400 at 60 s: +10.4 % above
PyVRP searched whole, +1.8 % in sectors)."""
_PARTS_FROM = 400
"""Visits from which any other day is constructed and improved in parts rather than
searched whole."""
_SECTOR_SIZE = 300
"""Visits a sector of a large day aims at (fewer where that evens out the workers' rounds).
Homberger 1,000 at 60 s on one thread, mean distance above PyVRP over one instance per class,
once sectors left out their spare teams (`_without_spare_teams`): sectors of 200 and half the
time for them +4.3 and +4.5 % (two runs), of 300 +4.1 and +3.7 %; of 300 with 0.7 of the time
+3.3, +3.4 and +3.4 %, with 0.85 +3.8 %; of 500 with 0.7 +7.6 %."""
_MIN_SECTOR = 100
"""Fewest visits in a sector, where there are too many workers for `_SECTOR_SIZE`."""
_MIN_SECTOR_TEAMS = 2
"""Fewest teams in a sector: a sector's routes trade visits between them."""
_SECTOR_SECONDS_PER_VISIT = 0.01
"""Time planning the sectors takes per visit of the day (per worker), at most `_SECTOR_SHARE`
of the time left; the parts improve the rest. A sector searched from scratch needs a few ms a
visit for a fair first plan (Homberger R1_10_1 at 10 s: 58,200 with 7 ms a visit, 60,542 with
1.5 ms); beyond that the parts' ruin and recreate from its routes gains more than the
sectors' own. Homberger 1,000 at 60 s on one thread, mean distance above PyVRP over five
instances (C2, R1, R2, RC1, RC2), paired runs two at a time: sectors for 0.7 of the time (30 ms
a visit) 4.60 against 4.08 at 0.5; 0.5: 4.77 and 4.11 against 4.27 and 3.95 at 0.3 (18 ms);
0.3: 4.52 and 4.08 against 4.10 and 3.62 at 0.15 (9 ms); 0.15: 5.01 and 3.70 against 4.22 and
4.91 at 0.05 (3 ms). One run of an instance varies by about 1.5 points."""
_SECTOR_SHARE = 0.7
"""Most of a large day's time for planning its sectors (a short limit: see
`_SECTOR_SECONDS_PER_VISIT`)."""
_DEPOT_FLEET_START = "PARALLEL_CHEAPEST_INSERTION"
"""The OR-Tools first plan a depot's fleet starts from (see `_searches_for`)."""
_SECTOR_STARTS = (_DEPOT_FLEET_START, "SAVINGS")
"""The OR-Tools first plans a large day's sectors may start from, the usual one first.
Parallel cheapest insertion opens few routes; savings opens more, shorter ones. The routes
a start opens stay through the search (the parts add or close a few), and which start ends
shorter depends on the day: savings on scattered visits with wide windows (Homberger R2),
parallel cheapest insertion on clustered ones (C2). No measure cheaper than planning a
sector both ways told them apart: not their first plans, nor how clustered the visits are
(both wrong on the RC classes). Planning the whole day both ways cost the parts as much
as the better start gained; the first sector alone costs one round of sectors (see
`_plan_sectors`). Homberger 1,000 at 60 s on one thread, paired runs with and without on
23 instances of the six classes: 0.35 % shorter on average; the first sector chose savings
on 4 of 5 R2 instances, each then 0.9 to 3.4 % shorter, and on 2 others; the rest moved
within a run's noise (about 1.5 points). Against PyVRP: +2.86 % (+1.52 % on two cores)
against +3.35 % (+1.99 %), and on Homberger 400 +1.44 % (+1.17 %) against +1.70 %
(+1.43 %)."""
_PROBE_SECONDS_PER_VISIT = 0.008
"""Time a sector needs a visit to be planned from savings: its first plan alone takes about
7 ms a visit on a 250-visit sector (1.75 to 2.06 s), and a search given less returns none."""
_LARGE = 400
"""Visits from which OR-Tools' own first-solution heuristics are too slow to trust with the
limit (a 1,000-visit day with breaks: about 100 s), so the first plan is constructed."""


@dataclass(frozen=True)
class _Search:
    """How the search runs; chosen by the problem's shape in `_searches_for`."""

    first_solution: str = "LOCAL_CHEAPEST_INSERTION"
    """An OR-Tools `FirstSolutionStrategy` name, or `_CONSTRUCT`."""
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    gls_lambda: float = 0.1
    operators_off: tuple[str, ...] = ()
    """OR-Tools local search operators (`use_<name>`) turned off."""
    bandit: bool = False
    """Let OR-Tools' multi-armed bandit choose the next operator by its recent gains, instead
    of trying them in a fixed order."""
    ruin: _Ruin | None = None
    """Search by ruin and recreate (OR-Tools' iterated local search) from OR-Tools' own first
    plan, where there is no plan to start from and no solution limit (its search is random);
    `metaheuristic` then only polishes."""


@dataclass(frozen=True)
class _Ruin:
    """Ruin and recreate: remove strings of visits from routes near a random visit (SISR,
    Christiaens and Vanden Berghe 2020), insert them again by local cheapest insertion,
    descend, and accept the result by simulated annealing.

    Temperatures are shares of the mean leg's travel, so they mean the same in seconds on a
    city's roads as in a benchmark's scaled distances. Tuned on 22 Solomon instances of the
    R, RC and C2 classes at 10 s (mean distance above PyVRP): strings of up to 10 and 10
    visits removed on average with OR-Tools' own temperatures (0.1 to 0.001 of a random
    arc): +1.9 %; strings of 20 and 20 visits, from 0.5 to 0.002 of a leg: +0.7 % (twice);
    from 0.3 to 0.001: +1.0 %; from 0.9 to 0.003: +0.8 %.
    """

    max_string: int = 20
    mean_removed: int = 20
    hot: float = 0.5
    cold: float = 0.002

    def __post_init__(self) -> None:
        if self.max_string < 1 or self.mean_removed < 1:
            msg = (
                "strings and removals must be at least 1 visit, got "
                f"max_string={self.max_string}, mean_removed={self.mean_removed}"
            )
            raise ValueError(msg)
        if not 0 < self.cold <= self.hot:
            msg = f"temperatures must satisfy 0 < cold <= hot, got hot={self.hot}, cold={self.cold}"
            raise ValueError(msg)


_RUIN = _Ruin()
_RUIN_SHARE = 0.95
"""Share of a whole search's time for ruin and recreate; guided local search polishes the
plan in the rest (on the sample day it finds the last minutes of travel that ruin and
recreate, stuck in one local optimum, does not; on Solomon the polish costs about 0.1 %)."""

_INSERTION_LNS = (
    "global_cheapest_insertion_path_lns",
    "local_cheapest_insertion_path_lns",
    "relocate_path_global_cheapest_insertion_insert_unperformed",
    "global_cheapest_insertion_visit_types_lns",
    "local_cheapest_insertion_visit_types_lns",
)
"""Insertion operators left out of the descent between ruins: the ruin does their work, and
without them a descent is several times faster (R105 in 10 s: 162 searches against 55)."""
_PART_SEARCH = _Search(first_solution=_CONSTRUCT)
"""How each part of a smaller day's plan is polished (see `optimizer.parts`)."""
_LARGE_PART_SEARCH = replace(_PART_SEARCH, operators_off=_INSERTION_LNS, bandit=True)
"""How each part of a large day not planned in sectors is searched. Its first plan often
leaves out visits that fit once routes move (the construction is stricter than the model);
OR-Tools tries its operators in a fixed order, the one that inserts them late (MakeActive,
after some 1.3 s of relocating on a 100-visit part of a generated Andorra day), which
parts of 0.4 s never reached. Its multi-armed bandit picks operators by their recent gains
instead, and without the insertion operators (`_INSERTION_LNS`) the part reached its local
optimum in 2 s, 19.3 against 20.6 million (objective units), by default not yet. On the
generated Andorra days at their limits (two runs each): 802 and 818 visits routed of 1,000
against 780 and 797, 1,669 and 1,678 of 2,000 against 1,649 and 1,650, appointments the same."""
_RUIN_PART_SEARCH = _Search(first_solution=_CONSTRUCT, ruin=_RUIN)
"""How each part of a day planned in sectors is searched: ruin and recreate from its
routes where they serve all its visits, else guided local search."""
_LARGE_PARTS = Schedule(size=100, seconds_per_visit=0.004, min_seconds=0.2)
"""Parts of a large day not planned in sectors (from `_PARTS_FROM` visits), searched by
guided local search: many short passes beat a few long ones (measured on Homberger 1,000 at
60 s when its sector days had these parts too: +4.0 % above PyVRP at 3 ms a visit, +5.8 % at
10 ms, +6.2 % at 15 ms)."""
_SECTOR_PARTS = Schedule(size=200, seconds_per_visit=0.01, min_seconds=1.0, min_routes=3)
"""Parts of a day planned in sectors, each searched by ruin and recreate from its routes if
they serve every visit in the part (else by guided local search: from a plan that leaves many
visits out, ruin and recreate's first descent ran 3.6 s of a 0.5 s budget on a 100-visit part
of a generated Andorra day). Ruin and recreate needs longer parts than guided local search:
on Homberger 1,000 at 60 s on one thread, paired runs, parts of 100 visits (0.5 s at least)
came out 1.6 % longer on average over 7 instances, of 300 (1.5 s) 1.1 % over 3."""
_SMALL_PARTS = Schedule(size=50, seconds_per_visit=0.01, min_seconds=0.2)
"""Parts of a smaller day searched by guided local search (a warm start) whose whole search
serves every visit (Solomon at 10 s, before ruin and recreate: +3.3 % above PyVRP against
+4.2 % for the whole search alone)."""
_WHOLE_SHARE = 0.3
"""Share of the time a guided local search of a smaller day gets before its plan, if it
serves every visit, is polished in parts."""


def _searches_for(num_visits: int, warm: bool, depot_fleet: bool) -> tuple[_Search, ...]:
    """The searches to run, best first: the first alone on one worker, the next ones beside
    it on further workers (different enough to end in different places).

    A fleet of like teams from one place (a depot's vehicles) starts best from parallel
    cheapest insertion; teams with their own starts, shifts and breaks from local cheapest
    insertion, which lets each team claim the visits only it can keep.
    """
    if warm or num_visits >= _LARGE:
        return (
            _Search(first_solution=_CONSTRUCT),
            _Search(first_solution=_CONSTRUCT, gls_lambda=0.2),
        )
    lci, pci = "LOCAL_CHEAPEST_INSERTION", _DEPOT_FLEET_START
    first, other = (pci, lci) if depot_fleet else (lci, pci)
    return (_Search(first_solution=first, ruin=_RUIN), _Search(first_solution=other, ruin=_RUIN))


def _depot_fleet(problem: Problem, teams: Sequence[Team]) -> bool:
    """Whether every team is alike and leaves from and returns to one place."""
    head = teams[0]

    def place(team: Team) -> tuple[object, ...]:
        return (
            problem.point_location(team.start_point),
            problem.point_location(team.end_point),
            team.shift,
            team.mode,
            team.breaks,
            team.skills,
            team.size,
            team.max_visits,
            team.max_working_time,
            team.max_workload,
        )

    return all(place(team) == place(head) for team in teams)


def _any_team_may_take_any_visit(problem: Problem) -> bool:
    """Whether no visit names its agents: with a depot fleet, a large day may then be planned
    in sectors (`_plan_sectors`), since a sector's share of the teams can serve its visits,
    and a search may leave spare teams out (`_without_spare_teams`)."""
    return not any(v.allowed_agents or v.preferred_agents for v in problem.visits)


def _search_parameters(
    search: _Search, seconds_left: float, max_solutions: int | None
) -> pywrapcp.DefaultRoutingSearchParameters:
    """OR-Tools' parameters for `search`'s first plan and guided local search (its ruin and
    recreate is set by `_ruin_parameters`)."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    if search.first_solution != _CONSTRUCT:
        # Insert the visits that are costliest to drop, per team able to take them, first:
        # agreed appointments (and the hardest to place among them) claim their hours before
        # flexible visits do. Measured on the sample and a 500-visit Andorra day against
        # parallel cheapest insertion: more appointments kept and less travel.
        params.first_solution_strategy = getattr(
            routing_enums_pb2.FirstSolutionStrategy, search.first_solution
        )
        params.local_cheapest_insertion_parameters.insertion_sorting_properties.append(
            routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters.SORTING_PROPERTY_PENALTY_OVER_ALLOWED_VEHICLES_RATIO
        )
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, search.metaheuristic
    )
    params.guided_local_search_lambda_coefficient = search.gls_lambda
    for name in search.operators_off:
        setattr(params.local_search_operators, f"use_{name}", optional_boolean_pb2.BOOL_FALSE)
    params.use_multi_armed_bandit_concatenate_operators = search.bandit
    params.time_limit.FromMilliseconds(max(10, int(seconds_left * 1000)))
    if max_solutions is not None:
        params.solution_limit = max_solutions
    return params


def _ruin_parameters(
    search: _Search, seconds_left: float, mean_leg: float
) -> pywrapcp.DefaultRoutingSearchParameters:
    """OR-Tools' iterated local search: `search`'s first plan, then ruin, recreate, descend
    and accept (`search.ruin`, else `_RUIN`), until the time is up; `mean_leg` in the
    model's cost units."""
    ruin = search.ruin or _RUIN
    params = _search_parameters(search, seconds_left, None)
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    params.use_iterated_local_search = True
    ils = params.iterated_local_search_parameters
    ils.improve_perturbed_solution = True
    strategies = ils.ruin_recreate_parameters.ruin_strategies
    del strategies[:]
    strings = strategies.add().sisr
    strings.max_removed_sequence_size = ruin.max_string
    strings.avg_num_removed_visits = ruin.mean_removed
    strings.bypass_factor = 0.01
    annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
    annealing.automatic_temperatures = False
    annealing.initial_temperature = ruin.hot * mean_leg
    annealing.final_temperature = ruin.cold * mean_leg
    for name in _INSERTION_LNS:
        setattr(params.local_search_operators, f"use_{name}", optional_boolean_pb2.BOOL_FALSE)
    return params


class _Model:
    """The OR-Tools model of one problem: built once, then read back."""

    def __init__(self, problem: Problem, screening: Screening) -> None:
        self.problem = problem
        self.screening = screening
        self.teams = screening.teams
        self.nodes = nodes = _build_nodes(problem, screening)
        num_teams = len(self.teams)
        self.manager = pywrapcp.RoutingIndexManager(
            len(nodes.point_of_node),
            num_teams,
            [nodes.num_visit_nodes + 2 * t for t in range(num_teams)],
            [nodes.num_visit_nodes + 2 * t + 1 for t in range(num_teams)],
        )
        self.routing = pywrapcp.RoutingModel(self.manager)
        self.breaks: list[list[pywrapcp.IntervalVar]] = []
        self.time: pywrapcp.RoutingDimension | None = None
        point_idx = np.asarray(nodes.point_of_node, dtype=np.int64)
        self._travel = {
            mode: problem.matrices[mode].durations[np.ix_(point_idx, point_idx)]
            for mode in {team.mode for team in self.teams}
        }
        self._service = np.zeros(len(point_idx), dtype=np.int64)
        for node, i in enumerate(nodes.visit_of_node):
            self._service[node] = problem.visits[i].duration

        self._add_costs()
        self._add_time()
        self._add_counts()
        self._add_visit_rules()
        self._add_borrower_caps()
        # Ruin and recreate from a given plan (`ruin_and_recreate`'s `start`) follows it with
        # `_FOLLOW`, whose evaluator OR-Tools takes only before the model is closed.
        self._hint: dict[int, int] = {}
        # Kept on the model: OR-Tools holds the evaluator for as long as the model lives.
        self._follow_hint = self._hinted_next_first
        self.routing.SetFirstSolutionEvaluator(self._follow_hint)

    @cached_property
    def _mean_leg(self) -> float:
        """Mean finite travel between the model's points (s): the scale of a move's cost."""
        legs = np.concatenate([m[m < _FORBIDDEN].ravel() for m in self._travel.values()])
        # At least 1 s: OR-Tools refuses annealing temperatures of 0 (every visit at one door).
        return max(float(legs.mean()), 1.0) if legs.size else 1.0

    def _finite_max_travel(self) -> int:
        finite = [int(m[m < _FORBIDDEN].max(initial=0)) for m in self._travel.values()]
        return max(finite, default=0)

    def _add_costs(self) -> None:
        """Arc costs per team: travel seconds, plus each visit's preference penalty on the
        arcs into it (`optimizer.costs.preference_penalty`).

        Teams with the same mode and the same penalties share one matrix. (A count of
        non-preferred visits per team in a dimension would be cheaper to build for many
        teams, but OR-Tools then refuses to restore any plan given to it, even one of idle
        teams, as soon as two teams' counts differ.)
        """
        classes: dict[tuple[TravelMode, tuple[tuple[int, int], ...]], list[int]] = defaultdict(list)
        visits = self.problem.visits
        for t, team in enumerate(self.teams):
            penalties = tuple(
                (n, cost)
                for n, i in enumerate(self.nodes.visit_of_node)
                if (cost := preference_penalty(visits[i], team))
            )
            classes[(team.mode, penalties)].append(t)
        base = {mode: np.minimum(m, _FORBIDDEN) for mode, m in self._travel.items()}
        for (mode, penalties), members in classes.items():
            cost = base[mode]
            if penalties:
                cost = cost.copy()
                nodes, amounts = zip(*penalties, strict=True)
                cost[:, list(nodes)] += np.asarray(amounts, dtype=cost.dtype)
            callback = self.routing.RegisterTransitMatrix(cost.tolist())
            for t in members:
                self.routing.SetArcCostEvaluatorOfVehicle(callback, t)

    # --- time --------------------------------------------------------------------------
    def _add_time(self) -> None:
        routing, problem = self.routing, self.problem
        callbacks: dict[TravelMode, int] = {}
        for mode, travel in self._travel.items():
            transit = np.minimum(travel, _FORBIDDEN) + self._service[:, None]
            callbacks[mode] = routing.RegisterTransitMatrix(transit.tolist())
        routing.AddDimensionWithVehicleTransits(
            [callbacks[team.mode] for team in self.teams], HORIZON, HORIZON, False, "time"
        )
        dim = routing.GetDimensionOrDie("time")
        self.time = dim
        for node, i in enumerate(self.nodes.visit_of_node):
            index = self.manager.NodeToIndex(node)
            windows = problem.effective_windows(problem.visits[i])
            cumul = dim.CumulVar(index)
            cumul.SetRange(windows[0].start, min(windows[-1].end, HORIZON))
            for before, after in zip(windows, windows[1:], strict=False):
                cumul.RemoveInterval(before.end + 1, after.start - 1)
            # Start every visit as early as its route allows: slack stays for the day's delays.
            routing.AddVariableMinimizedByFinalizer(cumul)
        solver = routing.solver()
        visit_transit = [0] * routing.Size()
        for index in range(routing.Size()):
            visit_transit[index] = int(self._service[self.manager.IndexToNode(index)])
        for t, team in enumerate(self.teams):
            start, end = routing.Start(t), routing.End(t)
            dim.CumulVar(start).SetRange(team.shift.start, team.shift.end)
            dim.CumulVar(end).SetRange(team.shift.start, team.shift.end)
            if team.max_working_time is not None:
                dim.SetSpanUpperBoundForVehicle(team.max_working_time, t)
            intervals = [
                solver.FixedDurationIntervalVar(
                    brk.window.start,
                    min(brk.window.end, team.shift.end - brk.duration),
                    brk.duration,
                    False,
                    f"break {t}.{b}",
                )
                for b, brk in enumerate(team.breaks)
            ]
            self.breaks.append(intervals)
            # One person takes one break at a time: in the order their windows open.
            ordered = sorted(
                range(len(intervals)),
                key=lambda b: (team.breaks[b].window.start, team.breaks[b].window.end),
            )
            for a, b in zip(ordered, ordered[1:], strict=False):
                solver.Add(intervals[b].StartExpr() >= intervals[a].EndExpr())
            if intervals:
                dim.SetBreakIntervalsOfVehicle(intervals, t, visit_transit)
            # Leave as late and come back as early as the plan allows: no idle time at the office.
            routing.AddVariableMaximizedByFinalizer(dim.CumulVar(start))
            routing.AddVariableMinimizedByFinalizer(dim.CumulVar(end))

    # --- counts and balance ------------------------------------------------------------
    def _add_counts(self) -> None:
        routing, nv = self.routing, self.nodes.num_visit_nodes
        capped = any(team.max_visits is not None for team in self.teams)
        if capped or self.problem.balance_work:
            # Only when needed: every dimension slows the search down.
            one = routing.RegisterUnaryTransitVector(
                [1] * nv + [0] * (len(self.nodes.point_of_node) - nv)
            )
            capacities = [nv if team.max_visits is None else team.max_visits for team in self.teams]
            routing.AddDimensionWithVehicleCapacity(one, 0, capacities, True, "visits")
            dim = routing.GetDimensionOrDie("visits")
            if self.problem.balance_work:
                shares = fair_shares(self.teams, nv)
                for t, share in enumerate(shares):
                    dim.SetCumulVarSoftUpperBound(routing.End(t), share, BALANCE_PENALTY)
        loads = [self.problem.visits[i].workload for i in self.nodes.visit_of_node]
        limits = [team.max_workload for team in self.teams]
        if any(loads) and any(limit is not None for limit in limits):
            total = sum(loads)
            workload = routing.RegisterUnaryTransitVector(
                loads + [0] * (len(self.nodes.point_of_node) - nv)
            )
            routing.AddDimensionWithVehicleCapacity(
                workload, 0, [total if m is None else m for m in limits], True, "workload"
            )

    # --- who may serve what, and what dropping costs ----------------------------------
    def _add_visit_rules(self) -> None:
        routing, problem = self.routing, self.problem
        units = drop_units(
            self._finite_max_travel(),
            [problem.visits[i].priority for i in self.nodes.visit_of_node],
        )
        all_teams = set(range(len(self.teams)))
        for node, i in enumerate(self.nodes.visit_of_node):
            index = self.manager.NodeToIndex(node)
            routing.AddDisjunction([index], drop_penalty(problem, i, units))
            candidates = self.screening.candidates[i]
            if set(candidates) != all_teams:
                routing.VehicleVar(index).SetValues([-1, *candidates])

    def _add_borrower_caps(self) -> None:
        routing, problem = self.routing, self.problem
        groups: dict[str, list[int]] = defaultdict(list)
        for node, i in enumerate(self.nodes.visit_of_node):
            groups[problem.visits[i].borrower_id].append(node)
        solver = routing.solver()
        for borrower_id, members in groups.items():
            rule = problem.borrower_rule(borrower_id)
            cap = rule.max_visits if rule is not None else len(members)
            if len(members) > cap:
                active = [routing.ActiveVar(self.manager.NodeToIndex(n)) for n in members]
                solver.Add(solver.Sum(active) <= cap)

    # --- the first plan and the search -------------------------------------------------
    def construct(
        self, initial_routes: Mapping[str, Sequence[str]] | None, deadline: float
    ) -> list[list[int]]:
        """A first plan (visit nodes per team): the warm start as it is if OR-Tools takes it
        (else repaired by our own, stricter timing), then every other visit that fits
        inserted by `optimizer.construct`."""
        numbers = construct.instance_from(self.problem, self.screening, travel=self._travel)
        repaired = None
        if initial_routes:
            given = construct.sanitize(
                numbers, _given_nodes(self.problem, self.screening, initial_routes)
            )
            fits = self._restore(given) is not None
            repaired = given if fits else construct.repair(numbers, given)
        return _insert_the_rest(self.problem, self.screening, numbers, repaired, deadline)

    def first_plan(
        self,
        search: _Search,
        initial_routes: Mapping[str, Sequence[str]] | None,
        deadline: float,
    ) -> pywrapcp.Assignment | None:
        """The plan the search starts from: OR-Tools' heuristic, given a share of the time,
        when the search names one and there is no warm start; else, or when it ran out of
        time with nothing served (it returns a plan of idle teams then), our construction.
        None when OR-Tools could restore no plan at all."""
        found = None
        if search.first_solution != _CONSTRUCT and not initial_routes:
            now = time.monotonic()
            cap = now + _HEURISTIC_SHARE * (deadline - now)
            found = self.routing.SolveWithParameters(_search_parameters(search, cap - now, 1))
            if found is not None and self._serves_any(found):
                return found
            log.info("no first plan from OR-Tools' heuristic in its share of the time")
        constructed = self._read(self.construct(initial_routes, deadline), deadline)
        return constructed if constructed is not None else found

    def close(self, search: _Search) -> None:
        """Close the model for `search` before a plan is read into it: OR-Tools sets its local
        search operators when the model closes, and reading a plan closes it with its
        defaults (a later search's operators, and its multi-armed bandit, are then ignored)."""
        params = (
            _ruin_parameters(search, 1.0, self._mean_leg)
            if search.ruin is not None
            else _search_parameters(search, 1.0, None)
        )
        self.routing.CloseModelWithParameters(params)

    def ruin_and_recreate(
        self, search: _Search, deadline: float, start: pywrapcp.Assignment | None = None
    ) -> tuple[pywrapcp.Assignment, str] | None:
        """Ruin and recreate for `_RUIN_SHARE` of the time left, from `start` if given, else
        from OR-Tools' own first plan; then guided local search from its best plan until the
        deadline. None if no plan serving any visit came out (OR-Tools' first-plan heuristic
        ran out of time, or it refused the parameters, which it reports on standard error)."""
        now = time.monotonic()
        until = now + _RUIN_SHARE * (deadline - now)
        if start is not None:
            routing = self.routing
            nexts = {index: start.Value(routing.NextVar(index)) for index in range(routing.Size())}
            self._hint = {index: nxt for index, nxt in nexts.items() if nxt != index}
            search = replace(search, first_solution=_FOLLOW)
        params = _ruin_parameters(search, until - now, self._mean_leg)
        found = self.routing.SolveWithIteratedLocalSearch(params)
        if start is not None and (found is None or found.ObjectiveValue() > start.ObjectiveValue()):
            # Following the plan failed (it cannot, for a plan OR-Tools restored): keep it.
            log.warning("ruin and recreate did not start from the plan given; keeping that plan")
            found = start
        if found is None or not self._serves_any(found):
            return None
        solution, status = self.search(found, replace(search, ruin=None), deadline, None)
        return solution, f"ruin and recreate, then {status}"

    def _hinted_next_first(self, index: int, next_index: int) -> int:
        """`_FOLLOW`'s evaluator: the hinted next visit is the cheapest, any other costs 1."""
        return 0 if self._hint.get(index) == next_index else 1

    def serves_all(self, solution: pywrapcp.Assignment) -> bool:
        """Whether every candidate visit is on a route (an unserved one is its own next)."""
        return all(
            solution.Value(self.routing.NextVar(index)) != index
            for index in (self.manager.NodeToIndex(n) for n in range(self.nodes.num_visit_nodes))
        )

    def _serves_any(self, solution: pywrapcp.Assignment) -> bool:
        routing = self.routing
        return any(
            solution.Value(routing.NextVar(routing.Start(t))) != routing.End(t)
            for t in range(len(self.teams))
        )

    def search(
        self,
        first: pywrapcp.Assignment,
        search: _Search,
        deadline: float,
        max_solutions: int | None,
    ) -> tuple[pywrapcp.Assignment, str]:
        """Improve `first` until the deadline (or `max_solutions`)."""
        left = deadline - time.monotonic()
        params = _search_parameters(search, left, max_solutions)
        # OR-Tools restores the start under the LNS limit (0.1 s by default), which a day
        # with breaks can need more of: 0.85 s for 1,000 visits on a loaded machine.
        params.lns_time_limit.FromMilliseconds(int(1000 * max(0.1, min(2.0, 0.2 * left))))
        solution = self.routing.SolveFromAssignmentWithParameters(first, params)
        if solution is None:
            # OR-Tools ended without a solution, in practice out of time while taking the plan
            # back in. Callers hand in their best plan so far (a constructed one, ruin and
            # recreate's, or a part's current routes), which then stands as it is.
            status = _status_name(self.routing.status())
            log.warning(
                "the search ended (%s) before it could start from the plan it was given; "
                "that plan stands unimproved",
                status,
            )
            return first, f"the plan given stands ({status})"
        return solution, _status_name(self.routing.status())

    def _restore(self, routes: Sequence[Sequence[int]]) -> pywrapcp.Assignment | None:
        """OR-Tools' assignment of these routes (visit nodes per team), or None if it
        refuses them."""
        indices = [[self.manager.NodeToIndex(n) for n in r] for r in routes]
        return self.routing.ReadAssignmentFromRoutes(indices, True)

    def _read(self, routes: list[list[int]], deadline: float) -> pywrapcp.Assignment | None:
        """The routes as an assignment. Should OR-Tools refuse the whole, the largest set of
        whole routes it accepts, found by halving (logged: it means the construction and
        the model disagree)."""
        whole = self._restore(routes)
        if whole is not None:
            return whole
        log.warning("OR-Tools refused the constructed first plan; keeping the routes it accepts")
        kept: list[list[int]] = [[] for _ in routes]
        pending = [[t for t, r in enumerate(routes) if r]]
        while pending and time.monotonic() < deadline:
            group = pending.pop()
            trial = [routes[t] if t in group else r for t, r in enumerate(kept)]
            if self._restore(trial) is not None:
                kept = trial
            elif len(group) > 1:
                pending += [group[: len(group) // 2], group[len(group) // 2 :]]
        accepted = self._restore(kept)
        if accepted is None:
            # Even idle teams refused: OR-Tools' restore ran out of its own limit (seen on a
            # loaded machine). The caller treats this as no first plan.
            log.warning("OR-Tools could not restore any first plan in time")
        return accepted

    # --- reading the solution back -----------------------------------------------------
    def extract_routes(self, solution: pywrapcp.Assignment) -> tuple[Route, ...]:
        assert self.time is not None
        routes = []
        for t, team in enumerate(self.teams):
            breaks = [
                BreakTaken(solution.StartValue(iv), solution.StartValue(iv) + brk.duration)
                for iv, brk in zip(self.breaks[t], team.breaks, strict=True)
            ]
            index = self.routing.Start(t)
            departure = solution.Min(self.time.CumulVar(index))
            sequence: list[tuple[int, int]] = []
            index = solution.Value(self.routing.NextVar(index))
            while not self.routing.IsEnd(index):
                node = self.manager.IndexToNode(index)
                sequence.append(
                    (self.nodes.visit_of_node[node], solution.Min(self.time.CumulVar(index)))
                )
                index = solution.Value(self.routing.NextVar(index))
            arrival_at_end = solution.Min(self.time.CumulVar(index))
            routes.append(
                timed_route(self.problem, team, departure, sequence, breaks, arrival_at_end)
            )
        return tuple(routes)


def idle_route(team: Team) -> Route:
    """A team with no visits stays where it is: no travel, no breaks to schedule."""
    return Route(
        team_id=team.id,
        agent_ids=team.agent_ids,
        mode=team.mode.value,
        departure=team.shift.start,
        arrival=team.shift.start,
        stops=(),
        breaks=(),
        end_travel_time=0,
        end_travel_distance=0,
    )


def timed_route(
    problem: Problem,
    team: Team,
    departure: int,
    sequence: Sequence[tuple[int, int]],
    breaks: Sequence[BreakTaken],
    arrival_at_end: int,
) -> Route:
    """Build a `Route` from the visits' start times, following the timing rule of `Stop`.

    `sequence` holds (visit index, start of service) in route order.
    """
    matrix = problem.matrices[team.mode]
    stops: list[Stop] = []
    previous, t0 = team.start_point, departure
    for i, start in sequence:
        visit = problem.visits[i]
        point = problem.visit_point(i)
        travel = int(matrix.durations[previous, point])
        arrival = _arrive(t0, travel, start, breaks)
        on_site = sum(b.end - b.start for b in breaks if arrival <= b.start < start)
        stops.append(
            Stop(
                visit_id=visit.id,
                borrower_id=visit.borrower_id,
                lat=visit.location.lat,
                lon=visit.location.lon,
                arrival=arrival,
                start=start,
                end=start + visit.duration,
                waiting=start - arrival - on_site,
                travel_time=travel,
                travel_distance=int(matrix.distances[previous, point]),
            )
        )
        previous, t0 = point, start + visit.duration
    end_travel = int(matrix.durations[previous, team.end_point])
    if not stops:
        return idle_route(team)
    arrival_at_end = _arrive(t0, end_travel, arrival_at_end, breaks)
    return Route(
        team_id=team.id,
        agent_ids=team.agent_ids,
        mode=team.mode.value,
        departure=departure,
        arrival=arrival_at_end,
        stops=tuple(stops),
        breaks=tuple(breaks),
        end_travel_time=end_travel,
        end_travel_distance=int(matrix.distances[previous, team.end_point]),
    )


def _arrive(t0: int, travel: int, limit: int, breaks: Sequence[BreakTaken]) -> int:
    """Arrival after leaving at t0: breaks of the leg that start before arrival are taken on
    the way (see `Stop`). `limit` is the leg's end, the next service start."""
    arrival = t0 + travel
    for brk in sorted(breaks, key=lambda b: b.start):
        if t0 <= brk.start < arrival and brk.start < limit:
            arrival += brk.end - brk.start
    return arrival
