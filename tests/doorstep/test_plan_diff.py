"""Comparing two plans of a day: moved, added, dropped and re-timed visits, and the figures."""

from __future__ import annotations

from typing import Any

from doorstep.plan_diff import compare_plans


def stop(visit_id: str, start: str) -> dict[str, Any]:
    return {"visit_id": visit_id, "start": f"2026-11-24T{start}:00+02:00"}


def plan(routes: dict[str, list[dict[str, Any]]], **summary: int) -> dict[str, Any]:
    return {
        "routes": [
            {"team_id": team, "stops": stops, "travel_time_s": 600 * len(stops)}
            for team, stops in routes.items()
        ],
        "unassigned": [],
        "summary": summary,
    }


BEFORE = plan(
    {
        "A": [stop("V1", "09:00"), stop("V2", "10:00"), stop("V3", "11:00")],
        "B": [stop("V4", "09:30")],
    },
    visits_routed=4,
    appointments_kept=2,
    travel_time_s=2400,
    travel_distance_m=20000,
)
AFTER = plan(
    {
        "A": [stop("V1", "09:04"), stop("V3", "10:30")],
        "B": [stop("V4", "09:30"), stop("V2", "10:15"), stop("V5", "11:00")],
    },
    visits_routed=5,
    appointments_kept=3,
    travel_time_s=1800,
    travel_distance_m=17500,
)
AFTER["unassigned"] = [{"visit_id": "V9", "reason_code": "crowded_out"}]


def test_each_kind_of_change_is_listed() -> None:
    """V2 changes team, V5 is new, V3 moves by half an hour, V1 by 4 minutes (noise)."""
    diff = compare_plans(BEFORE, AFTER)
    assert diff["visits"] == {
        "moved": [{"visit_id": "V2", "from_team": "A", "to_team": "B"}],
        "added": [{"visit_id": "V5", "team_id": "B"}],
        "dropped": [],
        "retimed": [
            {
                "visit_id": "V3",
                "team_id": "A",
                "from_start": "2026-11-24T11:00:00+02:00",
                "to_start": "2026-11-24T10:30:00+02:00",
                "minutes": -30,
            }
        ],
        "unchanged": 2,
    }


def test_dropped_visits_carry_their_new_reason() -> None:
    """A visit routed before and left out after says why it is out now."""
    diff = compare_plans(
        plan({"A": [stop("V9", "09:00")]}), {**plan({"A": []}), "unassigned": AFTER["unassigned"]}
    )
    assert diff["visits"]["dropped"] == [
        {"visit_id": "V9", "team_id": "A", "reason_code": "crowded_out"}
    ]


def test_figures_and_teams_before_and_after() -> None:
    """Totals with their change, and each team's stops and travel on both sides."""
    diff = compare_plans(BEFORE, AFTER)
    assert diff["figures"]["travel_time_s"] == {"before": 2400, "after": 1800, "change": -600}
    assert diff["figures"]["visits_routed"] == {"before": 4, "after": 5, "change": 1}
    assert diff["per_team"] == [
        {
            "team_id": "A",
            "stops_before": 3,
            "stops_after": 2,
            "travel_time_s_before": 1800,
            "travel_time_s_after": 1200,
        },
        {
            "team_id": "B",
            "stops_before": 1,
            "stops_after": 3,
            "travel_time_s_before": 600,
            "travel_time_s_after": 1800,
        },
    ]


def test_a_plan_compared_with_itself_is_unchanged() -> None:
    """No change at all: every visit unchanged, every list empty."""
    diff = compare_plans(BEFORE, BEFORE)
    assert diff["visits"]["unchanged"] == 4
    assert not any(diff["visits"][k] for k in ("moved", "added", "dropped", "retimed"))
