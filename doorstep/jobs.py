"""Planning jobs: a region-day planned in the background while the dispatcher's page stays
responsive, with progress, cancel, and one job per region-day however many ask.

`request_job` records a job, or returns the one already queued or running for the
region-day (its `PlanningJobLock` row is the proof); `launch` starts the process that runs
it (`doorstep jobs run ID`); `run_job`, in that process, plans the day with
`region_planning.plan_region`, recording each stage as it begins, while a thread keeps the
heartbeat fresh.

Why a process of its own: OR-Tools holds Python's global lock for the whole solve, so a
solve in a web worker's thread would freeze every page that worker serves, and nothing in
the solving process can act on a cancel until the solve ends. A cancel therefore ends the
job's process from outside (SIGTERM, when it runs on this host) as well as being recorded;
a job elsewhere stops at its next stage. Cancel and save exclude each other in the
database: the job enters its "saving" stage only if no cancel was recorded, and a cancel
is recorded only before that stage, so a cancelled job never saves and the old plan stays
whole. A job whose process died (its heartbeat stale, or its process gone on this host) is
failed the next time anyone looks at it, and frees its region-day.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Update, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.models import utcnow
from doorstep.db.store import audit
from doorstep.plan_diff import compare_plans
from doorstep.processes import Holder, process_alive
from doorstep.region_planning import RegionPlanError, plan_region
from doorstep.replan import ReplanError, replan
from doorstep.settings import Settings

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
PLAN, REPLAN = "plan", "replan"
KINDS = (PLAN, REPLAN)
ACTIVE = (QUEUED, RUNNING)
HEARTBEAT_S = 1.0
"""How often a running job's thread refreshes its heartbeat and looks for a cancel."""
STALE_AFTER_S = 30.0
"""A running job silent for longer than this has died; while it solves (when its heartbeat
thread cannot run, see the module docstring) the time limit is added."""
START_WITHIN_S = 60.0
"""A queued job whose process has not started within this has failed to start."""
MIN_TIME_LIMIT_S, MAX_TIME_LIMIT_S = 1.0, 3600.0
STAGE_PROGRESS = {
    "queued": 0.0,
    "reading": 0.02,
    "network": 0.05,
    "matrices": 0.10,
    "solving": 0.15,
    "validating": 0.92,
    "geometry": 0.95,
    "saving": 0.98,
}
"""Progress (0..1) when each stage begins; solving fills 0.15..0.90 with its clock."""
SOLVING_END = 0.90


class JobError(ValueError):
    """The job cannot be started or changed as asked; the message says why."""


class JobNotFoundError(LookupError):
    """No such job (in that region)."""


@dataclass(frozen=True)
class Job:
    """A planning job as the API shows it."""

    id: int
    region_id: str
    day: date
    kind: str
    as_of: datetime | None
    status: str
    stage: str
    progress: float
    time_limit: float
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_by: str | None
    error: str
    plan_id: int | None
    result: dict[str, Any]

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def as_json(self) -> dict[str, Any]:
        def instant(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "job_id": self.id,
            "region": self.region_id,
            "day": self.day.isoformat(),
            "kind": self.kind,
            "as_of": instant(self.as_of),
            "status": self.status,
            "stage": self.stage,
            "progress": round(self.progress, 3),
            "time_limit": self.time_limit,
            "requested_by": self.requested_by,
            "created_at": instant(self.created_at),
            "started_at": instant(self.started_at),
            "finished_at": instant(self.finished_at),
            "cancel_requested_by": self.cancel_requested_by,
            "error": self.error,
            "plan_id": self.plan_id,
            "result": self.result,
        }


def _view(row: m.PlanningJob, now: datetime | None = None) -> Job:
    return Job(
        id=row.id,
        region_id=row.region_id,
        day=row.day,
        kind=row.kind,
        as_of=row.as_of,
        status=row.status,
        stage=row.stage,
        progress=_progress(row, now or utcnow()),
        time_limit=row.time_limit,
        requested_by=row.requested_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        cancel_requested_by=row.cancel_requested_by,
        error=row.error,
        plan_id=row.plan_id,
        result=dict(row.result or {}),
    )


def _progress(row: m.PlanningJob, now: datetime) -> float:
    """0..1 from the stage reached; while solving, from the solver's clock."""
    if row.status == DONE:
        return 1.0
    start = STAGE_PROGRESS.get(row.stage, 0.0)
    if row.stage != "solving" or row.stage_started_at is None:
        return start
    share = (now - row.stage_started_at).total_seconds() / max(row.time_limit, 0.1)
    return start + (SOLVING_END - start) * min(1.0, max(0.0, share))


