"""`doorstep batch` and `doorstep network fetch` from the command line: exit codes and
messages that say what to do. The batch runs on the session's cluster (`--scheduler`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from distributed import Client
from sqlalchemy import Engine

from doorstep.batch import cluster
from doorstep.cli import main
from doorstep.db import models as m
from doorstep.db.engine import session_scope
from tests.doorstep.batch.conftest import DAY, RegionMaker


@pytest.fixture(autouse=True)
def keep_root_logging() -> Iterator[None]:
    """`doorstep batch` sets up logging for its process; give the next test the old one."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def cli(sqlite_engine: Engine, road_cache: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("DOORSTEP_CACHE_DIR", str(road_cache))
    monkeypatch.delenv("DOORSTEP_DASK_SCHEDULER", raising=False)
    return CliRunner()


def batch(cli: CliRunner, client: Client, tmp_path: Path, *args: str) -> Result:
    command = ["batch", "--day", DAY.isoformat(), "--scheduler", client.scheduler.address]
    command += ["--time-limit", "1", "--deterministic", "--report-dir", str(tmp_path / "out")]
    return cli.invoke(main, [*command, *args])


def test_batch_prints_totals_and_fails_when_a_region_fails(
    cli: CliRunner,
    client: Client,
    sqlite_engine: Engine,
    add_region: RegionMaker,
    tmp_path: Path,
) -> None:
    """Exit 1 naming the failed region and the report when any region fails, after the
    others were planned; exit 0 when every region is planned."""
    add_region(sqlite_engine, "good", borrowers=["B1", "B2"])
    add_region(sqlite_engine, "nomap", borrowers=["B3"], network="/nowhere/roads.osm.pbf")
    result = batch(cli, client, tmp_path)
    assert result.exit_code == 1, result.output
    assert "1 planned" in result.output and "1 failed" in result.output
    assert "nomap (network)" in result.output and "batch-2026-11-24-run1.html" in result.output
    assert "run the same command again" in result.output

    result = batch(cli, client, tmp_path, "--regions", "good")
    assert result.exit_code == 0, result.output
    assert "1 unchanged" in result.output


def test_batch_usage_and_known_errors(
    cli: CliRunner,
    client: Client,
    sqlite_engine: Engine,
    add_region: RegionMaker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unknown region, --workers with a scheduler, an unreachable scheduler and a day
    another batch holds are refused with a message that says what to do."""
    add_region(sqlite_engine, "good", borrowers=["B1"])
    result = batch(cli, client, tmp_path, "--regions", "good,nope")
    assert result.exit_code == 1
    assert "unknown region(s) nope; known: good" in result.output

    result = batch(cli, client, tmp_path, "--workers", "2")
    assert result.exit_code == 2
    assert "--workers only goes with a local cluster" in result.output

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)  # not the production 20 s
    command = ["batch", "--day", DAY.isoformat(), "--scheduler", "tcp://127.0.0.1:1"]
    result = cli.invoke(main, command, env={"DOORSTEP_DASK_SCHEDULER": ""})
    assert result.exit_code == 1
    assert "did not answer" in result.output and "DOORSTEP_DASK_SCHEDULER" in result.output

    with session_scope(sqlite_engine) as session:
        run = m.BatchRun(day=DAY, regions=["good"], host="night-1", pid=4242)
        session.add(run)
        session.flush()
        session.add(m.BatchLock(day=DAY, run_id=run.id, host="night-1", pid=4242))
    result = batch(cli, client, tmp_path)
    assert result.exit_code == 1
    assert "already running (run 1, process 4242 on night-1" in result.output


def test_network_fetch_warms_the_cache(cli: CliRunner, road_cache: Path) -> None:
    """`network fetch` loads a network into the cache; a bad source exits 1 and names it."""
    result = cli.invoke(main, ["network", "fetch", "--network", "sample"])
    assert result.exit_code == 0, result.output
    assert "sample: drive" in result.output and str(road_cache) in result.output
    assert list(road_cache.glob("roads-*-drive.graphml"))

    result = cli.invoke(main, ["network", "fetch", "--network", "/nowhere/roads.osm.pbf"])
    assert result.exit_code == 1
    assert "/nowhere/roads.osm.pbf" in result.output

    result = cli.invoke(main, ["network", "fetch"])
    assert result.exit_code == 2
    assert "--all-regions" in result.output
