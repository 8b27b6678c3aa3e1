"""The run record in the database: which regions a run planned, how each went, how it ended.

A region's result is written in the same transaction as its plan, so after a crash the
record never claims a plan that is not there, nor misses one that is: a resumed run
re-plans exactly the regions without a committed result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.models import BatchRegionResult, BatchRun, utcnow
from doorstep.db.store import CURRENT

PLANNED = "planned"
"""A plan was made and stored in this run."""
UNCHANGED = "unchanged"
"""The region's current plan was made by a batch from the same input: left as it is."""
FAILED = "failed"
"""No plan: bad data, a failed solve or dying workers (`detail["failure"]` says which)."""
SKIPPED = "skipped"
"""Nothing to plan: the region has no open visits that day."""
DONE = (PLANNED, UNCHANGED, SKIPPED)
"""Results a resumed run keeps; it plans the others again."""


@dataclass(frozen=True)
class ResultRow:
    """One region's result, as `record_result` writes it."""

    region_id: str
    status: str
    plan_id: int | None = None
    visits: int = 0
    routed: int = 0
    appointments: int = 0
    appointments_kept: int = 0
    parts: int = 1
    attempts: int = 1
    solve_seconds: float = 0.0
    wall_seconds: float = 0.0
    error: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def regions_with_work(engine: Engine, day: date) -> dict[str, int]:
    """Every region with open visits on `day` and how many, by region id."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(m.Visit.region_id, func.count())
            .where(m.Visit.day == day, m.Visit.status == "open")
            .group_by(m.Visit.region_id)
            .order_by(m.Visit.region_id)
        ).all()
    return {region: int(count) for region, count in rows}


def known_regions(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.scalars(select(m.Region.id).order_by(m.Region.id)).all())


def committed(engine: Engine, run_id: int) -> dict[str, str]:
    """Status by region of the results this run has committed so far."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(BatchRegionResult.region_id, BatchRegionResult.status).where(
                BatchRegionResult.run_id == run_id
            )
        ).all()
    return {region: status for region, status in rows}


def record_result(session: Session, run_id: int, row: ResultRow) -> None:
    """Write (or overwrite, on resume) the region's result in the caller's transaction."""
    existing = session.get(BatchRegionResult, (run_id, row.region_id))
    values = {
        "status": row.status,
        "plan_id": row.plan_id,
        "visits": row.visits,
        "routed": row.routed,
        "appointments": row.appointments,
        "appointments_kept": row.appointments_kept,
        "parts": row.parts,
        "attempts": row.attempts,
        "solve_seconds": row.solve_seconds,
        "wall_seconds": row.wall_seconds,
        "error": row.error,
        "detail": row.detail,
        "finished_at": utcnow(),
    }
    if existing is None:
        session.add(BatchRegionResult(run_id=run_id, region_id=row.region_id, **values))
    else:
        for key, value in values.items():
            setattr(existing, key, value)
    session.flush()


def up_to_date_plan(
    session: Session, region_id: str, day: date, input_sha256: str
) -> tuple[int, dict[str, Any]] | None:
    """The region-day's current plan (id, plan JSON) when a batch made it from an input
    with this fingerprint and nothing replaced it since; else None."""
    plan = session.scalars(
        select(m.Plan).where(
            m.Plan.region_id == region_id, m.Plan.day == day, m.Plan.status == CURRENT
        )
    ).one_or_none()
    if plan is None:
        return None
    made = session.scalars(
        select(BatchRegionResult)
        .join(BatchRun, BatchRun.id == BatchRegionResult.run_id)
        .where(
            BatchRun.day == day,
            BatchRegionResult.region_id == region_id,
            BatchRegionResult.plan_id == plan.id,
            BatchRegionResult.status.in_((PLANNED, UNCHANGED)),
        )
        .order_by(BatchRegionResult.run_id.desc())
    ).all()
    if any(r.detail.get("input_sha256") == input_sha256 for r in made):
        return plan.id, plan.document
    return None


def results(session: Session, run_id: int) -> list[BatchRegionResult]:
    return list(
        session.scalars(
            select(BatchRegionResult)
            .where(BatchRegionResult.run_id == run_id)
            .order_by(BatchRegionResult.region_id)
        ).all()
    )
