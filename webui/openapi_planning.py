"""The OpenAPI description of the planning actions (`webui.api_planning`): imports, planning
jobs and the comparison of plans. Merged into `webui.openapi.openapi_document`."""

from __future__ import annotations

from typing import Any

from doorstep.jobs import MAX_TIME_LIMIT_S, MIN_TIME_LIMIT_S, STAGE_PROGRESS
from doorstep.plan_diff import RETIMED_AFTER_S
from webui.api_planning import IMPORT_MAX_BYTES, IMPORT_MAX_FILES
from webui.openapi_parts import DAY_PARAM, REGION_PARAM, errors

_INSTANT = {"type": "string", "nullable": True, "description": "ISO 8601 instant, UTC"}
_JOB = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def planning_paths(plan_path: str) -> dict[str, Any]:
    """The paths of the planning actions; `plan_path` is the region-day prefix."""
    return {
        f"{plan_path}/imports": {
            "post": {
                "summary": "Import agents, visits and history files (admin, dispatcher)",
                "description": (
                    f"Up to {IMPORT_MAX_FILES} CSV files (README, Input files; the kind of each "
                    "comes from its header), all or nothing: every row of every file is "
                    "checked first, and any problem is listed with its file, row and field "
                    "while nothing is imported. Rows are matched by id, so importing a file "
                    "again changes nothing. With `replace_day` the visits file is the "
                    f"region-day's whole list. At most {IMPORT_MAX_BYTES // 2**20} MiB."
                ),
                "operationId": "importFiles",
                "parameters": [REGION_PARAM, DAY_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["files"],
                                "properties": {
                                    "files": {
                                        "type": "array",
                                        "items": {"type": "string", "format": "binary"},
                                    },
                                    "replace_day": {"type": "string", "enum": ["true", "false"]},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json("Import", "Imported"),
                    "422": _json("ImportRefused", "Nothing imported: the problems found"),
                    **errors(400, 401, 403, 404, 413),
                },
            }
        },
        f"{plan_path}/jobs": {
            "post": {
                "summary": "Plan the region-day in the background (admin, dispatcher)",
                "description": (
                    "Starts a planning job, which stores its plan as the region-day's current "
                    "plan when done (publish it for agents to see it). `kind` `replan` "
                    "re-plans from where the agents are now, keeping what is done or under "
                    "way, around the day's events (default time limit 10 s); the result then "
                    "holds `compared_with_basis`, the difference from the plan the agents "
                    "follow. While one is queued "
                    "or running, every request for the same region-day gets that job (200) "
                    "instead of a new one (202). Follow it with GET /regions/{region_id}/"
                    "jobs/{job_id}."
                ),
                "operationId": "requestPlanning",
                "parameters": [REGION_PARAM, DAY_PARAM],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/JobInput"}}
                    },
                },
                "responses": {
                    "202": _json("Job", "A new job"),
                    "200": _json("Job", "The job already planning this region-day"),
                    **errors(400, 401, 403, 404, 422),
                },
            },
            "get": {
                "summary": "The region-day's latest planning jobs (admin, dispatcher)",
                "operationId": "dayJobs",
                "parameters": [REGION_PARAM, DAY_PARAM],
                "responses": {
                    "200": _json("JobList", "Newest first"),
                    **errors(400, 401, 403, 404),
                },
            },
        },
        f"{plan_path}/events": {
            "post": {
                "summary": "Record what changed in the day (admin, dispatcher)",
                "description": (
                    "`kind`: `unavailable` (`agent_id` cannot work from `at`, HH:MM), "
                    "`cancelled` (`visit_id`; the visit is marked cancelled at once), `added` "
                    "(`visit_id`, a visit imported or booked today, to fit in), `overrun` "
                    "(`visit_id` takes `minutes` longer), `late` (`agent_id` is `minutes` "
                    "behind). Every re-plan of the day starts from all of them."
                ),
                "operationId": "recordDayEvent",
                "parameters": [REGION_PARAM, DAY_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/DayEventInput"}
                        }
                    },
                },
                "responses": {
                    "201": _json("DayEvent", "Recorded"),
                    **errors(400, 401, 403, 404, 422),
                },
            },
            "get": {
                "summary": "The day's recorded events, oldest first (admin, dispatcher)",
                "operationId": "dayEvents",
                "parameters": [REGION_PARAM, DAY_PARAM],
                "responses": {
                    "200": _json("DayEventList", "The events"),
                    **errors(400, 401, 403, 404),
                },
            },
        },
        "/regions/{region_id}/jobs/{job_id}": {
            "get": {
                "summary": "A planning job: status, stage, progress, result (admin, dispatcher)",
                "operationId": "planningJob",
                "parameters": [REGION_PARAM, _JOB],
                "responses": {"200": _json("Job", "The job"), **errors(401, 403, 404)},
            }
        },
        "/regions/{region_id}/jobs/{job_id}/cancel": {
            "post": {
                "summary": "Cancel a planning job (admin, dispatcher)",
                "description": (
                    "Ends the job at once; the current plan stays as it was. 409 when the job "
                    "has ended or is already saving its plan."
                ),
                "operationId": "cancelPlanning",
                "parameters": [REGION_PARAM, _JOB],
                "responses": {"200": _json("Job", "Cancelled"), **errors(401, 403, 404, 409)},
            }
        },
        f"{plan_path}/compare": {
            "get": {
                "summary": "What publishing would change (admin, dispatcher; audited)",
                "description": (
                    "The current plan against the published one: visits that change team, "
                    "are newly routed or left out, or start at least "
                    f"{RETIMED_AFTER_S // 60} minutes earlier or later; totals and each "
                    "team's stops and travel before (published) and after (current)."
                ),
                "operationId": "comparePlans",
                "parameters": [REGION_PARAM, DAY_PARAM],
                "responses": {
                    "200": _json("Comparison", "The differences"),
                    **errors(400, 401, 403, 404),
                },
            }
        },
    }


