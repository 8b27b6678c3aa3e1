"""The portable column types behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import StatementError

from doorstep.db.engine import session_scope
from doorstep.db.models import AuditEntry


def test_aware_timestamps_round_trip_in_utc(engine: Engine) -> None:
    """An aware time comes back as the same instant, aware, in UTC, on every database."""
    helsinki = datetime(2026, 3, 29, 4, 30, 15, 123456, tzinfo=ZoneInfo("Europe/Helsinki"))
    with session_scope(engine) as session:
        session.add(AuditEntry(at=helsinki, actor="t", action="a", entity="e"))
    with session_scope(engine) as session:
        at = session.scalars(select(AuditEntry.at)).one()
        # A comparison parameter goes through the type too.
        found = session.scalars(
            select(AuditEntry.id).where(AuditEntry.at == helsinki.astimezone(UTC))
        ).all()
    assert at == helsinki
    assert at.tzinfo is UTC
    assert at.utcoffset() == timedelta(0)
    assert len(found) == 1


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    """A time without a zone is never stored (it would be read back as UTC)."""
    with pytest.raises(StatementError, match="no time zone"), session_scope(engine) as session:
        session.add(AuditEntry(at=datetime(2026, 1, 1, 9, 0), actor="t", action="a", entity="e"))
