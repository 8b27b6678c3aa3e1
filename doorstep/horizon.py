"""Plan several days at once: choose the day of each flexible visit, then plan each day.

Agreed appointments stay on their day. Flexible visits (no agreed time yet) of every day of
the horizon form one pool, and each gets a day: among the days its borrower may be visited
(the contact policy's hours, caps and gaps, counting the visits given other days of the
horizon and the borrower's appointments), the one whose work so far (appointments
included) is the smallest share of what its teams can do, and among days about as loaded
the one whose visits lie nearest (less travel).
The most constrained visits choose first. Each day is then planned in order (the visits
routed on earlier days count toward the policy of later ones); a flexible visit a day could
not fit moves on to the next day that may take it. All the days' plans, and the flexible
visits' new days, are stored in one transaction: all of them or none.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from doorstep.contact import apply_policy, planned_contact, region_holidays
from doorstep.csvio import DayInput
from doorstep.db import models as m
from doorstep.db.days import StoredDay, get_region, load_day, lookback_days
from doorstep.db.engine import read_scope, session_scope
from doorstep.export import plan_document
from doorstep.planning import DayPlan, PlanInvalidError, plan_day
from doorstep.policies import resolve_policy
from doorstep.region_planning import RegionPlanError, check_area, load_network
from doorstep.settings import Settings
from doorstep.stored_plans import ConcurrentPlanError, prepare, save_document
from optimizer import SolverTimeoutError, Visit, VisitKind
from optimizer.policy import ContactEvent, Policy, allowance

log = logging.getLogger(__name__)

MAX_HORIZON_DAYS = 14
VISITS_PER_TEAM = 8
"""A team's day when it states no `max_visits`: the middle of the 5 to 12 home visits a field
agent makes, used only to spread the flexible visits over the days."""
BALANCE_KM = 5.0
"""How far (km) a visit is worth moving to a day whose load is a whole day's capacity
lower: balance first, distance second."""


@dataclass(frozen=True)
class HorizonDay:
    """One planned day of the horizon."""

    day: date
    plan_id: int
    visits: int
    routed: int
    flexible_routed: int
    moved_here: int
    """Flexible visits routed here that were filed under another day."""
    appointments: int
    appointments_kept: int
    travel_time_s: int


@dataclass(frozen=True)
class HorizonResult:
    """Every day's plan, and the flexible visits no day of the horizon could take (each with
    the reason of the last day that tried, or the policy's)."""

    days: tuple[HorizonDay, ...]
    unplaced: tuple[tuple[str, str], ...]


def plan_horizon(
    engine: Engine,
    settings: Settings,
    region_id: str,
    first_day: date,
    num_days: int,
    *,
    time_limit: float,
    actor: str,
    max_solutions: int | None = None,
) -> HorizonResult:
    """Plan `num_days` days from `first_day` of the region (see the module docstring) and
    store each as its day's current plan. `time_limit` is per day. Raises
    `RegionPlanError` with what to fix."""
    if not 1 <= num_days <= MAX_HORIZON_DAYS:
        raise RegionPlanError(f"the horizon must be 1 to {MAX_HORIZON_DAYS} days, got {num_days}")
    days = [first_day + timedelta(days=k) for k in range(num_days)]
    with read_scope(engine) as session:
        try:
            region = get_region(session, region_id)
            resolved = resolve_policy(region.policy, settings.policy_dir)
        except ValueError as exc:
            raise RegionPlanError(str(exc)) from None
        lookback = lookback_days(resolved.policy) + num_days
        stored = {d: load_day(session, region_id, d, lookback) for d in days}
        zone, source = region.timezone, region.network
        country, subdivision = region.country, region.subdivision
    policy = resolved.policy
    extra = next(iter(stored.values())).extra_holidays
    holidays = region_holidays(country, subdivision, {d.year for d in days}, extra)
    if not any(s.day_input.visits for s in stored.values()):
        msg = (
            f"region {region_id} has no open visits in the {num_days} days from "
            f"{first_day.isoformat()}"
        )
        raise RegionPlanError(msg)
    network = load_network(source, settings)
    merged = _merged(stored)
    try:
        check_area(merged, network, visits_file="visits", agents_file="agents")
    except ValueError as exc:
        raise RegionPlanError(str(exc)) from None

    origin = {v.id: d for d in days for v in stored[d].day_input.visits}
    appointments = {
        d: [v for v in stored[d].day_input.visits if v.kind is VisitKind.APPOINTMENT] for d in days
    }
    pool = [v for d in days for v in stored[d].day_input.visits if v.kind is VisitKind.FLEXIBLE]
    history = _history(stored)
    chosen, unplaced = _choose_days(
        pool, days, appointments, stored, history, policy, zone, holidays
    )

    planned: list[ContactEvent] = []
    carried: list[Visit] = []
    plans: dict[date, DayPlan] = {}
    for k, day in enumerate(days):
        todays = [*appointments[day], *chosen[day], *carried]
        day_input = replace(
            merged,
            visits=tuple(todays),
            agents=stored[day].day_input.agents,
            crews=stored[day].day_input.crews,
        )
        seen = [*history, *planned]
        policy_day = apply_policy(
            day_input, policy, seen, day=day, timezone=zone, holidays=holidays
        )
        try:
            day_plan = plan_day(
                day_input,
                network,
                day=day,
                timezone=zone,
                region=region_id,
                time_limit=time_limit,
                max_solutions=max_solutions,
                max_snap_m=settings.max_snap_m,
                cache_dir=settings.cache_dir / "matrices",
                policy_day=policy_day,
            )
        except SolverTimeoutError as exc:
            raise RegionPlanError(f"{day.isoformat()}: {exc} (--time-limit)") from None
        except PlanInvalidError as exc:
            raise RegionPlanError(f"internal error, no plan written: {exc}") from None
        plans[day] = day_plan
        routed = {s.visit_id: s.start for r in day_plan.plan.routes for s in r.stops}
        by_id = {v.id: v for v in todays}
        planned += [
            planned_contact(by_id[vid].borrower_id, day, start, zone)
            for vid, start in routed.items()
        ]
        left = [v for v in todays if v.kind is VisitKind.FLEXIBLE and v.id not in routed]
        carried = left if k + 1 < len(days) else []
        if k + 1 == len(days):
            reasons = {u.visit_id: u.reason for u in day_plan.plan.unassigned}
            unplaced += [(v.id, reasons.get(v.id, "")) for v in left]

    return _store(engine, settings, region_id, days, plans, origin, actor, unplaced)


