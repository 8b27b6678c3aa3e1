"""What every `doorstep` command shares: the error type, settings, option parsers, the database."""

from __future__ import annotations

import getpass
from datetime import date

import click
from sqlalchemy import Engine

from doorstep.db.engine import DatabaseUnavailable, make_engine
from doorstep.db.migrate import check_schema
from doorstep.settings import Settings, check_timezone


class KnownError(click.ClickException):
    """An error the user can fix; printed as one message, exit code 1."""

    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(f"doorstep: error: {self.format_message()}", err=True)


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise KnownError(str(exc)) from None


def open_database(settings: Settings) -> Engine:
    """The database of the settings, checked to answer and to have the current schema."""
    try:
        engine = make_engine(settings.database_url)
        check_schema(engine)
    except (DatabaseUnavailable, ValueError) as exc:
        raise KnownError(str(exc)) from None
    return engine


def parse_day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def parse_timezone(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_timezone(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def actor_name() -> str:
    """Who is acting, for the audit log: the operating-system user of this command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
