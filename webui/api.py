"""The JSON API under /api/v1: every action the pages take, for browsers and machines alike.

Described by the OpenAPI document at /api/v1/openapi.json (`webui.openapi`). Errors are
`{"error": <code>, "message": <what to do>}` with the HTTP status. A region outside the
caller's scope answers 404 exactly as a region that does not exist, so nobody learns which
regions there are. Every response that carries borrower data is written to the audit log.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, request, send_file
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.basemap import basemap_geojson
from doorstep.db import models as m
from doorstep.db.engine import read_scope, session_scope
from doorstep.db.store import CURRENT, load_plan
from doorstep.export import document_csv, document_geojson
from doorstep.moves import MoveError, NoCurrentPlanError, propose_move, save_move
from doorstep.outcomes import (
    IdConflictError,
    NotOnRouteError,
    OutcomeError,
    OutcomeInput,
    parse_amount,
    store_outcome,
)
from doorstep.published import PUBLISHED, NoPlanError, agent_route_document, publish
from doorstep.stored_plans import ConcurrentPlanError
from webui.auth import api_roles
from webui.state import actor, audit_view, current_user, now, web_state

log = logging.getLogger(__name__)

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")

STATUSES = (CURRENT, PUBLISHED)
OUTCOME_FIELDS = frozenset(
    {"id", "visit_id", "outcome", "note", "at", "promise_amount", "promise_date", "lat", "lon"}
)
PLAN_LIST_LIMIT = 100
MOVE_FIELDS = frozenset({"visit_id", "team_id", "position", "save"})


@api_bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 document of this API (public: it holds no data)."""
    from webui.openapi import openapi_document  # it describes this module's routes

    return jsonify(openapi_document())


@api_bp.get("/me")
@api_roles("admin", "dispatcher", "agent")
def me() -> Response:
    """Who is signed in, what they may see, and what the pages need to draw maps."""
    user = current_user()
    assert user is not None
    settings = web_state().settings
    body: dict[str, Any] = {
        "name": user.name,
        "role": user.role,
        "regions": list(user.regions),
        "agent_id": user.agent_id,
        "agent_region": user.agent_region,
        "locale": g.locale,
        "map": {"tile_url": settings.tile_url, "tile_attribution": settings.tile_attribution},
        "nav_link_template": settings.nav_link_template,
        "default_time_limit": settings.time_limit,
    }
    if not g.via_token:
        # Fresh for each call: a phone that queued outcomes offline fetches it before sending.
        body["csrf_token"] = generate_csrf()
    return jsonify(body)


@api_bp.get("/regions")
@api_roles("admin", "dispatcher", "agent")
def regions() -> Response:
    """The regions the caller may see: all (admin), theirs (dispatcher), their agent's."""
    user = current_user()
    assert user is not None
    with read_scope(web_state().engine) as db:
        statement = select(m.Region).order_by(m.Region.id)
        if user.role == "dispatcher":
            statement = statement.where(m.Region.id.in_(user.regions))
        elif user.role == "agent":
            statement = statement.where(m.Region.id == (user.agent_region or ""))
        rows = db.scalars(statement).all()
        found = [{"id": r.id, "name": r.name, "timezone": r.timezone} for r in rows]
    return jsonify({"regions": found})


@api_bp.get("/regions/<region_id>/plans")
@api_roles("admin", "dispatcher")
def plans(region_id: str) -> Response:
    """The stored plans of a region, newest day first (no borrower data: ids and times)."""
    with read_scope(web_state().engine) as db:
        visible_region(db, region_id)
        rows = db.execute(
            select(m.Plan.id, m.Plan.day, m.Plan.status, m.Plan.created_at)
            .where(m.Plan.region_id == region_id)
            .order_by(m.Plan.day.desc(), m.Plan.status)
            .limit(PLAN_LIST_LIMIT)
        ).all()
    found = [
        {"plan_id": i, "day": d.isoformat(), "status": s, "created_at": c.isoformat()}
        for i, d, s, c in rows
    ]
    return jsonify({"region": region_id, "plans": found})


