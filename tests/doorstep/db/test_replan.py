"""Re-planning during the day, on the small web site (north: Aino A1 and Ben A2, four
appointments 10:00-12:00 on the plan day), planned and published first: each kind of event
with its exact effect, what is done or under way never moving, and stability (an event on
one agent's route leaves the other's as it was)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.published import publish
from doorstep.region_planning import plan_region
from doorstep.replan import (
    ADDED,
    CANCELLED,
    LATE,
    OVERRUN,
    UNAVAILABLE,
    ReplanError,
    Replanned,
    day_events,
    record_event,
    replan,
)
from doorstep.settings import Settings
from optimizer import Plan, Route
from tests.webui.site import DAY, build_small_site

ZONE = ZoneInfo("Europe/Helsinki")
H = 3600


def at(hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime(DAY.year, DAY.month, DAY.day, int(hours), int(minutes), tzinfo=ZONE)


def seconds(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * H + int(minutes) * 60


@pytest.fixture
def site(engine: Engine, db_url: str, tmp_path: Path) -> tuple[Settings, Plan]:
    """North under uk, planned by the solver and published; the settings and that plan."""
    build_small_site(engine)
    with session_scope(engine) as session:
        region = session.get(m.Region, "north")
        assert region is not None
        region.policy = "uk"
    settings = Settings(cache_dir=tmp_path / "cache", database_url=db_url)
    planned = plan_region(engine, settings, "north", DAY, time_limit=2, actor="test")
    with session_scope(engine) as session:
        publish(session, "north", DAY, actor="test")
    plan = planned.day_plan.plan
    assert sum(r.num_stops for r in plan.routes) == 4
    return settings, plan


def route_of(plan: Plan, team: str) -> Route:
    return next(r for r in plan.routes if r.team_id == team)


def order(plan: Plan, team: str) -> list[str]:
    return [s.visit_id for s in route_of(plan, team).stops]


def again(engine: Engine, settings: Settings, hhmm: str) -> Replanned:
    return replan(engine, settings, "north", DAY, now=at(hhmm), time_limit=2, actor="web:disp")


def busiest(plan: Plan) -> Route:
    return max(plan.routes, key=lambda r: (r.num_stops, r.team_id))


def test_with_nothing_changed_the_plan_stays(engine: Engine, site: tuple[Settings, Plan]) -> None:
    """Re-planned at 09:00 with no event: every route as it was, no visit moved."""
    settings, before = site
    result = again(engine, settings, "09:00")
    for route in before.routes:
        assert order(result.day_plan.plan, route.team_id) == order(before, route.team_id)
    assert result.comparison["visits"]["moved"] == [] and result.basis == "published"


def test_done_and_under_way_stops_never_move(engine: Engine, site: tuple[Settings, Plan]) -> None:
    """At the end of a team's first visit, that visit and its times are kept exactly, and
    the count says what was kept."""
    settings, before = site
    first = busiest(before).stops[0]
    hhmm = f"{first.end // H:02d}:{first.end % H // 60:02d}"
    result = again(engine, settings, hhmm)
    after = route_of(result.day_plan.plan, busiest(before).team_id)
    kept = after.stops[0]
    assert (kept.visit_id, kept.start, kept.end) == (first.visit_id, first.start, first.end)
    assert result.frozen >= 1


def test_a_cancelled_visit_goes_and_the_other_route_stays(
    engine: Engine, site: tuple[Settings, Plan]
) -> None:
    """A visit of the busiest team is cancelled before the day starts: it is gone from the
    plan, the visit is marked cancelled, and the other team's route is unchanged."""
    settings, before = site
    team = busiest(before)
    other = next(r for r in before.routes if r.team_id != team.team_id)
    gone = team.stops[-1].visit_id
    record_event(engine, "north", DAY, CANCELLED, visit_id=gone, actor="web:disp")
    result = again(engine, settings, "09:00")
    plan = result.day_plan.plan
    assert gone not in {s.visit_id for r in plan.routes for s in r.stops}
    assert gone not in {u.visit_id for u in plan.unassigned}
    assert order(plan, other.team_id) == order(before, other.team_id)
    with session_scope(engine) as session:
        visit = session.get(m.Visit, gone)
        assert visit is not None and visit.status == "cancelled"


def test_an_unavailable_agent_keeps_only_what_came_before(
    engine: Engine, site: tuple[Settings, Plan]
) -> None:
    """The busiest agent cannot work from 10:20 on (re-planned at 10:10): their stops from
    then on go to the other agent or are left out with a reason; nothing of theirs starts
    after 10:20 but what they were already doing."""
    settings, before = site
    team = busiest(before)
    record_event(
        engine,
        "north",
        DAY,
        UNAVAILABLE,
        agent_id=team.agent_ids[0],
        at=seconds("10:20"),
        actor="web:disp",
    )
    result = again(engine, settings, "10:10")
    plan = result.day_plan.plan
    theirs = route_of(plan, team.team_id).stops
    assert all(s.start < seconds("10:20") for s in theirs)
    planned_later = {s.visit_id for s in team.stops if s.start >= seconds("10:20")}
    assert planned_later, "the scenario needs a stop after 10:20"
    elsewhere = {s.visit_id for r in plan.routes if r.team_id != team.team_id for s in r.stops}
    left_out = {u.visit_id: u.reason_code for u in plan.unassigned}
    assert planned_later <= elsewhere | set(left_out)


