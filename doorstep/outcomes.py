"""Record what happened at a stop: an agent's outcome becomes a contact event at once.

The event counts toward the borrower's contact limits from the moment it is stored (planning
reads contact events as history). Phones on a flaky connection retry: the client generates
the event's id (a UUID) when the agent presses "save", so the same submission sent twice is
stored once, and a different submission that reuses an id is refused.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

import geo
from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.store import audit
from doorstep.history import VISIT_OUTCOMES
from doorstep.published import PUBLISHED

OUTCOMES = VISIT_OUTCOMES
"""What an agent records at a stop: the outcomes of a home visit, as history.csv names them."""
CHECKIN_WARNING_M = 150
"""A check-in farther than this from the address is stored with a warning, never refused:
GPS in a courtyard or a high-rise is often that far off."""
MAX_NOTE_CHARS = 2000
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a phone's clock may put an outcome's time."""
LATE_DAYS = 1
"""An outcome queued offline may arrive this many days after its route's day."""
MAX_AMOUNT = Decimal("999999999999.99")
_LOCK_RETRIES = 3


class OutcomeError(ValueError):
    """The outcome cannot be stored as sent; the message says what to change."""


class NotOnRouteError(LookupError):
    """The visit is not on the agent's published route of that day."""


class IdConflictError(ValueError):
    """The event id was already used for a different outcome."""


@dataclass(frozen=True)
class OutcomeInput:
    """One outcome as an agent sends it.

    `id` is the client's UUID; `at` when the agent recorded it (aware; None: now);
    `promise_amount` (in the lender's currency, two decimals at most) and `promise_date` go
    with, and only with, "promise_to_pay"; `lat`/`lon` the check-in position, both or none.
    """

    id: str
    visit_id: str
    outcome: str
    note: str = ""
    at: datetime | None = None
    promise_amount: Decimal | None = None
    promise_date: date | None = None
    lat: float | None = None
    lon: float | None = None

    def __post_init__(self) -> None:
        try:
            canonical = str(uuid.UUID(self.id))
        except (ValueError, AttributeError, TypeError):
            raise OutcomeError(f"id {self.id!r} is not a UUID; send crypto.randomUUID()") from None
        object.__setattr__(self, "id", canonical)
        if self.outcome not in OUTCOMES:
            msg = f"unknown outcome {self.outcome!r}; use one of {', '.join(OUTCOMES)}"
            raise OutcomeError(msg)
        if len(self.note) > MAX_NOTE_CHARS:
            msg = f"the note has {len(self.note)} characters; {MAX_NOTE_CHARS} at most"
            raise OutcomeError(msg)
        promised = self.promise_amount is not None or self.promise_date is not None
        if self.outcome == "promise_to_pay":
            if self.promise_amount is None or self.promise_date is None:
                raise OutcomeError("a promise to pay needs promise_amount and promise_date")
            if not Decimal("0") < self.promise_amount <= MAX_AMOUNT:
                raise OutcomeError(f"promise_amount {self.promise_amount} must be above 0")
            if self.promise_amount != self.promise_amount.quantize(Decimal("0.01")):
                raise OutcomeError(f"promise_amount {self.promise_amount} has over 2 decimals")
        elif promised:
            raise OutcomeError("promise_amount and promise_date go only with promise_to_pay")
        if (self.lat is None) != (self.lon is None):
            raise OutcomeError("send both lat and lon of the check-in, or neither")
        if self.lat is not None and self.lon is not None:
            if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
                raise OutcomeError(f"check-in {self.lat}, {self.lon} is not a position on Earth")
        if self.at is not None and self.at.utcoffset() is None:
            raise OutcomeError("`at` needs a UTC offset, e.g. 2026-11-24T10:30:00+02:00")


@dataclass(frozen=True)
class RecordedOutcome:
    """An outcome as stored. `duplicate` is True when this id was stored before (a retry);
    `warnings` are sentences for the agent (e.g. a far check-in), never refusals."""

    id: str
    visit_id: str
    outcome: str
    at: datetime
    duplicate: bool
    checkin_distance_m: int | None
    warnings: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "visit_id": self.visit_id,
            "outcome": self.outcome,
            "at": self.at.isoformat(),
            "duplicate": self.duplicate,
            "checkin_distance_m": self.checkin_distance_m,
            "warnings": list(self.warnings),
        }


