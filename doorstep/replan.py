"""Re-plan a region-day while it happens: from where each agent is now, around what is done.

The day's events (`record_event`: an agent unavailable from a time, a visit cancelled, an
urgent visit added, a visit taking longer, an agent running late) are stored, so each
re-plan starts from all of them. `replan` takes the plan the agents follow (the published
one, else the current one) and, per team:

- freezes what is done (an outcome recorded, or planned to have ended by now), in progress
  (planned to have started) and the stop the team is driving to (it has left the previous
  one), unless the team is unavailable by now;
- starts the rest from the last frozen stop, when it ends (its visit's extra minutes
  included) or now, whichever is later, plus any lateness; with the breaks not yet taken
  (their windows cut to what is left), the visits and working time that remain, and a shift
  that ends when the team becomes unavailable.

The remaining visits (the frozen ones count toward the borrowers' limits, as visits made
today) are routed again, each preferring the team it had: a visit that changes team costs
something, so the new plan differs from the old one only where that pays. The frozen stops
and the new routes are joined, validated against the whole day as it stands, and stored as
the current plan; publishing it is the dispatcher's call, after reading the difference.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from doorstep.contact import apply_policy, planned_contact, region_holidays
from doorstep.csvio import DayInput
from doorstep.db import models as m
from doorstep.db.days import get_region, load_day, lookback_days
from doorstep.db.engine import read_scope, session_scope
from doorstep.db.store import CURRENT, audit, load_plan
from doorstep.export import plan_document
from doorstep.plan_diff import compare_plans
from doorstep.plan_routes import seconds_of
from doorstep.planning import DayPlan, build_problem, route_shapes
from doorstep.published import PUBLISHED
from doorstep.region_planning import RegionPlanError, load_network
from doorstep.settings import Settings
from doorstep.stored_plans import ConcurrentPlanError, prepare, save
from optimizer import (
    Agent,
    Break,
    BreakTaken,
    Plan,
    Problem,
    Route,
    SolverTimeoutError,
    Team,
    TimeWindow,
    solve,
)
from optimizer.solver import idle_route, timed_route
from optimizer.timefmt import clock
from optimizer.validate import validate

log = logging.getLogger(__name__)

UNAVAILABLE, CANCELLED, ADDED, OVERRUN, LATE = (
    "unavailable",
    "cancelled",
    "added",
    "overrun",
    "late",
)
EVENT_KINDS = (UNAVAILABLE, CANCELLED, ADDED, OVERRUN, LATE)
MAX_EVENT_MINUTES = 8 * 60

StageHook = Callable[[str], None]


class ReplanError(RuntimeError):
    """The day cannot be re-planned as it stands (no plan yet, a bad event); the message says
    what to do."""


@dataclass(frozen=True)
class DayEvent:
    """One recorded change to the day (see `EVENT_KINDS`)."""

    id: int
    kind: str
    agent_id: str | None
    visit_id: str | None
    at: int | None
    minutes: int | None
    recorded_by: str
    recorded_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "event_id": self.id,
            "kind": self.kind,
            "agent_id": self.agent_id,
            "visit_id": self.visit_id,
            "at": clock(self.at) if self.at is not None else None,
            "minutes": self.minutes,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }

    def __str__(self) -> str:
        return {
            UNAVAILABLE: f"{self.agent_id} unavailable from {clock(self.at or 0)}",
            CANCELLED: f"{self.visit_id} cancelled",
            ADDED: f"{self.visit_id} added",
            OVERRUN: f"{self.visit_id} takes {self.minutes} min longer",
            LATE: f"{self.agent_id} running {self.minutes} min late",
        }[self.kind]


def record_event(
    engine: Engine,
    region_id: str,
    day: date,
    kind: str,
    *,
    actor: str,
    agent_id: str | None = None,
    visit_id: str | None = None,
    at: int | None = None,
    minutes: int | None = None,
) -> DayEvent:
    """Store an event of the region-day; a cancelled visit is marked cancelled at once.

    Raises ValueError naming what is wrong: an unknown kind, a missing or unknown agent or
    visit, a time or a number of minutes out of range.
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event {kind!r}; use one of {', '.join(EVENT_KINDS)}")
    needs_agent, needs_visit = kind in (UNAVAILABLE, LATE), kind in (CANCELLED, ADDED, OVERRUN)
    if needs_agent and not agent_id:
        raise ValueError(f"a {kind} event needs the agent")
    if needs_visit and not visit_id:
        raise ValueError(f"a {kind} event needs the visit")
    if kind == UNAVAILABLE and (at is None or not 0 <= at <= 2 * 86400):
        raise ValueError("an unavailable event needs the time it starts, HH:MM")
    if kind in (OVERRUN, LATE) and (minutes is None or not 1 <= minutes <= MAX_EVENT_MINUTES):
        raise ValueError(f"a {kind} event needs its minutes, 1 to {MAX_EVENT_MINUTES}")
    with session_scope(engine) as session:
        get_region(session, region_id)
        if needs_agent:
            agent = session.get(m.Agent, agent_id)
            if agent is None or agent.region_id != region_id:
                raise ValueError(f"no agent {agent_id!r} in {region_id}")
        if needs_visit:
            visit = session.get(m.Visit, visit_id)
            if visit is None or visit.region_id != region_id or visit.day != day:
                raise ValueError(f"no visit {visit_id!r} in {region_id} on {day.isoformat()}")
            if kind == CANCELLED:
                visit.status = "cancelled"
            elif visit.status != "open":
                raise ValueError(f"visit {visit_id} is cancelled; import it again to reopen it")
        row = m.DayEvent(
            region_id=region_id,
            day=day,
            kind=kind,
            agent_id=agent_id if needs_agent else None,
            visit_id=visit_id if needs_visit else None,
            at=at if kind == UNAVAILABLE else None,
            minutes=minutes if kind in (OVERRUN, LATE) else None,
            recorded_by=actor[:100],
        )
        session.add(row)
        session.flush()
        audit(
            session,
            actor=actor,
            action="day_event",
            entity="region_day",
            entity_id=f"{region_id}/{day.isoformat()}",
            detail={"kind": kind, "event_id": row.id},
        )
        return _event(row)