@api_bp.get("/regions/<region_id>/days/<day>/plan")
@api_roles("admin", "dispatcher")
def plan_json(region_id: str, day: str) -> Response:
    """The plan JSON of a region-day, with map positions of starts, ends and unassigned."""
    document = _plan_for_view(region_id, parse_day(day), "json")
    return jsonify(document)


@api_bp.get("/regions/<region_id>/days/<day>/plan.geojson")
@api_roles("admin", "dispatcher")
def plan_geojson(region_id: str, day: str) -> Response:
    """The plan as GeoJSON: route lines, stops and unassigned visits."""
    document = _plan_for_view(region_id, parse_day(day), "geojson")
    response = jsonify(document_geojson(document))
    response.mimetype = "application/geo+json"
    return response


@api_bp.get("/regions/<region_id>/days/<day>/plan.csv")
@api_roles("admin", "dispatcher")
def plan_csv(region_id: str, day: str) -> Response:
    """The plan's stops as CSV, one row per stop in route order."""
    parsed = parse_day(day)
    document = _plan_for_view(region_id, parsed, "csv")
    name = f"plan-{region_id}-{parsed.isoformat()}-{plan_status()}.csv"
    return Response(
        document_csv(document),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_header_safe(name)}"'},
    )


@api_bp.post("/regions/<region_id>/days/<day>/publish")
@api_roles("admin", "dispatcher")
def publish_plan(region_id: str, day: str) -> Response:
    """Publish the region-day's current plan to its agents, replacing what they saw."""
    parsed = parse_day(day)
    try:
        with session_scope(web_state().engine) as db:
            visible_region(db, region_id)
            published = publish(db, region_id, parsed, actor=actor())
    except NoPlanError as exc:
        abort(404, description=str(exc))
    except IntegrityError:
        abort(409, description="someone published this region-day at the same moment; retry")
    log.info("plan of %s on %s published", region_id, parsed.isoformat())
    return jsonify(
        {
            "plan_id": published.plan_id,
            "region": region_id,
            "day": parsed.isoformat(),
            "status": PUBLISHED,
            "routes": published.routes,
            "stops": published.stops,
        }
    )


@api_bp.post("/regions/<region_id>/days/<day>/moves")
@api_roles("admin", "dispatcher")
def move(region_id: str, day: str) -> tuple[Response, int]:
    """Move a visit to a team's route at a position in the current plan: re-time the two
    routes, validate the plan, and with `save` and no violation store it as current."""
    parsed = parse_day(day)
    with read_scope(web_state().engine) as db:
        visible_region(db, region_id)
    visit_id, team_id, position, save = _move_input(request.get_json(silent=True))
    settings = web_state().settings
    try:
        proposal = propose_move(
            web_state().engine,
            region_id,
            parsed,
            visit_id=visit_id,
            team_id=team_id,
            position=position,
            cache_dir=settings.cache_dir,
            policy_dir=settings.policy_dir,
            max_snap_m=settings.max_snap_m,
        )
    except NoCurrentPlanError as exc:
        abort(404, description=str(exc))
    except MoveError as exc:
        abort(422, description=str(exc))
    except (ValueError, OSError) as exc:
        log.warning("move in %s on %s failed: %s", region_id, parsed.isoformat(), exc)
        abort(503, description=f"the region-day cannot be rebuilt to check the move: {exc}")
    detail = {"visit_id": visit_id, "team_id": team_id, "position": position}
    body: dict[str, Any] = {
        "region": region_id,
        "day": parsed.isoformat(),
        "visit_id": visit_id,
        "team_id": team_id,
        "position": position,
        "routes": list(proposal.routes),
        "violations": list(proposal.violations),
        "saved": False,
        "plan_id": None,
    }
    if not proposal.valid:
        body["error"] = "move_refused"
        body["message"] = (
            f"the move breaks {len(proposal.violations)} rule(s); nothing was saved: "
            + "; ".join(str(v["message"]) for v in proposal.violations[:5])
        )
        audit_view("view_move", "plan", f"{region_id}/{parsed.isoformat()}", detail)
        return jsonify(body), 422
    if save:
        try:
            body["plan_id"] = save_move(web_state().engine, proposal, actor=actor(), detail=detail)
        except ConcurrentPlanError as exc:
            abort(409, description=str(exc))
        except IntegrityError:
            abort(409, description="someone saved this region-day at the same moment; retry")
        body["saved"] = True
        log.info("visit %s moved to %s in %s on %s", visit_id, team_id, region_id, parsed)
    else:
        audit_view("view_move", "plan", f"{region_id}/{parsed.isoformat()}", detail)
    return jsonify(body), 200


