"""Planning jobs: one per region-day, run in a process of their own, cancelled at once, and
never leaving a half-saved plan. On SQLite and PostgreSQL, with real processes."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from doorstep import jobs
from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.models import utcnow
from doorstep.db.store import CURRENT, load_plan
from doorstep.processes import process_alive
from doorstep.settings import Settings
from tests.webui.site import DAY, build_small_site

ACTOR = "web:disp"


@pytest.fixture
def site(engine: Engine, db_url: str, tmp_path: Path) -> Settings:
    """The small web site (north: two agents, four visits on the tiny network) planned under
    `uk`, which lets one agent make a visit; and settings on its database."""
    build_small_site(engine)
    with session_scope(engine) as session:
        region = session.get(m.Region, "north")
        assert region is not None
        region.policy = "uk"
    return Settings(cache_dir=tmp_path / "cache", database_url=db_url, time_limit=2)


def current_plan_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        plan = load_plan(session, "north", DAY, CURRENT)
        assert plan is not None
        return plan.id


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"not within {seconds} s: {what}")


def set_row(engine: Engine, job_id: int, **values: object) -> None:
    with session_scope(engine) as session:
        row = session.get(m.PlanningJob, job_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


def test_a_second_request_gets_the_same_job(engine: Engine, site: Settings) -> None:
    """Two dispatchers pressing Plan for one region-day get one job; another day gets its own."""
    first, created = jobs.request_job(engine, "north", DAY, time_limit=5, actor=ACTOR)
    again, created_again = jobs.request_job(engine, "north", DAY, time_limit=9, actor="web:admin")
    assert (created, created_again) == (True, False)
    assert again.id == first.id and again.time_limit == 5
    assert first.status == jobs.QUEUED and first.stage == "queued"
    with session_scope(engine) as session:
        session.add(
            m.Visit(
                id="N-V7",
                region_id="north",
                day=DAY + timedelta(days=1),
                borrower_id="B2",
                lat=60.001,
                lon=25.003,
                address="",
                duration_s=1800,
                kind="flexible",
                windows=[],
            )
        )
    other, created_other = jobs.request_job(
        engine, "north", DAY + timedelta(days=1), time_limit=5, actor=ACTOR
    )
    assert created_other and other.id != first.id


def test_simultaneous_requests_get_one_job(engine: Engine, site: Settings) -> None:
    """Requests racing from several threads create exactly one job."""
    barrier = threading.Barrier(4)
    found: list[tuple[int, bool]] = []

    def ask() -> None:
        barrier.wait()
        job, created = jobs.request_job(engine, "north", DAY, time_limit=5, actor=ACTOR)
        found.append((job.id, created))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({job_id for job_id, _ in found}) == 1
    assert sum(created for _, created in found) == 1


@pytest.mark.parametrize(
    ("region", "day", "limit", "error", "words"),
    [
        ("north", date(2026, 12, 25), 5, jobs.JobError, "no open visits on 2026-12-25"),
        ("north", DAY, 0.5, jobs.JobError, "time_limit must be 1 to 3600 seconds"),
        ("north", DAY, 7200, jobs.JobError, "time_limit must be 1 to 3600 seconds"),
        ("nowhere", DAY, 5, jobs.JobNotFoundError, "no region 'nowhere'"),
    ],
)
def test_requests_that_cannot_plan_are_refused(
    engine: Engine,
    site: Settings,
    region: str,
    day: date,
    limit: float,
    error: type[Exception],
    words: str,
) -> None:
    """A day with nothing to plan, a time limit out of range or an unknown region: no job."""
    with pytest.raises(error, match=words):
        jobs.request_job(engine, region, day, time_limit=limit, actor=ACTOR)
    with session_scope(engine) as session:
        assert session.scalars(select(m.PlanningJob)).all() == []


def test_a_job_plans_the_day_and_compares_with_the_plan_it_replaced(
    engine: Engine, site: Settings
) -> None:
    """Run in this process, the job stores the new plan and says what changed."""
    before = current_plan_id(engine)
    job, _ = jobs.request_job(engine, "north", DAY, time_limit=1, actor=ACTOR)
    ended = jobs.run_job(engine, site, job.id)
    assert ended.status == jobs.DONE, ended.error
    assert ended.progress == 1.0 and ended.stage == "done"
    assert ended.plan_id == current_plan_id(engine) != before
    summary = ended.result["summary"]
    assert summary["visits"] == 4
    compared = ended.result["compared_with_previous"]
    assert compared["figures"]["visits_routed"]["before"] == 3
    assert compared["figures"]["visits_routed"]["after"] == summary["visits_routed"]
    changed = compared["visits"]
    listed = {
        v["visit_id"] for kind in ("moved", "added", "dropped", "retimed") for v in changed[kind]
    }
    assert len(listed) + changed["unchanged"] >= 3
    # The region-day is free again, and the plan was audited under the dispatcher's name.
    again, created = jobs.request_job(engine, "north", DAY, time_limit=1, actor=ACTOR)
    assert created and again.id != job.id
    with session_scope(engine) as session:
        actions = session.scalars(
            select(m.AuditEntry.action).where(m.AuditEntry.actor == ACTOR)
        ).all()
    assert "plan" in actions and "request_planning" in actions


def test_a_job_that_cannot_plan_fails_with_the_reason(engine: Engine, site: Settings) -> None:
    """A region whose road network is missing: the job fails saying so, the plan stays."""
    before = current_plan_id(engine)
    with session_scope(engine) as session:
        region = session.get(m.Region, "north")
        assert region is not None
        region.network = "/nowhere/roads.osm"
    job, _ = jobs.request_job(engine, "north", DAY, time_limit=1, actor=ACTOR)
    ended = jobs.run_job(engine, site, job.id)
    assert ended.status == jobs.FAILED
    assert "road network '/nowhere/roads.osm'" in ended.error
    assert current_plan_id(engine) == before
    assert jobs.request_job(engine, "north", DAY, time_limit=1, actor=ACTOR)[1]


def test_a_queued_job_cancelled_never_runs(engine: Engine, site: Settings) -> None:
    """Cancelled before its process starts, the job ends at once and plans nothing."""
    before = current_plan_id(engine)
    job, _ = jobs.request_job(engine, "north", DAY, time_limit=1, actor=ACTOR)
    cancelled = jobs.cancel_job(engine, job.id, actor="web:admin")
    assert cancelled.status == jobs.CANCELLED and cancelled.error == "cancelled by web:admin"
    assert jobs.run_job(engine, site, job.id).status == jobs.CANCELLED
    assert current_plan_id(engine) == before
    with pytest.raises(jobs.JobError, match="already ended"):
        jobs.cancel_job(engine, job.id, actor="web:admin")


def test_a_job_saving_its_plan_cannot_be_cancelled(engine: Engine, site: Settings) -> None:
    """Once a job is saving, a cancel is refused: it would be too late to keep the old plan."""
    job, _ = jobs.request_job(engine, "north", DAY, time_limit=1, actor=ACTOR)
    set_row(engine, job.id, status=jobs.RUNNING, stage="saving", stage_started_at=utcnow())
    with pytest.raises(jobs.JobError, match="too late to cancel"):
        jobs.cancel_job(engine, job.id, actor="web:admin")
    assert jobs.job(engine, job.id).status == jobs.RUNNING


def test_a_job_whose_process_died_is_failed_and_frees_the_day(
    engine: Engine, site: Settings
) -> None:
    """A running job whose process is gone (same host) or silent (another host) is failed
    the next time someone looks, and a new request gets a new job."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    job, _ = jobs.request_job(engine, "north", DAY, time_limit=1, actor=ACTOR)
    from doorstep.processes import Holder

    here = Holder.this_process().host
    set_row(engine, job.id, status=jobs.RUNNING, stage="matrices", host=here, pid=gone.pid)
    seen = jobs.job(engine, job.id)
    assert seen.status == jobs.FAILED and "ended without a result; plan again" in seen.error
    second, created = jobs.request_job(engine, "north", DAY, time_limit=1, actor=ACTOR)
    assert created
    old = utcnow() - timedelta(seconds=jobs.STALE_AFTER_S + 5)
    set_row(
        engine,
        second.id,
        status=jobs.RUNNING,
        stage="matrices",
        host="elsewhere",
        pid=1,
        heartbeat_at=old,
        stage_started_at=old,
    )
    third, created = jobs.request_job(engine, "north", DAY, time_limit=1, actor=ACTOR)
    assert created and third.id != second.id
    assert "stopped answering" in jobs.job(engine, second.id).error
    # A solve is allowed its time limit of silence (its heartbeat thread cannot run then).
    solving_since = utcnow() - timedelta(seconds=jobs.STALE_AFTER_S + 5)
    set_row(
        engine,
        third.id,
        status=jobs.RUNNING,
        stage="solving",
        host="elsewhere",
        pid=1,
        heartbeat_at=solving_since,
        stage_started_at=solving_since,
        time_limit=600,
    )
    assert jobs.job(engine, third.id).status == jobs.RUNNING


