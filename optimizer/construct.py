"""A fast first plan: regret insertion on plain arrays, without OR-Tools.

OR-Tools' own first-solution heuristics take minutes on a 1,000-visit day with breaks (and can
overrun the time limit before the search starts), so large days start from this plan instead,
and a warm start (`initial_routes`) is repaired and completed by it. It is conservative: every
route it returns is feasible for the solver's model (windows, shift, breaks, caps, working
time), so OR-Tools accepts it as it is and spends the whole limit improving it.

Words: a *node* is the solver's numbering (the candidate visits in index order, then each
team's start and end); a *route* is a team's visit nodes in order; a *gap* is the leg between
two consecutive points of a route, where breaks may fall (during travel or waiting, never
during a visit).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from optimizer.costs import preference_penalty
from optimizer.model import DAY_SECONDS, Problem, TravelMode, VisitKind
from optimizer.precheck import Screening

HORIZON = 2 * DAY_SECONDS
FORBIDDEN = HORIZON + 1
"""Travel no schedule can absorb (an arc without a road connection), as in the solver."""
_INF = np.iinfo(np.int64).max // 4
_NO_WINDOW = (HORIZON + 1, -1)

Routes = tuple[tuple[int, ...], ...]
"""Visit nodes in order, one tuple per team (in `Screening.teams` order)."""


@dataclass(frozen=True)
class TeamSpec:
    """A team as the construction sees it: node numbers and plain limits (seconds)."""

    start: int
    end: int
    mode: TravelMode
    shift_start: int
    shift_end: int
    breaks: tuple[tuple[int, int, int], ...]
    """(earliest start, latest start, duration), in the order they are taken."""
    max_visits: int
    max_span: int | None
    capacity: int | None


@dataclass(frozen=True, eq=False)
class Instance:
    """The numbers of one problem, in the solver's node order.

    `windows[v]` holds visit node v's start windows padded with empty ones (start > end);
    `penalty[v, t]` is the cost of team t serving v on top of travel (a non-preferred agent);
    `rank[v]` orders insertion (lower first: appointments, then higher priority); `group[v]`
    is the borrower, capped at `group_cap[group[v]]` visits.
    """

    travel: Mapping[TravelMode, np.ndarray]
    cost: Mapping[TravelMode, np.ndarray]
    """Travel clipped at `FORBIDDEN`: the arc costs."""
    service: np.ndarray
    windows: np.ndarray
    workload: np.ndarray
    rank: np.ndarray
    allowed: np.ndarray
    penalty: np.ndarray
    group: np.ndarray
    group_cap: np.ndarray
    teams: tuple[TeamSpec, ...]

    @property
    def num_visits(self) -> int:
        return len(self.service)

    @property
    def most_served(self) -> int:
        """The most visits any plan can serve under the borrowers' caps."""
        per_group = np.bincount(self.group, minlength=len(self.group_cap))
        return int(np.minimum(per_group, self.group_cap).sum())


