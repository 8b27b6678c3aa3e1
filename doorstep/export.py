"""Write a day plan as plan JSON (the contract), GeoJSON and CSV, and summarise it for people.

All times leave here as ISO 8601 local date-times with offset, in the region's time zone.
Files are written atomically: a crash never leaves half a plan on disk.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from doorstep.planning import DayPlan
from optimizer import Plan, ReasonCode, VisitKind

PLAN_FORMAT_VERSION = 1


def plan_document(day_plan: DayPlan) -> dict[str, Any]:
    """The plan JSON document (see README, "Plan JSON")."""
    plan = day_plan.plan
    visits = {v.id: v for v in day_plan.day_input.visits}
    inp = day_plan.day_input
    iso = _iso(plan)
    routes = []
    for route in plan.routes:
        shape = day_plan.shapes.get(route.team_id)
        coordinates = (
            [[lon, lat] for lat, lon in zip(shape.lats, shape.lons, strict=True)] if shape else []
        )
        routes.append(
            {
                "team_id": route.team_id,
                "agent_ids": list(route.agent_ids),
                "agent_names": [inp.agent_names.get(a, "") for a in route.agent_ids],
                "mode": route.mode,
                "start_label": inp.start_labels.get(route.agent_ids[0], ""),
                "departure": iso(route.departure),
                "arrival": iso(route.arrival),
                "stops": [
                    {
                        "sequence": n,
                        "visit_id": stop.visit_id,
                        "borrower_id": stop.borrower_id,
                        "kind": visits[stop.visit_id].kind.value,
                        "address": inp.addresses.get(stop.visit_id, ""),
                        "lat": stop.lat,
                        "lon": stop.lon,
                        "windows": [
                            {"start": iso(w.start), "end": iso(w.end)}
                            for w in visits[stop.visit_id].windows
                        ],
                        "arrival": iso(stop.arrival),
                        "start": iso(stop.start),
                        "end": iso(stop.end),
                        "waiting_s": stop.waiting,
                        "travel_time_s": stop.travel_time,
                        "travel_distance_m": stop.travel_distance,
                        "policy": day_plan.policy,
                    }
                    for n, stop in enumerate(route.stops, start=1)
                ],
                "breaks": [{"start": iso(b.start), "end": iso(b.end)} for b in route.breaks],
                "num_stops": route.num_stops,
                "travel_time_s": route.travel_time,
                "travel_distance_m": route.travel_distance,
                "service_time_s": route.service_time,
                "waiting_time_s": route.waiting_time,
                "geometry": (
                    {"type": "LineString", "coordinates": coordinates} if coordinates else None
                ),
            }
        )
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "day": plan.day.isoformat(),
        "timezone": plan.timezone,
        "region": day_plan.region,
        "policy": day_plan.policy,
        "routes": routes,
        "unassigned": [
            {"visit_id": u.visit_id, "reason_code": u.reason_code.value, "reason": u.reason}
            for u in plan.unassigned
        ],
        "summary": summary(day_plan),
    }


def summary(day_plan: DayPlan) -> dict[str, Any]:
    """Headline figures: what a dispatcher reads first."""
    plan, given = day_plan.plan, day_plan.day_input
    served = {s.visit_id for r in plan.routes for s in r.stops}
    appointments = [v for v in given.visits if v.kind is VisitKind.APPOINTMENT]
    return {
        "visits": len(given.visits),
        "visits_routed": len(served),
        "appointments": len(appointments),
        "appointments_kept": sum(1 for v in appointments if v.id in served),
        "unassigned": len(plan.unassigned),
        "unassigned_by_reason": dict(
            sorted(Counter(u.reason_code.value for u in plan.unassigned).items())
        ),
        "travel_time_s": sum(r.travel_time for r in plan.routes),
        "travel_distance_m": sum(r.travel_distance for r in plan.routes),
        "per_team": [
            {
                "team_id": r.team_id,
                "mode": r.mode,
                "visits": r.num_stops,
                "travel_time_s": r.travel_time,
                "travel_distance_m": r.travel_distance,
                "working_time_s": r.arrival - r.departure if r.stops else 0,
            }
            for r in plan.routes
        ],
        "excluded_by_policy": [
            {"visit_id": u.visit_id, "reason": u.reason}
            for u in plan.unassigned
            if u.reason_code is ReasonCode.CONTACT_POLICY
        ],
        "notes": list(plan.notes),
        "solver_status": str(plan.stats.get("status", "")),
        "validated": True,
        "stage_seconds": {k: round(v, 3) for k, v in day_plan.timings.items()},
    }


def plan_geojson(day_plan: DayPlan) -> dict[str, Any]:
    """Routes as LineStrings and stops as Points, one FeatureCollection."""
    return document_geojson(plan_document(day_plan))


def document_geojson(document: dict[str, Any]) -> dict[str, Any]:
    """`plan_geojson` of a plan JSON document (e.g. one read back from the database).

    Unassigned visits that carry `lat` and `lon` (the web API adds them) become Points with
    `"unassigned": true`, their reason code and reason.
    """
    features: list[dict[str, Any]] = []
    for route in document["routes"]:
        if route["geometry"] is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": route["geometry"],
                "properties": {
                    "team_id": route["team_id"],
                    "agent_ids": route["agent_ids"],
                    "mode": route["mode"],
                    "travel_time_s": route["travel_time_s"],
                    "travel_distance_m": route["travel_distance_m"],
                },
            }
        )
        for stop in route["stops"]:
            props = {k: v for k, v in stop.items() if k not in ("lat", "lon", "windows")}
            props["team_id"] = route["team_id"]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [stop["lon"], stop["lat"]]},
                    "properties": props,
                }
            )
    for item in document["unassigned"]:
        if item.get("lat") is None or item.get("lon") is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]},
                "properties": {
                    "unassigned": True,
                    "visit_id": item["visit_id"],
                    "reason_code": item["reason_code"],
                    "reason": item["reason"],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


CSV_COLUMNS = (
    "team_id",
    "agent_ids",
    "sequence",
    "visit_id",
    "borrower_id",
    "kind",
    "address",
    "lat",
    "lon",
    "arrival",
    "start",
    "end",
    "waiting_s",
    "travel_time_s",
    "travel_distance_m",
)


def plan_csv(day_plan: DayPlan) -> str:
    """One row per stop, in route order; unassigned visits are in the JSON."""
    return document_csv(plan_document(day_plan))


def document_csv(document: dict[str, Any]) -> str:
    """`plan_csv` of a plan JSON document (e.g. one read back from the database)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for route in document["routes"]:
        for stop in route["stops"]:
            writer.writerow(
                {**stop, "team_id": route["team_id"], "agent_ids": ";".join(route["agent_ids"])}
            )
    return buffer.getvalue()


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_plan(day_plan: DayPlan, path: Path) -> None:
    write_atomic(path, json.dumps(plan_document(day_plan), indent=2, ensure_ascii=False) + "\n")


