"""Planning several days at once: flexible visits get days that keep the contact policy over
the whole horizon and balance the days; appointments stay; everything is stored at once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.store import CURRENT, load_plan
from doorstep.horizon import plan_horizon
from doorstep.region_planning import RegionPlanError
from doorstep.settings import Settings
from tests.webui.site import DAY, build_small_site

FLEXIBLE = [f"F{k}" for k in range(1, 7)]


@pytest.fixture
def settings(engine: Engine, db_url: str, tmp_path: Path) -> Settings:
    """North under uk (one visit a week per borrower), each agent at most three visits a
    day; besides the four appointments, six flexible visits filed under the plan day; B1,
    who has an appointment that day, also has a flexible visit the next day."""
    build_small_site(engine)
    with session_scope(engine) as session:
        region = session.get(m.Region, "north")
        assert region is not None
        region.policy = "uk"
        for agent_id in ("A1", "A2"):
            agent = session.get(m.Agent, agent_id)
            assert agent is not None
            agent.max_visits = 3
        for k, visit_id in enumerate(FLEXIBLE):
            session.add(m.Borrower(id=f"BF{k}"))
            session.flush()
            session.add(
                m.Visit(
                    id=visit_id,
                    region_id="north",
                    day=DAY,
                    borrower_id=f"BF{k}",
                    lat=60.0003 + 0.0001 * k,
                    lon=25.0012 + 0.0002 * k,
                    address="",
                    duration_s=1800,
                    kind="flexible",
                    windows=[],
                )
            )
    return Settings(cache_dir=tmp_path / "cache", database_url=db_url)


def test_flexible_visits_are_spread_and_the_policy_holds(
    engine: Engine, settings: Settings
) -> None:
    """Three days: the appointments stay on the first, the flexible visits even out the
    days' work (4 appointments on the first, so 3 and 3 on the others), nobody is visited
    twice in the week, and B1's second visit is not placed, with the policy's reason."""
    result = plan_horizon(
        engine, settings, "north", DAY, 3, time_limit=2, actor="t", max_solutions=50
    )
    assert [d.day for d in result.days] == [DAY + timedelta(days=k) for k in range(3)]
    first = result.days[0]
    assert first.appointments == 4 and first.appointments_kept == 4
    assert [d.flexible_routed for d in result.days] == [0, 3, 3]
    assert sum(d.moved_here for d in result.days) == 6
    assert dict(result.unplaced).keys() == {"N-V9"}
    assert "B1" in dict(result.unplaced)["N-V9"]
    with session_scope(engine) as session:
        routed: Counter[str] = Counter()
        for d in result.days:
            plan = load_plan(session, "north", d.day, CURRENT)
            assert plan is not None and plan.id == d.plan_id
            for route in plan.document["routes"]:
                for stop in route["stops"]:
                    routed[stop["borrower_id"]] += 1
                    visit = session.get(m.Visit, stop["visit_id"])
                    assert visit is not None and visit.day == d.day  # moved visits moved
    assert max(routed.values()) == 1


def test_a_day_without_room_passes_visits_on(engine: Engine, settings: Settings) -> None:
    """One day only: what does not fit is listed, with the reason the day gave."""
    result = plan_horizon(
        engine, settings, "north", DAY, 1, time_limit=2, actor="t", max_solutions=50
    )
    (day,) = result.days
    assert day.flexible_routed == 2  # six visits of room, four taken by appointments
    reasons = dict(result.unplaced)
    assert set(FLEXIBLE) - set(reasons) and len([v for v in FLEXIBLE if v in reasons]) == 4


def test_bad_horizons_are_refused(engine: Engine, settings: Settings) -> None:
    """Zero days, too many, or days with nothing to plan: said, nothing stored."""
    for days, words in ((0, "1 to 14 days"), (30, "1 to 14 days")):
        with pytest.raises(RegionPlanError, match=words):
            plan_horizon(engine, settings, "north", DAY, days, time_limit=1, actor="t")
    with pytest.raises(RegionPlanError, match="no open visits in the 2 days from 2027-01-10"):
        plan_horizon(
            engine,
            settings,
            "north",
            DAY.replace(year=2027, month=1, day=10),
            2,
            time_limit=1,
            actor="t",
        )
    with session_scope(engine) as session:
        assert session.scalars(select(m.Plan).where(m.Plan.day > DAY)).all() == []
