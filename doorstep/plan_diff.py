"""How two plans of one region-day differ: what a dispatcher checks before publishing.

`compare_plans(before, after)` works on plan documents (the plan JSON) and answers: which
visits changed team, which are newly routed or newly left out, which keep their team but
start at another time, and what the change does to travel and to the appointments kept,
in total and per team. Pure: documents in, a document out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

RETIMED_AFTER_S = 5 * 60
"""A visit whose start moves by at least this much counts as re-timed (smaller shifts are
the noise of re-planning, not news to the borrower)."""


def compare_plans(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The difference from plan document `before` to `after` (the same region-day).

    Visits are listed by id with their teams and start times; figures are totals of the
    two plans and their difference (`saved`: positive when `after` travels less).
    """
    old, new = _stops(before), _stops(after)
    moved, retimed = [], []
    for visit_id in sorted(old.keys() & new.keys()):
        (team_a, start_a), (team_b, start_b) = old[visit_id], new[visit_id]
        if team_a != team_b:
            moved.append({"visit_id": visit_id, "from_team": team_a, "to_team": team_b})
            continue
        shift = _seconds_between(start_a, start_b)
        if abs(shift) >= RETIMED_AFTER_S:
            retimed.append(
                {
                    "visit_id": visit_id,
                    "team_id": team_b,
                    "from_start": start_a,
                    "to_start": start_b,
                    "minutes": round(shift / 60),
                }
            )
    reasons = {u["visit_id"]: u.get("reason_code", "") for u in after.get("unassigned", [])}
    added = [{"visit_id": v, "team_id": new[v][0]} for v in sorted(new.keys() - old.keys())]
    dropped = [
        {"visit_id": v, "team_id": old[v][0], "reason_code": reasons.get(v, "")}
        for v in sorted(old.keys() - new.keys())
    ]
    unchanged = len(old.keys() & new.keys()) - len(moved) - len(retimed)
    return {
        "visits": {
            "moved": moved,
            "added": added,
            "dropped": dropped,
            "retimed": retimed,
            "unchanged": unchanged,
        },
        "figures": {
            name: _figure(before, after, name)
            for name in ("visits_routed", "appointments_kept", "travel_time_s", "travel_distance_m")
        },
        "per_team": _per_team(before, after),
    }


def _stops(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """visit id -> (team id, start) of every routed visit."""
    return {
        stop["visit_id"]: (route["team_id"], stop["start"])
        for route in document.get("routes", [])
        for stop in route["stops"]
    }


def _seconds_between(start_a: str, start_b: str) -> float:
    return (datetime.fromisoformat(start_b) - datetime.fromisoformat(start_a)).total_seconds()


def _figure(before: dict[str, Any], after: dict[str, Any], name: str) -> dict[str, int]:
    a = int(before.get("summary", {}).get(name, 0))
    b = int(after.get("summary", {}).get(name, 0))
    return {"before": a, "after": b, "change": b - a}


def _per_team(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Stops and travel per team in both plans, teams in the order of `after` first."""
    rows: dict[str, dict[str, Any]] = {}
    for side, document in (("after", after), ("before", before)):
        for route in document.get("routes", []):
            row = rows.setdefault(
                route["team_id"],
                {
                    "team_id": route["team_id"],
                    "stops_before": 0,
                    "stops_after": 0,
                    "travel_time_s_before": 0,
                    "travel_time_s_after": 0,
                },
            )
            row[f"stops_{side}"] = len(route["stops"])
            row[f"travel_time_s_{side}"] = int(route.get("travel_time_s", 0))
    return list(rows.values())
