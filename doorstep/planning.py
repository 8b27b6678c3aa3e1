"""Plan one region-day: road network + visits and agents in, a validated plan with geometry out.

This is where geo and the optimizer meet: addresses are snapped to each travel mode's road
graph, travel matrices are built for the modes the agents use, the optimizer solves, the
independent validator checks, and every route gets its road-following geometry. The network
and the input are passed in; nothing here reads files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np

import geo
from doorstep.contact import PolicyDay
from doorstep.csvio import DayInput
from optimizer import (
    UNREACHABLE,
    Location,
    Plan,
    Problem,
    Route,
    TravelMatrix,
    TravelMode,
    solve,
)
from optimizer.validate import Violation, validate

log = logging.getLogger(__name__)

ACCESS_SPEED_MPS = 1.2
"""Walking speed (m/s) between an address and its nearest road node: parking, the last metres."""


class PlanInvalidError(RuntimeError):
    """The solver's plan failed the independent validation: a bug, never written out."""


@dataclass(frozen=True)
class RouteShape:
    """The road-following line of one route, start to end (lat/lon in step)."""

    lats: tuple[float, ...]
    lons: tuple[float, ...]


@dataclass(frozen=True)
class DayPlan:
    """A validated plan with what a reader of it needs besides the routes.

    `day_input` is the day as given (every visit, the agreed windows); `problem` what was
    routed after the contact policy; the plan's unassigned visits include those the policy
    excluded. `policy` is the version label of the policy that allowed the plan ("" = none).
    """

    region: str
    plan: Plan
    problem: Problem
    day_input: DayInput
    shapes: Mapping[str, RouteShape]
    timings: Mapping[str, float] = field(default_factory=dict)
    policy: str = ""


@dataclass(frozen=True)
class Snapping:
    """Where each point of a problem meets one mode's roads: the nearest graph node and the
    distance to it (m), in the problem's point order."""

    nodes: np.ndarray
    metres: np.ndarray


@dataclass(frozen=True)
class Routable:
    """A day turned into numbers: the `Problem` with its door-to-door matrices, and the
    snapping per travel mode that route geometry follows."""

    problem: Problem
    snapped: Mapping[TravelMode, Snapping]
    timings: Mapping[str, float]


def build_problem(
    day_input: DayInput,
    network: geo.RoadNetwork,
    *,
    day: date,
    timezone: str,
    max_snap_m: float = 250.0,
    cache_dir: Path | None = None,
) -> Routable:
    """Snap every visit and agent to each mode's roads and build the travel matrices.

    Apart from `plan_day` so that a plan solved in parts (the nightly batch splits very large
    regions) can be checked against the whole region's problem.
    """
    timings: dict[str, float] = {}
    locations = _points(day_input)
    modes = sorted({agent.mode for agent in day_input.agents}, key=lambda m: m.value)

    clock = time.perf_counter()
    snapped = {mode: _snap(network, mode, locations) for mode in modes}
    timings["snap"] = time.perf_counter() - clock

    clock = time.perf_counter()
    matrices = {
        mode: _matrix(network, mode, snapped[mode], max_snap_m, cache_dir) for mode in modes
    }
    timings["matrices"] = time.perf_counter() - clock

    problem = Problem(
        visits=day_input.visits,
        agents=day_input.agents,
        matrices=matrices,
        crews=day_input.crews,
        borrowers=day_input.borrowers,
        day=day,
        timezone=timezone,
    )
    return Routable(problem=problem, snapped=snapped, timings=timings)


