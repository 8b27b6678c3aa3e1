"""Offer a borrower appointment times the team can keep, and book the one they pick.

`find_slots` looks at each day of a range: what the contact policy allows the borrower that
day (hours, daily and rolling caps, the gap since the last visit, the notice an appointment
needs, and that booking must not block a visit already agreed on a later day), and which
windows of the day a suitable team can still keep around the appointments already agreed,
ranked by the travel each adds. A day without a slot says why ("no agent with skill X is on
shift", the policy's sentence with the contact that caused it, "every suitable team's day
is full"). `book_slot` checks the slot again while holding the region (two bookings never
take the same room) and creates the appointment.

The routes a new appointment must fit around are the day's agreed appointments only:
flexible visits give way to appointments when the day is planned, so they take no room here.
They come from the region-day's current plan, with appointments booked since laid in where
they add least travel (`optimizer.slots.insert_greedily`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

import geo
from doorstep.contact import apply_policy, planned_contact, region_holidays
from doorstep.db import models as m
from doorstep.db.days import get_region, load_day, lookback_days
from doorstep.db.engine import read_scope, session_scope
from doorstep.db.store import CURRENT, audit, load_plan
from doorstep.planning import build_problem
from doorstep.policies import resolve_policy
from doorstep.region_planning import load_network
from doorstep.settings import Settings
from optimizer import UNREACHABLE, BorrowerRule, Location, TimeWindow, Visit, VisitKind
from optimizer.policy import ContactEvent, Policy, allowance
from optimizer.slots import NoSlot, Slot, insert_greedily, insertion_slots
from optimizer.timefmt import span

log = logging.getLogger(__name__)

NEW_VISIT = "__new_appointment__"
"""The id the candidate visit has while its slots are searched."""
MAX_DAYS = 14
MIN_DURATION_S, MAX_DURATION_S = 5 * 60, 8 * 3600
MIN_WINDOW_S, MAX_WINDOW_S = 15 * 60, 8 * 3600


class SlotTakenError(RuntimeError):
    """The slot is no longer free (booked by someone else, or the day changed)."""


@dataclass(frozen=True)
class SlotRequest:
    """A new appointment to place: where, how long, who may do it, and which days to try.

    `window_s` is the length of the windows offered (the borrower agrees to be visited
    starting at any time inside one); `borrower_id` lets the contact policy count the
    borrower's history (None: a borrower with none).
    """

    region_id: str
    location: Location
    duration_s: int
    first_day: date
    num_days: int = 5
    borrower_id: str | None = None
    skills: frozenset[str] = frozenset()
    crew_size: int = 1
    window_s: int = 2 * 3600
    address: str = ""

    def __post_init__(self) -> None:
        if not MIN_DURATION_S <= self.duration_s <= MAX_DURATION_S:
            msg = (
                f"duration {self.duration_s // 60} min must be {MIN_DURATION_S // 60} to "
                f"{MAX_DURATION_S // 60} min"
            )
            raise ValueError(msg)
        if not 1 <= self.num_days <= MAX_DAYS:
            msg = f"days {self.num_days} must be 1 to {MAX_DAYS}"
            raise ValueError(msg)
        if not MIN_WINDOW_S <= self.window_s <= MAX_WINDOW_S:
            msg = (
                f"window {self.window_s // 60} min must be {MIN_WINDOW_S // 60} to "
                f"{MAX_WINDOW_S // 60} min"
            )
            raise ValueError(msg)
        if not 1 <= self.crew_size <= 4:
            msg = f"crew size {self.crew_size} must be 1 to 4"
            raise ValueError(msg)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=k) for k in range(self.num_days)]


@dataclass(frozen=True)
class OfferedSlot:
    """A window one team can keep on one day, and the travel it adds to that team's day."""

    day: date
    window: TimeWindow
    team_id: str
    agent_ids: tuple[str, ...]
    position: int
    start: int
    extra_travel_s: int
    extra_distance_m: int

    def as_json(self, timezone: str) -> dict[str, Any]:
        local = _local(self.day, timezone)
        return {
            "day": self.day.isoformat(),
            "window": {"start": local(self.window.start), "end": local(self.window.end)},
            "team_id": self.team_id,
            "agent_ids": list(self.agent_ids),
            "position": self.position,
            "estimated_start": local(self.start),
            "extra_travel_s": self.extra_travel_s,
            "extra_distance_m": self.extra_distance_m,
        }


@dataclass(frozen=True)
class DayAnswer:
    """One day of the range: its slots (best first) or why it has none."""

    day: date
    slots: tuple[OfferedSlot, ...] = ()
    reason_code: str = ""
    reason: str = ""