def slot_paths() -> dict[str, Any]:
    """The paths that offer and book appointment times (`webui.api_slots`)."""
    return {
        "/regions/{region_id}/slots": {
            "post": {
                "summary": "Times a team can keep for a new appointment (admin, dispatcher)",
                "description": (
                    "For each day from `from` (default today) for `days` days: the windows "
                    "of `window_min` minutes in which a suitable team can start the visit "
                    "while keeping the day's agreed appointments, within the contact policy "
                    "(hours, caps, the gap since the last visit, notice, and not blocking a "
                    "visit already agreed later). `slots` lists them all, the least extra "
                    "travel first; `days` says for each day how many it has or why none."
                ),
                "operationId": "offerSlots",
                "parameters": [REGION_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/SlotRequest"}}
                    },
                },
                "responses": {
                    "200": _json("SlotAnswer", "Slots and the days' verdicts"),
                    **errors(400, 401, 403, 404, 422),
                },
            }
        },
        "/regions/{region_id}/bookings": {
            "post": {
                "summary": "Book an offered window: create the appointment (admin, dispatcher)",
                "description": (
                    "The slot request plus the `day` and window chosen. The window is checked "
                    "again (two bookings never take the last room): 201 with the new visit, "
                    "agreed now; 409 when the day can no longer keep it."
                ),
                "operationId": "bookSlot",
                "parameters": [REGION_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Booking"}}
                    },
                },
                "responses": {
                    "201": _json("Booked", "The appointment"),
                    **errors(400, 401, 403, 404, 409, 422),
                },
            }
        },
    }


