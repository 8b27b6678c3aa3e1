"""`run_batch` on a real two-worker LocalCluster: every region planned and reported, caps
across regions, bad regions skipped, idempotent re-runs, the day's lock, splitting."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from distributed import Client
from sqlalchemy import Engine, select

from doorstep.batch.driver import BatchOptions, run_batch
from doorstep.batch.lock import BatchLockedError
from doorstep.batch.logs import JsonLines
from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.store import load_plan
from tests.doorstep.batch.conftest import (
    DAY,
    RegionMaker,
    current_plan_ids,
    planned_visits_by_borrower,
    results_by_region,
)

Options = Callable[..., BatchOptions]


def test_every_region_is_planned_stored_and_reported(
    sqlite_engine: Engine,
    client: Client,
    options: Options,
    add_region: RegionMaker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each region with open visits gets a stored plan and a result; the run record holds
    the report, written as JSON and HTML too; the logs name no borrower or visit."""
    add_region(sqlite_engine, "north", borrowers=["B1", "B2", "B3"])
    add_region(sqlite_engine, "south", borrowers=["B4", "B5"])
    caplog.set_level(logging.INFO)
    outcome = run_batch(sqlite_engine, client, options())

    assert outcome.status == "finished" and not outcome.resumed
    results = results_by_region(sqlite_engine, outcome.run_id)
    assert {r: results[r].status for r in results} == {"north": "planned", "south": "planned"}
    plans = current_plan_ids(sqlite_engine)
    assert {r: results[r].plan_id for r in results} == plans
    assert planned_visits_by_borrower(sqlite_engine) == {f"B{n}": 1 for n in range(1, 6)}

    totals = outcome.report["totals"]
    assert (totals["planned"], totals["visits"], totals["visits_planned"]) == (2, 5, 5)
    north = next(r for r in outcome.report["regions"] if r["region"] == "north")
    assert north["appointments_kept"] == north["appointments"] == 1
    assert {a["team_id"] for a in north["travel_per_agent"]} == {"northC", "northD"}
    assert north["solve_seconds"] > 0 and north["failure"] is None
    json_path, html_path = outcome.report_paths
    assert json_path.name == f"batch-{DAY.isoformat()}-run{outcome.run_id}.json"
    assert json.loads(json_path.read_text(encoding="utf-8")) == outcome.report
    page = html_path.read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page and "north" in page
    with session_scope(sqlite_engine) as session:
        run = session.get(m.BatchRun, outcome.run_id)
        assert run is not None and run.status == "finished" and run.report == outcome.report
        assert session.scalars(select(m.BatchLock)).all() == []

    logged = "\n".join(JsonLines().format(record) for record in caplog.records)
    assert "region_planned" in logged
    for secret in ("B1", "B4", "-V1", "60.16", "24.94"):
        assert secret not in logged


@pytest.mark.parametrize("bigger", ["north", "south"])
def test_caps_hold_across_regions_whatever_finishes_first(
    sqlite_engine: Engine,
    client: Client,
    options: Options,
    add_region: RegionMaker,
    bigger: str,
) -> None:
    """Two regions visit the same borrowers and are solved side by side from the same
    snapshot; the one saved second is re-planned, so no borrower gets two visits (cn: one
    a day)."""
    shared = ["S1", "S2", "S3"]
    add_region(
        sqlite_engine, "north", borrowers=shared + (["N1", "N2"] if bigger == "north" else [])
    )
    add_region(
        sqlite_engine, "south", borrowers=shared + (["X1", "X2"] if bigger == "south" else [])
    )
    outcome = run_batch(sqlite_engine, client, options())

    assert outcome.status == "finished"
    counts = planned_visits_by_borrower(sqlite_engine)
    assert all(n == 1 for n in counts.values()), counts
    assert {"S1", "S2", "S3"} <= set(counts)
    results = results_by_region(sqlite_engine, outcome.run_id)
    assert sorted(r.detail["conflicts"] for r in results.values()) == [0, 1]
    with session_scope(sqlite_engine) as session:
        later = next(r for r in results.values() if r.detail["conflicts"] == 1)
        plan = load_plan(session, later.region_id, DAY)
        assert plan is not None
        reasons = {u.visit_id: u.reason for u in plan.unassigned}
        assert all("planned on 2026-11-24" in reasons[f"{later.region_id}-V{n}"] for n in (1, 2, 3))


def test_a_bad_region_is_reported_and_the_others_finish(
    sqlite_engine: Engine, client: Client, options: Options, add_region: RegionMaker
) -> None:
    """A region whose network cannot be loaded and one whose visits lie off its network
    fail with a cause that says what to do; the good region is planned."""
    add_region(sqlite_engine, "good", borrowers=["B1", "B2"])
    add_region(sqlite_engine, "nomap", borrowers=["B3"], network="/nowhere/roads.osm.pbf")
    add_region(sqlite_engine, "paris", borrowers=["B4"], spots=((48.8566, 2.3522),))
    outcome = run_batch(sqlite_engine, client, options())

    assert outcome.status == "partial" and outcome.num_failed == 2
    failures = {f["region"]: f for f in outcome.report["failures"]}
    assert failures["nomap"]["kind"] == "network"
    assert "doorstep network fetch" in failures["nomap"]["cause"]
    assert failures["paris"]["kind"] == "input"
    assert "outside the road network's area" in failures["paris"]["cause"]
    assert set(current_plan_ids(sqlite_engine)) == {"good"}
    page = outcome.report_paths[1].read_text(encoding="utf-8")
    assert "Failed regions" in page and "/nowhere/roads.osm.pbf" in page