def day_events(engine: Engine, region_id: str, day: date) -> list[DayEvent]:
    """The region-day's events, oldest first."""
    with read_scope(engine) as session:
        rows = session.scalars(
            select(m.DayEvent)
            .where(m.DayEvent.region_id == region_id, m.DayEvent.day == day)
            .order_by(m.DayEvent.id)
        ).all()
        return [_event(row) for row in rows]


def _event(row: m.DayEvent) -> DayEvent:
    return DayEvent(
        row.id,
        row.kind,
        row.agent_id,
        row.visit_id,
        row.at,
        row.minutes,
        row.recorded_by,
        row.recorded_at,
    )


@dataclass(frozen=True)
class Replanned:
    """A re-plan stored as the current plan: its id, what it started from, and how it differs
    from the plan the agents follow."""

    plan_id: int
    basis: str
    """"published" or "current": the plan the re-plan started from."""
    as_of: int
    """Seconds since local midnight the re-plan started from."""
    frozen: int
    rerouted: int
    comparison: dict[str, Any]
    day_plan: DayPlan
    notes: tuple[str, ...] = ()


@dataclass
class _TeamState:
    """One team of the plan followed, as it stands `as_of`."""

    team: Team
    frozen: list[tuple[str, int]] = field(default_factory=list)
    """(visit id, start) of the frozen stops, in order."""
    taken: dict[int, BreakTaken] = field(default_factory=dict)
    """The team's breaks (by index) already taken, or begun, by the time it is free."""
    free_at: int = 0
    free_point: int = 0
    """Where the team is free from: the problem point of its last frozen stop, or its start."""
    ends_at: int | None = None
    """When the team stops working (unavailable), None for its shift end."""
    departure: int = 0
    old_order: tuple[str, ...] = ()