def summary_text(day_plan: DayPlan) -> str:
    """The summary as a few readable lines for the terminal."""
    s = summary(day_plan)
    lines = [
        f"{day_plan.region} {day_plan.plan.day.isoformat()} ({day_plan.plan.timezone})",
        f"  visits routed      {s['visits_routed']} of {s['visits']}",
        f"  appointments kept  {s['appointments_kept']} of {s['appointments']}",
        f"  travel             {_hm(s['travel_time_s'])}, {s['travel_distance_m'] / 1000:.1f} km",
    ]
    if s["unassigned_by_reason"]:
        lines.append("  unassigned by reason")
        lines += [f"    {code:<24}{n}" for code, n in s["unassigned_by_reason"].items()]
    if s["excluded_by_policy"]:
        lines.append(f"  excluded by the contact policy ({day_plan.policy})")
        lines += [f"    {u['visit_id']}: {u['reason']}" for u in s["excluded_by_policy"]]
    lines.append("  per agent                 mode   visits  travel    distance  working")
    for team in s["per_team"]:
        lines.append(
            f"    {team['team_id']:<22}{team['mode']:<7}{team['visits']:>6}  "
            f"{_hm(team['travel_time_s']):>7}  {team['travel_distance_m'] / 1000:>6.1f} km"
            f"  {_hm(team['working_time_s']):>7}"
        )
    lines += [f"  note: {note}" for note in s["notes"]]
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in s["stage_seconds"].items())
    lines.append(f"  stages             {stages}")
    return "\n".join(lines)


def _hm(seconds: int) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}"


def _iso(plan: Plan) -> Any:
    def iso(seconds: int) -> str:
        return plan.local_time(seconds).isoformat()

    return iso