@dataclass(frozen=True)
class SlotAnswer:
    """Every day of the range, in order."""

    region_id: str
    timezone: str
    days: tuple[DayAnswer, ...]

    def ranked(self) -> list[OfferedSlot]:
        """All slots, the least extra travel first (then the earliest)."""
        slots = [s for d in self.days for s in d.slots]
        return sorted(slots, key=lambda s: (s.extra_travel_s, s.day, s.window.start))

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.region_id,
            "timezone": self.timezone,
            "slots": [s.as_json(self.timezone) for s in self.ranked()],
            "days": [
                {
                    "day": d.day.isoformat(),
                    "slots": len(d.slots),
                    "reason_code": d.reason_code or None,
                    "reason": d.reason or None,
                }
                for d in self.days
            ],
        }


@dataclass(frozen=True)
class _Context:
    """What every day of a request shares, read once."""

    timezone: str
    policy: Policy
    holidays: frozenset[date]
    network: geo.RoadNetwork
    borrower_flags: frozenset[str]
    borrower_hours: TimeWindow | None
    history: tuple[ContactEvent, ...]
    booked: tuple[tuple[date, int], ...] = field(default=())
    """The borrower's open visits (day, start of its first window) in any region."""


def find_slots(
    engine: Engine, settings: Settings, request: SlotRequest, *, now: datetime
) -> SlotAnswer:
    """The windows the team can keep for `request` on each day of its range.

    Raises ValueError (unknown region, a bad policy) with a message saying what to fix.
    """
    context = _context(engine, settings, request)
    answers = [_day(engine, settings, request, context, day, now) for day in request.days]
    return SlotAnswer(request.region_id, context.timezone, tuple(answers))


def book_slot(
    engine: Engine,
    settings: Settings,
    request: SlotRequest,
    day: date,
    window: TimeWindow,
    *,
    now: datetime,
    actor: str,
    visit_id: str | None = None,
) -> str:
    """Create the appointment in `window` on `day`, if the day can still keep it; its id.

    Bookings of a region take turns (the region's row is held while the slot is checked
    again), so two people booking at once never both get the last room. Raises
    `SlotTakenError` when the window is no longer offered, ValueError for a visit id in use.
    """
    with session_scope(engine) as session:
        session.execute(select(m.Region).where(m.Region.id == request.region_id).with_for_update())
        if visit_id is not None and session.get(m.Visit, visit_id) is not None:
            msg = f"visit id {visit_id!r} is in use; choose another or leave it out"
            raise ValueError(msg)
        single = replace(request, first_day=day, num_days=1)
        offered = find_slots(engine, settings, single, now=now).days[0]
        if not any(s.window == window for s in offered.slots):
            why = offered.reason or "the window is no longer free"
            msg = f"{span(window)} on {day.isoformat()} can no longer be kept: {why}; pick another"
            raise SlotTakenError(msg)
        borrower_id = request.borrower_id or f"BR-{uuid.uuid4().hex[:12]}"
        if session.get(m.Borrower, borrower_id) is None:
            session.add(m.Borrower(id=borrower_id))
            session.flush()
        new_id = visit_id or f"APT-{uuid.uuid4().hex[:12]}"
        session.add(
            m.Visit(
                id=new_id,
                region_id=request.region_id,
                day=day,
                borrower_id=borrower_id,
                lat=request.location.lat,
                lon=request.location.lon,
                address=request.address,
                duration_s=request.duration_s,
                kind=VisitKind.APPOINTMENT.value,
                windows=[[window.start, window.end]],
                skills=sorted(request.skills),
                crew_size=request.crew_size,
                agreed_at=now,
            )
        )
        audit(
            session,
            actor=actor,
            action="book_slot",
            entity="visit",
            entity_id=new_id,
            detail={"region": request.region_id, "day": day.isoformat(), "window": span(window)},
        )
    log.info("appointment booked in %s on %s", request.region_id, day.isoformat())
    return new_id


