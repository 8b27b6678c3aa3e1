"""The dispatcher's planning actions in the JSON API: import files, plan in the background,
follow and cancel the job, and compare the current plan with the published one.

Same rules as `webui.api`: admins and the region's dispatchers only, a region outside the
caller's scope answers 404, errors are `{"error", "message"}`, and every response that
carries visit ids is written to the audit log.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from werkzeug.utils import secure_filename

from doorstep import jobs
from doorstep.db.days import UnknownRegionError
from doorstep.db.engine import read_scope
from doorstep.db.geocache import DatabaseGeocodeCache
from doorstep.db.store import CURRENT, load_plan
from doorstep.errors import InputError
from doorstep.geocode import geocoder_from_settings
from doorstep.importer import import_files
from doorstep.plan_diff import compare_plans
from doorstep.published import PUBLISHED
from doorstep.replan import day_events, record_event
from webui.api import parse_day, visible_region
from webui.auth import api_roles
from webui.state import actor, audit_view, now, web_state

log = logging.getLogger(__name__)

planning_bp = Blueprint("planning", __name__, url_prefix="/api/v1")

IMPORT_MAX_BYTES = 20 * 1024 * 1024
"""Largest import upload: tens of thousands of visit rows."""
IMPORT_MAX_FILES = 3
JOB_FIELDS = frozenset({"time_limit", "kind"})
EVENT_FIELDS = frozenset({"kind", "agent_id", "visit_id", "at", "minutes"})
JOBS_LISTED = 10
REPLAN_TIME_LIMIT = 10.0
"""A re-plan's default solver seconds: it must answer while the day goes on."""


@planning_bp.post("/regions/<region_id>/days/<day>/imports")
@api_roles("admin", "dispatcher")
def import_day(region_id: str, day: str) -> tuple[Response, int]:
    """Import agents.csv, visits.csv and history.csv for the region-day, all or nothing;
    every problem of every file with its file, row and field."""
    parsed = parse_day(day)
    with read_scope(web_state().engine) as db:
        visible_region(db, region_id)
    request.max_content_length = IMPORT_MAX_BYTES
    uploads = request.files.getlist("files")
    if not uploads or len(uploads) > IMPORT_MAX_FILES:
        abort(
            422,
            description=f"send 1 to {IMPORT_MAX_FILES} CSV files as multipart form field `files`",
        )
    replace_day = request.form.get("replace_day", "false").lower()
    if replace_day not in ("true", "false"):
        abort(422, description="`replace_day` must be true or false")
    settings = web_state().settings
    engine = web_state().engine
    with tempfile.TemporaryDirectory(prefix="doorstep-import-") as folder:
        paths = []
        for number, upload in enumerate(uploads, start=1):
            name = secure_filename(upload.filename or "") or f"file{number}.csv"
            path = Path(folder) / f"{number}-{name}"
            upload.save(path)
            paths.append(path)
        geocoder = geocoder_from_settings(
            settings.geocoder_url, settings.geocoder_min_delay, DatabaseGeocodeCache(engine)
        )
        try:
            reports = import_files(
                engine,
                paths,
                region_id=region_id,
                day=parsed,
                actor=actor(),
                geocode=geocoder,
                replace_day=replace_day == "true",
            )
        except InputError as exc:
            problems = [
                {
                    "file": _shown_name(p.file),
                    "row": p.row,
                    "field": p.field,
                    "message": p.message,
                }
                for p in exc.problems
            ]
            body = {
                "error": "invalid_input",
                "message": f"{len(problems)} problem(s) in the files; nothing was imported",
                "problems": problems,
            }
            return jsonify(body), 422
        except (UnknownRegionError, ValueError) as exc:
            abort(422, description=str(exc))
    files = [
        {
            "file": _shown_name(r.path.name),
            "kind": r.kind,
            "added": r.added,
            "changed": r.changed,
            "unchanged": r.unchanged,
            "cancelled": r.details.get("cancelled", 0),
        }
        for r in reports
    ]
    log.info("import into %s on %s: %d file(s)", region_id, parsed.isoformat(), len(files))
    return jsonify({"region": region_id, "day": parsed.isoformat(), "files": files}), 200