def _move_input(body: Any) -> tuple[str, str, int, bool]:
    """The move request's fields, or 400/422 saying what is wrong."""
    if not isinstance(body, dict):
        abort(400, description="send the move as a JSON object (Content-Type: application/json)")
    unknown = sorted(set(body) - MOVE_FIELDS)
    if unknown:
        abort(422, description=f"unknown field(s) {', '.join(unknown)}")
    for name in ("visit_id", "team_id"):
        value = body.get(name)
        if not isinstance(value, str) or not value or len(value) > 100:
            abort(422, description=f"`{name}` is required: a string of 1 to 100 characters")
    position = body.get("position")
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        abort(422, description="`position` is required: the stop number, 1 for the first")
    save = body.get("save", False)
    if not isinstance(save, bool):
        abort(422, description="`save` must be true or false")
    return body["visit_id"], body["team_id"], position, save


@api_bp.get("/regions/<region_id>/basemap.geojson")
@api_roles("admin", "dispatcher", "agent")
def basemap(region_id: str) -> Response:
    """The region's roads as GeoJSON lines: the map's base layer without a tile server."""
    user = current_user()
    assert user is not None
    with read_scope(web_state().engine) as db:
        if user.role == "agent":
            if user.agent_region != region_id:
                abort(404, description=f"no region {region_id!r} among yours")
            region = db.get(m.Region, region_id)
            assert region is not None
        else:
            region = visible_region(db, region_id)
        network = region.network
    settings = web_state().settings
    try:
        path = basemap_geojson(network, settings.cache_dir)
    except (ValueError, OSError) as exc:
        log.warning("base layer of region %s unavailable: %s", region_id, exc)
        abort(503, description=f"the road network of region {region_id} cannot be loaded: {exc}")
    response = send_file(path, mimetype="application/geo+json", conditional=True, max_age=86400)
    response.cache_control.private = True
    return response


@api_bp.get("/me/route")
@api_roles("agent")
def my_route() -> Response:
    """The agent's own route in today's published plan (today in the region's time zone)."""
    user = current_user()
    assert user is not None and user.agent_id is not None
    with read_scope(web_state().engine) as db:
        try:
            document = agent_route_document(db, user.agent_id, now=now())
        except LookupError:
            abort(404, description="your account's agent is no longer in the database")
    route = document["route"]
    if route is not None:
        audit_view(
            "view_route",
            "route",
            f"{document['region']}/{document['day']}/{user.agent_id}",
            {"plan_id": document["plan_id"], "stops": len(route["stops"])},
        )
    return jsonify(document)


@api_bp.post("/me/outcomes")
@api_roles("agent")
def record() -> tuple[Response, int]:
    """Record a stop's outcome as a contact event, once per client-generated id."""
    user = current_user()
    assert user is not None and user.agent_id is not None
    outcome = _outcome_input(request.get_json(silent=True))
    try:
        stored = store_outcome(web_state().engine, user.agent_id, outcome, now=now(), actor=actor())
    except NotOnRouteError as exc:
        abort(404, description=str(exc))
    except IdConflictError as exc:
        abort(409, description=str(exc))
    except OutcomeError as exc:
        abort(422, description=str(exc))
    return jsonify(stored.as_json()), 200 if stored.duplicate else 201


