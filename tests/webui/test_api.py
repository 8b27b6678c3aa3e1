"""The JSON API's behaviour: plans and exports, publishing, the agent's day, outcomes, audit."""

from __future__ import annotations

import csv
import io
import logging
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from doorstep import published
from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.store import load_plan
from doorstep.stored_plans import prepare
from tests.webui.conftest import api_csrf, make_site, sign_in
from tests.webui.site import DAY, NORTH_PLAN, route, stop, store_plan

PLAN = f"/api/v1/regions/north/days/{DAY.isoformat()}"


def post_outcome(client: FlaskClient, **body: object) -> tuple[int, dict]:
    body.setdefault("id", str(uuid.uuid4()))
    response = client.post(
        "/api/v1/me/outcomes", json=body, headers={"X-CSRFToken": api_csrf(client)}
    )
    return response.status_code, response.get_json()


@pytest.fixture
def dispatcher(app: Flask) -> FlaskClient:
    return sign_in(app.test_client(), "disp")


@pytest.fixture
def agent_a(app: Flask) -> FlaskClient:
    return sign_in(app.test_client(), "agent_a")


def test_plan_json_adds_map_positions(dispatcher: FlaskClient) -> None:
    """The plan JSON is the stored document plus starts, ends and unassigned positions."""
    document = dispatcher.get(f"{PLAN}/plan").get_json()
    assert document["status"] == "current" and document["plan_id"] > 0
    assert [r["team_id"] for r in document["routes"]] == ["A1", "A2"]
    assert document["routes"][0]["start"] == {"lat": 60.0, "lon": 25.0}
    assert document["unassigned"] == [
        {
            "visit_id": "N-V4",
            "reason_code": "missing_skill",
            "reason": "no agent speaks sv",
            "lat": 60.0006,
            "lon": 25.0025,
            "address": "Address of N-V4",
            "kind": "appointment",
        }
    ]


def test_plan_exports(dispatcher: FlaskClient) -> None:
    """GeoJSON holds route lines, stop and unassigned points; CSV one row per stop."""
    geojson = dispatcher.get(f"{PLAN}/plan.geojson")
    assert geojson.mimetype == "application/geo+json"
    kinds = [f["geometry"]["type"] for f in geojson.get_json()["features"]]
    assert kinds.count("LineString") == 2 and kinds.count("Point") == 4
    exported = dispatcher.get(f"{PLAN}/plan.csv")
    assert exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [r["visit_id"] for r in rows] == ["N-V1", "N-V2", "N-V3"]


