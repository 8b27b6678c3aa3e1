"""`doorstep import`: visits.csv, agents.csv and history.csv into the database, all or nothing.

Every file is read and validated completely first (and addresses without coordinates are
geocoded); only when no file has a problem is anything written, in one transaction. Rows are
matched by their ids, so importing the same file again changes nothing; a row whose id
exists with other values updates it. An id that belongs to another region is refused rather
than moved: ids collide across regions more often than agents change branch.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from doorstep.csvio import AgentsFile, Geocode, VisitsFile, read_agents, read_visits
from doorstep.db import models as m
from doorstep.db import records
from doorstep.db.days import get_region
from doorstep.db.engine import session_scope
from doorstep.db.store import audit
from doorstep.errors import InputError, InputProblem
from doorstep.history import HistoryRecord, read_history

KINDS = ("agents", "visits", "history")
"""File kinds, in the order they are imported (visits may name agents of the same import)."""
_ID_COLUMN = {"event_id": "history", "visit_id": "visits", "agent_id": "agents"}
"""The id column that tells a file's kind, most specific first."""


@dataclass
class FileReport:
    """What one file did to the database."""

    path: Path
    kind: str
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    details: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        text = (
            f"{self.path.name} ({self.kind}): {self.added} added, {self.changed} changed, "
            f"{self.unchanged} unchanged"
        )
        if self.details.get("cancelled"):
            text += f", {self.details['cancelled']} not listed and cancelled"
        return text


