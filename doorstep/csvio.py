"""Read and write the day's input files, visits.csv and agents.csv (docs/input-files.md).

`read_visits` and `read_agents` validate one file completely; `read_day` validates both and
checks that visits.csv names only agents and crews of agents.csv. Each raises one `InputError`
that lists every problem, each with the file, the row (the header is row 1) and the field.
`write_visits_csv` and `write_agents_csv` write the canonical form of the same files, which
the readers read back to equal objects. Nothing here logs file contents: they hold borrower data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from doorstep.csvtable import (
    INTEGER,
    Cells,
    FileSpec,
    Table,
    closest,
    in_row_order,
    items,
    read_table,
    write_rows,
)
from doorstep.errors import InputError, InputProblem
from doorstep.timeparse import (
    format_clock,
    format_instant,
    format_window,
    parse_clock,
    parse_window,
)
from optimizer.model import (
    Agent,
    BorrowerRule,
    Break,
    Crew,
    Location,
    TimeWindow,
    TravelMode,
    Visit,
    VisitKind,
)

__all__ = [
    "AGENT_COLUMNS",
    "VISIT_COLUMNS",
    "AgentsFile",
    "DayInput",
    "Geocode",
    "VisitsFile",
    "check_in_area",
    "format_clock",
    "parse_clock",
    "read_agents",
    "read_day",
    "read_visits",
    "write_agents_csv",
    "write_visits_csv",
]

Geocode = Callable[[str], Location | None]
"""Looks an address up: its location, or None when no place matches (`doorstep.geocode`)."""

VISIT_COLUMNS: tuple[str, ...] = (
    "visit_id",
    "borrower_id",
    "lat",
    "lon",
    "address",
    "duration_min",
    "kind",
    "windows",
    "priority",
    "skills",
    "crew_size",
    "allowed_agents",
    "preferred_agents",
    "borrower_max_visits",
    "borrower_hours",
    "agreed_at",
    "borrower_flags",
)
"""The columns of visits.csv, in the order the writer puts them."""

AGENT_COLUMNS: tuple[str, ...] = (
    "agent_id",
    "name",
    "mode",
    "start_lat",
    "start_lon",
    "start_label",
    "end_lat",
    "end_lon",
    "shift_start",
    "shift_end",
    "breaks",
    "skills",
    "max_visits",
    "max_working_min",
    "crew_id",
)
"""The columns of agents.csv, in the order the writer puts them."""

MAX_DURATION_MIN = 480
DEFAULT_PRIORITY = 10
_MAX_LISTED = 10
GEOCODER_SETTING = "DOORSTEP_GEOCODER_URL"
"""The setting that turns geocoding on; messages name it."""
_FLAG = re.compile(r"[a-z0-9_]+", re.ASCII)

_T = TypeVar("_T")


@dataclass(frozen=True)
class VisitsFile:
    """visits.csv as read.

    `borrowers` holds one rule per borrower, in order of first appearance; `addresses` maps
    every visit id to its text ("" when none); `agreed_at` maps the visits whose appointment
    time was agreed at a known moment to that (aware) moment; `borrower_flags` maps borrowers
    with flags to them. `rows` gives each visit's row (header = row 1) for later messages and
    takes no part in equality.
    """

    visits: tuple[Visit, ...]
    borrowers: tuple[BorrowerRule, ...]
    addresses: Mapping[str, str]
    agreed_at: Mapping[str, datetime] = field(default_factory=dict)
    borrower_flags: Mapping[str, frozenset[str]] = field(default_factory=dict)
    rows: Mapping[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class AgentsFile:
    """agents.csv as read: `names` and `start_labels` map every agent id to its text ("" when
    none); `rows` gives each agent's row (header = row 1) and takes no part in equality."""

    agents: tuple[Agent, ...]
    crews: tuple[Crew, ...]
    names: Mapping[str, str]
    start_labels: Mapping[str, str]
    rows: Mapping[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class DayInput:
    """One region-day as read from visits.csv and agents.csv.

    `borrowers` holds one rule per borrower of visits.csv, in order of first appearance.
    `addresses`, `agent_names` and `start_labels` map every id to its text ("" when the file
    has none). `agreed_at` (visit id -> aware datetime) and `borrower_flags` (borrower id ->
    flags) hold only the visits and borrowers that have one. `visit_rows` and `agent_rows`
    give each id's row in its file (header = row 1) for later messages; they take no part in
    equality.
    """

    visits: tuple[Visit, ...]
    agents: tuple[Agent, ...]
    crews: tuple[Crew, ...]
    borrowers: tuple[BorrowerRule, ...]
    addresses: Mapping[str, str]
    agent_names: Mapping[str, str]
    start_labels: Mapping[str, str]
    visit_rows: Mapping[str, int] = field(default_factory=dict, compare=False)
    agent_rows: Mapping[str, int] = field(default_factory=dict, compare=False)
    agreed_at: Mapping[str, datetime] = field(default_factory=dict)
    borrower_flags: Mapping[str, frozenset[str]] = field(default_factory=dict)


# --- reading ---------------------------------------------------------------------------


def read_day(
    visits_path: Path,
    agents_path: Path,
    *,
    default_max_visits_per_borrower: int = 1,
    geocode: Geocode | None = None,
) -> DayInput:
    """Read and validate visits.csv and agents.csv.

    Parameters
    ----------
    visits_path, agents_path
        The two files (docs/input-files.md). Problems name each file by its file name.
    default_max_visits_per_borrower
        A borrower's cap for the day where `borrower_max_visits` is empty.
    geocode
        Locates visits whose lat and lon are empty (see `read_visits`).

    Raises
    ------
    InputError
        With every problem of both files (visits.csv first, each file in row order).
    """
    _check_default(default_max_visits_per_borrower)
    agent_problems: list[InputProblem] = []
    agents = _load_agents(Path(agents_path), agent_problems)
    visit_problems: list[InputProblem] = []
    visits = _load_visits(
        Path(visits_path),
        agents.refs if agents else None,
        default_max_visits_per_borrower,
        geocode,
        visit_problems,
    )
    _raise_if(in_row_order(visit_problems) + in_row_order(agent_problems))
    assert visits is not None and agents is not None  # every failure above leaves a problem
    return DayInput(
        visits=tuple(visits.visits),
        agents=tuple(agents.agents),
        crews=tuple(agents.crews),
        borrowers=tuple(visits.borrowers),
        addresses=MappingProxyType(visits.addresses),
        agent_names=MappingProxyType(agents.names),
        start_labels=MappingProxyType(agents.start_labels),
        visit_rows=MappingProxyType(visits.rows),
        agent_rows=MappingProxyType(agents.rows),
        agreed_at=MappingProxyType(visits.agreed_at),
        borrower_flags=MappingProxyType(visits.flags),
    )


def read_visits(
    path: Path,
    *,
    geocode: Geocode | None = None,
    agent_ids: Iterable[str] | None = None,
    crews: Iterable[Crew] | None = None,
    default_max_visits_per_borrower: int = 1,
) -> VisitsFile:
    """Read and validate visits.csv on its own, e.g. to import visits before the agents.

    Parameters
    ----------
    path
        The file (docs/input-files.md). Problems name it by its file name.
    geocode
        Called with the address of every row whose lat and lon are both empty, to locate it
        (a row it finds no place for is a problem). Without it such rows are problems.
        Whatever it raises (e.g. `doorstep.geocode.GeocoderError`) propagates.
    agent_ids, crews
        The known agents and crews. When either is given, allowed_agents and
        preferred_agents may name only them (a crew stands for its members) and crew_size
        may not exceed the largest crew; when neither is, those are not checked.
    default_max_visits_per_borrower
        A borrower's cap for the day where `borrower_max_visits` is empty.

    Raises
    ------
    InputError
        With every problem of the file, in row order.
    """
    _check_default(default_max_visits_per_borrower)
    refs = None
    if agent_ids is not None or crews is not None:
        refs = _Refs.known(agent_ids or (), crews or ())
    problems: list[InputProblem] = []
    visits = _load_visits(Path(path), refs, default_max_visits_per_borrower, geocode, problems)
    _raise_if(in_row_order(problems))
    assert visits is not None  # every failure above leaves a problem
    return VisitsFile(
        visits=tuple(visits.visits),
        borrowers=tuple(visits.borrowers),
        addresses=MappingProxyType(visits.addresses),
        agreed_at=MappingProxyType(visits.agreed_at),
        borrower_flags=MappingProxyType(visits.flags),
        rows=MappingProxyType(visits.rows),
    )


def read_agents(path: Path) -> AgentsFile:
    """Read and validate agents.csv on its own.

    Raises
    ------
    InputError
        With every problem of the file, in row order.
    """
    problems: list[InputProblem] = []
    agents = _load_agents(Path(path), problems)
    _raise_if(in_row_order(problems))
    assert agents is not None  # every failure above leaves a problem
    return AgentsFile(
        agents=tuple(agents.agents),
        crews=tuple(agents.crews),
        names=MappingProxyType(agents.names),
        start_labels=MappingProxyType(agents.start_labels),
        rows=MappingProxyType(agents.rows),
    )


def _check_default(default_max_visits_per_borrower: int) -> None:
    if default_max_visits_per_borrower < 0:
        msg = f"default_max_visits_per_borrower {default_max_visits_per_borrower} must be >= 0"
        raise ValueError(msg)


def _raise_if(problems: list[InputProblem]) -> None:
    if problems:
        raise InputError(problems)


def _load_visits(
    path: Path,
    refs: _Refs | None,
    default_max_visits: int,
    geocode: Geocode | None,
    problems: list[InputProblem],
) -> _Visits | None:
    table = read_table(path, _VISITS, problems)
    if table is None:
        return None
    return _parse_visits(table, refs, default_max_visits, geocode, problems)


def _load_agents(path: Path, problems: list[InputProblem]) -> _Agents | None:
    table = read_table(path, _AGENTS, problems)
    return _parse_agents(table, problems) if table else None


def check_in_area(
    day: DayInput,
    contains: Callable[[float, float], bool],
    *,
    visits_file: str,
    agents_file: str,
) -> list[InputProblem]:
    """Problems for every visit and agent start or end that lies outside the road network.

    `contains(lat, lon)` says whether a point is inside the network's area. The caller turns
    the problems into an `InputError` (together with others of its own, if any).
    """
    problems: list[InputProblem] = []
    for k, visit in enumerate(day.visits):
        if not contains(visit.location.lat, visit.location.lon):
            row = day.visit_rows.get(visit.id, k + 2)
            message = _outside_message(visit.location, contains)
            problems.append(InputProblem(visits_file, row, "lat", message))
    for k, agent in enumerate(day.agents):
        row = day.agent_rows.get(agent.id, k + 2)
        if not contains(agent.start.lat, agent.start.lon):
            message = _outside_message(agent.start, contains)
            problems.append(InputProblem(agents_file, row, "start_lat", message))
        if agent.end != agent.start and not contains(agent.end.lat, agent.end.lon):
            message = _outside_message(agent.end, contains)
            problems.append(InputProblem(agents_file, row, "end_lat", message))
    return problems


def _outside_message(point: Location, contains: Callable[[float, float], bool]) -> str:
    text = f"lat/lon {point.lat}, {point.lon} is outside the road network's area"
    if -90.0 <= point.lon <= 90.0 and contains(point.lon, point.lat):
        return f"{text}; lat and lon look swapped: exchange them"
    return f"{text}; check the coordinates (lat and lon swapped?)"


_VISITS = FileSpec(
    "visit",
    "visit_id",
    VISIT_COLUMNS,
    frozenset({"visit_id", "borrower_id", "lat", "lon", "duration_min", "kind"}),
    "agent",
    "agent_id",
)
_AGENTS = FileSpec(
    "agent",
    "agent_id",
    AGENT_COLUMNS,
    frozenset({"agent_id", "mode", "start_lat", "start_lon", "shift_start", "shift_end"}),
    "visit",
    "visit_id",
)

# --- visits.csv --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Refs:
    """What visits.csv may name: agent ids, and crews with their members.

    `source` says where they come from in messages ("agents.csv").
    """

    source: str
    agent_ids: frozenset[str]
    crews: Mapping[str, tuple[str, ...]]

    @classmethod
    def known(cls, agent_ids: Iterable[str], crews: Iterable[Crew]) -> _Refs:
        """The agents and crews a caller knows of (a crew's members are agents too)."""
        members = {crew.id: tuple(crew.agent_ids) for crew in crews}
        ids = frozenset(agent_ids).union(*members.values())
        return cls("the known agents and crews", ids, members)

    @property
    def largest_team(self) -> int:
        return max((len(members) for members in self.crews.values()), default=1)


@dataclass
class _Visits:
    visits: list[Visit] = field(default_factory=list)
    borrowers: list[BorrowerRule] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)
    agreed_at: dict[str, datetime] = field(default_factory=dict)
    flags: dict[str, frozenset[str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def _parse_visits(
    table: Table,
    refs: _Refs | None,
    default_max_visits: int,
    geocode: Geocode | None,
    problems: list[InputProblem],
) -> _Visits:
    out = _Visits()
    first_row: dict[str, int] = {}
    borrower_order: dict[str, None] = {}  # an ordered set
    max_visits: dict[str, tuple[int, int | None, str]] = {}
    hours: dict[str, tuple[int, TimeWindow | None, str]] = {}
    flags: dict[str, tuple[int, frozenset[str], str]] = {}
    for row in table.rows:
        c = Cells(table.file, row, problems)
        visit_id = c.required("visit_id", "give every visit a unique id")
        if visit_id is not None:
            if visit_id in first_row:
                message = (
                    f"visit_id {visit_id!r} is already used in row {first_row[visit_id]}; "
                    "give every visit its own id"
                )
                c.problem("visit_id", message)
            else:
                first_row[visit_id] = row.number
        borrower_id = c.required("borrower_id", "name the borrower visited")
        location = _location(c, geocode)
        duration = c.integer(
            "duration_min",
            1,
            MAX_DURATION_MIN,
            f"give the minutes on site, a whole number from 1 to {MAX_DURATION_MIN}",
            required=True,
        )
        kind = c.choice("kind", VisitKind)
        windows = c.windows("windows")
        if kind is VisitKind.APPOINTMENT and not windows and "windows" not in c.bad_columns:
            message = (
                "an appointment needs the agreed window(s), e.g. 09:00-11:00; "
                "add them or make the visit flexible"
            )
            c.problem("windows", message)
        priority = c.integer(
            "priority",
            1,
            100,
            f"use 1..100 (higher matters more), or leave it empty for {DEFAULT_PRIORITY}",
            default=DEFAULT_PRIORITY,
        )
        crew_size = c.integer(
            "crew_size", 1, None, "use 1, or 2 or more for a visit by a crew", default=1
        )
        if crew_size is not None and refs is not None and crew_size > refs.largest_team:
            c.problem("crew_size", _crew_size_message(crew_size, refs))
        allowed = _agent_refs(c, "allowed_agents", refs)
        preferred = _agent_refs(c, "preferred_agents", refs)
        cap = c.integer(
            "borrower_max_visits",
            0,
            None,
            f"use a whole number, 0 or more, or leave it empty for {default_max_visits}",
        )
        allowed_hours = c.window("borrower_hours")
        agreed_at = c.instant("agreed_at", required=False)
        borrower_flags = _flags(c)
        if borrower_id is not None:
            if borrower_id not in borrower_order:
                borrower_order[borrower_id] = None
            if "borrower_max_visits" not in c.bad_columns:
                shown = str(cap) if cap is not None else f"empty (the default {default_max_visits})"
                _check_agrees(c, "borrower_max_visits", borrower_id, cap, shown, max_visits)
            if "borrower_hours" not in c.bad_columns:
                shown = format_window(allowed_hours) if allowed_hours else "empty (any hour)"
                _check_agrees(c, "borrower_hours", borrower_id, allowed_hours, shown, hours)
            if "borrower_flags" not in c.bad_columns:
                shown = ";".join(sorted(borrower_flags)) or "empty (no flags)"
                _check_agrees(c, "borrower_flags", borrower_id, borrower_flags, shown, flags)
        if not c.ok:
            continue
        assert visit_id and borrower_id and location is not None
        assert duration is not None and kind is not None
        assert priority is not None and crew_size is not None
        try:
            visit = Visit(
                id=visit_id,
                borrower_id=borrower_id,
                location=location,
                duration=duration * 60,
                windows=windows,
                kind=kind,
                priority=priority,
                required_skills=frozenset(items(c.text("skills"))),
                crew_size=crew_size,
                allowed_agents=allowed,
                preferred_agents=preferred,
            )
        except ValueError as exc:
            c.problem(None, str(exc))
            continue
        out.visits.append(visit)
        out.addresses[visit_id] = c.text("address")
        if agreed_at is not None:
            out.agreed_at[visit_id] = agreed_at
        out.rows[visit_id] = row.number
    for borrower_id in borrower_order:
        if any(borrower_id not in first for first in (max_visits, hours, flags)):
            continue  # only after a bad cell, so the day is not built anyway
        if borrower_flags := flags[borrower_id][1]:
            out.flags[borrower_id] = borrower_flags
        cap = max_visits[borrower_id][1]
        out.borrowers.append(
            BorrowerRule(
                borrower_id,
                max_visits=default_max_visits if cap is None else cap,
                allowed_hours=hours[borrower_id][1],
            )
        )
    return out


def _location(c: Cells, geocode: Geocode | None) -> Location | None:
    """The row's lat and lon, or, when both are empty, where `geocode` finds the address."""
    address = c.text("address")
    if not c.text("lat") and not c.text("lon") and address:
        if geocode is None:
            or_else = f" (or configure a geocoder: {GEOCODER_SETTING})"
            c.degrees("lat", 90.0, or_else=or_else)
            c.degrees("lon", 180.0, or_else=or_else)
            return None
        found = geocode(address)
        if found is None:
            c.problem("address", "the geocoder found no place for this address; add lat and lon")
        return found
    lat = c.degrees("lat", 90.0)
    lon = c.degrees("lon", 180.0)
    return None if lat is None or lon is None else Location(lat, lon)


def _flags(c: Cells) -> frozenset[str]:
    """The `borrower_flags` cell: lower-case names such as `vulnerable;do_not_visit`."""
    flags: set[str] = set()
    for item in items(c.text("borrower_flags")):
        if _FLAG.fullmatch(item):
            flags.add(item)
            continue
        fixed = re.sub(r"[^a-z0-9_]+", "_", item.casefold()).strip("_")
        hint = f"; did you mean {fixed!r}?" if _FLAG.fullmatch(fixed) else ""
        message = (
            f"flag {item!r} is not a lower-case name; write letters a-z, digits and _, "
            f"e.g. do_not_visit{hint}"
        )
        c.problem("borrower_flags", message)
    return frozenset(flags)


def _check_agrees(
    c: Cells,
    column: str,
    borrower_id: str,
    value: _T,
    shown: str,
    first: dict[str, tuple[int, _T, str]],
) -> None:
    """Record the borrower's first value of `column`; a later row must give the same."""
    if borrower_id not in first:
        first[borrower_id] = (c.number, value, shown)
        return
    row, first_value, first_shown = first[borrower_id]
    if value != first_value:
        message = (
            f"borrower {borrower_id} has {column} {shown} here but {first_shown} in row {row}; "
            "give every row of a borrower the same value"
        )
        c.problem(column, message)


def _crew_size_message(crew_size: int, refs: _Refs) -> str:
    if refs.largest_team < 2:
        return (
            f"crew_size {crew_size} needs a crew, but there is no crew of two or more agents "
            f"in {refs.source}; give the agents who visit together the same crew_id, or lower "
            "crew_size"
        )
    return (
        f"crew_size {crew_size} is larger than any crew in {refs.source} (the largest has "
        f"{refs.largest_team} agents); lower crew_size or add agents to a crew"
    )


def _agent_refs(c: Cells, column: str, refs: _Refs | None) -> frozenset[str]:
    """The agent ids a list of agent and crew ids names, crews expanded to their members."""
    names = items(c.text(column))
    if refs is None:
        return frozenset(names)  # agents.csv could not be read; its own problems say why
    agent_ids: set[str] = set()
    for name in names:
        if name in refs.agent_ids:
            agent_ids.add(name)
        elif name in refs.crews:
            agent_ids.update(refs.crews[name])
        else:
            message = f"{name!r} is neither an agent_id nor a crew_id in {refs.source}"
            c.problem(column, f"{message}; {_known_ids_hint(name, refs)}")
    return frozenset(agent_ids)


def _known_ids_hint(name: str, refs: _Refs) -> str:
    close = closest(name, sorted(refs.agent_ids | set(refs.crews)))
    if close is not None:
        return f"did you mean {close!r}?"
    shown = sorted(refs.agent_ids)
    listed = ", ".join(shown[:_MAX_LISTED]) + (", ..." if len(shown) > _MAX_LISTED else "")
    crews = f" and crews {', '.join(sorted(refs.crews))}" if refs.crews else ""
    return f"use an id of {refs.source}: agents {listed}{crews}"


# --- agents.csv --------------------------------------------------------------------------


@dataclass
class _Agents:
    refs: _Refs | None
    agents: list[Agent] = field(default_factory=list)
    crews: list[Crew] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    start_labels: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def _parse_agents(table: Table, problems: list[InputProblem]) -> _Agents:
    first_row: dict[str, int] = {}
    members: dict[str, list[tuple[int, str]]] = {}
    shifts: dict[int, TimeWindow] = {}
    out = _Agents(refs=None)
    for row in table.rows:
        c = Cells(table.file, row, problems)
        agent_id = c.required("agent_id", "give every agent a unique id")
        if agent_id is not None:
            if agent_id in first_row:
                message = (
                    f"agent_id {agent_id!r} is already used in row {first_row[agent_id]}; "
                    "give every agent their own id"
                )
                c.problem("agent_id", message)
            else:
                first_row[agent_id] = row.number
                if crew_id := c.text("crew_id"):
                    members.setdefault(crew_id, []).append((row.number, agent_id))
        mode = c.choice("mode", TravelMode)
        start_lat = c.degrees("start_lat", 90.0)
        start_lon = c.degrees("start_lon", 180.0)
        end_lat = c.degrees("end_lat", 90.0, required=False)
        end_lon = c.degrees("end_lon", 180.0, required=False)
        for given, other in (("end_lat", "end_lon"), ("end_lon", "end_lat")):
            if c.text(given) and not c.text(other):
                c.problem(other, f"{other} is empty but {given} is given; give both or neither")
        shift = _shift(c)
        if shift is not None:
            shifts[row.number] = shift
        breaks = _breaks(c, shift)
        max_visits = c.integer(
            "max_visits", 0, None, "use a whole number, 0 or more, or leave it empty for no limit"
        )
        max_working = c.integer(
            "max_working_min",
            1,
            None,
            "use a whole number of minutes, 1 or more, or leave it empty for no limit",
        )
        if not c.ok:
            continue
        assert agent_id and mode and start_lat is not None and start_lon is not None
        assert shift is not None
        start = Location(start_lat, start_lon)
        try:
            agent = Agent(
                id=agent_id,
                start=start,
                end=Location(end_lat, end_lon)
                if end_lat is not None and end_lon is not None
                else start,
                shift=shift,
                mode=mode,
                skills=frozenset(items(c.text("skills"))),
                breaks=breaks,
                max_visits=max_visits,
                max_working_time=None if max_working is None else max_working * 60,
            )
        except ValueError as exc:
            c.problem(None, str(exc))
            continue
        out.agents.append(agent)
        out.names[agent_id] = c.text("name")
        out.start_labels[agent_id] = c.text("start_label")
        out.rows[agent_id] = row.number

    for crew_id, crew in members.items():
        _check_crew(table.file, crew_id, crew, first_row, shifts, problems)
        if len(crew) >= 2:
            try:
                out.crews.append(Crew(crew_id, tuple(agent_id for _, agent_id in crew)))
            except ValueError as exc:
                problems.append(InputProblem(table.file, crew[0][0], "crew_id", str(exc)))
    if table.has_id_column:
        crews = {crew_id: tuple(a for _, a in crew) for crew_id, crew in members.items()}
        out.refs = _Refs(table.file, table.ids, crews)
    return out


def _shift(c: Cells) -> TimeWindow | None:
    start, end = c.clock("shift_start"), c.clock("shift_end")
    if start is None or end is None:
        return None
    if end < start:
        message = (
            f"shift_end {format_clock(end)} is before shift_start {format_clock(start)}; "
            "a shift must end after it starts (on the same day)"
        )
        c.problem("shift_end", message)
        return None
    return TimeWindow(start, end)


def _breaks(c: Cells, shift: TimeWindow | None) -> tuple[Break, ...]:
    """The `breaks` cell: `HH:MM-HH:MM/minutes` items, each checked against the shift."""
    form = "write HH:MM-HH:MM/minutes, e.g. 11:30-13:30/30"
    breaks: list[Break] = []
    for item in items(c.text("breaks")):
        window_text, slash, minutes_text = item.partition("/")
        if not slash:
            c.problem("breaks", f"break {item!r} has no length; {form}")
            continue
        try:
            window = parse_window(window_text)
        except ValueError as exc:
            c.problem("breaks", f"break {item!r}: {exc}")
            continue
        minutes_text = minutes_text.strip()
        if not INTEGER.fullmatch(minutes_text) or int(minutes_text) < 1:
            message = (
                f"break {item!r}: the length {minutes_text!r} is not a whole number of "
                f"minutes, 1 or more; {form}"
            )
            c.problem("breaks", message)
            continue
        minutes = int(minutes_text)
        if shift is not None:
            if window.start < shift.start or window.end > shift.end:
                message = (
                    f"break window {format_window(window)} is outside the shift "
                    f"{format_window(shift)}; move it inside the shift"
                )
                c.problem("breaks", message)
                continue
            if window.start + minutes * 60 > shift.end:
                message = (
                    f"a {minutes}-minute break starting at {format_clock(window.start)} at the "
                    f"earliest ends after the shift ({format_clock(shift.end)}); shorten it or "
                    "start its window earlier"
                )
                c.problem("breaks", message)
                continue
        breaks.append(Break(window, minutes * 60))
    return tuple(breaks)


def _check_crew(
    file: str,
    crew_id: str,
    crew: list[tuple[int, str]],
    agent_rows: Mapping[str, int],
    shifts: Mapping[int, TimeWindow],
    problems: list[InputProblem],
) -> None:
    """A crew has two or more members whose shifts overlap, and an id no agent has."""
    first_row, lead = crew[0]
    if len(crew) == 1:
        message = (
            f"crew {crew_id} has only agent {lead}; a crew needs two or more "
            f"(give another agent crew_id {crew_id}, or clear it)"
        )
        problems.append(InputProblem(file, first_row, "crew_id", message))
    if crew_id in agent_rows:
        message = (
            f"crew_id {crew_id!r} is also the agent_id of row {agent_rows[crew_id]}; "
            "allowed_agents could not tell them apart, so give the crew another id"
        )
        problems.append(InputProblem(file, first_row, "crew_id", message))
    together: TimeWindow | None = None
    earlier: list[int] = []
    for row, _ in crew:
        shift = shifts.get(row)
        if shift is None:
            continue
        common = shift if together is None else together.intersect(shift)
        if common is None:
            rows = ", ".join(str(r) for r in earlier)
            message = (
                f"the shift {format_window(shift)} does not overlap the shifts of crew "
                f"{crew_id} in rows {rows}; members visit together, so their shifts must overlap"
            )
            problems.append(InputProblem(file, row, "shift_start", message))
            continue
        together = common
        earlier.append(row)


# --- writing -----------------------------------------------------------------------------


def write_visits_csv(
    path: Path,
    visits: Iterable[Visit],
    *,
    addresses: Mapping[str, str] | None = None,
    borrowers: Iterable[BorrowerRule] = (),
    agreed_at: Mapping[str, datetime] | None = None,
    borrower_flags: Mapping[str, Iterable[str]] | None = None,
) -> None:
    """Write visits.csv in canonical form: every column, lists sorted, UTF-8, no BOM.

    A borrower's rule and flags go on every row of the borrower; a borrower without a rule
    gets empty cells (the reader's default). Raises `ValueError`, writing nothing, for what
    the file cannot hold: durations or times that are not whole minutes, times past 24:00,
    list items with a `;`, agreed_at times without a time zone, flags that are not lower-case
    names.
    """
    rules = {rule.borrower_id: rule for rule in borrowers}
    addresses = addresses or {}
    agreed_at = agreed_at or {}
    flags_text = {
        borrower_id: _flags_text(flags, f"borrower {borrower_id}")
        for borrower_id, flags in (borrower_flags or {}).items()
    }
    lines: list[Sequence[str]] = [VISIT_COLUMNS]
    for visit in visits:
        what = f"visit {visit.id}"
        rule = rules.get(visit.borrower_id)
        hours = rule.allowed_hours if rule is not None else None
        agreed = agreed_at.get(visit.id)
        lines.append(
            (
                visit.id,
                visit.borrower_id,
                repr(float(visit.location.lat)),
                repr(float(visit.location.lon)),
                addresses.get(visit.id, ""),
                str(_whole_minutes(visit.duration, f"{what}: duration")),
                visit.kind.value,
                ";".join(_window_text(w, what) for w in visit.windows),
                str(visit.priority),
                _list_text(visit.required_skills, f"{what}: skill"),
                str(visit.crew_size),
                _list_text(visit.allowed_agents, f"{what}: allowed agent"),
                _list_text(visit.preferred_agents, f"{what}: preferred agent"),
                "" if rule is None else str(rule.max_visits),
                "" if hours is None else _window_text(hours, f"borrower {visit.borrower_id}"),
                "" if agreed is None else _instant_text(agreed, f"{what}: agreed_at"),
                flags_text.get(visit.borrower_id, ""),
            )
        )
    write_rows(Path(path), lines)


def write_agents_csv(
    path: Path,
    agents: Iterable[Agent],
    crews: Iterable[Crew] = (),
    *,
    names: Mapping[str, str] | None = None,
    start_labels: Mapping[str, str] | None = None,
) -> None:
    """Write agents.csv in canonical form: every column, lists sorted, UTF-8, no BOM.

    Each crew's members are written in crew order (the lead first) in the rows the members
    take among the agents, since the file's order names the lead; other agents keep their
    place. An end equal to the start is left empty. Raises `ValueError`, writing nothing, for
    what the file cannot hold (see `write_visits_csv`) and for crews naming unknown agents or
    sharing one.
    """
    names = names or {}
    start_labels = start_labels or {}
    ordered, crew_of = _crew_order(list(agents), list(crews))
    lines: list[Sequence[str]] = [AGENT_COLUMNS]
    for agent in ordered:
        what = f"agent {agent.id}"
        same_end = agent.end == agent.start
        breaks = (
            f"{_window_text(b.window, what)}/{_whole_minutes(b.duration, f'{what}: break')}"
            for b in agent.breaks
        )
        lines.append(
            (
                agent.id,
                names.get(agent.id, ""),
                agent.mode.value,
                repr(float(agent.start.lat)),
                repr(float(agent.start.lon)),
                start_labels.get(agent.id, ""),
                "" if same_end else repr(float(agent.end.lat)),
                "" if same_end else repr(float(agent.end.lon)),
                _clock_text(agent.shift.start, f"{what}: shift start"),
                _clock_text(agent.shift.end, f"{what}: shift end"),
                ";".join(breaks),
                _list_text(agent.skills, f"{what}: skill"),
                "" if agent.max_visits is None else str(agent.max_visits),
                ""
                if agent.max_working_time is None
                else str(_whole_minutes(agent.max_working_time, f"{what}: max_working_time")),
                crew_of.get(agent.id, ""),
            )
        )
    write_rows(Path(path), lines)


def _crew_order(agents: list[Agent], crews: list[Crew]) -> tuple[list[Agent], dict[str, str]]:
    """The agents with each crew's members put in crew order; agent id -> crew id."""
    by_id = {agent.id: agent for agent in agents}
    if len(by_id) != len(agents):
        raise ValueError("agent ids must be unique")
    order = [agent.id for agent in agents]
    place = {agent_id: k for k, agent_id in enumerate(order)}
    crew_of: dict[str, str] = {}
    for crew in crews:
        for agent_id in crew.agent_ids:
            if agent_id not in by_id:
                msg = f"crew {crew.id}: agent {agent_id!r} is not among the agents"
                raise ValueError(msg)
            if agent_id in crew_of:
                msg = f"agent {agent_id} is in crews {crew_of[agent_id]} and {crew.id}; pick one"
                raise ValueError(msg)
            crew_of[agent_id] = crew.id
        slots = sorted(place[agent_id] for agent_id in crew.agent_ids)
        for slot, agent_id in zip(slots, crew.agent_ids, strict=True):
            order[slot] = agent_id
    return [by_id[agent_id] for agent_id in order], crew_of


def _whole_minutes(seconds: int, what: str) -> int:
    if seconds % 60:
        msg = f"{what} {seconds} s is not a whole number of minutes; the file holds minutes"
        raise ValueError(msg)
    return seconds // 60


def _clock_text(seconds: int, what: str) -> str:
    try:
        return format_clock(seconds)
    except ValueError as exc:
        msg = f"{what}: {exc}"
        raise ValueError(msg) from exc


def _window_text(window: TimeWindow, what: str) -> str:
    return f"{_clock_text(window.start, what)}-{_clock_text(window.end, what)}"


def _instant_text(moment: datetime, what: str) -> str:
    try:
        return format_instant(moment)
    except ValueError as exc:
        msg = f"{what}: {exc}"
        raise ValueError(msg) from exc


def _flags_text(flags: Iterable[str], what: str) -> str:
    ordered = sorted(flags)
    for flag in ordered:
        if not _FLAG.fullmatch(flag):
            msg = f"{what}: flag {flag!r} is not a lower-case name of a-z, 0-9 and _"
            raise ValueError(msg)
    return ";".join(ordered)


def _list_text(names: Iterable[str], what: str) -> str:
    ordered = sorted(names)
    for item in ordered:
        if not item or item != item.strip() or ";" in item:
            msg = f"{what} {item!r} cannot be written in a ';'-separated list"
            raise ValueError(msg)
    return ";".join(ordered)
