"""Fixtures for the batch tests: a real two-worker Dask `LocalCluster` shared by the session,
and tiny regions on the bundled Helsinki network, so the faults are exercised on real
processes in a few seconds each."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from distributed import Client, LocalCluster
from sqlalchemy import Engine, select

from doorstep.batch.driver import BatchOptions
from doorstep.batch.tasks import SolveOptions
from doorstep.db import models as m
from doorstep.db.engine import make_engine, session_scope
from doorstep.db.migrate import upgrade
from doorstep.importer import import_files
from doorstep.regions import upsert_region
from tests.doorstep.db import conftest as db_fixtures

# The database tests' fixtures, for the tests worth running on PostgreSQL too (lock, resume).
postgres_database = db_fixtures.postgres_database
db_url = db_fixtures.db_url
engine = db_fixtures.engine

DAY = date(2026, 11, 24)

AGENTS = """\
agent_id,name,mode,start_lat,start_lon,shift_start,shift_end,crew_id
{r}1,Aino,drive,60.1690,24.9420,08:00,17:00,{r}C
{r}2,Ben,drive,60.1690,24.9420,08:00,17:00,{r}C
{r}3,Chen,drive,60.1660,24.9450,08:00,17:00,{r}D
{r}4,Dan,drive,60.1660,24.9450,08:00,17:00,{r}D
"""

VISITS_HEADER = "visit_id,borrower_id,lat,lon,duration_min,kind,windows,priority\n"

SPOTS = (
    (60.1699, 24.9384),
    (60.1675, 24.9460),
    (60.1680, 24.9400),
    (60.1710, 24.9440),
    (60.1655, 24.9420),
    (60.1690, 24.9480),
)
"""Addresses in central Helsinki, all on the sample network's roads."""


@pytest.fixture(scope="session")
def road_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's road cache (graphs and matrices), shared by the driver and workers."""
    return tmp_path_factory.mktemp("road-cache")


@pytest.fixture(scope="session")
def client(road_cache: Path) -> Iterator[Client]:
    """A real `LocalCluster`: two worker processes of one thread each, as `doorstep batch`
    starts; each worker has already loaded the sample network once."""
    import geo

    geo.load_network(None, cache_dir=road_cache)  # one cold load, before the workers race
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
    )
    client = Client(cluster)
    client.run(warm_worker, road_cache)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def warm_worker(cache: Path) -> int:
    """Load the sample network into this worker's memory; return the worker's pid."""
    from doorstep.batch import tasks

    tasks._load("sample", cache)
    return os.getpid()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite database upgraded to head (most batch tests need no PostgreSQL)."""
    url = f"sqlite:///{tmp_path / 'batch.db'}"
    upgrade(url)
    database = make_engine(url)
    yield database
    database.dispose()


@pytest.fixture
def options(tmp_path: Path, road_cache: Path) -> Callable[..., BatchOptions]:
    """`options(**changes)`: batch options for tiny regions: a short, deterministic solve,
    the shared road cache, reports in a fresh folder."""

    def _options(**changes: object) -> BatchOptions:
        solve = SolveOptions(
            time_limit=float(changes.pop("time_limit", 2.0)),  # type: ignore[arg-type]
            max_solutions=changes.pop("max_solutions", 20),  # type: ignore[arg-type]
            max_snap_m=250.0,
            cache_dir=road_cache,
        )
        values: dict[str, object] = {
            "day": DAY,
            "solve": solve,
            "report_dir": tmp_path / "reports",
            "heartbeat_s": 1.0,
            "stale_after_s": 30.0,
        }
        values.update(changes)
        return BatchOptions(**values)  # type: ignore[arg-type]

    return _options


RegionMaker = Callable[..., None]


@pytest.fixture
def add_region(tmp_path: Path) -> RegionMaker:
    """`add_region(engine, "north", borrowers=["B1", "B2"], network="sample")`: a region
    with two crews of two and one visit per borrower (the first an appointment), imported
    through the ordinary importer."""

    def _add(
        engine: Engine,
        region: str,
        *,
        borrowers: list[str],
        network: str = "sample",
        spots: tuple[tuple[float, float], ...] = SPOTS,
    ) -> None:
        upsert_region(engine, region, timezone="Europe/Helsinki", policy="cn", network=network)
        folder = tmp_path / region
        folder.mkdir()
        (folder / "agents.csv").write_text(AGENTS.format(r=region), encoding="utf-8")
        rows = [
            f"{region}-V{n},{borrower},{lat},{lon},30,"
            + ("appointment,10:00-12:00,50" if n == 1 else "flexible,,20")
            for n, (borrower, (lat, lon)) in enumerate(
                zip(borrowers, spots * 10, strict=False), start=1
            )
        ]
        (folder / "visits.csv").write_text(VISITS_HEADER + "\n".join(rows) + "\n", "utf-8")
        import_files(
            engine,
            [folder / "agents.csv", folder / "visits.csv"],
            region_id=region,
            day=DAY,
            actor="test",
        )

    return _add


def planned_visits_by_borrower(engine: Engine) -> dict[str, int]:
    """How many stops every borrower has across all current plans of the day."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(m.PlanStop.borrower_id)
            .join(m.Plan, m.Plan.id == m.PlanStop.plan_id)
            .where(m.Plan.day == DAY, m.Plan.status == "current")
        ).all()
    counts: dict[str, int] = {}
    for (borrower,) in rows:
        counts[borrower] = counts.get(borrower, 0) + 1
    return counts


def results_by_region(engine: Engine, run_id: int) -> dict[str, m.BatchRegionResult]:
    with session_scope(engine) as session:
        rows = session.scalars(
            select(m.BatchRegionResult).where(m.BatchRegionResult.run_id == run_id)
        ).all()
    return {r.region_id: r for r in rows}


def current_plan_ids(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(m.Plan.region_id, m.Plan.id).where(m.Plan.day == DAY, m.Plan.status == "current")
        ).all()
    return dict(rows)
