"""`doorstep users` and `doorstep serve`: accounts from the command line, errors that say
what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from doorstep.cli import main
from doorstep.db import models as m
from doorstep.db.engine import make_engine, session_scope
from doorstep.db.migrate import upgrade


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner on a fresh database with region north and agent A1."""
    url = f"sqlite:///{tmp_path / 'doorstep.db'}"
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", url)
    monkeypatch.setenv("DOORSTEP_CACHE_DIR", str(tmp_path / "cache"))
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        session.add(m.Region(id="north", timezone="Europe/Helsinki"))
        session.flush()
        session.add(
            m.Agent(
                id="A1",
                region_id="north",
                mode="walk",
                start_lat=60.0,
                start_lon=25.0,
                shift_start=8 * 3600,
                shift_end=16 * 3600,
            )
        )
    engine.dispose()
    return CliRunner()


def test_users_add_list_and_token(runner: CliRunner) -> None:
    """Accounts of each role are added with the password from stdin, listed, and given a
    token that is printed once."""
    for args in (
        ["ada", "--role", "admin"],
        ["dina", "--role", "dispatcher", "--region", "north"],
        ["aki", "--role", "agent", "--agent-id", "A1"],
    ):
        result = runner.invoke(
            main, ["users", "add", *args, "--password-stdin"], input="a long password\n"
        )
        assert result.exit_code == 0, result.output
    assert "sees region(s) north" in result.output or "agent A1" in result.output
    listing = runner.invoke(main, ["users", "list"]).output.splitlines()
    assert [line.split()[:2] for line in listing] == [
        ["ada", "admin"],
        ["aki", "agent"],
        ["dina", "dispatcher"],
    ]
    token = runner.invoke(main, ["users", "token", "dina", "--label", "crm"])
    assert token.exit_code == 0 and token.output.startswith("dst_")
    revoked = runner.invoke(main, ["users", "revoke-tokens", "dina"])
    assert "1 token(s) of dina revoked" in revoked.output


def test_users_deactivate_and_activate(runner: CliRunner) -> None:
    """A deactivated user is listed as such and can be let back; unknown names are errors."""
    runner.invoke(
        main,
        ["users", "add", "dina", "--role", "dispatcher", "--region", "north", "--password-stdin"],
        input="a long password\n",
    )
    result = runner.invoke(main, ["users", "deactivate", "dina"])
    assert result.exit_code == 0 and "user dina is now deactivated" in result.output
    assert "was already deactivated" in runner.invoke(main, ["users", "deactivate", "dina"]).output
    listing = runner.invoke(main, ["users", "list"]).output
    assert "dina" in listing and "deactivated" in listing
    assert "is now active" in runner.invoke(main, ["users", "activate", "dina"]).output
    missing = runner.invoke(main, ["users", "deactivate", "nobody"])
    assert missing.exit_code == 1 and "no user 'nobody'" in missing.output


def test_users_add_prompts_for_the_password_twice(runner: CliRunner) -> None:
    """Without --password-stdin the password is asked for, hidden, and confirmed."""
    result = runner.invoke(
        main,
        ["users", "add", "ada", "--role", "admin"],
        input="a long password\na long password\n",
    )
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (["dina", "--role", "dispatcher"], "a long password\n", "at least one --region"),
        (
            ["dina", "--role", "dispatcher", "--region", "south"],
            "a long password\n",
            "unknown region",
        ),
        (["aki", "--role", "agent", "--agent-id", "A9"], "a long password\n", "import agents.csv"),
        (["ada", "--role", "admin"], "short\n", "at least 10 characters"),
        (["bad name", "--role", "admin"], "a long password\n", "not valid"),
    ],
)
def test_users_add_errors_say_what_to_fix(
    runner: CliRunner, args: list[str], stdin: str, words: str
) -> None:
    """A bad account exits 1 with one line naming the fix, and nothing is stored."""
    result = runner.invoke(main, ["users", "add", *args, "--password-stdin"], input=stdin)
    assert result.exit_code == 1
    assert result.output.startswith("doorstep: error: ") and words in result.output


def test_users_password_changes_the_hash(runner: CliRunner, tmp_path: Path) -> None:
    """`doorstep users password` replaces the stored hash."""
    runner.invoke(
        main,
        ["users", "add", "ada", "--role", "admin", "--password-stdin"],
        input="first password\n",
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'doorstep.db'}")
    with session_scope(engine) as session:
        before = session.scalars(select(m.User.password_hash)).one()
    result = runner.invoke(
        main, ["users", "password", "ada", "--password-stdin"], input="second password\n"
    )
    assert result.exit_code == 0, result.output
    with session_scope(engine) as session:
        assert session.scalars(select(m.User.password_hash)).one() != before
    engine.dispose()


def test_serve_refuses_a_database_without_schema(tmp_path: Path) -> None:
    """`doorstep serve` on a database that was never created says to upgrade it."""
    env = {"DOORSTEP_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = CliRunner().invoke(main, ["serve", "--port", "5999"], env=env)
    assert result.exit_code == 1
    assert "doorstep db upgrade" in result.output


def test_serve_help_reads_like_a_manual() -> None:
    """`doorstep serve --help` names every option."""
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--today", "--insecure-cookies", "--debug"):
        assert option in result.output
