"""Plans, policy versions and the audit log in the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.db import store
from doorstep.db.engine import session_scope
from doorstep.db.models import AuditEntry, PlanRoute, PlanStop, PlanUnassigned, Region
from doorstep.db.store import (
    PlannedStop,
    RouteRow,
    StopRow,
    UnassignedRow,
    audit,
    load_plan,
    plan_rows_from_document,
    planned_stops,
    record_policy_layers,
    save_plan,
)

DAY = date(2026, 11, 24)
TOML = 'name = "cn"\nmax_visits_per_day = 1\n'


def _route(team: str = "A01") -> RouteRow:
    return RouteRow(team, (team,), "walk", 28800, 61200, 1800, 2400, ((43200, 45000),))


def _stop(visit: str, borrower: str, start: int, team: str = "A01", sequence: int = 1) -> StopRow:
    return StopRow(team, sequence, visit, borrower, start - 60, start, start + 1800, 600, 800)


def _save(
    session: Session,
    region: str,
    stops: Sequence[StopRow],
    *,
    day: date = DAY,
    status: str = "current",
    unassigned: Sequence[UnassignedRow] = (),
) -> int:
    if session.get(Region, region) is None:
        session.add(Region(id=region, timezone="Europe/Helsinki"))
    return save_plan(
        session,
        region_id=region,
        day=day,
        document={"region": region, "day": day.isoformat()},
        routes=[_route()],
        stops=stops,
        unassigned=unassigned,
        policy="cn@2026.1",
        objective=1234,
        solve_seconds=0.5,
        status=status,
    )


def _counts(engine: Engine) -> tuple[int, int, int]:
    with session_scope(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(PlanRoute)) or 0,
            session.scalar(select(func.count()).select_from(PlanStop)) or 0,
            session.scalar(select(func.count()).select_from(PlanUnassigned)) or 0,
        )


FIRST = [_stop("V1", "B1", 32400), _stop("V2", "B2", 36000, sequence=2)]
SECOND = [_stop("V3", "B3", 39600)]


def test_save_plan_replaces_the_previous_plan(engine: Engine) -> None:
    """Saving a region-day again leaves only the new plan, rows and all."""
    with session_scope(engine) as session:
        first_id = _save(session, "r1", FIRST, unassigned=[UnassignedRow("V9", "c", "why")])
    with session_scope(engine) as session:
        second_id = _save(session, "r1", SECOND)
    assert second_id != first_id
    with session_scope(engine) as session:
        plan = load_plan(session, "r1", DAY)
        assert plan is not None
        assert plan.id == second_id
        assert plan.objective == 1234
        assert plan.document == {"region": "r1", "day": "2026-11-24"}
        assert [s.visit_id for s in plan.stops] == ["V3"]
        assert plan.routes[0].agent_ids == ["A01"]
        assert plan.routes[0].breaks == [[43200, 45000]]
        assert plan.unassigned == []
        assert load_plan(session, "r1", DAY, status="draft") is None
    assert _counts(engine) == (1, 1, 0)


def _fail_after_save(session: Session) -> None:
    _save(session, "r1", SECOND)
    raise RuntimeError("crash after the new plan was flushed")


def _fail_inside_save(session: Session) -> None:
    # The same visit twice in unassigned breaks its primary key at the flush that inserts
    # the new plan, after the old one was deleted.
    twice = [UnassignedRow("V8", "c", "why"), UnassignedRow("V8", "c", "why")]
    _save(session, "r1", SECOND, unassigned=twice)


@pytest.mark.parametrize("crash", [_fail_after_save, _fail_inside_save])
def test_crash_mid_save_keeps_the_previous_plan(engine: Engine, crash: Any) -> None:
    """A failure after the old plan was deleted leaves it, and every stop of it, in place."""
    with session_scope(engine) as session:
        first_id = _save(session, "r1", FIRST, unassigned=[UnassignedRow("V9", "c", "why")])
    with pytest.raises((RuntimeError, IntegrityError)), session_scope(engine) as session:
        crash(session)
    with session_scope(engine) as session:
        plan = load_plan(session, "r1", DAY)
        assert plan is not None
        assert plan.id == first_id
        assert [(s.visit_id, s.start) for s in plan.stops] == [("V1", 32400), ("V2", 36000)]
    assert _counts(engine) == (1, 2, 1)


def test_save_plan_needs_the_region_and_routes_for_its_stops(engine: Engine) -> None:
    """A plan of an unknown region, or a stop of a team without a route, is refused."""
    with pytest.raises(ValueError, match="region 'nowhere' is not in the database"):
        with session_scope(engine) as session:
            save_plan(
                session,
                region_id="nowhere",
                day=DAY,
                document={},
                routes=[],
                stops=[],
                unassigned=[],
                policy="",
                objective=0,
                solve_seconds=0.0,
            )
    with pytest.raises(ValueError, match="team.* A02 have no route"):
        with session_scope(engine) as session:
            _save(session, "r1", [_stop("V1", "B1", 32400, team="A02")])


def test_policy_layers_are_kept_once_and_never_change(engine: Engine) -> None:
    """Recording the same layers again returns the same rows; new content under a known
    version is refused."""
    layers = [("cn", "2026.1", TOML), ("acme", "3", "[visits]\n")]
    with session_scope(engine) as session:
        ids = record_policy_layers(session, layers)
    with session_scope(engine) as session:
        assert record_policy_layers(session, layers) == ids
        (newer,) = record_policy_layers(session, [("cn", "2026.2", TOML + "# more\n")])
        assert newer not in ids
    assert len(set(ids)) == 2
    with pytest.raises(ValueError, match="policy cn version 2026.1 changed content since"):
        with session_scope(engine) as session:
            record_policy_layers(session, [("cn", "2026.1", TOML + "max_contacts = 2\n")])


def test_policy_layer_stored_by_a_parallel_worker(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When another worker stores the same new version between our look-up and our insert,
    its row is used and the rest of our transaction still commits."""
    with session_scope(engine) as session:
        (theirs,) = record_policy_layers(session, [("cn", "2026.1", TOML)])
    # Our look-up ran before their commit: it found nothing.
    monkeypatch.setattr(store, "_policy_version", _missing_once(store._policy_version))
    with session_scope(engine) as session:
        session.add(Region(id="r1", timezone="Europe/Helsinki"))
        assert record_policy_layers(session, [("cn", "2026.1", TOML)]) == [theirs]
    with session_scope(engine) as session:
        assert session.get(Region, "r1") is not None