def test_running_a_day_again_changes_nothing(
    sqlite_engine: Engine, client: Client, options: Options, add_region: RegionMaker
) -> None:
    """A second run of a finished day leaves every plan as it is; a changed region (a new
    visit) is planned again; `replan` plans everything again."""
    add_region(sqlite_engine, "north", borrowers=["B1", "B2"])
    add_region(sqlite_engine, "south", borrowers=["B3", "B4"])
    first = run_batch(sqlite_engine, client, options())
    plans = current_plan_ids(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        stops = session.scalars(select(m.PlanStop.id).order_by(m.PlanStop.id)).all()

    second = run_batch(sqlite_engine, client, options())
    assert second.run_id != first.run_id and second.status == "finished"
    assert {r["region"]: r["status"] for r in second.report["regions"]} == {
        "north": "unchanged",
        "south": "unchanged",
    }
    assert second.report["totals"]["visits_planned"] == 4
    assert current_plan_ids(sqlite_engine) == plans
    with session_scope(sqlite_engine) as session:
        assert session.scalars(select(m.PlanStop.id).order_by(m.PlanStop.id)).all() == stops

    with session_scope(sqlite_engine) as session:
        visit = session.get(m.Visit, "south-V2")
        assert visit is not None
        visit.duration_s = 45 * 60
    third = run_batch(sqlite_engine, client, options())
    statuses = {r["region"]: r["status"] for r in third.report["regions"]}
    assert statuses == {"north": "unchanged", "south": "planned"}
    assert current_plan_ids(sqlite_engine)["north"] == plans["north"]

    fourth = run_batch(sqlite_engine, client, options(replan=True))
    assert {r["status"] for r in fourth.report["regions"]} == {"planned"}


def test_a_second_batch_for_the_same_day_refuses(
    engine: Engine, client: Client, options: Options, add_region: RegionMaker
) -> None:
    """While a live driver (here: on another host, heartbeat fresh) holds the day, a second
    batch refuses, names the holder and says what to do, and changes nothing."""
    add_region(engine, "north", borrowers=["B1"])
    with session_scope(engine) as session:
        run = m.BatchRun(day=DAY, regions=["north"], host="night-1", pid=4242)
        session.add(run)
        session.flush()
        session.add(m.BatchLock(day=DAY, run_id=run.id, host="night-1", pid=4242))
    with pytest.raises(BatchLockedError) as refused:
        run_batch(engine, client, options())
    message = str(refused.value)
    assert "already running" in message and "night-1" in message and "4242" in message
    assert "run this command again" in message
    assert current_plan_ids(engine) == {}


def test_a_stale_lock_is_taken_over_and_its_run_resumed(
    engine: Engine, client: Client, options: Options, add_region: RegionMaker
) -> None:
    """A run whose driver died (its lock's heartbeat stale) is resumed by the next batch of
    the day: same run, the region it had committed left alone, the rest planned."""
    add_region(engine, "north", borrowers=["B1", "B2"])
    first = run_batch(engine, client, options(regions=("north",)))
    north_plan = current_plan_ids(engine)["north"]
    add_region(engine, "south", borrowers=["B3"])
    with session_scope(engine) as session:  # as if the driver died before finishing
        run = session.get(m.BatchRun, first.run_id)
        assert run is not None
        run.status, run.report = "running", {}
        silent = m.utcnow() - timedelta(minutes=10)
        session.add(m.BatchLock(day=DAY, run_id=run.id, host="night-1", pid=1, heartbeat_at=silent))

    resumed = run_batch(engine, client, options(stale_after_s=120.0))

    assert resumed.resumed and resumed.run_id == first.run_id
    assert current_plan_ids(engine)["north"] == north_plan
    statuses = {r["region"]: r["status"] for r in resumed.report["regions"]}
    assert statuses == {"north": "planned", "south": "planned"}
    assert set(current_plan_ids(engine)) == {"north", "south"}
    with session_scope(engine) as session:
        assert session.scalars(select(m.BatchLock)).all() == []


def test_a_large_region_is_split_stitched_and_validated(
    sqlite_engine: Engine, client: Client, options: Options, add_region: RegionMaker
) -> None:
    """Above the threshold a region is solved in parts on the cluster and stitched into one
    plan (checked against the whole region by the validator); the report shows the parts."""
    borrowers = [f"B{n}" for n in range(1, 13)]
    add_region(sqlite_engine, "big", borrowers=borrowers)
    outcome = run_batch(sqlite_engine, client, options(split_above=6))

    assert outcome.status == "finished", outcome.report["failures"]
    (region,) = outcome.report["regions"]
    assert region["parts"] == 2
    sizes = [p["visits"] for p in region["part_details"]]
    assert sum(sizes) == 12 and max(sizes) <= 7  # equal shares, 10 % slack
    assert sum(p["teams"] for p in region["part_details"]) == 2
    assert region["visits"] == 12
    with session_scope(sqlite_engine) as session:
        plan = load_plan(session, "big", DAY)
        assert plan is not None
        accounted = [s.visit_id for s in plan.stops] + [u.visit_id for u in plan.unassigned]
        assert sorted(accounted) == sorted(f"big-V{n}" for n in range(1, 13))
        assert {r.team_id for r in plan.routes} == {"bigC", "bigD"}
    assert outcome.report["totals"]["split"] == 1