def replan(
    engine: Engine,
    settings: Settings,
    region_id: str,
    day: date,
    *,
    now: datetime,
    time_limit: float,
    actor: str,
    on_stage: StageHook | None = None,
) -> Replanned:
    """Re-plan the region-day from `now` and store it as the current plan (see the module
    docstring). Raises `ReplanError` or `RegionPlanError` saying what to fix."""
    hook = on_stage or (lambda stage: None)
    hook("reading")
    with read_scope(engine) as session:
        region = get_region(session, region_id)
        zone = ZoneInfo(region.timezone)
        basis_name, basis = PUBLISHED, load_plan(session, region_id, day, PUBLISHED)
        if basis is None:
            basis_name, basis = CURRENT, load_plan(session, region_id, day, CURRENT)
        if basis is None:
            msg = f"region {region_id} has no plan on {day.isoformat()} to re-plan: plan it first"
            raise ReplanError(msg)
        document: dict[str, Any] = dict(basis.document)
        basis_ids = [s["visit_id"] for r in document["routes"] for s in r["stops"]]
        recorded = _recorded(session, basis_ids, day, zone)
        events = session.scalars(
            select(m.DayEvent).where(m.DayEvent.region_id == region_id, m.DayEvent.day == day)
        ).all()
        event_list = [_event(e) for e in events]
    try:
        prepared, given = prepare(engine, region_id, day, policy_dir=settings.policy_dir)
    except ValueError as exc:
        raise ReplanError(str(exc)) from None
    with read_scope(engine) as session:
        stored = load_day(session, region_id, day, lookback_days(prepared.policy.policy))
    as_of = seconds_of(now.astimezone(zone).isoformat(), day, zone)
    extra = {e.visit_id: 60 * (e.minutes or 0) for e in event_list if e.kind == OVERRUN}
    late = {e.agent_id: 60 * (e.minutes or 0) for e in event_list if e.kind == LATE}
    away = {e.agent_id: e.at for e in event_list if e.kind == UNAVAILABLE}
    day_input = _with_durations(given, extra)

    hook("network")
    network = load_network(prepared.network, settings)
    hook("matrices")
    full = build_problem(
        day_input,
        network,
        day=day,
        timezone=prepared.timezone,
        max_snap_m=settings.max_snap_m,
        cache_dir=settings.cache_dir / "matrices",
    )
    states = _states(full.problem, document, day, zone, as_of, recorded, extra, late, away)
    frozen_ids = {vid for st in states.values() for vid, _ in st.frozen}
    # The frozen stops are visits made today: they count toward the borrowers' limits.
    history = [*stored.history]
    index = {v.id: v for v in day_input.visits}
    history += [
        planned_contact(index[vid].borrower_id, day, start, prepared.timezone)
        for st in states.values()
        for vid, start in st.frozen
        if vid not in recorded
    ]
    remainder, notes = _remainder(day_input, full.problem, states)
    holidays = region_holidays(
        region.country, region.subdivision, {day.year}, stored.extra_holidays
    )
    policy_day = apply_policy(
        remainder,
        prepared.policy.policy,
        history,
        day=day,
        timezone=prepared.timezone,
        holidays=holidays,
    )
    routed = build_problem(
        policy_day.day_input,
        network,
        day=day,
        timezone=prepared.timezone,
        max_snap_m=settings.max_snap_m,
        cache_dir=settings.cache_dir / "matrices",
    )
    hook("solving")
    # Warm-started from what the teams were to do next: only a better plan replaces it.
    teams_left = {t.id for t in routed.problem.teams()}
    kept_ids = {v.id for v in routed.problem.visits}
    start_from = {
        team_id: [v for v in state.old_order if v in kept_ids]
        for team_id, state in states.items()
        if team_id in teams_left
    }
    try:
        rest = solve(routed.problem, time_limit=time_limit, initial_routes=start_from)
    except SolverTimeoutError as exc:
        raise ReplanError(f"{exc} (--time-limit)") from None
    hook("validating")
    taken = _taken_in_order(states, rest)
    whole = _whole_day(full.problem, policy_day.day_input, states, taken)
    plan = _joined(whole, states, rest, taken, notes)
    plan = replace(plan, unassigned=plan.unassigned + policy_day.excluded)
    if problems := validate(whole, plan):
        lines = "; ".join(str(p) for p in problems[:5])
        raise ReplanError(f"internal error, the re-planned day failed validation: {lines}")
    hook("geometry")
    day_plan = DayPlan(
        region=region_id,
        plan=plan,
        problem=whole,
        day_input=given,
        shapes=route_shapes(network, whole, full.snapped, plan),
        policy=policy_day.policy,
    )
    hook("saving")
    try:
        plan_id = save(engine, prepared, day_plan, actor=actor)
    except (ConcurrentPlanError, ValueError) as exc:
        raise RegionPlanError(f"plan not stored: {exc}") from None
    new_document = plan_document(day_plan)
    return Replanned(
        plan_id=plan_id,
        basis=basis_name,
        as_of=as_of,
        frozen=len(frozen_ids),
        rerouted=rest.num_assigned,
        comparison=compare_plans(document, new_document),
        day_plan=day_plan,
        notes=tuple(notes),
    )


