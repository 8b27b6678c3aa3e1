"""Create and upgrade Doorstep's schema with Alembic, configured in code (no alembic.ini).

The migrations live in the package (`doorstep/db/migrations`), so an installed Doorstep can
upgrade its own database: `doorstep db upgrade`. To write the next migration after changing
`models.py`, against a database at head (DOORSTEP_DATABASE_URL)::

    from alembic import command
    from doorstep.db.migrate import alembic_config
    command.revision(alembic_config(), message="what changed", autogenerate=True, rev_id="0002")

then read and tidy the generated file; `tests/doorstep/db` checks that models and migrations
agree on SQLite and PostgreSQL.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import InterfaceError, OperationalError

from doorstep.db.engine import SchemaOutOfDate, make_engine, safe_url, unavailable

MIGRATIONS = "doorstep.db:migrations"
"""Alembic's script location, as a package resource so it works wherever Doorstep is installed."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for Doorstep; migrations run on `connection` when given."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision this Doorstep knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(url: str, revision: str = "head") -> str | None:
    """Upgrade the database at `url` to `revision` in one transaction; return the revision
    reached. Running it again changes nothing.

    On SQLite, foreign keys are off while migrating: altering a table there copies and drops
    it, and dropping a table with foreign keys on would cascade-delete its children's rows.
    The keys are checked before the upgrade commits.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                _sqlite_foreign_keys(connection, on=False)
            try:
                with connection.begin():
                    command.upgrade(alembic_config(connection), revision)
                    if sqlite:
                        _check_foreign_keys(connection)
            finally:
                if sqlite:
                    _sqlite_foreign_keys(connection, on=True)
            return _revision(connection)
    except (OperationalError, InterfaceError) as exc:
        if exc.connection_invalidated:
            raise unavailable(engine, exc) from exc
        raise
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at; None when it has no Doorstep schema."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return _revision(connection)
    finally:
        engine.dispose()


def check_schema(engine: Engine) -> None:
    """Raise `SchemaOutOfDate` (saying what to run) unless the database is at head."""
    try:
        with engine.connect() as connection:
            current = _revision(connection)
    except (OperationalError, InterfaceError) as exc:
        raise unavailable(engine, exc) from None
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if current == head:
        return
    where = f"database {safe_url(engine)}"
    if current is None:
        msg = f"{where} has no Doorstep schema: run `doorstep db upgrade`"
    elif current not in {s.revision for s in script.walk_revisions()}:
        msg = (
            f"{where} is at revision {current}, which this Doorstep does not know (its newest "
            f"is {head}): the database was upgraded by a newer Doorstep; install that version"
        )
    else:
        msg = f"{where} is at revision {current}, Doorstep needs {head}: run `doorstep db upgrade`"
    raise SchemaOutOfDate(msg)


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    # Straight to the driver: the pragma is ignored inside a transaction, and SQLAlchemy would
    # begin one first.
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        msg = f"the upgrade would break foreign keys in {', '.join(tables)}; nothing was changed"
        raise RuntimeError(msg)