def test_a_launched_job_runs_in_its_own_process(engine: Engine, site: Settings) -> None:
    """`launch` starts `doorstep jobs run`, which plans and stores the day."""
    before = current_plan_id(engine)
    job, _ = jobs.request_job(engine, "north", DAY, time_limit=1, actor=ACTOR)
    jobs.launch(site, job.id)
    wait_for(lambda: not jobs.job(engine, job.id).active, 90, "the job to end")
    ended = jobs.job(engine, job.id)
    assert ended.status == jobs.DONE, ended.error
    assert ended.plan_id == current_plan_id(engine) != before


def _solving(engine: Engine, job_id: int) -> bool:
    seen = jobs.job(engine, job_id)
    assert seen.active, seen.error
    return seen.stage == "solving"


def test_cancel_ends_a_solving_job_at_once(engine: Engine, site: Settings) -> None:
    """A cancel during a long solve ends the job's process within seconds; the current plan
    stays as it was."""
    before = current_plan_id(engine)
    job, _ = jobs.request_job(engine, "north", DAY, time_limit=120, actor=ACTOR)
    jobs.launch(site, job.id)
    wait_for(lambda: _solving(engine, job.id), 90, "the job to start solving")
    pid = jobs_pid(engine, job.id)
    cancelled = jobs.cancel_job(engine, job.id, actor="web:admin")
    assert cancelled.status == jobs.CANCELLED
    wait_for(lambda: not process_alive(pid), 10, "the job's process to end")
    assert current_plan_id(engine) == before
    assert jobs.job(engine, job.id).status == jobs.CANCELLED


def test_a_job_on_another_host_stops_at_its_next_stage(engine: Engine, site: Settings) -> None:
    """A cancel recorded for a job this host cannot signal: the job notices when its solve
    ends and exits without saving."""
    before = current_plan_id(engine)
    job, _ = jobs.request_job(engine, "north", DAY, time_limit=4, actor=ACTOR)
    jobs.launch(site, job.id)
    wait_for(lambda: _solving(engine, job.id), 90, "the job to start solving")
    pid = jobs_pid(engine, job.id)
    set_row(engine, job.id, host="another-host")
    jobs.cancel_job(engine, job.id, actor="web:admin")
    assert process_alive(pid)  # not signalled: it is "elsewhere"
    wait_for(lambda: not process_alive(pid), 30, "the job's process to end by itself")
    assert current_plan_id(engine) == before
    assert jobs.job(engine, job.id).status == jobs.CANCELLED


def jobs_pid(engine: Engine, job_id: int) -> int:
    with session_scope(engine) as session:
        row = session.get(m.PlanningJob, job_id)
        assert row is not None
        return row.pid
