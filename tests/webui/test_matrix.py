"""Who may do what: every page and API route against every kind of user.

Users: anonymous, agent A (north, visits N-V1 and N-V2), agent B (north, N-V3), the
dispatcher of another region (south), the dispatcher of north, and an admin. A response
with the wrong status fails, and so does any response that mentions a visit its user has no
business seeing: that is a leak.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.webui.conftest import api_csrf, csrf_from, end_jobs, make_site, sign_in
from tests.webui.site import NORTH_VISITS, SOUTH_VISITS, VISITS_OF

USERS = ("anonymous", "agent_a", "agent_b", "disp_south", "disp", "admin")
DAY = "2026-11-24"
NEXT_DAY = "2026-11-25"
"""North's day after: one open visit and no plan, so a planning job there disturbs no row."""
OUTCOME = {"visit_id": "N-V1", "outcome": "met"}
"""Each user sends it with an id of their own (a UUID made from the user name)."""
MOVE = {"visit_id": "N-V1", "team_id": "A1", "position": 1, "save": True}
BAD_VISITS = b"visit_id,borrower_id,lat,lon,duration_min\nN-V1,B1,95,25,30\n"
"""An import its users may send but that fails validation: 422, nothing changes."""

ANON_PAGE = {"anonymous": 302}
SIGNED_IN = {u: 200 for u in USERS if u != "anonymous"}
NORTH_STAFF = {
    "anonymous": 401,
    "agent_a": 403,
    "agent_b": 403,
    "disp_south": 404,
    "disp": 200,
    "admin": 200,
}
SOUTH_STAFF = {**NORTH_STAFF, "disp_south": 200, "disp": 404}
AGENTS_ONLY = {
    "anonymous": 401,
    "agent_a": 200,
    "agent_b": 200,
    "disp_south": 403,
    "disp": 403,
    "admin": 403,
}
NORTH_SHEET = {**NORTH_STAFF, "anonymous": 302}
"""The printable route sheet: a page (anonymous visitors are sent to sign in)."""
SOUTH_SHEET = {**SOUTH_STAFF, "anonymous": 302}

