"""Save and read plans, policy versions and the audit log.

Pure functions of a `Session`: the caller owns the transaction (`session_scope`), so a plan,
the policy versions it used and its audit entry commit together or not at all. Times of day
are seconds since local midnight of the plan day, as in the routing core.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from doorstep.db.models import (
    AuditEntry,
    Plan,
    PlanRoute,
    PlanStop,
    PlanUnassigned,
    PolicyVersion,
    Region,
)

CURRENT = "current"
"""The status of the plan agents work from; other statuses (e.g. "draft") are kept apart."""
_IN_CHUNK = 500
"""Ids per `IN (…)` list: well under every driver's limit on bound parameters."""


@dataclass(frozen=True)
class RouteRow:
    """One team's route (a `plan_routes` row); `breaks` are (start, end) pairs."""

    team_id: str
    agent_ids: tuple[str, ...]
    mode: str
    departure: int
    arrival: int
    travel_time_s: int
    travel_distance_m: int
    breaks: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class StopRow:
    """One planned visit (a `plan_stops` row); `sequence` counts from 1 within its route, and
    the travel is that of the leg leading here. `policy` names the rules that allowed it."""

    team_id: str
    sequence: int
    visit_id: str
    borrower_id: str
    arrival: int
    start: int
    end: int
    travel_time_s: int
    travel_distance_m: int
    policy: str = ""


@dataclass(frozen=True)
class UnassignedRow:
    """A visit the plan leaves out (a `plan_unassigned` row)."""

    visit_id: str
    reason_code: str
    reason: str


@dataclass(frozen=True)
class PlannedStop:
    """A visit another region's current plan makes to a borrower; `start` and `end` are
    seconds since local midnight of `day` in that region."""

    region_id: str
    day: date
    visit_id: str
    borrower_id: str
    start: int
    end: int


def record_policy_layers(session: Session, layers: Sequence[tuple[str, str, str]]) -> list[int]:
    """Keep each policy layer `(name, version, toml content)` forever; return their row ids.

    A new (name, version) is stored; a known one must have the same content, because stops
    saved earlier name it as the rules that allowed them. Raises ValueError otherwise.
    """
    ids = []
    for name, version, content in layers:
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        row = _policy_version(session, name, version)
        if row is None:
            row = _insert_policy_version(session, name, version, digest, content)
        if row.content_sha256 != digest:
            msg = (
                f"policy {name} version {version} changed content since it was first used; "
                "give it a new version"
            )
            raise ValueError(msg)
        ids.append(row.id)
    return ids


def save_plan(
    session: Session,
    *,
    region_id: str,
    day: date,
    document: dict[str, Any],
    routes: Sequence[RouteRow],
    stops: Sequence[StopRow],
    unassigned: Sequence[UnassignedRow],
    policy: str,
    objective: int,
    solve_seconds: float,
    status: str = CURRENT,
) -> int:
    """Replace the plan of `region_id` on `day` with this `status`; return the new plan's id.

    The old plan and its rows are deleted and the new one inserted in the caller's
    transaction: if anything fails before it commits, the old plan is still there, whole.
    """
    if session.get(Region, region_id) is None:
        msg = f"region {region_id!r} is not in the database; add the region before its plans"
        raise ValueError(msg)
    teams = {r.team_id for r in routes}
    strays = sorted({s.team_id for s in stops} - teams)
    if strays:
        msg = f"stops of team(s) {', '.join(strays)} have no route in the plan"
        raise ValueError(msg)
    # Only the plan row: its children go by ON DELETE CASCADE, unread (models.Plan).
    old = session.scalars(
        select(Plan).where(Plan.region_id == region_id, Plan.day == day, Plan.status == status)
    ).one_or_none()
    if old is not None:
        session.delete(old)
        # The unique (region, day, status) row must be gone before its successor is inserted.
        session.flush()
    plan = Plan(
        region_id=region_id,
        day=day,
        status=status,
        policy=policy,
        objective=objective,
        solve_seconds=solve_seconds,
        document=document,
        routes=[_route(r) for r in routes],
        stops=[_stop(s) for s in stops],
        unassigned=[
            PlanUnassigned(visit_id=u.visit_id, reason_code=u.reason_code, reason=u.reason)
            for u in unassigned
        ],
    )
    session.add(plan)
    session.flush()
    return plan.id