def _recorded(session: Any, visit_ids: Sequence[str], day: date, zone: ZoneInfo) -> dict[str, int]:
    """visit id -> when (s since local midnight) an agent recorded its outcome today."""
    if not visit_ids:
        return {}
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    rows = session.scalars(
        select(m.ContactEvent).where(
            m.ContactEvent.visit_id.in_(visit_ids),
            m.ContactEvent.source == "agent",
            m.ContactEvent.at >= midnight,
            m.ContactEvent.at < midnight + timedelta(days=1),
        )
    ).all()
    return {e.visit_id: seconds_of(e.at.isoformat(), day, zone) for e in rows if e.visit_id}


def _with_durations(day_input: DayInput, extra: Mapping[str | None, int]) -> DayInput:
    """The day with each overrunning visit lasting its extra minutes longer."""
    visits = tuple(
        replace(v, duration=v.duration + extra[v.id]) if extra.get(v.id) else v
        for v in day_input.visits
    )
    return replace(day_input, visits=visits)


def _states(
    problem: Problem,
    document: dict[str, Any],
    day: date,
    zone: ZoneInfo,
    as_of: int,
    recorded: Mapping[str, int],
    extra: Mapping[str | None, int],
    late: Mapping[str | None, int],
    away: Mapping[str | None, int | None],
) -> dict[str, _TeamState]:
    """Each team as it stands `as_of`: what is frozen and where and when it is free."""
    teams = {t.id: t for t in problem.teams()}
    open_ids = {v.id for v in problem.visits}
    point = {v.id: problem.visit_point(i) for i, v in enumerate(problem.visits)}
    states: dict[str, _TeamState] = {}
    routes = {r["team_id"]: r for r in document["routes"]}
    for team_id, team in teams.items():
        state = _TeamState(team=team, free_point=team.start_point)
        leaves = [away[a] for a in team.agent_ids if away.get(a) is not None]
        state.ends_at = min(leaves) if leaves else None  # type: ignore[type-var]
        gone = state.ends_at is not None and state.ends_at <= as_of
        route = routes.get(team_id)
        stops = route["stops"] if route else []
        state.old_order = tuple(s["visit_id"] for s in stops)
        departure = (
            seconds_of(route["departure"], day, zone) if route and stops else team.shift.start
        )
        state.departure = departure
        leave = departure
        for stop in stops:
            vid = stop["visit_id"]
            start, end = seconds_of(stop["start"], day, zone), seconds_of(stop["end"], day, zone)
            if vid not in open_ids and vid not in recorded:
                break  # cancelled since: the route from here is re-planned
            done = vid in recorded or end <= as_of
            begun = start <= as_of
            driving = leave <= as_of and not gone
            if not (done or begun or driving):
                break
            state.frozen.append((vid, start))
            if vid in extra:
                break  # it runs longer: what follows it is re-planned
            if not done:
                break
            leave = end + extra.get(vid, 0)
        if state.frozen:
            vid, start = state.frozen[-1]
            visit = problem.visits[point[vid]]
            finished = max(start + visit.duration, recorded.get(vid, 0))
            state.free_at = max(finished, as_of)
            state.free_point = point[vid]
        else:
            state.free_at = max(team.shift.start, as_of)
        state.free_at += max((late.get(a, 0) for a in team.agent_ids), default=0)
        if route:
            for b, taken in enumerate(route.get("breaks", [])):
                begins = seconds_of(taken["start"], day, zone)
                if begins < state.free_at and b < len(team.breaks):
                    state.taken[b] = BreakTaken(begins, seconds_of(taken["end"], day, zone))
        states[team_id] = state
    return states