# (method, path, endpoint, expected status per user); 201 stands for "201 or 200" (a retry).
MATRIX: list[tuple[str, str, str, dict[str, int]]] = [
    ("GET", "/login", "login.login", {u: 200 for u in USERS}),
    (
        "GET",
        "/",
        "pages.index",
        {u: 302 for u in USERS},
    ),
    (
        "GET",
        "/dispatch",
        "pages.dispatch",
        {**ANON_PAGE, "agent_a": 403, "agent_b": 403, "disp_south": 200, "disp": 200, "admin": 200},
    ),
    ("GET", f"/dispatch/north/{DAY}/sheet/A1", "pages.sheet", NORTH_SHEET),
    ("GET", f"/dispatch/north/{DAY}/sheet/A2?status=published", "pages.sheet", NORTH_SHEET),
    ("GET", f"/dispatch/south/{DAY}/sheet/S1", "pages.sheet", SOUTH_SHEET),
    (
        "GET",
        f"/dispatch/north/{DAY}/sheet/S1",
        "pages.sheet",
        {**NORTH_SHEET, "disp": 404, "admin": 404},
    ),
    (
        "GET",
        "/agent",
        "pages.agent",
        {**ANON_PAGE, "agent_a": 200, "agent_b": 200, "disp_south": 403, "disp": 403, "admin": 403},
    ),
    ("GET", "/agent/sw.js", "pages.agent_service_worker", {u: 200 for u in USERS}),
    ("GET", "/api/v1/openapi.json", "api.openapi", {u: 200 for u in USERS}),
    ("GET", "/api/v1/me", "api.me", {"anonymous": 401, **SIGNED_IN}),
    ("GET", "/api/v1/regions", "api.regions", {"anonymous": 401, **SIGNED_IN}),
    ("GET", "/api/v1/regions/north/plans", "api.plans", NORTH_STAFF),
    (
        "GET",
        "/api/v1/regions/nowhere/plans",
        "api.plans",
        {**NORTH_STAFF, "disp": 404, "admin": 404},
    ),
    ("GET", f"/api/v1/regions/north/days/{DAY}/plan", "api.plan_json", NORTH_STAFF),
    ("GET", f"/api/v1/regions/south/days/{DAY}/plan", "api.plan_json", SOUTH_STAFF),
    (
        "GET",
        f"/api/v1/regions/north/days/{DAY}/plan?status=published",
        "api.plan_json",
        NORTH_STAFF,
    ),
    ("GET", f"/api/v1/regions/north/days/{DAY}/plan.geojson", "api.plan_geojson", NORTH_STAFF),
    ("GET", f"/api/v1/regions/south/days/{DAY}/plan.geojson", "api.plan_geojson", SOUTH_STAFF),
    ("GET", f"/api/v1/regions/north/days/{DAY}/plan.csv", "api.plan_csv", NORTH_STAFF),
    ("GET", f"/api/v1/regions/south/days/{DAY}/plan.csv", "api.plan_csv", SOUTH_STAFF),
    ("POST", f"/api/v1/regions/north/days/{DAY}/publish", "api.publish_plan", NORTH_STAFF),
    ("POST", f"/api/v1/regions/south/days/{DAY}/publish", "api.publish_plan", SOUTH_STAFF),
    # The site plans north under cn (two agents a visit): its one-agent routes break it, so
    # the move is checked and refused (422) for those who may make it, and saves nothing.
    (
        "POST",
        f"/api/v1/regions/north/days/{DAY}/moves",
        "api.move",
        {**NORTH_STAFF, "disp": 422, "admin": 422},
    ),
    # 202 stands for "202 or 200": the second of disp and admin may join the first's job.
    (
        "POST",
        f"/api/v1/regions/north/days/{NEXT_DAY}/jobs",
        "planning.request_planning",
        {**NORTH_STAFF, "disp": 202, "admin": 202},
    ),
    ("GET", f"/api/v1/regions/north/days/{DAY}/jobs", "planning.day_jobs", NORTH_STAFF),
    ("GET", f"/api/v1/regions/north/days/{DAY}/events", "planning.list_day_events", NORTH_STAFF),
    # An event its users may send but that names no visit: 422, nothing changes.
    (
        "POST",
        f"/api/v1/regions/north/days/{DAY}/events",
        "planning.record_day_event",
        {**NORTH_STAFF, "disp": 422, "admin": 422},
    ),
    ("GET", f"/api/v1/regions/south/days/{DAY}/jobs", "planning.day_jobs", SOUTH_STAFF),
    (
        "GET",
        "/api/v1/regions/north/jobs/999999",
        "planning.planning_job",
        {**NORTH_STAFF, "disp": 404, "admin": 404},
    ),
    (
        "POST",
        "/api/v1/regions/north/jobs/999999/cancel",
        "planning.cancel_planning",
        {**NORTH_STAFF, "disp": 404, "admin": 404},
    ),
    (
        "POST",
        f"/api/v1/regions/north/days/{DAY}/imports",
        "planning.import_day",
        {**NORTH_STAFF, "disp": 422, "admin": 422},
    ),
    ("GET", f"/api/v1/regions/north/days/{DAY}/compare", "planning.compare", NORTH_STAFF),
    ("POST", "/api/v1/regions/north/slots", "slots.offer", NORTH_STAFF),
    ("POST", "/api/v1/regions/south/slots", "slots.offer", SOUTH_STAFF),
    # Without a day and window the booking is refused (422) for those who may book.
    (
        "POST",
        "/api/v1/regions/north/bookings",
        "slots.book",
        {**NORTH_STAFF, "disp": 422, "admin": 422},
    ),
    ("GET", f"/api/v1/regions/south/days/{DAY}/compare", "planning.compare", SOUTH_STAFF),
    (
        "GET",
        "/api/v1/regions/north/basemap.geojson",
        "api.basemap",
        {**NORTH_STAFF, "agent_a": 200, "agent_b": 200},
    ),
    (
        "GET",
        "/api/v1/regions/south/basemap.geojson",
        "api.basemap",
        {**SOUTH_STAFF, "agent_a": 404, "agent_b": 404},
    ),
    ("GET", "/api/v1/me/route", "api.my_route", AGENTS_ONLY),
    ("POST", "/api/v1/me/outcomes", "api.record", {**AGENTS_ONLY, "agent_a": 201, "agent_b": 404}),
    ("POST", "/logout", "auth.logout", {u: 302 for u in USERS}),
    ("POST", "/language", "auth.language", {u: 302 for u in USERS}),
]

FORBIDDEN = {
    "anonymous": NORTH_VISITS | SOUTH_VISITS,
    "agent_a": (NORTH_VISITS | SOUTH_VISITS) - VISITS_OF["agent_a"],
    "agent_b": (NORTH_VISITS | SOUTH_VISITS) - VISITS_OF["agent_b"],
    "disp_south": NORTH_VISITS,
    "disp": SOUTH_VISITS,
    "admin": set(),
}
"""Visit ids each user must never see in any response."""


