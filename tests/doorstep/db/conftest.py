"""Fixtures for the database tests: every test runs on SQLite and, when a server answers, on
PostgreSQL, each time on an empty database."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from doorstep.db.engine import make_engine
from doorstep.db.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "DOORSTEP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
"""A server where the tests may create and drop a database (connects to its `postgres` one)."""


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    """A throw-away PostgreSQL database for this test session, dropped at its end."""
    server = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"doorstep_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        pytest.skip(
            f"PostgreSQL at {server.host}:{server.port or 5432} did not answer: "
            "store tests ran on SQLite only"
        )
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: a new SQLite file (in a folder that does not exist yet),
    or the session's PostgreSQL database with its `public` schema emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'doorstep.db'}"
    url: URL = request.getfixturevalue("postgres_database")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url.render_as_string(hide_password=False)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database upgraded to head, disposed after the test."""
    upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
