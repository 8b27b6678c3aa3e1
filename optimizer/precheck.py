"""Screening before the solve: which team may serve each visit, and why a visit is out.

A visit that no team can serve even alone in an empty day is excluded with a reason a
dispatcher can act on; the solver only ever sees the rest, each with its candidate teams.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optimizer.model import (
    DAY_SECONDS,
    UNREACHABLE,
    Problem,
    Team,
    TimeWindow,
    TravelMode,
    Visit,
    VisitKind,
)
from optimizer.plan import ReasonCode, Unassigned
from optimizer.timefmt import clock, span


@dataclass(frozen=True)
class Screening:
    """The outcome of the pre-check.

    `candidates[i]` lists the indices (into `teams`) of the teams that could serve visit `i`
    alone; a visit in `excluded` has no candidate and a reason.
    """

    teams: tuple[Team, ...]
    candidates: dict[int, tuple[int, ...]]
    excluded: dict[int, Unassigned]
    idle: tuple[tuple[Team, str], ...] = ()
    """Teams that cannot work at all today, each with the sentence that says why."""


def screen(problem: Problem) -> Screening:
    """Check every team, then every visit against the teams that can work; see `Screening`."""
    teams: list[Team] = []
    idle: list[tuple[Team, str]] = []
    for team in problem.teams():
        why = _why_idle(problem, team)
        if why is None:
            teams.append(team)
        else:
            idle.append((team, why))
    return _screen_visits(problem, tuple(teams), tuple(idle))


def _why_idle(problem: Problem, team: Team) -> str | None:
    """Why the team cannot even go from its start to its end within its shift, if so."""
    travel = int(problem.matrices[team.mode].durations[team.start_point, team.end_point])
    if travel >= UNREACHABLE:
        return f"{team.id} cannot work today: its start and end are not connected by road."
    length = team.shift.end - team.shift.start
    if team.max_working_time is not None:
        length = min(length, team.max_working_time)
    breaks = sum(brk.duration for brk in team.breaks)
    if travel + breaks > length:
        return (
            f"{team.id} cannot work today: the trip from its start to its end and its breaks "
            "take longer than its shift."
        )
    latest = -1
    for brk in sorted(team.breaks, key=lambda b: (b.window.start, b.window.end)):
        start = max(latest, brk.window.start)
        if start > min(brk.window.end, team.shift.end - brk.duration):
            return f"{team.id} cannot work today: its breaks cannot all be taken in their windows."
        latest = start + brk.duration
    return None


@dataclass(frozen=True, eq=False)
class _Fleet:
    """The teams' numbers as arrays, so that a visit is checked against all teams at once
    (a 1,000-visit day with 250 teams took seconds one team at a time)."""

    problem: Problem
    teams: tuple[Team, ...]
    start: np.ndarray
    end: np.ndarray
    shift_start: np.ndarray
    shift_end: np.ndarray
    max_span: np.ndarray
    breaks: np.ndarray
    by_mode: dict[TravelMode, np.ndarray]

    @classmethod
    def of(cls, problem: Problem, teams: tuple[Team, ...]) -> _Fleet:
        by_mode: dict[TravelMode, list[int]] = {}
        for t, team in enumerate(teams):
            by_mode.setdefault(team.mode, []).append(t)
        none = 4 * DAY_SECONDS + 1

        def array(values: list[int]) -> np.ndarray:
            return np.array(values, dtype=np.int64).reshape(len(teams))

        return cls(
            problem=problem,
            teams=teams,
            start=array([t.start_point for t in teams]),
            end=array([t.end_point for t in teams]),
            shift_start=array([t.shift.start for t in teams]),
            shift_end=array([t.shift.end for t in teams]),
            max_span=array(
                [none if t.max_working_time is None else t.max_working_time for t in teams]
            ),
            breaks=array([sum(b.duration for b in t.breaks) for t in teams]),
            by_mode={m: np.array(ts, dtype=np.int64) for m, ts in by_mode.items()},
        )

    def legs(self, visit_index: int) -> tuple[np.ndarray, np.ndarray]:
        """Travel from each team's start to the visit, and from the visit to its end."""
        point = self.problem.visit_point(visit_index)
        to_visit = np.empty(len(self.teams), dtype=np.int64)
        to_end = np.empty(len(self.teams), dtype=np.int64)
        for mode, members in self.by_mode.items():
            matrix = self.problem.matrices[mode].durations
            to_visit[members] = matrix[self.start[members], point]
            to_end[members] = matrix[point, self.end[members]]
        return to_visit, to_end

    def reachable(
        self,
        visit: Visit,
        windows: tuple[TimeWindow, ...],
        to_visit: np.ndarray,
        to_end: np.ndarray,
    ) -> np.ndarray:
        """Per team, whether `earliest_start` is not None (see there), all teams at once."""
        ok = (to_visit < UNREACHABLE) & (to_end < UNREACHABLE)
        ok &= to_visit + visit.duration + to_end + self.breaks <= self.max_span
        latest_start = self.shift_end - visit.duration - to_end
        fits = np.zeros(len(self.teams), dtype=bool)
        for window in windows:
            start = np.maximum(window.start, self.shift_start + to_visit)
            fits |= start <= np.minimum(window.end, latest_start)
        return ok & fits


