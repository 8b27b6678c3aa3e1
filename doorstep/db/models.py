"""The database schema: Doorstep's memory of regions, people, visits, contacts and plans.

Portable on purpose: only types that behave the same on SQLite and PostgreSQL (strings,
integers, floats, dates, timezone-aware timestamps, JSON). Times of day are integer seconds
since local midnight of the region, exactly as in the routing core; instants are stored in
UTC (`UtcDateTime`). Borrowers are stored by id with what planning needs, nothing about the
debt itself.

Schema changes go through Alembic (`doorstep/db/migrations`); a test checks that the
migrations and these models agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ID = 64
"""Length of every external id column (visit, borrower, agent, region ids)."""

NAMING = {
    "ix": "ix_%(column_0_label)s",
    # every column, so two unique constraints that start with the same column get two names
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware timestamp stored in UTC and read back aware in UTC, on every database.

    SQLite has no time zone type: without this, a value would come back naive there and
    aware on PostgreSQL. Naive values are refused, so no local time is stored by accident.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            msg = f"timestamp {value} has no time zone; store aware date-times"
            raise ValueError(msg)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Region(Base):
    """A city or branch planned as one: its time zone, holidays, contact policy and roads.

    `policy` names the policy layers stacked for the region, strictest wins: preset or lender
    policy names joined by "+" (e.g. "cn+acme"). `country` (ISO 3166 code, optional
    `subdivision`) selects the public-holiday calendar; `RegionHoliday` rows add more days.
    """

    __tablename__ = "regions"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(8))
    subdivision: Mapped[str | None] = mapped_column(String(16))
    policy: Mapped[str] = mapped_column(String(200), default="cn")
    network: Mapped[str] = mapped_column(String(500), default="sample")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    holidays: Mapped[list[RegionHoliday]] = relationship(
        back_populates="region", cascade="all, delete-orphan"
    )


class RegionHoliday(Base):
    """A public holiday or rest day of a region beyond its country's calendar."""

    __tablename__ = "region_holidays"

    region_id: Mapped[str] = mapped_column(
        ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")

    region: Mapped[Region] = relationship(back_populates="holidays")


class Crew(Base):
    """Agents who travel and visit together as one route (listed in `Agent.crew_position`
    order; the first is the lead, whose mode, start, end and breaks the crew uses)."""

    __tablename__ = "crews"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"), index=True)


class Agent(Base):
    """A field agent's standing day: start and end, shift, breaks, skills and limits.

    Times of day are seconds since local midnight. `breaks` is a list of
    `[window_start, window_end, duration]`; `skills` a list of names.
    """

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[str] = mapped_column(String(8))
    start_lat: Mapped[float] = mapped_column(Float)
    start_lon: Mapped[float] = mapped_column(Float)
    start_label: Mapped[str] = mapped_column(String(200), default="")
    end_lat: Mapped[float | None] = mapped_column(Float)
    end_lon: Mapped[float | None] = mapped_column(Float)
    shift_start: Mapped[int] = mapped_column(Integer)
    shift_end: Mapped[int] = mapped_column(Integer)
    breaks: Mapped[list[Any]] = mapped_column(default=list)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    max_visits: Mapped[int | None] = mapped_column(Integer)
    max_working_s: Mapped[int | None] = mapped_column(Integer)
    crew_id: Mapped[str | None] = mapped_column(ForeignKey("crews.id"), index=True)
    crew_position: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Borrower(Base):
    """What planning needs to know about a borrower, nothing about the debt.

    `hours_start`/`hours_end` are the times the borrower asked to be visited in (a borrower
    policy layer, every day); `max_visits_per_day` the borrower's own daily limit; `flags`
    case flags such as "vulnerable" or "do_not_visit" that policies may block on.
    """

    __tablename__ = "borrowers"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    hours_start: Mapped[int | None] = mapped_column(Integer)
    hours_end: Mapped[int | None] = mapped_column(Integer)
    max_visits_per_day: Mapped[int | None] = mapped_column(Integer)
    flags: Mapped[list[Any]] = mapped_column(default=list)


class Visit(Base):
    """A visit to plan on one day in one region: an agreed appointment or a flexible visit.

    `windows` is a list of `[start, end]` for the start of service (seconds since local
    midnight); `agreed_at` is when the appointment was agreed with the borrower (minimum
    notice is checked against it). `status` is "open" or "cancelled".
    """

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_region_day", "region_id", "day"),)

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"))
    day: Mapped[date] = mapped_column(Date)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.id"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(500), default="")
    duration_s: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    windows: Mapped[list[Any]] = mapped_column(default=list)
    priority: Mapped[int] = mapped_column(Integer, default=10)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    crew_size: Mapped[int] = mapped_column(Integer, default=1)
    allowed_agents: Mapped[list[Any]] = mapped_column(default=list)
    preferred_agents: Mapped[list[Any]] = mapped_column(default=list)
    agreed_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="open")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContactEvent(Base):
    """One contact with a borrower: a visit outcome or an imported call or message.

    `channel` is visit, call or message; `outcome` e.g. met, not_home, refused,
    wrong_address, promise_to_pay, agreement_signed. `source` says where it came from
    ("import", "agent").
    """

    __tablename__ = "contact_events"
    __table_args__ = (Index("ix_contact_events_borrower_at", "borrower_id", "at"),)

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.id"))
    at: Mapped[datetime] = mapped_column()
    channel: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    visit_id: Mapped[str | None] = mapped_column(String(ID))
    agent_id: Mapped[str | None] = mapped_column(String(ID))
    source: Mapped[str] = mapped_column(String(16), default="import")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Recorded by an agent in the web app: a promise to pay (amount in the lender's currency,
    # and the day promised), and where the agent checked in, with the distance to the address.
    promise_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    promise_date: Mapped[date | None] = mapped_column(Date)
    checkin_lat: Mapped[float | None] = mapped_column(Float)
    checkin_lon: Mapped[float | None] = mapped_column(Float)
    checkin_distance_m: Mapped[int | None] = mapped_column(Integer)


class PolicyVersion(Base):
    """One version of one policy layer (a preset or a lender's file), kept forever so a
    stop can say which rules allowed it. The same name and version must keep one content."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(100))
    content_sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Plan(Base):
    """The plan of one region-day; at most one per (region, day, status).

    `policy` is the stacked policy that allowed the plan's visits ("cn@2026.1+acme@3");
    `document` is the plan JSON (README, "Plan JSON") as written by the exporter.
    """

    __tablename__ = "plans"
    # sqlite_autoincrement: a replaced plan never gets its predecessor's id back on SQLite
    # (PostgreSQL never reuses one), so an id in the audit log names one plan only.
    __table_args__ = (
        UniqueConstraint("region_id", "day", "status"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="current")
    policy: Mapped[str] = mapped_column(String(300), default="")
    objective: Mapped[int] = mapped_column(BigInteger, default=0)
    solve_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    document: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # passive_deletes: deleting a plan leaves its rows to ON DELETE CASCADE instead of loading
    # every stop first (a plan has up to ~1,500).
    routes: Mapped[list[PlanRoute]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="PlanRoute.id",
    )
    stops: Mapped[list[PlanStop]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="PlanStop.id",
    )
    unassigned: Mapped[list[PlanUnassigned]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", passive_deletes=True
    )


class PlanRoute(Base):
    """One team's route in a plan; times in seconds since local midnight."""

    __tablename__ = "plan_routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[str] = mapped_column(String(ID))
    agent_ids: Mapped[list[Any]] = mapped_column()
    mode: Mapped[str] = mapped_column(String(8))
    departure: Mapped[int] = mapped_column(Integer)
    arrival: Mapped[int] = mapped_column(Integer)
    travel_time_s: Mapped[int] = mapped_column(Integer)
    travel_distance_m: Mapped[int] = mapped_column(Integer)
    breaks: Mapped[list[Any]] = mapped_column(default=list)

    plan: Mapped[Plan] = relationship(back_populates="routes")


class PlanStop(Base):
    """One planned visit: where it falls in its route and which policy allowed it."""

    __tablename__ = "plan_stops"
    __table_args__ = (Index("ix_plan_stops_borrower", "borrower_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[str] = mapped_column(String(ID))
    sequence: Mapped[int] = mapped_column(Integer)
    visit_id: Mapped[str] = mapped_column(String(ID))
    borrower_id: Mapped[str] = mapped_column(String(ID))
    arrival: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    travel_time_s: Mapped[int] = mapped_column(Integer)
    travel_distance_m: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(300), default="")

    plan: Mapped[Plan] = relationship(back_populates="stops")


class PlanUnassigned(Base):
    """A visit the plan leaves out, with its reason code and sentence."""

    __tablename__ = "plan_unassigned"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True
    )
    visit_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    reason_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)

    plan: Mapped[Plan] = relationship(back_populates="unassigned")


