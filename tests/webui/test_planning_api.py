"""The dispatcher's planning actions over the API: import files (all or nothing, every
problem named), plan in the background (one job per region-day, progress, cancel), and
compare the current plan with the published one."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from doorstep.db import models as m
from doorstep.db.engine import session_scope
from tests.webui.conftest import api_csrf
from tests.webui.site import DAY

DAY_PATH = f"/api/v1/regions/north/days/{DAY.isoformat()}"
AGENTS_CSV = (
    "agent_id,name,mode,start_lat,start_lon,start_label,end_lat,end_lon,shift_start,shift_end,"
    "breaks,skills,max_visits,max_working_min,crew_id\n"
    "A3,Cai,drive,60.0001,25.0001,office,,,09:00,17:00,,,,,\n"
)
VISITS_CSV = (
    "visit_id,borrower_id,lat,lon,address,duration_min,kind,windows,priority,skills,crew_size,"
    "allowed_agents,preferred_agents,borrower_max_visits,borrower_hours\n"
    "N-V5,B5,60.0007,25.0020,Street 5,30,appointment,13:00-15:00,10,,1,,,,\n"
)
BAD_VISITS_CSV = VISITS_CSV + "N-V6,B6,95.0,25.0020,Street 6,-5,appointment,15:00-14:00,10,,1,,,,\n"


@pytest.fixture(autouse=True)
def one_agent_policy(engine: Engine) -> None:
    """Plan north under uk, where one agent may make a visit (the site's cn needs two)."""
    with session_scope(engine) as session:
        region = session.get(m.Region, "north")
        assert region is not None
        region.policy = "uk"


def post(client: FlaskClient, path: str, **kwargs: object) -> tuple[int, dict]:
    response = client.post(path, headers={"X-CSRFToken": api_csrf(client)}, **kwargs)
    return response.status_code, response.get_json()


def upload(
    client: FlaskClient, *files: tuple[str, str], replace_day: str = "false"
) -> tuple[int, dict]:
    data = {
        "files": [(io.BytesIO(text.encode()), name) for name, text in files],
        "replace_day": replace_day,
    }
    return post(client, f"{DAY_PATH}/imports", data=data, content_type="multipart/form-data")


def wait_until_ended(client: FlaskClient, job_id: int, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/regions/north/jobs/{job_id}").get_json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job_id} did not end within {seconds} s")


def test_import_adds_agents_and_visits(
    client_for: Callable[[str | None], FlaskClient], engine: Engine
) -> None:
    """Two files in one upload: each reported, both stored; again, nothing changes."""
    disp = client_for("disp")
    status, body = upload(disp, ("agents.csv", AGENTS_CSV), ("visits.csv", VISITS_CSV))
    assert status == 200, body
    assert [(f["file"], f["kind"], f["added"]) for f in body["files"]] == [
        ("agents.csv", "agents", 1),
        ("visits.csv", "visits", 1),
    ]
    status, body = upload(disp, ("agents.csv", AGENTS_CSV), ("visits.csv", VISITS_CSV))
    assert [(f["added"], f["unchanged"]) for f in body["files"]] == [(0, 1), (0, 1)]
    with session_scope(engine) as session:
        visit = session.get(m.Visit, "N-V5")
        assert visit is not None and visit.region_id == "north" and visit.day == DAY


def test_a_bad_import_names_every_problem_and_imports_nothing(
    client_for: Callable[[str | None], FlaskClient], engine: Engine
) -> None:
    """A file with bad rows beside a good one: 422 with file, row and field; nothing stored."""
    status, body = upload(
        client_for("disp"), ("agents.csv", AGENTS_CSV), ("my visits.csv", BAD_VISITS_CSV)
    )
    assert status == 422 and body["error"] == "invalid_input"
    where = {(p["file"], p["row"], p["field"]) for p in body["problems"]}
    assert {
        ("my_visits.csv", 3, "lat"),
        ("my_visits.csv", 3, "duration_min"),
        ("my_visits.csv", 3, "windows"),
    } <= where
    with session_scope(engine) as session:
        assert session.get(m.Agent, "A3") is None and session.get(m.Visit, "N-V5") is None


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ((), "send 1 to 3 CSV files"),
        ((("a.csv", AGENTS_CSV),) * 4, "send 1 to 3 CSV files"),
        ((("notes.csv", "what,ever\n1,2\n"),), "cannot tell what this file holds"),
    ],
)
def test_uploads_that_are_not_imports_are_refused(
    client_for: Callable[[str | None], FlaskClient], files: tuple, words: str
) -> None:
    """No file, too many, or a file of no known kind: 422 saying what to send."""
    status, body = upload(client_for("disp"), *files)
    assert status == 422 and words in str(body)