def plan_day(
    day_input: DayInput,
    network: geo.RoadNetwork,
    *,
    day: date,
    timezone: str,
    region: str,
    time_limit: float,
    max_solutions: int | None = None,
    num_workers: int = 1,
    max_snap_m: float = 250.0,
    cache_dir: Path | None = None,
    policy_day: PolicyDay | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> DayPlan:
    """Snap, build matrices, solve, validate and trace the routes of one region-day.

    With `policy_day` (from `doorstep.contact.apply_policy` on `day_input`) only what the
    contact policy allows is routed, and its exclusions join the plan's unassigned visits.
    `on_stage` is told "matrices", "solving", "validating" and "geometry" as each begins.
    Raises `PlanInvalidError` if the plan breaks any rule (it is then not returned).
    """
    given = day_input
    if policy_day is not None:
        day_input = policy_day.day_input
    stage = on_stage or (lambda name: None)
    stage("matrices")
    routable = build_problem(
        day_input, network, day=day, timezone=timezone, max_snap_m=max_snap_m, cache_dir=cache_dir
    )
    problem, snapped = routable.problem, routable.snapped
    timings = dict(routable.timings)
    stage("solving")
    clock = time.perf_counter()
    plan = solve(
        problem, time_limit=time_limit, max_solutions=max_solutions, num_workers=num_workers
    )
    timings["solve"] = time.perf_counter() - clock

    stage("validating")
    clock = time.perf_counter()
    violations = validate(problem, plan)
    timings["validate"] = time.perf_counter() - clock
    if violations:
        raise PlanInvalidError(_violations_text(violations))
    if policy_day is not None and policy_day.excluded:
        plan = replace(plan, unassigned=plan.unassigned + policy_day.excluded)

    stage("geometry")
    clock = time.perf_counter()
    shapes = route_shapes(network, problem, snapped, plan)
    timings["geometry"] = time.perf_counter() - clock
    log.info(
        "planned %s %s: %d routed, %d unassigned, solve %.1f s",
        region,
        day,
        plan.num_assigned,
        len(plan.unassigned),
        timings["solve"],
    )
    return DayPlan(
        region=region,
        plan=plan,
        problem=problem,
        day_input=given,
        shapes=shapes,
        timings=timings,
        policy=policy_day.policy if policy_day is not None else "",
    )


def _points(day_input: DayInput) -> list[Location]:
    """The problem's points in its order: visits, then each agent's start and end."""
    points = [visit.location for visit in day_input.visits]
    for agent in day_input.agents:
        points += [agent.start, agent.end]
    return points


def _snap(network: geo.RoadNetwork, mode: TravelMode, points: list[Location]) -> Snapping:
    graph = network.graph(mode.value)
    snapped = geo.nearest_nodes(
        graph, np.array([p.lat for p in points]), np.array([p.lon for p in points])
    )
    return Snapping(nodes=np.asarray(snapped.nodes), metres=np.asarray(snapped.distances))


def _matrix(
    network: geo.RoadNetwork,
    mode: TravelMode,
    snapping: Snapping,
    max_snap_m: float,
    cache_dir: Path | None,
) -> TravelMatrix:
    """Door-to-door matrix: the road between nodes plus a walk from and to each door."""
    graph = network.graph(mode.value)
    road = geo.travel_matrices(graph, [int(n) for n in snapping.nodes], cache_dir=cache_dir)
    access_s = np.rint(snapping.metres / ACCESS_SPEED_MPS).astype(np.int64)
    access_m = np.rint(snapping.metres).astype(np.int64)
    durations = road.durations + access_s[:, None] + access_s[None, :]
    distances = road.distances + access_m[:, None] + access_m[None, :]
    cut = (road.durations >= geo.NO_PATH) | (snapping.metres > max_snap_m)[:, None]
    cut |= (snapping.metres > max_snap_m)[None, :]
    durations[cut] = UNREACHABLE
    distances[cut] = UNREACHABLE
    np.fill_diagonal(durations, 0)
    np.fill_diagonal(distances, 0)
    return TravelMatrix(durations=durations, distances=distances)


def route_shapes(
    network: geo.RoadNetwork,
    problem: Problem,
    snapped: Mapping[TravelMode, Snapping],
    plan: Plan,
) -> dict[str, RouteShape]:
    """Each route with stops on the roads of its mode, by team id: from the start door through
    each stop's nearest road node to the end door. One `geo.road_paths` call per mode."""
    teams = {team.id: team for team in problem.teams()}
    point_of = {v.id: problem.visit_point(i) for i, v in enumerate(problem.visits)}
    routes = [route for route in plan.routes if route.stops]
    by_mode: dict[TravelMode, list[Route]] = {}
    for route in routes:
        by_mode.setdefault(teams[route.team_id].mode, []).append(route)
    paths: dict[str, geo.RoadPath] = {}
    for mode, mode_routes in by_mode.items():
        nodes = []
        for route in mode_routes:
            team = teams[route.team_id]
            points = [team.start_point, *(point_of[s.visit_id] for s in route.stops)]
            points.append(team.end_point)
            nodes.append([int(snapped[mode].nodes[p]) for p in points])
        found = geo.road_paths(network.graph(mode.value), nodes)
        paths.update(zip((route.team_id for route in mode_routes), found, strict=True))
    shapes = {}
    for route in routes:
        team, path = teams[route.team_id], paths[route.team_id]
        start = problem.point_location(team.start_point)
        end = problem.point_location(team.end_point)
        shapes[route.team_id] = RouteShape(
            lats=(start.lat, *path.lats, end.lat),
            lons=(start.lon, *path.lons, end.lon),
        )
    return shapes


def _violations_text(violations: list[Violation]) -> str:
    lines = [f"the plan failed validation with {len(violations)} violation(s):"]
    lines += [f"  {v}" for v in violations[:20]]
    return "\n".join(lines)
