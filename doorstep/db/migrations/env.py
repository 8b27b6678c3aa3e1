"""Alembic's entry point for Doorstep's migrations.

`doorstep.db.migrate` passes an open connection in `config.attributes["connection"]`; run any
other way (e.g. `command.revision(alembic_config(), autogenerate=True)`), the database is
DOORSTEP_DATABASE_URL's.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

from doorstep.db.models import Base, UtcDateTime

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write UtcDateTime as the plain type it stores, so migrations never import the models."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite alters a table by copying it: autogenerate writes batch_alter_table blocks.
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
    )


def _database_url() -> str:
    from doorstep.settings import Settings

    return Settings.from_env().database_url


def run_offline() -> None:
    """Write the SQL to stdout (`--sql`) instead of running it."""
    from doorstep.db.engine import parse_url

    url = parse_url(_database_url())
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.get_backend_name() == "sqlite",
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from doorstep.db.engine import make_engine

    engine = make_engine(_database_url())
    try:
        with engine.connect() as own_connection:
            _configure(own_connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
