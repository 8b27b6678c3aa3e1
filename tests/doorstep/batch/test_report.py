"""The morning report: totals, failures and slowest regions from the run record; an HTML
page that is self-contained and escapes everything."""

from __future__ import annotations

from datetime import timedelta

from doorstep.batch.report import build_report, report_html
from doorstep.db import models as m
from tests.doorstep.batch.conftest import DAY


def _run() -> m.BatchRun:
    started = m.utcnow() - timedelta(minutes=3)
    return m.BatchRun(id=7, day=DAY, scheduler="", started_at=started)


def _planned(region: str, visits: int, wall: float, parts: int = 1) -> m.BatchRegionResult:
    return m.BatchRegionResult(
        run_id=7,
        region_id=region,
        status="planned",
        plan_id=1,
        visits=visits,
        routed=visits - 1,
        appointments=2,
        appointments_kept=2,
        parts=parts,
        attempts=1,
        solve_seconds=wall - 1,
        wall_seconds=wall,
        detail={
            "unassigned": 1,
            "unassigned_by_reason": {"crowded_out": 1},
            "travel_time_s": 3600,
            "travel_distance_m": 12_000,
            "travel_per_agent": [
                {
                    "team_id": "C1",
                    "agent_ids": ["A1", "A2"],
                    "mode": "drive",
                    "visits": visits - 1,
                    "travel_time_s": 3600,
                    "travel_distance_m": 12_000,
                    "working_time_s": 28_000,
                }
            ],
        },
    )


def test_report_totals_failures_and_slowest() -> None:
    """Totals add the regions up; failures carry kind and cause; the slowest come first."""
    failed = m.BatchRegionResult(
        run_id=7,
        region_id="broken",
        status="failed",
        visits=9,
        routed=0,
        appointments=0,
        appointments_kept=0,
        parts=1,
        attempts=1,
        solve_seconds=0.0,
        wall_seconds=0.5,
        error="bad",
        detail={"failure": {"kind": "input", "cause": "visits, row 3: bad"}},
    )
    results = [_planned("a", 10, 5.0), _planned("b", 20, 9.0, parts=2), failed]
    report = build_report(_run(), results, status="partial", workers=2)
    totals = report["totals"]
    assert (totals["regions"], totals["planned"], totals["failed"], totals["split"]) == (3, 2, 1, 1)
    assert (totals["visits"], totals["visits_planned"]) == (39, 28)
    assert totals["unassigned_by_reason"] == {"crowded_out": 2}
    assert [s["region"] for s in report["slowest"]] == ["b", "a"]
    assert report["failures"] == [
        {"region": "broken", "kind": "input", "cause": "visits, row 3: bad"}
    ]
    assert report["wall_seconds"] >= 180


def test_html_is_self_contained_and_escaped() -> None:
    """No script, stylesheet or image is fetched; text from the data cannot inject markup."""
    failed = _planned("evil", 3, 1.0)
    failed.status = "failed"
    failed.detail = {"failure": {"kind": "input", "cause": '<script>alert("x")</script> & co'}}
    page = report_html(
        build_report(_run(), [failed, _planned("a", 5, 2.0)], status="partial", workers=1)
    )
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert "src=" not in page and "href=" not in page and "@import" not in page
    assert page.startswith("<!DOCTYPE html>") and "Failed regions" in page
