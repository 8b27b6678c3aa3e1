"""Tiny region-days for the contact-policy tests.

A `DayInput` is built from visits and agents of `tests.optimizer.tiny` (points on a straight
road, 1 s a metre by car), cut by `doorstep.contact.apply_policy`, and what is left is routed
on the same road as a `Problem` of the plan day and time zone given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from doorstep.contact import PolicyDay
from doorstep.csvio import DayInput
from optimizer import Agent, BorrowerRule, Crew, Plan, Problem, Stop, Visit, solve
from tests.optimizer.tiny import Day


def day_input(
    visits: Sequence[Visit],
    agents: Sequence[Agent],
    *,
    crews: Sequence[Crew] = (),
    borrowers: Sequence[BorrowerRule] = (),
    agreed_at: Mapping[str, datetime] | None = None,
    flags: Mapping[str, frozenset[str]] | None = None,
) -> DayInput:
    """A region-day as the CSV reader would give it, without addresses or names."""
    return DayInput(
        visits=tuple(visits),
        agents=tuple(agents),
        crews=tuple(crews),
        borrowers=tuple(borrowers),
        addresses={},
        agent_names={},
        start_labels={},
        agreed_at=dict(agreed_at or {}),
        borrower_flags=dict(flags or {}),
    )


def routed_problem(policy_day: PolicyDay, day: date, timezone: str) -> Problem:
    """The routing core's problem for what the policy left of the day."""
    cut = policy_day.day_input
    problem = Day(
        visits=list(cut.visits),
        agents=list(cut.agents),
        crews=list(cut.crews),
        borrowers=list(cut.borrowers),
    ).problem()
    return dataclasses.replace(problem, day=day, timezone=timezone)


def plan_of(
    policy_day: PolicyDay,
    day: date,
    timezone: str,
    *,
    time_limit: float = 5.0,
    max_solutions: int = 20,
) -> Plan:
    """Solve what the policy left of the day (deterministic: stops at `max_solutions`)."""
    problem = routed_problem(policy_day, day, timezone)
    return solve(problem, time_limit=time_limit, max_solutions=max_solutions)


def stops_by_visit(plan: Plan) -> dict[str, tuple[str, Stop]]:
    """Each planned visit's (team id, stop)."""
    return {s.visit_id: (r.team_id, s) for r in plan.routes for s in r.stops}
