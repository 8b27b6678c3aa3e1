"""Connect to Doorstep's database: SQLite for one machine, PostgreSQL for production.

`make_engine` is the only place that knows driver details (psycopg for PostgreSQL, SQLite's
foreign keys, locking and transactions); `session_scope` is the one way to run a unit of work.
URLs leave this module only with the password masked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long an SQLite writer waits for another writer's lock before failing."""
CONNECT_TIMEOUT_S = 10
"""How long to wait for a PostgreSQL server to answer before saying it did not."""
_READ_ONLY = "doorstep_read_only"
"""Execution option of `read_scope`'s connections."""
_POSTGRES_ALIASES = {"postgresql", "postgres", "postgresql+psycopg"}
"""Spellings mapped to the installed driver (psycopg 3); `postgres://` is Heroku's."""


class DatabaseUnavailable(Exception):
    """The database cannot be used: the server does not answer, or refuses us, or the file
    cannot be opened. The message names the database (password masked) and what to check."""


class SchemaOutOfDate(DatabaseUnavailable):
    """The database answers but its schema is not the one this Doorstep expects."""


def make_engine(url: str, *, connect_timeout: int = CONNECT_TIMEOUT_S) -> Engine:
    """An engine for a `sqlite:///path` or `postgresql://user@host/db` URL, checked to answer.

    SQLite: the file's folder is created, foreign keys are enforced and transactions are real
    (BEGIN on every transaction, so savepoints and migrations roll back whole). PostgreSQL:
    `postgresql://` and `postgres://` use psycopg 3. Pooled connections are pinged before use.

    Raises ValueError for a URL that is not SQLite or PostgreSQL, and `DatabaseUnavailable`
    when the database does not answer within `connect_timeout` seconds or refuses the login.
    """
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        _create_folder(parsed)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    else:
        kwargs["connect_args"] = {"connect_timeout": connect_timeout}
    engine = create_engine(parsed, **kwargs)
    if backend == "sqlite":
        _configure_sqlite(engine)
    try:
        with engine.connect():
            pass
    except (OperationalError, InterfaceError) as exc:
        engine.dispose()
        raise unavailable(engine, exc) from None
    log.info("database %s", safe_url(engine))
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any exception.

    Objects stay readable after the block (attributes already loaded keep their values). A
    lost connection is reported as `DatabaseUnavailable`.
    """
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise unavailable(engine, exc) from exc
        raise


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A transaction that only reads: on SQLite it does not wait for (or hold up) writers,
    seeing the last commit. Writing in it is a bug; SQLite would then fail with "database
    is locked" where `session_scope` would have waited."""
    try:
        with (
            Session(
                engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
            ) as session,
            session.begin(),
        ):
            yield session
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise unavailable(engine, exc) from exc
        raise


def safe_url(engine_or_url: Engine | URL | str) -> str:
    """The URL as it may be shown or logged: the password replaced by ***."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else engine_or_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable database URL)"


def unavailable(engine: Engine, exc: DBAPIError) -> DatabaseUnavailable:
    """The error to raise when `engine`'s database failed with `exc`: what failed, no password."""
    lines = str(exc.orig).strip().splitlines() if exc.orig is not None else []
    reason = lines[0] if lines else type(exc).__name__
    if engine.dialect.name == "sqlite":
        msg = (
            f"database {safe_url(engine)} could not be opened ({reason}); check the path in "
            "DOORSTEP_DATABASE_URL and that its folder is writable"
        )
    else:
        msg = (
            f"database {safe_url(engine)} did not answer or refused the connection ({reason}); "
            "check that the server runs and that DOORSTEP_DATABASE_URL names it"
        )
    return DatabaseUnavailable(msg)


def parse_url(url: str) -> URL:
    """`url` as Doorstep connects to it (PostgreSQL through psycopg 3); ValueError unless it is
    SQLite or PostgreSQL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The URL itself is not repeated: it may hold a password.
        msg = (
            "the database URL is not valid; use sqlite:///path/to/doorstep.db or "
            "postgresql://user:password@host:5432/dbname"
        )
        raise ValueError(msg) from None
    if parsed.drivername in _POSTGRES_ALIASES:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "sqlite":
        return parsed
    msg = (
        f"database {parsed.render_as_string(hide_password=True)} is not supported; "
        "Doorstep runs on SQLite (sqlite:///path) or PostgreSQL (postgresql://…)"
    )
    raise ValueError(msg)


def _create_folder(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    # Python's sqlite3 (before 3.12's autocommit=False) begins a transaction only before
    # INSERT/UPDATE/DELETE: a SAVEPOINT or DDL would escape the enclosing transaction. Take
    # over BEGIN as SQLAlchemy's SQLite documentation describes ("Enabling Non-Legacy SQLite
    # Transactional Modes").
    #
    # BEGIN IMMEDIATE takes the write lock when the transaction starts: two deferred
    # transactions that both read and then write would otherwise deadlock on the lock upgrade,
    # and SQLite fails one of them at once ("database is locked") without waiting out the busy
    # timeout. Measured with benchmarks/api_load.py: 20 clients recording outcomes got 500s.
    # WAL lets readers of the last commit go on while a writer works.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # A transaction that only reads never upgrades its lock, so it may begin deferred
        # and read the last commit while a writer holds the lock (`read_scope`).
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