def _merged(stored: dict[date, StoredDay]) -> DayInput:
    """One `DayInput` with what every day of the horizon knows of its visits and borrowers."""
    first = next(iter(stored.values())).day_input
    rules: dict[str, Any] = {}
    addresses: dict[str, str] = {}
    agreed: dict[str, Any] = {}
    flags: dict[str, frozenset[str]] = {}
    for s in stored.values():
        for rule in s.day_input.borrowers:
            rules.setdefault(rule.borrower_id, rule)
        addresses.update(s.day_input.addresses)
        agreed.update(s.day_input.agreed_at)
        flags.update(s.day_input.borrower_flags)
    return replace(
        first,
        visits=tuple(v for s in stored.values() for v in s.day_input.visits),
        borrowers=tuple(rules.values()),
        addresses=addresses,
        agreed_at=agreed,
        borrower_flags=flags,
    )


def _history(stored: dict[date, StoredDay]) -> list[ContactEvent]:
    """Every contact any day of the horizon counts, once."""
    seen: set[tuple[str, Any, str, str]] = set()
    events = []
    for s in stored.values():
        for e in s.history:
            key = (e.borrower_id, e.at, e.channel, e.outcome)
            if key not in seen:
                seen.add(key)
                events.append(e)
    return events


def _choose_days(
    pool: Sequence[Visit],
    days: Sequence[date],
    appointments: dict[date, list[Visit]],
    stored: dict[date, StoredDay],
    history: list[ContactEvent],
    policy: Policy,
    zone: str,
    holidays: frozenset[date],
) -> tuple[dict[date, list[Visit]], list[tuple[str, str]]]:
    """A day for each flexible visit (see the module docstring), and those with none."""
    # The day's whole work counts: appointments fill part of a day before any visit is given.
    capacity = {d: max(1, _capacity(stored[d].day_input)) for d in days}
    load = {d: len(appointments[d]) for d in days}
    points: dict[date, list[tuple[float, float]]] = {
        d: [(v.location.lat, v.location.lon) for v in appointments[d]] for d in days
    }
    given: dict[str, list[ContactEvent]] = defaultdict(list)
    for d in days:
        for v in appointments[d]:
            start = v.windows[0].start if v.windows else 9 * 3600
            given[v.borrower_id].append(planned_contact(v.borrower_id, d, start, zone))
    flags = {b: f for s in stored.values() for b, f in s.day_input.borrower_flags.items()}

    def allowed(visit: Visit) -> tuple[list[date], str]:
        open_days, why = [], ""
        for d in days:
            verdict = allowance(
                policy,
                visit.borrower_id,
                [*history, *given[visit.borrower_id]],
                d,
                zone,
                flags=flags.get(visit.borrower_id, frozenset()),
                holidays=holidays,
            )
            if verdict.max_visits > 0 and verdict.hours is not None:
                open_days.append(d)
            elif not why:
                why = verdict.reason or f"policy {policy.name} allows no visit on {d.isoformat()}"
        return open_days, why

    options = {v.id: allowed(v)[0] for v in pool}
    order = sorted(pool, key=lambda v: (len(options[v.id]), -v.priority, v.id))
    chosen: dict[date, list[Visit]] = {d: [] for d in days}
    unplaced: list[tuple[str, str]] = []
    for visit in order:
        open_days, why = allowed(visit)  # again: the borrower's other visits may have a day now
        if not open_days:
            unplaced.append((visit.id, why))
            continue
        spot = (visit.location.lat, visit.location.lon)

        def score(d: date, spot: tuple[float, float] = spot) -> tuple[float, date]:
            ratio = load[d] / capacity[d]
            return (ratio * BALANCE_KM + _nearest_km(spot, points[d]), d)

        day = min(open_days, key=score)
        chosen[day].append(visit)
        load[day] += 1
        points[day].append(spot)
        start = visit.windows[0].start if visit.windows else 12 * 3600
        given[visit.borrower_id].append(planned_contact(visit.borrower_id, day, start, zone))
    return chosen, unplaced