def _outcome_input(body: Any) -> OutcomeInput:
    """The request body as an `OutcomeInput`, or 400/422 saying what is wrong."""
    if not isinstance(body, dict):
        abort(400, description="send the outcome as a JSON object (Content-Type: application/json)")
    unknown = sorted(set(body) - OUTCOME_FIELDS)
    if unknown:
        abort(422, description=f"unknown field(s) {', '.join(unknown)}")
    for name in ("id", "visit_id", "outcome"):
        if not isinstance(body.get(name), str):
            abort(422, description=f"`{name}` is required and must be a string")
    note = body.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str):
        abort(422, description="`note` must be a string")
    try:
        return OutcomeInput(
            id=body["id"],
            visit_id=body["visit_id"][:100],
            outcome=body["outcome"],
            note=note,
            at=_instant(body.get("at")),
            promise_amount=parse_amount(body.get("promise_amount")),
            promise_date=_date_field(body.get("promise_date")),
            lat=_number(body, "lat"),
            lon=_number(body, "lon"),
        )
    except OutcomeError as exc:
        abort(422, description=str(exc))


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None or at.utcoffset() is None:
        abort(422, description="`at` must be an ISO 8601 date-time with offset")
    return at


def _date_field(value: Any) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        pass
    abort(422, description="`promise_date` must be a date, YYYY-MM-DD")


def _number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        abort(422, description=f"`{name}` must be a number of degrees")
    return float(value)


def _plan_for_view(region_id: str, day: date, form: str) -> dict[str, Any]:
    """The stored plan document, with positions for the map, after recording the view."""
    status = plan_status()
    with read_scope(web_state().engine) as db:
        visible_region(db, region_id)
        plan = load_plan(db, region_id, day, status)
        if plan is None:
            abort(
                404,
                description=f"region {region_id} has no {status} plan on {day.isoformat()}"
                + (
                    f"; plan it with `doorstep plan --region {region_id} --day {day.isoformat()}`"
                    if status == CURRENT
                    else "; publish the current plan first"
                ),
            )
        document = _with_positions(db, plan.document)
        plan_id = plan.id
    audit_view(
        "view_plan",
        "plan",
        f"{region_id}/{day.isoformat()}",
        {"plan_id": plan_id, "status": status, "format": form, "stops": len(plan.stops)},
    )
    document["plan_id"] = plan_id
    document["status"] = status
    return document


def _with_positions(db: Session, stored: dict[str, Any]) -> dict[str, Any]:
    """A copy of a plan document with the lead agent's start and end on each route, and
    the position and address of each unassigned visit, read from the database."""
    document = dict(stored)
    leads = [r["agent_ids"][0] for r in document["routes"] if r["agent_ids"]]
    agents = {a.id: a for a in db.scalars(select(m.Agent).where(m.Agent.id.in_(leads)))}
    routes = []
    for route in document["routes"]:
        copy = dict(route)
        lead = agents.get(route["agent_ids"][0]) if route["agent_ids"] else None
        copy["start"] = {"lat": lead.start_lat, "lon": lead.start_lon} if lead else None
        if lead is not None and lead.end_lat is not None and lead.end_lon is not None:
            copy["end"] = {"lat": lead.end_lat, "lon": lead.end_lon}
        else:
            copy["end"] = copy["start"]
        routes.append(copy)
    document["routes"] = routes
    ids = [u["visit_id"] for u in document["unassigned"]]
    visits = {v.id: v for v in db.scalars(select(m.Visit).where(m.Visit.id.in_(ids)))}
    unassigned = []
    for item in document["unassigned"]:
        copy = dict(item)
        visit = visits.get(item["visit_id"])
        copy["lat"] = visit.lat if visit else None
        copy["lon"] = visit.lon if visit else None
        copy["address"] = visit.address if visit else ""
        copy["kind"] = visit.kind if visit else None
        unassigned.append(copy)
    document["unassigned"] = unassigned
    return document


def visible_region(db: Session, region_id: str) -> m.Region:
    """The region, if the caller may see it; 404 otherwise (also when it does not exist)."""
    user = current_user()
    region = db.get(m.Region, region_id)
    if user is None or region is None or not user.may_see_region(region_id):
        abort(404, description=f"no region {region_id[:100]!r} among yours")
    return region


def parse_day(text: str) -> date:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    abort(400, description=f"day {text[:40]!r} is not a date; use YYYY-MM-DD")


def plan_status() -> str:
    status = request.args.get("status", CURRENT)
    if status not in STATUSES:
        abort(400, description=f"status must be one of {', '.join(STATUSES)}")
    return status


def _header_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
