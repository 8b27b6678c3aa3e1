"""Check a `Plan` against its `Problem` by re-simulating it, independently of the solver.

`validate(problem, plan)` lists every violation it finds (it never stops at the first), each a
`Violation` with a stable `ViolationCode`; an empty list means the plan keeps every rule. It
reads only the problem (its teams, windows, rules and travel matrices) and the plan; it never
uses the solver, so a solver bug cannot hide itself.

Semantics, in the units of `optimizer.model` (integer seconds since local midnight, metres):

- Accounting. Every visit of the problem appears exactly once, either as a stop or as an
  unassigned entry with a known reason code and a non-empty reason sentence.
- Routes. A route belongs to a team of `Problem.teams()` (at most one route per team), names
  exactly the team's `agent_ids` in the team's order, and uses the team's mode.
- Stops. The team may serve the visit (skills, crew size, allowed agents, each reported on its
  own); the stop starts inside one of `Problem.effective_windows(visit)` (closed intervals);
  `end` is `start + duration`; borrower and lat/lon (to 1e-6 degrees) are the visit's; a
  route has at most the team's `max_visits` stops; a borrower gets at most its rule's
  `max_visits` stops over the whole plan (no rule, no cap).
- Legs. A leg leads from the previous point (the team's `start_point` for the first stop,
  then each stop's visit) to the stop, and the end leg from the last point to the team's
  `end_point`. Its travel time and distance equal the team mode's matrix entry; an
  `UNREACHABLE` entry is reported as such instead.
- Timing, the rule of the `Stop` docstring. A leg runs from `t0` (the previous stop's
  reported `end`, or the route's `departure`) to the stop's `start`; its breaks are the
  route's breaks that start in `[t0, start)`. Arrival is `t0` plus the matrix travel time
  (the reported one when the matrix entry is unknown or `UNREACHABLE`) plus the breaks that
  start before the running arrival, added in start order; `waiting` is `start - arrival`
  minus the leg's later (on-site) breaks and must equal that and not be negative. The
  route's `arrival` follows the same rule from the last `end`, with every break that starts
  at or after it. Each stop is checked against its predecessor's *reported* times, so one
  wrong number is reported once rather than down the rest of the route.
- Shift and span. `departure >= shift.start`, `arrival <= shift.end`, and
  `arrival - departure <= max_working_time`.
- Breaks. `route.breaks[i]` is the taking of `team.breaks[i]`: each is taken exactly once,
  starts inside its window and lasts exactly its duration. A break must not overlap a
  visit's service `[start, end)` or another break, nor straddle the departure or the
  arrival, and must lie inside the shift; breaks wholly before the departure or after the
  arrival are allowed (taken at the start or end location; a short day needs no lunch out).
- An *idle* route (no stops and `arrival == departure`) is a team that does not go out: only
  its team, agents and mode are checked (no travel, shift, span or breaks). An empty route
  with `departure < arrival` is a trip from start to end and is checked like any route.
- The plan's `day` and `timezone` are the problem's.
"""

from __future__ import annotations

import enum
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from optimizer.model import UNREACHABLE, Problem, Team, TravelMatrix, Visit
from optimizer.plan import BreakTaken, Plan, ReasonCode, Route, Stop

__all__ = ["Violation", "ViolationCode", "validate"]

LOCATION_TOLERANCE = 1e-6
"""Degrees a stop's lat/lon may differ from its visit's location."""


class ViolationCode(enum.StrEnum):
    """What rule a plan breaks. Stable strings: tests and reports match on them."""

    # Accounting of visits.
    UNKNOWN_VISIT = "unknown_visit"
    DUPLICATE_VISIT = "duplicate_visit"
    MISSING_VISIT = "missing_visit"
    BAD_REASON = "bad_reason"
    # Routes and teams.
    UNKNOWN_TEAM = "unknown_team"
    WRONG_AGENTS = "wrong_agents"
    WRONG_MODE = "wrong_mode"
    DUPLICATE_TEAM = "duplicate_team"
    # Who may serve a visit.
    SKILL = "skill"
    CREW_SIZE = "crew_size"
    NOT_ALLOWED_AGENT = "not_allowed_agent"
    # Time limits and caps.
    WINDOW = "window"
    SHIFT = "shift"
    MAX_VISITS = "max_visits"
    MAX_WORKLOAD = "max_workload"
    MAX_WORKING_TIME = "max_working_time"
    BORROWER_CAP = "borrower_cap"
    # Legs, timing and breaks.
    TRAVEL = "travel"
    UNREACHABLE = "unreachable"
    ETA = "eta"
    BREAK = "break"
    # Copies of the problem's data.
    LOCATION = "location"
    WRONG_BORROWER = "wrong_borrower"
    WRONG_DAY = "wrong_day"


