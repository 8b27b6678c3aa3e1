"""Put the plans of a region's parts back together as one plan of the whole region.

The parts share no visit, agent or borrower (`doorstep.batch.split`), and the door-to-door
travel times between two points do not depend on which other points were asked for (the
matrices are exact integers per pair), so the parts' routes are routes of the whole
region's problem as they stand. The caller checks the stitched plan against that problem
with the independent validator before anything is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from optimizer import Plan, Problem


def stitch_plans(problem: Problem, parts: Sequence[Plan]) -> Plan:
    """One plan of `problem` from the plans of its parts.

    Routes come in the order of `problem.teams()`, unassigned visits in the order of
    `problem.visits`; the objective adds up, and `solve_seconds` is the slowest part's
    (the parts are solved side by side). Raises ValueError when the parts do not belong to
    `problem`'s day, or when two parts route the same team.
    """
    if not parts:
        msg = "no parts to stitch"
        raise ValueError(msg)
    for part in parts:
        if part.day != problem.day or part.timezone != problem.timezone:
            msg = (
                f"a part is planned for {part.day} ({part.timezone}), the region for "
                f"{problem.day} ({problem.timezone})"
            )
            raise ValueError(msg)
    routes = [route for part in parts for route in part.routes]
    team_ids = [route.team_id for route in routes]
    if len(set(team_ids)) != len(team_ids):
        msg = "two parts route the same team; parts must not share agents"
        raise ValueError(msg)
    team_order = {team.id: k for k, team in enumerate(problem.teams())}
    visit_order = {visit.id: k for k, visit in enumerate(problem.visits)}
    unassigned = [u for part in parts for u in part.unassigned]
    statuses = sorted({str(part.stats.get("status", "")) for part in parts} - {""})
    return Plan(
        day=problem.day,
        timezone=problem.timezone,
        routes=tuple(sorted(routes, key=lambda r: team_order.get(r.team_id, len(team_order)))),
        unassigned=tuple(
            sorted(unassigned, key=lambda u: visit_order.get(u.visit_id, len(visit_order)))
        ),
        objective=sum(part.objective for part in parts),
        solve_seconds=max(part.solve_seconds for part in parts),
        stats={"status": "; ".join(statuses), "parts": len(parts)},
        notes=tuple(note for part in parts for note in part.notes),
    )
