"""The morning report of a batch run, as JSON and as a self-contained HTML page.

What the person who checks the night's work reads first: the run's totals, the regions
that failed and why, the slowest regions, then every region with its visits planned,
appointments kept, unassigned visits by reason, travel per agent, solver time and, for a
region solved in parts, its parts. Built from the run record in the database, so a resumed
run's report covers the regions its dead predecessor planned too. The HTML page has no
script and loads nothing from anywhere; every value in it is escaped.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from doorstep.batch import runs
from doorstep.db.models import BatchRegionResult, BatchRun, utcnow
from doorstep.export import write_atomic

REPORT_FORMAT_VERSION = 1
SLOWEST = 10
"""How many of the slowest regions the report lists."""


def build_report(
    run: BatchRun, results: Sequence[BatchRegionResult], *, status: str, workers: int
) -> dict[str, Any]:
    """The report of `run` from its region results (see the module docstring)."""
    regions = [_region(r) for r in sorted(results, key=lambda r: r.region_id)]
    by_status = Counter(r["status"] for r in regions)
    reasons: Counter[str] = Counter()
    for region in regions:
        reasons.update(region["unassigned_by_reason"])
    finished = utcnow()
    totals = {
        "regions": len(regions),
        "planned": by_status[runs.PLANNED],
        "unchanged": by_status[runs.UNCHANGED],
        "failed": by_status[runs.FAILED],
        "skipped": by_status[runs.SKIPPED],
        "split": sum(1 for r in regions if r["parts"] > 1),
        "visits": sum(r["visits"] for r in regions),
        "visits_planned": sum(r["visits_planned"] for r in regions),
        "appointments": sum(r["appointments"] for r in regions),
        "appointments_kept": sum(r["appointments_kept"] for r in regions),
        "unassigned": sum(r["unassigned"] for r in regions),
        "unassigned_by_reason": dict(sorted(reasons.items())),
        "travel_time_s": sum(r["travel_time_s"] for r in regions),
        "travel_distance_m": sum(r["travel_distance_m"] for r in regions),
        "solve_seconds": round(sum(r["solve_seconds"] for r in regions), 3),
    }
    slowest = sorted(
        (r for r in regions if r["status"] == runs.PLANNED),
        key=lambda r: (-r["wall_seconds"], r["region"]),
    )[:SLOWEST]
    return {
        "format_version": REPORT_FORMAT_VERSION,
        "run_id": run.id,
        "day": run.day.isoformat(),
        "status": status,
        "started_at": run.started_at.isoformat(),
        "finished_at": finished.isoformat(),
        "wall_seconds": round((finished - run.started_at).total_seconds(), 3),
        "scheduler": run.scheduler,
        "workers": workers,
        "totals": totals,
        "slowest": [
            {
                "region": r["region"],
                "wall_seconds": r["wall_seconds"],
                "solve_seconds": r["solve_seconds"],
                "visits": r["visits"],
                "parts": r["parts"],
            }
            for r in slowest
        ],
        "failures": [
            {"region": r["region"], **r["failure"]} for r in regions if r["failure"] is not None
        ],
        "regions": regions,
    }


def _region(result: BatchRegionResult) -> dict[str, Any]:
    detail = result.detail or {}
    return {
        "region": result.region_id,
        "status": result.status,
        "plan_id": result.plan_id,
        "visits": result.visits,
        "visits_planned": result.routed,
        "appointments": result.appointments,
        "appointments_kept": result.appointments_kept,
        "unassigned": detail.get("unassigned", 0),
        "unassigned_by_reason": detail.get("unassigned_by_reason", {}),
        "travel_time_s": detail.get("travel_time_s", 0),
        "travel_distance_m": detail.get("travel_distance_m", 0),
        "travel_per_agent": detail.get("travel_per_agent", []),
        "solve_seconds": result.solve_seconds,
        "solver_status": detail.get("solver_status", ""),
        "wall_seconds": result.wall_seconds,
        "stage_seconds": detail.get("stage_seconds", {}),
        "driver_seconds": detail.get("driver_seconds", 0.0),
        "parts": result.parts,
        "part_details": detail.get("part_details", []),
        "attempts": result.attempts,
        "failure": detail.get("failure"),
        "note": detail.get("note", ""),
    }


def report_paths(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """Where the report of a run goes: `batch-<day>-run<id>.json` and `.html` in `folder`."""
    stem = f"batch-{report['day']}-run{report['run_id']}"
    return folder / f"{stem}.json", folder / f"{stem}.html"


def write_report(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """Write the report's JSON and HTML into `folder` (atomically); return both paths."""
    json_path, html_path = report_paths(report, folder)
    write_atomic(json_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    write_atomic(html_path, report_html(report))
    return json_path, html_path


def report_html(report: dict[str, Any]) -> str:
    """The report as one HTML page with its style inline: no script, nothing fetched."""
    t = report["totals"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Doorstep batch {_e(report['day'])}, run {_e(report['run_id'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Nightly batch for {_e(report['day'])} <small>run {_e(report['run_id'])}</small></h1>",
        f'<p class="status {_e(report["status"])}">'
        f"{_e(_STATUS_TEXT.get(report['status'], report['status']))}</p>",
        "<h2>Totals</h2>",
        _table(
            ["", ""],
            [
                ["regions", _count_line(t)],
                ["visits planned", f"{t['visits_planned']:,} of {t['visits']:,}"],
                ["appointments kept", f"{t['appointments_kept']:,} of {t['appointments']:,}"],
                ["unassigned", _reasons(t["unassigned_by_reason"]) or "none"],
                ["travel", f"{_hm(t['travel_time_s'])}, {t['travel_distance_m'] / 1000:,.1f} km"],
                ["solver time", f"{t['solve_seconds']:,.0f} s over all regions"],
                ["wall time", f"{report['wall_seconds']:,.0f} s on {report['workers']} workers"],
                ["scheduler", report["scheduler"] or "local cluster"],
                ["started", report["started_at"]],
                ["finished", report["finished_at"]],
            ],
            cls="totals",
        ),
    ]
    if report["failures"]:
        parts.append("<h2>Failed regions</h2>")
        parts.append(
            _table(
                ["region", "kind", "cause"],
                [[f["region"], f["kind"], f["cause"]] for f in report["failures"]],
                cls="failures",
            )
        )
    if report["slowest"]:
        parts.append("<h2>Slowest regions</h2>")
        parts.append(
            _table(
                ["region", "visits", "parts", "solver s", "wall s"],
                [
                    [
                        s["region"],
                        s["visits"],
                        s["parts"],
                        f"{s['solve_seconds']:.1f}",
                        f"{s['wall_seconds']:.1f}",
                    ]
                    for s in report["slowest"]
                ],
            )
        )
    parts.append("<h2>Regions</h2>")
    parts.append(
        _table(
            [
                "region",
                "status",
                "visits planned",
                "appointments kept",
                "unassigned by reason",
                "travel",
                "solver s",
                "parts",
                "attempts",
            ],
            [
                [
                    r["region"],
                    r["status"],
                    f"{r['visits_planned']} of {r['visits']}",
                    f"{r['appointments_kept']} of {r['appointments']}",
                    _reasons(r["unassigned_by_reason"]) or ("" if r["failure"] else "none"),
                    _hm(r["travel_time_s"]),
                    f"{r['solve_seconds']:.1f}",
                    r["parts"],
                    r["attempts"],
                ]
                for r in report["regions"]
            ],
        )
    )
    for region in report["regions"]:
        parts.append(_region_html(region))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _region_html(region: dict[str, Any]) -> str:
    lines = [f"<details><summary>{_e(region['region'])}: {_e(region['status'])}</summary>"]
    if region["failure"]:
        lines.append(f'<p class="cause">{_e(region["failure"]["cause"])}</p>')
    if region["note"]:
        lines.append(f"<p>{_e(region['note'])}</p>")
    if region["solver_status"]:
        lines.append(f"<p>solver: {_e(region['solver_status'])}</p>")
    if region["part_details"]:
        lines.append(
            _table(
                ["part", "visits", "teams", "routed", "solver s"],
                [
                    [n, p["visits"], p["teams"], p["routed"], f"{p['solve_seconds']:.1f}"]
                    for n, p in enumerate(region["part_details"], start=1)
                ],
            )
        )
    if region["travel_per_agent"]:
        lines.append(
            _table(
                ["team", "agents", "mode", "visits", "travel", "distance", "working"],
                [
                    [
                        a["team_id"],
                        ", ".join(a["agent_ids"]),
                        a["mode"],
                        a["visits"],
                        _hm(a["travel_time_s"]),
                        f"{a['travel_distance_m'] / 1000:.1f} km",
                        _hm(a["working_time_s"]),
                    ]
                    for a in region["travel_per_agent"]
                ],
            )
        )
    lines.append("</details>")
    return "\n".join(lines)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header) if any(header) else ""
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    attr = f' class="{_e(cls)}"' if cls else ""
    return (
        f"<table{attr}>"
        + (f"<thead><tr>{head}</tr></thead>" if head else "")
        + f"<tbody>{body}</tbody></table>"
    )


def _count_line(totals: dict[str, Any]) -> str:
    words = [f"{totals['regions']} in all"]
    for key in ("planned", "unchanged", "failed", "skipped", "split"):
        if totals[key]:
            words.append(f"{totals[key]} {key}")
    return ", ".join(words)


def _reasons(by_reason: dict[str, int]) -> str:
    return ", ".join(f"{code} {n}" for code, n in sorted(by_reason.items()))


def _hm(seconds: int | float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


_STATUS_TEXT = {
    "finished": "Every region was planned.",
    "partial": "Some regions failed: see below for the cause and what to do.",
    "running": "The run is still going.",
}

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:80em}
h1 small{color:#666;font-weight:normal}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.status{font-weight:bold}
.status.partial,.failures td,.cause{color:#a40000}
.status.finished{color:#1a6b1a}
details{margin:.3em 0}
summary{cursor:pointer}
"""
