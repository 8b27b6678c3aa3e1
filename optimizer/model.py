"""The routing problem in business words: visits, agents, crews, borrowers and travel matrices.

Units, stated once: durations are integer seconds, distances integer metres, and every time of
day is seconds since local midnight of the plan day. A `Problem` validates itself on creation so
that the solver and the validator can trust it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np

DAY_SECONDS = 24 * 3600
UNREACHABLE = 10**9
"""Travel time (s) or distance (m) meaning "no road connection" in a matrix."""


class TravelMode(enum.StrEnum):
    """How an agent moves between stops; each mode has its own travel matrix."""

    DRIVE = "drive"
    BIKE = "bike"
    WALK = "walk"


class VisitKind(enum.StrEnum):
    """An agreed appointment must be kept if it can be; a flexible visit is optional."""

    APPOINTMENT = "appointment"
    FLEXIBLE = "flexible"


@dataclass(frozen=True)
class Location:
    """A point on the map, WGS84 degrees."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat <= 90.0:
            msg = f"lat {self.lat} is outside -90..90"
            raise ValueError(msg)
        if not -180.0 <= self.lon <= 180.0:
            msg = f"lon {self.lon} is outside -180..180"
            raise ValueError(msg)


@dataclass(frozen=True, order=True)
class TimeWindow:
    """A closed interval of the day, seconds since local midnight."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end > 2 * DAY_SECONDS:
            msg = f"window {self.start}..{self.end} s is outside the plan day"
            raise ValueError(msg)
        if self.end < self.start:
            msg = f"window ends ({self.end} s) before it starts ({self.start} s)"
            raise ValueError(msg)

    def contains(self, t: int) -> bool:
        return self.start <= t <= self.end

    def intersect(self, other: TimeWindow) -> TimeWindow | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return TimeWindow(start, end) if start <= end else None


@dataclass(frozen=True)
class Visit:
    """A home visit to a borrower.

    The visit must *start* inside one of its windows (the borrower agreed to any of them); an
    empty tuple means any time in the agent's shift and the borrower's allowed hours.
    """

    id: str
    borrower_id: str
    location: Location
    duration: int
    windows: tuple[TimeWindow, ...] = ()
    kind: VisitKind = VisitKind.FLEXIBLE
    priority: int = 1
    required_skills: frozenset[str] = frozenset()
    crew_size: int = 1
    allowed_agents: frozenset[str] = frozenset()
    preferred_agents: frozenset[str] = frozenset()
    workload: int = 0
    """Points this visit counts toward its team's `max_workload` (e.g. 2 for a complex case)."""

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a visit needs a non-empty id")
        if self.workload < 0:
            msg = f"visit {self.id}: workload {self.workload} must not be negative"
            raise ValueError(msg)
        if self.duration <= 0:
            msg = f"visit {self.id}: duration {self.duration} s must be positive"
            raise ValueError(msg)
        if not 1 <= self.priority <= 100:
            msg = f"visit {self.id}: priority {self.priority} must be in 1..100"
            raise ValueError(msg)
        if self.crew_size < 1:
            msg = f"visit {self.id}: crew_size {self.crew_size} must be at least 1"
            raise ValueError(msg)
        ordered = tuple(sorted(self.windows))
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b.start <= a.end:
                msg = f"visit {self.id}: windows {a} and {b} overlap; merge them"
                raise ValueError(msg)
        object.__setattr__(self, "windows", ordered)


@dataclass(frozen=True)
class Break:
    """A break of `duration` seconds that must start inside `window`."""

    window: TimeWindow
    duration: int

    def __post_init__(self) -> None:
        if self.duration <= 0:
            msg = f"break duration {self.duration} s must be positive"
            raise ValueError(msg)


@dataclass(frozen=True)
class Agent:
    """A field agent's day: where they start and end, when, how they move, what they can do.

    `max_working_time` bounds the route's span, from leaving the start to arriving at the end,
    breaks included.
    """

    id: str
    start: Location
    end: Location
    shift: TimeWindow
    mode: TravelMode = TravelMode.DRIVE
    skills: frozenset[str] = frozenset()
    breaks: tuple[Break, ...] = ()
    max_visits: int | None = None
    max_working_time: int | None = None
    max_workload: int | None = None
    """Most workload points (the sum of its visits' `workload`) in the day; None: no limit."""

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("an agent needs a non-empty id")
        if self.max_workload is not None and self.max_workload < 0:
            msg = f"agent {self.id}: max_workload {self.max_workload} must not be negative"
            raise ValueError(msg)
        if self.max_visits is not None and self.max_visits < 0:
            msg = f"agent {self.id}: max_visits {self.max_visits} must not be negative"
            raise ValueError(msg)
        if self.max_working_time is not None and self.max_working_time <= 0:
            msg = f"agent {self.id}: max_working_time {self.max_working_time} s must be positive"
            raise ValueError(msg)
        for brk in self.breaks:
            if brk.window.start < self.shift.start or brk.window.end > self.shift.end:
                msg = f"agent {self.id}: break window {brk.window} is outside the shift"
                raise ValueError(msg)
            if brk.window.start + brk.duration > self.shift.end:
                msg = f"agent {self.id}: a break starting in {brk.window} cannot end in the shift"
                raise ValueError(msg)


