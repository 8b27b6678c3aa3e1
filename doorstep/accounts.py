"""Web app accounts: users with hashed passwords and roles, dispatchers' regions, API tokens.

Three roles, each seeing less than the one before:

- ``admin``: every region, every plan.
- ``dispatcher``: the plans of the regions they are given, nothing else.
- ``agent``: their own published route for today, through the agent id they are linked to.

Passwords are hashed with werkzeug's scrypt; API tokens are long random strings of which only
the SHA-256 is kept, so a copy of the database gives away neither. Functions take a `Session`
and leave the transaction to the caller, like `doorstep.db.store`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from doorstep.db import models as m
from doorstep.db.store import audit

ROLES = ("admin", "dispatcher", "agent")
LOCALES = ("en", "zh")
"""UI languages: English and Simplified Chinese."""
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "dst_"
TOKEN_USE_RESOLUTION_S = 60.0
"""How stale a token's `last_used_at` may get before a request notes its use again."""
"""Marks Doorstep tokens, so a leaked one is recognisable (e.g. by secret scanners)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
# Checked against when a name is unknown, so a wrong name costs as long as a wrong password
# and response times do not reveal which names exist.
_DUMMY_HASH = generate_password_hash("not a password", method="scrypt")


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says what to fix."""


@dataclass(frozen=True)
class Account:
    """Who is signed in and what they may see.

    `regions` are the dispatcher's regions (empty for the other roles: an admin sees all);
    `agent_id` and `agent_region` link an agent account to its field agent.
    """

    id: int
    name: str
    role: str
    regions: tuple[str, ...] = ()
    agent_id: str | None = None
    agent_region: str | None = None
    locale: str | None = None

    def may_see_region(self, region_id: str) -> bool:
        """Whether plans of `region_id` are this account's business (agents: never)."""
        if self.role == "admin":
            return True
        return self.role == "dispatcher" and region_id in self.regions


