"""Offering appointment times: the policy's verdict per day, windows that really fit, each
offered slot kept when booked and the day re-planned, and two bookings never sharing the
last room. On the small web site (north: Aino and Ben, four appointments on the plan day)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.store import CURRENT, load_plan
from doorstep.region_planning import plan_region
from doorstep.settings import Settings
from doorstep.slots import SlotRequest, SlotTakenError, book_slot, find_slots
from optimizer import Location
from tests.webui.site import DAY, build_small_site

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
"""08:00 in Helsinki on the plan day."""
HERE = Location(60.0004, 25.0015)
"""An address among north's visits on the tiny network."""
H = 3600


@pytest.fixture
def settings(engine: Engine, db_url: str, tmp_path: Path) -> Settings:
    """The small site under `uk` (one agent a visit), plus a lender layer `notice24`."""
    build_small_site(engine)
    with session_scope(engine) as session:
        region = session.get(m.Region, "north")
        assert region is not None
        region.policy = "uk"
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "notice24.toml").write_text(
        'name = "notice24"\nversion = "1"\nmin_notice_hours = 24\n', encoding="utf-8"
    )
    return Settings(cache_dir=tmp_path / "cache", database_url=db_url, policy_dir=policies)


def ask(**changes: object) -> SlotRequest:
    values: dict[str, object] = {
        "region_id": "north",
        "location": HERE,
        "duration_s": 30 * 60,
        "first_day": DAY,
        "num_days": 2,
        "window_s": 2 * H,
    }
    values.update(changes)
    return SlotRequest(**values)  # type: ignore[arg-type]


def set_region(engine: Engine, **values: object) -> None:
    with session_scope(engine) as session:
        region = session.get(m.Region, "north")
        assert region is not None
        for name, value in values.items():
            setattr(region, name, value)


def test_free_days_offer_windows_ranked_by_extra_travel(engine: Engine, settings: Settings) -> None:
    """The plan day offers windows around the four appointments; the next day, with none,
    offers every window of the agents' shifts; slots come cheapest first."""
    answer = find_slots(engine, settings, ask(), now=NOW)
    today, tomorrow = answer.days
    assert today.slots and tomorrow.slots
    ranked = answer.ranked()
    assert [s.extra_travel_s for s in ranked] == sorted(s.extra_travel_s for s in ranked)
    # Shifts are 09:00-17:00 and uk hours 08:00-21:00: nothing starts before 09:00 or after
    # 16:30 (the visit must end by 17:00, the agent back at the office after it).
    for slot in ranked:
        assert 9 * H <= slot.start <= 16 * H + 30 * 60
        assert slot.window.contains(slot.start)
    body = answer.as_json()
    assert body["slots"][0]["window"]["start"].startswith("2026-11-2")
    assert body["days"][0]["reason"] is None


def test_every_offered_slot_is_kept_when_booked(engine: Engine, settings: Settings) -> None:
    """Book each slot of the plan day in turn and plan the day: the new appointment is
    routed, starting inside its window; then it is cancelled for the next one."""
    slots = find_slots(engine, settings, ask(num_days=1), now=NOW).days[0].slots
    assert len(slots) >= 2
    for slot in slots:
        visit_id = book_slot(
            engine, settings, ask(num_days=1), slot.day, slot.window, now=NOW, actor="web:disp"
        )
        planned = plan_region(engine, settings, "north", DAY, time_limit=2, actor="test")
        stops = {s.visit_id: s for r in planned.day_plan.plan.routes for s in r.stops}
        assert visit_id in stops, f"{slot.window} not kept"
        assert slot.window.contains(stops[visit_id].start)
        with session_scope(engine) as session:
            row = session.get(m.Visit, visit_id)
            assert row is not None and row.kind == "appointment" and row.agreed_at is not None
            row.status = "cancelled"


def test_a_borrower_visited_lately_gets_the_policys_reason(
    engine: Engine, settings: Settings
) -> None:
    """Visited two days ago, B7 may not be visited for a week under uk: every day of the
    range says so, naming the rule and the date. (B9, visited in south that day, may not
    be visited in north either.)"""
    with session_scope(engine) as session:
        session.add(m.Borrower(id="B7"))
        session.flush()
        session.add(
            m.ContactEvent(
                id="E1",
                borrower_id="B7",
                at=NOW - timedelta(days=2),
                channel="visit",
                outcome="met",
            )
        )
    answer = find_slots(engine, settings, ask(borrower_id="B7"), now=NOW)
    for day in answer.days:
        assert day.slots == () and day.reason_code == "contact_policy"
        assert "2026-11-22" in day.reason and "7 days" in day.reason
    (south_visit,) = find_slots(engine, settings, ask(borrower_id="B9", num_days=1), now=NOW).days
    assert "B9 has a visit planned on 2026-11-24" in south_visit.reason