def _missing_once(lookup: Any) -> Any:
    calls = []

    def look(*args: Any) -> Any:
        calls.append(args)
        return None if len(calls) == 1 else lookup(*args)

    return look


def test_planned_stops_of_other_regions(engine: Engine) -> None:
    """Only current plans of other regions, inside the day range, for the given borrowers."""
    with session_scope(engine) as session:
        _save(session, "home", [_stop("H1", "B1", 32400)])
        _save(session, "east", [_stop("E1", "B1", 36000), _stop("E2", "B9", 40000, sequence=2)])
        _save(session, "east", [_stop("E3", "B2", 50000)], day=DAY + timedelta(days=1))
        _save(session, "east", [_stop("E4", "B1", 30000)], day=DAY + timedelta(days=3))
        _save(session, "east", [_stop("E5", "B1", 30000)], day=DAY - timedelta(days=1))
        _save(session, "west", [_stop("W1", "B2", 30000)], status="draft")
    with session_scope(engine) as session:
        found = planned_stops(
            session,
            days=(DAY, DAY + timedelta(days=2)),
            borrower_ids={"B1", "B2"},
            exclude_region="home",
        )
        assert planned_stops(session, days=(DAY, DAY), borrower_ids=[], exclude_region=None) == []
        everyone = planned_stops(session, days=(DAY, DAY), borrower_ids=["B1"], exclude_region=None)
    assert found == [
        PlannedStop("east", DAY, "E1", "B1", 36000, 37800),
        PlannedStop("east", DAY + timedelta(days=1), "E3", "B2", 50000, 51800),
    ]
    assert {s.visit_id for s in everyone} == {"H1", "E1"}


def test_planned_stops_refuse_a_backwards_range(engine: Engine) -> None:
    """A day range that ends before it starts is a mistake, not an empty answer."""
    with pytest.raises(ValueError, match="days run backwards"), session_scope(engine) as session:
        planned_stops(
            session, days=(DAY, DAY - timedelta(days=1)), borrower_ids=["B1"], exclude_region=None
        )


def test_audit_entries_are_stored(engine: Engine) -> None:
    """An audit entry keeps who, what, which record and the detail, stamped in UTC."""
    with session_scope(engine) as session:
        audit(
            session,
            actor="nightly",
            action="save",
            entity="plan",
            entity_id="7",
            detail={"stops": 3},
        )
    with session_scope(engine) as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.action, entry.entity, entry.entity_id, entry.detail) == (
        "nightly",
        "save",
        "plan",
        "7",
        {"stops": 3},
    )
    assert entry.at.utcoffset() == timedelta(0)


def _iso(day: date, seconds: int) -> str:
    """As optimizer.Plan.local_time writes a time: wall-clock seconds after local midnight."""
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo("Europe/Helsinki"))
    return (midnight + timedelta(seconds=seconds)).isoformat()


def test_rows_from_a_plan_document_on_a_clock_change_day() -> None:
    """Times in the document become seconds after local midnight again, also on the day
    the clocks go forward, and past midnight; a stop's own policy wins over the plan's."""
    day = date(2026, 3, 29)  # Helsinki: 03:00 becomes 04:00
    stop = {
        "sequence": 1,
        "visit_id": "V1",
        "borrower_id": "B1",
        "arrival": _iso(day, 35000),
        "start": _iso(day, 36000),
        "end": _iso(day, 37800),
        "travel_time_s": 600,
        "travel_distance_m": 900,
    }
    document = {
        "day": day.isoformat(),
        "timezone": "Europe/Helsinki",
        "routes": [
            {
                "team_id": "C1",
                "agent_ids": ["A02", "A03"],
                "mode": "walk",
                "departure": _iso(day, 30000),
                "arrival": _iso(day, 90000),
                "travel_time_s": 1200,
                "travel_distance_m": 1800,
                "breaks": [{"start": _iso(day, 43200), "end": _iso(day, 45000)}],
                "stops": [stop, {**stop, "sequence": 2, "visit_id": "V2", "policy": "fi@1"}],
            }
        ],
        "unassigned": [{"visit_id": "V3", "reason_code": "borrower_cap", "reason": "twice"}],
    }
    routes, stops, unassigned = plan_rows_from_document(document, policy="cn@2026.1")
    assert routes == [
        RouteRow("C1", ("A02", "A03"), "walk", 30000, 90000, 1200, 1800, ((43200, 45000),))
    ]
    assert stops[0] == StopRow("C1", 1, "V1", "B1", 35000, 36000, 37800, 600, 900, "cn@2026.1")
    assert stops[1].policy == "fi@1"
    assert unassigned == [UnassignedRow("V3", "borrower_cap", "twice")]
    assert plan_rows_from_document({**document, "policy": "x@1"})[1][0].policy == "x@1"