def plan_rows_from_document(
    document: dict[str, Any], *, policy: str | None = None
) -> tuple[list[RouteRow], list[StopRow], list[UnassignedRow]]:
    """The rows of a plan JSON document (`doorstep.export.plan_document`).

    The document's times are local ISO date-times; the rows get seconds since local midnight
    of the plan day, on the wall clock (09:00 is 32400 on the day the clocks change too, as
    `optimizer.Plan.local_time` writes it). A stop's `policy` is its own "policy" field if it
    has one, else `policy`, else the document's "policy" (or "").
    """
    day = date.fromisoformat(document["day"])
    midnight = datetime.combine(day, time(0))

    def seconds(iso: str) -> int:
        wall = datetime.fromisoformat(iso).replace(tzinfo=None)
        return round((wall - midnight).total_seconds())

    plan_policy = str(document.get("policy", "")) if policy is None else policy
    routes, stops = [], []
    for route in document["routes"]:
        routes.append(
            RouteRow(
                team_id=route["team_id"],
                agent_ids=tuple(route["agent_ids"]),
                mode=route["mode"],
                departure=seconds(route["departure"]),
                arrival=seconds(route["arrival"]),
                travel_time_s=route["travel_time_s"],
                travel_distance_m=route["travel_distance_m"],
                breaks=tuple((seconds(b["start"]), seconds(b["end"])) for b in route["breaks"]),
            )
        )
        stops += [
            StopRow(
                team_id=route["team_id"],
                sequence=stop["sequence"],
                visit_id=stop["visit_id"],
                borrower_id=stop["borrower_id"],
                arrival=seconds(stop["arrival"]),
                start=seconds(stop["start"]),
                end=seconds(stop["end"]),
                travel_time_s=stop["travel_time_s"],
                travel_distance_m=stop["travel_distance_m"],
                policy=str(stop.get("policy", plan_policy)),
            )
            for stop in route["stops"]
        ]
    unassigned = [
        UnassignedRow(visit_id=u["visit_id"], reason_code=u["reason_code"], reason=u["reason"])
        for u in document["unassigned"]
    ]
    return routes, stops, unassigned


def load_plan(session: Session, region_id: str, day: date, status: str = CURRENT) -> Plan | None:
    """The plan of `region_id` on `day` with `status`, its routes, stops and unassigned
    visits loaded; None when there is none."""
    statement = (
        select(Plan)
        .where(Plan.region_id == region_id, Plan.day == day, Plan.status == status)
        .options(selectinload(Plan.routes), selectinload(Plan.stops), selectinload(Plan.unassigned))
    )
    return session.scalars(statement).one_or_none()


def planned_stops(
    session: Session,
    *,
    days: tuple[date, date],
    borrower_ids: Collection[str],
    exclude_region: str | None,
) -> list[PlannedStop]:
    """Visits to these borrowers in the current plans of other regions, `days` inclusive.

    Regions are planned separately; this is what lets a borrower's contact limits hold across
    them. Sorted by borrower, day, start.
    """
    first, last = days
    if first > last:
        msg = f"days run backwards: {first} is after {last}"
        raise ValueError(msg)
    wanted = sorted(set(borrower_ids))
    found: list[PlannedStop] = []
    for offset in range(0, len(wanted), _IN_CHUNK):
        statement = (
            select(
                Plan.region_id,
                Plan.day,
                PlanStop.visit_id,
                PlanStop.borrower_id,
                PlanStop.start,
                PlanStop.end,
            )
            .join(PlanStop.plan)
            .where(
                Plan.status == CURRENT,
                Plan.day >= first,
                Plan.day <= last,
                PlanStop.borrower_id.in_(wanted[offset : offset + _IN_CHUNK]),
            )
        )
        if exclude_region is not None:
            statement = statement.where(Plan.region_id != exclude_region)
        found += [PlannedStop(*row) for row in session.execute(statement)]
    return sorted(found, key=lambda s: (s.borrower_id, s.day, s.start, s.region_id, s.visit_id))


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Record that `actor` did `action` to `entity` `entity_id`. `detail` holds counts and
    ids, never borrower data (the log is read by people who must not see debts)."""
    session.add(
        AuditEntry(
            actor=actor, action=action, entity=entity, entity_id=entity_id, detail=detail or {}
        )
    )


def _policy_version(session: Session, name: str, version: str) -> PolicyVersion | None:
    statement = select(PolicyVersion).where(
        PolicyVersion.name == name, PolicyVersion.version == version
    )
    return session.scalars(statement).one_or_none()


def _insert_policy_version(
    session: Session, name: str, version: str, digest: str, content: str
) -> PolicyVersion:
    row = PolicyVersion(name=name, version=version, content_sha256=digest, content=content)
    try:
        # A savepoint: when a parallel worker stored the same version first, only this
        # insert is undone, not the caller's transaction.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = _policy_version(session, name, version)
        if existing is None:
            raise
        return existing
    return row


def _route(row: RouteRow) -> PlanRoute:
    return PlanRoute(
        team_id=row.team_id,
        agent_ids=list(row.agent_ids),
        mode=row.mode,
        departure=row.departure,
        arrival=row.arrival,
        travel_time_s=row.travel_time_s,
        travel_distance_m=row.travel_distance_m,
        breaks=[list(b) for b in row.breaks],
    )


def _stop(row: StopRow) -> PlanStop:
    return PlanStop(**dataclasses.asdict(row))
