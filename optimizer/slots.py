"""Where a new appointment fits in a day: the windows the team can keep, and what each costs.

`insertion_slots(problem, routes, visit_id, windows)` takes a day whose visits include the
new one, the routes the teams must keep (team id -> visit ids in order: the day's agreed
appointments), and the windows one might offer the borrower. For each window it finds the
cheapest place, in any route a suitable team has, where the new visit starts inside that
window while every other stop is still kept: laid out by the `retime` rule (windows,
breaks, shift, working time), within the team's visit and workload limits. The cost is the
travel the insertion adds. Pure: numbers in, numbers out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from optimizer.model import Problem, Team, TimeWindow, VisitKind
from optimizer.plan import Route
from optimizer.retime import retime

__all__ = ["NoSlot", "Slot", "insert_greedily", "insertion_slots"]


@dataclass(frozen=True)
class Slot:
    """A window the day can keep: who would do the visit, as which stop, starting when, and
    the travel (s) and distance (m) it adds to that team's day."""

    window: TimeWindow
    team_id: str
    position: int
    """1-based stop number in the team's route."""
    start: int
    extra_travel_s: int
    extra_distance_m: int


@dataclass(frozen=True)
class NoSlot:
    """A window the day cannot keep, and why: `no_team` (nobody on shift may do the visit)
    or `full` (every suitable team's day is full then)."""

    window: TimeWindow
    reason_code: str
    reason: str


def insertion_slots(
    problem: Problem,
    routes: Mapping[str, Sequence[str]],
    visit_id: str,
    windows: Sequence[TimeWindow],
) -> list[Slot | NoSlot]:
    """The best insertion of visit `visit_id` for each of `windows`, in their order.

    `routes` lists, per team id, the visits its route must keep in order (a team not named
    has none). The visit's own windows in `problem` are replaced by each window in turn.
    """
    index = next((i for i, v in enumerate(problem.visits) if v.id == visit_id), None)
    if index is None:
        msg = f"visit {visit_id!r} is not among the day's visits"
        raise ValueError(msg)
    visit = problem.visits[index]
    teams = [t for t in problem.teams() if problem.team_may_serve(t, visit)]
    if not teams:
        why = _nobody(visit.required_skills, visit.crew_size)
        return [NoSlot(w, "no_team", why) for w in windows]
    bases = {t.id: _base(problem, t, routes.get(t.id, ())) for t in teams}
    found: list[Slot | NoSlot] = []
    for window in windows:
        trial = _with_window(problem, index, window)
        best: Slot | None = None
        for team in teams:
            base = bases[team.id]
            if base is None:
                continue
            slot = _best_place(trial, team, base, visit_id, (window,))
            if slot is not None and (best is None or _cost(slot) < _cost(best)):
                best = slot
        if best is None:
            why = (
                f"every suitable team's day is full then ({len(teams)} tried): no route can "
                "take the visit starting in this window without breaking another stop"
            )
            found.append(NoSlot(window, "full", why))
        else:
            found.append(best)
    return found


@dataclass(frozen=True)
class _Base:
    order: tuple[str, ...]
    route: Route
    travel: int
    distance: int


def _base(problem: Problem, team: Team, order: Sequence[str]) -> _Base | None:
    """The team's route as it stands, or None when it cannot be kept even without the new
    visit (it then cannot take one either)."""
    laid = retime(problem, team, list(order))
    if isinstance(laid, str):
        return None
    return _Base(tuple(order), laid, *_totals(laid))


def _totals(route: Route) -> tuple[int, int]:
    travel = sum(s.travel_time for s in route.stops) + route.end_travel_time
    distance = sum(s.travel_distance for s in route.stops) + route.end_travel_distance
    return travel, distance


def _with_window(problem: Problem, index: int, window: TimeWindow) -> Problem:
    visits = list(problem.visits)
    visits[index] = dataclasses.replace(
        visits[index], windows=(window,), kind=VisitKind.APPOINTMENT
    )
    return dataclasses.replace(problem, visits=tuple(visits))


def insert_greedily(
    problem: Problem, routes: Mapping[str, Sequence[str]], visit_ids: Sequence[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """`routes` with each of `visit_ids` added, in turn, where it adds the least travel while
    its own windows and every other stop are kept; and the visits that fit nowhere.

    For the appointments of a day that no stored plan holds yet (booked since it was
    planned, or a day not planned at all): the routes a new appointment must then fit into.
    """
    grown = {team_id: list(order) for team_id, order in routes.items()}
    index = {v.id: i for i, v in enumerate(problem.visits)}
    left_out: list[str] = []
    for visit_id in visit_ids:
        visit = problem.visits[index[visit_id]]
        windows = problem.effective_windows(visit)
        best: Slot | None = None
        for team in problem.teams():
            if not problem.team_may_serve(team, visit):
                continue
            base = _base(problem, team, grown.get(team.id, ()))
            if base is None:
                continue
            slot = _best_place(problem, team, base, visit_id, windows)
            if slot is not None and (best is None or _cost(slot) < _cost(best)):
                best = slot
        if best is None or not windows:
            left_out.append(visit_id)
            continue
        order = grown.setdefault(best.team_id, [])
        order.insert(best.position - 1, visit_id)
    return grown, left_out


def _best_place(
    problem: Problem,
    team: Team,
    base: _Base,
    visit_id: str,
    windows: Sequence[TimeWindow],
) -> Slot | None:
    """The cheapest position in `team`'s route for the visit starting inside `windows`
    (the visit's windows in `problem` are those; the slot names the one it starts in)."""
    if not windows:
        return None
    if team.max_visits is not None and len(base.order) + 1 > team.max_visits:
        return None
    index = {v.id: i for i, v in enumerate(problem.visits)}
    new = problem.visits[index[visit_id]]
    if team.max_workload is not None:
        load = sum(problem.visits[index[v]].workload for v in base.order) + new.workload
        if load > team.max_workload:
            return None
    stops = base.route.stops
    first, last = windows[0].start, windows[-1].end
    best: Slot | None = None
    for position in range(len(base.order) + 1):
        # The visit cannot start before the stop ahead ends, nor after the one behind must
        # have started: skip positions the windows cannot fall between.
        if position > 0 and stops[position - 1].end > last:
            continue
        if position < len(stops):
            behind = problem.visits[index[stops[position].visit_id]]
            latest = max((w.end for w in problem.effective_windows(behind)), default=0)
            if first + new.duration > latest and behind.windows:
                continue
        order = [*base.order[:position], visit_id, *base.order[position:]]
        laid = retime(problem, team, order)
        if isinstance(laid, str):
            continue
        travel, distance = _totals(laid)
        start = laid.stops[position].start
        slot = Slot(
            window=next((w for w in windows if w.contains(start)), windows[0]),
            team_id=team.id,
            position=position + 1,
            start=start,
            extra_travel_s=travel - base.travel,
            extra_distance_m=distance - base.distance,
        )
        if best is None or _cost(slot) < _cost(best):
            best = slot
    return best


def _cost(slot: Slot) -> tuple[int, int, int]:
    return (slot.extra_travel_s, slot.extra_distance_m, slot.start)


def _nobody(skills: frozenset[str], crew_size: int) -> str:
    needs = []
    if skills:
        needs.append(f"skill {', '.join(sorted(skills))}")
    if crew_size > 1:
        needs.append(f"a crew of {crew_size}")
    wanted = " and ".join(needs) or "this visit's restrictions"
    return f"no agent with {wanted} is on shift"