class AuditEntry(Base):
    """Who did what to which record, when: every import, plan save and change of borrower
    data. `detail` holds counts and ids, never borrower data itself."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(Base):
    """A person (or machine) who signs in to the web app.

    `role` is admin (everything), dispatcher (the regions in `regions` only) or agent (their
    own published route only, through `agent_id`). `password_hash` is werkzeug's scrypt hash;
    the password itself is never stored. `locale` is the UI language the user chose ("en",
    "zh"), None for the browser's.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    # No foreign key: an account outlives re-imports of the agents it belongs to.
    agent_id: Mapped[str | None] = mapped_column(String(ID))
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    regions: Mapped[list[UserRegion]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="UserRegion.region_id"
    )


class UserRegion(Base):
    """A region a dispatcher may see and plan."""

    __tablename__ = "user_regions"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    region_id: Mapped[str] = mapped_column(
        ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True
    )


class ApiToken(Base):
    """A bearer token a machine uses for the JSON API, acting as its user. Only the SHA-256
    of the token is kept (tokens are long random strings, so a plain hash suffices)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class GeocodeResult(Base):
    """A geocoded address, kept so each address is looked up once. Keyed by the SHA-256 of
    the normalised query; lat/lon are NULL when the geocoder found nothing."""

    __tablename__ = "geocode_cache"

    query_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchRun(Base):
    """One nightly batch for one day: which regions it was asked to plan, on which cluster,
    and how it ended. `report` holds the morning report's JSON once the run is over."""

    __tablename__ = "batch_runs"
    __table_args__ = (Index("ix_batch_runs_day", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="running")
    regions: Mapped[list[Any]] = mapped_column(default=list)
    scheduler: Mapped[str] = mapped_column(String(200), default="")
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)


