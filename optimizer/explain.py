"""Say what crowded a visit out of the plan when it was feasible on its own.

The sentence names the concrete cause a dispatcher can act on: the borrower's cap already
used by another visit, or the agents who could do it and what fills their day in its window.
"""

from __future__ import annotations

from collections.abc import Sequence

from optimizer.model import Problem, Team, TimeWindow, VisitKind
from optimizer.plan import ReasonCode, Route, Unassigned
from optimizer.timefmt import span

_MAX_NAMED = 3


def explain_dropped(
    problem: Problem,
    teams: Sequence[Team],
    candidates: Sequence[int],
    visit_index: int,
    routes: Sequence[Route],
) -> Unassigned:
    """The reason for a visit the solver left out although some team could serve it alone."""
    visit = problem.visits[visit_index]
    rule = problem.borrower_rule(visit.borrower_id)
    served_same_borrower = [
        stop.visit_id
        for route in routes
        for stop in route.stops
        if stop.borrower_id == visit.borrower_id
    ]
    if rule is not None and len(served_same_borrower) >= rule.max_visits:
        return Unassigned(
            visit.id,
            ReasonCode.BORROWER_CAP,
            f"Borrower {visit.borrower_id} already gets visit "
            f"{', '.join(served_same_borrower)} today and may receive at most "
            f"{rule.max_visits} a day.",
        )
    by_team = {route.team_id: route for route in routes}
    windows = problem.effective_windows(visit)
    busy = [_how_busy(teams[t], by_team.get(teams[t].id), windows) for t in candidates]
    named = "; ".join(busy[:_MAX_NAMED])
    more = f"; and {len(busy) - _MAX_NAMED} more" if len(busy) > _MAX_NAMED else ""
    what = "appointment" if visit.kind is VisitKind.APPOINTMENT else "visit"
    when = f" in {' or '.join(span(w) for w in windows)}" if visit.windows else ""
    who = "the only agent" if len(candidates) == 1 else f"all {len(candidates)} agents"
    return Unassigned(
        visit.id,
        ReasonCode.CROWDED_OUT,
        f"The {what} fits no route{when}: {who} who could do it alone "
        f"{'has' if len(candidates) == 1 else 'have'} no room left for it ({named}{more}). "
        "Add an agent with the skills, move another visit, or agree another time.",
    )


def _how_busy(team: Team, route: Route | None, windows: Sequence[TimeWindow]) -> str:
    if route is None or not route.stops:
        return f"{team.id}: no visits planned; a longer time limit may fit it"
    if team.max_visits is not None and route.num_stops >= team.max_visits:
        return f"{team.id}: at its limit of {team.max_visits} visits"
    overlapping = [
        s for s in route.stops if any(s.start <= w.end and s.end >= w.start for w in windows)
    ]
    if windows and overlapping and len(overlapping) < route.num_stops:
        return f"{team.id}: {len(overlapping)} visits in that window"
    return (
        f"{team.id}: {route.num_stops} visits, {span(TimeWindow(route.departure, route.arrival))}"
    )
