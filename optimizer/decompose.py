"""Large days in parts: first geographic sectors planned from scratch, then groups of nearby
routes re-planned on their own, over and over.

OR-Tools' local search slows down sharply with size (on a 1,000-visit day it finds a better
plan about twice a second, on 100 visits thirty times a second), so a large day is improved
in parts of about a hundred visits: a few routes close together, the visits they serve, the
unserved visits nearest to them and a spare team or two. Each pass splits the day into
disjoint parts afresh, around different seeds, so that over the passes every route meets
each of its neighbours; parts of one pass can be solved at the same time. The first plan of a
large day comes from `sectors`: the visits cut into compact groups of about the same size,
each with its share of the teams, planned at the same time. Pure: no OR-Tools.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from optimizer.model import BorrowerRule, Problem, Team, TravelMatrix

SPARE_TEAMS = 2
"""Idle teams handed to each part, so that it can open a route."""


@dataclass(frozen=True)
class Part:
    """Teams re-planned together (indices into the screened teams) and the visits they may
    take (problem indices): their own, and unserved visits given to this part alone."""

    teams: tuple[int, ...]
    visits: tuple[int, ...]


def plane(problem: Problem, teams: Sequence[Team]) -> tuple[np.ndarray, np.ndarray]:
    """Planar coordinates (degrees, longitude scaled by the cosine of the latitude) of every
    visit and of every team's start, to tell which routes are near each other."""
    lat = np.array([v.location.lat for v in problem.visits], dtype=float)
    lon = np.array([v.location.lon for v in problem.visits], dtype=float)
    starts = [problem.point_location(team.start_point) for team in teams]
    slat = np.array([s.lat for s in starts], dtype=float)
    slon = np.array([s.lon for s in starts], dtype=float)
    scale = np.cos(np.radians(np.mean(lat) if len(lat) else 0.0))
    return np.column_stack([lon * scale, lat]), np.column_stack([slon * scale, slat])


def sectors(
    problem: Problem,
    visits: Sequence[int],
    visit_xy: np.ndarray,
    start_xy: np.ndarray,
    *,
    num_sectors: int,
) -> list[Part]:
    """Cut the day's visits into `num_sectors` angular sectors of about the same number of
    visits around the teams' starts (their centre), and give each sector a share of the teams
    in proportion to its visits, at least one, the teams starting nearest first.

    Fewer sectors come back where there are fewer visits or teams than `num_sectors`, or
    where a borrower's visits pull one sector's share into another.

    Made for a fleet that leaves from one place (a depot), whose routes are petals around
    it. All visits of one borrower go to one sector, so sectors planned at the same time
    cannot both use a borrower's last allowed visit.
    """
    if num_sectors < 1:
        msg = f"num_sectors must be at least 1, got {num_sectors}"
        raise ValueError(msg)
    order = np.asarray(visits, dtype=np.int64)
    if len(order) == 0:
        return []
    offset = visit_xy[order] - start_xy.mean(axis=0)
    by_angle = order[np.argsort(np.arctan2(offset[:, 1], offset[:, 0]), kind="stable")]
    sector_of: dict[str, int] = {}
    members: list[list[int]] = [[] for _ in range(min(num_sectors, len(order), len(start_xy)))]
    for g, group in enumerate(np.array_split(by_angle, len(members))):
        for i in group:
            k = sector_of.setdefault(problem.visits[int(i)].borrower_id, g)
            members[k].append(int(i))
    members = [m for m in members if m]
    centre = np.array([visit_xy[m].mean(axis=0) for m in members])
    teams = _share_teams(start_xy, centre, [len(m) for m in members])
    return [Part(tuple(t), tuple(m)) for t, m in zip(teams, members, strict=True)]


def _share_teams(start_xy: np.ndarray, centre: np.ndarray, sizes: Sequence[int]) -> list[list[int]]:
    """Teams per group, in proportion to the groups' sizes (largest remainder) but at least
    one while there are teams enough, each team to the nearest group with room left."""
    num_teams = len(start_xy)
    exact = np.asarray(sizes, dtype=float) * num_teams / max(1, sum(sizes))
    quota = np.floor(exact).astype(int)
    for g in np.argsort(-(exact - quota), kind="stable")[: num_teams - int(quota.sum())]:
        quota[g] += 1
    while num_teams >= len(sizes) and (quota == 0).any():
        quota[int(np.argmax(quota))] -= 1  # a small group's one team, from the largest share
        quota[int(np.argmin(quota))] += 1
    gap = np.hypot(*(start_xy[:, None, :] - centre[None, :, :]).transpose(2, 0, 1))
    teams: list[list[int]] = [[] for _ in sizes]
    placed = np.zeros(num_teams, dtype=bool)
    for flat in np.argsort(gap, axis=None, kind="stable"):
        t, g = divmod(int(flat), len(sizes))
        if quota[g] > 0 and not placed[t]:
            teams[g].append(t)
            quota[g] -= 1
            placed[t] = True
    return teams


