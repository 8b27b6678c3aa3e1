"""Hypothesis strategies for small random `Problem`s, and a greedy builder of valid plans.

Problems are small (1-12 visits, 1-4 agents) and tight: shifts of one to ten hours, windows
near them, breaks of up to an hour. Matrices are either *metric* (from the points' positions
and a speed per mode) or *adversarial* (asymmetric, zeros, triangle inequality broken, huge
values and `UNREACHABLE` entries), the latter from a drawn numpy seed so examples reproduce.

`greedy_plan` builds a plan that keeps every rule by construction, without the solver: it lets
the validator be tested on many shapes of plan (breaks on the way, on site, after arrival;
idle teams; crews) even where the solver is absent or slow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
from hypothesis import strategies as st

from optimizer.model import (
    DAY_SECONDS,
    UNREACHABLE,
    Agent,
    BorrowerRule,
    Break,
    Crew,
    Location,
    Problem,
    Team,
    TimeWindow,
    TravelMatrix,
    TravelMode,
    Visit,
    VisitKind,
)
from optimizer.plan import BreakTaken, Plan, ReasonCode, Route, Stop, Unassigned

SKILLS = ("fi", "sv", "senior")
DAY = date(2026, 11, 24)
HOUR = 3600
SPEED_M_PER_S = {TravelMode.DRIVE: 8.0, TravelMode.BIKE: 4.0, TravelMode.WALK: 1.3}


def locations() -> st.SearchStrategy[Location]:
    """Points within about five kilometres of one city centre."""
    return st.builds(
        Location,
        lat=st.floats(60.15, 60.20, allow_nan=False),
        lon=st.floats(24.90, 25.00, allow_nan=False),
    )


@st.composite
def windows(draw: st.DrawFn, *, earliest: int, latest: int) -> TimeWindow:
    """A window starting between `earliest` and `latest`, up to three hours long."""
    start = draw(st.integers(earliest, latest))
    length = draw(st.sampled_from([0, 60, 600, 1800, HOUR, 2 * HOUR, 3 * HOUR]))
    return TimeWindow(start, min(start + length, 2 * DAY_SECONDS))


@st.composite
def agents(draw: st.DrawFn, agent_id: str, modes: list[TravelMode]) -> Agent:
    """One agent with a short shift, 0-2 breaks inside it and optional caps."""
    start = draw(locations())
    end = draw(st.one_of(st.just(start), locations()))
    shift_start = draw(st.integers(6 * HOUR, 10 * HOUR))
    shift = TimeWindow(shift_start, shift_start + draw(st.integers(HOUR, 10 * HOUR)))
    breaks = []
    for _ in range(draw(st.integers(0, 2))):
        duration = draw(st.sampled_from([300, 900, 1800, HOUR]))
        latest = shift.end - duration  # a break must be able to end inside the shift
        if latest < shift.start:
            continue
        w = draw(windows(earliest=shift.start, latest=latest))
        breaks.append(Break(TimeWindow(w.start, min(w.end, latest)), duration))
    return Agent(
        id=agent_id,
        start=start,
        end=end,
        shift=shift,
        mode=draw(st.sampled_from(modes)),
        skills=frozenset(draw(st.sets(st.sampled_from(SKILLS)))),
        breaks=tuple(breaks),
        max_visits=draw(st.sampled_from([None, None, None, 0, 1, 2, 4, 6])),
        max_working_time=draw(st.one_of(st.none(), st.integers(1800, 12 * HOUR))),
    )


@st.composite
def visits(draw: st.DrawFn, visit_id: str, agent_ids: list[str]) -> Visit:
    """One visit with 0-2 windows (gapped, as `Visit` requires), skills, crew size, agents."""
    wins: list[TimeWindow] = []
    n = draw(st.sampled_from([0, 1, 1, 2]))
    earliest = 6 * HOUR
    for _ in range(n):
        w = draw(windows(earliest=earliest, latest=earliest + 6 * HOUR))
        wins.append(w)
        earliest = w.end + draw(st.integers(1, 2 * HOUR))
    kind = (
        draw(st.sampled_from([VisitKind.APPOINTMENT, VisitKind.FLEXIBLE]))
        if wins
        else VisitKind.FLEXIBLE
    )
    rare = st.integers(0, 7)
    return Visit(
        id=visit_id,
        borrower_id=f"b{draw(st.integers(0, 7))}",
        location=draw(locations()),
        duration=draw(st.sampled_from([60, 300, 1200, 1800, HOUR])),
        windows=tuple(wins),
        kind=kind,
        priority=draw(st.integers(1, 100)),
        required_skills=(
            frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=1)))
            if draw(rare) == 0
            else frozenset()
        ),
        crew_size=2 if draw(rare) == 0 else 1,
        allowed_agents=(
            frozenset(draw(st.sets(st.sampled_from(agent_ids), min_size=1)))
            if draw(rare) == 0
            else frozenset()
        ),
        preferred_agents=(
            frozenset(draw(st.sets(st.sampled_from(agent_ids), min_size=1)))
            if draw(rare) == 0
            else frozenset()
        ),
    )


def metric_matrix(points: list[Location], mode: TravelMode) -> TravelMatrix:
    """Straight-line distances (equirectangular, m) and times at the mode's speed."""
    lat = np.radians([p.lat for p in points])
    lon = np.radians([p.lon for p in points])
    x = (lon[None, :] - lon[:, None]) * np.cos((lat[None, :] + lat[:, None]) / 2)
    y = lat[None, :] - lat[:, None]
    metres = np.rint(6_371_000 * np.hypot(x, y)).astype(np.int64)
    seconds = np.rint(metres / SPEED_M_PER_S[mode]).astype(np.int64)
    return TravelMatrix(seconds, metres)


