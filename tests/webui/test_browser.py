"""The pages in a real browser: Debian's headless Chromium driven by Playwright.

The sample day is planned through the database exactly as `doorstep demo` does, the app is
served on 127.0.0.1 with its clock on the sample day, and a person's steps are replayed: a
dispatcher signs in, sees the day's routes on the map and publishes them; an agent on a
phone-sized screen opens the route and records outcomes, one of them while offline, and
reloads the page with no connection; a dispatcher imports files, plans the day in the
background (and cancels a run), and compares the new plan with the published one.
Screenshots go to out/screenshots/ (test artefacts); the two main ones are copied to
docs/screenshots/ for the README when missing there or when DOORSTEP_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from werkzeug.serving import make_server

from doorstep.accounts import create_user
from doorstep.cli import main
from doorstep.db import models as m
from doorstep.db.engine import make_engine, session_scope
from doorstep.published import publish
from doorstep.settings import Settings
from tests.webui.conftest import csrf_from
from tests.webui.site import PASSWORD
from webui import create_app

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "out" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
SAMPLE_DAY = date(2026, 11, 24)
SAMPLE_NOW = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
"""10:30 in Helsinki on the sample day."""

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests skipped: Debian's chromium is not at {CHROMIUM}; `make chromium` "
        "installs it (apt-get install chromium, as root or with sudo -n)",
        allow_module_level=True,
    )


class Site:
    """The served sample site: its address, database and the agent whose route we use."""

    def __init__(self, url: str, engine: Engine, agent_id: str, stops: list[str]) -> None:
        self.url = url
        self.engine = engine
        self.agent_id = agent_id
        self.stops = stops


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory: pytest.TempPathFactory, web_cache_dir: Path) -> Iterator[Site]:
    """`doorstep demo`'s database (the sample day planned), a dispatcher and an agent, the
    plan published, and the app serving it on a free port of 127.0.0.1."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'doorstep.db'}"
    env = {"DOORSTEP_CACHE_DIR": str(web_cache_dir), "DOORSTEP_DATABASE_URL": url}
    result = CliRunner().invoke(
        main, ["demo", "--out", str(folder / "out"), "--time-limit", "3"], env=env
    )
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    with session_scope(engine) as session:
        plan = session.scalars(select(m.Plan).where(m.Plan.status == "current")).one()
        route = next(r for r in plan.document["routes"] if len(r["stops"]) >= 3)
        agent_id = route["agent_ids"][0]
        stops = [s["visit_id"] for s in route["stops"]]
        create_user(
            session, "dina", PASSWORD, role="dispatcher", regions=["helsinki-sample"], actor="t"
        )
        create_user(session, "aki", PASSWORD, role="agent", agent_id=agent_id, actor="t")
        publish(session, "helsinki-sample", SAMPLE_DAY, actor="test")
    settings = Settings(cache_dir=web_cache_dir, database_url=url, secret_key="browser-test")
    app = create_app(
        settings,
        {"SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False},
        clock=lambda: SAMPLE_NOW,
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", engine, agent_id, stops)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            # root in CI has no user namespaces for Chromium's sandbox
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


def sign_in(page: Any, site: Site, path: str, name: str) -> None:
    page.goto(f"{site.url}{path}")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(f"{site.url}{path}")


def screenshot(page: Any, name: str, *, docs: bool = False) -> Path:
    """Save a screenshot as a test artefact, and for the README if asked and needed."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / name
    page.screenshot(path=str(path))
    if docs and (not (DOCS / name).exists() or os.environ.get("DOORSTEP_UPDATE_SCREENSHOTS")):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / name)
    return path


def test_dispatcher_sees_the_sample_day_on_the_map(sample_site: Site, browser: Any) -> None:
    """The dispatcher's map shows every route of the sample day along the roads, a numbered
    marker per stop, the unassigned visits and the summary; publishing says so."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    ready = "#map[data-ready='1'][data-base='offline']"
    started = time.perf_counter()
    sign_in(page, sample_site, "/dispatch", "dina")
    page.wait_for_selector(ready, timeout=30000)
    timings = {"first_load_s": time.perf_counter() - started}  # the base layer drawn too
    # The map as a dispatcher opens it each morning: a fresh browser, the server running.
    fresh = browser.new_context(viewport={"width": 1400, "height": 900})
    other = fresh.new_page()
    # Signed in without loading any page, so the timed load below starts with an empty cache.
    form = fresh.request.get(f"{sample_site.url}/login").text()
    fresh.request.post(
        f"{sample_site.url}/login",
        form={"name": "dina", "password": PASSWORD, "csrf_token": csrf_from(form)},
        max_redirects=0,
    )
    started = time.perf_counter()
    other.goto(f"{sample_site.url}/dispatch")
    other.wait_for_selector(ready, timeout=30000)
    timings["fresh_browser_load_s"] = time.perf_counter() - started
    fresh.close()
    started = time.perf_counter()
    page.reload()
    page.wait_for_selector(ready, timeout=30000)
    timings["reload_s"] = time.perf_counter() - started

    with session_scope(sample_site.engine) as session:
        plan = session.scalars(select(m.Plan).where(m.Plan.status == "current")).one()
        document = plan.document
    routed = sum(len(r["stops"]) for r in document["routes"])
    lines = sum(1 for r in document["routes"] if r["geometry"])
    found = page.eval_on_selector("#map", "node => ({...node.dataset})")
    assert int(found["routes"]) == lines > 0
    assert int(found["stops"]) == routed
    assert int(found["unassigned"]) == len(document["unassigned"])
    assert page.locator(".stop-icon").count() == routed
    assert page.locator(".place-icon.unassigned").count() == len(document["unassigned"])
    summary = document["summary"]
    assert page.inner_text("#fig-routed") == f"{summary['visits_routed']} / {summary['visits']}"
    assert page.locator("#teams tr").count() == len(document["routes"])
    # The timeline: one row per route, a bar per visit; a visit shows its window and ETA.
    assert page.locator("#timeline-rows .tl-route").count() == len(document["routes"])
    assert page.locator("#timeline-rows .tl-visit").count() == routed
    page.locator("#timeline-rows .tl-visit").first.click()
    detail = page.inner_text("#timeline-detail")
    assert "Window" in detail and "ETA" in detail
    screenshot(page, "dispatcher-map.png", docs=True)

    page.locator(".stop-icon").first.dispatch_event("click")  # markers may overlap
    popup = page.wait_for_selector(".leaflet-popup-content")
    assert "Window" in popup.inner_text() and "ETA" in popup.inner_text()
    screenshot(page, "dispatcher-stop-popup.png")

    # Move the stop by hand (here to where it is: the route is re-timed from the shift start):
    # the popup shows the new ETAs, or the rules the move breaks; a clean move is saved.
    popup.query_selector(".move-check").click()
    result = page.wait_for_selector(
        ".leaflet-popup-content .move-route, .leaflet-popup-content .violation", timeout=30000
    )
    screenshot(page, "dispatcher-move.png")
    if "move-route" in (result.get_attribute("class") or ""):
        page.click(".leaflet-popup-content .move-save")
        page.wait_for_selector("#message:has-text('Moved')", timeout=30000)
        page.wait_for_selector(ready, timeout=30000)
        with session_scope(sample_site.engine) as session:
            actions = session.scalars(select(m.AuditEntry.action)).all()
        assert "move_visit" in actions

    # The first team's printable route sheet: its stops in order.
    first = document["routes"][0]
    sheet = context.new_page()
    sheet.goto(sample_site.url + page.get_attribute("#teams tr:first-child a.sheet-link", "href"))
    visits = sheet.locator("tr.stop")
    assert [visits.nth(i).get_attribute("data-visit") for i in range(visits.count())] == [
        stop["visit_id"] for stop in first["stops"]
    ]
    screenshot(sheet, "route-sheet.png", docs=True)
    sheet.close()

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#publish")
    page.wait_for_selector("#message:has-text('Published')")
    assert page.input_value("#status") == "published"
    assert not errors, errors
    measured = {name: round(value, 3) for name, value in timings.items()}
    (ARTEFACTS / "timings.json").write_text(json.dumps(measured), encoding="utf-8")
    print(f"dispatcher map of the sample day: {measured}")
    context.close()


def test_agent_records_outcomes_on_a_phone(sample_site: Site, browser: Any) -> None:
    """On a phone-sized screen the agent sees their stops in order with window and ETA,
    records a promise to pay after checking in, and an outcome saved offline is sent once
    when the connection returns."""
    first = _stop(sample_site, sample_site.stops[0])
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": first["lat"] + 0.0003, "longitude": first["lon"]},
        permissions=["geolocation"],
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, sample_site, "/agent", "aki")
    page.wait_for_selector("#map[data-ready='1']", timeout=30000)
    page.wait_for_selector("#map[data-base='offline']", timeout=30000)
    items = page.locator("#stops > li")
    assert items.count() == len(sample_site.stops)
    assert [items.nth(i).get_attribute("data-visit") for i in range(items.count())] == (
        sample_site.stops
    )
    assert "ETA" in items.first.inner_text() and "Window" in items.first.inner_text()
    assert items.first.locator("a.nav").get_attribute("href").startswith("geo:")
    screenshot(page, "agent-route.png", docs=True)

    item = items.first
    item.locator("button.record").click()
    item.locator("select[name=outcome]").select_option("promise_to_pay")
    item.locator("input[name=promise_amount]").fill("150")
    item.locator("input[name=promise_date]").fill("2026-12-01")
    item.locator("textarea[name=note]").fill("will pay after salary")
    item.locator("button.check-in").click()
    page.wait_for_selector(".checkin-result:has-text('Checked in')")
    screenshot(page, "agent-outcome-form.png")
    item.locator("button.save").click()
    page.wait_for_selector("#pending[data-count='0']", state="attached")
    item.locator(".recorded:has-text('Promise to pay')").wait_for()

    second = items.nth(1)
    context.set_offline(True)
    second.locator("button.record").click()
    second.locator("select[name=outcome]").select_option("not_home")
    second.locator("button.save").click()
    page.wait_for_selector("#pending[data-count='1']")
    assert "sent when the connection returns" in page.inner_text("#message")
    screenshot(page, "agent-offline-queued.png")
    assert _events(sample_site, sample_site.stops[1]) == []
    context.set_offline(False)
    page.wait_for_selector("#pending[data-count='0']", state="attached", timeout=15000)
    page.reload()
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_timeout(500)  # let a (wrong) second send happen, if it would

    promise = _events(sample_site, sample_site.stops[0])
    assert [(e.outcome, str(e.promise_amount), e.checkin_distance_m) for e in promise] == [
        ("promise_to_pay", "150.00", 33)
    ]
    assert [e.outcome for e in _events(sample_site, sample_site.stops[1])] == ["not_home"]
    assert page.locator("li.done").count() == 2

    # The service worker keeps the page and today's route: with no connection at all, a
    # reload still shows every stop, marked as the copy it is.
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller")
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#message[data-offline='1']", timeout=15000)
    assert page.locator("#stops > li").count() == len(sample_site.stops)
    assert page.locator("li.done").count() == 2
    screenshot(page, "agent-offline-reload.png")
    context.set_offline(False)
    assert not errors, errors
    context.close()


def test_dispatcher_imports_plans_and_compares(
    sample_site: Site, browser: Any, tmp_path: Path
) -> None:
    """The dispatcher imports files (a bad one is refused row by row), plans the day in the
    background while a second dispatcher sees the same job and cancels it, plans again to
    the end, compares the new plan with the published one, records that a visit was
    cancelled and re-plans from now, and books a new appointment in one of the times
    offered for an address picked on the map."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    ready = "#map[data-ready='1']"
    sign_in(page, sample_site, "/dispatch", "dina")
    page.wait_for_selector(ready, timeout=30000)

    bad = tmp_path / "visits.csv"
    bad.write_text("visit_id,borrower_id,lat,lon,duration_min\nV-X,B-X,95,24.9,0\n")
    page.click("#import summary")
    page.set_input_files("#import-files", str(bad))
    page.click("#import-submit")
    problems = page.wait_for_selector("#import-result table.problems")
    assert "visits.csv" in problems.inner_text() and "lat" in problems.inner_text()
    page.set_input_files("#import-files", str(ROOT / "data" / "sample" / "visits.csv"))
    page.click("#import-submit")
    page.wait_for_selector("#import-result .imported:has-text('unchanged')")
    screenshot(page, "dispatcher-import.png")

    page.fill("#time-limit", "120")
    page.click("#plan-start")
    page.wait_for_selector("#planning[data-status='running']", timeout=60000)
    page.wait_for_selector("#job-stage:has-text('optimising')", timeout=60000)
    job_id = page.get_attribute("#planning", "data-job")
    screenshot(page, "dispatcher-planning.png", docs=True)
    second = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    sign_in(second, sample_site, "/dispatch", "dina")
    second.wait_for_selector("#planning[data-status='running']", timeout=30000)
    assert second.get_attribute("#planning", "data-job") == job_id  # one job, not two
    second.click("#job-cancel")
    second.wait_for_selector("#job-result:has-text('cancelled')", timeout=60000)
    page.wait_for_selector("#job-result:has-text('cancelled')", timeout=30000)
    second.context.close()

    page.fill("#time-limit", "3")
    page.click("#plan-start")
    page.wait_for_selector("#planning[data-status='done']", timeout=120000)
    assert "New plan saved" in page.inner_text("#job-result")
    page.wait_for_selector(ready, timeout=30000)
    assert int(page.get_attribute("#map", "data-stops") or 0) > 0
    page.click("#compare")
    page.wait_for_selector("#comparison:has-text('What publishing would change')")
    assert "null" not in page.inner_text("#comparison")
    screenshot(page, "dispatcher-compare.png")

    # The day changes at 10:30: a visit of the afternoon is cancelled; re-planned from now.
    with session_scope(sample_site.engine) as session:
        published = session.scalars(select(m.Plan).where(m.Plan.status == "published")).one()
        later = next(
            s["visit_id"]
            for r in published.document["routes"]
            for s in r["stops"]
            if s["start"][11:16] >= "14:00"
        )
    page.click("#day-changes summary")
    page.select_option("#event-kind", "cancelled")
    page.fill("#event-visit", later)
    page.click("#event-record")
    page.wait_for_selector(f"#event-list li:has-text('{later}')")
    page.click("#replan-start")
    page.wait_for_selector("#job-result:has-text('Re-planned from now')", timeout=120000)
    page.wait_for_selector(ready, timeout=30000)
    page.locator("#day-changes").scroll_into_view_if_needed()
    screenshot(page, "dispatcher-replan.png", docs=True)
    with session_scope(sample_site.engine) as session:
        current = session.scalars(select(m.Plan).where(m.Plan.status == "current")).one()
        routed = {s["visit_id"] for r in current.document["routes"] for s in r["stops"]}
    assert later not in routed

    # Published, the re-plan reaches the agent's phone when the page comes back to the front.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    agent_page = phone.new_page()
    sign_in(agent_page, sample_site, "/agent", "aki")
    agent_page.wait_for_selector("#map[data-ready='1']", timeout=30000)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#publish")
    page.wait_for_selector("#message:has-text('Published')")
    agent_page.evaluate("window.dispatchEvent(new Event('focus'))")
    agent_page.wait_for_selector("#message[data-updated='1']", timeout=15000)
    assert later not in {
        agent_page.locator("#stops > li").nth(i).get_attribute("data-visit")
        for i in range(agent_page.locator("#stops > li").count())
    }
    phone.close()

    # A new appointment: its address picked on the map, the times offered, the first booked.
    page.click("#new-appointment summary")
    page.click("#slot-pick")
    page.locator("#map").click(position={"x": 480, "y": 300})
    page.wait_for_function("document.getElementById('slot-lat').value !== ''")
    page.fill("#slot-days", "2")
    page.click("#slot-find")
    page.wait_for_selector("#slot-result[data-slots]", timeout=60000)
    assert int(page.get_attribute("#slot-result", "data-slots") or 0) > 0
    page.locator("#slot-result .slot-book").first.click()
    page.wait_for_selector("#slot-result .booked", timeout=60000)
    page.locator("#new-appointment").scroll_into_view_if_needed()
    screenshot(page, "dispatcher-slots.png", docs=True)
    with session_scope(sample_site.engine) as session:
        booked = session.scalars(select(m.Visit).where(m.Visit.id.like("APT-%"))).all()
    assert len(booked) == 1 and booked[0].kind == "appointment"
    assert not errors, errors
    context.close()


def _stop(site: Site, visit_id: str) -> dict:
    with session_scope(site.engine) as session:
        plan = session.scalars(select(m.Plan).where(m.Plan.status == "published")).one()
        return next(
            s for r in plan.document["routes"] for s in r["stops"] if s["visit_id"] == visit_id
        )


def _events(site: Site, visit_id: str) -> list[m.ContactEvent]:
    with session_scope(site.engine) as session:
        return list(
            session.scalars(
                select(m.ContactEvent).where(
                    m.ContactEvent.visit_id == visit_id, m.ContactEvent.source == "agent"
                )
            )
        )