class BatchLock(Base):
    """At most one batch per day at a time: the running batch holds its day's row and keeps
    `heartbeat_at` fresh; a row whose holder died (stale heartbeat, or its process gone on the
    same host) may be taken over by a resuming run."""

    __tablename__ = "batch_locks"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("batch_runs.id"))
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchRegionResult(Base):
    """How one region fared in a batch run: planned (with its plan), failed (with the cause)
    or skipped; `parts` > 1 when the region was split into sub-regions and stitched."""

    __tablename__ = "batch_region_results"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("batch_runs.id", ondelete="CASCADE"), primary_key=True
    )
    region_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    plan_id: Mapped[int | None] = mapped_column(Integer)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    routed: Mapped[int] = mapped_column(Integer, default=0)
    appointments: Mapped[int] = mapped_column(Integer, default=0)
    appointments_kept: Mapped[int] = mapped_column(Integer, default=0)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    solve_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    wall_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanningJob(Base):
    """A request to plan one region-day in the background (the web app's Plan button).

    A separate process runs it (`doorstep jobs run ID`), records each `stage` as it begins
    and keeps `heartbeat_at` fresh, so any web worker can show its progress and tell a job
    whose process died from a slow one. `status` is queued, running, done, failed or
    cancelled; `result` holds the new plan's figures and how it differs from the plan it
    replaced (ids and counts, as the audit log would).
    """

    __tablename__ = "planning_jobs"
    __table_args__ = (Index("ix_planning_jobs_region_id_day", "region_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    kind: Mapped[str] = mapped_column(String(16), default="plan", server_default="plan")
    """plan (the whole day afresh) or replan (from where the agents are now)."""
    as_of: Mapped[datetime | None] = mapped_column()
    """For a replan: the moment it starts from (the requester's clock)."""
    stage: Mapped[str] = mapped_column(String(32), default="")
    stage_started_at: Mapped[datetime | None] = mapped_column()
    time_limit: Mapped[float] = mapped_column(Float)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested_by: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str] = mapped_column(Text, default="")
    # No foreign key: a later plan of the day replaces (deletes) this one.
    plan_id: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PlanningJobLock(Base):
    """At most one active planning job per region-day: the queued or running job holds its
    region-day's row until it ends, so two dispatchers pressing Plan get one job."""

    __tablename__ = "planning_job_locks"

    region_id: Mapped[str] = mapped_column(
        ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("planning_jobs.id", ondelete="CASCADE"))


class DayEvent(Base):
    """Something that changed a region-day after it was planned, kept so that every re-plan
    of the day starts from all of them: an agent unavailable from a time (`at`, seconds
    since local midnight), a visit cancelled, an urgent visit added, a visit that takes
    longer (`minutes` more), an agent running late (`minutes` behind)."""

    __tablename__ = "day_events"
    __table_args__ = (Index("ix_day_events_region_id_day", "region_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(ID))
    visit_id: Mapped[str | None] = mapped_column(String(ID))
    at: Mapped[int | None] = mapped_column(Integer)
    minutes: Mapped[int | None] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
