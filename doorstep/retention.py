"""Keep borrower data only as long as the retention policy allows (`doorstep retention`).

Deletes, in one transaction, everything older than `DOORSTEP_RETENTION_DAYS` that holds
borrower data: plans (and their routes and stops), planning jobs, visits, contact events
with their notes, promises and check-in positions, the morning reports of old batch runs,
geocoded addresses, and borrowers left with neither visits nor contacts; and audit entries
older than `DOORSTEP_AUDIT_RETENTION_DAYS`. Contact events are never deleted while a
region's contact policy still counts them, whatever the setting says: the limits would
silently stop holding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, Engine, delete, func, select
from sqlalchemy.orm import Session

from doorstep.db import models as m
from doorstep.db.days import lookback_days
from doorstep.db.store import audit
from doorstep.policies import resolve_policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionReport:
    """What was (or, in a dry run, would be) deleted, by kind, and the cut-offs used."""

    data_before: datetime
    contacts_before: datetime
    audit_before: datetime
    deleted: dict[str, int]
    applied: bool

    def lines(self) -> list[str]:
        verb = "deleted" if self.applied else "would delete"
        head = [
            f"data before {self.data_before.date().isoformat()}, contacts before "
            f"{self.contacts_before.date().isoformat()}, audit entries before "
            f"{self.audit_before.date().isoformat()}:"
        ]
        return head + [f"  {verb} {count} {kind}" for kind, count in self.deleted.items()]


def apply_retention(
    engine: Engine,
    *,
    retention_days: int,
    audit_retention_days: int,
    policy_dir: Path | None,
    now: datetime,
    actor: str,
    apply: bool,
) -> RetentionReport:
    """Delete (with `apply`) or count (without) what is past its retention at `now`."""
    data_before = now - timedelta(days=retention_days)
    audit_before = now - timedelta(days=audit_retention_days)
    # One transaction, committed only with `apply`: a dry run deletes, counts and rolls
    # back, so its counts are exactly what applying would delete.
    with engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection) as session:
            kept = _longest_lookback(session, policy_dir)
            contacts_before = min(data_before, now - timedelta(days=kept + 1))
            deleted = _delete(session, data_before, contacts_before, audit_before)
            if apply:
                audit(
                    session,
                    actor=actor,
                    action="retention",
                    entity="database",
                    detail={"deleted": deleted, "before": data_before.date().isoformat()},
                )
                session.flush()
        if apply:
            transaction.commit()
        else:
            transaction.rollback()
    report = RetentionReport(data_before, contacts_before, audit_before, deleted, apply)
    log.info("retention %s: %s", "applied" if apply else "dry run", deleted)
    return report


def _longest_lookback(session: Session, policy_dir: Path | None) -> int:
    """The most days before a plan day that any region's contact policy counts contacts."""
    longest = 0
    for spec in set(session.scalars(select(m.Region.policy))):
        longest = max(longest, lookback_days(resolve_policy(spec, policy_dir).policy))
    return longest


def _delete(
    session: Session, data_before: datetime, contacts_before: datetime, audit_before: datetime
) -> dict[str, int]:
    day_before = data_before.date()
    counts: dict[str, int] = {}

    def remove(kind: str, model: type[m.Base], *conditions: ColumnElement[bool]) -> None:
        found = session.scalar(select(func.count()).select_from(model).where(*conditions))
        if found:
            session.execute(delete(model).where(*conditions))
        counts[kind] = int(found or 0)

    # Children before parents: plans' rows go with their plan (ON DELETE CASCADE, which
    # SQLite applies only with its foreign keys on), so they are named explicitly.
    old_plans = select(m.Plan.id).where(m.Plan.day < day_before)
    remove("plan stops", m.PlanStop, m.PlanStop.plan_id.in_(old_plans))
    remove("plan routes", m.PlanRoute, m.PlanRoute.plan_id.in_(old_plans))
    remove("plan unassigned visits", m.PlanUnassigned, m.PlanUnassigned.plan_id.in_(old_plans))
    remove("plans", m.Plan, m.Plan.day < day_before)
    old_jobs = select(m.PlanningJob.id).where(
        m.PlanningJob.created_at < data_before, m.PlanningJob.status.notin_(("queued", "running"))
    )
    remove("planning jobs", m.PlanningJob, m.PlanningJob.id.in_(old_jobs))
    old_runs = select(m.BatchRun.id).where(
        m.BatchRun.started_at < data_before,
        m.BatchRun.status != "running",
        m.BatchRun.id.notin_(select(m.BatchLock.run_id)),
    )
    remove("batch region results", m.BatchRegionResult, m.BatchRegionResult.run_id.in_(old_runs))
    remove("batch runs", m.BatchRun, m.BatchRun.id.in_(old_runs))
    remove("visits", m.Visit, m.Visit.day < day_before)
    remove("contact events", m.ContactEvent, m.ContactEvent.at < contacts_before)
    remove("geocoded addresses", m.GeocodeResult, m.GeocodeResult.created_at < data_before)
    remove(
        "borrowers",
        m.Borrower,
        ~m.Borrower.id.in_(select(m.Visit.borrower_id)),
        ~m.Borrower.id.in_(select(m.ContactEvent.borrower_id)),
    )
    remove("audit entries", m.AuditEntry, m.AuditEntry.at < audit_before)
    return counts
