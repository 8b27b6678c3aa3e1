"""The web app's store on SQLite and PostgreSQL: accounts and tokens, publishing, and
outcomes stored exactly once even when two copies of a submission race."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from doorstep.accounts import (
    AccountError,
    account_for_token,
    authenticate,
    create_token,
    create_user,
    revoke_tokens,
)
from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.store import load_plan
from doorstep.outcomes import OutcomeInput, store_outcome
from doorstep.published import PUBLISHED, agent_route_document, publish
from tests.webui.site import DAY, NOW, PASSWORD, build_small_site


@pytest.fixture
def site(engine: Engine) -> Engine:
    """The small web site's data on this database."""
    build_small_site(engine)
    return engine


def test_accounts_and_tokens(site: Engine) -> None:
    """Accounts check their role's needs; passwords and tokens authenticate; revoked tokens
    do not."""
    with session_scope(site) as session:
        assert authenticate(session, "disp", PASSWORD) is not None
        assert authenticate(session, "disp", PASSWORD + "x") is None
        assert authenticate(session, "nobody", PASSWORD) is None
        agent = authenticate(session, "agent_a", PASSWORD)
        assert agent is not None and (agent.agent_id, agent.agent_region) == ("A1", "north")
        for kwargs, words in (
            ({"role": "dispatcher"}, "at least one --region"),
            ({"role": "dispatcher", "regions": ["mars"]}, "unknown region(s) mars"),
            ({"role": "agent", "agent_id": "A99"}, "import agents.csv first"),
            ({"role": "admin", "agent_id": "A1"}, "only agent accounts"),
            ({"role": "boss"}, "unknown role"),
        ):
            with pytest.raises(AccountError, match=words.replace("(", r"\(").replace(")", r"\)")):
                create_user(session, "new", PASSWORD, actor="test", **kwargs)
        with pytest.raises(AccountError, match="at least 10 characters"):
            create_user(session, "new", "short", role="admin", actor="test")
        with pytest.raises(AccountError, match="exists already"):
            create_user(session, "disp", PASSWORD, role="admin", actor="test")
        token = create_token(session, "disp", label="crm", actor="test")
    with session_scope(site) as session:
        found = account_for_token(session, token, now=NOW)
        assert found is not None and found.name == "disp" and found.regions == ("north",)
        assert revoke_tokens(session, "disp", now=NOW, actor="test") == 1
    with session_scope(site) as session:
        assert account_for_token(session, token, now=NOW) is None


def test_a_token_notes_its_use_once_a_minute(site: Engine) -> None:
    """Requests within a minute of the last noted use write nothing; a later one notes it."""
    with session_scope(site) as session:
        token = create_token(session, "disp", actor="test")

    def last_used() -> object:
        with session_scope(site) as session:
            return session.scalars(select(m.ApiToken.last_used_at)).one()

    with session_scope(site) as session:
        account_for_token(session, token, now=NOW)
    assert last_used() == NOW
    soon = NOW + timedelta(seconds=30)
    with session_scope(site) as session:
        account_for_token(session, token, now=soon)
    assert last_used() == NOW
    later = NOW + timedelta(seconds=61)
    with session_scope(site) as session:
        account_for_token(session, token, now=later)
    assert last_used() == later


def test_publish_replaces_the_published_plan(site: Engine) -> None:
    """Publishing twice leaves one published plan, equal to the current one."""
    for _ in range(2):
        with session_scope(site) as session:
            publication = publish(session, "north", DAY, actor="test")
    with session_scope(site) as session:
        plans = session.scalar(
            select(func.count()).where(m.Plan.region_id == "north", m.Plan.status == PUBLISHED)
        )
        current = load_plan(session, "north", DAY)
        published = load_plan(session, "north", DAY, PUBLISHED)
        assert plans == 1 and current is not None and published is not None
        assert published.id == publication.plan_id
        assert published.document == current.document
        document = agent_route_document(session, "A2", now=NOW)
    assert [s["visit_id"] for s in document["route"]["stops"]] == ["N-V3"]


def test_racing_copies_of_an_outcome_store_one_event(site: Engine) -> None:
    """Two copies of one submission arriving at the same moment store one contact event;
    both get an answer, one of them marked as a duplicate."""
    outcome = OutcomeInput(id=str(uuid.uuid4()), visit_id="N-V1", outcome="met")
    barrier = threading.Barrier(2)
    answers: list[bool] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            stored = store_outcome(site, "A1", outcome, now=NOW, actor="test")
            answers.append(stored.duplicate)
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sorted(answers) == [False, True]
    with session_scope(site) as session:
        events = session.scalars(select(m.ContactEvent).where(m.ContactEvent.source == "agent"))
        assert [(e.id, e.visit_id, e.at) for e in events] == [(outcome.id, "N-V1", NOW)]