def _context(engine: Engine, settings: Settings, request: SlotRequest) -> _Context:
    days = request.days
    with read_scope(engine) as session:
        region = get_region(session, request.region_id)
        resolved = resolve_policy(region.policy, settings.policy_dir)
        reach = timedelta(days=lookback_days(resolved.policy))
        zone = ZoneInfo(region.timezone)
        since = datetime.combine(days[0] - reach, time(0), tzinfo=zone)
        until = datetime.combine(days[-1] + reach + timedelta(days=1), time(0), tzinfo=zone)
        flags: frozenset[str] = frozenset()
        hours = None
        history: list[ContactEvent] = []
        booked: list[tuple[date, int]] = []
        if request.borrower_id is not None:
            borrower = session.get(m.Borrower, request.borrower_id)
            if borrower is not None:
                flags = frozenset(borrower.flags)
                if borrower.hours_start is not None and borrower.hours_end is not None:
                    hours = TimeWindow(borrower.hours_start, borrower.hours_end)
            events = session.scalars(
                select(m.ContactEvent).where(
                    m.ContactEvent.borrower_id == request.borrower_id,
                    m.ContactEvent.at >= since,
                    m.ContactEvent.at < until,
                )
            ).all()
            history = [ContactEvent(e.borrower_id, e.at, e.channel, e.outcome) for e in events]
            recorded = {e.visit_id for e in events if e.visit_id}
            visits = session.scalars(
                select(m.Visit).where(
                    m.Visit.borrower_id == request.borrower_id,
                    m.Visit.status == "open",
                    m.Visit.day >= (days[0] - reach),
                    m.Visit.day <= (days[-1] + reach),
                )
            ).all()
            booked = [
                (v.day, v.windows[0][0] if v.windows else 9 * 3600)
                for v in visits
                if v.id not in recorded
            ]
        network_source, timezone = region.network, region.timezone
        country, subdivision = region.country, region.subdivision
        extra = frozenset(h.day for h in region.holidays)
    years = {d.year for d in days}
    return _Context(
        timezone=timezone,
        policy=resolved.policy,
        holidays=region_holidays(country, subdivision, years, extra),
        network=load_network(network_source, settings),
        borrower_flags=flags,
        borrower_hours=hours,
        history=tuple(history),
        booked=tuple(booked),
    )


def _day(
    engine: Engine,
    settings: Settings,
    request: SlotRequest,
    context: _Context,
    day: date,
    now: datetime,
) -> DayAnswer:
    """One day: the policy's verdict, the windows it leaves, and which of them fit."""
    policy, borrower = context.policy, request.borrower_id or NEW_VISIT
    planned = [planned_contact(borrower, d, start, context.timezone) for d, start in context.booked]
    allowed = allowance(
        policy,
        borrower,
        [*context.history, *planned],
        day,
        context.timezone,
        flags=context.borrower_flags,
        holidays=context.holidays,
    )
    if allowed.hours is None:
        why = (
            f"policy {policy.name} allows no visits on {day.isoformat()} "
            f"({_day_name(day, context.holidays)})"
        )
        return DayAnswer(day, reason_code="contact_policy", reason=why)
    if allowed.max_visits == 0:
        return DayAnswer(day, reason_code="contact_policy", reason=allowed.reason)
    blocked_later = _blocks_a_later_visit(request, context, day)
    if blocked_later:
        return DayAnswer(day, reason_code="contact_policy", reason=blocked_later)
    if day < now.astimezone(ZoneInfo(context.timezone)).date():
        return DayAnswer(day, reason_code="past", reason=f"{day.isoformat()} is over")
    windows = _windows(request, context, allowed.hours, allowed.earliest_start, day, now)
    if not windows:
        notice = policy.min_notice_hours
        why = (
            f"no window of {request.window_s // 60} min is left on {day.isoformat()} inside "
            f"the allowed hours ({span(allowed.hours)})"
            + (f" with {notice:g} h notice" if notice else "")
            + (f"; {allowed.reason}" if allowed.reason else "")
        )
        return DayAnswer(day, reason_code="no_window", reason=why)
    return _fit(engine, settings, request, context, day, windows, allowed.min_crew)


def _blocks_a_later_visit(request: SlotRequest, context: _Context, day: date) -> str:
    """Why booking on `day` would leave a visit already agreed on a later day not allowed
    (empty when it would not): the policy looks back from each day it plans."""
    if request.borrower_id is None:
        return ""
    borrower, zone = request.borrower_id, context.timezone
    new = planned_contact(borrower, day, 12 * 3600, zone)
    for k, (later, _start) in enumerate(context.booked):
        if later <= day:
            continue
        others = [
            planned_contact(borrower, d, start, zone)
            for j, (d, start) in enumerate(context.booked)
            if j != k
        ]
        seen = [*context.history, *others]
        before = allowance(context.policy, borrower, seen, later, zone, holidays=context.holidays)
        after = allowance(
            context.policy, borrower, [*seen, new], later, zone, holidays=context.holidays
        )
        if before.max_visits > 0 and after.max_visits == 0:
            return (
                f"a visit on {day.isoformat()} would block the one already agreed on "
                f"{later.isoformat()}: {after.reason}"
            )
    return ""