@dataclass(frozen=True)
class Crew:
    """Agents who travel and visit together as one route.

    The crew moves in its first member's mode from that member's start to their end, takes
    every member's breaks (together where their windows overlap: in the overlap, for the
    longer duration), works the intersection of the members' shifts and has the union of
    their skills.
    """

    id: str
    agent_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.agent_ids) < 2:
            msg = f"crew {self.id}: a crew needs at least two agents, got {len(self.agent_ids)}"
            raise ValueError(msg)
        if len(set(self.agent_ids)) != len(self.agent_ids):
            msg = f"crew {self.id}: an agent is listed twice"
            raise ValueError(msg)


@dataclass(frozen=True)
class BorrowerRule:
    """What a borrower may still receive on the plan day.

    `max_visits` caps the visits to this borrower today across all agents (0 means none);
    every visit to the borrower must start and end inside `allowed_hours`.
    """

    borrower_id: str
    max_visits: int = 1
    allowed_hours: TimeWindow | None = None
    reason: str = ""
    """Why the cap is what it is (e.g. the contact that used it up), shown when it bites."""

    def __post_init__(self) -> None:
        if self.max_visits < 0:
            msg = f"borrower {self.borrower_id}: max_visits {self.max_visits} must be >= 0"
            raise ValueError(msg)


@dataclass(frozen=True)
class TravelMatrix:
    """Travel times (s) and distances (m) between the problem's points for one mode.

    Entry [i, j] is from point i to point j; `UNREACHABLE` marks no road connection.
    """

    durations: np.ndarray
    distances: np.ndarray

    def __post_init__(self) -> None:
        d, m = np.asarray(self.durations), np.asarray(self.distances)
        if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape != m.shape:
            msg = f"matrices must be square and equal in shape, got {d.shape} and {m.shape}"
            raise ValueError(msg)
        if (d < 0).any() or (m < 0).any():
            raise ValueError("travel times and distances must not be negative")
        object.__setattr__(self, "durations", d.astype(np.int64))
        object.__setattr__(self, "distances", m.astype(np.int64))

    @property
    def num_points(self) -> int:
        return int(self.durations.shape[0])


@dataclass(frozen=True)
class Team:
    """One route's worth of people: a single agent, or a crew moving as one."""

    id: str
    agent_ids: tuple[str, ...]
    start_point: int
    end_point: int
    shift: TimeWindow
    mode: TravelMode
    skills: frozenset[str]
    breaks: tuple[Break, ...]
    max_visits: int | None
    max_working_time: int | None
    max_workload: int | None = None

    @property
    def size(self) -> int:
        return len(self.agent_ids)


