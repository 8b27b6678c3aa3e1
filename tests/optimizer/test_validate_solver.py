"""The solver's plans on hand-made edge cases, checked by the validator.

Each case is the minimal form of a plan the property tests once found invalid; they stay as
regression tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.model import Agent, Break, Location, Problem, TimeWindow, TravelMatrix, Visit
from optimizer.model import TravelMode as Mode
from optimizer.plan import Plan
from optimizer.validate import validate

H = 3600
HERE = Location(60.18, 24.95)


def one_visit(
    seconds: list[list[int]], agents: tuple[Agent, ...], *, crew_size: int = 1
) -> Problem:
    """One 1-minute visit (point 0) and `agents`, all points at one place, drive matrix given."""
    d = np.array(seconds)
    return Problem(
        visits=(Visit("v0", "b0", HERE, 60, crew_size=crew_size),),
        agents=agents,
        matrices={Mode.DRIVE: TravelMatrix(d, d)},
    )


def agent(shift: tuple[int, int], *breaks: Break, agent_id: str = "a0") -> Agent:
    return Agent(agent_id, HERE, HERE, TimeWindow(*shift), breaks=breaks)


def solve(problem: Problem) -> Plan:
    """The solver under test, imported late so this module loads while it is being written."""
    solver = pytest.importorskip("optimizer.solver")
    plan: Plan = solver.solve(problem, time_limit=5, max_solutions=30)
    return plan


NEAR = [[0, 600, 600], [600, 0, 300], [600, 300, 0]]
FAR_END = [[0, 600, 600], [600, 0, 4000], [600, 600, 0]]
STUCK = np.where(np.eye(5, dtype=bool), 0, 600)
STUCK[3, :] = 4000  # a1's start is 4000 s from everything, its shift one hour
STUCK[3, 3] = 0

CASES = {
    "unused team must not skip its break": one_visit(
        NEAR, (agent((6 * H, 10 * H), Break(TimeWindow(7 * H, 8 * H), 900)),), crew_size=2
    ),
    "unused team whose start-end trip exceeds the shift": one_visit(
        FAR_END, (agent((6 * H, 7 * H)),), crew_size=2
    ),
    "a team that cannot leave its start in time": one_visit(
        STUCK.tolist(), (agent((6 * H, 7 * H)), agent((6 * H, 7 * H), agent_id="a1"))
    ),
    "a team whose break and end trip cannot both fit its shift": one_visit(
        np.where(np.eye(5, dtype=bool), 0, 600).tolist(),
        (
            agent((6 * H, 7 * H)),
            agent((6 * H, 7 * H), Break(TimeWindow(6 * H, 6 * H), H), agent_id="a1"),
        ),
    ),
    "breaks listed in the team's order, not by time": one_visit(
        NEAR,
        (
            agent(
                (6 * H, 12 * H),
                Break(TimeWindow(10 * H, 11 * H), 900),
                Break(TimeWindow(7 * H, 8 * H), 600),
            ),
        ),
    ),
    "two breaks that fit one after the other": one_visit(
        NEAR,
        (
            agent(
                (6 * H, 10 * H),
                Break(TimeWindow(7 * H, 8 * H), 1800),
                Break(TimeWindow(7 * H, 8 * H), 1800),
            ),
        ),
    ),
    "two breaks that can only overlap (the team must stay idle)": one_visit(
        NEAR,
        (
            agent(
                (6 * H, 10 * H),
                Break(TimeWindow(7 * H, 7 * H), 300),
                Break(TimeWindow(7 * H, 7 * H), 300),
            ),
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_solver_edge_case_is_valid(case: str) -> None:
    """The solver's plan for each edge case keeps every rule."""
    problem = CASES[case]
    plan = solve(problem)
    assert [str(v) for v in validate(problem, plan)] == []
