"""Load one region-day from the database: the routing input and the history its policy needs.

The history holds the recorded contacts of the day's borrowers over the policy's look-back,
plus their visits already planned in *other* regions, so a borrower with visits in two
regions planned separately still gets no more than the policy allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.contact import planned_contact
from doorstep.csvio import DayInput
from doorstep.db import models as m
from doorstep.db import records
from doorstep.db.store import planned_stops
from optimizer.policy import ContactEvent, Policy


class UnknownRegionError(ValueError):
    """The region is not in the database."""


@dataclass(frozen=True)
class StoredDay:
    """A region-day as stored, ready for the policy and the planner."""

    region: m.Region
    day_input: DayInput
    history: tuple[ContactEvent, ...]
    extra_holidays: frozenset[date]


def lookback_days(policy: Policy) -> int:
    """How many days before the plan day the policy can look at (plus one for time zones)."""
    longest = max([cap.days for cap in policy.rolling_caps], default=1)
    if policy.max_per_month is not None:
        longest = max(longest, 31)
    if policy.max_per_week is not None:
        longest = max(longest, 7)
    longest = max(longest, math.ceil(policy.min_gap_hours / 24))
    return longest + 1


def get_region(session: Session, region_id: str) -> m.Region:
    region = session.get(m.Region, region_id)
    if region is None:
        known = session.scalars(select(m.Region.id).order_by(m.Region.id)).all()
        msg = (
            f"unknown region {region_id!r}; known: {', '.join(known) or 'none'} "
            f"(create it with `doorstep region add {region_id} --timezone ...`)"
        )
        raise UnknownRegionError(msg)
    return region


def load_day(
    session: Session,
    region_id: str,
    day: date,
    lookback: int,
    *,
    own_visits: frozenset[str] = frozenset(),
) -> StoredDay:
    """The open visits of `region_id` on `day`, its active agents, the visited borrowers'
    rules and flags, and their contacts from `lookback` days before `day` to its end.

    Outcomes recorded for `own_visits` are left out of the contacts: those visits are the
    plan being changed (moving a visit by hand later in the day), which counts them itself.
    """
    region = get_region(session, region_id)
    agent_rows = session.scalars(
        select(m.Agent)
        .where(m.Agent.region_id == region_id, m.Agent.active.is_(True))
        .order_by(m.Agent.id)
    ).all()
    visit_rows = session.scalars(
        select(m.Visit)
        .where(m.Visit.region_id == region_id, m.Visit.day == day, m.Visit.status == "open")
        .order_by(m.Visit.id)
    ).all()
    borrower_ids = sorted({v.borrower_id for v in visit_rows})
    borrower_rows = session.scalars(
        select(m.Borrower).where(m.Borrower.id.in_(borrower_ids)).order_by(m.Borrower.id)
    ).all()

    day_input = DayInput(
        visits=tuple(records.visit_from_row(v) for v in visit_rows),
        agents=tuple(records.agent_from_row(a) for a in agent_rows),
        crews=records.crews_from_rows(agent_rows),
        borrowers=tuple(records.borrower_rule_from_row(b) for b in borrower_rows),
        addresses={v.id: v.address for v in visit_rows},
        agent_names={a.id: a.name for a in agent_rows},
        start_labels={a.id: a.start_label for a in agent_rows},
        agreed_at={v.id: v.agreed_at for v in visit_rows if v.agreed_at is not None},
        borrower_flags=records.borrower_flags(borrower_rows),
    )
    tz = ZoneInfo(region.timezone)
    first_day = day - timedelta(days=lookback)
    since = datetime.combine(first_day, time(0), tzinfo=tz).astimezone(UTC)
    until = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    events = session.scalars(
        select(m.ContactEvent)
        .where(
            m.ContactEvent.borrower_id.in_(borrower_ids),
            m.ContactEvent.at >= since,
            m.ContactEvent.at < until,
        )
        .order_by(m.ContactEvent.at, m.ContactEvent.id)
    ).all()
    events = [e for e in events if e.visit_id is None or e.visit_id not in own_visits]
    history = [ContactEvent(e.borrower_id, e.at, e.channel, e.outcome) for e in events]
    elsewhere = planned_stops(
        session, days=(first_day, day), borrower_ids=borrower_ids, exclude_region=region_id
    )
    zones = {r.id: r.timezone for r in session.scalars(select(m.Region)).all()}
    recorded = {e.visit_id for e in events if e.visit_id}
    history += [
        planned_contact(s.borrower_id, s.day, s.start, zones[s.region_id])
        for s in elsewhere
        if s.visit_id not in recorded  # a visit made and recorded counts once
    ]
    extra = frozenset(h.day for h in region.holidays)
    return StoredDay(region, day_input, tuple(history), extra)