def request_job(
    engine: Engine,
    region_id: str,
    day: date,
    *,
    time_limit: float,
    actor: str,
    kind: str = PLAN,
    as_of: datetime | None = None,
) -> tuple[Job, bool]:
    """A new queued job for the region-day, or the one already active; True when new.

    `kind` is `PLAN` (the whole day afresh) or `REPLAN` (from where the agents are at
    `as_of`, the requester's clock; see `doorstep.replan`).

    Raises `JobError` when the time limit is out of range or the day has no open visits
    (nothing to plan), `JobNotFoundError` when the region does not exist.
    """
    if kind not in KINDS:
        raise JobError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not MIN_TIME_LIMIT_S <= time_limit <= MAX_TIME_LIMIT_S:
        msg = (
            f"time_limit must be {MIN_TIME_LIMIT_S:.0f} to {MAX_TIME_LIMIT_S:.0f} seconds, "
            f"got {time_limit}"
        )
        raise JobError(msg)
    for _attempt in range(3):
        try:
            return _request(engine, region_id, day, time_limit, actor, kind, as_of)
        except IntegrityError:
            # Another request inserted the region-day's lock at the same moment: read it.
            continue
    msg = f"the planning jobs of {region_id} on {day.isoformat()} keep changing; retry"
    raise JobError(msg)


def _request(
    engine: Engine,
    region_id: str,
    day: date,
    time_limit: float,
    actor: str,
    kind: str,
    as_of: datetime | None,
) -> tuple[Job, bool]:
    with session_scope(engine) as session:
        if session.get(m.Region, region_id) is None:
            raise JobNotFoundError(f"no region {region_id!r}")
        lock = session.get(m.PlanningJobLock, (region_id, day))
        if lock is not None:
            holder = session.get(m.PlanningJob, lock.job_id)
            if holder is not None and _reap(session, holder, utcnow()) is None:
                return _view(holder), False
            session.delete(lock)
            session.flush()
        open_visits = session.scalar(
            select(func.count())
            .select_from(m.Visit)
            .where(m.Visit.region_id == region_id, m.Visit.day == day, m.Visit.status == "open")
        )
        if not open_visits:
            msg = f"region {region_id} has no open visits on {day.isoformat()}: import them first"
            raise JobError(msg)
        row = m.PlanningJob(
            region_id=region_id,
            day=day,
            status=QUEUED,
            kind=kind,
            as_of=as_of if kind == REPLAN else None,
            stage="queued",
            time_limit=float(time_limit),
            requested_by=actor[:100],
        )
        session.add(row)
        session.flush()
        session.add(m.PlanningJobLock(region_id=region_id, day=day, job_id=row.id))
        audit(
            session,
            actor=actor,
            action="request_planning",
            entity="planning_job",
            entity_id=str(row.id),
            detail={
                "region": region_id,
                "day": day.isoformat(),
                "time_limit": time_limit,
                "kind": kind,
            },
        )
        session.flush()
        return _view(row), True


def _reap(session: Session, row: m.PlanningJob, now: datetime) -> str | None:
    """Fail `row` if it is active but its process is gone; the reason, or None if it lives
    (or has ended)."""
    if row.status not in ACTIVE:
        return None
    here = Holder.this_process().host
    why = None
    if row.status == QUEUED and now - row.created_at > timedelta(seconds=START_WITHIN_S):
        why = f"the planning process did not start within {START_WITHIN_S:.0f} s"
    elif row.status == RUNNING and now - _last_sign(row) > _allowed_silence(row):
        why = "the planning process stopped answering (no heartbeat)"
    elif row.status == RUNNING and row.host == here and not process_alive(row.pid):
        why = f"the planning process ({row.pid} on {row.host}) ended without a result"
    if why is None:
        return None
    _finish(session, row, FAILED, error=f"{why}; plan again", now=now)
    return why


def _last_sign(row: m.PlanningJob) -> datetime:
    return max(row.heartbeat_at, row.stage_started_at or row.heartbeat_at)


def _allowed_silence(row: m.PlanningJob) -> timedelta:
    seconds = STALE_AFTER_S + (1.5 * row.time_limit if row.stage == "solving" else 0.0)
    return timedelta(seconds=seconds)


def _finish(
    session: Session,
    row: m.PlanningJob,
    status: str,
    *,
    now: datetime,
    error: str = "",
    plan_id: int | None = None,
    result: dict[str, Any] | None = None,
) -> None:
    """End the job and free its region-day."""
    row.status = status
    row.finished_at = now
    row.error = error
    if plan_id is not None:
        row.plan_id = plan_id
        row.stage = "done"
    if result is not None:
        row.result = result
    lock = session.get(m.PlanningJobLock, (row.region_id, row.day))
    if lock is not None and lock.job_id == row.id:
        session.delete(lock)


