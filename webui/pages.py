"""The pages: a dispatcher's map of a region-day and an agent's route on a phone.

Pages are thin shells: they hold no data themselves and load everything through the JSON
API (`webui.api`) with the same authorisation a machine would get, so what a page can show
is exactly what the API lets its user see. The one exception is the printable route sheet,
rendered on the server (it must print without scripts) with the API's own region checks.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    send_from_directory,
    url_for,
)

from doorstep.db.engine import read_scope
from doorstep.db.store import load_plan
from doorstep.outcomes import OUTCOMES
from webui.api import parse_day, plan_status, visible_region
from webui.auth import page_roles, t
from webui.state import audit_view, current_user, web_state

pages_bp = Blueprint("pages", __name__)


@pages_bp.get("/")
def index() -> Any:
    """Each role's home: the map for dispatchers and admins, the route for agents."""
    user = current_user()
    if user is None:
        return redirect(url_for("login.login"))
    if user.role == "agent":
        return redirect(url_for("pages.agent"))
    return redirect(url_for("pages.dispatch"))


@pages_bp.get("/dispatch")
@page_roles("admin", "dispatcher")
def dispatch() -> str:
    """The dispatcher's map: routes of a region-day, summary, publish, exports."""
    return render_template("dispatch.html")


@pages_bp.get("/agent")
@page_roles("agent")
def agent() -> str:
    """The agent's route for today, with the outcome form that works offline."""
    return render_template("agent.html", outcomes=OUTCOMES)


@pages_bp.get("/agent/sw.js")
def agent_service_worker() -> Response:
    """The agent page's service worker, which keeps the page and today's route on the phone
    (public: the script holds no data; what it keeps is fetched with the agent's session)."""
    folder = Path(current_app.static_folder or "")
    response = send_from_directory(folder, "agent-sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/agent"
    response.headers["Cache-Control"] = "no-cache"
    return response


@pages_bp.get("/dispatch/<region_id>/<day>/sheet/<team_id>")
@page_roles("admin", "dispatcher")
def sheet(region_id: str, day: str, team_id: str) -> str:
    """A team's printable route sheet: stops in order with window, ETA, address, borrower,
    kind and duration; breaks; totals. `?status=current|published` as in the API."""
    parsed = parse_day(day)
    status = plan_status()
    with read_scope(web_state().engine) as db:
        region = visible_region(db, region_id)
        region_name = region.name or region.id
        plan = load_plan(db, region_id, parsed, status)
        if plan is None:
            abort(404, description=t("not_found"))
        document = plan.document
        plan_id = plan.id
    route = next((r for r in document["routes"] if r["team_id"] == team_id), None)
    if route is None:
        abort(404, description=t("not_found"))
    audit_view(
        "view_sheet",
        "route",
        f"{region_id}/{parsed.isoformat()}/{team_id}",
        {"plan_id": plan_id, "status": status, "stops": len(route["stops"])},
    )
    return render_template(
        "sheet.html",
        region_name=region_name,
        region_id=region_id,
        day=parsed.isoformat(),
        status=status,
        route=route,
        rows=_sheet_rows(route),
        totals=_sheet_totals(route),
    )


def _clock(iso: str | None) -> str:
    """ "10:05" from an ISO local date-time: the region's wall clock, as the plan says."""
    return iso[11:16] if iso else ""


def _minutes(start: str, end: str) -> int:
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return round(seconds / 60)


def _sheet_rows(route: dict[str, Any]) -> list[dict[str, Any]]:
    """The route's stops and breaks in time order, ready to print."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for stop in route["stops"]:
        windows = ", ".join(f"{_clock(w['start'])}–{_clock(w['end'])}" for w in stop["windows"])
        rows.append(
            (
                stop["start"],
                {
                    "type": "stop",
                    "sequence": stop["sequence"],
                    "visit_id": stop["visit_id"],
                    "borrower_id": stop.get("borrower_id", ""),
                    "kind": stop.get("kind", ""),
                    "address": stop.get("address", ""),
                    "window": windows or "—",
                    "eta": _clock(stop["arrival"]),
                    "start": _clock(stop["start"]),
                    "end": _clock(stop["end"]),
                    "minutes": _minutes(stop["start"], stop["end"]),
                },
            )
        )
    for item in route.get("breaks", []):
        rows.append(
            (
                item["start"],
                {
                    "type": "break",
                    "start": _clock(item["start"]),
                    "end": _clock(item["end"]),
                    "minutes": _minutes(item["start"], item["end"]),
                },
            )
        )
    rows.sort(key=lambda pair: datetime.fromisoformat(pair[0]))
    return [row for _, row in rows]


def _sheet_totals(route: dict[str, Any]) -> dict[str, Any]:
    working = _minutes(route["departure"], route["arrival"]) if route["stops"] else 0
    return {
        "stops": len(route["stops"]),
        "travel_min": round(route.get("travel_time_s", 0) / 60),
        "distance_km": f"{route.get('travel_distance_m', 0) / 1000:.1f}",
        "service_min": round(route.get("service_time_s", 0) / 60),
        "waiting_min": round(route.get("waiting_time_s", 0) / 60),
        "working_min": working,
        "departure": _clock(route["departure"]),
        "arrival": _clock(route["arrival"]),
    }
