"""Offering and booking appointment times over the API: ranked slots, a day's reason,
fields checked, a booking that the day can no longer keep refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from doorstep.db import models as m
from doorstep.db.engine import session_scope
from tests.webui.conftest import api_csrf

ASK = {"lat": 60.0004, "lon": 25.0015, "duration_min": 30, "from": "2026-11-24", "days": 2}


@pytest.fixture(autouse=True)
def one_agent_policy(engine: Engine) -> None:
    """North under uk, where one agent may make a visit (the site's cn needs two)."""
    with session_scope(engine) as session:
        region = session.get(m.Region, "north")
        assert region is not None
        region.policy = "uk"


def post(client: FlaskClient, path: str, body: object) -> tuple[int, dict]:
    response = client.post(path, json=body, headers={"X-CSRFToken": api_csrf(client)})
    return response.status_code, response.get_json()


def test_slots_come_ranked_and_one_is_booked(
    client_for: Callable[[str | None], FlaskClient], engine: Engine
) -> None:
    """The answer lists slots cheapest first with their windows in local time; booking the
    first creates the appointment, agreed now, audited."""
    disp = client_for("disp")
    status, answer = post(disp, "/api/v1/regions/north/slots", ASK)
    assert status == 200, answer
    assert [d["day"] for d in answer["days"]] == ["2026-11-24", "2026-11-25"]
    slots = answer["slots"]
    assert slots and [s["extra_travel_s"] for s in slots] == sorted(
        s["extra_travel_s"] for s in slots
    )
    first = slots[0]
    assert first["window"]["start"].endswith("+02:00") and first["team_id"] in {"A1", "A2"}
    booking = {
        **ASK,
        "day": first["day"],
        "window_start": first["window"]["start"],
        "window_end": first["window"]["end"],
        "borrower_id": "B7",
    }
    status, booked = post(disp, "/api/v1/regions/north/bookings", booking)
    assert status == 201, booked
    with session_scope(engine) as session:
        visit = session.get(m.Visit, booked["visit_id"])
        assert visit is not None and visit.kind == "appointment" and visit.borrower_id == "B7"
        start, end = visit.windows[0]
        assert first["window"]["start"][11:16] == f"{start // 3600:02d}:{start % 3600 // 60:02d}"
        actions = set(session.scalars(select(m.AuditEntry.action)))
    assert {"view_slots", "book_slot"} <= actions


def test_a_window_the_day_cannot_keep_is_refused(
    client_for: Callable[[str | None], FlaskClient],
) -> None:
    """07:00-07:30 is before every shift: 409, nothing booked."""
    booking = {
        **ASK,
        "day": "2026-11-25",
        "window_start": "2026-11-25T07:00:00+02:00",
        "window_end": "2026-11-25T07:30:00+02:00",
    }
    status, body = post(client_for("disp"), "/api/v1/regions/north/bookings", booking)
    assert status == 409 and "pick another" in body["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"lon": 25.0}, "`lat` is required"),
        ({**ASK, "days": 40}, "days 40 must be 1 to 14"),
        ({**ASK, "skills": "lang:sv"}, "`skills` must be a list"),
        ({**ASK, "colour": "red"}, "unknown field(s) colour"),
        ({**ASK, "from": "24.11.2026"}, "`from` must be a date"),
    ],
)
def test_bad_requests_name_the_field(
    client_for: Callable[[str | None], FlaskClient], body: dict, words: str
) -> None:
    """Each bad field is named, with what it must be."""
    status, answer = post(client_for("disp"), "/api/v1/regions/north/slots", body)
    assert status == 422 and words in answer["message"]


def test_a_day_without_slots_says_why(
    client_for: Callable[[str | None], FlaskClient],
) -> None:
    """A skill nobody has: each day answers no_team with the skill named."""
    status, answer = post(
        client_for("disp"), "/api/v1/regions/north/slots", {**ASK, "skills": ["lang:sv"]}
    )
    assert status == 200 and answer["slots"] == []
    assert {d["reason_code"] for d in answer["days"]} == {"no_team"}
    assert "lang:sv" in answer["days"][0]["reason"]
