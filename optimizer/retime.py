"""Lay out a route in an order a person chose, with the timing rule of `optimizer.plan.Stop`.

`retime(problem, team, visit_ids)` is what a dispatcher's hand edit needs: no search, just the
times. The team leaves its start as late as its first visit allows (at the shift start when
a break comes first); each visit starts at the earliest moment
inside its effective windows (`Problem.effective_windows`) after the travel; each break is
taken as early as its window allows, back to back with the other breaks due before the next
visit (on the way or on site), starting in its window and ending inside the shift; the route
ends back at the team's end point. What cannot be kept comes back as a sentence instead of a
route, and so does a route longer than the team's maximum working time. Rules that do not
depend on the times (skills, caps, crew size) are left to `optimizer.validate`.
"""

from __future__ import annotations

from collections.abc import Sequence

from optimizer.model import UNREACHABLE, Problem, Team, TimeWindow
from optimizer.plan import BreakTaken, Route
from optimizer.solver import idle_route, timed_route

__all__ = ["retime"]


def _hm(t: int) -> str:
    h, rest = divmod(int(t), 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _windows_text(windows: Sequence[TimeWindow]) -> str:
    return ", ".join(f"{_hm(w.start)}-{_hm(w.end)}" for w in windows)


def _earliest_start(windows: Sequence[TimeWindow], t: int) -> int | None:
    for w in windows:
        if t <= w.end:
            return max(t, w.start)
    return None


def _arrive(t: int, breaks: Sequence[BreakTaken]) -> int:
    """Add breaks, in start order, while they start before the running arrival."""
    for brk in sorted(breaks, key=lambda b: b.start):
        if brk.start >= t:
            break
        t += brk.end - brk.start
    return t


def _lay_breaks(
    team: Team, t0: int, take: Sequence[int], taken: dict[int, BreakTaken]
) -> int | str:
    """Take breaks `take` back to back from `t0`, each as early as its window allows; record
    them in `taken` and return when the last ends, or say which one cannot be taken."""
    free_at = t0
    for b in take:
        brk = team.breaks[b]
        start = max(free_at, brk.window.start)
        latest = min(brk.window.end, team.shift.end - brk.duration)
        if start > latest:
            return (
                f"break {b + 1} of {team.id} ({brk.duration // 60} min starting "
                f"{_hm(brk.window.start)}-{_hm(brk.window.end)}) cannot start in its window: "
                f"the agent is free only at {_hm(start)}"
            )
        taken[b] = BreakTaken(start, start + brk.duration)
        free_at = start + brk.duration
    return free_at


def retime(problem: Problem, team: Team, visit_ids_in_order: Sequence[str]) -> Route | str:
    """The team's route serving `visit_ids_in_order` in turn, timed by the `Stop` rule, or a
    sentence saying what cannot be kept (a visit's window, a break, the shift end, a road)."""
    index = {v.id: i for i, v in enumerate(problem.visits)}
    unknown = [vid for vid in visit_ids_in_order if vid not in index]
    if unknown:
        return f"visit {unknown[0]} is not among the day's visits"
    if len(set(visit_ids_in_order)) != len(visit_ids_in_order):
        return "a visit appears twice in the route"
    if not visit_ids_in_order:
        return idle_route(team)
    matrix = problem.matrices[team.mode]
    pending = sorted(
        range(len(team.breaks)),
        key=lambda b: (team.breaks[b].window.start, team.breaks[b].window.end),
    )
    taken: dict[int, BreakTaken] = {}
    sequence: list[tuple[int, int]] = []
    t = team.shift.start
    point = team.start_point
    for vid in visit_ids_in_order:
        i = index[vid]
        visit = problem.visits[i]
        dest = problem.visit_point(i)
        travel, dist = int(matrix.durations[point, dest]), int(matrix.distances[point, dest])
        if travel >= UNREACHABLE or dist >= UNREACHABLE:
            return f"visit {vid} cannot be reached by road from the previous stop"
        windows = problem.effective_windows(visit)
        if not windows:
            return f"visit {vid} has no time it may start inside the borrower's allowed hours"
        target = _earliest_start(windows, t + travel)
        if target is None:
            return (
                f"visit {vid} misses its window ({_windows_text(windows)}): the agent "
                f"arrives at {_hm(t + travel)} at the earliest"
            )
        take = [b for b in pending if team.breaks[b].window.start <= target]
        leg: dict[int, BreakTaken] = {}
        free_at = _lay_breaks(team, t, take, leg)
        if isinstance(free_at, str):
            return free_at
        arrival = _arrive(t + travel, list(leg.values()))
        on_site = sum(b.end - b.start for b in leg.values() if b.start >= arrival)
        ready = max(arrival + on_site, free_at)
        start = _earliest_start(windows, ready)
        if start is None:
            return (
                f"visit {vid} misses its window ({_windows_text(windows)}): with the break "
                f"the agent is ready at {_hm(ready)}"
            )
        taken.update(leg)
        pending = [b for b in pending if b not in take]
        sequence.append((i, start))
        t, point = start + visit.duration, dest
    travel = int(matrix.durations[point, team.end_point])
    dist = int(matrix.distances[point, team.end_point])
    if travel >= UNREACHABLE or dist >= UNREACHABLE:
        return f"the end point of {team.id} cannot be reached by road from the last stop"
    leg = {}
    free_at = _lay_breaks(team, t, pending, leg)
    if isinstance(free_at, str):
        return free_at
    arrival = _arrive(t + travel, list(leg.values()))
    if arrival > team.shift.end:
        return f"{team.id} is back at {_hm(arrival)}, after the shift ends at {_hm(team.shift.end)}"
    taken.update(leg)
    breaks = [taken[b] for b in range(len(team.breaks))]
    departure = _latest_departure(problem, team, sequence, breaks)
    if team.max_working_time is not None and arrival - departure > team.max_working_time:
        return (
            f"{team.id} would work {_hm(arrival - departure)} from leaving to coming back, "
            f"more than the {_hm(team.max_working_time)} allowed"
        )
    # The times are decided; the solver's reader of times builds the stops the same way.
    return timed_route(problem, team, departure, sequence, breaks, arrival)


def _latest_departure(
    problem: Problem, team: Team, sequence: Sequence[tuple[int, int]], breaks: Sequence[BreakTaken]
) -> int:
    """Leave as late as the first visit allows rather than wait on the doorstep: the first
    visit's start less the travel to it, unless a break falls before it (then at the shift
    start, as laid out)."""
    first, start = sequence[0]
    if any(b.start < start for b in breaks):
        return team.shift.start
    travel = int(
        problem.matrices[team.mode].durations[team.start_point, problem.visit_point(first)]
    )
    return max(team.shift.start, start - travel)
