"""Cut a region-day too large for one solve into sub-regions that can be solved in parallel.

A solve's cost grows faster than its size, and one of 1,500 visits may not even find a
first solution inside the time limit; a few parts of a few hundred visits each solve well
side by side. The cut follows the way the work falls on the map:

- visits are grouped by borrower, and a borrower's visits stay in one part, so the
  borrower's daily cap is still enforced by one solve;
- the groups are clustered by k-means (in a local plane, weighted by visits) seeded at the
  agents' starts, then handed to the nearest cluster that still has room, so parts are
  about equal in size;
- each team (a crew moves as one) joins the cluster nearest its start, in proportion to the
  cluster's visits, so every part has agents where its visits are;
- a visit restricted to certain agents goes to the part of one of them.

A visit is then only served by the agents of its part; its unassigned reason, if any, names
what was missing there. The stitched plan is checked against the whole region
(`doorstep.batch.stitch`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from doorstep.csvio import DayInput
from optimizer.model import Agent, Crew, Location

KMEANS_ROUNDS = 25
"""Lloyd iterations; a few hundred borrower groups settle well before this."""
SIZE_SLACK = 1.1
"""A part may hold this much more than an equal share of the visits."""
_METRES_PER_DEGREE = 111_195.0


@dataclass(frozen=True)
class _Team:
    """Agents who move as one, and where they start."""

    agent_ids: tuple[str, ...]
    start: Location


def num_parts(num_visits: int, num_teams: int, *, max_visits: int) -> int:
    """How many parts a day of `num_visits` needs so none has more than about `max_visits`;
    never more parts than teams (each part needs one)."""
    if max_visits < 1:
        msg = f"max_visits must be at least 1, got {max_visits}"
        raise ValueError(msg)
    if num_visits <= max_visits or num_teams < 2:
        return 1
    return min(math.ceil(num_visits / max_visits), num_teams)


def split_day(day_input: DayInput, *, max_visits: int) -> tuple[DayInput, ...]:
    """The day cut into parts of at most about `max_visits` visits each (see the module's
    docstring); the day itself, alone, when it is small enough or has a single team.

    Every visit and every agent is in exactly one part; a crew's members and a borrower's
    visits are never separated. Parts come in a deterministic order for the same input.
    """
    teams = _teams(day_input)
    k = num_parts(len(day_input.visits), len(teams), max_visits=max_visits)
    if k == 1:
        return (day_input,)
    plane = _Plane.around(day_input)
    borrowers, weights, group_xy = _borrower_groups(day_input, plane)
    team_xy = np.array([plane.xy(t.start) for t in teams])
    centroids = _kmeans(group_xy, weights, _farthest_seeds(team_xy, group_xy, weights, k))
    group_part = _balanced_assign(group_xy, weights, centroids)
    team_part = _assign_teams(team_xy, centroids, np.bincount(group_part, weights, k))
    part_of_borrower = dict(zip(borrowers, group_part.tolist(), strict=True))
    _follow_allowed_agents(day_input, teams, team_part, part_of_borrower)
    return tuple(
        _part(day_input, teams, team_part, part_of_borrower, p)
        for p in range(k)
        if any(part == p for part in part_of_borrower.values())
        or any(part == p for part in team_part)
    )


def _teams(day_input: DayInput) -> list[_Team]:
    """Crews first, then every agent not in one, as `Problem.teams` orders them."""
    agents = {a.id: a for a in day_input.agents}
    in_crew = {aid for crew in day_input.crews for aid in crew.agent_ids}
    teams = [_Team(c.agent_ids, agents[c.agent_ids[0]].start) for c in day_input.crews]
    teams += [_Team((a.id,), a.start) for a in day_input.agents if a.id not in in_crew]
    return teams


@dataclass(frozen=True)
class _Plane:
    """An equirectangular plane around the day's centre, in metres: good enough for a city."""

    lat0: float
    lon0: float
    cos0: float

    @classmethod
    def around(cls, day_input: DayInput) -> _Plane:
        lats = [v.location.lat for v in day_input.visits] or [a.start.lat for a in day_input.agents]
        lons = [v.location.lon for v in day_input.visits] or [a.start.lon for a in day_input.agents]
        lat0, lon0 = float(np.mean(lats)), float(np.mean(lons))
        return cls(lat0, lon0, math.cos(math.radians(lat0)))

    def xy(self, point: Location) -> tuple[float, float]:
        return (
            (point.lon - self.lon0) * self.cos0 * _METRES_PER_DEGREE,
            (point.lat - self.lat0) * _METRES_PER_DEGREE,
        )