def planning_schemas() -> dict[str, Any]:
    """The component schemas the planning paths refer to."""
    visit_ref = {"type": "object", "properties": {"visit_id": {"type": "string"}}}
    figure = {
        "type": "object",
        "properties": {
            "before": {"type": "integer"},
            "after": {"type": "integer"},
            "change": {"type": "integer"},
        },
    }
    comparison: dict[str, Any] = {
        "type": "object",
        "required": ["visits", "figures", "per_team"],
        "properties": {
            "visits": {
                "type": "object",
                "properties": {
                    "moved": {"type": "array", "items": visit_ref},
                    "added": {"type": "array", "items": visit_ref},
                    "dropped": {"type": "array", "items": visit_ref},
                    "retimed": {"type": "array", "items": visit_ref},
                    "unchanged": {"type": "integer"},
                },
            },
            "figures": {"type": "object", "additionalProperties": figure},
            "per_team": {"type": "array", "items": {"type": "object"}},
        },
    }
    slot_request: dict[str, Any] = {
        "type": "object",
        "required": ["lat", "lon"],
        "properties": {
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "duration_min": {"type": "integer", "minimum": 5, "maximum": 480, "default": 30},
            "from": {"type": "string", "format": "date"},
            "days": {"type": "integer", "minimum": 1, "maximum": 14, "default": 5},
            "borrower_id": {"type": "string", "maxLength": 64},
            "skills": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "crew_size": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1},
            "window_min": {"type": "integer", "minimum": 15, "maximum": 480, "default": 120},
            "address": {"type": "string", "maxLength": 500},
        },
    }
    local = {"type": "string", "description": "ISO 8601 local date-time with offset"}
    return {
        "SlotRequest": slot_request,
        "Booking": {
            **slot_request,
            "required": ["lat", "lon", "day", "window_start", "window_end"],
            "properties": {
                **slot_request["properties"],
                "day": {"type": "string", "format": "date"},
                "window_start": local,
                "window_end": local,
                "visit_id": {"type": "string", "maxLength": 64},
            },
        },
        "Booked": {
            "type": "object",
            "required": ["visit_id", "day"],
            "properties": {
                "visit_id": {"type": "string"},
                "region": {"type": "string"},
                "day": {"type": "string"},
            },
        },
        "SlotAnswer": {
            "type": "object",
            "required": ["slots", "days"],
            "properties": {
                "region": {"type": "string"},
                "timezone": {"type": "string"},
                "slots": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "day": {"type": "string"},
                            "window": {
                                "type": "object",
                                "properties": {"start": local, "end": local},
                            },
                            "team_id": {"type": "string"},
                            "agent_ids": {"type": "array", "items": {"type": "string"}},
                            "position": {"type": "integer"},
                            "estimated_start": local,
                            "extra_travel_s": {"type": "integer"},
                            "extra_distance_m": {"type": "integer"},
                        },
                    },
                },
                "days": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "day": {"type": "string"},
                            "slots": {"type": "integer"},
                            "reason_code": {
                                "type": "string",
                                "nullable": True,
                                "enum": [
                                    "contact_policy",
                                    "past",
                                    "no_window",
                                    "no_team",
                                    "full",
                                    "no_road_connection",
                                    None,
                                ],
                            },
                            "reason": {"type": "string", "nullable": True},
                        },
                    },
                },
            },
        },
        "DayEventInput": {
            "type": "object",
            "required": ["kind"],
            "additionalProperties": False,
            "properties": {
                "kind": {
                    "type": "string",
                    "enum": ["unavailable", "cancelled", "added", "overrun", "late"],
                },
                "agent_id": {"type": "string", "maxLength": 64},
                "visit_id": {"type": "string", "maxLength": 64},
                "at": {"type": "string", "pattern": r"^\d{1,2}:\d{2}$", "example": "13:00"},
                "minutes": {"type": "integer", "minimum": 1, "maximum": 480},
            },
        },
        "DayEvent": {
            "type": "object",
            "required": ["event_id", "kind"],
            "properties": {
                "event_id": {"type": "integer"},
                "kind": {"type": "string"},
                "agent_id": {"type": "string", "nullable": True},
                "visit_id": {"type": "string", "nullable": True},
                "at": {"type": "string", "nullable": True},
                "minutes": {"type": "integer", "nullable": True},
                "recorded_by": {"type": "string"},
                "recorded_at": {"type": "string"},
            },
        },
        "DayEventList": {
            "type": "object",
            "required": ["events"],
            "properties": {
                "region": {"type": "string"},
                "day": {"type": "string"},
                "events": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/DayEvent"},
                },
            },
        },
        "JobInput": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "kind": {"type": "string", "enum": ["plan", "replan"], "default": "plan"},
                "time_limit": {
                    "type": "number",
                    "minimum": MIN_TIME_LIMIT_S,
                    "maximum": MAX_TIME_LIMIT_S,
                    "description": "Solver seconds (default DOORSTEP_TIME_LIMIT)",
                },
            },
        },
        "Job": {
            "type": "object",
            "required": ["job_id", "region", "day", "status", "stage", "progress"],
            "properties": {
                "job_id": {"type": "integer"},
                "region": {"type": "string"},
                "day": {"type": "string"},
                "kind": {"type": "string", "enum": ["plan", "replan"]},
                "as_of": _INSTANT,
                "status": {
                    "type": "string",
                    "enum": ["queued", "running", "done", "failed", "cancelled"],
                },
                "stage": {
                    "type": "string",
                    "enum": [*STAGE_PROGRESS, "done"],
                    "description": "The stage reached, in this order",
                },
                "progress": {"type": "number", "minimum": 0, "maximum": 1},
                "time_limit": {"type": "number"},
                "requested_by": {"type": "string"},
                "created_at": _INSTANT,
                "started_at": _INSTANT,
                "finished_at": _INSTANT,
                "cancel_requested_by": {"type": "string", "nullable": True},
                "error": {"type": "string", "description": "Why it failed, and what to do"},
                "plan_id": {"type": "integer", "nullable": True},
                "result": {
                    "type": "object",
                    "description": "When done: `summary` (the new plan's figures) and "
                    "`compared_with_previous` (a Comparison with the plan it replaced, or null)",
                    "properties": {
                        "summary": {"type": "object"},
                        "compared_with_previous": {**comparison, "nullable": True},
                    },
                },
            },
        },
        "JobList": {
            "type": "object",
            "required": ["jobs"],
            "properties": {
                "region": {"type": "string"},
                "day": {"type": "string"},
                "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
            },
        },
        "Comparison": {
            **comparison,
            "properties": {
                **comparison["properties"],
                "region": {"type": "string"},
                "day": {"type": "string"},
                "plan_id": {"type": "integer"},
                "published_plan_id": {"type": "integer"},
            },
        },
        "Import": {
            "type": "object",
            "required": ["files"],
            "properties": {
                "region": {"type": "string"},
                "day": {"type": "string"},
                "files": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string"},
                            "kind": {"type": "string", "enum": ["agents", "visits", "history"]},
                            "added": {"type": "integer"},
                            "changed": {"type": "integer"},
                            "unchanged": {"type": "integer"},
                            "cancelled": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "ImportRefused": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string"},
                "problems": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["file", "message"],
                        "properties": {
                            "file": {"type": "string"},
                            "row": {"type": "integer", "nullable": True},
                            "field": {"type": "string", "nullable": True},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
    }