def create_user(
    session: Session,
    name: str,
    password: str,
    *,
    role: str,
    regions: Sequence[str] = (),
    agent_id: str | None = None,
    actor: str,
) -> Account:
    """Create an account; raise `AccountError` naming the problem.

    A dispatcher needs at least one region, an agent the id of a field agent already in the
    database (import agents first); an admin takes neither.
    """
    if not _NAME.match(name):
        msg = (
            f"user name {name!r} is not valid: use 1-100 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
        raise AccountError(msg)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    check_password(password)
    wanted = sorted(set(regions))
    if role == "dispatcher" and not wanted:
        raise AccountError("a dispatcher needs at least one --region")
    if role != "dispatcher" and wanted:
        raise AccountError(f"only dispatchers have regions; a {role} sees {_sees(role)}")
    if role == "agent" and not agent_id:
        raise AccountError("an agent account needs --agent-id (the agent's id in agents.csv)")
    if role != "agent" and agent_id:
        raise AccountError("only agent accounts are linked to an --agent-id")
    if session.scalars(select(m.User.id).where(m.User.name == name)).first() is not None:
        raise AccountError(f"user {name!r} exists already; choose another name")
    missing = [r for r in wanted if session.get(m.Region, r) is None]
    if missing:
        msg = (
            f"unknown region(s) {', '.join(missing)}; create them with `doorstep region add` "
            "or see `doorstep region list`"
        )
        raise AccountError(msg)
    if agent_id and session.get(m.Agent, agent_id) is None:
        msg = (
            f"agent {agent_id!r} is not in the database; import agents.csv first "
            "(`doorstep import agents.csv --region R`)"
        )
        raise AccountError(msg)
    user = m.User(
        name=name,
        password_hash=generate_password_hash(password, method="scrypt"),
        role=role,
        agent_id=agent_id,
        regions=[m.UserRegion(region_id=r) for r in wanted],
    )
    session.add(user)
    session.flush()
    audit(
        session,
        actor=actor,
        action="create_user",
        entity="user",
        entity_id=name,
        detail={"role": role, "regions": wanted},
    )
    found = account(session, user.id)
    assert found is not None
    return found


def check_password(password: str) -> None:
    """Raise `AccountError` unless `password` is long enough to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
        raise AccountError(msg)


def set_password(session: Session, name: str, password: str, *, actor: str) -> None:
    """Replace the password of user `name` (its API tokens stay valid)."""
    check_password(password)
    user = _user_named(session, name)
    user.password_hash = generate_password_hash(password, method="scrypt")
    audit(session, actor=actor, action="set_password", entity="user", entity_id=name)


def set_active(session: Session, name: str, active: bool, *, actor: str) -> bool:
    """Let user `name` sign in again, or stop them: a deactivated user's sessions and API
    tokens stop working at their next request (the account and its audit trail stay).
    Returns whether anything changed."""
    user = _user_named(session, name)
    if user.active == active:
        return False
    user.active = active
    audit(
        session,
        actor=actor,
        action="activate_user" if active else "deactivate_user",
        entity="user",
        entity_id=name,
    )
    return True


def inactive_names(session: Session) -> list[str]:
    """The names of deactivated accounts, sorted."""
    return list(
        session.scalars(select(m.User.name).where(m.User.active.is_(False)).order_by(m.User.name))
    )


def authenticate(session: Session, name: str, password: str) -> Account | None:
    """The active account with this name and password, else None (never says which was
    wrong: that would tell an attacker which names exist)."""
    user = session.scalars(select(m.User).where(m.User.name == name)).one_or_none()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return account(session, user.id)


def account(session: Session, user_id: int) -> Account | None:
    """The active account `user_id`, with its regions and its agent's region; else None."""
    user = session.scalars(
        select(m.User).where(m.User.id == user_id).options(selectinload(m.User.regions))
    ).one_or_none()
    if user is None or not user.active:
        return None
    agent_region = None
    if user.agent_id:
        agent = session.get(m.Agent, user.agent_id)
        agent_region = agent.region_id if agent is not None else None
    return Account(
        id=user.id,
        name=user.name,
        role=user.role,
        regions=tuple(r.region_id for r in user.regions),
        agent_id=user.agent_id,
        agent_region=agent_region,
        locale=user.locale,
    )


def list_accounts(session: Session) -> list[Account]:
    """Every active account, by name."""
    ids = session.scalars(select(m.User.id).order_by(m.User.name)).all()
    found = [account(session, i) for i in ids]
    return [a for a in found if a is not None]


def set_locale(session: Session, user_id: int, locale: str | None) -> None:
    """Remember the UI language a user chose (None: follow the browser)."""
    if locale is not None and locale not in LOCALES:
        raise AccountError(f"unknown language {locale!r}; use one of {', '.join(LOCALES)}")
    user = session.get(m.User, user_id)
    if user is not None:
        user.locale = locale


def create_token(session: Session, name: str, *, label: str = "", actor: str) -> str:
    """A new API token for user `name`; the only time the token itself is seen: store it."""
    user = _user_named(session, name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(m.ApiToken(user_id=user.id, label=label[:100], token_sha256=_digest(token)))
    audit(
        session,
        actor=actor,
        action="create_token",
        entity="user",
        entity_id=name,
        detail={"label": label[:100]},
    )
    return token


def revoke_tokens(session: Session, name: str, *, now: datetime, actor: str) -> int:
    """Revoke every token of user `name`; return how many were active."""
    user = _user_named(session, name)
    tokens = session.scalars(
        select(m.ApiToken).where(m.ApiToken.user_id == user.id, m.ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = now
    audit(
        session,
        actor=actor,
        action="revoke_tokens",
        entity="user",
        entity_id=name,
        detail={"tokens": len(tokens)},
    )
    return len(tokens)


def account_for_token(session: Session, token: str, *, now: datetime) -> Account | None:
    """The account a bearer token acts for, or None when the token is unknown, revoked or its
    user inactive. Its use is noted (`last_used_at`) at most once a minute, so a machine
    calling often does not write on every request."""
    row = _token_row(session, token)
    if row is None or row.revoked_at is not None:
        return None
    if _stale(row, now):
        row.last_used_at = now
    return account(session, row.user_id)


def _token_row(session: Session, token: str) -> m.ApiToken | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return session.scalars(
        select(m.ApiToken).where(m.ApiToken.token_sha256 == _digest(token))
    ).one_or_none()


def _stale(row: m.ApiToken, now: datetime) -> bool:
    last = row.last_used_at
    return last is None or (now - last).total_seconds() >= TOKEN_USE_RESOLUTION_S


def _user_named(session: Session, name: str) -> m.User:
    user = session.scalars(select(m.User).where(m.User.name == name)).one_or_none()
    if user is None:
        raise AccountError(f"no user {name!r}; see `doorstep users list`")
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _sees(role: str) -> str:
    return "every region" if role == "admin" else "only their own route"