def job(engine: Engine, job_id: int, *, region_id: str | None = None) -> Job:
    """The job `job_id` (in `region_id` when given), failed first if its process died."""
    with session_scope(engine) as session:
        row = session.get(m.PlanningJob, job_id)
        if row is None or (region_id is not None and row.region_id != region_id):
            raise JobNotFoundError(
                f"no planning job {job_id}" + (f" in {region_id}" if region_id else "")
            )
        _reap(session, row, utcnow())
        return _view(row)


def jobs_of(
    engine: Engine, region_id: str, *, day: date | None = None, limit: int = 20
) -> list[Job]:
    """The region's (or region-day's) jobs, newest first; dead ones are failed first."""
    with session_scope(engine) as session:
        statement = select(m.PlanningJob).where(m.PlanningJob.region_id == region_id)
        if day is not None:
            statement = statement.where(m.PlanningJob.day == day)
        rows = session.scalars(statement.order_by(m.PlanningJob.id.desc()).limit(limit)).all()
        now = utcnow()
        for row in rows:
            _reap(session, row, now)
        return [_view(row) for row in rows]


def cancel_job(engine: Engine, job_id: int, *, actor: str, region_id: str | None = None) -> Job:
    """Cancel an active job: at once, ending its process when it runs on this host (a job
    on another host stops at its next stage). Raises `JobError` for a job that has ended
    or is already saving its plan."""
    with session_scope(engine) as session:
        row = session.get(m.PlanningJob, job_id)
        if row is None or (region_id is not None and row.region_id != region_id):
            raise JobNotFoundError(f"no planning job {job_id}")
        now = utcnow()
        _reap(session, row, now)
        if row.status not in ACTIVE:
            raise JobError(f"planning job {job_id} has already ended ({row.status})")
        # Conditional, so that it and the job's own move to "saving" exclude each other.
        marked = _rows_updated(
            session,
            update(m.PlanningJob)
            .where(
                m.PlanningJob.id == job_id,
                m.PlanningJob.status.in_(ACTIVE),
                m.PlanningJob.stage != "saving",
            )
            .values(cancel_requested_by=actor[:100]),
        )
        if not marked:
            raise JobError(f"planning job {job_id} is saving its plan; too late to cancel")
        session.refresh(row)
        pid, host, running = row.pid, row.host, row.status == RUNNING
        _finish(session, row, CANCELLED, now=now, error=f"cancelled by {actor}")
        audit(
            session,
            actor=actor,
            action="cancel_planning",
            entity="planning_job",
            entity_id=str(job_id),
            detail={"region": row.region_id, "day": row.day.isoformat()},
        )
        session.flush()
        view = _view(row, now)
    if running and host == Holder.this_process().host:
        _end_job_process(pid, job_id)
    return view


def _rows_updated(session: Session, statement: Update) -> int:
    """Run a conditional UPDATE; how many rows met its condition."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(cast(CursorResult[Any], result).rowcount)


def _end_job_process(pid: int, job_id: int) -> None:
    """SIGTERM to the job's process group, if `pid` is still that job's process (a pid may
    have been reused since)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().split(b"\0")
    except OSError:
        return  # gone already, or not Linux: the job stops at its next stage
    if [b"jobs", b"run", str(job_id).encode()] != words[-4:-1]:
        return
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGTERM)  # its solver's helper processes too
        else:
            os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    log.info("planning job %d: process %d ended after a cancel", job_id, pid)


def launch(settings: Settings, job_id: int) -> None:
    """Start the process that runs job `job_id` with these settings; fail the job if the
    process cannot start. The process is reaped by a daemon thread when it ends."""
    command = [sys.executable, "-m", "doorstep.cli", "jobs", "run", str(job_id)]
    try:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            command,
            env={**os.environ, **settings.environ()},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        log.error("planning job %d could not start: %s", job_id, exc)
        _fail_unstarted(settings, job_id, f"the planning process could not start: {exc}")
        return
    threading.Thread(target=process.wait, name=f"reap-job-{job_id}", daemon=True).start()


def _fail_unstarted(settings: Settings, job_id: int, error: str) -> None:
    """Fail a job that never ran."""
    from doorstep.db.engine import make_engine

    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        row = session.get(m.PlanningJob, job_id)
        if row is not None and row.status in ACTIVE:
            _finish(session, row, FAILED, now=utcnow(), error=error)
    engine.dispose()


