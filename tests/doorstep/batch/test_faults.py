"""Faults a nightly batch must survive, on real processes: a worker killed mid-solve, and
the driver itself killed with SIGKILL mid-run and then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from distributed import Client
from sqlalchemy import Engine, func, select

from doorstep.batch.driver import BatchOptions, run_batch
from doorstep.db import models as m
from doorstep.db.engine import session_scope
from tests.doorstep.batch.conftest import DAY, RegionMaker, current_plan_ids, results_by_region

Options = Callable[..., BatchOptions]
DOORSTEP = Path(sys.executable).with_name("doorstep")


@pytest.mark.parametrize("retried_by", ["dask", "driver"])
def test_a_worker_killed_mid_solve_has_its_region_run_elsewhere(
    sqlite_engine: Engine,
    client: Client,
    options: Options,
    add_region: RegionMaker,
    monkeypatch: pytest.MonkeyPatch,
    retried_by: str,
) -> None:
    """SIGKILL to the worker process solving a region: the task runs again on a live worker
    (by Dask, or, once Dask gives up on it, submitted again by the driver) and the region
    is planned, once."""
    add_region(sqlite_engine, "north", borrowers=["B1", "B2", "B3"])
    if retried_by == "driver":
        scheduler = client.cluster.scheduler
        monkeypatch.setattr(scheduler, "allowed_failures", 0)  # KilledWorker at once
    pids = client.run(os.getpid)
    killed: dict[str, int] = {}

    def kill_the_solver() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not killed:
            for address, keys in client.processing().items():
                if any(str(key).startswith("plan-north") for key in keys):
                    time.sleep(0.8)  # well into the solve
                    os.kill(pids[address], signal.SIGKILL)
                    killed[address] = pids[address]
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_solver)
    killer.start()
    try:
        outcome = run_batch(sqlite_engine, client, options(time_limit=3.0, max_solutions=None))
    finally:
        killer.join()
        client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker

    assert killed, "the region's task was never seen running"
    (killed_pid,) = killed.values()
    result = results_by_region(sqlite_engine, outcome.run_id)["north"]
    assert outcome.status == "finished" and result.status == "planned"
    assert not result.detail["worker"].endswith(f":{killed_pid}")
    assert result.detail["lost_tasks"] == (1 if retried_by == "driver" else 0)
    assert result.attempts == (2 if retried_by == "driver" else 1)
    with session_scope(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(m.Plan)) == 1


def test_a_driver_killed_with_sigkill_is_resumed_by_the_same_command(
    sqlite_engine: Engine,
    client: Client,
    options: Options,
    add_region: RegionMaker,
    road_cache: Path,
    tmp_path: Path,
) -> None:
    """`kill -9` of `doorstep batch` mid-run leaves committed plans with their results and
    nothing half-written; running the batch again resumes the same run and plans only the
    regions without a committed plan. Its JSON logs name no borrower."""
    regions = ["r1", "r2", "r3"]
    for n, region in enumerate(regions):
        add_region(sqlite_engine, region, borrowers=[f"BX{n}1", f"BX{n}2", f"BX{n}3"])
    env = {
        **os.environ,
        "DOORSTEP_DATABASE_URL": str(sqlite_engine.url),
        "DOORSTEP_CACHE_DIR": str(road_cache),
    }
    env.pop("DOORSTEP_DASK_SCHEDULER", None)
    command = [str(DOORSTEP), "batch", "--day", DAY.isoformat(), "--workers", "1"]
    command += ["--time-limit", "2", "--json-logs", "--report-dir", str(tmp_path / "out")]
    driver = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its cluster's worker processes too, to clean up after
    )
    try:
        run_id = _wait_for_first_plan(sqlite_engine, driver, timeout=90)
        driver.send_signal(signal.SIGKILL)
        _, stderr = driver.communicate(timeout=30)
    finally:
        _kill_group(driver.pid)

    with session_scope(sqlite_engine) as session:
        run = session.get(m.BatchRun, run_id)
        assert run is not None and run.status == "running"
        lock = session.get(m.BatchLock, DAY)
        assert lock is not None and lock.pid == driver.pid
    before = results_by_region(sqlite_engine, run_id)
    assert 1 <= len(before) < len(regions)
    _assert_nothing_half_written(sqlite_engine, run_id)
    plans_before = current_plan_ids(sqlite_engine)

    resumed = run_batch(sqlite_engine, client, options())

    assert resumed.resumed and resumed.run_id == run_id and resumed.status == "finished"
    after = results_by_region(sqlite_engine, run_id)
    assert {r: after[r].status for r in regions} == dict.fromkeys(regions, "planned")
    plans_after = current_plan_ids(sqlite_engine)
    for region in before:
        assert plans_after[region] == plans_before[region]  # not planned twice
    _assert_nothing_half_written(sqlite_engine, run_id)
    with session_scope(sqlite_engine) as session:
        assert session.get(m.BatchLock, DAY) is None

    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    assert any(line.get("event") == "region_planned" for line in lines)
    text = stderr.decode()
    assert "BX" not in text and "r1-V" not in text


def _wait_for_first_plan(engine: Engine, driver: subprocess.Popen[bytes], timeout: float) -> int:
    """The driver's run id, as soon as it has committed one region's result."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.poll() is not None:
            pytest.fail(f"the batch ended early: {driver.communicate()[1].decode()[-2000:]}")
        with session_scope(engine) as session:
            run_id = session.scalar(select(m.BatchRegionResult.run_id).limit(1))
        if run_id is not None:
            return int(run_id)
        time.sleep(0.05)
    pytest.fail("the batch committed no plan in time")


def _assert_nothing_half_written(engine: Engine, run_id: int) -> None:
    """Every planned result has its plan and every plan its result, with all its stops."""
    with session_scope(engine) as session:
        results = session.scalars(
            select(m.BatchRegionResult).where(m.BatchRegionResult.run_id == run_id)
        ).all()
        plans = session.scalars(select(m.Plan)).all()
        assert {r.plan_id for r in results if r.status == "planned"} == {p.id for p in plans}
        for plan in plans:
            stops = sum(len(route["stops"]) for route in plan.document["routes"])
            stored = session.scalar(
                select(func.count()).select_from(m.PlanStop).where(m.PlanStop.plan_id == plan.id)
            )
            assert stored == stops


def _kill_group(pgid: int) -> None:
    """Stop what is left of the killed driver's session (its cluster's workers)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
