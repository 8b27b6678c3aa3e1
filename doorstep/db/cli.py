"""`doorstep db`: create, upgrade and inspect the database named by DOORSTEP_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from doorstep.db.engine import DatabaseUnavailable, safe_url
from doorstep.db.migrate import current_revision, head_revision, upgrade
from doorstep.settings import Settings

T = TypeVar("T")


@click.group()
def db() -> None:
    """Create, upgrade and inspect the database (DOORSTEP_DATABASE_URL; default: a SQLite
    file in ~/.local/share/doorstep)."""


@db.command("upgrade")
@click.option(
    "--revision", default="head", show_default=True, help="The schema revision to upgrade to."
)
def upgrade_command(revision: str) -> None:
    """Create the schema, or upgrade it to the one this Doorstep needs. Safe to run again:
    a database already there is left as it is. Prints the revision reached."""
    url = _database_url()
    reached = _run(lambda: upgrade(url, revision))
    click.echo(f"database {safe_url(url)} at revision {reached}")


@db.command("current")
def current_command() -> None:
    """Print the database's schema revision and whether it is the newest."""
    url = _database_url()
    current = _run(lambda: current_revision(url))
    head = head_revision()
    if current is None:
        click.echo(f"database {safe_url(url)} has no schema; run `doorstep db upgrade`")
    elif current == head:
        click.echo(f"{current} (head)")
    else:
        click.echo(f"{current} (head is {head}; run `doorstep db upgrade`)")


def _database_url() -> str:
    try:
        return Settings.from_env().database_url
    except ValueError as exc:
        raise _known_error(str(exc)) from None


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except (DatabaseUnavailable, ValueError) as exc:
        raise _known_error(str(exc)) from None


def _known_error(message: str) -> click.ClickException:
    # Imported here: doorstep.cli imports this module at its end to register `db`.
    from doorstep.cli import KnownError

    return KnownError(message)