def test_plan_errors_say_what_to_do(dispatcher: FlaskClient) -> None:
    """A day without a plan, a malformed day and an unknown status each say what to fix."""
    missing = dispatcher.get("/api/v1/regions/north/days/2026-12-01/plan")
    assert missing.status_code == 404
    assert "doorstep plan --region north --day 2026-12-01" in missing.get_json()["message"]
    assert dispatcher.get("/api/v1/regions/north/days/24.11.2026/plan").status_code == 400
    assert dispatcher.get(f"{PLAN}/plan?status=draft").status_code == 400
    unknown = dispatcher.get("/api/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "not_found"


def test_publish_copies_the_current_plan(app: Flask, engine: Engine) -> None:
    """Publishing makes the published plan equal to the current one, and agents see it."""
    moved = {
        **NORTH_PLAN,
        "routes": [route("A1", "A1", "Aino", [NORTH_PLAN["routes"][0]["stops"][0]])],
    }
    moved["routes"].append(
        route(
            "A2",
            "A2",
            "Ben",
            [
                stop(1, "N-V3", "B3", 60.0002, 25.0035, "10:30"),
                stop(2, "N-V2", "B2", 60.001, 25.003, "11:30"),
            ],
        )
    )
    with session_scope(engine) as session:
        store_plan(session, moved, "current")
    agent_b = sign_in(app.test_client(), "agent_b")
    assert [
        s["visit_id"] for s in agent_b.get("/api/v1/me/route").get_json()["route"]["stops"]
    ] == ["N-V3"]
    dispatcher = sign_in(app.test_client(), "disp")
    response = dispatcher.post(f"{PLAN}/publish", headers={"X-CSRFToken": api_csrf(dispatcher)})
    assert response.status_code == 200
    assert response.get_json()["stops"] == 3
    stops = agent_b.get("/api/v1/me/route").get_json()["route"]["stops"]
    assert [s["visit_id"] for s in stops] == ["N-V3", "N-V2"]
    with session_scope(engine) as session:
        plan = load_plan(session, "north", DAY, "published")
        assert plan is not None and plan.document["routes"] == moved["routes"]
        assert [s.visit_id for s in plan.stops] == ["N-V1", "N-V3", "N-V2"]


def test_a_failed_publish_leaves_the_published_plan_whole(
    app: Flask, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When publishing fails midway, agents keep the plan they had, whole."""
    with session_scope(engine) as session:
        before = load_plan(session, "north", DAY, "published")
        assert before is not None
        before_id, before_stops = before.id, [s.visit_id for s in before.stops]

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(published, "audit", crash)  # after the copy, before the commit
    dispatcher = sign_in(app.test_client(), "disp")
    response = dispatcher.post(f"{PLAN}/publish", headers={"X-CSRFToken": api_csrf(dispatcher)})
    assert response.status_code == 500
    assert "disk full" not in response.get_data(as_text=True)
    with session_scope(engine) as session:
        after = load_plan(session, "north", DAY, "published")
        assert after is not None
        assert (after.id, [s.visit_id for s in after.stops]) == (before_id, before_stops)


def test_publish_without_a_plan_is_404_with_advice(dispatcher: FlaskClient) -> None:
    """Nothing to publish: 404 naming the command that makes a plan."""
    response = dispatcher.post(
        "/api/v1/regions/north/days/2026-12-01/publish",
        headers={"X-CSRFToken": api_csrf(dispatcher)},
    )
    assert response.status_code == 404
    assert "doorstep plan --region north" in response.get_json()["message"]


@pytest.mark.parametrize(
    ("now", "visible"),
    [
        (datetime(2026, 11, 23, 21, 59, tzinfo=UTC), False),  # 23:59 the day before
        (datetime(2026, 11, 23, 22, 0, tzinfo=UTC), True),  # local midnight
        (datetime(2026, 11, 24, 21, 59, tzinfo=UTC), True),  # 23:59 on the day
        (datetime(2026, 11, 24, 22, 0, tzinfo=UTC), False),  # the day is over
    ],
)
def test_agents_see_only_today_in_their_time_zone(
    tmp_path: Path, web_cache_dir: Path, site_template: Path, now: datetime, visible: bool
) -> None:
    """The route shows from local midnight to local midnight of its day, not a minute more."""
    app, engine = make_site(tmp_path, web_cache_dir, site_template, clock=lambda: now)
    document = sign_in(app.test_client(), "agent_a").get("/api/v1/me/route").get_json()
    assert (document["route"] is not None) is visible
    if not visible:
        assert "no published route" in document["message"]
    engine.dispose()


def test_an_outcome_is_stored_exactly_once(agent_a: FlaskClient, engine: Engine) -> None:
    """The same submission sent three times is one contact event; the route shows it."""
    event_id = str(uuid.uuid4())
    answers = [post_outcome(agent_a, id=event_id, visit_id="N-V1", outcome="met") for _ in range(3)]
    assert [status for status, _ in answers] == [201, 200, 200]
    assert [body["duplicate"] for _, body in answers] == [False, True, True]
    with session_scope(engine) as session:
        events = session.scalars(
            select(m.ContactEvent).where(m.ContactEvent.source == "agent")
        ).all()
        assert [(e.id, e.borrower_id, e.channel, e.outcome, e.agent_id) for e in events] == [
            (event_id, "B1", "visit", "met", "A1")
        ]
    stops = agent_a.get("/api/v1/me/route").get_json()["route"]["stops"]
    assert stops[0]["outcome"]["outcome"] == "met" and stops[1]["outcome"] is None


def test_an_id_reused_for_another_outcome_is_refused(agent_a: FlaskClient) -> None:
    """A client bug that reuses an id for a different outcome gets 409, not a silent merge."""
    event_id = str(uuid.uuid4())
    assert post_outcome(agent_a, id=event_id, visit_id="N-V1", outcome="met")[0] == 201
    status, body = post_outcome(agent_a, id=event_id, visit_id="N-V1", outcome="refused")
    assert status == 409 and "new UUID" in body["message"]


def test_outcomes_only_for_stops_on_the_agents_route(agent_a: FlaskClient) -> None:
    """Another agent's visit, another region's, and yesterday (no route) are refused."""
    for visit in ("N-V3", "S-V1", "N-V4"):
        status, body = post_outcome(agent_a, visit_id=visit, outcome="met")
        assert status == 404, body
        assert "not on your published route" in body["message"]
    status, body = post_outcome(
        agent_a, visit_id="N-V1", outcome="met", at="2026-11-23T18:00:00+02:00"
    )
    assert status == 404


def test_promise_to_pay_and_check_in(agent_a: FlaskClient, engine: Engine) -> None:
    """A promise keeps its amount and date; a far check-in warns but is stored."""
    status, body = post_outcome(
        agent_a,
        visit_id="N-V2",
        outcome="promise_to_pay",
        promise_amount=120.5,
        promise_date="2026-12-01",
        note="pays on payday",
        lat=60.0040,
        lon=25.0030,
    )
    assert status == 201
    assert body["checkin_distance_m"] == 334
    assert "334 m" in body["warnings"][0] and "saved" in body["warnings"][0]
    with session_scope(engine) as session:
        event = session.get(m.ContactEvent, body["id"])
        assert event is not None
        assert event.promise_amount == Decimal("120.50")
        assert event.promise_date == date(2026, 12, 1)
        assert event.note == "pays on payday"
    near = post_outcome(agent_a, visit_id="N-V1", outcome="met", lat=60.0006, lon=25.001)[1]
    assert near["warnings"] == [] and near["checkin_distance_m"] == 11


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"outcome": "promise_to_pay"}, "needs promise_amount"),
        ({"outcome": "met", "promise_amount": 10}, "only with promise_to_pay"),
        (
            {"outcome": "promise_to_pay", "promise_amount": 1.001, "promise_date": "2026-12-01"},
            "2 decimals",
        ),
        (
            {"outcome": "promise_to_pay", "promise_amount": -5, "promise_date": "2026-12-01"},
            "above 0",
        ),
        ({"outcome": "sold_car"}, "unknown outcome"),
        ({"outcome": "met", "lat": 60.0}, "both lat and lon"),
        ({"outcome": "met", "at": "2026-11-24T18:00:00+02:00"}, "in the future"),
        ({"outcome": "met", "at": "2026-11-24T09:00:00"}, "with offset"),
        ({"outcome": "met", "id": "not-a-uuid"}, "not a UUID"),
        ({"outcome": "met", "colour": "red"}, "unknown field"),
        ({"outcome": "met", "note": "x" * 2001}, "2000 at most"),
    ],
)
def test_invalid_outcomes_say_what_to_fix(agent_a: FlaskClient, body: dict, words: str) -> None:
    """Each invalid outcome is refused with 422 and a message naming the problem."""
    status, answer = post_outcome(agent_a, visit_id="N-V1", **body)
    assert status == 422, answer
    assert words in answer["message"]


def test_an_outcome_counts_toward_the_borrowers_limits_at_once(
    agent_a: FlaskClient, engine: Engine
) -> None:
    """After a visit is recorded today, tomorrow's plan may not visit the borrower again
    (policy cn: 7 days between visits): the outcome is contact history immediately."""
    before, _ = prepare(engine, "north", date(2026, 11, 25), policy_dir=None)
    assert not before.policy_day.excluded
    assert post_outcome(agent_a, visit_id="N-V1", outcome="not_home")[0] == 201
    after, _ = prepare(engine, "north", date(2026, 11, 25), policy_dir=None)
    assert [u.visit_id for u in after.policy_day.excluded] == ["N-V9"]
    assert "2026-11-24" in after.policy_day.excluded[0].reason


def test_views_and_changes_are_audited_without_borrower_data(
    app: Flask, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Viewing a plan or a route and recording an outcome each leave an audit entry naming
    the user; neither the audit log nor the application log holds the note or an address."""
    caplog.set_level(logging.DEBUG)
    dispatcher = sign_in(app.test_client(), "disp")
    dispatcher.get(f"{PLAN}/plan")
    dispatcher.get(f"{PLAN}/plan.csv")
    agent = sign_in(app.test_client(), "agent_a")
    agent.get("/api/v1/me/route")
    post_outcome(agent, visit_id="N-V1", outcome="refused", note="secret note about debts")
    with session_scope(engine) as session:
        entries = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.actor.like("web:%")).order_by(m.AuditEntry.id)
        ).all()
        seen = [(e.actor, e.action, e.entity_id) for e in entries]
        details = " ".join(str(e.detail) for e in entries)
    assert seen == [
        ("web:disp", "view_plan", "north/2026-11-24"),
        ("web:disp", "view_plan", "north/2026-11-24"),
        ("web:agent_a", "view_route", "north/2026-11-24/A1"),
        ("web:agent_a", "record_outcome", "N-V1"),
    ]
    for secret in ("secret note", "Street 1", "refused", "B1"):
        assert secret not in details
        assert secret not in caplog.text
