"""Properties of `validate` on random problems: valid plans pass, every corruption is caught.

Valid plans come from two independent builders: `strategies.greedy_plan` (no solver) and
`optimizer.solver.solve`. Each corruption in `CORRUPTIONS` changes the plan (or the problem)
in one way and names the violation code that must then be reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from optimizer.model import UNREACHABLE, BorrowerRule, Problem, TimeWindow, TravelMatrix
from optimizer.plan import BreakTaken, Plan, ReasonCode, Route, Stop, Unassigned
from optimizer.validate import ViolationCode, validate
from tests.optimizer.strategies import greedy_plan, problems

C = ViolationCode
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOLVER_QUICK = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SOLVER_SLOW = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SOLVE_OPTIONS: dict[str, Any] = {"time_limit": 5, "max_solutions": 30}


def solve(problem: Problem) -> Plan:
    """The solver under test, imported late so this module loads while it is being written."""
    solver = pytest.importorskip("optimizer.solver")
    if not hasattr(solver, "solve"):
        pytest.skip("optimizer.solver has no solve() yet")
    plan: Plan = solver.solve(problem, **SOLVE_OPTIONS)
    return plan


def accounted_once(problem: Problem, plan: Plan) -> bool:
    """Every visit is routed or unassigned exactly once, and nothing else is listed."""
    listed = [s.visit_id for r in plan.routes for s in r.stops]
    listed += [u.visit_id for u in plan.unassigned]
    return sorted(listed) == sorted(v.id for v in problem.visits)


# -- Corruptions ------------------------------------------------------------------------------

Case = tuple[Problem, Plan]
Corrupt = Callable[[st.DataObject, Problem, Plan], Case | None]


def _replace_route(plan: Plan, k: int, route: Route) -> Plan:
    routes = list(plan.routes)
    routes[k] = route
    return dataclasses.replace(plan, routes=tuple(routes))


def _replace_stop(plan: Plan, k: int, s: int, **changes: Any) -> Plan:
    stops = list(plan.routes[k].stops)
    stops[s] = dataclasses.replace(stops[s], **changes)
    return _replace_route(plan, k, dataclasses.replace(plan.routes[k], stops=tuple(stops)))


def _replace_visit(problem: Problem, visit_id: str, **changes: Any) -> Problem:
    visits = tuple(
        dataclasses.replace(v, **changes) if v.id == visit_id else v for v in problem.visits
    )
    return dataclasses.replace(problem, visits=visits)


def _replace_agents(problem: Problem, agent_ids: tuple[str, ...], **changes: Any) -> Problem:
    agents = tuple(
        dataclasses.replace(a, **changes) if a.id in agent_ids else a for a in problem.agents
    )
    return dataclasses.replace(problem, agents=agents)


def _pick_stop(data: st.DataObject, plan: Plan) -> tuple[int, int] | None:
    """A (route, stop) index pair, or None if no route has stops."""
    pairs = [(k, s) for k, r in enumerate(plan.routes) for s in range(len(r.stops))]
    return data.draw(st.sampled_from(pairs)) if pairs else None


def _pick_route(data: st.DataObject, plan: Plan, *, busy: bool = False) -> int | None:
    """A route index; `busy` asks for one that goes out (stops, or departure < arrival)."""
    ks = [k for k, r in enumerate(plan.routes) if not busy or r.stops or r.arrival != r.departure]
    return data.draw(st.sampled_from(ks)) if ks else None


def _team(problem: Problem, team_id: str) -> Any:
    for team in problem.teams():
        if team.id == team_id:
            return team
    raise KeyError(team_id)  # a renamed team: a LookupError the stacking test expects


def _visit(problem: Problem, visit_id: str) -> Any:
    for visit in problem.visits:
        if visit.id == visit_id:
            return visit
    raise KeyError(visit_id)  # a ghost stop's visit: a LookupError the stacking test expects


def drop_stop(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    k, s = pick
    stops = plan.routes[k].stops[:s] + plan.routes[k].stops[s + 1 :]
    return problem, _replace_route(plan, k, dataclasses.replace(plan.routes[k], stops=stops))


def also_unassign(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    vid = plan.routes[pick[0]].stops[pick[1]].visit_id
    extra = Unassigned(vid, ReasonCode.CROWDED_OUT, "no room")
    return problem, dataclasses.replace(plan, unassigned=(*plan.unassigned, extra))


def repeat_stop(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    k, s = pick
    stops = list(plan.routes[k].stops)
    stops.insert(s, stops[s])
    route = dataclasses.replace(plan.routes[k], stops=tuple(stops))
    return problem, _replace_route(plan, k, route)


def repeat_unassigned(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if not plan.unassigned:
        return None
    entry = data.draw(st.sampled_from(plan.unassigned))
    return problem, dataclasses.replace(plan, unassigned=(*plan.unassigned, entry))


def ghost_stop(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    return problem, _replace_stop(plan, *pick, visit_id="ghost")


def ghost_unassigned(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    extra = Unassigned("ghost", ReasonCode.CROWDED_OUT, "no room")
    return problem, dataclasses.replace(plan, unassigned=(*plan.unassigned, extra))


def drop_unassigned(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if not plan.unassigned:
        return None
    i = data.draw(st.integers(0, len(plan.unassigned) - 1))
    return problem, dataclasses.replace(
        plan, unassigned=plan.unassigned[:i] + plan.unassigned[i + 1 :]
    )


def blank_reason(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if not plan.unassigned:
        return None
    i = data.draw(st.integers(0, len(plan.unassigned) - 1))
    entries = list(plan.unassigned)
    entries[i] = dataclasses.replace(entries[i], reason=data.draw(st.sampled_from(["", " \n"])))
    return problem, dataclasses.replace(plan, unassigned=tuple(entries))


def rename_team(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (k := _pick_route(data, plan)) is None:
        return None
    return problem, _replace_route(plan, k, dataclasses.replace(plan.routes[k], team_id="nobody"))


def wrong_agents(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (k := _pick_route(data, plan)) is None:
        return None
    route = plan.routes[k]
    agents = data.draw(
        st.sampled_from(
            [(*route.agent_ids, "intruder"), route.agent_ids[1:], route.agent_ids[::-1]]
        )
    )
    if agents == route.agent_ids:
        agents = ()
    return problem, _replace_route(plan, k, dataclasses.replace(route, agent_ids=agents))


def wrong_mode(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (k := _pick_route(data, plan)) is None:
        return None
    route = plan.routes[k]
    mode = data.draw(st.sampled_from([m for m in ("drive", "bike", "walk") if m != route.mode]))
    return problem, _replace_route(plan, k, dataclasses.replace(route, mode=mode))


def duplicate_route(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (k := _pick_route(data, plan)) is None:
        return None
    return problem, dataclasses.replace(plan, routes=(*plan.routes, plan.routes[k]))


def need_skill(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    visit = _visit(problem, plan.routes[pick[0]].stops[pick[1]].visit_id)
    skills = visit.required_skills | {"klingon"}
    return _replace_visit(problem, visit.id, required_skills=skills), plan


def need_bigger_crew(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    route = plan.routes[pick[0]]
    size = len(_team(problem, route.team_id).agent_ids) + 1
    return _replace_visit(problem, route.stops[pick[1]].visit_id, crew_size=size), plan


def allow_others(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    vid = plan.routes[pick[0]].stops[pick[1]].visit_id
    return _replace_visit(problem, vid, allowed_agents=frozenset({"outsider"})), plan


def close_window(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    stop = plan.routes[pick[0]].stops[pick[1]]
    before = TimeWindow(0, stop.start - 1) if stop.start >= 1 else None
    after = TimeWindow(stop.start + 1, stop.start + 1800)
    windows = data.draw(st.sampled_from([w for w in (before, after) if w is not None]))
    return _replace_visit(problem, stop.visit_id, windows=(windows,)), plan


def move_start_out(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    stop = plan.routes[pick[0]].stops[pick[1]]
    windows = problem.effective_windows(_visit(problem, stop.visit_id))
    start = max((w.end for w in windows), default=stop.start) + 1
    return problem, _replace_stop(plan, *pick, start=start, end=start + stop.end - stop.start)


def cap_borrower(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    borrower = _visit(problem, plan.routes[pick[0]].stops[pick[1]].visit_id).borrower_id
    count = sum(
        _visit(problem, s.visit_id).borrower_id == borrower for r in plan.routes for s in r.stops
    )
    old = problem.borrower_rule(borrower)
    rule = BorrowerRule(borrower, count - 1, old.allowed_hours if old else None)
    rules = tuple(r for r in problem.borrowers if r.borrower_id != borrower) + (rule,)
    return dataclasses.replace(problem, borrowers=rules), plan


def cap_visits(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    busy = [k for k, r in enumerate(plan.routes) if r.stops]
    if not busy:
        return None
    route = plan.routes[data.draw(st.sampled_from(busy))]
    return _replace_agents(problem, route.agent_ids, max_visits=len(route.stops) - 1), plan


def cap_working_time(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    long = [r for r in plan.routes if r.arrival - r.departure >= 2]
    if not long:
        return None
    route = data.draw(st.sampled_from(long))
    span = route.arrival - route.departure
    return _replace_agents(problem, route.agent_ids, max_working_time=span - 1), plan


def depart_early(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (k := _pick_route(data, plan)) is None:
        return None
    route = plan.routes[k]
    departure = _team(problem, route.team_id).shift.start - data.draw(st.integers(1, 3600))
    return problem, _replace_route(plan, k, dataclasses.replace(route, departure=departure))


def arrive_late(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (k := _pick_route(data, plan)) is None:
        return None
    route = plan.routes[k]
    arrival = _team(problem, route.team_id).shift.end + data.draw(st.integers(1, 3600))
    return problem, _replace_route(plan, k, dataclasses.replace(route, arrival=arrival))


def nudge_stop(field: str) -> Corrupt:
    """Change one number of a stop by a small non-zero amount."""

    def corrupt(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
        if (pick := _pick_stop(data, plan)) is None:
            return None
        stop = plan.routes[pick[0]].stops[pick[1]]
        delta = data.draw(st.sampled_from([-1, 1, 60, -600]))
        return problem, _replace_stop(plan, *pick, **{field: getattr(stop, field) + delta})

    corrupt.__name__ = f"nudge_{field}"
    return corrupt


def nudge_route(field: str) -> Corrupt:
    """Change one number of a route that goes out by a small non-zero amount."""

    def corrupt(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
        if (k := _pick_route(data, plan, busy=True)) is None:
            return None
        route = plan.routes[k]
        # Never shorten a route's span: a one-second trip could turn idle and go unchecked.
        delta = data.draw(st.sampled_from([-1, 1, 60] if field != "arrival" else [1, 60]))
        changed = dataclasses.replace(route, **{field: getattr(route, field) + delta})
        return problem, _replace_route(plan, k, changed)

    corrupt.__name__ = f"nudge_{field}"
    return corrupt


def cut_road(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    k, s = pick
    route = plan.routes[k]
    team = _team(problem, route.team_id)
    index = {v.id: i for i, v in enumerate(problem.visits)}
    origin = team.start_point if s == 0 else index[route.stops[s - 1].visit_id]
    dest = index[route.stops[s].visit_id]
    matrix = problem.matrices[team.mode]
    seconds = matrix.durations.copy()
    seconds[origin, dest] = UNREACHABLE
    matrices = {**problem.matrices, team.mode: TravelMatrix(seconds, matrix.distances.copy())}
    return dataclasses.replace(problem, matrices=matrices), plan


def _breaking_route(data: st.DataObject, plan: Plan) -> int | None:
    ks = [
        k for k, r in enumerate(plan.routes) if (r.stops or r.arrival != r.departure) and r.breaks
    ]
    return data.draw(st.sampled_from(ks)) if ks else None


def skip_break(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (k := _breaking_route(data, plan)) is None:
        return None
    route = plan.routes[k]
    i = data.draw(st.integers(0, len(route.breaks) - 1))
    breaks = route.breaks[:i] + route.breaks[i + 1 :]
    return problem, _replace_route(plan, k, dataclasses.replace(route, breaks=breaks))


def _replace_break(plan: Plan, k: int, i: int, brk: BreakTaken) -> Plan:
    breaks = list(plan.routes[k].breaks)
    breaks[i] = brk
    return _replace_route(plan, k, dataclasses.replace(plan.routes[k], breaks=tuple(breaks)))


def break_out_of_window(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (k := _breaking_route(data, plan)) is None:
        return None
    route = plan.routes[k]
    i = data.draw(st.integers(0, len(route.breaks) - 1))
    window = _team(problem, route.team_id).breaks[i].window
    start = data.draw(st.sampled_from([window.start - 1, window.end + 1]))
    taken = route.breaks[i]
    return problem, _replace_break(plan, k, i, BreakTaken(start, start + taken.end - taken.start))


def stretch_break(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (k := _breaking_route(data, plan)) is None:
        return None
    route = plan.routes[k]
    i = data.draw(st.integers(0, len(route.breaks) - 1))
    taken = route.breaks[i]
    delta = data.draw(st.sampled_from([-1, 1, 300]))
    return problem, _replace_break(plan, k, i, BreakTaken(taken.start, taken.end + delta))


def break_during_visit(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    ks = [k for k, r in enumerate(plan.routes) if r.stops and r.breaks]
    if not ks:
        return None
    k = data.draw(st.sampled_from(ks))
    route = plan.routes[k]
    i = data.draw(st.integers(0, len(route.breaks) - 1))
    stop = data.draw(st.sampled_from(route.stops))
    taken = route.breaks[i]
    start = data.draw(st.integers(stop.start, stop.end - 1))
    return problem, _replace_break(plan, k, i, BreakTaken(start, start + taken.end - taken.start))


def extra_break(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (k := _pick_route(data, plan, busy=True)) is None:
        return None
    route = plan.routes[k]
    extra = BreakTaken(route.arrival + 60, route.arrival + 960)
    return problem, _replace_route(
        plan, k, dataclasses.replace(route, breaks=(*route.breaks, extra))
    )


def move_location(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    stop = plan.routes[pick[0]].stops[pick[1]]
    field = data.draw(st.sampled_from(["lat", "lon"]))
    delta = data.draw(st.sampled_from([-1e-3, 2e-6, 0.5]))
    return problem, _replace_stop(plan, *pick, **{field: getattr(stop, field) + delta})


def other_borrower(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    if (pick := _pick_stop(data, plan)) is None:
        return None
    return problem, _replace_stop(plan, *pick, borrower_id="someone-else")


def other_day(data: st.DataObject, problem: Problem, plan: Plan) -> Case | None:
    return problem, dataclasses.replace(plan, day=plan.day + timedelta(days=1))


CORRUPTIONS: list[tuple[Corrupt, str]] = [
    (drop_stop, C.MISSING_VISIT),
    (drop_unassigned, C.MISSING_VISIT),
    (also_unassign, C.DUPLICATE_VISIT),
    (repeat_stop, C.DUPLICATE_VISIT),
    (repeat_unassigned, C.DUPLICATE_VISIT),
    (ghost_stop, C.UNKNOWN_VISIT),
    (ghost_unassigned, C.UNKNOWN_VISIT),
    (blank_reason, C.BAD_REASON),
    (rename_team, C.UNKNOWN_TEAM),
    (wrong_agents, C.WRONG_AGENTS),
    (wrong_mode, C.WRONG_MODE),
    (duplicate_route, C.DUPLICATE_TEAM),
    (need_skill, C.SKILL),
    (need_bigger_crew, C.CREW_SIZE),
    (allow_others, C.NOT_ALLOWED_AGENT),
    (close_window, C.WINDOW),
    (move_start_out, C.WINDOW),
    (cap_borrower, C.BORROWER_CAP),
    (cap_visits, C.MAX_VISITS),
    (cap_working_time, C.MAX_WORKING_TIME),
    (depart_early, C.SHIFT),
    (arrive_late, C.SHIFT),
    (nudge_stop("travel_time"), C.TRAVEL),
    (nudge_stop("travel_distance"), C.TRAVEL),
    (nudge_route("end_travel_time"), C.TRAVEL),
    (nudge_route("end_travel_distance"), C.TRAVEL),
    (cut_road, C.UNREACHABLE),
    (nudge_stop("arrival"), C.ETA),
    (nudge_stop("waiting"), C.ETA),
    (nudge_stop("start"), C.ETA),
    (nudge_stop("end"), C.ETA),
    (nudge_route("arrival"), C.ETA),
    (skip_break, C.BREAK),
    (break_out_of_window, C.BREAK),
    (stretch_break, C.BREAK),
    (break_during_visit, C.BREAK),
    (extra_break, C.BREAK),
    (move_location, C.LOCATION),
    (other_borrower, C.WRONG_BORROWER),
    (other_day, C.WRONG_DAY),
]


def check_corruption(data: st.DataObject, problem: Problem, plan: Plan) -> None:
    """Apply one applicable corruption and check its code is among the violations."""
    applicable = []
    for corrupt, code in CORRUPTIONS:
        case = corrupt(data, problem, plan)
        if case is not None:
            applicable.append((corrupt.__name__, code, case))
    name, code, (bad_problem, bad_plan) = data.draw(st.sampled_from(applicable), label="corruption")
    note(f"corruption {name}, expecting {code}")
    violations = validate(bad_problem, bad_plan)
    note("\n".join(map(str, violations)))
    assert code in {v.code for v in violations}, name


# -- Properties without the solver ------------------------------------------------------------


@QUICK
@given(problems())
def test_greedy_plans_are_valid(problem: Problem) -> None:
    """Plans the greedy builder lays out by the rules validate clean."""
    plan = greedy_plan(problem)
    assert accounted_once(problem, plan)
    assert validate(problem, plan) == []


@QUICK
@given(problems(adversarial=False), st.data())
def test_corrupted_greedy_plans_are_caught(problem: Problem, data: st.DataObject) -> None:
    """Every corruption of a valid greedy plan is reported with its code."""
    check_corruption(data, problem, greedy_plan(problem))


@QUICK
@given(problems(), st.data())
def test_serve_checks_match_team_may_serve(problem: Problem, data: st.DataObject) -> None:
    """Skill, crew-size and allowed-agent violations appear exactly when team_may_serve fails."""
    team = data.draw(st.sampled_from(problem.teams()))
    visit = data.draw(st.sampled_from(problem.visits))
    stop = Stop(
        visit.id, visit.borrower_id, visit.location.lat, visit.location.lon, 0, 0, 0, 0, 0, 0
    )
    route = Route(team.id, team.agent_ids, team.mode.value, 0, 0, (stop,), (), 0, 0)
    plan = Plan(problem.day, problem.timezone, (route,), ())
    serve_codes = {C.SKILL, C.CREW_SIZE, C.NOT_ALLOWED_AGENT}
    reported = {v.code for v in validate(problem, plan)} & serve_codes
    assert (not reported) == problem.team_may_serve(team, visit)


@QUICK
@given(problems(), st.data())
def test_validate_never_raises(problem: Problem, data: st.DataObject) -> None:
    """Arbitrary stacked corruptions give a list of violations, never an exception."""
    plan = greedy_plan(problem)
    for _ in range(data.draw(st.integers(1, 4))):
        corrupt = data.draw(st.sampled_from([c for c, _ in CORRUPTIONS]))
        try:
            case = corrupt(data, problem, plan)
        except (LookupError, ValueError):
            continue  # the corruption's own assumptions no longer hold (e.g. a ghost visit)
        if case is not None:
            problem, plan = case
    assert all(isinstance(str(v), str) for v in validate(problem, plan))


# -- Properties of the solver's plans ---------------------------------------------------------


def check_solver_plan(problem: Problem) -> Plan:
    """Solve, and check the plan is valid and accounts for each visit once."""
    plan = solve(problem)
    violations = validate(problem, plan)
    note("\n".join(map(str, violations)))
    assert violations == []
    assert accounted_once(problem, plan)
    return plan


@SOLVER_QUICK
@given(problems())
def test_solver_plans_are_valid(problem: Problem) -> None:
    """The solver's plans for random (also adversarial) problems keep every rule."""
    check_solver_plan(problem)


@SOLVER_QUICK
@given(problems(adversarial=False), st.data())
def test_corrupted_solver_plans_are_caught(problem: Problem, data: st.DataObject) -> None:
    """Every corruption of a valid solver plan is reported with its code."""
    check_corruption(data, problem, check_solver_plan(problem))


@pytest.mark.slow
@SOLVER_SLOW
@given(problems())
def test_solver_plans_are_valid_thoroughly(problem: Problem) -> None:
    """As test_solver_plans_are_valid, on many more random problems."""
    check_solver_plan(problem)


@pytest.mark.slow
@SOLVER_SLOW
@given(problems(adversarial=False), st.data())
def test_corrupted_solver_plans_are_caught_thoroughly(
    problem: Problem, data: st.DataObject
) -> None:
    """As test_corrupted_solver_plans_are_caught, on many more random problems."""
    check_corruption(data, problem, check_solver_plan(problem))
