"""Plan a region-day from the database and write the plan back: the two ends around routing.

`prepare` reads the day and its contact history, resolves the region's policy and applies
it; the caller routes (`doorstep.planning.plan_day`); `save` stores the validated plan in one
transaction, with the policy versions that allowed it, replacing the region-day's previous
plan whole or not at all. Routing happens between the two, outside any transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from doorstep.contact import PolicyDay, apply_policy, region_holidays
from doorstep.csvio import DayInput
from doorstep.db.days import get_region, load_day, lookback_days
from doorstep.db.engine import session_scope
from doorstep.db.store import (
    audit,
    plan_rows_from_document,
    planned_stops,
    record_policy_layers,
    save_plan,
)
from doorstep.export import plan_document
from doorstep.planning import DayPlan
from doorstep.policies import ResolvedPolicy, resolve_policy


class ConcurrentPlanError(RuntimeError):
    """Another region's plan for the same borrowers was saved while this one was solved."""


@dataclass(frozen=True)
class PreparedDay:
    """A stored region-day with its policy applied, ready to route."""

    region_id: str
    day: date
    timezone: str
    network: str
    policy: ResolvedPolicy
    policy_day: PolicyDay
    elsewhere: frozenset[tuple[str, str]]
    """(region, visit) of the other regions' planned visits that were counted."""


def prepare(
    engine: Engine,
    region_id: str,
    day: date,
    *,
    policy_dir: Path | None,
    own_visits: frozenset[str] = frozenset(),
) -> tuple[PreparedDay, DayInput]:
    """Read `region_id` on `day` and apply its policy. Returns the prepared day and the day
    as stored (a `DayInput` with every open visit, for the plan's unassigned list).

    `own_visits` are the visits of a plan being changed rather than made afresh: outcomes
    already recorded for them do not count against their borrowers (see `load_day`)."""
    with session_scope(engine) as session:
        region = get_region(session, region_id)
        resolved = resolve_policy(region.policy, policy_dir)
        lookback = lookback_days(resolved.policy)
        stored = load_day(session, region_id, day, lookback, own_visits=own_visits)
        borrowers = {v.borrower_id for v in stored.day_input.visits}
        elsewhere = _elsewhere(session, day, lookback, borrowers, region_id)
        country, subdivision, timezone = region.country, region.subdivision, region.timezone
        network = region.network
    holidays = region_holidays(country, subdivision, {day.year}, stored.extra_holidays)
    policy_day = apply_policy(
        stored.day_input,
        resolved.policy,
        stored.history,
        day=day,
        timezone=timezone,
        holidays=holidays,
    )
    prepared = PreparedDay(
        region_id, day, timezone, network, resolved, policy_day, frozenset(elsewhere)
    )
    return prepared, stored.day_input


def save(engine: Engine, prepared: PreparedDay, day_plan: DayPlan, *, actor: str) -> int:
    """Store `day_plan` as the region-day's current plan; return its id.

    Refuses (`ConcurrentPlanError`) when another region saved a plan visiting the same
    borrowers since `prepare` read them: the caps were evaluated without it, so plan again.
    """
    with session_scope(engine) as session:
        return save_document(
            session,
            prepared,
            plan_document(day_plan),
            policy=day_plan.policy,
            objective=day_plan.plan.objective,
            solve_seconds=day_plan.plan.solve_seconds,
            actor=actor,
        )


def save_document(
    session: Session,
    prepared: PreparedDay,
    document: dict[str, Any],
    *,
    policy: str,
    objective: int,
    solve_seconds: float,
    actor: str,
) -> int:
    """`save` for a plan that arrives as its plan JSON, in the caller's transaction.

    The nightly batch gets plans back from its workers as documents (a `DayPlan` carries
    the travel matrices, too heavy to send back) and commits each plan together with its
    run record, so this takes the caller's session and does not commit.
    """
    routes, stops, unassigned = plan_rows_from_document(document)
    borrowers = {s.borrower_id for s in stops}
    lookback = lookback_days(prepared.policy.policy)
    now = _elsewhere(session, prepared.day, lookback, borrowers, prepared.region_id)
    if not now <= prepared.elsewhere:
        regions = sorted({region for region, _ in now - prepared.elsewhere})
        msg = (
            f"region(s) {', '.join(regions)} saved a plan visiting the same borrowers while "
            f"{prepared.region_id} was being planned; plan {prepared.region_id} again"
        )
        raise ConcurrentPlanError(msg)
    layers = prepared.policy.layers
    record_policy_layers(
        session, [(la.policy.name, la.policy.version, la.content) for la in layers]
    )
    plan_id = save_plan(
        session,
        region_id=prepared.region_id,
        day=prepared.day,
        document=document,
        routes=routes,
        stops=stops,
        unassigned=unassigned,
        policy=policy,
        objective=objective,
        solve_seconds=solve_seconds,
    )
    audit(
        session,
        actor=actor,
        action="plan",
        entity="plan",
        entity_id=f"{prepared.region_id}/{prepared.day.isoformat()}",
        detail={
            "plan_id": plan_id,
            "stops": len(stops),
            "unassigned": len(unassigned),
            "policy": policy,
        },
    )
    return plan_id


def _elsewhere(
    session: Session, day: date, lookback: int, borrowers: set[str], region_id: str
) -> set[tuple[str, str]]:
    """(region, visit) of every visit other regions' current plans make to `borrowers`."""
    found = planned_stops(
        session,
        days=(day - timedelta(days=lookback), day),
        borrower_ids=borrowers,
        exclude_region=region_id,
    )
    return {(s.region_id, s.visit_id) for s in found}
