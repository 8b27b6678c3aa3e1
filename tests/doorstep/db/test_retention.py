"""Retention: old borrower data goes, contacts a policy still counts stay, a dry run is exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.retention import apply_retention
from tests.webui.site import build_small_site

NOW = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)
"""Over a year after the small site's plan day (2026-11-24)."""


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Path:
    """The small site a year on, with three contacts of borrower B1 (two years, 80 days and
    six days old) and north under cn plus a lender layer that counts 90 days back."""
    build_small_site(engine)
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "long.toml").write_text(
        'name = "long"\nversion = "1"\n[[rolling]]\ndays = 90\nmax = 2\n', encoding="utf-8"
    )
    with session_scope(engine) as session:
        north = session.get(m.Region, "north")
        assert north is not None
        north.policy = "cn+long"
        for event_id, age in (("E-old", 730), ("E-80", 80), ("E-6", 6)):
            session.add(
                m.ContactEvent(
                    id=event_id,
                    borrower_id="B1",
                    at=NOW - timedelta(days=age),
                    channel="visit",
                    outcome="promise_to_pay",
                    note="will pay after salary",
                    source="agent",
                )
            )
        session.add(
            m.AuditEntry(actor="t", action="view_plan", entity="plan", at=NOW - timedelta(days=800))
        )
    return policies


def count(engine: Engine, model: type[m.Base]) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def run(engine: Engine, policies: Path, *, apply: bool, days: int = 62) -> dict[str, int]:
    report = apply_retention(
        engine,
        retention_days=days,
        audit_retention_days=730,
        policy_dir=policies,
        now=NOW,
        actor="cli:test",
        apply=apply,
    )
    assert report.applied is apply
    return report.deleted


def test_a_dry_run_counts_exactly_what_applying_deletes(engine: Engine, site: Path) -> None:
    """The dry run deletes nothing and its counts are what --apply then deletes."""
    before = {model: count(engine, model) for model in (m.Plan, m.Visit, m.ContactEvent)}
    dry = run(engine, site, apply=False)
    assert {model: count(engine, model) for model in before} == before
    assert run(engine, site, apply=True) == dry
    assert dry["plans"] == 4 and dry["visits"] == 6 and dry["plan stops"] > 0


def test_old_data_goes_and_counted_contacts_stay(engine: Engine, site: Path) -> None:
    """Plans, visits and the two-year-old contact go; the 80-day-old contact stays because
    the policy counts 90 days back (the setting says 62); so does its borrower."""
    deleted = run(engine, site, apply=True)
    assert deleted["contact events"] == 1 and deleted["audit entries"] == 1
    with session_scope(engine) as session:
        assert sorted(session.scalars(select(m.ContactEvent.id))) == ["E-6", "E-80"]
        assert session.scalars(select(m.Plan)).all() == []
        assert session.scalars(select(m.Visit)).all() == []
        assert list(session.scalars(select(m.Borrower.id))) == ["B1"]
        actions = session.scalars(select(m.AuditEntry.action)).all()
    assert "retention" in actions
    assert run(engine, site, apply=True)["contact events"] == 0  # again: nothing more


def test_a_longer_retention_keeps_more(engine: Engine, site: Path) -> None:
    """With 800 days nothing of the site is old enough to go."""
    deleted = run(engine, site, apply=True, days=800)
    assert deleted["plans"] == 0 and deleted["visits"] == 0 and deleted["contact events"] == 0
