"""Fixtures for the web app tests: the small site on SQLite, an app on it with a fixed clock,
and a signed-in test client per user."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from doorstep.db import models as m
from doorstep.db.engine import make_engine, session_scope
from doorstep.db.migrate import upgrade
from doorstep.settings import Settings
from tests.webui.site import NOW, PASSWORD, USERS, build_small_site
from webui import create_app

CSRF_FIELD = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


@pytest.fixture(scope="session")
def web_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for every web test: road graphs and base layers are drawn once."""
    return tmp_path_factory.mktemp("web-cache")


@pytest.fixture(scope="session")
def site_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small site's SQLite file, built once (hashing five passwords takes a while)."""
    path = tmp_path_factory.mktemp("site") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    build_small_site(engine)
    engine.dispose()
    return path


def make_site(
    folder: Path,
    cache_dir: Path,
    template: Path,
    *,
    clock: Callable[[], datetime] = lambda: NOW,
    settings_changes: Mapping[str, Any] | None = None,
    **config: object,
) -> tuple[Flask, Engine]:
    """A fresh copy of the small site in `folder` and an app on it whose clock reads `NOW`
    (or what `clock` says); `settings_changes` are `Settings` fields to set."""
    path = folder / "doorstep.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    settings = Settings(
        cache_dir=cache_dir,
        database_url=url,
        secret_key="test-secret",
        **dict(settings_changes or {}),
    )
    app = create_app(
        settings,
        {"TESTING": True, "SESSION_COOKIE_SECURE": False, **config},
        clock=clock,
    )
    return app, engine


def end_jobs(engine: Engine, seconds: float = 60) -> None:
    """Wait for the site's planning jobs to end (a test's processes must not outlive its
    database), cancelling those that take longer."""
    from doorstep import jobs

    with session_scope(engine) as session:
        ids = session.scalars(select(m.PlanningJob.id)).all()
    deadline = time.monotonic() + seconds
    for job_id in ids:
        while jobs.job(engine, job_id).active and time.monotonic() < deadline:
            time.sleep(0.2)
        if jobs.job(engine, job_id).active:
            jobs.cancel_job(engine, job_id, actor="test")


@pytest.fixture
def site(
    tmp_path: Path, web_cache_dir: Path, site_template: Path
) -> Iterator[tuple[Flask, Engine]]:
    """A fresh site for each test: tests may change its data."""
    app, engine = make_site(tmp_path, web_cache_dir, site_template)
    yield app, engine
    end_jobs(engine)
    engine.dispose()


@pytest.fixture
def app(site: tuple[Flask, Engine]) -> Flask:
    return site[0]


@pytest.fixture
def engine(site: tuple[Flask, Engine]) -> Engine:
    return site[1]


def csrf_from(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD) -> FlaskClient:
    """Sign `client` in as `name` through the real form (CSRF token and all)."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def api_csrf(client: FlaskClient) -> str:
    """The CSRF token a page's script gets from GET /api/v1/me."""
    return str(client.get("/api/v1/me").get_json()["csrf_token"])


@pytest.fixture
def client_for(app: Flask) -> Callable[[str | None], FlaskClient]:
    """`client_for(name)`: a test client signed in as `name` (None: anonymous)."""

    def make(name: str | None) -> FlaskClient:
        client = app.test_client()
        return sign_in(client, name) if name else client

    return make


ALL_USERS = [None, *USERS]
