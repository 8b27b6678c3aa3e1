"""A small, hand-made web site's data: two regions, three field agents, stored plans, users.

Small on purpose: every id is known, so a test can say exactly what each user may see and
fail on any other id in a response. North has two teams (agent A1 with visits N-V1 and N-V2,
agent A2 with N-V3) and an unassigned visit N-V4; south has agent S1 with S-V1. Both regions
have the same plan as current and as published on `DAY`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from doorstep.accounts import create_user
from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.store import plan_rows_from_document, save_plan

DAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
"""10:00 in Helsinki on the plan day."""
PASSWORD = "correct horse battery"
TINY_NETWORK = Path(__file__).resolve().parent.parent / "geo" / "data" / "tiny.osm"

VISITS_OF = {
    "agent_a": {"N-V1", "N-V2"},
    "agent_b": {"N-V3"},
}
NORTH_VISITS = {"N-V1", "N-V2", "N-V3", "N-V4"}
SOUTH_VISITS = {"S-V1"}
USERS = {
    "admin": {"role": "admin"},
    "disp": {"role": "dispatcher", "regions": ["north"]},
    "disp_south": {"role": "dispatcher", "regions": ["south"]},
    "agent_a": {"role": "agent", "agent_id": "A1"},
    "agent_b": {"role": "agent", "agent_id": "A2"},
}
"""User name -> what `create_user` gets; everyone's password is `PASSWORD`."""


def iso(wall: str, day: date = DAY) -> str:
    """The ISO local date-time of wall-clock time "HH:MM" on `day` in Helsinki (winter)."""
    return f"{day.isoformat()}T{wall}:00+02:00"


def seconds(wall: str) -> int:
    hours, minutes = wall.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def hhmm(total: int) -> str:
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}"


def stop(n: int, visit_id: str, borrower_id: str, lat: float, lon: float, at: str) -> dict:
    """Stop `n` of a route: a 30-minute visit starting at `at`, window `at` to an hour later."""
    end = hhmm(seconds(at) + 1800)
    return {
        "sequence": n,
        "visit_id": visit_id,
        "borrower_id": borrower_id,
        "kind": "appointment",
        "address": f"Street {n} of {visit_id}",
        "lat": lat,
        "lon": lon,
        "windows": [{"start": iso(at), "end": iso(hhmm(seconds(at) + 3600))}],
        "arrival": iso(at),
        "start": iso(at),
        "end": iso(end),
        "waiting_s": 0,
        "travel_time_s": 300,
        "travel_distance_m": 1200,
        "policy": "cn@2026.1",
    }


def route(team_id: str, agent_id: str, name: str, stops: list[dict]) -> dict:
    return {
        "team_id": team_id,
        "agent_ids": [agent_id],
        "agent_names": [name],
        "mode": "drive",
        "start_label": "office",
        "departure": iso("09:00"),
        "arrival": iso("16:00"),
        "stops": stops,
        "breaks": [],
        "num_stops": len(stops),
        "travel_time_s": 300 * len(stops),
        "travel_distance_m": 1200 * len(stops),
        "service_time_s": 1800 * len(stops),
        "waiting_time_s": 0,
        "geometry": {
            "type": "LineString",
            "coordinates": [[25.0, 60.0]] + [[s["lon"], s["lat"]] for s in stops] + [[25.0, 60.0]],
        },
    }


def plan_document(region: str, routes: list[dict], unassigned: list[dict]) -> dict[str, Any]:
    stops = sum(len(r["stops"]) for r in routes)
    return {
        "format_version": 1,
        "day": DAY.isoformat(),
        "timezone": "Europe/Helsinki",
        "region": region,
        "policy": "cn@2026.1",
        "routes": routes,
        "unassigned": unassigned,
        "summary": {
            "visits": stops + len(unassigned),
            "visits_routed": stops,
            "appointments": stops,
            "appointments_kept": stops,
            "unassigned": len(unassigned),
            "unassigned_by_reason": {"missing_skill": len(unassigned)} if unassigned else {},
            "travel_time_s": 300 * stops,
            "travel_distance_m": 1200 * stops,
            "per_team": [],
            "excluded_by_policy": [],
            "notes": [],
            "solver_status": "SUCCESS",
            "validated": True,
            "stage_seconds": {},
        },
    }


