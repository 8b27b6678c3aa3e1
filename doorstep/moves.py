"""Move a visit by hand in a region-day's current plan: re-time, validate, then maybe save.

`propose_move` reads the current plan and rebuilds the region-day's `Problem` (the stored day
with its policy applied, on the region's roads), takes the visit out of its route (or the
unassigned list), puts it in the chosen team's route at the chosen position, re-times the two
routes with `optimizer.retime` and validates the whole plan with `optimizer.validate`. The
other routes keep their stored times. `save_move` stores a clean proposal as the current plan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from doorstep.db.engine import session_scope
from doorstep.db.store import CURRENT, audit, load_plan
from doorstep.export import plan_document
from doorstep.plan_routes import route_of_document
from doorstep.planning import DayPlan, build_problem, route_shapes
from doorstep.region_planning import cached_network
from doorstep.stored_plans import PreparedDay, prepare, save_document
from optimizer.plan import Plan, ReasonCode, Route, Unassigned
from optimizer.retime import retime
from optimizer.validate import validate

__all__ = ["MoveError", "MoveProposal", "NoCurrentPlanError", "propose_move", "save_move"]


class MoveError(ValueError):
    """The move cannot even be laid out (unknown visit or team, bad position)."""


class NoCurrentPlanError(LookupError):
    """The region-day has no current plan to change."""


@dataclass(frozen=True)
class MoveProposal:
    """The plan after the move: its document, the re-timed routes and what it breaks."""

    prepared: PreparedDay
    document: dict[str, Any]
    """The whole plan JSON after the move (empty when a route could not be re-timed)."""
    routes: tuple[dict[str, Any], ...]
    """The affected routes as plan JSON routes (empty when a route could not be re-timed)."""
    violations: tuple[dict[str, str | None], ...]
    objective: int
    solve_seconds: float

    @property
    def valid(self) -> bool:
        return not self.violations


def propose_move(
    engine: Engine,
    region_id: str,
    day: date,
    *,
    visit_id: str,
    team_id: str,
    position: int,
    cache_dir: Path,
    policy_dir: Path | None,
    max_snap_m: float,
) -> MoveProposal:
    """The current plan with `visit_id` moved to stop `position` (1 = first) of `team_id`'s
    route. Raises `NoCurrentPlanError`, `MoveError`; a network that cannot be loaded raises
    ValueError or OSError."""
    with session_scope(engine) as session:
        stored = load_plan(session, region_id, day, CURRENT)
        if stored is None:
            msg = f"region {region_id} has no current plan on {day.isoformat()}"
            raise NoCurrentPlanError(msg)
        current: dict[str, Any] = stored.document
        objective, solve_seconds = int(stored.objective), float(stored.solve_seconds)
    planned = frozenset(s["visit_id"] for r in current["routes"] for s in r["stops"])
    prepared, given = prepare(engine, region_id, day, policy_dir=policy_dir, own_visits=planned)
    network = cached_network(prepared.network, cache_dir)
    routable = build_problem(
        prepared.policy_day.day_input,
        network,
        day=day,
        timezone=prepared.timezone,
        max_snap_m=max_snap_m,
        cache_dir=cache_dir / "matrices",
    )
    problem = routable.problem
    teams = {team.id: team for team in problem.teams()}
    if team_id not in teams:
        msg = f"{team_id!r} is not a team (an agent or crew) working in {region_id} that day"
        raise MoveError(msg)
    if visit_id not in {v.id for v in problem.visits}:
        msg = f"visit {visit_id!r} is not among the visits {region_id} may route that day"
        raise MoveError(msg)

    orders = {r["team_id"]: [s["visit_id"] for s in r["stops"]] for r in current["routes"]}
    source = next((t for t, order in orders.items() if visit_id in order), None)
    if source is not None:
        orders[source].remove(visit_id)
    target = orders.setdefault(team_id, [])
    if not 1 <= position <= len(target) + 1:
        msg = f"position must be between 1 and {len(target) + 1} in the route of {team_id}"
        raise MoveError(msg)
    target.insert(position - 1, visit_id)
    affected = [team_id] if source in (None, team_id) else [source, team_id]

    retimed: dict[str, Route] = {}
    refusals: list[dict[str, str | None]] = []
    for tid in affected:
        timed = retime(problem, teams[tid], orders[tid])
        if isinstance(timed, str):
            refusals.append({"code": "retime", "message": timed, "team_id": tid, "visit_id": None})
        else:
            retimed[tid] = timed
    if refusals:
        return MoveProposal(prepared, {}, (), tuple(refusals), objective, solve_seconds)

    zone = ZoneInfo(prepared.timezone)
    routes = [
        retimed.get(r["team_id"]) or route_of_document(r, day, zone) for r in current["routes"]
    ]
    known = {r.team_id for r in routes}
    routes += [retimed[tid] for tid in affected if tid not in known]
    routable_ids = {v.id for v in problem.visits}
    unassigned = [
        Unassigned(u["visit_id"], ReasonCode(u["reason_code"]), u["reason"])
        for u in current["unassigned"]
        if u["visit_id"] != visit_id
    ]
    summary = current.get("summary", {})
    plan = Plan(
        day=day,
        timezone=prepared.timezone,
        routes=tuple(routes),
        unassigned=tuple(u for u in unassigned if u.visit_id in routable_ids),
        objective=objective,
        solve_seconds=solve_seconds,
        stats={"status": str(summary.get("solver_status", ""))},
        notes=tuple(summary.get("notes", ())),
    )
    violations = tuple(
        {"code": str(v.code), "message": str(v), "team_id": v.team_id, "visit_id": v.visit_id}
        for v in validate(problem, plan)
    )
    # The policy's exclusions are not in the problem but stay listed in the document.
    plan = replace(plan, unassigned=tuple(unassigned))
    day_plan = DayPlan(
        region=region_id,
        plan=plan,
        problem=problem,
        day_input=given,
        shapes=route_shapes(network, problem, routable.snapped, plan),
        policy=prepared.policy_day.policy,
    )
    document = plan_document(day_plan)
    document["summary"]["validated"] = not violations
    changed = tuple(r for r in document["routes"] if r["team_id"] in affected)
    return MoveProposal(prepared, document, changed, violations, objective, solve_seconds)


def save_move(engine: Engine, proposal: MoveProposal, *, actor: str, detail: dict[str, Any]) -> int:
    """Store a valid proposal as the region-day's current plan; return its id. Raises
    `doorstep.stored_plans.ConcurrentPlanError` as `save` does."""
    if not proposal.valid:
        raise MoveError("a move that breaks a rule cannot be saved")
    prepared = proposal.prepared
    with session_scope(engine) as session:
        plan_id = save_document(
            session,
            prepared,
            proposal.document,
            policy=str(proposal.document.get("policy", "")),
            objective=proposal.objective,
            solve_seconds=proposal.solve_seconds,
            actor=actor,
        )
        audit(
            session,
            actor=actor,
            action="move_visit",
            entity="plan",
            entity_id=f"{prepared.region_id}/{prepared.day.isoformat()}",
            detail={"plan_id": plan_id, **detail},
        )
    return plan_id
