"""What every part of the web app shares: the app's collaborators and the signed-in user.

`create_app` builds one `WebState` per app (settings, database engine, clock) and keeps it in
`app.extensions`; views reach it through `web_state()`. Nothing here is global: two apps in
one process (as in the tests) never share a database or a clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from flask import current_app, g, has_request_context
from sqlalchemy import Engine

from doorstep.accounts import Account
from doorstep.db.engine import session_scope
from doorstep.db.store import audit
from doorstep.settings import Settings

EXTENSION = "doorstep"


@dataclass(frozen=True)
class WebState:
    """The collaborators of one app. `clock` returns the aware current instant (tests and
    `doorstep serve --today` replace it); `launch` starts the process of a planning job."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    launch: Callable[[int], None]


def web_state() -> WebState:
    return cast(WebState, current_app.extensions[EXTENSION])


def now() -> datetime:
    """The app's current instant, aware."""
    return web_state().clock()


def current_user() -> Account | None:
    """The account of this request (session or bearer token), None when anonymous."""
    if not has_request_context():
        return None
    return cast(Account | None, g.get("user"))


def actor() -> str:
    """How the audit log names the current user: `web:NAME`, or `api:NAME` with a token."""
    user = current_user()
    if user is None:
        return "web:anonymous"
    return f"{'api' if g.get('via_token') else 'web'}:{user.name}"


def audit_view(action: str, entity: str, entity_id: str, detail: dict[str, Any]) -> None:
    """Record that the current user viewed borrower data (ids and counts only)."""
    with session_scope(web_state().engine) as session:
        audit(
            session, actor=actor(), action=action, entity=entity, entity_id=entity_id, detail=detail
        )
