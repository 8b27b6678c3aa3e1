"""Offering and booking appointment times over the API (`doorstep.slots`).

`POST /regions/{region}/slots` answers which windows a team can keep for a new visit on each
day of a range, within the contact policy, the cheapest in travel first, and why a day has
none; `POST /regions/{region}/bookings` books one, checked again at that moment. Admins and
the region's dispatchers only; both are audited (the answer holds a borrower's days).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, jsonify, request

from doorstep.db.engine import read_scope
from doorstep.slots import SlotRequest, SlotTakenError, book_slot, find_slots
from optimizer import Location, TimeWindow
from webui.api import visible_region
from webui.auth import api_roles
from webui.state import actor, audit_view, now, web_state

log = logging.getLogger(__name__)

slots_bp = Blueprint("slots", __name__, url_prefix="/api/v1")

REQUEST_FIELDS = frozenset(
    {
        "lat",
        "lon",
        "duration_min",
        "from",
        "days",
        "borrower_id",
        "skills",
        "crew_size",
        "window_min",
        "address",
    }
)
BOOKING_FIELDS = REQUEST_FIELDS | {"day", "window_start", "window_end", "visit_id"}


@slots_bp.post("/regions/<region_id>/slots")
@api_roles("admin", "dispatcher")
def offer(region_id: str) -> Response:
    """The windows the region's teams can keep for a new appointment, day by day."""
    body = _body(REQUEST_FIELDS)
    slot_request, _zone = _request(region_id, body)
    try:
        answer = find_slots(web_state().engine, web_state().settings, slot_request, now=now())
    except (ValueError, OSError) as exc:
        abort(422, description=str(exc))
    audit_view(
        "view_slots",
        "region",
        region_id,
        {"borrower": slot_request.borrower_id, "days": slot_request.num_days},
    )
    return jsonify(answer.as_json())


@slots_bp.post("/regions/<region_id>/bookings")
@api_roles("admin", "dispatcher")
def book(region_id: str) -> tuple[Response, int]:
    """Book an offered window: the appointment is created (agreed now) if the day can still
    keep it, else 409 saying to pick another."""
    body = _body(BOOKING_FIELDS)
    slot_request, zone = _request(region_id, body)
    day = _date(body.get("day"), "day")
    start = _seconds_of(body.get("window_start"), day, zone, "window_start")
    end = _seconds_of(body.get("window_end"), day, zone, "window_end")
    if end < start:
        abort(422, description="`window_end` must not be before `window_start`")
    window = TimeWindow(start, end)
    visit_id = body.get("visit_id")
    if visit_id is not None and (not isinstance(visit_id, str) or not 1 <= len(visit_id) <= 64):
        abort(422, description="`visit_id` must be a string of 1 to 64 characters")
    try:
        booked = book_slot(
            web_state().engine,
            web_state().settings,
            slot_request,
            day,
            window,
            now=now(),
            actor=actor(),
            visit_id=visit_id,
        )
    except SlotTakenError as exc:
        abort(409, description=str(exc))
    except (ValueError, OSError) as exc:
        abort(422, description=str(exc))
    return jsonify({"visit_id": booked, "region": region_id, "day": day.isoformat()}), 201


def _body(allowed: frozenset[str]) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="send a JSON object (Content-Type: application/json)")
    unknown = sorted(set(body) - allowed)
    if unknown:
        abort(422, description=f"unknown field(s) {', '.join(unknown)}")
    return body


def _request(region_id: str, body: dict[str, Any]) -> tuple[SlotRequest, str]:
    """The slot request of `body` for the region, with the region's time zone; 404 for a
    region outside the caller's scope, 422 naming a bad field."""
    with read_scope(web_state().engine) as db:
        zone = visible_region(db, region_id).timezone
    lat, lon = _number(body, "lat"), _number(body, "lon")
    skills = body.get("skills", [])
    if not isinstance(skills, list) or not all(isinstance(s, str) and s for s in skills):
        abort(422, description="`skills` must be a list of skill names")
    borrower = body.get("borrower_id")
    if borrower is not None and (not isinstance(borrower, str) or not 1 <= len(borrower) <= 64):
        abort(422, description="`borrower_id` must be a string of 1 to 64 characters")
    address = body.get("address", "")
    if not isinstance(address, str) or len(address) > 500:
        abort(422, description="`address` must be a string of at most 500 characters")
    first = body.get("from")
    today = now().astimezone(ZoneInfo(zone)).date()
    try:
        slot_request = SlotRequest(
            region_id=region_id,
            location=Location(lat, lon),
            duration_s=_whole(body, "duration_min", 30) * 60,
            first_day=_date(first, "from") if first is not None else today,
            num_days=_whole(body, "days", 5),
            borrower_id=borrower,
            skills=frozenset(skills),
            crew_size=_whole(body, "crew_size", 1),
            window_s=_whole(body, "window_min", 120) * 60,
            address=address,
        )
    except ValueError as exc:
        abort(422, description=str(exc))
    return slot_request, zone


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        abort(422, description=f"`{name}` is required: a number of degrees")
    return float(value)


def _whole(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        abort(422, description=f"`{name}` must be a whole number")
    return value


def _date(value: Any, name: str) -> date:
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    abort(422, description=f"`{name}` must be a date, YYYY-MM-DD")


def _seconds_of(value: Any, day: date, zone: str, name: str) -> int:
    """An ISO local date-time of `day` (or the next, for a window past midnight) as
    seconds since the day's local midnight, as the offered slots give them."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        abort(422, description=f"`{name}` must be an ISO 8601 date-time with offset")
    local = moment.astimezone(ZoneInfo(zone))
    if not day <= local.date() <= day + timedelta(days=1):
        abort(422, description=f"`{name}` must fall on `day`")
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(zone))
    wall = local.replace(tzinfo=None) - midnight.replace(tzinfo=None)
    return int(wall.total_seconds())
