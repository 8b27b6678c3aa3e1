"""Connecting: URLs, SQLite's setup, transactions and the error when a server is not there."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError

from doorstep.db.engine import DatabaseUnavailable, make_engine, parse_url, session_scope
from doorstep.db.models import Region
from doorstep.settings import Settings


def test_unreachable_postgres_says_so_without_the_password() -> None:
    """A server that does not answer is a DatabaseUnavailable naming it, password masked."""
    url = "postgresql://doorstep:s3cret@127.0.0.1:1/doorstep"
    with pytest.raises(DatabaseUnavailable, match="did not answer") as caught:
        make_engine(url, connect_timeout=2)
    message = str(caught.value)
    assert "127.0.0.1:1/doorstep" in message
    assert "DOORSTEP_DATABASE_URL" in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_postgres_urls_use_psycopg(url: str, driver: str) -> None:
    """Plain and Heroku-style PostgreSQL URLs go through the installed psycopg 3 driver."""
    assert parse_url(url).drivername == driver


@pytest.mark.parametrize("url", ["mysql://u:s3cret@h/db", "not a url"])
def test_other_urls_are_refused_without_the_password(url: str) -> None:
    """Only SQLite and PostgreSQL are supported; the message never repeats a password."""
    with pytest.raises(ValueError, match="sqlite:///") as caught:
        parse_url(url)
    assert "s3cret" not in str(caught.value)


def test_sqlite_folder_is_created(tmp_path: Path) -> None:
    """A SQLite file database may live in a folder that does not exist yet."""
    path = tmp_path / "a" / "b" / "doorstep.db"
    engine = make_engine(f"sqlite:///{path}")
    engine.dispose()
    assert path.exists()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    """A row pointing at a missing row is refused, on SQLite too."""
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.execute(text("INSERT INTO crews (id, region_id) VALUES ('C1', 'no-such-region')"))


def test_session_scope_commits_or_rolls_back(engine: Engine) -> None:
    """The block's work is kept when it ends normally and undone when it raises."""
    with session_scope(engine) as session:
        session.add(Region(id="kept", timezone="Europe/Helsinki"))
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(Region(id="undone", timezone="Europe/Helsinki"))
        session.flush()
        raise RuntimeError("crash")
    with session_scope(engine) as session:
        assert session.scalars(select(Region.id)).all() == ["kept"]
        assert session.scalar(select(func.count()).select_from(Region)) == 1


def test_database_url_setting(tmp_path: Path) -> None:
    """DOORSTEP_DATABASE_URL is the database; unset, a SQLite file in the user's data folder."""
    assert Settings.from_env({"DOORSTEP_DATABASE_URL": "postgresql://h/db"}).database_url == (
        "postgresql://h/db"
    )
    default = Settings.from_env({}).database_url
    assert default == f"sqlite:///{Path.home()}/.local/share/doorstep/doorstep.db"
    assert Path(default.removeprefix("sqlite:///")).is_absolute()
    hidden = Settings(cache_dir=tmp_path, database_url="postgresql://u:s3cret@h/db")
    assert "s3cret" not in repr(hidden)
