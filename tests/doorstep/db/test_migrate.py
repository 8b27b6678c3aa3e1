"""Migrations: they build exactly the models' schema, run twice safely, and are checked."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine

from doorstep.cli import main
from doorstep.db.engine import SchemaOutOfDate, make_engine
from doorstep.db.migrate import check_schema, current_revision, head_revision, upgrade
from doorstep.db.models import Base


def test_migrations_match_models(engine: Engine) -> None:
    """The schema the migrations build has no difference from models.py."""
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_cli_upgrade_twice_then_current(db_url: str) -> None:
    """`doorstep db upgrade` creates the schema, changes nothing the second time, and
    `doorstep db current` then reports head."""
    runner = CliRunner()
    env = {"DOORSTEP_DATABASE_URL": db_url}
    head = head_revision()
    for _ in range(2):
        result = runner.invoke(main, ["db", "upgrade"], env=env)
        assert result.exit_code == 0, result.output
        assert f"at revision {head}" in result.output
    result = runner.invoke(main, ["db", "current"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{head} (head)"


def test_cli_unreachable_database_is_a_known_error() -> None:
    """A database that does not answer exits 1 with one line saying what to check."""
    env = {"DOORSTEP_DATABASE_URL": "postgresql://u:s3cret@127.0.0.1:1/db"}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 1
    assert result.output.startswith("doorstep: error: database ")
    assert "s3cret" not in result.output


def test_check_schema_asks_for_an_upgrade(db_url: str) -> None:
    """A database without the schema is refused with the command that fixes it."""
    engine = make_engine(db_url)
    try:
        assert current_revision(db_url) is None
        with pytest.raises(SchemaOutOfDate, match="run `doorstep db upgrade`"):
            check_schema(engine)
        assert upgrade(db_url) == head_revision()
        check_schema(engine)
    finally:
        engine.dispose()


def test_check_schema_refuses_a_newer_schema(engine: Engine) -> None:
    """A database upgraded by a newer Doorstep is refused rather than misread."""
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaOutOfDate, match="newer Doorstep"):
        check_schema(engine)