def _remainder(
    day_input: DayInput, problem: Problem, states: Mapping[str, _TeamState]
) -> tuple[DayInput, list[str]]:
    """What is left to route: the visits not frozen (each preferring the team it had), and
    each team's agents starting where and when the team is free. A team with no time left
    is left out; a break that can no longer be taken is dropped, with a note."""
    notes: list[str] = []
    frozen = {vid for st in states.values() for vid, _ in st.frozen}
    had = {vid: st.team.agent_ids for st in states.values() for vid in st.old_order}
    visits = tuple(
        replace(v, preferred_agents=frozenset(had[v.id])) if v.id in had else v
        for v in day_input.visits
        if v.id not in frozen
    )
    agents: dict[str, Agent] = {a.id: a for a in day_input.agents}
    keep: list[Agent] = []
    for state in states.values():
        team = state.team
        shift_end = _works_until(team, state)
        start = math.ceil(state.free_at)
        if start >= shift_end:
            continue
        kept = _kept_breaks(team, state)
        for b, brk in enumerate(team.breaks):
            if b not in state.taken and b not in {k for k, _ in kept}:
                notes.append(
                    f"{team.id}: break {b + 1} ({brk.duration // 60} min from "
                    f"{clock(brk.window.start)}-{clock(brk.window.end)}) can no longer be taken"
                )
        breaks = [brk for _, brk in kept]
        location = problem.point_location(state.free_point)
        for agent_id in team.agent_ids:
            agent = agents[agent_id]
            keep.append(
                replace(
                    agent,
                    start=location,
                    shift=TimeWindow(start, shift_end),
                    breaks=tuple(breaks),
                    max_visits=None
                    if agent.max_visits is None
                    else max(0, agent.max_visits - len(state.frozen)),
                    # Left the start already: the span's limit is in `_works_until`.
                    max_working_time=None if state.frozen else agent.max_working_time,
                )
            )
    working = {a.id for a in keep}
    crews = tuple(c for c in day_input.crews if all(a in working for a in c.agent_ids))
    return replace(day_input, visits=visits, agents=tuple(keep), crews=crews), notes


def _works_until(team: Team, state: _TeamState) -> int:
    """When the rest of the team's day must end: its shift, when it becomes unavailable, and,
    once it has left its start, its departure plus its longest working time."""
    end = team.shift.end
    if state.ends_at is not None:
        end = min(end, state.ends_at)
    if state.frozen and team.max_working_time is not None:
        end = min(end, state.departure + team.max_working_time)
    return end


def _kept_breaks(team: Team, state: _TeamState) -> list[tuple[int, Break]]:
    """The team's breaks the rest of its day still has to take, by index, each with its
    window cut to the time the team has left; a break it can no longer take is not here."""
    start = math.ceil(state.free_at)
    shift_end = _works_until(team, state)
    kept = []
    for b, brk in enumerate(team.breaks):
        if b in state.taken:
            continue
        first, last = max(brk.window.start, start), min(brk.window.end, shift_end - brk.duration)
        if first <= last:
            kept.append((b, Break(TimeWindow(first, last), brk.duration)))
    return kept


