"""`doorstep serve` and `doorstep users`: run the web app and manage who may sign in to it."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import click

from doorstep.accounts import (
    ROLES,
    AccountError,
    create_token,
    create_user,
    inactive_names,
    list_accounts,
    set_active,
)
from doorstep.accounts import revoke_tokens as revoke_user_tokens
from doorstep.accounts import set_password as set_user_password
from doorstep.cli_common import KnownError, actor_name, load_settings, open_database, parse_day
from doorstep.db.engine import DatabaseUnavailable, session_scope

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
@click.option("--debug", is_flag=True, help="Flask's debug mode (never on a shared network).")
@click.option(
    "--today",
    callback=parse_day,
    help="Pretend today is this day, YYYY-MM-DD (demos and training: agents see that day's "
    "published route, e.g. the sample day 2026-11-24).",
)
@click.option(
    "--insecure-cookies",
    is_flag=True,
    help="Send the session cookie over plain HTTP on a non-local address (trying the app on "
    "a phone in a test network; in production put HTTPS in front instead).",
)
def serve(host: str, port: int, debug: bool, today: date | None, insecure_cookies: bool) -> None:
    """Run the web app: the dispatcher's map, the agents' phone page and the JSON API.

    Create accounts first with `doorstep users add`. Listens on 127.0.0.1:5000 by default;
    on any other address, session cookies are marked Secure (HTTPS only) unless
    --insecure-cookies. This is Flask's own server, for one site and a few dozen users; for
    more, run `webui:create_app()` under a WSGI server such as gunicorn behind HTTPS.
    """
    from webui import create_app

    settings = load_settings()
    open_database(settings)  # a clear message if the database is missing or old
    secure = not (host in LOOPBACK or debug or insecure_cookies)
    clock = None
    if today is not None:
        shift = today - datetime.now(UTC).date()

        def clock() -> datetime:
            return datetime.now(UTC) + shift

    try:
        app = create_app(settings, {"SESSION_COOKIE_SECURE": secure}, clock=clock)
    except (DatabaseUnavailable, ValueError) as exc:
        raise KnownError(str(exc)) from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Doorstep web app on http://{shown}:{port} (Ctrl+C to stop)")
    if today is not None:
        click.echo(f"pretending today is {today.isoformat()}")
    app.run(host=host, port=port, debug=debug, use_reloader=False, threaded=True)


@click.group()
def users() -> None:
    """Create and list web app accounts and their API tokens.

    Roles: admin (every region), dispatcher (the regions given with --region), agent (their
    own published route of today, through --agent-id).
    """


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may see.")
@click.option(
    "--region", "regions", multiple=True, help="A dispatcher's region (repeat for several)."
)
@click.option("--agent-id", help="An agent account's field agent id (as in agents.csv).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)
def add_user(
    name: str, role: str, regions: tuple[str, ...], agent_id: str | None, password_stdin: bool
) -> None:
    """Create account NAME; the password is prompted for (twice) unless --password-stdin."""
    password = _password(password_stdin)
    engine = open_database(load_settings())
    try:
        with session_scope(engine) as session:
            account = create_user(
                session,
                name,
                password,
                role=role,
                regions=regions,
                agent_id=agent_id,
                actor=actor_name(),
            )
    except AccountError as exc:
        raise KnownError(str(exc)) from None
    scope = {
        "admin": "every region",
        "dispatcher": f"region(s) {', '.join(account.regions)}",
        "agent": f"agent {account.agent_id}'s own route",
    }[role]
    click.echo(f"user {name} added: {role}, sees {scope}")


@users.command("list")
def list_users() -> None:
    """List accounts: name, role and what each sees; deactivated ones last."""
    engine = open_database(load_settings())
    with session_scope(engine) as session:
        accounts = list_accounts(session)
        inactive = inactive_names(session)
    if not accounts and not inactive:
        click.echo("no users yet; add one with `doorstep users add NAME --role admin`")
    for account in accounts:
        scope = ",".join(account.regions) if account.role == "dispatcher" else ""
        if account.role == "agent":
            scope = f"agent {account.agent_id}"
        click.echo(f"{account.name:<24}{account.role:<12}{scope}")
    for name in inactive:
        click.echo(f"{name:<24}{'(deactivated: `doorstep users activate` to let them back)'}")


@users.command("deactivate")
@click.argument("name")
def deactivate(name: str) -> None:
    """Stop NAME from signing in: their sessions and API tokens stop working at once (the
    account and its audit trail are kept; `activate` undoes it)."""
    _set_active(name, False)


@users.command("activate")
@click.argument("name")
def activate(name: str) -> None:
    """Let a deactivated NAME sign in again (their old API tokens work again too)."""
    _set_active(name, True)


def _set_active(name: str, active: bool) -> None:
    engine = open_database(load_settings())
    try:
        with session_scope(engine) as session:
            changed = set_active(session, name, active, actor=actor_name())
    except AccountError as exc:
        raise KnownError(str(exc)) from None
    state = "active" if active else "deactivated"
    click.echo(f"user {name} {'is now' if changed else 'was already'} {state}")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
def password(name: str, password_stdin: bool) -> None:
    """Set a new password for NAME."""
    new = _password(password_stdin)
    engine = open_database(load_settings())
    try:
        with session_scope(engine) as session:
            set_user_password(session, name, new, actor=actor_name())
    except AccountError as exc:
        raise KnownError(str(exc)) from None
    click.echo(f"password of {name} changed")


@users.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for, e.g. 'crm sync'.")
def token(name: str, label: str) -> None:
    """Create an API token that acts as NAME and print it (shown this once only).

    Send it as `Authorization: Bearer <token>`.
    """
    engine = open_database(load_settings())
    try:
        with session_scope(engine) as session:
            secret = create_token(session, name, label=label, actor=actor_name())
    except AccountError as exc:
        raise KnownError(str(exc)) from None
    click.echo(secret)


@users.command("revoke-tokens")
@click.argument("name")
def revoke_tokens(name: str) -> None:
    """Revoke every API token of NAME."""
    engine = open_database(load_settings())
    try:
        with session_scope(engine) as session:
            count = revoke_user_tokens(session, name, now=datetime.now(UTC), actor=actor_name())
    except AccountError as exc:
        raise KnownError(str(exc)) from None
    click.echo(f"{count} token(s) of {name} revoked")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        secret = line.rstrip("\r\n")
        if not secret:
            raise KnownError("no password on standard input")
        return secret
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value
