"""`doorstep slots`: the appointment times a team can keep for a new visit, and booking one."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import click

from doorstep.cli_common import KnownError, actor_name, load_settings, open_database, parse_day


@click.command("slots")
@click.option("--region", "region_id", required=True, help="The region of the visit.")
@click.option("--lat", type=click.FloatRange(-90, 90), required=True, help="Address latitude.")
@click.option("--lon", type=click.FloatRange(-180, 180), required=True, help="Address longitude.")
@click.option(
    "--duration", type=click.IntRange(5, 480), default=30, show_default=True, help="Minutes."
)
@click.option("--from", "first_day", callback=parse_day, help="First day [default: today].")
@click.option("--days", type=click.IntRange(1, 14), default=5, show_default=True)
@click.option("--borrower", help="The borrower's id, so the contact policy counts their history.")
@click.option("--skills", default="", help="Skills the visit needs, comma-separated.")
@click.option("--crew", type=click.IntRange(1, 4), default=1, show_default=True)
@click.option(
    "--window",
    "window_min",
    type=click.IntRange(15, 480),
    default=120,
    show_default=True,
    help="Length of the windows offered, minutes (the visit starts inside one).",
)
@click.option("--address", default="", help="The address, stored with a booked visit.")
@click.option("--book", "book_number", type=click.IntRange(min=1), help="Book slot number N.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option(
    "--today",
    callback=parse_day,
    help="Pretend today is this day (demos and training, as `doorstep serve --today`).",
)
def slots(
    region_id: str,
    lat: float,
    lon: float,
    duration: int,
    first_day: date | None,
    days: int,
    borrower: str | None,
    skills: str,
    crew: int,
    window_min: int,
    address: str,
    book_number: int | None,
    as_json: bool,
    today: date | None,
) -> None:
    """Offer times for a new appointment: the windows a suitable team can keep on each day,
    within the contact policy, the cheapest in travel first; days without one say why.

    Example: doorstep slots --region hki --lat 60.17 --lon 24.94 --duration 45 --borrower B7
    --from 2026-11-24 --days 5, then the same with --book 1 to book the first slot.
    """
    from doorstep.db.days import UnknownRegionError
    from doorstep.db.engine import session_scope
    from doorstep.db.models import Region
    from doorstep.slots import SlotRequest, SlotTakenError, book_slot, find_slots
    from optimizer import Location

    settings = load_settings()
    engine = open_database(settings)
    now = datetime.now(UTC)
    if today is not None:
        now += today - now.date()
    if first_day is None:
        with session_scope(engine) as session:
            region = session.get(Region, region_id)
            zone = region.timezone if region is not None else "UTC"
        first_day = now.astimezone(ZoneInfo(zone)).date()
    try:
        request = SlotRequest(
            region_id=region_id,
            location=Location(lat, lon),
            duration_s=duration * 60,
            first_day=first_day,
            num_days=days,
            borrower_id=borrower,
            skills=frozenset(s.strip() for s in skills.split(",") if s.strip()),
            crew_size=crew,
            window_s=window_min * 60,
            address=address,
        )
        answer = find_slots(engine, settings, request, now=now)
    except (UnknownRegionError, ValueError) as exc:
        raise KnownError(str(exc)) from None
    ranked = answer.ranked()
    if book_number is not None:
        if book_number > len(ranked):
            raise KnownError(f"there are {len(ranked)} slot(s); --book takes 1 to {len(ranked)}")
        chosen = ranked[book_number - 1]
        try:
            visit_id = book_slot(
                engine, settings, request, chosen.day, chosen.window, now=now, actor=actor_name()
            )
        except (SlotTakenError, ValueError) as exc:
            raise KnownError(str(exc)) from None
        shown = chosen.as_json(answer.timezone)
        click.echo(
            f"booked {visit_id}: {chosen.day.isoformat()} {shown['window']['start'][11:16]}-"
            f"{shown['window']['end'][11:16]}; it joins the routes when the day is planned"
        )
        return
    if as_json:
        click.echo(json.dumps(answer.as_json(), ensure_ascii=False, indent=1))
        return
    for number, slot in enumerate(ranked, start=1):
        shown = slot.as_json(answer.timezone)
        click.echo(
            f"{number:>3}  {slot.day.isoformat()}  {shown['window']['start'][11:16]}-"
            f"{shown['window']['end'][11:16]}  {slot.team_id:<10} +{slot.extra_travel_s // 60} min "
            f"travel, +{slot.extra_distance_m / 1000:.1f} km"
        )
    for day in answer.days:
        if not day.slots:
            click.echo(f"     {day.day.isoformat()}  no slot: {day.reason}")
    if not ranked:
        click.echo("no slot in these days; try more --days or a longer --window")