def _windows(
    request: SlotRequest,
    context: _Context,
    hours: TimeWindow,
    earliest_start: int | None,
    day: date,
    now: datetime,
) -> list[TimeWindow]:
    """The day's candidate windows: `window_s` long, from the start of the allowed hours,
    each starting no earlier than the policy's gap and notice allow and ending so that the
    visit ends inside the hours (the borrower's own hours too)."""
    allowed = hours if context.borrower_hours is None else hours.intersect(context.borrower_hours)
    if allowed is None:
        return []
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(context.timezone))
    notice = now + timedelta(hours=context.policy.min_notice_hours)
    earliest = max(
        allowed.start,
        earliest_start or 0,
        int((notice - midnight).total_seconds()),
    )
    latest = allowed.end - request.duration_s
    windows = []
    start = allowed.start
    while start <= latest:
        first, last = max(start, earliest), min(start + request.window_s, latest)
        if first <= last:
            windows.append(TimeWindow(first, last))
        start += request.window_s
    return windows


def _fit(
    engine: Engine,
    settings: Settings,
    request: SlotRequest,
    context: _Context,
    day: date,
    windows: Sequence[TimeWindow],
    min_crew: int,
) -> DayAnswer:
    """Which windows a team can keep around the day's agreed appointments."""
    with read_scope(engine) as session:
        lookback = lookback_days(context.policy)
        stored = load_day(session, request.region_id, day, lookback)
        current = load_plan(session, request.region_id, day, CURRENT)
        plan_orders = (
            {r["team_id"]: [s["visit_id"] for s in r["stops"]] for r in current.document["routes"]}
            if current is not None
            else {}
        )
    if not stored.day_input.agents:
        return DayAnswer(day, reason_code="no_team", reason=f"no agent works on {day.isoformat()}")
    policy_day = apply_policy(
        stored.day_input,
        context.policy,
        stored.history,
        day=day,
        timezone=context.timezone,
        holidays=context.holidays,
    )
    kept = policy_day.day_input
    appointments = [v for v in kept.visits if v.kind is VisitKind.APPOINTMENT]
    new = Visit(
        id=NEW_VISIT,
        borrower_id=request.borrower_id or NEW_VISIT,
        location=request.location,
        duration=request.duration_s,
        kind=VisitKind.APPOINTMENT,
        required_skills=request.skills,
        crew_size=max(request.crew_size, min_crew),
    )
    rules = [r for r in kept.borrowers if r.borrower_id != new.borrower_id]
    day_input = replace(
        kept,
        visits=(*appointments, new),
        borrowers=(*rules, BorrowerRule(new.borrower_id, max_visits=1)),
    )
    routable = build_problem(
        day_input,
        context.network,
        day=day,
        timezone=context.timezone,
        max_snap_m=settings.max_snap_m,
        cache_dir=settings.cache_dir / "matrices",
    )
    problem = routable.problem
    point = problem.visit_point(len(appointments))
    agents_points = slice(problem.num_visits, problem.num_points)
    if all(
        (m_.durations[point, agents_points] >= UNREACHABLE).all()
        for m_ in problem.matrices.values()
    ):
        why = "the address is too far from every road the agents use"
        return DayAnswer(day, reason_code="no_road_connection", reason=why)
    ids = {v.id for v in appointments}
    routes = {team: [v for v in order if v in ids] for team, order in plan_orders.items()}
    placed = {v for order in routes.values() for v in order}
    routes, _left_out = insert_greedily(
        problem, routes, [v.id for v in appointments if v.id not in placed]
    )
    teams = {t.id: t for t in problem.teams()}
    routes = {team: order for team, order in routes.items() if team in teams}
    found = insertion_slots(problem, routes, NEW_VISIT, windows)
    slots = [
        OfferedSlot(
            day=day,
            window=f.window,
            team_id=f.team_id,
            agent_ids=teams[f.team_id].agent_ids,
            position=f.position,
            start=f.start,
            extra_travel_s=f.extra_travel_s,
            extra_distance_m=f.extra_distance_m,
        )
        for f in found
        if isinstance(f, Slot)
    ]
    if slots:
        return DayAnswer(day, slots=tuple(sorted(slots, key=lambda s: (s.extra_travel_s, s.start))))
    misses = [f for f in found if isinstance(f, NoSlot)]
    code = "no_team" if any(f.reason_code == "no_team" for f in misses) else "full"
    return DayAnswer(day, reason_code=code, reason=f"{misses[0].reason} on {day.isoformat()}")


def _local(day: date, timezone: str) -> Callable[[int], str]:
    """Seconds since local midnight of `day` as ISO local date-times (wall-clock arithmetic,
    as the plan JSON writes them)."""
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))

    def iso(seconds: int) -> str:
        return (midnight + timedelta(seconds=seconds)).isoformat(timespec="seconds")

    return iso


def _day_name(day: date, holidays: frozenset[date]) -> str:
    return "a public holiday" if day in holidays else day.strftime("%A")