def instance_from(
    problem: Problem,
    screening: Screening,
    *,
    travel: Mapping[TravelMode, np.ndarray] | None = None,
) -> Instance:
    """The construction's numbers for a screened problem.

    `travel` may pass the node-to-node travel times per mode if the caller has them already.
    """
    visit_of_node = sorted(screening.candidates)
    teams = screening.teams
    nv, nt = len(visit_of_node), len(teams)
    points = [problem.visit_point(i) for i in visit_of_node]
    for team in teams:
        points += [team.start_point, team.end_point]
    if travel is None:
        idx = np.asarray(points, dtype=np.int64)
        travel = {
            mode: problem.matrices[mode].durations[np.ix_(idx, idx)]
            for mode in {team.mode for team in teams}
        }
    visits = [problem.visits[i] for i in visit_of_node]
    windows_of = [problem.effective_windows(v) for v in visits]
    width = max((len(w) for w in windows_of), default=1)
    windows = np.full((nv, width, 2), _NO_WINDOW, dtype=np.int64)
    for v, wins in enumerate(windows_of):
        for k, w in enumerate(wins):
            windows[v, k] = (w.start, min(w.end, HORIZON))
    allowed = np.zeros((nv, nt), dtype=bool)
    for v, i in enumerate(visit_of_node):
        allowed[v, list(screening.candidates[i])] = True
    penalty = np.zeros((nv, nt), dtype=np.int64)
    for v, visit in enumerate(visits):
        if visit.preferred_agents:
            for t, team in enumerate(teams):
                penalty[v, t] = preference_penalty(visit, team)
    borrowers: dict[str, int] = {}
    group = np.array([borrowers.setdefault(v.borrower_id, len(borrowers)) for v in visits])
    group_cap = np.zeros(len(borrowers), dtype=np.int64)
    for borrower_id, g in borrowers.items():
        rule = problem.borrower_rule(borrower_id)
        group_cap[g] = rule.max_visits if rule is not None else nv
    rank = np.array(
        [0 if v.kind is VisitKind.APPOINTMENT else 101 - v.priority for v in visits],
        dtype=np.int64,
    )
    specs = tuple(
        TeamSpec(
            start=nv + 2 * t,
            end=nv + 2 * t + 1,
            mode=team.mode,
            shift_start=team.shift.start,
            shift_end=team.shift.end,
            breaks=tuple(
                (b.window.start, min(b.window.end, team.shift.end - b.duration), b.duration)
                for b in sorted(team.breaks, key=lambda b: (b.window.start, b.window.end))
            ),
            max_visits=nv if team.max_visits is None else team.max_visits,
            max_span=team.max_working_time,
            capacity=team.max_workload,
        )
        for t, team in enumerate(teams)
    )
    return Instance(
        travel=travel,
        cost={mode: np.minimum(m, FORBIDDEN) for mode, m in travel.items()},
        service=np.array([v.duration for v in visits], dtype=np.int64).reshape(nv),
        windows=windows,
        workload=np.array([v.workload for v in visits], dtype=np.int64).reshape(nv),
        rank=rank.reshape(nv),
        allowed=allowed,
        penalty=penalty,
        group=group.reshape(nv).astype(np.int64),
        group_cap=group_cap,
        teams=specs,
    )