def run_job(
    engine: Engine,
    settings: Settings,
    job_id: int,
    *,
    on_cancel: Callable[[], None] = lambda: os._exit(0),
) -> Job:
    """Run queued job `job_id` in this process and return how it ended.

    `on_cancel` is called from the heartbeat thread once a cancel has been recorded; the
    default ends the process at once (the solver cannot be interrupted otherwise).
    """
    holder = Holder.this_process()
    with session_scope(engine) as session:
        row = session.get(m.PlanningJob, job_id)
        if row is None:
            raise JobNotFoundError(f"no planning job {job_id}")
        if row.status != QUEUED:
            return _view(row)
        now = utcnow()
        row.status, row.stage = RUNNING, "reading"
        row.started_at = row.heartbeat_at = row.stage_started_at = now
        row.host, row.pid = holder.host[:200], holder.pid
        region_id, day, limit, actor = row.region_id, row.day, row.time_limit, row.requested_by
        kind, as_of = row.kind, row.as_of or now
    heartbeat = _Heartbeat(engine, job_id, on_cancel)
    heartbeat.start()
    try:
        if kind == REPLAN:
            outcome: dict[str, Any] = _replanned(
                engine, settings, region_id, day, as_of, limit, actor, heartbeat.stage
            )
        else:
            planned = plan_region(
                engine,
                settings,
                region_id,
                day,
                time_limit=limit,
                actor=actor,
                on_stage=heartbeat.stage,
            )
            outcome = {
                "status": DONE,
                "plan_id": planned.plan_id,
                "result": _result(planned.replaced, planned.day_plan),
            }
    except _CancelledError:
        outcome = {"status": CANCELLED}
    except (RegionPlanError, ReplanError) as exc:
        outcome = {"status": FAILED, "error": str(exc)}
    except Exception:
        log.exception("planning job %d failed", job_id)
        outcome = {"status": FAILED, "error": "internal error; it was logged, try again later"}
    finally:
        heartbeat.stop()
    with session_scope(engine) as session:
        row = session.get(m.PlanningJob, job_id)
        assert row is not None
        if row.status == RUNNING:  # not cancelled (or failed by a reaper) meanwhile
            _finish(session, row, now=utcnow(), **outcome)
        return _view(row)


def _replanned(
    engine: Engine,
    settings: Settings,
    region_id: str,
    day: date,
    as_of: datetime,
    limit: float,
    actor: str,
    stage: Callable[[str], None],
) -> dict[str, Any]:
    """A re-plan job's outcome: the plan, and how it differs from what the agents follow."""
    done = replan(
        engine, settings, region_id, day, now=as_of, time_limit=limit, actor=actor, on_stage=stage
    )
    result = _result(None, done.day_plan)
    result.update(
        {
            "compared_with_basis": done.comparison,
            "basis": done.basis,
            "frozen": done.frozen,
            "notes": list(done.notes),
        }
    )
    return {"status": DONE, "plan_id": done.plan_id, "result": result}


def _result(replaced: dict[str, Any] | None, day_plan: Any) -> dict[str, Any]:
    """The new plan's headline figures and, when it replaced a plan, how the two differ."""
    from doorstep.export import plan_document

    document = plan_document(day_plan)
    summary = document["summary"]
    keys = (
        "visits",
        "visits_routed",
        "appointments",
        "appointments_kept",
        "unassigned",
        "travel_time_s",
        "travel_distance_m",
    )
    return {
        "summary": {key: summary[key] for key in keys},
        "compared_with_previous": compare_plans(replaced, document) if replaced else None,
    }


class _CancelledError(Exception):
    """The job was cancelled (or failed by a reaper) while it ran."""


class _Heartbeat:
    """The running job's side of the protocol: stages written by the planning thread, the
    heartbeat by a thread of its own (see the module docstring)."""

    def __init__(self, engine: Engine, job_id: int, on_cancel: Callable[[], None]) -> None:
        self._engine, self._job_id, self._on_cancel = engine, job_id, on_cancel
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-beat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def stage(self, name: str) -> None:
        """Record that stage `name` begins; raise `_CancelledError` if the job was
        cancelled. Entering "saving" and recording a cancel exclude each other."""
        now = utcnow()
        if not self._write(stage=name, stage_started_at=now, heartbeat_at=now):
            raise _CancelledError

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                alive = self._write(heartbeat_at=utcnow())
            except Exception:  # a database that blinks must not end the solve: retry
                log.warning("planning job %d: heartbeat failed", self._job_id, exc_info=True)
                continue
            if not alive:
                self._on_cancel()
                return

    def _write(self, **values: Any) -> bool:
        """Update the job's row while it runs uncancelled; False when it no longer does."""
        with session_scope(self._engine) as session:
            return bool(
                _rows_updated(
                    session,
                    update(m.PlanningJob)
                    .where(
                        m.PlanningJob.id == self._job_id,
                        m.PlanningJob.status == RUNNING,
                        m.PlanningJob.cancel_requested_by.is_(None),
                    )
                    .values(**values),
                )
            )