def _taken_in_order(
    states: Mapping[str, _TeamState], rest: Plan
) -> dict[str, dict[int, BreakTaken]]:
    """Per team, its breaks as the joined route takes them, by the team's break index: those
    taken before it was free, then those its new route takes (none when it has no new stop:
    a team that goes home early needs no lunch out)."""
    new_routes = {r.team_id: r for r in rest.routes}
    taken: dict[str, dict[int, BreakTaken]] = {}
    for team_id, state in states.items():
        breaks = dict(state.taken)
        new = new_routes.get(team_id)
        if new is not None and new.stops:
            kept = [b for b, _ in _kept_breaks(state.team, state)]
            breaks.update(zip(kept, new.breaks, strict=False))
        taken[team_id] = breaks
    return taken


def _whole_day(
    problem: Problem,
    routed: DayInput,
    states: Mapping[str, _TeamState],
    taken: Mapping[str, Mapping[int, BreakTaken]],
) -> Problem:
    """The whole day as the joined plan must keep it: the re-planned visits as the policy
    left them, each team's breaks those it takes, and each borrower's limit what the policy
    allows now plus the visits already made today."""
    members = {a: st for st in states.values() for a in st.team.agent_ids}
    agents = []
    for agent in problem.agents:
        state = members.get(agent.id)
        if state is None:
            agents.append(agent)
            continue
        team = state.team
        breaks = tuple(team.breaks[b] for b in sorted(taken[team.id]))
        agents.append(replace(agent, breaks=breaks))
    policy_visits = {v.id: v for v in routed.visits}
    visits = tuple(policy_visits.get(v.id, v) for v in problem.visits)
    borrower_of = {v.id: v.borrower_id for v in problem.visits}
    made: dict[str, int] = {}
    for state in states.values():
        for vid, _ in state.frozen:
            made[borrower_of[vid]] = made.get(borrower_of[vid], 0) + 1
    rules = {r.borrower_id: r for r in problem.borrowers}
    rules.update({r.borrower_id: r for r in routed.borrowers})
    for borrower, count in made.items():
        rule = rules.get(borrower)
        if rule is not None:
            rules[borrower] = replace(rule, max_visits=rule.max_visits + count)
    return replace(problem, agents=tuple(agents), visits=visits, borrowers=tuple(rules.values()))


def _joined(
    whole: Problem,
    states: Mapping[str, _TeamState],
    rest: Plan,
    taken: Mapping[str, Mapping[int, BreakTaken]],
    notes: Sequence[str],
) -> Plan:
    """Every team's frozen stops followed by its new route, timed by the `Stop` rule on the
    whole day's matrices."""
    index = {v.id: i for i, v in enumerate(whole.visits)}
    new_routes = {r.team_id: r for r in rest.routes}
    teams = {t.id: t for t in whole.teams()}
    routes: list[Route] = []
    for team_id, state in states.items():
        team = teams[team_id]
        new = new_routes.get(team_id)
        new_stops = new.stops if new is not None else ()
        sequence = [(index[vid], start) for vid, start in state.frozen]
        sequence += [(index[s.visit_id], s.start) for s in new_stops]
        if not sequence:
            routes.append(idle_route(team))
            continue
        if new is not None and new_stops:
            arrival = new.arrival
        else:
            last, start = sequence[-1]
            matrix = whole.matrices[team.mode].durations
            arrival = (
                start
                + whole.visits[last].duration
                + int(matrix[whole.visit_point(last), team.end_point])
            )
        departure = state.departure if state.frozen or new is None else new.departure
        breaks = [taken[team_id][b] for b in sorted(taken[team_id])]
        routes.append(timed_route(whole, team, departure, sequence, breaks, arrival))
    return Plan(
        day=whole.day,
        timezone=whole.timezone,
        routes=tuple(routes),
        unassigned=rest.unassigned,
        notes=tuple(rest.notes) + tuple(notes),
        objective=rest.objective,
        solve_seconds=rest.solve_seconds,
        stats=dict(rest.stats),
    )
