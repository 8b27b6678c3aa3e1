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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_heuristic_parameters_pb2

from optimizer.explain import explain_dropped
from optimizer.model import DAY_SECONDS, Problem, Team, TravelMode, VisitKind
from optimizer.plan import BreakTaken, Plan, Route, Stop, Unassigned
from optimizer.precheck import Screening, screen

log = logging.getLogger(__name__)

HORIZON = 2 * DAY_SECONDS
PREFERENCE_PENALTY = 600
"""Cost (as seconds of travel) of a visit done by someone other than its preferred agents."""
BALANCE_PENALTY = 300
"""Cost (as seconds of travel) of each visit a team does above its fair share of the day."""
_FORBIDDEN = HORIZON + 1
"""Transit that no time dimension can absorb: an arc without a road connection."""


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
) -> Plan:
    """Plan the day.

    Parameters
    ----------
    problem
        The validated region-day.
    time_limit
        Wall-clock seconds for the whole call, construction included.
    max_solutions
        Stop after this many improving solutions. OR-Tools' routing search has no random
        element, so with a limit that is reached before `time_limit` the result is
        identical on every run: use it in tests.
    """
    started = time.monotonic()
    screening = screen(problem)
    teams = screening.teams
    unassigned = dict(screening.excluded)
    if not screening.candidates or not teams:
        routes = tuple(idle_route(team) for team in teams)
        return _plan(problem, screening, routes, unassigned, 0, started, status="nothing to route")
    model = _Model(problem, screening)
    params = _search_parameters(time_limit - (time.monotonic() - started), max_solutions)
    solution = model.routing.SolveWithParameters(params)
    if solution is None:
        # Every visit is optional and every team can stay idle, so this means no time.
        msg = (
            f"the solver found no first plan for {len(screening.candidates)} visits within "
            f"{time_limit:.1f} s; raise the time limit"
        )
        raise SolverTimeoutError(msg)
    routes = model.extract_routes(solution)
    served = {stop.visit_id for route in routes for stop in route.stops}
    for i in screening.candidates:
        visit = problem.visits[i]
        if visit.id not in served:
            unassigned[i] = explain_dropped(problem, teams, screening.candidates[i], i, routes)
    return _plan(
        problem,
        screening,
        routes,
        unassigned,
        solution.ObjectiveValue(),
        started,
        status=_status_name(model.routing.status()),
    )


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


def _status_name(status: int) -> str:
    name: str = routing_enums_pb2.RoutingSearchStatus.Value.Name(status)
    return name.removeprefix("ROUTING_").lower()


def _build_nodes(problem: Problem, screening: Screening) -> _Nodes:
    visit_of_node = tuple(sorted(screening.candidates))
    points = [problem.visit_point(i) for i in visit_of_node]
    for team in screening.teams:
        points += [team.start_point, team.end_point]
    return _Nodes(visit_of_node=visit_of_node, point_of_node=tuple(points))


def _search_parameters(
    seconds_left: float, max_solutions: int | None
) -> pywrapcp.DefaultRoutingSearchParameters:
    params = pywrapcp.DefaultRoutingSearchParameters()
    # Insert the visits that are costliest to drop, per team able to take them, first: agreed
    # appointments (and the hardest to place among them) claim their hours before flexible
    # visits do. Measured on the sample and a 500-visit Andorra day against parallel
    # cheapest insertion: more appointments kept and less travel (see the issue note).
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    )
    params.local_cheapest_insertion_parameters.insertion_sorting_properties.append(
        routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters.SORTING_PROPERTY_PENALTY_OVER_ALLOWED_VEHICLES_RATIO
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(100, int(seconds_left * 1000)))
    if max_solutions is not None:
        params.solution_limit = max_solutions
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

    def _finite_max_travel(self) -> int:
        finite = [int(m[m < _FORBIDDEN].max(initial=0)) for m in self._travel.values()]
        return max(finite, default=0)

    def _add_costs(self) -> None:
        """Arc costs per team: travel seconds, plus a penalty for non-preferred visits."""
        nv = self.nodes.num_visit_nodes
        classes: dict[tuple[TravelMode, tuple[int, ...]], list[int]] = defaultdict(list)
        for t, team in enumerate(self.teams):
            penalised = tuple(
                node
                for node, i in enumerate(self.nodes.visit_of_node)
                if self.problem.visits[i].preferred_agents
                and not self.problem.visits[i].preferred_agents & set(team.agent_ids)
            )
            classes[(team.mode, penalised)].append(t)
        for (mode, penalised), members in classes.items():
            cost = np.minimum(self._travel[mode], _FORBIDDEN).copy()
            if penalised:
                cost[:, list(penalised)] += PREFERENCE_PENALTY
            cost[:, nv:] = np.minimum(self._travel[mode][:, nv:], _FORBIDDEN)
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
        one = routing.RegisterUnaryTransitVector(
            [1] * nv + [0] * (len(self.nodes.point_of_node) - nv)
        )
        capacities = [team.max_visits if team.max_visits is not None else nv for team in self.teams]
        routing.AddDimensionWithVehicleCapacity(one, 0, capacities, True, "visits")
        dim = routing.GetDimensionOrDie("visits")
        if self.problem.balance_work:
            shares = _fair_shares(self.teams, nv)
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
        flexible_unit = 2 * self._finite_max_travel() + PREFERENCE_PENALTY + BALANCE_PENALTY + 1
        # Above every priority together: no mix of priorities outweighs one appointment.
        priority_total = sum(problem.visits[i].priority for i in self.nodes.visit_of_node)
        appointment_unit = flexible_unit * (priority_total + 1)
        all_teams = set(range(len(self.teams)))
        for node, i in enumerate(self.nodes.visit_of_node):
            visit = problem.visits[i]
            index = self.manager.NodeToIndex(node)
            penalty = visit.priority * flexible_unit
            if visit.kind is VisitKind.APPOINTMENT:
                penalty += appointment_unit
            routing.AddDisjunction([index], penalty)
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


def _fair_shares(teams: Sequence[Team], num_visits: int) -> list[int]:
    """Each team's share of the day's visits, in proportion to its shift length."""
    lengths = [max(1, team.shift.end - team.shift.start) for team in teams]
    total = sum(lengths)
    shares = [math.ceil(num_visits * length / total) for length in lengths]
    return [
        min(share, team.max_visits) if team.max_visits is not None else share
        for share, team in zip(shares, teams, strict=True)
    ]


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