def _borrower_groups(
    day_input: DayInput, plane: _Plane
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Borrowers in order of first visit, their number of visits, and their visits' centre."""
    points: dict[str, list[tuple[float, float]]] = {}
    for visit in day_input.visits:
        points.setdefault(visit.borrower_id, []).append(plane.xy(visit.location))
    borrowers = list(points)
    weights = np.array([len(points[b]) for b in borrowers], dtype=np.float64)
    xy = np.array([np.mean(points[b], axis=0) for b in borrowers])
    return borrowers, weights, xy


def _farthest_seeds(
    team_xy: np.ndarray, group_xy: np.ndarray, weights: np.ndarray, k: int
) -> np.ndarray:
    """`k` agent starts spread over the map: the one nearest the visits' centre, then each
    time the start farthest from those already chosen."""
    centre = np.average(group_xy, axis=0, weights=weights)
    chosen = [int(np.argmin(((team_xy - centre) ** 2).sum(axis=1)))]
    nearest = ((team_xy - team_xy[chosen[0]]) ** 2).sum(axis=1)
    while len(chosen) < k:
        pick = int(np.argmax(nearest))
        chosen.append(pick)
        nearest = np.minimum(nearest, ((team_xy - team_xy[pick]) ** 2).sum(axis=1))
    return team_xy[chosen].astype(np.float64)


def _kmeans(xy: np.ndarray, weights: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Weighted Lloyd iterations from `seeds`; an emptied cluster restarts at the group
    farthest from its centre."""
    centroids = seeds.copy()
    for _ in range(KMEANS_ROUNDS):
        distance = ((xy[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        label = np.argmin(distance, axis=1)
        moved = centroids.copy()
        for c in range(len(centroids)):
            members = label == c
            if members.any():
                moved[c] = np.average(xy[members], axis=0, weights=weights[members])
            else:
                moved[c] = xy[int(np.argmax(distance[np.arange(len(xy)), label]))]
        if np.allclose(moved, centroids):
            break
        centroids = moved
    return centroids


def _balanced_assign(xy: np.ndarray, weights: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each group to the nearest centroid with room left; the groups that lose most by going
    elsewhere choose first."""
    k = len(centroids)
    capacity = np.full(k, math.ceil(weights.sum() / k * SIZE_SLACK))
    distance = np.sqrt(((xy[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2))
    ranked = np.sort(distance, axis=1)
    regret = ranked[:, 1] - ranked[:, 0] if k > 1 else np.zeros(len(xy))
    label = np.full(len(xy), -1)
    for g in np.argsort(-regret, kind="stable"):
        for c in np.argsort(distance[g], kind="stable"):
            if capacity[c] >= weights[g] or c == np.argmax(capacity):
                label[g] = c
                capacity[c] -= weights[g]
                break
    return label


def _assign_teams(team_xy: np.ndarray, centroids: np.ndarray, load: np.ndarray) -> list[int]:
    """Each team to a part, in proportion to the parts' visits (at least one team each),
    nearest first."""
    num_teams, k = len(team_xy), len(centroids)
    share = load / load.sum() * num_teams if load.sum() > 0 else np.full(k, num_teams / k)
    quota = np.maximum(1, np.floor(share)).astype(int)
    while quota.sum() > num_teams:
        quota[int(np.argmax(quota))] -= 1
    for c in np.argsort(-(share - np.floor(share)), kind="stable"):
        if quota.sum() >= num_teams:
            break
        quota[c] += 1
    distance = ((team_xy[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    part = [-1] * num_teams
    for flat in np.argsort(distance, axis=None, kind="stable"):
        t, c = divmod(int(flat), k)
        if part[t] == -1 and quota[c] > 0:
            part[t] = c
            quota[c] -= 1
    return part


def _follow_allowed_agents(
    day_input: DayInput,
    teams: Sequence[_Team],
    team_part: Sequence[int],
    part_of_borrower: dict[str, int],
) -> None:
    """Move a borrower whose visit only certain agents may do to the part of one of them."""
    part_of_agent = {aid: team_part[t] for t, team in enumerate(teams) for aid in team.agent_ids}
    for visit in day_input.visits:
        if not visit.allowed_agents:
            continue
        parts = sorted({part_of_agent[a] for a in visit.allowed_agents if a in part_of_agent})
        if parts and part_of_borrower[visit.borrower_id] not in parts:
            part_of_borrower[visit.borrower_id] = parts[0]


def _part(
    day_input: DayInput,
    teams: Sequence[_Team],
    team_part: Sequence[int],
    part_of_borrower: dict[str, int],
    p: int,
) -> DayInput:
    """The sub-day of part `p`: its visits, its teams' agents and crews, its borrowers."""
    agent_ids = {aid for t, team in enumerate(teams) if team_part[t] == p for aid in team.agent_ids}
    visits = tuple(v for v in day_input.visits if part_of_borrower[v.borrower_id] == p)
    visit_ids = {v.id for v in visits}
    borrower_ids = {v.borrower_id for v in visits}
    agents: tuple[Agent, ...] = tuple(a for a in day_input.agents if a.id in agent_ids)
    crews: tuple[Crew, ...] = tuple(c for c in day_input.crews if c.agent_ids[0] in agent_ids)
    return replace(
        day_input,
        visits=visits,
        agents=agents,
        crews=crews,
        borrowers=tuple(b for b in day_input.borrowers if b.borrower_id in borrower_ids),
        addresses={k: v for k, v in day_input.addresses.items() if k in visit_ids},
        agent_names={k: v for k, v in day_input.agent_names.items() if k in agent_ids},
        start_labels={k: v for k, v in day_input.start_labels.items() if k in agent_ids},
        visit_rows={k: v for k, v in day_input.visit_rows.items() if k in visit_ids},
        agent_rows={k: v for k, v in day_input.agent_rows.items() if k in agent_ids},
        agreed_at={k: v for k, v in day_input.agreed_at.items() if k in visit_ids},
        borrower_flags={k: v for k, v in day_input.borrower_flags.items() if k in borrower_ids},
    )
