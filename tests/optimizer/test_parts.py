"""How `optimizer.parts` shares a large day's time out between its parts."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import optimizer.solver
from optimizer import Problem
from optimizer.costs import Costs
from optimizer.parallel import workers
from optimizer.parts import Schedule, improve_in_parts
from optimizer.plan import Route
from optimizer.precheck import screen
from tests.optimizer.test_search import ring_day


def test_a_pass_too_short_for_every_part_still_uses_its_time() -> None:
    """Three parts of 8 visits, half a second each: after the first pass about 1.2 s is
    left, too little to give every part its half second. Fewer parts get it, where once the
    pass solved none and the time went unused."""
    problem = ring_day(24)
    screening = screen(problem)
    start = [list(range(k, k + 4)) for k in range(0, 24, 4)]
    asked: list[float] = []

    def solve_part(
        part: Problem, initial: Mapping[str, Sequence[str]], seconds: float, not_after: float
    ) -> tuple[Route, ...]:
        asked.append(seconds)
        return optimizer.solver._solve_part(part, initial, seconds, not_after)

    with workers(1) as pool:  # one worker runs in this process: the spy sees every part
        progress = improve_in_parts(
            problem,
            screening,
            start,
            deadline=time.monotonic() + 3 * 0.5 + 1.2,
            workers=pool,
            num_workers=1,
            solve_part=solve_part,
            schedule=Schedule(size=8, seconds_per_visit=0.5 / 8, min_seconds=0.5, min_routes=2),
        )
    assert asked[:3] == [0.5, 0.5, 0.5]  # the first pass: each part its want
    assert len(asked) > 3, asked  # a later pass used what was left
    assert all(seconds >= 0.5 for seconds in asked)
    assert sorted(i for route in progress.routes for i in route) == list(range(24))


def test_the_day_never_costs_more_after_a_pass() -> None:
    """A part's new routes are kept only when they cost no more than its old ones, so the
    day's cost falls or stays pass after pass; from a poor start (each route crossing the
    ring back and forth) the passes lower it, and the last cost recorded is the plan's."""
    problem = ring_day(24)
    screening = screen(problem)
    start = [list(range(k, 24, 6)) for k in range(6)]
    with workers(1) as pool:
        progress = improve_in_parts(
            problem,
            screening,
            start,
            deadline=time.monotonic() + 2.0,
            workers=pool,
            num_workers=1,
            solve_part=optimizer.solver._solve_part,
            schedule=Schedule(size=8, seconds_per_visit=0.3 / 8, min_seconds=0.3, min_routes=2),
        )
    assert progress.passes >= 2
    assert len(progress.costs) == progress.passes + 1
    assert progress.costs == sorted(progress.costs, reverse=True)
    assert progress.costs[-1] < progress.costs[0]
    assert progress.costs[-1] == Costs(problem, screening).total(progress.routes)