def test_planning_in_the_background_then_comparing_with_published(
    client_for: Callable[[str | None], FlaskClient], engine: Engine
) -> None:
    """A dispatcher starts a job, a second one pressing Plan joins it; when it is done the
    new current plan differs from the published one as the comparison says."""
    disp, admin = client_for("disp"), client_for("admin")
    status, job = post(disp, f"{DAY_PATH}/jobs", json={"time_limit": 1})
    assert status == 202, job
    assert job["status"] == "queued" and job["requested_by"] == "web:disp"
    status, same = post(admin, f"{DAY_PATH}/jobs", json={"time_limit": 30})
    assert (status, same["job_id"]) == (200, job["job_id"])
    ended = wait_until_ended(disp, job["job_id"])
    assert ended["status"] == "done", ended["error"]
    assert ended["progress"] == 1.0 and ended["result"]["summary"]["visits"] == 4
    listed = disp.get(f"{DAY_PATH}/jobs").get_json()["jobs"]
    assert listed[0]["job_id"] == job["job_id"]

    compared = disp.get(f"{DAY_PATH}/compare").get_json()
    assert compared["plan_id"] == ended["plan_id"] != compared["published_plan_id"]
    routed = compared["figures"]["visits_routed"]
    assert routed["before"] == 3 and routed["after"] == ended["result"]["summary"]["visits_routed"]
    with session_scope(engine) as session:
        actions = set(session.scalars(select(m.AuditEntry.action)).all())
    assert {"request_planning", "plan", "view_compare", "view_job"} <= actions


def test_cancel_stops_the_job_and_keeps_the_plan(
    client_for: Callable[[str | None], FlaskClient],
) -> None:
    """Cancelled while it solves, the job ends at once; a second cancel is a conflict."""
    disp = client_for("disp")
    before = disp.get(f"{DAY_PATH}/plan").get_json()["plan_id"]
    _, job = post(disp, f"{DAY_PATH}/jobs", json={"time_limit": 120})
    deadline = time.monotonic() + 90
    while disp.get(f"/api/v1/regions/north/jobs/{job['job_id']}").get_json()["stage"] != "solving":
        assert time.monotonic() < deadline, "the job never started solving"
        time.sleep(0.2)
    status, cancelled = post(disp, f"/api/v1/regions/north/jobs/{job['job_id']}/cancel")
    assert status == 200 and cancelled["status"] == "cancelled"
    assert cancelled["error"] == "cancelled by web:disp"
    status, again = post(disp, f"/api/v1/regions/north/jobs/{job['job_id']}/cancel")
    assert status == 409 and "already ended" in again["message"]
    assert disp.get(f"{DAY_PATH}/plan").get_json()["plan_id"] == before


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"time_limit": 0}, 422, "time_limit must be 1 to 3600 seconds"),
        ({"time_limit": "soon"}, 422, "`time_limit` must be a number"),
        ({"seconds": 5}, 422, "unknown field(s) seconds"),
        ([1], 400, "send a JSON object"),
    ],
)
def test_bad_job_requests_are_refused(
    client_for: Callable[[str | None], FlaskClient], body: object, status: int, words: str
) -> None:
    """A job request the API cannot take says what to send, and starts nothing."""
    disp = client_for("disp")
    got, answer = post(disp, f"{DAY_PATH}/jobs", json=body)
    assert got == status and words in answer["message"]
    assert disp.get(f"{DAY_PATH}/jobs").get_json()["jobs"] == []


