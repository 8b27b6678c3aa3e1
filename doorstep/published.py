"""Publishing a plan to the agents, and what one agent sees of it.

A region-day's *current* plan is what planning last stored; dispatchers look at it, re-plan
and compare. Agents work from the *published* plan only: a copy of the current plan made when
a dispatcher publishes, so re-planning during the day never moves stops under an agent's feet.

An agent sees their own route of today's published plan (today in their region's time zone)
and nothing else: no other team's stops, no plan of another day, nothing about a debt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.db import models as m
from doorstep.db.store import CURRENT, audit, load_plan, plan_rows_from_document, save_plan

PUBLISHED = "published"
"""The status of the plan agents work from."""

AGENT_STOP_FIELDS = (
    "sequence",
    "visit_id",
    "borrower_id",
    "kind",
    "address",
    "lat",
    "lon",
    "windows",
    "arrival",
    "start",
    "end",
)
"""What an agent sees of a stop: where, when, whom. Nothing else of the plan JSON (no
priority, no policy, nothing about the debt) reaches a phone."""
AGENT_ROUTE_FIELDS = (
    "team_id",
    "agent_ids",
    "agent_names",
    "mode",
    "start_label",
    "departure",
    "arrival",
    "breaks",
    "num_stops",
    "geometry",
)


class NoPlanError(LookupError):
    """There is no plan to act on; the message says how to make one."""


@dataclass(frozen=True)
class Publication:
    """A published plan: its id and size, for the caller's reply and the audit log."""

    plan_id: int
    region_id: str
    day: date
    routes: int
    stops: int


def publish(session: Session, region_id: str, day: date, *, actor: str) -> Publication:
    """Copy the current plan of `region_id` on `day` to the published one, replacing it.

    In the caller's transaction: agents see the old published plan or the new one, never a
    mix. Raises `NoPlanError` when the region-day has no current plan.
    """
    current = load_plan(session, region_id, day, CURRENT)
    if current is None:
        msg = (
            f"region {region_id} has no plan for {day.isoformat()} to publish; plan it first "
            f"(`doorstep plan --region {region_id} --day {day.isoformat()}`)"
        )
        raise NoPlanError(msg)
    routes, stops, unassigned = plan_rows_from_document(current.document)
    plan_id = save_plan(
        session,
        region_id=region_id,
        day=day,
        document=current.document,
        routes=routes,
        stops=stops,
        unassigned=unassigned,
        policy=current.policy,
        objective=current.objective,
        solve_seconds=current.solve_seconds,
        status=PUBLISHED,
    )
    audit(
        session,
        actor=actor,
        action="publish",
        entity="plan",
        entity_id=f"{region_id}/{day.isoformat()}",
        detail={"plan_id": plan_id, "from_plan_id": current.id, "stops": len(stops)},
    )
    return Publication(plan_id, region_id, day, len(routes), len(stops))


def local_today(session: Session, region_id: str, now: datetime) -> tuple[date, str]:
    """Today's date in `region_id`'s time zone at the aware instant `now`, and the zone."""
    region = session.get(m.Region, region_id)
    if region is None:
        msg = f"region {region_id!r} is not in the database"
        raise LookupError(msg)
    return now.astimezone(ZoneInfo(region.timezone)).date(), region.timezone


def agent_route_document(session: Session, agent_id: str, *, now: datetime) -> dict[str, Any]:
    """Agent `agent_id`'s route in today's published plan of their region, for their phone.

    `now` is an aware instant; "today" is its date in the region's time zone, so the route
    disappears at local midnight. `route` is None (with a `message`) when the agent has no
    published route today. Each stop carries the outcome recorded for it, if any.
    """
    agent = session.get(m.Agent, agent_id)
    if agent is None:
        msg = f"agent {agent_id!r} is not in the database"
        raise LookupError(msg)
    today, timezone = local_today(session, agent.region_id, now)
    document: dict[str, Any] = {
        "day": today.isoformat(),
        "timezone": timezone,
        # The server's clock: phones' clocks are often wrong, so outcomes are timed by this.
        "now": now.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds"),
        "region": agent.region_id,
        "agent_id": agent_id,
        "route": None,
        "message": "",
    }
    plan = session.scalars(
        select(m.Plan).where(
            m.Plan.region_id == agent.region_id, m.Plan.day == today, m.Plan.status == PUBLISHED
        )
    ).one_or_none()
    route = None
    if plan is not None:
        route = next((r for r in plan.document["routes"] if agent_id in r["agent_ids"]), None)
    if plan is None or route is None:
        document["message"] = f"no published route for agent {agent_id} on {today.isoformat()}"
        return document
    visible: dict[str, Any] = {key: route.get(key) for key in AGENT_ROUTE_FIELDS}
    visible["stops"] = [
        {key: stop.get(key) for key in AGENT_STOP_FIELDS} for stop in route["stops"]
    ]
    recorded = _recorded_outcomes(session, [s["visit_id"] for s in visible["stops"]])
    for stop in visible["stops"]:
        stop["outcome"] = recorded.get(stop["visit_id"])
    document["route"] = visible
    document["plan_id"] = plan.id
    document["published_at"] = plan.created_at.isoformat()
    return document


def _recorded_outcomes(session: Session, visit_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The latest outcome agents recorded for each of these visits."""
    if not visit_ids:
        return {}
    events = session.scalars(
        select(m.ContactEvent)
        .where(m.ContactEvent.visit_id.in_(visit_ids), m.ContactEvent.source == "agent")
        .order_by(m.ContactEvent.at, m.ContactEvent.id)
    ).all()
    return {
        e.visit_id: {"id": e.id, "outcome": e.outcome, "at": e.at.isoformat()}
        for e in events
        if e.visit_id is not None
    }
