"""Database rows to routing-model objects and back, for agents, crews, visits and borrowers.

One place knows both shapes, so an import followed by a load gives back exactly what the
files said (the tests check the round trip).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from doorstep.db import models as m
from optimizer.model import (
    Agent,
    BorrowerRule,
    Break,
    Crew,
    Location,
    TimeWindow,
    TravelMode,
    Visit,
    VisitKind,
)


def agent_row(agent: Agent, region_id: str, *, name: str, start_label: str) -> m.Agent:
    same_end = agent.end == agent.start
    return m.Agent(
        id=agent.id,
        region_id=region_id,
        name=name,
        mode=agent.mode.value,
        start_lat=agent.start.lat,
        start_lon=agent.start.lon,
        start_label=start_label,
        end_lat=None if same_end else agent.end.lat,
        end_lon=None if same_end else agent.end.lon,
        shift_start=agent.shift.start,
        shift_end=agent.shift.end,
        breaks=[[b.window.start, b.window.end, b.duration] for b in agent.breaks],
        skills=sorted(agent.skills),
        max_visits=agent.max_visits,
        max_working_s=agent.max_working_time,
        crew_id=None,
        crew_position=None,
        active=True,
    )


def agent_from_row(row: m.Agent) -> Agent:
    start = Location(row.start_lat, row.start_lon)
    end = (
        start if row.end_lat is None or row.end_lon is None else Location(row.end_lat, row.end_lon)
    )
    return Agent(
        id=row.id,
        start=start,
        end=end,
        shift=TimeWindow(row.shift_start, row.shift_end),
        mode=TravelMode(row.mode),
        skills=frozenset(row.skills),
        breaks=tuple(Break(TimeWindow(s, e), d) for s, e, d in row.breaks),
        max_visits=row.max_visits,
        max_working_time=row.max_working_s,
    )


def crews_from_rows(rows: Iterable[m.Agent]) -> tuple[Crew, ...]:
    """The crews of these agents, members in `crew_position` order, crews by first member."""
    members: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        if row.crew_id is not None:
            members.setdefault(row.crew_id, []).append((row.crew_position or 0, row.id))
    crews = [Crew(cid, tuple(a for _, a in sorted(ms))) for cid, ms in members.items()]
    return tuple(sorted(crews, key=lambda c: c.agent_ids[0]))


def visit_row(
    visit: Visit,
    region_id: str,
    day: date,
    *,
    address: str,
    agreed_at: datetime | None,
) -> m.Visit:
    return m.Visit(
        id=visit.id,
        region_id=region_id,
        day=day,
        borrower_id=visit.borrower_id,
        lat=visit.location.lat,
        lon=visit.location.lon,
        address=address,
        duration_s=visit.duration,
        kind=visit.kind.value,
        windows=[[w.start, w.end] for w in visit.windows],
        priority=visit.priority,
        skills=sorted(visit.required_skills),
        crew_size=visit.crew_size,
        allowed_agents=sorted(visit.allowed_agents),
        preferred_agents=sorted(visit.preferred_agents),
        agreed_at=agreed_at,
        status="open",
    )


def visit_from_row(row: m.Visit) -> Visit:
    return Visit(
        id=row.id,
        borrower_id=row.borrower_id,
        location=Location(row.lat, row.lon),
        duration=row.duration_s,
        windows=tuple(TimeWindow(s, e) for s, e in row.windows),
        kind=VisitKind(row.kind),
        priority=row.priority,
        required_skills=frozenset(row.skills),
        crew_size=row.crew_size,
        allowed_agents=frozenset(row.allowed_agents),
        preferred_agents=frozenset(row.preferred_agents),
    )


def borrower_row(rule: BorrowerRule, flags: Iterable[str]) -> m.Borrower:
    hours = rule.allowed_hours
    return m.Borrower(
        id=rule.borrower_id,
        hours_start=None if hours is None else hours.start,
        hours_end=None if hours is None else hours.end,
        max_visits_per_day=rule.max_visits,
        flags=sorted(flags),
    )


def borrower_rule_from_row(row: m.Borrower, default_max_visits: int = 1) -> BorrowerRule:
    hours = None
    if row.hours_start is not None and row.hours_end is not None:
        hours = TimeWindow(row.hours_start, row.hours_end)
    max_visits = default_max_visits if row.max_visits_per_day is None else row.max_visits_per_day
    return BorrowerRule(row.id, max_visits, hours)


def borrower_flags(rows: Iterable[m.Borrower]) -> Mapping[str, frozenset[str]]:
    return {row.id: frozenset(row.flags) for row in rows if row.flags}