@st.composite
def adversarial_matrices(draw: st.DrawFn, num_points: int) -> TravelMatrix:
    """Asymmetric random entries with zeros, huge values and `UNREACHABLE` sprinkled in."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    p_zero = draw(st.sampled_from([0.0, 0.1, 0.5]))
    p_huge = draw(st.sampled_from([0.0, 0.05]))
    p_unreachable = draw(st.sampled_from([0.0, 0.1, 0.3]))
    shape = (num_points, num_points)
    seconds = rng.integers(1, 3 * HOUR, size=shape)
    seconds[rng.random(shape) < p_zero] = 0
    seconds[rng.random(shape) < p_huge] = rng.integers(DAY_SECONDS, 10**6)
    cut = rng.random(shape) < p_unreachable
    seconds[cut] = UNREACHABLE
    metres = seconds * rng.integers(1, 20)
    metres[cut] = UNREACHABLE
    return TravelMatrix(seconds, metres)


@st.composite
def problems(
    draw: st.DrawFn,
    *,
    max_visits: int = 12,
    max_agents: int = 4,
    adversarial: bool = True,
) -> Problem:
    """A small random region-day; `adversarial=False` keeps every matrix metric."""
    modes = draw(st.lists(st.sampled_from(list(TravelMode)), min_size=1, max_size=3, unique=True))
    num_agents = draw(st.integers(1, max_agents))
    agent_list = [draw(agents(f"a{k}", modes)) for k in range(num_agents)]
    agent_ids = [a.id for a in agent_list]
    crews: list[Crew] = []
    if num_agents >= 2 and draw(st.booleans()):
        order = draw(st.permutations(agent_ids))
        by_id = {a.id: a for a in agent_list}
        for k in range(draw(st.integers(1, num_agents // 2))):
            pair = (order[2 * k], order[2 * k + 1])
            if by_id[pair[0]].shift.intersect(by_id[pair[1]].shift) is not None:
                crews.append(Crew(f"c{k}", pair))
    visit_list = [draw(visits(f"v{i}", agent_ids)) for i in range(draw(st.integers(1, max_visits)))]
    rules = []
    for borrower in sorted({v.borrower_id for v in visit_list}):
        if draw(st.booleans()):
            hours = draw(
                st.one_of(
                    st.none(),
                    st.builds(
                        lambda s: TimeWindow(s, s + 12 * HOUR), st.integers(6 * HOUR, 10 * HOUR)
                    ),
                    windows(earliest=6 * HOUR, latest=14 * HOUR),
                )
            )
            cap = draw(st.sampled_from([0, 1, 1, 2, 3]))
            rules.append(BorrowerRule(borrower, cap, hours, "policy"))
    points = [v.location for v in visit_list]
    for a in agent_list:
        points += [a.start, a.end]
    matrices: dict[TravelMode, TravelMatrix] = {}
    for mode in modes:
        if adversarial and draw(st.booleans()):
            matrices[mode] = draw(adversarial_matrices(len(points)))
        else:
            matrices[mode] = metric_matrix(points, mode)
    return Problem(
        visits=tuple(visit_list),
        agents=tuple(agent_list),
        matrices=matrices,
        crews=tuple(crews),
        borrowers=tuple(rules),
        day=DAY,
        timezone="Europe/Helsinki",
    )


# -- A greedy, solver-free builder of valid plans --------------------------------------------


@dataclass(frozen=True)
class _Leg:
    """A leg as the builder lays it out: breaks taken, arrival, on-site break time."""

    breaks: tuple[tuple[int, BreakTaken], ...]
    arrival: int
    on_site: int
    free_at: int  # when the last break of the leg ends (or t0)


def _arrive(t: int, breaks: list[BreakTaken]) -> int:
    for brk in sorted(breaks, key=lambda b: b.start):
        if brk.start >= t:
            break
        t += brk.end - brk.start
    return t


def _lay_leg(team: Team, t0: int, travel: int, take: list[int]) -> _Leg | None:
    """Take breaks `take` back to back from `t0`, each as early as its window allows."""
    free_at = t0
    taken: list[tuple[int, BreakTaken]] = []
    for b in take:
        brk = team.breaks[b]
        start = max(free_at, brk.window.start)
        if start > min(brk.window.end, team.shift.end - brk.duration):
            return None  # a break starts in its window and ends inside the shift
        taken.append((b, BreakTaken(start, start + brk.duration)))
        free_at = start + brk.duration
    arrival = _arrive(t0 + travel, [bt for _, bt in taken])
    on_site = sum(bt.end - bt.start for _, bt in taken if bt.start >= arrival)
    return _Leg(tuple(taken), arrival, on_site, free_at)


def _earliest_start(windows: tuple[TimeWindow, ...], t: int) -> int | None:
    for w in windows:
        if t <= w.end:
            return max(t, w.start)
    return None


def _simulate(problem: Problem, team: Team, order: list[int]) -> Route | None:
    """The route serving visits `order` in turn, or None if it breaks a rule."""
    if not order:
        t = team.shift.start
        return Route(team.id, team.agent_ids, team.mode.value, t, t, (), (), 0, 0)
    matrix = problem.matrices[team.mode]
    # In the order their windows open, the earlier closing first: the solver's and retime's rule.
    pending = sorted(
        range(len(team.breaks)),
        key=lambda b: (team.breaks[b].window.start, team.breaks[b].window.end),
    )
    taken: dict[int, BreakTaken] = {}
    stops: list[Stop] = []
    t = departure = team.shift.start
    point = team.start_point
    for i in order:
        visit = problem.visits[i]
        dest = problem.visit_point(i)
        travel, dist = int(matrix.durations[point, dest]), int(matrix.distances[point, dest])
        if travel >= UNREACHABLE or dist >= UNREACHABLE:
            return None
        windows = problem.effective_windows(visit)
        target = _earliest_start(windows, t + travel)
        if target is None:
            return None
        take = [b for b in pending if team.breaks[b].window.start <= target]
        leg = _lay_leg(team, t, travel, take)
        if leg is None:
            return None
        start = _earliest_start(windows, max(leg.arrival + leg.on_site, leg.free_at))
        if start is None:
            return None
        taken.update(leg.breaks)
        pending = [b for b in pending if b not in take]
        stops.append(
            Stop(
                visit_id=visit.id,
                borrower_id=visit.borrower_id,
                lat=visit.location.lat,
                lon=visit.location.lon,
                arrival=leg.arrival,
                start=start,
                end=start + visit.duration,
                waiting=start - leg.arrival - leg.on_site,
                travel_time=travel,
                travel_distance=dist,
            )
        )
        t, point = start + visit.duration, dest
    travel, dist = (
        int(matrix.durations[point, team.end_point]),
        int(matrix.distances[point, team.end_point]),
    )
    if travel >= UNREACHABLE or dist >= UNREACHABLE:
        return None
    leg = _lay_leg(team, t, travel, pending)
    if leg is None or leg.arrival > team.shift.end:
        return None
    if team.max_working_time is not None and leg.arrival - departure > team.max_working_time:
        return None
    taken.update(leg.breaks)
    return Route(
        team_id=team.id,
        agent_ids=team.agent_ids,
        mode=team.mode.value,
        departure=departure,
        arrival=leg.arrival,
        stops=tuple(stops),
        breaks=tuple(taken[b] for b in range(len(team.breaks))),
        end_travel_time=travel,
        end_travel_distance=dist,
    )


def greedy_plan(problem: Problem) -> Plan:
    """A plan that keeps every rule: each team in turn appends every visit it still can.

    Teams that get no visit stay idle (no stops, `arrival == departure`); every visit left
    over is unassigned as crowded out.
    """
    left = {rule.borrower_id: rule.max_visits for rule in problem.borrowers}
    done: set[int] = set()
    routes: list[Route] = []
    for team in problem.teams():
        order: list[int] = []
        for i, visit in enumerate(problem.visits):
            if i in done or not problem.team_may_serve(team, visit):
                continue
            if left.get(visit.borrower_id, math.inf) <= 0:
                continue
            if team.max_visits is not None and len(order) >= team.max_visits:
                break
            if _simulate(problem, team, [*order, i]) is not None:
                order.append(i)
                done.add(i)
                if visit.borrower_id in left:
                    left[visit.borrower_id] -= 1
        route = _simulate(problem, team, order)
        assert route is not None  # every prefix accepted above was feasible
        routes.append(route)
    unassigned = tuple(
        Unassigned(v.id, ReasonCode.CROWDED_OUT, "not placed by the greedy test builder")
        for i, v in enumerate(problem.visits)
        if i not in done
    )
    return Plan(problem.day, problem.timezone, tuple(routes), unassigned)
