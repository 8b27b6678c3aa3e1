"""`doorstep plan --region`: from the database, under the region's policy, back into it; caps
that hold across regions planned separately; a plan replaced whole or not at all."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

import geo
from doorstep import stored_plans
from doorstep.cli import main
from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.store import load_plan
from doorstep.planning import DayPlan, plan_day

DAY = date(2026, 11, 24)

AGENTS = """\
agent_id,name,mode,start_lat,start_lon,shift_start,shift_end,crew_id
{r}1,Aino,drive,60.1690,24.9420,08:00,17:00,{r}C
{r}2,Ben,drive,60.1690,24.9420,08:00,17:00,{r}C
"""

# B1 and B2 have a visit in both regions; B3 only in the first, B4 only in the second.
VISITS = """\
visit_id,borrower_id,lat,lon,duration_min,kind,windows,priority
{r}-V1,B1,60.1699,24.9384,30,appointment,{w1},50
{r}-V2,B2,60.1675,24.9460,30,flexible,,20
{r}-V3,{b3},60.1680,24.9400,30,flexible,,10
"""

HISTORY = """\
event_id,borrower_id,at,channel,outcome
E1,B2,2026-11-20T10:00+02:00,visit,not_home
E2,{b3},2026-11-10T10:00+02:00,visit,met
"""


@pytest.fixture
def cli(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", db_url)
    monkeypatch.setenv("DOORSTEP_CACHE_DIR", str(tmp_path / "cache"))
    return CliRunner()


def invoke(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def add_region(cli: CliRunner, tmp_path: Path, region: str, policy: str, **fmt: str) -> None:
    invoke(cli, "region", "add", region, "--timezone", "Europe/Helsinki", "--policy", policy)
    folder = tmp_path / region
    folder.mkdir()
    for name, text in (("agents", AGENTS), ("visits", VISITS), ("history", HISTORY)):
        (folder / f"{name}.csv").write_text(text.format(r=region, **fmt), encoding="utf-8")
    invoke(
        cli,
        "import",
        *(str(folder / f"{n}.csv") for n in ("agents", "visits", "history")),
        "--region",
        region,
        "--day",
        DAY.isoformat(),
    )


def plan(cli: CliRunner, region: str, out: Path) -> dict:
    invoke(
        cli,
        "plan",
        "--region",
        region,
        "--day",
        DAY.isoformat(),
        "--time-limit",
        "1",
        "--deterministic",
        "--out",
        str(out),
    )
    return json.loads(out.read_text(encoding="utf-8"))


def routed(document: dict) -> set[str]:
    return {s["visit_id"] for r in document["routes"] for s in r["stops"]}


def test_caps_hold_across_regions_planned_separately(
    cli: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    add_region(cli, tmp_path, "north", "cn", w1="09:00-10:00", b3="B3")
    add_region(cli, tmp_path, "south", "cn", w1="14:00-15:00", b3="B4")
    first = plan(cli, "north", tmp_path / "north.json")
    # cn: B2 was visited (nobody home) 4 days ago, so 7 days have not passed; the rest go.
    assert routed(first) == {"north-V1", "north-V3"}
    reasons = {u["visit_id"]: u for u in first["unassigned"]}
    assert reasons["north-V2"]["reason_code"] == "contact_policy"
    assert "2026-11-20" in reasons["north-V2"]["reason"]
    assert "policy cn" in reasons["north-V2"]["reason"]

    second = plan(cli, "south", tmp_path / "south.json")
    # B1 now has a visit planned in the north today: one visit a day, 7 days apart.
    assert routed(second) == {"south-V3"}
    why = {u["visit_id"]: u["reason"] for u in second["unassigned"]}
    assert "B1 has a visit planned on 2026-11-24" in why["south-V1"]
    assert second["policy"] == "cn@2026.1"
    assert {s["policy"] for r in second["routes"] for s in r["stops"]} == {"cn@2026.1"}

    with session_scope(engine) as session:
        stored = load_plan(session, "south", DAY)
        assert stored is not None
        assert [(s.visit_id, s.policy) for s in stored.stops] == [("south-V3", "cn@2026.1")]
        versions = session.scalars(select(m.PolicyVersion)).all()
        assert [(v.name, v.version) for v in versions] == [("cn", "2026.1")]
        actions = session.scalars(
            select(m.AuditEntry.entity_id).where(m.AuditEntry.action == "plan")
        ).all()
        assert actions == ["north/2026-11-24", "south/2026-11-24"]

    # Planning the north again does not count its own previous plan against itself.
    again = plan(cli, "north", tmp_path / "north2.json")
    assert routed(again) == routed(first)


def test_a_plan_saved_elsewhere_meanwhile_refuses_the_save(
    cli: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    add_region(cli, tmp_path, "north", "cn", w1="09:00-10:00", b3="B3")
    add_region(cli, tmp_path, "south", "cn", w1="14:00-15:00", b3="B4")
    prepared, _ = stored_plans.prepare(engine, "south", DAY, policy_dir=None)
    stale_plan = _route(prepared, tmp_path)  # a slow solve, while...
    plan(cli, "north", tmp_path / "north.json")  # ...the north is planned and saved
    with pytest.raises(stored_plans.ConcurrentPlanError, match="north"):
        stored_plans.save(engine, prepared, stale_plan, actor="test")
    with session_scope(engine) as session:
        assert load_plan(session, "south", DAY) is None
    fresh = plan(cli, "south", tmp_path / "south.json")
    assert "south-V1" not in routed(fresh)


def _route(prepared: stored_plans.PreparedDay, tmp_path: Path) -> DayPlan:
    """Route a prepared day without saving it."""
    network = geo.load_network(None, cache_dir=tmp_path / "cache")
    return plan_day(
        prepared.policy_day.day_input,
        network,
        day=DAY,
        timezone=prepared.timezone,
        region=prepared.region_id,
        time_limit=1,
        max_solutions=10,
        policy_day=prepared.policy_day,
    )


def test_unknown_region_and_empty_day_are_clear_errors(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(main, ["plan", "--region", "nowhere", "--day", "2026-11-24"])
    assert result.exit_code == 1
    assert "unknown region 'nowhere'" in result.output
    invoke(cli, "region", "add", "empty", "--timezone", "Europe/Helsinki")
    result = cli.invoke(main, ["plan", "--region", "empty", "--day", "2026-11-24"])
    assert result.exit_code == 1
    assert "no open visits on 2026-11-24" in result.output
    result = cli.invoke(
        main, ["plan", "--region", "empty", "--day", "2026-11-24", "--policy", "us"]
    )
    assert result.exit_code == 2
    assert "--policy only go with --visits" in result.output