def parse_amount(value: Any) -> Decimal | None:
    """A JSON number or numeric string as a Decimal; OutcomeError when it is neither."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise OutcomeError(f"promise_amount {value!r} is not a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise OutcomeError(f"promise_amount {value!r} is not a number") from None
    if not amount.is_finite():
        raise OutcomeError(f"promise_amount {value!r} is not a number")
    return amount


def record_outcome(
    session: Session, agent_id: str, outcome: OutcomeInput, *, now: datetime, actor: str
) -> RecordedOutcome:
    """Store `outcome` of agent `agent_id` as a contact event, exactly once per id.

    The visit must be on the agent's route in the published plan of the outcome's day (its
    local date in the region), and that day must be today or at most `LATE_DAYS` before
    (queued offline). Raises `NotOnRouteError`, `OutcomeError` or `IdConflictError`.
    """
    existing = session.get(m.ContactEvent, outcome.id)
    if existing is not None:
        return _replay(existing, agent_id, outcome)
    at = outcome.at or now
    if at > now + CLOCK_SKEW:
        msg = f"`at` {at.isoformat()} is in the future; check the phone's clock"
        raise OutcomeError(msg)
    stop, plan = _stop_on_route(session, agent_id, outcome.visit_id, at, now)
    distance = None
    if outcome.lat is not None and outcome.lon is not None:
        distance = round(float(geo.haversine_m(outcome.lat, outcome.lon, stop["lat"], stop["lon"])))
    event = m.ContactEvent(
        id=outcome.id,
        borrower_id=stop["borrower_id"],
        at=at,
        channel="visit",
        outcome=outcome.outcome,
        visit_id=outcome.visit_id,
        agent_id=agent_id,
        source="agent",
        note=outcome.note,
        recorded_at=now,
        promise_amount=outcome.promise_amount,
        promise_date=outcome.promise_date,
        checkin_lat=outcome.lat,
        checkin_lon=outcome.lon,
        checkin_distance_m=distance,
    )
    try:
        # A savepoint: when a retry of the same submission won the race, only this insert is
        # undone and the stored one is returned.
        with session.begin_nested():
            session.add(event)
    except IntegrityError:
        stored = session.get(m.ContactEvent, outcome.id)
        if stored is None:
            raise
        return _replay(stored, agent_id, outcome)
    audit(
        session,
        actor=actor,
        action="record_outcome",
        entity="visit",
        entity_id=outcome.visit_id,
        detail={"event_id": outcome.id, "plan_id": plan.id, "checkin_distance_m": distance},
    )
    return RecordedOutcome(
        outcome.id, outcome.visit_id, outcome.outcome, at, False, distance, _warnings(distance)
    )


def _warnings(distance: int | None) -> tuple[str, ...]:
    if distance is None or distance <= CHECKIN_WARNING_M:
        return ()
    return (
        f"checked in {distance} m from the address (more than {CHECKIN_WARNING_M} m): the "
        "outcome is saved; check that this is the right address",
    )


def store_outcome(
    engine: Engine, agent_id: str, outcome: OutcomeInput, *, now: datetime, actor: str
) -> RecordedOutcome:
    """`record_outcome` in a transaction of its own, retried when SQLite reports a lock
    conflict: two copies of one submission racing on SQLite both read, then both try to
    write, and SQLite fails one at once instead of making it wait; on the retry it finds
    the other's event and answers as for a duplicate. PostgreSQL needs no retry."""
    for attempt in range(_LOCK_RETRIES):
        try:
            with session_scope(engine) as session:
                return record_outcome(session, agent_id, outcome, now=now, actor=actor)
        except OperationalError as exc:
            locked = "database is locked" in str(exc.orig)
            if not locked or attempt == _LOCK_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _stop_on_route(
    session: Session, agent_id: str, visit_id: str, at: datetime, now: datetime
) -> tuple[dict[str, Any], m.Plan]:
    agent = session.get(m.Agent, agent_id)
    if agent is None:
        raise NotOnRouteError(f"agent {agent_id!r} is not in the database")
    region = session.get(m.Region, agent.region_id)
    assert region is not None  # agents.region_id is a foreign key
    zone = ZoneInfo(region.timezone)
    day, today = at.astimezone(zone).date(), now.astimezone(zone).date()
    if not today - timedelta(days=LATE_DAYS) <= day <= today:
        msg = f"`at` falls on {day.isoformat()}; outcomes are taken for today and yesterday only"
        raise OutcomeError(msg)
    plan = session.scalars(
        select(m.Plan).where(
            m.Plan.region_id == agent.region_id, m.Plan.day == day, m.Plan.status == PUBLISHED
        )
    ).one_or_none()
    if plan is not None:
        for route in plan.document["routes"]:
            if agent_id not in route["agent_ids"]:
                continue
            for stop in route["stops"]:
                if stop["visit_id"] == visit_id:
                    return stop, plan
    msg = f"visit {visit_id} is not on your published route of {day.isoformat()}"
    raise NotOnRouteError(msg)


def _replay(stored: m.ContactEvent, agent_id: str, outcome: OutcomeInput) -> RecordedOutcome:
    """The answer to a retried submission: the stored event if it is the same one."""
    same = (
        stored.agent_id == agent_id
        and stored.visit_id == outcome.visit_id
        and stored.outcome == outcome.outcome
        and stored.source == "agent"
    )
    if not same:
        msg = f"id {outcome.id} was used for another outcome; send a new UUID"
        raise IdConflictError(msg)
    return RecordedOutcome(
        stored.id,
        outcome.visit_id,
        stored.outcome,
        stored.at,
        True,
        stored.checkin_distance_m,
        _warnings(stored.checkin_distance_m),
    )