def file_kind(path: Path) -> str:
    """ "agents", "visits" or "history", from the file's header; InputError when unclear."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except OSError as exc:
        raise InputError([InputProblem(path.name, None, None, f"cannot read it: {exc}")]) from None
    except UnicodeDecodeError:
        return _kind_from_name(path)
    columns = {c.strip() for c in header}
    for column, kind in _ID_COLUMN.items():  # history names visits and agents, visits agents
        if column in columns:
            return kind
    return _kind_from_name(path)


def _kind_from_name(path: Path) -> str:
    for kind in KINDS:
        if kind in path.stem.lower():
            return kind
    message = (
        "cannot tell what this file holds: its header needs agent_id (agents.csv), visit_id "
        "(visits.csv) or event_id (history.csv)"
    )
    raise InputError([InputProblem(path.name, 1, None, message)])


@dataclass(frozen=True)
class _Read:
    agents: list[tuple[Path, AgentsFile]]
    visits: list[tuple[Path, VisitsFile]]
    history: list[tuple[Path, tuple[HistoryRecord, ...]]]


def import_files(
    engine: Engine,
    paths: Sequence[Path],
    *,
    region_id: str | None,
    day: date | None,
    actor: str,
    geocode: Geocode | None = None,
    replace_day: bool = False,
) -> list[FileReport]:
    """Validate every file, then import them all in one transaction (or none of them).

    Agents and visits need `region_id`; visits need `day`. With `replace_day` the visits files
    are the whole region-day: its visits they do not list are cancelled (kept, not deleted),
    and the listed ones are open again. Raises `InputError` listing every problem of every
    file, and `doorstep.db.days.UnknownRegionError` for an unknown region.
    """
    kinds = [(Path(p), file_kind(Path(p))) for p in paths]
    problems = _option_problems(kinds, region_id, day)
    if problems:
        raise InputError(problems)
    known_agents, known_crews = _known_team(engine, region_id)
    read = _read_all(kinds, known_agents, known_crews, geocode)
    with session_scope(engine) as session:
        reports: list[FileReport] = []
        if region_id is not None:
            get_region(session, region_id)
        for path, agents in read.agents:
            assert region_id is not None
            reports.append(_import_agents(session, path, agents, region_id))
        for path, visits in read.visits:
            assert region_id is not None and day is not None
            reports.append(_import_visits(session, path, visits, region_id, day))
        if replace_day and read.visits:
            assert region_id is not None and day is not None
            listed = {v.id for _, f in read.visits for v in f.visits}
            reports[-1].details["cancelled"] = _replace_day(session, region_id, day, listed)
        for path, history in read.history:
            reports.append(_import_history(session, path, history))
        for report in reports:
            audit(
                session,
                actor=actor,
                action="import",
                entity=report.kind,
                entity_id=region_id or "",
                detail={
                    "file": report.path.name,
                    "added": report.added,
                    "changed": report.changed,
                    "unchanged": report.unchanged,
                    **({"day": day.isoformat()} if day and report.kind == "visits" else {}),
                },
            )
    return reports


def _option_problems(
    kinds: list[tuple[Path, str]], region_id: str | None, day: date | None
) -> list[InputProblem]:
    problems = []
    for path, kind in kinds:
        if kind in ("agents", "visits") and not region_id:
            problems.append(InputProblem(path.name, None, None, f"{kind} need --region"))
        if kind == "visits" and day is None:
            problems.append(InputProblem(path.name, None, None, "visits need --day"))
    return problems


def _known_team(engine: Engine, region_id: str | None) -> tuple[list[str], list[Any]]:
    if region_id is None:
        return [], []
    with session_scope(engine) as session:
        get_region(session, region_id)  # an unknown region is the first thing to fix
        rows = session.scalars(select(m.Agent).where(m.Agent.region_id == region_id)).all()
        return [row.id for row in rows], list(records.crews_from_rows(rows))


def _read_all(
    kinds: list[tuple[Path, str]],
    known_agents: list[str],
    known_crews: list[Any],
    geocode: Geocode | None,
) -> _Read:
    """Every file read and checked; one InputError with all the problems of all of them."""
    problems: list[InputProblem] = []
    read = _Read([], [], [])
    for path, kind in kinds:
        if kind != "agents":
            continue
        try:
            read.agents.append((path, read_agents(path)))
        except InputError as exc:
            problems += exc.problems
    agent_ids = set(known_agents)
    crews = {c.id: c for c in known_crews}
    for _, agents_file in read.agents:
        agent_ids.update(a.id for a in agents_file.agents)
        crews.update({c.id: c for c in agents_file.crews})
    for path, kind in kinds:
        try:
            if kind == "visits":
                visits = read_visits(
                    path, geocode=geocode, agent_ids=agent_ids, crews=crews.values()
                )
                read.visits.append((path, visits))
            elif kind == "history":
                read.history.append((path, read_history(path)))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    return read


def _import_agents(session: Session, path: Path, file: AgentsFile, region_id: str) -> FileReport:
    report = FileReport(path, "agents")
    crew_of = {a: (c.id, k) for c in file.crews for k, a in enumerate(c.agent_ids)}
    problems = []
    for crew in file.crews:
        existing = session.get(m.Crew, crew.id)
        if existing is not None and existing.region_id != region_id:
            line = file.rows.get(crew.agent_ids[0])
            problems.append(_elsewhere(path, line, "crew_id", crew.id, existing.region_id))
        elif existing is None:
            session.add(m.Crew(id=crew.id, region_id=region_id))
    session.flush()
    for agent in file.agents:
        row = records.agent_row(
            agent,
            region_id,
            name=file.names.get(agent.id, ""),
            start_label=file.start_labels.get(agent.id, ""),
        )
        row.crew_id, row.crew_position = crew_of.get(agent.id, (None, None))
        problem = _upsert(session, row, report, path, file.rows.get(agent.id), "agent_id")
        if problem:
            problems.append(problem)
    if problems:
        raise InputError(problems)
    return report


def _import_visits(
    session: Session, path: Path, file: VisitsFile, region_id: str, day: date
) -> FileReport:
    report = FileReport(path, "visits")
    borrowers = FileReport(path, "borrowers")
    for rule in file.borrowers:
        flags = file.borrower_flags.get(rule.borrower_id, frozenset())
        _upsert(session, records.borrower_row(rule, flags), borrowers, path, None, "borrower_id")
    session.flush()
    problems = []
    for visit in file.visits:
        row = records.visit_row(
            visit,
            region_id,
            day,
            address=file.addresses.get(visit.id, ""),
            agreed_at=file.agreed_at.get(visit.id),
        )
        problem = _upsert(session, row, report, path, file.rows.get(visit.id), "visit_id")
        if problem:
            problems.append(problem)
    if problems:
        raise InputError(problems)
    report.details = {
        "borrowers_added": borrowers.added,
        "borrowers_changed": borrowers.changed,
    }
    return report


def _replace_day(session: Session, region_id: str, day: date, listed: set[str]) -> int:
    """Open the listed visits of the region-day and cancel the others; how many were cancelled."""
    cancelled = 0
    rows = session.scalars(
        select(m.Visit).where(m.Visit.region_id == region_id, m.Visit.day == day)
    ).all()
    for row in rows:
        wanted = "open" if row.id in listed else "cancelled"
        if row.status != wanted:
            cancelled += wanted == "cancelled"
            row.status = wanted
    return cancelled


def _import_history(session: Session, path: Path, history: tuple[HistoryRecord, ...]) -> FileReport:
    report = FileReport(path, "history")
    for borrower_id in sorted({r.borrower_id for r in history}):
        if session.get(m.Borrower, borrower_id) is None:
            session.add(m.Borrower(id=borrower_id, flags=[]))
    session.flush()
    for record in history:
        row = m.ContactEvent(
            id=record.event_id,
            borrower_id=record.borrower_id,
            at=record.at,
            channel=record.channel,
            outcome=record.outcome,
            visit_id=record.visit_id or None,
            agent_id=record.agent_id or None,
            source="import",
            note=record.note,
        )
        _upsert(session, row, report, path, record.row, "event_id")
    return report


_IGNORED = frozenset({"updated_at", "recorded_at", "created_at", "status", "active", "source"})
"""Columns an import does not compare or overwrite (bookkeeping, or changed by other
actions: a cancelled visit stays cancelled when its file is imported again)."""


def _upsert(
    session: Session, row: Any, report: FileReport, path: Path, line: int | None, field: str
) -> InputProblem | None:
    """Insert `row`, or update the stored row with its id; count which it was."""
    model = type(row)
    existing = session.get(model, row.id)
    if existing is None:
        session.add(row)
        report.added += 1
        return None
    stored_region = getattr(existing, "region_id", None)
    if stored_region is not None and stored_region != row.region_id:
        return _elsewhere(path, line, field, row.id, stored_region)
    changed = False
    for column in inspect(model).columns:
        name = column.key
        if name in _IGNORED:
            continue
        new = getattr(row, name)
        if getattr(existing, name) != new:
            setattr(existing, name, new)
            changed = True
    if changed:
        report.changed += 1
    else:
        report.unchanged += 1
    return None


def _elsewhere(path: Path, line: int | None, field: str, id_: str, region: str) -> InputProblem:
    return InputProblem(
        path.name,
        line,
        field,
        f"{id_} already belongs to region {region}; ids must be unique across regions "
        "(give it another id, or import it into that region)",
    )