def _capacity(day_input: DayInput) -> int:
    """How many visits the day's teams can make, by their `max_visits` (a crew by its
    tightest member) or `VISITS_PER_TEAM`."""
    in_crew = {a for c in day_input.crews for a in c.agent_ids}
    agents = {a.id: a for a in day_input.agents}
    total = 0
    for crew in day_input.crews:
        limits = [v for a in crew.agent_ids if (v := agents[a].max_visits) is not None]
        total += min(limits) if limits else VISITS_PER_TEAM
    for agent in day_input.agents:
        if agent.id not in in_crew:
            total += agent.max_visits if agent.max_visits is not None else VISITS_PER_TEAM
    return total


def _nearest_km(spot: tuple[float, float], others: Sequence[tuple[float, float]]) -> float:
    """Distance (km, equirectangular: a city's scale) to the nearest of `others` (0 if none)."""
    if not others:
        return 0.0
    lat0 = math.radians(spot[0])
    return min(
        6371.0
        * math.hypot(math.radians(lat - spot[0]), math.radians(lon - spot[1]) * math.cos(lat0))
        for lat, lon in others
    )


def _store(
    engine: Engine,
    settings: Settings,
    region_id: str,
    days: Sequence[date],
    plans: dict[date, DayPlan],
    origin: dict[str, date],
    actor: str,
    unplaced: list[tuple[str, str]],
) -> HorizonResult:
    """Every day's plan and the moved visits' new days, in one transaction."""
    prepared = {d: prepare(engine, region_id, d, policy_dir=settings.policy_dir)[0] for d in days}
    results = []
    try:
        with session_scope(engine) as session:
            for day in days:
                day_plan = plans[day]
                document = plan_document(day_plan)
                routed = [s for r in day_plan.plan.routes for s in r.stops]
                moved = [s.visit_id for s in routed if origin.get(s.visit_id) != day]
                for visit_id in moved:
                    row = session.get(m.Visit, visit_id)
                    if row is not None:
                        row.day = day
                session.flush()
                plan_id = save_document(
                    session,
                    prepared[day],
                    document,
                    policy=day_plan.policy,
                    objective=day_plan.plan.objective,
                    solve_seconds=day_plan.plan.solve_seconds,
                    actor=actor,
                )
                summary = document["summary"]
                kinds = {v.id: v.kind for v in day_plan.day_input.visits}
                results.append(
                    HorizonDay(
                        day=day,
                        plan_id=plan_id,
                        visits=summary["visits"],
                        routed=summary["visits_routed"],
                        flexible_routed=sum(
                            1 for s in routed if kinds.get(s.visit_id) is VisitKind.FLEXIBLE
                        ),
                        moved_here=len(moved),
                        appointments=summary["appointments"],
                        appointments_kept=summary["appointments_kept"],
                        travel_time_s=summary["travel_time_s"],
                    )
                )
    except (ConcurrentPlanError, ValueError) as exc:
        raise RegionPlanError(f"plans not stored: {exc}") from None
    log.info("planned %s for %d days from %s", region_id, len(days), days[0].isoformat())
    return HorizonResult(tuple(results), tuple(unplaced))