def test_booking_must_not_block_a_visit_agreed_later(engine: Engine, settings: Settings) -> None:
    """B2 has an appointment on the plan day: three days before, a visit would use up the
    week; on the day itself the borrower has theirs already."""
    answer = find_slots(
        engine,
        settings,
        ask(borrower_id="B2", first_day=DAY - timedelta(days=3), num_days=4),
        now=NOW - timedelta(days=4),
    )
    before, *_, on_the_day = answer.days
    assert before.reason_code == "contact_policy"
    assert "would block the one already agreed on 2026-11-24" in before.reason
    assert on_the_day.slots == () and on_the_day.reason_code == "contact_policy"


def test_no_agent_with_the_skill_and_no_room_are_said(engine: Engine, settings: Settings) -> None:
    """A skill nobody has; then teams at their visit limits: each day says which."""
    answer = find_slots(engine, settings, ask(skills=frozenset({"lang:sv"}), num_days=1), now=NOW)
    (day,) = answer.days
    assert day.reason_code == "no_team" and "no agent with skill lang:sv is on shift" in day.reason
    with session_scope(engine) as session:
        for agent_id, limit in (("A1", 2), ("A2", 1)):
            agent = session.get(m.Agent, agent_id)
            assert agent is not None
            agent.max_visits = limit
    (day,) = find_slots(engine, settings, ask(num_days=1), now=NOW).days
    assert day.reason_code == "full" and "every suitable team's day is full" in day.reason


def test_notice_closes_the_first_day(engine: Engine, settings: Settings) -> None:
    """With 24 h notice, nothing is left on the plan day at 08:00; the next day opens at 08:00
    (so the shift start, 09:00, is what bounds it)."""
    set_region(engine, policy="uk+notice24")
    today, tomorrow = find_slots(engine, settings, ask(), now=NOW).days
    assert today.reason_code == "no_window" and "24 h notice" in today.reason
    assert tomorrow.slots and min(s.start for s in tomorrow.slots) >= 9 * H


def test_the_last_room_goes_to_one_booking(engine: Engine, settings: Settings) -> None:
    """Aino alone, with her two appointments and room for one more visit; two people book
    the same window at once: exactly one gets it, the other is told to pick another."""
    with session_scope(engine) as session:
        ben = session.get(m.Agent, "A2")
        aino = session.get(m.Agent, "A1")
        assert ben is not None and aino is not None
        ben.active = False
        aino.max_visits = 3
        for visit_id in ("N-V3", "N-V4"):
            visit = session.get(m.Visit, visit_id)
            assert visit is not None
            visit.status = "cancelled"
    (slot, *_) = find_slots(engine, settings, ask(num_days=1), now=NOW).days[0].slots
    results: list[str] = []
    barrier = threading.Barrier(2)

    def book() -> None:
        barrier.wait()
        try:
            book_slot(engine, settings, ask(num_days=1), DAY, slot.window, now=NOW, actor="t")
            results.append("booked")
        except SlotTakenError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=book) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("booked") == 1
    (refused,) = [r for r in results if r != "booked"]
    assert "can no longer be kept" in refused and "pick another" in refused
    with session_scope(engine) as session:
        booked = session.scalars(select(m.Visit).where(m.Visit.id.like("APT-%"))).all()
        assert len(booked) == 1
        assert load_plan(session, "north", DAY, CURRENT) is not None


def test_bad_requests_name_the_field() -> None:
    """Durations, day counts, windows and crews out of range are refused with the value."""
    for changes, words in (
        ({"duration_s": 60}, "duration 1 min must be 5 to 480 min"),
        ({"num_days": 30}, "days 30 must be 1 to 14"),
        ({"window_s": 60}, "window 1 min must be 15 to 480 min"),
        ({"crew_size": 9}, "crew size 9 must be 1 to 4"),
    ):
        with pytest.raises(ValueError, match=words):
            ask(**changes)