@dataclass(frozen=True)
class Problem:
    """One region-day to plan.

    Points, the rows of every matrix, are ordered: the visits in order, then each agent's
    start and end (agent k's start is `num_visits + 2k`, its end `num_visits + 2k + 1`).
    Use `visit_point`, `agent_start_point` and `agent_end_point` rather than the arithmetic.
    """

    visits: tuple[Visit, ...]
    agents: tuple[Agent, ...]
    matrices: Mapping[TravelMode, TravelMatrix]
    crews: tuple[Crew, ...] = ()
    borrowers: tuple[BorrowerRule, ...] = ()
    day: date = field(default_factory=date.today)
    timezone: str = "UTC"
    balance_work: bool = True
    """Share visits across teams in proportion to their shifts (a soft goal after travel);
    False plans for travel alone, as classic vehicle-routing benchmarks score it."""

    def __post_init__(self) -> None:
        self._check_unique("visit", [v.id for v in self.visits])
        self._check_unique("agent", [a.id for a in self.agents])
        self._check_unique("crew", [c.id for c in self.crews])
        self._check_unique("borrower rule", [b.borrower_id for b in self.borrowers])
        agent_ids = {a.id for a in self.agents}
        in_crew: dict[str, str] = {}
        for crew in self.crews:
            for aid in crew.agent_ids:
                if aid not in agent_ids:
                    msg = f"crew {crew.id}: unknown agent {aid!r}"
                    raise ValueError(msg)
                if aid in in_crew:
                    msg = f"agent {aid} is in crews {in_crew[aid]} and {crew.id}; pick one"
                    raise ValueError(msg)
                in_crew[aid] = crew.id
        for crew in self.crews:
            if crew.id in agent_ids:
                msg = f"crew {crew.id}: the id is also an agent's; give the crew its own id"
                raise ValueError(msg)
            if self._crew_shift(crew) is None:
                msg = f"crew {crew.id}: the members' shifts do not overlap"
                raise ValueError(msg)
        modes = {a.mode for a in self.agents}
        for mode in modes:
            if mode not in self.matrices:
                msg = f"no travel matrix for mode {mode.value!r}, used by an agent"
                raise ValueError(msg)
        for mode, matrix in self.matrices.items():
            if matrix.num_points != self.num_points:
                msg = (
                    f"{mode.value} matrix has {matrix.num_points} points; the problem has "
                    f"{self.num_points} (visits, then each agent's start and end)"
                )
                raise ValueError(msg)

    @staticmethod
    def _check_unique(what: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                msg = f"duplicate {what} id {i!r}"
                raise ValueError(msg)
            seen.add(i)

    @property
    def num_visits(self) -> int:
        return len(self.visits)

    @property
    def num_points(self) -> int:
        return len(self.visits) + 2 * len(self.agents)

    def visit_point(self, visit_index: int) -> int:
        return visit_index

    def agent_start_point(self, agent_index: int) -> int:
        return self.num_visits + 2 * agent_index

    def agent_end_point(self, agent_index: int) -> int:
        return self.num_visits + 2 * agent_index + 1

    def point_location(self, point: int) -> Location:
        if point < self.num_visits:
            return self.visits[point].location
        k, is_end = divmod(point - self.num_visits, 2)
        agent = self.agents[k]
        return agent.end if is_end else agent.start

    @cached_property
    def _rules(self) -> dict[str, BorrowerRule]:
        return {rule.borrower_id: rule for rule in self.borrowers}

    def borrower_rule(self, borrower_id: str) -> BorrowerRule | None:
        return self._rules.get(borrower_id)

    def _crew_shift(self, crew: Crew) -> TimeWindow | None:
        by_id = {a.id: a for a in self.agents}
        shift: TimeWindow | None = by_id[crew.agent_ids[0]].shift
        for aid in crew.agent_ids[1:]:
            shift = shift.intersect(by_id[aid].shift) if shift else None
        return shift

    def teams(self) -> tuple[Team, ...]:
        """The routes to fill: each crew as one team, then every agent not in a crew."""
        index = {a.id: k for k, a in enumerate(self.agents)}
        teams: list[Team] = []
        in_crew = {aid for crew in self.crews for aid in crew.agent_ids}
        for crew in self.crews:
            members = [self.agents[index[aid]] for aid in crew.agent_ids]
            lead_k = index[crew.agent_ids[0]]
            lead = members[0]
            shift = self._crew_shift(crew)
            assert shift is not None  # checked in __post_init__
            caps = [m.max_visits for m in members if m.max_visits is not None]
            spans = [m.max_working_time for m in members if m.max_working_time is not None]
            loads = [m.max_workload for m in members if m.max_workload is not None]
            teams.append(
                Team(
                    id=crew.id,
                    agent_ids=crew.agent_ids,
                    start_point=self.agent_start_point(lead_k),
                    end_point=self.agent_end_point(lead_k),
                    shift=shift,
                    mode=lead.mode,
                    skills=frozenset().union(*(m.skills for m in members)),
                    breaks=_crew_breaks(members, shift),
                    max_visits=min(caps) if caps else None,
                    max_working_time=min(spans) if spans else None,
                    max_workload=min(loads) if loads else None,
                )
            )
        for k, agent in enumerate(self.agents):
            if agent.id in in_crew:
                continue
            teams.append(
                Team(
                    id=agent.id,
                    agent_ids=(agent.id,),
                    start_point=self.agent_start_point(k),
                    end_point=self.agent_end_point(k),
                    shift=agent.shift,
                    mode=agent.mode,
                    skills=agent.skills,
                    breaks=agent.breaks,
                    max_visits=agent.max_visits,
                    max_working_time=agent.max_working_time,
                    max_workload=agent.max_workload,
                )
            )
        return tuple(teams)

    def effective_windows(self, visit: Visit) -> tuple[TimeWindow, ...]:
        """When the visit may start: its windows (all day when none), cut so that it starts
        and ends inside the borrower's allowed hours."""
        windows = visit.windows or (TimeWindow(0, 2 * DAY_SECONDS),)
        rule = self.borrower_rule(visit.borrower_id)
        if rule is None or rule.allowed_hours is None:
            return windows
        hours = rule.allowed_hours
        if hours.end - visit.duration < hours.start:
            return ()
        starts = TimeWindow(hours.start, hours.end - visit.duration)
        return tuple(w for win in windows if (w := win.intersect(starts)) is not None)

    def team_may_serve(self, team: Team, visit: Visit) -> bool:
        """Skills, crew size and allowed agents: who may do the visit at all."""
        if not visit.required_skills <= team.skills:
            return False
        if team.size < visit.crew_size:
            return False
        return not visit.allowed_agents or bool(visit.allowed_agents & set(team.agent_ids))


def _crew_breaks(members: list[Agent], shift: TimeWindow) -> tuple[Break, ...]:
    """Every member's breaks, merged where windows overlap so the crew rests together."""
    merged: list[Break] = []
    for brk in (b for m in members for b in m.breaks):
        window = brk.window.intersect(shift)
        if window is None:
            continue
        for k, taken in enumerate(merged):
            common = taken.window.intersect(window)
            if common is not None:
                merged[k] = Break(common, max(taken.duration, brk.duration))
                break
        else:
            merged.append(Break(window, brk.duration))
    return tuple(merged)
