"""The pieces every part of the OpenAPI document uses: path parameters, error responses."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "example": "2026-11-24"}
REGION_PARAM = {
    "name": "region_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 64},
    "example": "helsinki-sample",
}
DAY_PARAM = {
    "name": "day",
    "in": "path",
    "required": True,
    "schema": DATE,
    "description": "The plan day, YYYY-MM-DD, in the region's time zone",
}


def errors(*codes: int) -> dict[str, Any]:
    """The error responses of an operation, one per HTTP status."""
    return {str(code): ERROR for code in codes}