# --- one route's timeline -------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """A feasible route's earliest schedule, per gap k (k = 0 leaves the start).

    `fin[k]` is when the point before gap k is left (the departure, or a visit's end);
    `breaks[k]` the break time taken in the gap; `latest[k]` the latest start of the point
    after it (the end's latest arrival for the last gap) that keeps the rest of the route
    feasible with the breaks where they are.
    """

    fin: np.ndarray
    breaks: np.ndarray
    latest: np.ndarray


def _fit(windows: np.ndarray, arrival: int) -> int | None:
    """The earliest start at or after `arrival` inside one of the windows."""
    best = None
    for ws, we in windows:
        start = max(arrival, int(ws))
        if start <= we and (best is None or start < best):
            best = start
    return best


def _window_end(windows: np.ndarray, start: int) -> int:
    for ws, we in windows:
        if ws <= start <= we:
            return int(we)
    return start


def simulate(inst: Instance, t: int, route: Sequence[int]) -> Timing | None:
    """The route's earliest schedule for team t, or None if the solver's model would reject
    it. Breaks are placed greedily: in a gap where they cost nothing, or where they could
    not be taken any later; each starts at the gap's start or its window's start."""
    team = inst.teams[t]
    if len(route) > team.max_visits:
        return None
    if team.capacity is not None and int(inst.workload[list(route)].sum()) > team.capacity:
        return None
    timing = _forward(inst, t, route, team.shift_start)
    if timing is None:
        return None
    if team.max_span is not None and not _short_enough(inst, t, route, timing, team.max_span):
        return None
    fin, gap_breaks, _ = timing
    return Timing(fin=fin, breaks=gap_breaks, latest=_latest(inst, t, route, fin, gap_breaks))


def _short_enough(
    inst: Instance,
    t: int,
    route: Sequence[int],
    earliest: tuple[np.ndarray, np.ndarray, int],
    max_span: int,
) -> bool:
    """Whether the route can be worked within `max_span`, from the `earliest` schedule (leaving
    at the shift's start): leaving instead as late as the first stop allows, the span the
    solver can reach at least. That later departure keeps the schedule after the first stop
    unless a break falls on the first leg, which leaving later can push before the departure:
    then the later schedule is simulated, and counts only where it holds."""
    fin, gap_breaks, arrival_end = earliest
    if arrival_end - int(fin[0]) <= max_span:
        return True
    departure = _latest_departure(inst, t, route, fin)
    if arrival_end - departure <= max_span and not gap_breaks[0]:
        return True
    later = _forward(inst, t, route, departure)
    return later is not None and later[2] - departure <= max_span


def _latest_departure(inst: Instance, t: int, route: Sequence[int], fin: np.ndarray) -> int:
    team = inst.teams[t]
    if not route:
        return team.shift_start
    first = route[0]
    start_first = int(fin[1] - inst.service[first])
    return max(team.shift_start, start_first - int(inst.travel[team.mode][team.start, first]))


def _forward(
    inst: Instance, t: int, route: Sequence[int], departure: int
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The earliest schedule leaving at `departure`: when each gap starts, the break time in
    each gap, and the arrival at the end; None if infeasible. Breaks that can end by the
    departure are taken before it, off the route, as the solver's model allows."""
    team = inst.teams[t]
    travel = inst.travel[team.mode]
    pending = list(team.breaks)
    free = None  # when the last break taken before the departure ends
    while pending:
        es, ls, d = pending[0]
        begin = es if free is None else max(free, es)
        if begin > ls or begin + d > departure:
            break
        pending.pop(0)
        free = begin + d
    fin = np.empty(len(route) + 1, dtype=np.int64)
    gap_breaks = np.zeros(len(route) + 1, dtype=np.int64)
    now, here = departure, team.start
    for k, nxt in enumerate([*route, team.end]):
        fin[k] = now
        leg = int(travel[here, nxt])
        if leg >= FORBIDDEN:
            return None
        is_end = k == len(route)
        arrival, ready = now + leg, now  # ready: when the next break could start
        while pending:
            es, ls, d = pending[0]
            if max(ready, es) > ls:
                return None  # its window has passed
            if is_end:
                if _fit_breaks(pending, arrival):
                    break  # all taken after arriving at the end, outside the route
            else:
                windows = inst.windows[nxt]
                plain = _fit(windows, arrival)
                if plain is None:
                    return None
                with_break = _fit(windows, max(arrival, es) + d)
                forced = not _fit_breaks(pending, plain + int(inst.service[nxt]))
                if not forced and with_break != plain:
                    break  # it would delay the visit, and can still wait
            pending.pop(0)
            ready = max(ready, es) + d
            arrival = max(arrival, es) + d
        gap_breaks[k] = arrival - now - leg
        if is_end:
            if arrival > team.shift_end:
                return None
            return fin, gap_breaks, arrival
        start = _fit(inst.windows[nxt], arrival)
        if start is None:
            return None
        now, here = start + int(inst.service[nxt]), nxt
    raise AssertionError("unreachable")


def _fit_breaks(breaks: Sequence[tuple[int, int, int]], ready: int) -> bool:
    """Whether the breaks can all still be taken, in order, from `ready` on."""
    for es, ls, d in breaks:
        start = max(ready, es)
        if start > ls:
            return False
        ready = start + d
    return True


def _latest(
    inst: Instance, t: int, route: Sequence[int], fin: np.ndarray, gap_breaks: np.ndarray
) -> np.ndarray:
    team = inst.teams[t]
    travel = inst.travel[team.mode]
    m = len(route)
    latest = np.empty(m + 1, dtype=np.int64)
    latest[m] = team.shift_end
    nxt = team.end
    for k in range(m - 1, -1, -1):
        v = route[k]
        start = int(fin[k + 1] - inst.service[v])
        bound = int(latest[k + 1]) - int(travel[v, nxt]) - int(gap_breaks[k + 1])
        bound -= int(inst.service[v])
        latest[k] = min(_window_end(inst.windows[v], start), bound)
        nxt = v
    return latest


# --- regret insertion ---------------------------------------------------------------------
class _Table:
    """Best insertion cost and position of every visit into every route, kept up to date."""

    def __init__(self, inst: Instance, routes: list[list[int]]) -> None:
        self.inst = inst
        self.routes = routes
        nv, nt = inst.num_visits, len(inst.teams)
        self.cost = np.full((nv, nt), _INF, dtype=np.int64)
        self.position = np.zeros((nv, nt), dtype=np.int64)
        self.timings: list[Timing | None] = [None] * nt
        self.load = np.zeros(nt, dtype=np.int64)
        self.count = np.zeros(nt, dtype=np.int64)
        # Teams alike in everything the construction sees: only one empty one is offered.
        self.key = [_team_key(inst, t) for t in range(nt)]
        self.open = np.ones(nv, dtype=bool)

    def refresh(self, t: int) -> None:
        inst, route = self.inst, self.routes[t]
        timing = simulate(inst, t, route)
        self.timings[t] = timing
        self.load[t] = int(inst.workload[route].sum()) if route else 0
        self.count[t] = len(route)
        column = np.full(inst.num_visits, _INF, dtype=np.int64)
        positions = np.zeros(inst.num_visits, dtype=np.int64)
        team = inst.teams[t]
        candidates = np.flatnonzero(self.open & inst.allowed[:, t])
        if timing is None or len(route) >= team.max_visits or len(candidates) == 0:
            self.cost[:, t], self.position[:, t] = column, positions
            return
        if team.capacity is not None:
            candidates = candidates[inst.workload[candidates] + self.load[t] <= team.capacity]
        cost_t, pos_t = _insertion_costs(inst, t, route, timing, candidates)
        column[candidates] = cost_t
        positions[candidates] = pos_t
        self.cost[:, t], self.position[:, t] = column, positions


def _team_key(inst: Instance, t: int) -> tuple[object, ...]:
    s = inst.teams[t]
    travel = inst.travel[s.mode]
    return (
        s.mode,
        s.shift_start,
        s.shift_end,
        s.breaks,
        s.max_visits,
        s.max_span,
        s.capacity,
        travel[:, s.start].tobytes(),
        travel[s.start].tobytes(),
        travel[:, s.end].tobytes(),
        travel[s.end].tobytes(),
        inst.allowed[:, t].tobytes(),
        inst.penalty[:, t].tobytes(),
    )


def _insertion_costs(
    inst: Instance, t: int, route: Sequence[int], timing: Timing, visits: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest screened insertion of each visit into route t, and its gap (vectorised).

    The screen puts the gap's breaks before the inserted visit (conservative); `simulate`
    has the last word.
    """
    team = inst.teams[t]
    travel = inst.travel[team.mode]
    cost = inst.cost[team.mode]
    before = np.array([team.start, *route], dtype=np.int64)
    after = np.array([*route, team.end], dtype=np.int64)
    # (visits, gaps)
    arrival = timing.fin[None, :] + timing.breaks[None, :] + travel[np.ix_(before, visits)].T
    windows = inst.windows[visits]  # (visits, W, 2)
    start = np.maximum(arrival[:, :, None], windows[:, None, :, 0])
    ok_window = start <= windows[:, None, :, 1]
    start = np.where(ok_window, start, _INF).min(axis=2)
    leave = start + inst.service[visits][:, None] + travel[np.ix_(visits, after)]
    feasible = (start < _INF) & (leave <= timing.latest[None, :])
    delta = (
        cost[np.ix_(before, visits)].T
        + cost[np.ix_(visits, after)]
        - cost[before, after][None, :]
        + inst.penalty[visits, t][:, None]
    )
    delta = np.where(feasible, delta, _INF)
    best = delta.argmin(axis=1)
    return delta[np.arange(len(visits)), best], best


def insert(
    inst: Instance,
    routes: Sequence[Sequence[int]] | None = None,
    *,
    deadline: float | None = None,
    by_regret: bool = True,
) -> Routes:
    """Insert every visit that fits into `routes` (empty routes if None), by regret.

    Visits go in rank order (appointments first, then flexible visits by priority); within a
    rank, the visit whose best route beats its second best by most goes first, into its
    cheapest feasible place. Without `by_regret`, the visit cheapest to insert goes first
    instead: on a day with far more visits than the teams can make, regret puts first the
    visits only one route can still take, the costliest first, and fills the day with long
    drives (see `optimizer.solver._insert_the_rest`). Visits already routed stay where they
    are. Stops early, with what it has, at `deadline` (a `time.monotonic()` value).
    """
    nt = len(inst.teams)
    current = [list(r) for r in routes] if routes is not None else [[] for _ in range(nt)]
    table = _Table(inst, current)
    routed = np.zeros(inst.num_visits, dtype=bool)
    for r in current:
        routed[r] = True
    per_group = np.bincount(inst.group[routed], minlength=len(inst.group_cap))
    table.open = ~routed & (per_group[inst.group] < inst.group_cap[inst.group])
    empty_seen: set[tuple[object, ...]] = set()
    active = np.zeros(nt, dtype=bool)
    for t in range(nt):
        if current[t] or table.key[t] not in empty_seen:
            active[t] = True
            table.refresh(t)
            if not current[t]:
                empty_seen.add(table.key[t])
    while table.open.any():
        if deadline is not None and time.monotonic() > deadline:
            break
        open_visits = np.flatnonzero(table.open)
        rank = inst.rank[open_visits].min()
        rows = open_visits[inst.rank[open_visits] == rank]
        cols = np.flatnonzero(active)
        costs = table.cost[np.ix_(rows, cols)]
        if costs.shape[1] >= 2:
            two = np.partition(costs, 1, axis=1)[:, :2]
        else:
            two = np.concatenate([costs, np.full_like(costs, _INF)], axis=1)
        best, second = two[:, 0], two[:, 1]
        placeable = best < _INF
        if not placeable.all():
            # Routes only fill up: a visit that fits nowhere now never will (the solver's
            # search may still find it room).
            table.open[rows[~placeable]] = False
            continue
        if by_regret:
            regret = np.where(second >= _INF, _INF, second - best)
            # Highest regret; among equals (e.g. only one route fits) the costliest to serve.
            v = int(rows[np.lexsort((-best, -regret))[0]])
        else:
            v = int(rows[np.argmin(best)])
        t = int(cols[np.argmin(table.cost[v, cols])])
        k = int(table.position[v, t])
        candidate = current[t][:k] + [v] + current[t][k:]
        if simulate(inst, t, candidate) is None:
            table.cost[v, t] = _INF  # the screen was too kind; try elsewhere
            continue
        was_empty = not current[t]
        current[t] = candidate
        routed[v] = True
        table.open[v] = False
        g = inst.group[v]
        per_group[g] += 1
        if per_group[g] >= inst.group_cap[g]:
            table.open[inst.group == g] = False
        table.refresh(t)
        if was_empty:
            _offer_next_empty(table, active, current, t)
    return tuple(tuple(r) for r in current)


def _offer_next_empty(table: _Table, active: np.ndarray, current: list[list[int]], t: int) -> None:
    """A team of a kind went out: offer the next idle team of the same kind, if any."""
    for u in range(len(current)):
        if not active[u] and not current[u] and table.key[u] == table.key[t]:
            active[u] = True
            table.refresh(u)
            return


def sanitize(inst: Instance, routes: Sequence[Sequence[int]]) -> Routes:
    """The routes without what no schedule could fix: a visit listed again, one the team may
    not do, one over its borrower's cap."""
    return _keep(inst, routes, timed=False)


def repair(inst: Instance, routes: Sequence[Sequence[int]]) -> Routes:
    """Keep of each route the visits that fit in order: a visit is dropped when the route up
    to it, with it, is infeasible; each visit and borrower cap is used at most once."""
    return _keep(inst, routes, timed=True)


def _keep(inst: Instance, routes: Sequence[Sequence[int]], *, timed: bool) -> Routes:
    seen = np.zeros(inst.num_visits, dtype=bool)
    per_group = np.zeros(len(inst.group_cap), dtype=np.int64)
    kept_routes = []
    for t, route in enumerate(routes):
        kept: list[int] = []
        for v in route:
            g = inst.group[v]
            if seen[v] or not inst.allowed[v, t] or per_group[g] >= inst.group_cap[g]:
                continue
            if not timed or simulate(inst, t, [*kept, v]) is not None:
                kept.append(v)
                seen[v] = True
                per_group[g] += 1
        kept_routes.append(tuple(kept))
    return tuple(kept_routes)
