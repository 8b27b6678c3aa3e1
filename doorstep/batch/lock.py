"""One batch per day at a time: the day's lock row, its heartbeat, and taking over a dead one.

The driver that holds a day's `BatchLock` row keeps its `heartbeat_at` fresh. Another driver
for the same day refuses to start while the holder lives; the holder is dead when its
heartbeat is older than `stale_after` seconds, or at once when it ran on this host and its
process is gone (a driver killed with `kill -9`). A new driver then takes the lock over and
resumes the dead driver's run. Every plan is saved in a transaction that first checks the
lock is still this driver's (`assert_held`), so a driver that lost its lock (it froze for
longer than `stale_after` and another took over) cannot write over the new one's plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from doorstep.db.engine import session_scope
from doorstep.db.models import BatchLock, BatchRun, utcnow
from doorstep.processes import Holder, process_alive

RUNNING = "running"
INTERRUPTED = "interrupted"
RESUMABLE = (RUNNING, INTERRUPTED)
"""Run statuses a new driver for the same day resumes rather than starting afresh."""


class BatchLockedError(RuntimeError):
    """Another batch for the same day is running; the message says which and what to do."""


class LockLostError(RuntimeError):
    """This driver's lock was taken over by another batch: stop without saving more."""


@dataclass(frozen=True)
class Claim:
    """A day's lock, held: the run this driver carries on (`resumed` when it was a dead
    driver's) and, after a take-over, who held the lock before."""

    run_id: int
    resumed: bool
    previous_holder: str = ""


def claim_day(
    engine: Engine,
    day: date,
    *,
    holder: Holder,
    regions: list[str],
    scheduler: str,
    stale_after: float,
) -> Claim:
    """Take the lock of `day` and the run to carry on: a dead driver's unfinished run for
    the day (resumed), else a new run. Raises `BatchLockedError` while a live driver holds it.
    """
    try:
        with session_scope(engine) as session:
            lock = session.get(BatchLock, day, with_for_update=True)
            if lock is not None:
                return _take_over(session, lock, day, holder, regions, scheduler, stale_after)
            run, resumed = _run_to_carry_on(session, day, holder, regions, scheduler)
            session.add(BatchLock(day=day, run_id=run.id, host=holder.host, pid=holder.pid))
            session.flush()
            return Claim(run.id, resumed)
    except (IntegrityError, OperationalError) as exc:
        if isinstance(exc, OperationalError) and "locked" not in str(exc).lower():
            raise
        # Another driver inserted or took the lock between our read and our write.
        msg = (
            f"another batch for {day.isoformat()} started at the same moment; "
            "it plans the day, this one stops"
        )
        raise BatchLockedError(msg) from None


def beat(engine: Engine, day: date, run_id: int, holder: Holder) -> None:
    """Refresh the lock's and the run's heartbeat. Raises `LockLostError` when the lock is
    no longer this driver's."""
    now = utcnow()
    with session_scope(engine) as session:
        result = session.execute(
            update(BatchLock)
            .where(
                BatchLock.day == day,
                BatchLock.run_id == run_id,
                BatchLock.host == holder.host,
                BatchLock.pid == holder.pid,
            )
            .values(heartbeat_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LockLostError(_lost_message(day))
        session.execute(update(BatchRun).where(BatchRun.id == run_id).values(heartbeat_at=now))


def assert_held(session: Session, day: date, run_id: int, holder: Holder) -> None:
    """Inside a transaction that saves a plan: raise `LockLostError` unless this driver
    still holds the day's lock (the row stays locked until the transaction ends)."""
    lock = session.get(BatchLock, day, with_for_update=True, populate_existing=True)
    if lock is None or (lock.run_id, lock.host, lock.pid) != (run_id, holder.host, holder.pid):
        raise LockLostError(_lost_message(day))


def release(session: Session, day: date, run_id: int, holder: Holder) -> None:
    """Give the day's lock up, in the transaction that records how the run ended."""
    assert_held(session, day, run_id, holder)
    lock = session.get(BatchLock, day)
    if lock is not None:
        session.delete(lock)


def describe(lock: BatchLock, now: datetime) -> str:
    """Who holds `lock`, for messages: run, process, host, heartbeat age."""
    age = (now - lock.heartbeat_at).total_seconds()
    return (
        f"run {lock.run_id}, process {lock.pid} on {lock.host}, last heartbeat "
        f"{max(age, 0):.0f} s ago"
    )


def is_dead(lock: BatchLock, holder: Holder, now: datetime, stale_after: float) -> bool:
    """Whether the lock's holder has stopped: its heartbeat is stale, or it ran on this host
    and its process is gone."""
    if now - lock.heartbeat_at > timedelta(seconds=stale_after):
        return True
    return lock.host == holder.host and not process_alive(lock.pid)


def _take_over(
    session: Session,
    lock: BatchLock,
    day: date,
    holder: Holder,
    regions: list[str],
    scheduler: str,
    stale_after: float,
) -> Claim:
    now = utcnow()
    held_by = describe(lock, now)
    if not is_dead(lock, holder, now, stale_after):
        msg = (
            f"a batch for {day.isoformat()} is already running ({held_by}); wait for it to "
            f"finish. If that process is gone, run this command again: a lock whose "
            f"heartbeat is older than {stale_after:.0f} s is taken over and its run resumed"
        )
        raise BatchLockedError(msg)
    run, resumed = _run_to_carry_on(session, day, holder, regions, scheduler)
    # Compare-and-set: only one of two drivers taking over at once gets the row.
    result = session.execute(
        update(BatchLock)
        .where(
            BatchLock.day == day,
            BatchLock.run_id == lock.run_id,
            BatchLock.host == lock.host,
            BatchLock.pid == lock.pid,
            BatchLock.heartbeat_at == lock.heartbeat_at,
        )
        .values(run_id=run.id, host=holder.host, pid=holder.pid, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        msg = f"another batch for {day.isoformat()} took the lock over first; it plans the day"
        raise BatchLockedError(msg)
    return Claim(run.id, resumed, previous_holder=held_by)


def _run_to_carry_on(
    session: Session, day: date, holder: Holder, regions: list[str], scheduler: str
) -> tuple[BatchRun, bool]:
    """The day's newest unfinished run (its driver died), else a new run."""
    unfinished = session.scalars(
        select(BatchRun)
        .where(BatchRun.day == day, BatchRun.status.in_(RESUMABLE))
        .order_by(BatchRun.id.desc())
        .limit(1)
    ).one_or_none()
    now = utcnow()
    if unfinished is not None:
        unfinished.status = RUNNING
        unfinished.regions = sorted(set(unfinished.regions) | set(regions))
        unfinished.scheduler = scheduler
        unfinished.host, unfinished.pid, unfinished.heartbeat_at = holder.host, holder.pid, now
        session.flush()
        return unfinished, True
    run = BatchRun(
        day=day,
        status=RUNNING,
        regions=sorted(regions),
        scheduler=scheduler,
        host=holder.host,
        pid=holder.pid,
        started_at=now,
        heartbeat_at=now,
    )
    session.add(run)
    session.flush()
    return run, False


def _lost_message(day: date) -> str:
    return (
        f"the lock of the batch for {day.isoformat()} was taken over by another batch (this "
        "one's heartbeat had gone stale); this batch stops and saves no more plans"
    )