def test_a_visit_that_runs_long_pushes_what_follows(
    engine: Engine, site: tuple[Settings, Plan]
) -> None:
    """The busiest team's first visit takes 60 minutes longer (re-planned while it is under
    way): it ends an hour later, and the team's next stop starts after that."""
    settings, before = site
    team = busiest(before)
    first = team.stops[0]
    record_event(
        engine, "north", DAY, OVERRUN, visit_id=first.visit_id, minutes=60, actor="web:disp"
    )
    during = first.start + 60
    result = again(engine, settings, f"{during // H:02d}:{during % H // 60:02d}")
    plan = result.day_plan.plan
    after = route_of(plan, team.team_id)
    assert after.stops[0].visit_id == first.visit_id
    assert after.stops[0].end == first.end + 60 * 60
    assert all(s.start >= first.end + 60 * 60 for s in after.stops[1:])
    # What came next is still done, by this team after the long visit or by the other one.
    following = team.stops[1].visit_id
    assert following in {s.visit_id for r in plan.routes for s in r.stops}


def test_a_late_agent_starts_the_rest_later(engine: Engine, site: tuple[Settings, Plan]) -> None:
    """The busiest agent runs 90 minutes late at 09:00, so is free at 10:30: the team leaves
    then at the earliest and no stop of theirs starts before 10:30 plus the drive; every
    visit is still done (the other agent takes what no longer fits)."""
    settings, before = site
    team = busiest(before)
    record_event(engine, "north", DAY, LATE, agent_id=team.agent_ids[0], minutes=90, actor="t")
    result = again(engine, settings, "09:00")
    plan = result.day_plan.plan
    after = route_of(plan, team.team_id)
    assert after.stops, "the late team still has work"
    assert after.departure >= seconds("10:30")
    assert after.stops[0].start >= seconds("10:30") + after.stops[0].travel_time
    assert sum(r.num_stops for r in plan.routes) == 4


def test_an_urgent_visit_is_fitted_in(engine: Engine, site: tuple[Settings, Plan]) -> None:
    """A visit imported during the day (here: added to the database) and announced as
    added is routed by the re-plan."""
    settings, _ = site
    with session_scope(engine) as session:
        session.add(m.Borrower(id="B8"))
        session.flush()
        session.add(
            m.Visit(
                id="N-V8",
                region_id="north",
                day=DAY,
                borrower_id="B8",
                lat=60.0007,
                lon=25.0020,
                address="Urgent 8",
                duration_s=1800,
                kind="appointment",
                windows=[[seconds("13:00"), seconds("15:00")]],
            )
        )
    record_event(engine, "north", DAY, ADDED, visit_id="N-V8", actor="web:disp")
    result = again(engine, settings, "10:10")
    stops = {s.visit_id: s for r in result.day_plan.plan.routes for s in r.stops}
    assert "N-V8" in stops and seconds("13:00") <= stops["N-V8"].start <= seconds("15:00")
    assert [e.kind for e in day_events(engine, "north", DAY)] == [ADDED]


@pytest.mark.parametrize(
    ("kind", "values", "words"),
    [
        ("sick", {}, "unknown event 'sick'"),
        (UNAVAILABLE, {"agent_id": "A1"}, "needs the time it starts"),
        (UNAVAILABLE, {"agent_id": "S1", "at": 3600}, "no agent 'S1' in north"),
        (OVERRUN, {"visit_id": "N-V1", "minutes": 0}, "needs its minutes, 1 to 480"),
        (CANCELLED, {"visit_id": "S-V1"}, "no visit 'S-V1' in north on 2026-11-24"),
        (LATE, {}, "needs the agent"),
    ],
)
def test_bad_events_say_what_is_wrong(
    engine: Engine, site: tuple[Settings, Plan], kind: str, values: dict, words: str
) -> None:
    """An event the day cannot take is refused, naming the problem, and nothing is stored."""
    with pytest.raises(ValueError, match=words):
        record_event(engine, "north", DAY, kind, actor="t", **values)
    assert day_events(engine, "north", DAY) == []


def test_a_day_without_a_plan_cannot_be_replanned(
    engine: Engine, site: tuple[Settings, Plan]
) -> None:
    """Re-planning needs a plan to start from."""
    settings, _ = site
    with pytest.raises(ReplanError, match="no plan on 2026-11-25 to re-plan: plan it first"):
        replan(
            engine,
            settings,
            "north",
            DAY + timedelta(days=1),
            now=at("10:00"),
            time_limit=1,
            actor="t",
        )


def test_the_working_time_counts_from_the_morning(
    engine: Engine, site: tuple[Settings, Plan]
) -> None:
    """The busiest agent may work 50 minutes (from leaving to coming back): re-planned during
    the first visit, the second no longer fits their day and goes to the other agent or is
    left out; the joined day keeps the limit from the morning's departure."""
    settings, before = site
    team = busiest(before)
    with session_scope(engine) as session:
        agent = session.get(m.Agent, team.agent_ids[0])
        assert agent is not None
        agent.max_working_s = 50 * 60
    first = team.stops[0]
    result = again(engine, settings, f"{first.start // H:02d}:{first.start % H // 60 + 5:02d}")
    after = route_of(result.day_plan.plan, team.team_id)
    assert after.arrival - after.departure <= 50 * 60
    assert [s.visit_id for s in after.stops] == [first.visit_id]