@pytest.fixture(scope="module")
def matrix_site(
    tmp_path_factory: pytest.TempPathFactory, web_cache_dir: Path, site_template: Path
) -> Iterator[tuple[Flask, Engine]]:
    """One site for the whole matrix (its calls change nothing another call depends on)."""
    app, engine = make_site(
        tmp_path_factory.mktemp("matrix"), web_cache_dir, site_template, RATELIMIT_ENABLED=False
    )
    yield app, engine
    end_jobs(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def clients(matrix_site: tuple[Flask, Engine]) -> dict[str, FlaskClient]:
    app = matrix_site[0]
    return {
        user: app.test_client() if user == "anonymous" else sign_in(app.test_client(), user)
        for user in USERS
    }


def _call(client: FlaskClient, user: str, method: str, path: str) -> tuple[int, str]:
    if method == "GET":
        response = client.get(path)
    else:
        if user == "anonymous":
            token = csrf_from(client.get("/login").get_data(as_text=True))
        else:
            token = api_csrf(client)
        headers = {"X-CSRFToken": token}
        kwargs: dict = {"headers": headers}
        if path.endswith("/outcomes"):
            kwargs["json"] = {**OUTCOME, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, user))}
        elif path.endswith("/moves"):
            kwargs["json"] = MOVE
        elif path.endswith("/slots") or path.endswith("/bookings"):
            kwargs["json"] = {"lat": 60.0004, "lon": 25.0015, "days": 1}
        elif path.endswith("/events"):
            kwargs["json"] = {"kind": "cancelled"}
        elif path.endswith("/jobs"):
            kwargs["json"] = {"time_limit": 1}
        elif path.endswith("/imports"):
            kwargs["data"] = {"files": [(io.BytesIO(BAD_VISITS), "visits.csv")]}
            kwargs["content_type"] = "multipart/form-data"
        elif path in ("/logout", "/language"):
            kwargs["data"] = {"csrf_token": headers.get("X-CSRFToken", ""), "locale": "en"}
        response = client.post(path, **kwargs)
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize("user", USERS)
def test_every_route_for_every_user(clients: dict[str, FlaskClient], user: str) -> None:
    """Each user gets the expected status on every route and sees no visit not theirs."""
    wrong = []
    for method, path, _endpoint, expected in MATRIX:
        if path == "/logout":
            continue  # run last, in its own test: it ends the session
        status, body = _call(clients[user], user, method, path)
        want = expected[user]
        if status != want and not (want in (201, 202) and status == 200):
            wrong.append(f"{method} {path}: {status}, expected {want}: {body[:200]}")
        echoed = {OUTCOME["visit_id"]} if path.endswith("/outcomes") else set()
        leaked = sorted(v for v in FORBIDDEN[user] - echoed if v in body)
        if leaked:
            wrong.append(f"{method} {path}: LEAK of {', '.join(leaked)}")
    assert not wrong, "\n".join(wrong)


def test_sign_out_for_every_user(matrix_site: tuple[Flask, Engine]) -> None:
    """Signing out works for every user and leaves the API closed to that client."""
    app = matrix_site[0]
    for user in USERS:
        client = app.test_client() if user == "anonymous" else sign_in(app.test_client(), user)
        status, _ = _call(client, user, "POST", "/logout")
        assert status == 302
        assert client.get("/api/v1/me").status_code == 401


def test_the_matrix_covers_every_route(matrix_site: tuple[Flask, Engine]) -> None:
    """Every route of the app (but static files) is in the matrix."""
    covered = {endpoint for _, _, endpoint, _ in MATRIX}
    routes = {r.endpoint for r in matrix_site[0].url_map.iter_rules() if r.endpoint != "static"}
    assert routes - covered == set()


def test_regions_are_scoped(clients: dict[str, FlaskClient]) -> None:
    """Each user lists exactly the regions they may see."""
    seen = {
        user: [r["id"] for r in clients[user].get("/api/v1/regions").get_json()["regions"]]
        for user in USERS
        if user != "anonymous"
    }
    assert seen == {
        "agent_a": ["north"],
        "agent_b": ["north"],
        "disp_south": ["south"],
        "disp": ["north"],
        "admin": ["north", "south"],
    }


def test_agents_see_only_their_own_stops(clients: dict[str, FlaskClient]) -> None:
    """Agent A's route holds A's stops and only the fields a visit needs."""
    for user in ("agent_a", "agent_b"):
        document = clients[user].get("/api/v1/me/route").get_json()
        stops = document["route"]["stops"]
        assert {s["visit_id"] for s in stops} == VISITS_OF[user]
        for stop in stops:
            assert set(stop) == {
                "sequence",
                "visit_id",
                "borrower_id",
                "kind",
                "address",
                "lat",
                "lon",
                "windows",
                "arrival",
                "start",
                "end",
                "outcome",
            }