NORTH_PLAN = plan_document(
    "north",
    [
        route(
            "A1",
            "A1",
            "Aino",
            [
                stop(1, "N-V1", "B1", 60.0005, 25.0010, "10:00"),
                stop(2, "N-V2", "B2", 60.0010, 25.0030, "11:00"),
            ],
        ),
        route("A2", "A2", "Ben", [stop(1, "N-V3", "B3", 60.0002, 25.0035, "10:30")]),
    ],
    [{"visit_id": "N-V4", "reason_code": "missing_skill", "reason": "no agent speaks sv"}],
)
SOUTH_PLAN = plan_document(
    "south", [route("S1", "S1", "Sanna", [stop(1, "S-V1", "B9", 60.0008, 25.0008, "10:00")])], []
)


def build_small_site(engine: Engine, *, network: str = str(TINY_NETWORK)) -> None:
    """Regions, agents, borrowers, visits, the plans (current and published) and the users.

    Borrower B1 also has a flexible visit N-V9 on the day after `DAY`, so a test can see an
    outcome recorded today count against tomorrow's plan.
    """
    with session_scope(engine) as session:
        for region in ("north", "south"):
            session.add(
                m.Region(
                    id=region,
                    name=region.title(),
                    timezone="Europe/Helsinki",
                    country="FI",
                    policy="cn",
                    network=network,
                )
            )
        session.flush()
        for agent_id, region, name in (
            ("A1", "north", "Aino"),
            ("A2", "north", "Ben"),
            ("S1", "south", "Sanna"),
        ):
            session.add(
                m.Agent(
                    id=agent_id,
                    region_id=region,
                    name=name,
                    mode="drive",
                    start_lat=60.0,
                    start_lon=25.0,
                    start_label="office",
                    shift_start=seconds("09:00"),
                    shift_end=seconds("17:00"),
                )
            )
        for borrower in ("B1", "B2", "B3", "B4", "B9"):
            session.add(m.Borrower(id=borrower))
        session.flush()
        for visit_id, region, borrower, lat, lon, day in (
            ("N-V1", "north", "B1", 60.0005, 25.0010, DAY),
            ("N-V2", "north", "B2", 60.0010, 25.0030, DAY),
            ("N-V3", "north", "B3", 60.0002, 25.0035, DAY),
            ("N-V4", "north", "B4", 60.0006, 25.0025, DAY),
            ("S-V1", "south", "B9", 60.0008, 25.0008, DAY),
            ("N-V9", "north", "B1", 60.0005, 25.0010, date(2026, 11, 25)),
        ):
            session.add(
                m.Visit(
                    id=visit_id,
                    region_id=region,
                    day=day,
                    borrower_id=borrower,
                    lat=lat,
                    lon=lon,
                    address=f"Address of {visit_id}",
                    duration_s=1800,
                    kind="appointment" if day == DAY else "flexible",
                    windows=[[seconds("10:00"), seconds("12:00")]] if day == DAY else [],
                )
            )
        session.flush()
        for region, document in (("north", NORTH_PLAN), ("south", SOUTH_PLAN)):
            for status in ("current", "published"):
                store_plan(session, document, status, region)
        for name, spec in USERS.items():
            create_user(session, name, PASSWORD, actor="test", **spec)  # type: ignore[arg-type]


def store_plan(session: Session, document: dict, status: str, region: str = "north") -> None:
    """Store a hand-made plan document as the region-day's plan with `status`."""
    routes, stops, unassigned = plan_rows_from_document(document)
    save_plan(
        session,
        region_id=region,
        day=DAY,
        document=document,
        routes=routes,
        stops=stops,
        unassigned=unassigned,
        policy="cn@2026.1",
        objective=0,
        solve_seconds=0.0,
        status=status,
    )