def _shown_name(stored: str) -> str:
    """The uploaded file's own name (the temporary copy is numbered to keep names apart)."""
    number, _, name = stored.partition("-")
    return name if number.isdigit() and name else stored


@planning_bp.post("/regions/<region_id>/days/<day>/jobs")
@api_roles("admin", "dispatcher")
def request_planning(region_id: str, day: str) -> tuple[Response, int]:
    """Plan the region-day in the background: 202 with a new job, or 200 with the job
    already planning it (two dispatchers get one job)."""
    parsed = parse_day(day)
    with read_scope(web_state().engine) as db:
        visible_region(db, region_id)
    body = request.get_json(silent=True)
    if body is None and not request.data:
        body = {}
    if not isinstance(body, dict):
        abort(400, description='send a JSON object, e.g. {"time_limit": 20}, or no body')
    unknown = sorted(set(body) - JOB_FIELDS)
    if unknown:
        abort(422, description=f"unknown field(s) {', '.join(unknown)}")
    kind = body.get("kind", jobs.PLAN)
    if kind not in jobs.KINDS:
        abort(422, description=f"`kind` must be one of {', '.join(jobs.KINDS)}")
    default = web_state().settings.time_limit
    limit = body.get(
        "time_limit", min(default, REPLAN_TIME_LIMIT) if kind == jobs.REPLAN else default
    )
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        abort(422, description="`time_limit` must be a number of seconds")
    try:
        job, created = jobs.request_job(
            web_state().engine,
            region_id,
            parsed,
            time_limit=float(limit),
            actor=actor(),
            kind=kind,
            as_of=now(),
        )
    except jobs.JobNotFoundError as exc:
        abort(404, description=str(exc))
    except jobs.JobError as exc:
        abort(422, description=str(exc))
    if created:
        web_state().launch(job.id)
        log.info("planning job %d for %s on %s started", job.id, region_id, parsed.isoformat())
    return jsonify(_shown(job)), 202 if created else 200


@planning_bp.post("/regions/<region_id>/days/<day>/events")
@api_roles("admin", "dispatcher")
def record_day_event(region_id: str, day: str) -> tuple[Response, int]:
    """Record what changed in the day (an agent unavailable from a time, a visit cancelled,
    added, taking longer, an agent running late); the next re-plan starts from it."""
    parsed = parse_day(day)
    with read_scope(web_state().engine) as db:
        visible_region(db, region_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="send the event as a JSON object")
    unknown = sorted(set(body) - EVENT_FIELDS)
    if unknown:
        abort(422, description=f"unknown field(s) {', '.join(unknown)}")
    for name in ("kind", "agent_id", "visit_id", "at"):
        if body.get(name) is not None and not isinstance(body[name], str):
            abort(422, description=f"`{name}` must be a string")
    minutes = body.get("minutes")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int)):
        abort(422, description="`minutes` must be a whole number")
    try:
        event = record_event(
            web_state().engine,
            region_id,
            parsed,
            str(body.get("kind", "")),
            actor=actor(),
            agent_id=body.get("agent_id"),
            visit_id=body.get("visit_id"),
            at=_clock(body.get("at")),
            minutes=minutes,
        )
    except ValueError as exc:
        abort(422, description=str(exc))
    return jsonify(event.as_json()), 201


@planning_bp.get("/regions/<region_id>/days/<day>/events")
@api_roles("admin", "dispatcher")
def list_day_events(region_id: str, day: str) -> Response:
    """The events recorded for the region-day, oldest first."""
    parsed = parse_day(day)
    with read_scope(web_state().engine) as db:
        visible_region(db, region_id)
    events = [e.as_json() for e in day_events(web_state().engine, region_id, parsed)]
    return jsonify({"region": region_id, "day": parsed.isoformat(), "events": events})


