"""What a plan costs, in the solver's units: one scale for dropping visits, travel and the soft
goals, so that plans built in parts can be compared with each other and with the whole.

The order is lexicographic by construction: dropping an agreed appointment costs more than
dropping every flexible visit together; dropping a flexible visit costs its priority times
more than any travel it could save; then travel seconds; then small penalties for work above
a team's fair share and for a visit not done by a preferred agent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from optimizer.model import DAY_SECONDS, Problem, Team, Visit, VisitKind
from optimizer.precheck import Screening

PREFERENCE_PENALTY = 600
"""Cost (as seconds of travel) of a flexible visit done by someone other than its preferred
agents."""
APPOINTMENT_PREFERENCE_PENALTY = 3 * PREFERENCE_PENALTY
"""The same for an agreed appointment: the borrower was told who comes (and a re-plan keeps
an appointment with its agent before a flexible visit), so it sticks three times as hard."""
BALANCE_PENALTY = 300
"""Cost (as seconds of travel) of each visit a team does above its fair share of the day."""
FORBIDDEN = 2 * DAY_SECONDS + 1
"""Transit that no time dimension can absorb: an arc without a road connection."""


def preference_penalty(visit: Visit, team: Team) -> int:
    """What it costs that `team` serves `visit`: nothing unless the visit prefers agents and
    the team has none of them."""
    if not visit.preferred_agents or visit.preferred_agents & set(team.agent_ids):
        return 0
    if visit.kind is VisitKind.APPOINTMENT:
        return APPOINTMENT_PREFERENCE_PENALTY
    return PREFERENCE_PENALTY


def drop_units(max_travel: int, priorities: Sequence[int]) -> tuple[int, int]:
    """The cost of dropping a flexible visit per priority point, and of an appointment.

    `max_travel` is the longest finite travel time between the problem's points (s).
    """
    flexible = 2 * max_travel + APPOINTMENT_PREFERENCE_PENALTY + BALANCE_PENALTY + 1
    # Above every priority together: no mix of priorities outweighs one appointment.
    return flexible, flexible * (sum(priorities) + 1)


def drop_penalty(problem: Problem, visit_index: int, units: tuple[int, int]) -> int:
    visit = problem.visits[visit_index]
    flexible, appointment = units
    penalty = visit.priority * flexible
    return penalty + appointment if visit.kind is VisitKind.APPOINTMENT else penalty


def fair_shares(teams: Sequence[Team], num_visits: int) -> list[int]:
    """Each team's share of the day's visits, in proportion to its shift length."""
    lengths = [max(1, team.shift.end - team.shift.start) for team in teams]
    total = sum(lengths)
    shares = [math.ceil(num_visits * length / total) for length in lengths]
    return [
        min(share, team.max_visits) if team.max_visits is not None else share
        for share, team in zip(shares, teams, strict=True)
    ]


class Costs:
    """The objective of a whole problem, for routes given as problem visit indices per team
    (in `Screening.teams` order)."""

    def __init__(self, problem: Problem, screening: Screening) -> None:
        self.problem = problem
        self.teams = screening.teams
        self.candidates = sorted(screening.candidates)
        points = [problem.visit_point(i) for i in self.candidates]
        points += [p for team in self.teams for p in (team.start_point, team.end_point)]
        idx = np.asarray(points, dtype=np.int64)
        modes = {team.mode for team in self.teams}
        finite = [
            int(m[m < FORBIDDEN].max(initial=0))
            for m in (problem.matrices[mode].durations[np.ix_(idx, idx)] for mode in modes)
        ]
        self.units = drop_units(
            max(finite, default=0), [problem.visits[i].priority for i in self.candidates]
        )
        self.shares = fair_shares(self.teams, len(self.candidates))

    def route(self, t: int, route: Sequence[int]) -> int:
        """Travel, preference and balance cost of team t serving `route` (visit indices)."""
        team, problem = self.teams[t], self.problem
        if not route:
            return 0
        matrix = problem.matrices[team.mode].durations
        points = [team.start_point, *(problem.visit_point(i) for i in route), team.end_point]
        travel = int(np.minimum(matrix[points[:-1], points[1:]], FORBIDDEN).sum())
        cost = travel + sum(preference_penalty(problem.visits[i], team) for i in route)
        if problem.balance_work:
            cost += BALANCE_PENALTY * max(0, len(route) - self.shares[t])
        return cost

    def dropped(self, visits: Sequence[int]) -> int:
        return sum(drop_penalty(self.problem, i, self.units) for i in visits)

    def total(self, routes: Sequence[Sequence[int]]) -> int:
        served = {i for r in routes for i in r}
        return sum(self.route(t, r) for t, r in enumerate(routes)) + self.dropped(
            [i for i in self.candidates if i not in served]
        )
