"""The OpenAPI 3 document of /api/v1, written by hand next to the code it describes.

Hand-written so it says what the API promises (units, time zones, who may call what), not
what a generator could infer; `tests/webui/test_openapi.py` checks that every route of the
app is described and Schemathesis checks that responses match it.
"""

from __future__ import annotations

from typing import Any

from doorstep.outcomes import CHECKIN_WARNING_M, MAX_NOTE_CHARS, OUTCOMES
from webui.openapi_parts import DATE, DAY_PARAM, REGION_PARAM, errors
from webui.openapi_planning import planning_paths, planning_schemas, slot_paths

API_VERSION = "1.0.0"

_ISO = {"type": "string", "description": "ISO 8601 local date-time with offset"}
_NULLABLE_STR = {"type": "string", "nullable": True}
_NULLABLE_NUM = {"type": "number", "nullable": True}
_STATUS_PARAM = {
    "name": "status",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["current", "published"], "default": "current"},
    "description": "current: the latest plan stored; published: the one agents see",
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 document, as served at /api/v1/openapi.json."""
    plan_path = "/regions/{region_id}/days/{day}"
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Doorstep API",
            "version": API_VERSION,
            "description": (
                "Plans of field agents' home visits. Units: durations in seconds (`_s`), "
                "distances in metres (`_m`), coordinates `lat`/`lon` in WGS84 degrees "
                "(GeoJSON keeps its `[lon, lat]` order). Times a person reads are ISO 8601 "
                "local date-times with offset, in the region's time zone. Authenticate with "
                "a session (sign in at /login; changes need the `X-CSRFToken` header from "
                "`GET /me`) or `Authorization: Bearer <token>` (`doorstep users token`). "
                "Roles: admin (every region), dispatcher (their regions), agent (their own "
                "published route of today). A region outside your scope answers 404."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "security": [],
                    "responses": {"200": _json({"type": "object"}, "The OpenAPI document")},
                }
            },
            "/me": {
                "get": {
                    "summary": "Who is signed in, and map settings for the pages",
                    "operationId": "me",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Me"}, "The caller"),
                        **errors(401),
                    },
                }
            },
            "/regions": {
                "get": {
                    "summary": "Regions the caller may see",
                    "operationId": "regions",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["regions"],
                                "properties": {
                                    "regions": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Region"},
                                    }
                                },
                            },
                            "The regions, by id",
                        ),
                        **errors(401),
                    },
                }
            },
            "/regions/{region_id}/plans": {
                "get": {
                    "summary": "Stored plans of a region, newest day first (admin, dispatcher)",
                    "operationId": "plans",
                    "parameters": [REGION_PARAM],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/PlanList"}, "Plans"),
                        **errors(401, 403, 404),
                    },
                }
            },
            f"{plan_path}/plan": {
                "get": {
                    "summary": "The plan JSON of a region-day (admin, dispatcher; audited)",
                    "operationId": "plan",
                    "parameters": [REGION_PARAM, DAY_PARAM, _STATUS_PARAM],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Plan"}, "The plan"),
                        **errors(400, 401, 403, 404),
                    },
                }
            },
            f"{plan_path}/plan.geojson": {
                "get": {
                    "summary": "The plan as GeoJSON (admin, dispatcher; audited)",
                    "operationId": "planGeojson",
                    "parameters": [REGION_PARAM, DAY_PARAM, _STATUS_PARAM],
                    "responses": {
                        "200": {
                            "description": "Route LineStrings, stop and unassigned Points",
                            "content": {
                                "application/geo+json": {
                                    "schema": {"$ref": "#/components/schemas/FeatureCollection"}
                                }
                            },
                        },
                        **errors(400, 401, 403, 404),
                    },
                }
            },
            f"{plan_path}/plan.csv": {
                "get": {
                    "summary": "The plan's stops as CSV (admin, dispatcher; audited)",
                    "operationId": "planCsv",
                    "parameters": [REGION_PARAM, DAY_PARAM, _STATUS_PARAM],
                    "responses": {
                        "200": {
                            "description": "One row per stop, in route order",
                            "content": {"text/csv": {"schema": {"type": "string"}}},
                        },
                        **errors(400, 401, 403, 404),
                    },
                }
            },
            f"{plan_path}/publish": {
                "post": {
                    "summary": "Publish the current plan to the agents (admin, dispatcher)",
                    "description": (
                        "Copies the region-day's current plan to its published plan, replacing "
                        "the one agents saw, in one transaction."
                    ),
                    "operationId": "publish",
                    "parameters": [REGION_PARAM, DAY_PARAM],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Publication"}, "Published"),
                        **errors(400, 401, 403, 404, 409),
                    },
                }
            },
            f"{plan_path}/moves": {
                "post": {
                    "summary": "Move a visit by hand in the current plan (admin, dispatcher)",
                    "description": (
                        "Takes the visit out of its route (or the unassigned list) and puts it "
                        "at `position` (1 = first stop) in the team's route; re-times both "
                        "routes (leave as late as the first visit allows, each visit as early "
                        "as its windows allow, breaks as early as theirs do) and validates the "
                        "whole plan "
                        "against the region-day as it stands, policy included. 200 with the "
                        "re-timed routes when no rule is broken (saved as the current plan "
                        "when `save` is true; publish to show it to agents); 422 with "
                        "`violations` when one is, and nothing is saved."
                    ),
                    "operationId": "moveVisit",
                    "parameters": [REGION_PARAM, DAY_PARAM],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/MoveInput"}
                            }
                        },
                    },
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Move"}, "Checked (saved)"),
                        "422": _json(
                            {"$ref": "#/components/schemas/MoveRefused"},
                            "The move breaks a rule, or the request is not a valid move",
                        ),
                        **errors(400, 401, 403, 404, 409, 503),
                    },
                }
            },
            "/regions/{region_id}/basemap.geojson": {
                "get": {
                    "summary": "The region's roads, the maps' offline base layer",
                    "operationId": "basemap",
                    "parameters": [REGION_PARAM],
                    "responses": {
                        "200": {
                            "description": "MultiLineStrings by road_class (major, street, path)",
                            "content": {
                                "application/geo+json": {
                                    "schema": {"$ref": "#/components/schemas/FeatureCollection"}
                                }
                            },
                        },
                        **errors(401, 403, 404, 503),
                    },
                }
            },
            **planning_paths(plan_path),
            **slot_paths(),
            "/me/route": {
                "get": {
                    "summary": "The agent's own route today (agent; audited)",
                    "description": (
                        "Today is the date in the agent's region's time zone; `route` is null "
                        "when nothing is published for the agent today. Only the fields a "
                        "visit needs: no other team, nothing about the debt."
                    ),
                    "operationId": "myRoute",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/AgentRoute"}, "The route"),
                        **errors(401, 403, 404),
                    },
                }
            },
            "/me/outcomes": {
                "post": {
                    "summary": "Record a stop's outcome (agent)",
                    "description": (
                        "Stored at once as a contact event that counts toward the borrower's "
                        "limits. `id` is a UUID the client makes when the agent saves: sending "
                        "the same submission again returns 200 with `duplicate: true` and "
                        "stores nothing more. A check-in farther than "
                        f"{CHECKIN_WARNING_M} m from the address is stored with a warning."
                    ),
                    "operationId": "recordOutcome",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OutcomeInput"}
                            }
                        },
                    },
                    "responses": {
                        "201": _json({"$ref": "#/components/schemas/Outcome"}, "Stored"),
                        "200": _json(
                            {"$ref": "#/components/schemas/Outcome"}, "Stored before (a retry)"
                        ),
                        **errors(400, 401, 403, 404, 409, 422),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "doorstep_session"},
            },
            "responses": {
                "Error": _json(
                    {
                        "type": "object",
                        "required": ["error", "message"],
                        "properties": {
                            "error": {"type": "string", "example": "not_found"},
                            "message": {
                                "type": "string",
                                "description": "What went wrong and what to do",
                            },
                        },
                    },
                    "An error, with a sentence saying what to do",
                )
            },
            "schemas": {**_schemas(), **planning_schemas()},
        },
    }


def _schemas() -> dict[str, Any]:
    window = {
        "type": "object",
        "required": ["start", "end"],
        "properties": {"start": _ISO, "end": _ISO},
    }
    point = {
        "type": "object",
        "nullable": True,
        "required": ["lat", "lon"],
        "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
    }
    line = {"type": "object", "nullable": True, "description": "GeoJSON LineString"}
    stop = {
        "type": "object",
        "required": [
            "sequence",
            "visit_id",
            "borrower_id",
            "lat",
            "lon",
            "arrival",
            "start",
            "end",
        ],
        "properties": {
            "sequence": {"type": "integer", "minimum": 1},
            "visit_id": {"type": "string"},
            "borrower_id": {"type": "string"},
            "kind": {"type": "string", "enum": ["appointment", "flexible"]},
            "address": {"type": "string"},
            "lat": {"type": "number"},
            "lon": {"type": "number"},
            "windows": {"type": "array", "items": window},
            "arrival": _ISO,
            "start": _ISO,
            "end": _ISO,
            "waiting_s": {"type": "integer"},
            "travel_time_s": {"type": "integer"},
            "travel_distance_m": {"type": "integer"},
            "policy": {"type": "string"},
        },
    }
    route = {
        "type": "object",
        "required": ["team_id", "agent_ids", "stops"],
        "properties": {
            "team_id": {"type": "string"},
            "agent_ids": {"type": "array", "items": {"type": "string"}},
            "agent_names": {"type": "array", "items": {"type": "string"}},
            "mode": {"type": "string"},
            "start_label": {"type": "string"},
            "departure": _ISO,
            "arrival": _ISO,
            "stops": {"type": "array", "items": stop},
            "breaks": {"type": "array", "items": window},
            "num_stops": {"type": "integer"},
            "travel_time_s": {"type": "integer"},
            "travel_distance_m": {"type": "integer"},
            "service_time_s": {"type": "integer"},
            "waiting_time_s": {"type": "integer"},
            "geometry": line,
            "start": point,
            "end": point,
        },
    }
    agent_stop = {
        "type": "object",
        "required": ["sequence", "visit_id", "lat", "lon", "arrival", "start", "end", "outcome"],
        "additionalProperties": False,
        "properties": {
            "sequence": {"type": "integer"},
            "visit_id": {"type": "string"},
            "borrower_id": {"type": "string"},
            "kind": {"type": "string"},
            "address": {"type": "string"},
            "lat": {"type": "number"},
            "lon": {"type": "number"},
            "windows": {"type": "array", "items": window},
            "arrival": _ISO,
            "start": _ISO,
            "end": _ISO,
            "outcome": {
                "type": "object",
                "nullable": True,
                "properties": {
                    "id": {"type": "string"},
                    "outcome": {"type": "string", "enum": list(OUTCOMES)},
                    "at": _ISO,
                },
            },
        },
    }
    violation = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {
                "type": "string",
                "description": "A validate code (window, shift, break, ...) or `retime`: the "
                "route cannot be laid out in that order",
            },
            "message": {"type": "string"},
            "team_id": _NULLABLE_STR,
            "visit_id": _NULLABLE_STR,
        },
    }
    move = {
        "region": {"type": "string"},
        "day": DATE,
        "visit_id": {"type": "string"},
        "team_id": {"type": "string"},
        "position": {"type": "integer"},
        "routes": {
            "type": "array",
            "items": route,
            "description": "The re-timed routes (empty when one cannot be laid out)",
        },
        "violations": {"type": "array", "items": violation},
        "saved": {"type": "boolean"},
        "plan_id": {"type": "integer", "nullable": True},
    }
    return {
        "MoveInput": {
            "type": "object",
            "required": ["visit_id", "team_id", "position"],
            "additionalProperties": False,
            "properties": {
                "visit_id": {"type": "string", "minLength": 1, "maxLength": 100},
                "team_id": {"type": "string", "minLength": 1, "maxLength": 100},
                "position": {"type": "integer", "minimum": 1},
                "save": {"type": "boolean", "default": False},
            },
        },
        "Move": {
            "type": "object",
            "required": ["routes", "violations", "saved", "plan_id"],
            "properties": move,
        },
        "MoveRefused": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string", "example": "move_refused"},
                "message": {"type": "string"},
                **move,
            },
        },
        "Me": {
            "type": "object",
            "required": ["name", "role", "regions", "locale", "map", "nav_link_template"],
            "properties": {
                "name": {"type": "string"},
                "role": {"type": "string", "enum": ["admin", "dispatcher", "agent"]},
                "regions": {"type": "array", "items": {"type": "string"}},
                "agent_id": _NULLABLE_STR,
                "agent_region": _NULLABLE_STR,
                "locale": {"type": "string", "enum": ["en", "zh"]},
                "map": {
                    "type": "object",
                    "properties": {
                        "tile_url": {
                            **_NULLABLE_STR,
                            "description": "null: draw basemap.geojson instead",
                        },
                        "tile_attribution": {"type": "string"},
                    },
                },
                "nav_link_template": {
                    "type": "string",
                    "description": "{lat}, {lon} and {address} (URL-encoded) to fill in",
                },
                "default_time_limit": {
                    "type": "number",
                    "description": "Solver seconds a planning job gets unless it asks otherwise",
                },
                "csrf_token": {
                    "type": "string",
                    "description": "Session callers only: send as X-CSRFToken with changes",
                },
            },
        },
        "Region": {
            "type": "object",
            "required": ["id", "name", "timezone"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "timezone": {"type": "string", "example": "Europe/Helsinki"},
            },
        },
        "PlanList": {
            "type": "object",
            "required": ["region", "plans"],
            "properties": {
                "region": {"type": "string"},
                "plans": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["plan_id", "day", "status", "created_at"],
                        "properties": {
                            "plan_id": {"type": "integer"},
                            "day": DATE,
                            "status": {"type": "string", "enum": ["current", "published"]},
                            "created_at": {"type": "string"},
                        },
                    },
                },
            },
        },
        "Plan": {
            "type": "object",
            "description": (
                "The plan JSON of the README ('Plan JSON'), plus `plan_id`, `status`, each "
                "route's lead agent `start` and `end`, and each unassigned visit's position"
            ),
            "required": ["day", "timezone", "region", "routes", "unassigned", "summary"],
            "properties": {
                "format_version": {"type": "integer"},
                "plan_id": {"type": "integer"},
                "status": {"type": "string", "enum": ["current", "published"]},
                "day": DATE,
                "timezone": {"type": "string"},
                "region": {"type": "string"},
                "policy": {"type": "string"},
                "routes": {"type": "array", "items": route},
                "unassigned": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["visit_id", "reason_code", "reason"],
                        "properties": {
                            "visit_id": {"type": "string"},
                            "reason_code": {"type": "string"},
                            "reason": {"type": "string"},
                            "lat": _NULLABLE_NUM,
                            "lon": _NULLABLE_NUM,
                            "address": {"type": "string"},
                            "kind": _NULLABLE_STR,
                        },
                    },
                },
                "summary": {"type": "object"},
            },
        },
        "FeatureCollection": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"type": "object"}},
            },
        },
        "Publication": {
            "type": "object",
            "required": ["plan_id", "region", "day", "status", "routes", "stops"],
            "properties": {
                "plan_id": {"type": "integer"},
                "region": {"type": "string"},
                "day": DATE,
                "status": {"type": "string", "enum": ["published"]},
                "routes": {"type": "integer"},
                "stops": {"type": "integer"},
            },
        },
        "AgentRoute": {
            "type": "object",
            "required": ["day", "timezone", "now", "region", "agent_id", "route", "message"],
            "properties": {
                "day": DATE,
                "timezone": {"type": "string"},
                "now": {**_ISO, "description": "The server's clock: time outcomes by it"},
                "region": {"type": "string"},
                "agent_id": {"type": "string"},
                "plan_id": {"type": "integer"},
                "published_at": {"type": "string"},
                "message": {"type": "string"},
                "route": {
                    "type": "object",
                    "nullable": True,
                    "additionalProperties": False,
                    "properties": {
                        "team_id": {"type": "string"},
                        "agent_ids": {"type": "array", "items": {"type": "string"}},
                        "agent_names": {"type": "array", "items": {"type": "string"}},
                        "mode": {"type": "string"},
                        "start_label": {"type": "string"},
                        "departure": _ISO,
                        "arrival": _ISO,
                        "breaks": {"type": "array", "items": window},
                        "num_stops": {"type": "integer"},
                        "geometry": line,
                        "stops": {"type": "array", "items": agent_stop},
                    },
                },
            },
        },
        "OutcomeInput": {
            "type": "object",
            "required": ["id", "visit_id", "outcome"],
            "additionalProperties": False,
            "properties": {
                "id": {
                    "type": "string",
                    "format": "uuid",
                    "description": "Made by the client when the agent saves; a retry reuses it",
                },
                "visit_id": {"type": "string", "maxLength": 64},
                "outcome": {"type": "string", "enum": list(OUTCOMES)},
                "note": {"type": "string", "maxLength": MAX_NOTE_CHARS},
                "at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When the agent recorded it (default: now); today or "
                    "yesterday in the region",
                },
                "promise_amount": {
                    "type": "number",
                    "exclusiveMinimum": True,
                    "minimum": 0,
                    "multipleOf": 0.01,
                    "description": "With promise_to_pay only: the amount promised",
                },
                "promise_date": {
                    **DATE,
                    "description": "With promise_to_pay only: the day promised",
                },
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
            },
        },
        "Outcome": {
            "type": "object",
            "required": ["id", "visit_id", "outcome", "at", "duplicate", "warnings"],
            "properties": {
                "id": {"type": "string"},
                "visit_id": {"type": "string"},
                "outcome": {"type": "string", "enum": list(OUTCOMES)},
                "at": {"type": "string"},
                "duplicate": {"type": "boolean"},
                "checkin_distance_m": {"type": "integer", "nullable": True},
                "warnings": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
