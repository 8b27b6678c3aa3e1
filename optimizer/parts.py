"""Improve a large day part by part until the deadline (see `optimizer.decompose`).

The solver hands in a first plan and a function that re-plans one part (OR-Tools, in the
solver); this module chooses the parts, shares out the time, runs the parts of a pass on the
available workers and keeps each part's new routes when they cost no more than the old ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from optimizer.costs import Costs
from optimizer.decompose import Part, partition, plane, sub_problem
from optimizer.model import Problem
from optimizer.parallel import Workers
from optimizer.plan import Route
from optimizer.precheck import Screening

log = logging.getLogger(__name__)

_EPSILON = 1e-9
"""Seconds of rounding a pass's shares may add up to beyond the time left."""

SolvePart = Callable[[Problem, Mapping[str, Sequence[str]], float, float], tuple[Route, ...]]
"""(part problem, its current routes by team id, seconds, monotonic deadline) -> its routes."""


@dataclass(frozen=True)
class Schedule:
    """How big the parts are and how long each is searched."""

    size: int = 100
    """Visits a part aims at."""
    seconds_per_visit: float = 0.015
    min_seconds: float = 0.3
    """A part that would get less than this in a later pass is left for the next pass."""
    min_routes: int = 1
    """Routes a part holds at least: long routes make parts of few routes, too few to trade
    visits between."""


@dataclass
class Progress:
    """The day so far: routes as problem visit indices per team, and the timed `Route` of
    every team whose route came back from a part solve."""

    routes: list[list[int]]
    timed: dict[int, Route]
    passes: int = 0
    parts: int = 0
    kept: int = 0
    costs: list[int] = field(default_factory=list)
    """The day's cost (`optimizer.costs.Costs`) at the start and after each pass: how fast
    the parts converge, the measure for tuning how a large day's time is shared out."""


def improve_in_parts(
    problem: Problem,
    screening: Screening,
    start: Sequence[Sequence[int]],
    *,
    timed: Mapping[int, Route] | None = None,
    deadline: float,
    workers: Workers,
    num_workers: int,
    solve_part: SolvePart,
    schedule: Schedule = Schedule(),
) -> Progress:
    """Re-plan parts of the day pass after pass until `deadline` (a `time.monotonic()`).

    `timed` holds the timed routes of `start` where known (by team index)."""
    teams = screening.teams
    costs = Costs(problem, screening)
    progress = Progress(routes=[list(r) for r in start], timed=dict(timed or {}))
    visit_xy, start_xy = plane(problem, teams)
    rng = np.random.default_rng(0)
    candidates = set(screening.candidates)
    progress.costs.append(costs.total(progress.routes))
    while True:
        left = deadline - time.monotonic()
        first = progress.passes == 0
        if left < schedule.min_seconds and not first:
            break
        routed = {i for r in progress.routes for i in r}
        parts = partition(
            problem,
            progress.routes,
            sorted(candidates - routed),
            screening.candidates,
            visit_xy,
            start_xy,
            size=schedule.size,
            rng=rng,
            min_routes=schedule.min_routes,
        )
        total = max(1, sum(len(p.visits) for p in parts))
        capacity = left * num_workers  # worker-seconds this pass may hand out
        room = capacity
        jobs = []
        for part in parts:
            # The pass fits in the time left: parts share it by size, over the workers; where
            # their shares are too short, fewer parts get `min_seconds` each (the others wait
            # for the next pass) rather than none and the time left unused.
            fit = capacity * len(part.visits) / total
            want = max(schedule.min_seconds, schedule.seconds_per_visit * len(part.visits))
            seconds = min(want, fit)
            if not first:
                seconds = max(seconds, schedule.min_seconds)
                if seconds > room + _EPSILON:
                    continue
            room -= seconds
            sub = sub_problem(problem, teams, part, progress.routes)
            initial = {
                teams[t].id: [problem.visits[i].id for i in progress.routes[t]] for t in part.teams
            }
            jobs.append((part, workers.submit(solve_part, sub, initial, seconds, deadline)))
        for part, future in jobs:
            _apply(problem, screening, costs, progress, part, future.result())
        progress.passes += 1
        progress.parts += len(jobs)
        progress.costs.append(costs.total(progress.routes))
        log.debug("pass %d: %d parts, cost %d", progress.passes, len(jobs), progress.costs[-1])
        if not jobs:
            break
    log.info(
        "%d passes, %d parts solved, %d improved; cost %d at the start, %d at the end",
        progress.passes,
        progress.parts,
        progress.kept,
        progress.costs[0],
        progress.costs[-1],
    )
    return progress


def _apply(
    problem: Problem,
    screening: Screening,
    costs: Costs,
    progress: Progress,
    part: Part,
    result: tuple[Route, ...],
) -> None:
    """Take the part's new routes if they cost no more than its old ones."""
    team_of = {screening.teams[t].id: t for t in part.teams}
    index = {problem.visits[i].id: i for i in part.visits}
    new = {t: list(progress.routes[t]) for t in part.teams}
    new.update({team_of[r.team_id]: [index[s.visit_id] for s in r.stops] for r in result})

    def cost(routes: Mapping[int, Sequence[int]]) -> int:
        served = {i for r in routes.values() for i in r}
        return sum(costs.route(t, r) for t, r in routes.items()) + costs.dropped(
            [i for i in part.visits if i not in served]
        )

    old = {t: progress.routes[t] for t in part.teams}
    if cost(new) <= cost(old):
        progress.kept += int(cost(new) < cost(old))
        for r in result:
            t = team_of[r.team_id]
            progress.routes[t] = new[t]
            progress.timed[t] = r
        for t in part.teams:
            if t not in {team_of[r.team_id] for r in result}:
                progress.routes[t] = []
                progress.timed.pop(t, None)