def _clock(value: str | None) -> int | None:
    """ "HH:MM" as seconds since midnight; 422 when it is not one."""
    if value is None:
        return None
    hours, found, minutes = value.partition(":")
    if not (found and hours.isdigit() and minutes.isdigit() and int(minutes) < 60):
        abort(422, description="`at` must be a time, HH:MM")
    return int(hours) * 3600 + int(minutes) * 60


@planning_bp.get("/regions/<region_id>/days/<day>/jobs")
@api_roles("admin", "dispatcher")
def day_jobs(region_id: str, day: str) -> Response:
    """The region-day's latest planning jobs, newest first (an active one is first)."""
    parsed = parse_day(day)
    with read_scope(web_state().engine) as db:
        visible_region(db, region_id)
    found = jobs.jobs_of(web_state().engine, region_id, day=parsed, limit=JOBS_LISTED)
    return jsonify(
        {"region": region_id, "day": parsed.isoformat(), "jobs": [_shown(j) for j in found]}
    )


@planning_bp.get("/regions/<region_id>/jobs/<int:job_id>")
@api_roles("admin", "dispatcher")
def planning_job(region_id: str, job_id: int) -> Response:
    """One planning job: status, stage, progress and, when done, what the plan changed."""
    with read_scope(web_state().engine) as db:
        visible_region(db, region_id)
    try:
        job = jobs.job(web_state().engine, job_id, region_id=region_id)
    except jobs.JobNotFoundError as exc:
        abort(404, description=str(exc))
    return jsonify(_shown(job))


@planning_bp.post("/regions/<region_id>/jobs/<int:job_id>/cancel")
@api_roles("admin", "dispatcher")
def cancel_planning(region_id: str, job_id: int) -> Response:
    """Cancel a planning job; the current plan stays as it was."""
    with read_scope(web_state().engine) as db:
        visible_region(db, region_id)
    try:
        job = jobs.cancel_job(web_state().engine, job_id, actor=actor(), region_id=region_id)
    except jobs.JobNotFoundError as exc:
        abort(404, description=str(exc))
    except jobs.JobError as exc:
        abort(409, description=str(exc))
    return jsonify(_shown(job))


def _shown(job: jobs.Job) -> dict[str, Any]:
    """The job as JSON; when its result lists visits, the view is audited."""
    body = job.as_json()
    compared = job.result and (
        job.result.get("compared_with_previous") or job.result.get("compared_with_basis")
    )
    if compared:
        audit_view(
            "view_job",
            "planning_job",
            str(job.id),
            {"region": job.region_id, "day": job.day.isoformat(), "plan_id": job.plan_id},
        )
    return body


@planning_bp.get("/regions/<region_id>/days/<day>/compare")
@api_roles("admin", "dispatcher")
def compare(region_id: str, day: str) -> Response:
    """What publishing would change: the current plan against the published one."""
    parsed = parse_day(day)
    with read_scope(web_state().engine) as db:
        visible_region(db, region_id)
        current = load_plan(db, region_id, parsed, CURRENT)
        published = load_plan(db, region_id, parsed, PUBLISHED)
        if current is None:
            abort(
                404, description=f"region {region_id} has no current plan on {parsed.isoformat()}"
            )
        if published is None:
            abort(
                404,
                description=f"nothing is published for {region_id} on {parsed.isoformat()} yet; "
                "publishing the current plan shows all of it to the agents",
            )
        diff = compare_plans(published.document, current.document)
        ids = {"plan_id": current.id, "published_plan_id": published.id}
    audit_view("view_compare", "plan", f"{region_id}/{parsed.isoformat()}", ids)
    return jsonify({"region": region_id, "day": parsed.isoformat(), **ids, **diff})