def partition(
    problem: Problem,
    routes: Sequence[Sequence[int]],
    unrouted: Sequence[int],
    candidates: Mapping[int, Sequence[int]],
    visit_xy: np.ndarray,
    start_xy: np.ndarray,
    *,
    size: int,
    rng: np.random.Generator,
    min_routes: int = 1,
) -> list[Part]:
    """Split the day into disjoint parts of about `size` visits and at least `min_routes`
    routes (where there are that many).

    A part grows from a random route by adding the routes whose centres are nearest; idle
    teams join the parts nearest to their start, `SPARE_TEAMS` each; every unserved visit
    joins, among the parts with a team that may serve it (`candidates`: visit index to team
    indices, as screened), the part of the nearest served visit. All unserved visits of one
    borrower join the same part, so parts solved at once cannot both use a borrower's last
    allowed visit.
    """
    busy = [t for t, r in enumerate(routes) if r]
    idle = [t for t, r in enumerate(routes) if not r]
    if not busy:
        spares = [idle[k : k + SPARE_TEAMS + 1] for k in range(0, len(idle), SPARE_TEAMS + 1)]
        spares = spares or [[]]
        shares = np.array_split(np.asarray(unrouted, dtype=np.int64), len(spares))
        return [
            Part(tuple(g), tuple(int(i) for i in s)) for g, s in zip(spares, shares, strict=True)
        ]
    centre = np.array([visit_xy[list(routes[t])].mean(axis=0) for t in busy])
    load = np.array([len(routes[t]) for t in busy])
    free = np.ones(len(busy), dtype=bool)
    groups: list[list[int]] = []
    while free.any():
        seed = int(rng.choice(np.flatnonzero(free)))
        near = np.argsort(np.hypot(*(centre - centre[seed]).T), kind="stable")
        group: list[int] = []
        count = 0
        for k in near:
            if free[k] and (count < size or len(group) < min_routes):
                group.append(int(k))
                count += int(load[k])
                free[k] = False
        groups.append(group)
    teams = [[busy[k] for k in g] for g in groups]
    visits: list[list[int]] = [[i for t in g for i in routes[t]] for g in teams]
    part_centre = np.array([visit_xy[vs].mean(axis=0) for vs in visits])
    _give_idle(idle, start_xy, part_centre, teams)
    part_of_visit = {i: p for p, vs in enumerate(visits) for i in vs}
    _give_unrouted(problem, unrouted, candidates, visit_xy, part_of_visit, teams, visits)
    return [Part(tuple(t), tuple(v)) for t, v in zip(teams, visits, strict=True)]


def _give_unrouted(
    problem: Problem,
    unrouted: Sequence[int],
    candidates: Mapping[int, Sequence[int]],
    visit_xy: np.ndarray,
    part_of_visit: dict[int, int],
    teams: list[list[int]],
    visits: list[list[int]],
) -> None:
    """Each unserved visit to the part, among those with a team that may serve it, of the
    nearest served visit; a borrower's unserved visits all to its first one's part."""
    if not unrouted:
        return
    served = np.fromiter(part_of_visit, dtype=np.int64)
    part_of = np.array([part_of_visit[int(i)] for i in served], dtype=np.int64)
    members = [set(g) for g in teams]
    by_borrower: dict[str, int] = {}
    for i in unrouted:
        borrower = problem.visits[i].borrower_id
        if borrower not in by_borrower:
            able = [p for p, m in enumerate(members) if m.intersection(candidates[i])]
            if not able:
                continue  # no team here may serve it: it waits for another pass
            near = np.isin(part_of, able)
            gap = np.hypot(*(visit_xy[served[near]] - visit_xy[i]).T)
            by_borrower[borrower] = int(part_of[near][int(np.argmin(gap))])
        visits[by_borrower[borrower]].append(i)


def _give_idle(
    idle: Sequence[int], start_xy: np.ndarray, part_centre: np.ndarray, teams: list[list[int]]
) -> None:
    spare: dict[int, int] = defaultdict(int)
    for t in idle:
        order = np.argsort(np.hypot(*(part_centre - start_xy[t]).T), kind="stable")
        for p in order:
            if spare[int(p)] < SPARE_TEAMS:
                teams[int(p)].append(t)
                spare[int(p)] += 1
                break


def sub_problem(
    problem: Problem,
    teams: Sequence[Team],
    part: Part,
    routes: Sequence[Sequence[int]],
) -> Problem:
    """The part as a problem of its own: its visits, the agents of its teams (crews whole),
    their matrices, and each borrower's cap less the visits other routes already make."""
    in_part = set(part.teams)
    agent_index = {a.id: k for k, a in enumerate(problem.agents)}
    agent_ids = [a for t in part.teams for a in teams[t].agent_ids]
    agents_k = sorted(agent_index[a] for a in agent_ids)
    visits = sorted(part.visits)
    points = np.array(
        [problem.visit_point(i) for i in visits]
        + [p for k in agents_k for p in (problem.agent_start_point(k), problem.agent_end_point(k))],
        dtype=np.int64,
    )
    grid = np.ix_(points, points)
    matrices = {
        mode: TravelMatrix(m.durations[grid], m.distances[grid])
        for mode, m in problem.matrices.items()
    }
    outside: dict[str, int] = defaultdict(int)
    for t, route in enumerate(routes):
        if t not in in_part:
            for i in route:
                outside[problem.visits[i].borrower_id] += 1
    borrowers = []
    for borrower_id in sorted({problem.visits[i].borrower_id for i in visits}):
        rule = problem.borrower_rule(borrower_id)
        if rule is not None:
            cap = max(0, rule.max_visits - outside[borrower_id])
            borrowers.append(BorrowerRule(borrower_id, cap, rule.allowed_hours, rule.reason))
    crew_ids = {teams[t].id for t in part.teams if teams[t].size > 1}
    return Problem(
        visits=tuple(problem.visits[i] for i in visits),
        agents=tuple(problem.agents[k] for k in agents_k),
        matrices=matrices,
        crews=tuple(c for c in problem.crews if c.id in crew_ids),
        borrowers=tuple(borrowers),
        day=problem.day,
        timezone=problem.timezone,
        balance_work=problem.balance_work,
    )