def _screen_visits(
    problem: Problem, teams: tuple[Team, ...], idle: tuple[tuple[Team, str], ...]
) -> Screening:
    candidates: dict[int, tuple[int, ...]] = {}
    excluded: dict[int, Unassigned] = {}
    fleet = _Fleet.of(problem, teams)
    for i, visit in enumerate(problem.visits):
        verdict = _screen_visit(problem, fleet, i, visit)
        if isinstance(verdict, Unassigned):
            excluded[i] = verdict
        else:
            candidates[i] = verdict
    return Screening(teams=teams, candidates=candidates, excluded=excluded, idle=idle)


def earliest_start(problem: Problem, team: Team, visit_index: int) -> int | None:
    """The earliest time the team could start the visit coming straight from its start, if
    it can also still get to its end within the shift; None when it cannot."""
    visit = problem.visits[visit_index]
    matrix = problem.matrices[team.mode].durations
    point = problem.visit_point(visit_index)
    to_visit = int(matrix[team.start_point, point])
    to_end = int(matrix[point, team.end_point])
    if to_visit >= UNREACHABLE or to_end >= UNREACHABLE:
        return None
    breaks = sum(brk.duration for brk in team.breaks)
    if team.max_working_time is not None and (
        to_visit + visit.duration + to_end + breaks > team.max_working_time
    ):
        return None
    latest_start = team.shift.end - visit.duration - to_end
    for window in problem.effective_windows(visit):
        start = max(window.start, team.shift.start + to_visit)
        if start <= min(window.end, latest_start):
            return start
    return None