@dataclass(frozen=True)
class Violation:
    """One broken rule: a stable `code`, a sentence, and the team and visit it concerns."""

    code: str
    message: str
    team_id: str | None = None
    visit_id: str | None = None

    def __str__(self) -> str:
        where = [f"team {self.team_id}"] if self.team_id is not None else []
        if self.visit_id is not None:
            where.append(f"visit {self.visit_id}")
        prefix = ", ".join(where) + ": " if where else ""
        return f"{prefix}{self.message} [{self.code}]"


def validate(problem: Problem, plan: Plan) -> list[Violation]:
    """Every rule of `problem` that `plan` breaks, in plan order; `[]` for a valid plan."""
    out: list[Violation] = []
    if plan.day != problem.day or plan.timezone != problem.timezone:
        msg = (
            f"the plan is for {plan.day} in {plan.timezone}; the problem is for "
            f"{problem.day} in {problem.timezone}"
        )
        out.append(Violation(ViolationCode.WRONG_DAY, msg))
    _check_accounting(problem, plan, out)
    visits = {v.id: (k, v) for k, v in enumerate(problem.visits)}
    teams = {t.id: t for t in problem.teams()}
    seen_teams: set[str] = set()
    for route in plan.routes:
        team = teams.get(route.team_id)
        _check_team(route, team, seen_teams, out)
        for stop in route.stops:
            if stop.visit_id in visits:
                _check_stop(problem, route, team, stop, visits[stop.visit_id][1], out)
        if team is not None:
            _check_timeline(problem, route, team, visits, out)
            _check_workload(route, team, visits, out)
    _check_borrower_caps(problem, plan, out)
    return out