def test_a_day_with_nothing_to_plan_starts_no_job(
    client_for: Callable[[str | None], FlaskClient],
) -> None:
    """Planning a day without open visits is refused at once, saying what to import."""
    status, body = post(client_for("disp"), "/api/v1/regions/north/days/2026-12-25/jobs")
    assert status == 422 and "no open visits on 2026-12-25" in body["message"]


def test_another_regions_job_is_not_found(
    client_for: Callable[[str | None], FlaskClient],
) -> None:
    """A north job seen through south's path, or by south's dispatcher, does not exist."""
    admin = client_for("admin")
    _, job = post(admin, f"{DAY_PATH}/jobs", json={"time_limit": 1})
    assert admin.get(f"/api/v1/regions/south/jobs/{job['job_id']}").status_code == 404
    south = client_for("disp_south")
    assert south.get(f"/api/v1/regions/north/jobs/{job['job_id']}").status_code == 404
    status, _ = post(south, f"/api/v1/regions/south/jobs/{job['job_id']}/cancel")
    assert status == 404
    wait_until_ended(admin, job["job_id"])


def test_the_day_changes_then_is_replanned_in_the_background(
    client_for: Callable[[str | None], FlaskClient], engine: Engine
) -> None:
    """A cancelled visit and a late agent are recorded; a re-plan job starts from where the
    agents are at 10:00 (the site's clock), keeps what is under way, drops the cancelled
    visit and says how the plan differs from the published one."""
    disp = client_for("disp")
    status, event = post(disp, f"{DAY_PATH}/events", json={"kind": "cancelled", "visit_id": "N-V2"})
    assert status == 201 and event["kind"] == "cancelled" and event["visit_id"] == "N-V2"
    status, _ = post(
        disp, f"{DAY_PATH}/events", json={"kind": "late", "agent_id": "A2", "minutes": 20}
    )
    assert status == 201
    events = disp.get(f"{DAY_PATH}/events").get_json()["events"]
    assert [e["kind"] for e in events] == ["cancelled", "late"]
    status, job = post(disp, f"{DAY_PATH}/jobs", json={"kind": "replan", "time_limit": 2})
    assert status == 202 and job["kind"] == "replan" and job["as_of"].startswith("2026-11-24T08:00")
    ended = wait_until_ended(disp, job["job_id"])
    assert ended["status"] == "done", ended["error"]
    result = ended["result"]
    assert result["basis"] == "published" and result["frozen"] >= 1
    assert any(d["visit_id"] == "N-V2" for d in result["compared_with_basis"]["visits"]["dropped"])
    plan = disp.get(f"{DAY_PATH}/plan").get_json()
    assert "N-V2" not in {s["visit_id"] for r in plan["routes"] for s in r["stops"]}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "sick", "agent_id": "A1"}, "unknown event 'sick'"),
        ({"kind": "unavailable", "agent_id": "A1", "at": "1pm"}, "`at` must be a time, HH:MM"),
        ({"kind": "overrun", "visit_id": "N-V1", "minutes": "lots"}, "`minutes` must be a whole"),
        ({"kind": "late", "agent_id": "S1", "minutes": 5}, "no agent 'S1' in north"),
    ],
)
def test_bad_events_are_refused(
    client_for: Callable[[str | None], FlaskClient], body: dict, words: str
) -> None:
    """An event the day cannot take says why, and nothing is recorded."""
    disp = client_for("disp")
    status, answer = post(disp, f"{DAY_PATH}/events", json=body)
    assert status == 422 and words in answer["message"]
    assert disp.get(f"{DAY_PATH}/events").get_json()["events"] == []