def _screen_visit(
    problem: Problem, fleet: _Fleet, i: int, visit: Visit
) -> tuple[int, ...] | Unassigned:
    teams = fleet.teams

    def out(code: ReasonCode, sentence: str) -> Unassigned:
        return Unassigned(visit.id, code, sentence)

    rule = problem.borrower_rule(visit.borrower_id)
    if rule is not None and rule.max_visits == 0:
        why = f" ({rule.reason})" if rule.reason else ""
        return out(
            ReasonCode.BORROWER_CAP,
            f"Borrower {visit.borrower_id} may receive no more visits today{why}.",
        )
    windows = problem.effective_windows(visit)
    if not windows:
        hours = rule.allowed_hours if rule else None
        return out(
            ReasonCode.OUTSIDE_ALLOWED_HOURS,
            f"The agreed window {_windows_text(visit.windows)} is outside the hours the "
            f"borrower may be visited ({span(hours) if hours else 'none'}); agree a new time.",
        )
    pool = [t for t, team in enumerate(teams) if team.max_visits != 0]
    if not pool:
        return out(
            ReasonCode.AGENT_NOT_AVAILABLE,
            "No agent can take visits today (the plan's notes say why); add or fix an agent.",
        )
    skilled = [t for t in pool if visit.required_skills <= teams[t].skills]
    if not skilled:
        have = set().union(*(teams[t].skills for t in pool)) if pool else set()
        missing = sorted(visit.required_skills - have) or sorted(visit.required_skills)
        return out(
            ReasonCode.MISSING_SKILL,
            f"No agent available today has skill {', '.join(missing)}"
            + ("" if len(missing) == len(visit.required_skills) else " in the right combination")
            + "; add an agent who has it or remove the requirement.",
        )
    crewed = [t for t in skilled if teams[t].size >= visit.crew_size]
    if not crewed:
        largest = max(teams[t].size for t in skilled)
        return out(
            ReasonCode.NO_CREW,
            f"Needs a crew of {visit.crew_size}; the largest crew on shift with the skills has "
            f"{largest}. Pair agents in a crew or lower the crew size.",
        )
    allowed = [
        t
        for t in crewed
        if not visit.allowed_agents or visit.allowed_agents & set(teams[t].agent_ids)
    ]
    if not allowed:
        names = ", ".join(sorted(visit.allowed_agents))
        return out(
            ReasonCode.AGENT_NOT_AVAILABLE,
            f"Only {names} may do this visit, and none of them is on shift with the needed "
            "skills and crew size; allow another agent or move the visit.",
        )
    light = [t for t in allowed if visit.workload <= _workload_limit(teams[t])]
    if not light:
        most = max(teams[t].max_workload or 0 for t in allowed)
        return out(
            ReasonCode.OVER_WORKLOAD,
            f"Counts {visit.workload} workload points; no agent who could do it may take more "
            f"than {most} in a day. Raise an agent's limit or lower the visit's workload.",
        )
    to_visit, to_end = fleet.legs(i)
    linked = (to_visit < UNREACHABLE) & (to_end < UNREACHABLE)
    connected = [t for t in light if linked[t]]
    if not connected:
        return out(
            ReasonCode.NO_ROAD_CONNECTION,
            "The address is not connected to the road network of any agent who could do it; "
            "check the coordinates.",
        )
    meets = np.zeros(len(teams), dtype=bool)
    for w in windows:  # as `TimeWindow.intersect`, for all teams at once
        meets |= (w.start <= fleet.shift_end) & (fleet.shift_start <= w.end)
    overlapping = [t for t in connected if meets[t]]
    if not overlapping:
        if visit.allowed_agents:
            shifts = "; ".join(f"{teams[t].id} works {span(teams[t].shift)}" for t in connected[:3])
            return out(
                ReasonCode.AGENT_NOT_AVAILABLE,
                f"Only {', '.join(sorted(visit.allowed_agents))} may do this visit in "
                f"{_windows_text(windows)}, but {shifts}; allow another agent or agree "
                "another time.",
            )
        return out(
            ReasonCode.NO_SHIFT_OVERLAP,
            f"No shift of an agent who could do it overlaps the window "
            f"{_windows_text(windows)}; agree another time or extend a shift.",
        )
    can = fleet.reachable(visit, windows, to_visit, to_end)
    reachable = [t for t in overlapping if can[t]]
    if not reachable:
        best = min(overlapping, key=lambda t: int(fleet.shift_start[t] + to_visit[t]))
        arrival = int(fleet.shift_start[best] + to_visit[best])
        kind = "appointment" if visit.kind is VisitKind.APPOINTMENT else "visit"
        if arrival > windows[-1].end:
            return out(
                ReasonCode.WINDOW_UNREACHABLE,
                f"The {kind} window {_windows_text(windows)} cannot be met from any start: the "
                f"earliest arrival is {clock(arrival)} ({teams[best].id}). Agree a later time.",
            )
        return out(
            ReasonCode.WINDOW_UNREACHABLE,
            f"No agent who could do the {kind} in {_windows_text(windows)} can also finish it "
            "and get back before the end of their shift or working-time limit; agree an "
            "earlier time or extend a shift.",
        )
    return tuple(reachable)


def _workload_limit(team: Team) -> float:
    return math.inf if team.max_workload is None else team.max_workload


def _windows_text(windows: tuple[TimeWindow, ...]) -> str:
    if not windows or windows == (TimeWindow(0, 2 * DAY_SECONDS),):
        return "(any time)"
    return " or ".join(span(w) for w in windows)