def _hms(t: int) -> str:
    """A time of the plan day as HH:MM, or HH:MM:SS when the seconds matter."""
    sign = "-" if t < 0 else ""
    h, rest = divmod(abs(int(t)), 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _check_accounting(problem: Problem, plan: Plan, out: list[Violation]) -> None:
    """Each visit routed or unassigned exactly once; unassigned entries carry a reason."""
    known = {v.id for v in problem.visits}
    places: dict[str, list[str]] = defaultdict(list)
    for route in plan.routes:
        for k, stop in enumerate(route.stops):
            if stop.visit_id not in known:
                msg = f"stop {k + 1} names visit {stop.visit_id!r}, which is not in the problem"
                out.append(
                    Violation(ViolationCode.UNKNOWN_VISIT, msg, route.team_id, stop.visit_id)
                )
            places[stop.visit_id].append(f"stop {k + 1} of team {route.team_id}")
    reason_codes = {c.value for c in ReasonCode}
    for entry in plan.unassigned:
        if entry.visit_id not in known:
            msg = f"unassigned entry names visit {entry.visit_id!r}, which is not in the problem"
            out.append(Violation(ViolationCode.UNKNOWN_VISIT, msg, None, entry.visit_id))
        places[entry.visit_id].append("the unassigned list")
        if not isinstance(entry.reason, str) or not entry.reason.strip():
            msg = "is unassigned without a reason sentence"
            out.append(Violation(ViolationCode.BAD_REASON, msg, None, entry.visit_id))
        if str(entry.reason_code) not in reason_codes:
            msg = f"is unassigned with unknown reason code {entry.reason_code!r}"
            out.append(Violation(ViolationCode.BAD_REASON, msg, None, entry.visit_id))
    for visit in problem.visits:
        where = places.get(visit.id, [])
        if not where:
            msg = "is neither in a route nor in the unassigned list"
            out.append(Violation(ViolationCode.MISSING_VISIT, msg, None, visit.id))
        elif len(where) > 1:
            msg = f"appears {len(where)} times: in " + ", ".join(where)
            out.append(Violation(ViolationCode.DUPLICATE_VISIT, msg, None, visit.id))


def _check_team(route: Route, team: Team | None, seen: set[str], out: list[Violation]) -> None:
    """The route's team exists, has one route, and the route copies its agents and mode."""
    tid = route.team_id
    if tid in seen:
        out.append(Violation(ViolationCode.DUPLICATE_TEAM, "has more than one route", tid))
    seen.add(tid)
    if team is None:
        msg = "is not a team of the problem (a crew, or an agent in no crew)"
        out.append(Violation(ViolationCode.UNKNOWN_TEAM, msg, tid))
        return
    if tuple(route.agent_ids) != team.agent_ids:
        msg = f"route names agents {list(route.agent_ids)}; the team is {list(team.agent_ids)}"
        out.append(Violation(ViolationCode.WRONG_AGENTS, msg, tid))
    if str(route.mode) != team.mode.value:
        msg = f"route mode is {route.mode!r}; the team moves by {team.mode.value!r}"
        out.append(Violation(ViolationCode.WRONG_MODE, msg, tid))
    if team.max_visits is not None and len(route.stops) > team.max_visits:
        msg = f"has {len(route.stops)} stops; at most {team.max_visits} are allowed"
        out.append(Violation(ViolationCode.MAX_VISITS, msg, tid))


def _check_workload(
    route: Route, team: Team, visits: dict[str, tuple[int, Visit]], out: list[Violation]
) -> None:
    """The route's visits add up to no more workload points than the team may take."""
    if team.max_workload is None:
        return
    total = sum(visits[s.visit_id][1].workload for s in route.stops if s.visit_id in visits)
    if total > team.max_workload:
        msg = f"carries {total} workload points; at most {team.max_workload} are allowed"
        out.append(Violation(ViolationCode.MAX_WORKLOAD, msg, route.team_id))


def _check_stop(
    problem: Problem,
    route: Route,
    team: Team | None,
    stop: Stop,
    visit: Visit,
    out: list[Violation],
) -> None:
    """What one stop of a known visit must satisfy whatever its neighbours."""
    tid, vid = route.team_id, visit.id
    if team is not None:
        missing = sorted(visit.required_skills - team.skills)
        if missing:
            msg = f"needs skills {missing} that the team lacks"
            out.append(Violation(ViolationCode.SKILL, msg, tid, vid))
        if team.size < visit.crew_size:
            msg = f"needs a crew of {visit.crew_size}; the team has {team.size}"
            out.append(Violation(ViolationCode.CREW_SIZE, msg, tid, vid))
        if visit.allowed_agents and not visit.allowed_agents & set(team.agent_ids):
            msg = f"only agents {sorted(visit.allowed_agents)} may do it"
            out.append(Violation(ViolationCode.NOT_ALLOWED_AGENT, msg, tid, vid))
    windows = problem.effective_windows(visit)
    if not any(w.contains(stop.start) for w in windows):
        shown = ", ".join(f"{_hms(w.start)}-{_hms(w.end)}" for w in windows) or "none"
        msg = f"starts at {_hms(stop.start)}, outside its windows ({shown})"
        out.append(Violation(ViolationCode.WINDOW, msg, tid, vid))
    if stop.end != stop.start + visit.duration:
        msg = (
            f"ends at {_hms(stop.end)}; starting at {_hms(stop.start)} with a "
            f"{visit.duration} s visit it ends at {_hms(stop.start + visit.duration)}"
        )
        out.append(Violation(ViolationCode.ETA, msg, tid, vid))
    if stop.borrower_id != visit.borrower_id:
        msg = f"stop names borrower {stop.borrower_id!r}, the visit's is {visit.borrower_id!r}"
        out.append(Violation(ViolationCode.WRONG_BORROWER, msg, tid, vid))
    loc = visit.location
    if abs(stop.lat - loc.lat) > LOCATION_TOLERANCE or abs(stop.lon - loc.lon) > LOCATION_TOLERANCE:
        msg = f"stop is at ({stop.lat}, {stop.lon}); the visit is at ({loc.lat}, {loc.lon})"
        out.append(Violation(ViolationCode.LOCATION, msg, tid, vid))


def _leg_travel(
    matrix: TravelMatrix | None,
    origin: int | None,
    dest: int | None,
    reported: tuple[int, int],
    where: str,
    tid: str,
    vid: str | None,
    out: list[Violation],
) -> int:
    """Check a leg against the matrix; return the travel time the timing should use."""
    if matrix is None or origin is None or dest is None:
        return reported[0]
    time = int(matrix.durations[origin, dest])
    dist = int(matrix.distances[origin, dest])
    if time >= UNREACHABLE or dist >= UNREACHABLE:
        msg = f"{where} has no road connection (point {origin} to {dest})"
        out.append(Violation(ViolationCode.UNREACHABLE, msg, tid, vid))
        return reported[0]
    if reported != (time, dist):
        msg = (
            f"{where} is reported as {reported[0]} s / {reported[1]} m; "
            f"the matrix says {time} s / {dist} m"
        )
        out.append(Violation(ViolationCode.TRAVEL, msg, tid, vid))
    return time


def _arrive(t: int, breaks: Sequence[BreakTaken]) -> int:
    """The Stop rule: add breaks, in start order, while they start before the running time."""
    for brk in sorted(breaks, key=lambda b: b.start):
        if brk.start >= t:
            break
        t += brk.end - brk.start
    return t


def _check_timeline(
    problem: Problem,
    route: Route,
    team: Team,
    visits: dict[str, tuple[int, Visit]],
    out: list[Violation],
) -> None:
    """Re-simulate the route's legs, times, shift, span and breaks."""
    tid = route.team_id
    if not route.stops and route.arrival == route.departure:
        return  # idle: the team does not go out
    if route.departure < team.shift.start:
        msg = (
            f"departs at {_hms(route.departure)}, before the shift starts at "
            f"{_hms(team.shift.start)}"
        )
        out.append(Violation(ViolationCode.SHIFT, msg, tid))
    if route.arrival > team.shift.end:
        msg = f"arrives at {_hms(route.arrival)}, after the shift ends at {_hms(team.shift.end)}"
        out.append(Violation(ViolationCode.SHIFT, msg, tid))
    span = route.arrival - route.departure
    if span < 0:
        msg = f"arrives at {_hms(route.arrival)}, before it departs at {_hms(route.departure)}"
        out.append(Violation(ViolationCode.ETA, msg, tid))
    if team.max_working_time is not None and span > team.max_working_time:
        msg = f"works {span} s from departure to arrival; at most {team.max_working_time} s"
        out.append(Violation(ViolationCode.MAX_WORKING_TIME, msg, tid))

    matrix = problem.matrices.get(team.mode)
    point: int | None = team.start_point
    t0 = route.departure
    for k, stop in enumerate(route.stops):
        vid = stop.visit_id
        dest = problem.visit_point(visits[vid][0]) if vid in visits else None
        where = f"the leg to stop {k + 1}"
        reported = (stop.travel_time, stop.travel_distance)
        travel = _leg_travel(matrix, point, dest, reported, where, tid, vid, out)
        leg_breaks = [b for b in route.breaks if t0 <= b.start < stop.start]
        arrival = _arrive(t0 + travel, leg_breaks)
        on_site = sum(b.end - b.start for b in leg_breaks if b.start >= arrival)
        waiting = stop.start - arrival - on_site
        if stop.arrival != arrival:
            msg = f"arrival is {_hms(stop.arrival)}; the legs and breaks give {_hms(arrival)}"
            out.append(Violation(ViolationCode.ETA, msg, tid, vid))
        if stop.start < t0:
            what = "the previous stop ends" if k else "the route departs"
            msg = f"starts at {_hms(stop.start)}, before {what} at {_hms(t0)}"
            out.append(Violation(ViolationCode.ETA, msg, tid, vid))
        elif waiting < 0:
            msg = (
                f"starts at {_hms(stop.start)}, before arriving at {_hms(arrival)} "
                f"and taking {on_site} s of breaks on site"
            )
            out.append(Violation(ViolationCode.ETA, msg, tid, vid))
        if stop.waiting < 0:
            msg = f"waiting is negative ({stop.waiting} s)"
            out.append(Violation(ViolationCode.ETA, msg, tid, vid))
        elif waiting >= 0 and stop.waiting != waiting:
            msg = f"waiting is {stop.waiting} s; the legs and breaks give {waiting} s"
            out.append(Violation(ViolationCode.ETA, msg, tid, vid))
        point, t0 = dest, stop.end

    reported = (route.end_travel_time, route.end_travel_distance)
    travel = _leg_travel(matrix, point, team.end_point, reported, "the end leg", tid, None, out)
    arrival = _arrive(t0 + travel, [b for b in route.breaks if b.start >= t0])
    if route.arrival != arrival:
        msg = f"route arrival is {_hms(route.arrival)}; the legs and breaks give {_hms(arrival)}"
        out.append(Violation(ViolationCode.ETA, msg, tid))
    _check_breaks(route, team, out)


def _check_breaks(route: Route, team: Team, out: list[Violation]) -> None:
    """Each team break taken once, in its window, for its duration, where it may fall."""
    tid = route.team_id
    for i, brk in enumerate(team.breaks):
        window = f"{_hms(brk.window.start)}-{_hms(brk.window.end)}"
        if i >= len(route.breaks):
            msg = f"break {i + 1} ({brk.duration} s starting in {window}) is not taken"
            out.append(Violation(ViolationCode.BREAK, msg, tid))
            continue
        taken = route.breaks[i]
        if not brk.window.contains(taken.start):
            msg = f"break {i + 1} starts at {_hms(taken.start)}, outside its window {window}"
            out.append(Violation(ViolationCode.BREAK, msg, tid))
        if taken.end - taken.start != brk.duration:
            msg = f"break {i + 1} lasts {taken.end - taken.start} s; it must last {brk.duration} s"
            out.append(Violation(ViolationCode.BREAK, msg, tid))
    for i in range(len(team.breaks), len(route.breaks)):
        msg = f"break {i + 1} is taken but the team has only {len(team.breaks)} breaks"
        out.append(Violation(ViolationCode.BREAK, msg, tid))
    for i, taken in enumerate(route.breaks):
        span = f"break {i + 1} ({_hms(taken.start)}-{_hms(taken.end)})"
        for edge, what in ((route.departure, "departure"), (route.arrival, "arrival")):
            if taken.start < edge < taken.end:
                msg = f"{span} straddles the route's {what} at {_hms(edge)}"
                out.append(Violation(ViolationCode.BREAK, msg, tid))
        if taken.start < team.shift.start or taken.end > team.shift.end:
            msg = f"{span} falls outside the shift {_hms(team.shift.start)}-{_hms(team.shift.end)}"
            out.append(Violation(ViolationCode.BREAK, msg, tid))
        for stop in route.stops:
            if taken.start < stop.end and stop.start < taken.end:
                msg = f"{span} overlaps the visit ({_hms(stop.start)}-{_hms(stop.end)})"
                out.append(Violation(ViolationCode.BREAK, msg, tid, stop.visit_id))
        for j in range(i + 1, len(route.breaks)):
            other = route.breaks[j]
            if taken.start < other.end and other.start < taken.end:
                msg = f"{span} overlaps break {j + 1} ({_hms(other.start)}-{_hms(other.end)})"
                out.append(Violation(ViolationCode.BREAK, msg, tid))


def _check_borrower_caps(problem: Problem, plan: Plan, out: list[Violation]) -> None:
    """No borrower gets more routed visits than its rule allows."""
    borrower_of = {v.id: v.borrower_id for v in problem.visits}
    counts: Counter[str] = Counter()
    routed: dict[str, list[str]] = defaultdict(list)
    for route in plan.routes:
        for stop in route.stops:
            if stop.visit_id in borrower_of:
                counts[borrower_of[stop.visit_id]] += 1
                routed[borrower_of[stop.visit_id]].append(stop.visit_id)
    for rule in problem.borrowers:
        if counts[rule.borrower_id] > rule.max_visits:
            msg = (
                f"borrower {rule.borrower_id} gets {counts[rule.borrower_id]} visits "
                f"({', '.join(routed[rule.borrower_id])}); the cap today is {rule.max_visits}"
            )
            out.append(Violation(ViolationCode.BORROWER_CAP, msg))
