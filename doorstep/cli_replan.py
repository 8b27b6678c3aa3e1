"""`doorstep replan`: re-plan a region-day from where the agents are, after the day changed."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import click

from doorstep.cli_common import KnownError, actor_name, load_settings, open_database, parse_day


def _clock(text: str) -> int:
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(minutes) < 60):
        raise click.BadParameter(f"{text!r} is not a time; use HH:MM")
    return int(hours) * 3600 + int(minutes) * 60


def _pairs(values: tuple[str, ...], sep: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        key, found, rest = value.partition(sep)
        if not found or not key or not rest:
            raise click.BadParameter(f"{value!r}: use {what}")
        pairs.append((key, rest))
    return pairs


@click.command("replan")
@click.option("--region", "region_id", required=True, help="The region to re-plan.")
@click.option("--day", required=True, callback=parse_day, help="The day, YYYY-MM-DD.")
@click.option("--at", "at_text", help="Re-plan as of this local time, HH:MM [default: now].")
@click.option(
    "--unavailable", multiple=True, help="AGENT@HH:MM: the agent cannot work from that time."
)
@click.option("--cancel", multiple=True, help="VISIT: the visit is cancelled.")
@click.option("--add", multiple=True, help="VISIT: an urgent visit (imported or booked) to fit in.")
@click.option("--overrun", multiple=True, help="VISIT=MIN: the visit takes MIN minutes longer.")
@click.option("--late", multiple=True, help="AGENT=MIN: the agent is MIN minutes behind.")
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.5),
    default=10.0,
    show_default=True,
    help="Solver seconds.",
)
@click.option("--publish", is_flag=True, help="Publish the new plan to the agents at once.")
def replan_command(
    region_id: str,
    day: date,
    at_text: str | None,
    unavailable: tuple[str, ...],
    cancel: tuple[str, ...],
    add: tuple[str, ...],
    overrun: tuple[str, ...],
    late: tuple[str, ...],
    time_limit: float,
    publish: bool,
) -> None:
    """Re-plan REGION's DAY from where each agent is, after the day changed.

    Done and in-progress stops (and the one an agent is driving to) stay; the rest is planned
    again from each agent's position and time, around the events recorded for the day (those
    given here are recorded first, and every later re-plan keeps them). A visit that changes
    agent costs something, so the new plan differs only where that pays. It is stored as the
    current plan and compared with what the agents follow; publish it to send it to them.

    Example: doorstep replan --region hki --day 2026-11-24 --at 11:00 --unavailable A07@11:30
    --cancel V012 --overrun V031=30
    """
    from doorstep.db.engine import session_scope
    from doorstep.db.models import Region
    from doorstep.published import publish as publish_plan
    from doorstep.region_planning import RegionPlanError
    from doorstep.replan import (
        ADDED,
        CANCELLED,
        LATE,
        OVERRUN,
        UNAVAILABLE,
        ReplanError,
        record_event,
        replan,
    )

    settings = load_settings()
    engine = open_database(settings)
    with session_scope(engine) as session:
        region = session.get(Region, region_id)
        zone = ZoneInfo(region.timezone if region is not None else "UTC")
    now = datetime.now(zone)
    if at_text is not None:
        at = _clock(at_text)
        now = datetime.combine(day, time(at // 3600, at % 3600 // 60), tzinfo=zone)
    events = [
        (UNAVAILABLE, {"agent_id": a, "at": _clock(t)})
        for a, t in _pairs(unavailable, "@", "AGENT@HH:MM")
    ]
    events += [(CANCELLED, {"visit_id": v}) for v in cancel]
    events += [(ADDED, {"visit_id": v}) for v in add]
    events += [
        (OVERRUN, {"visit_id": v, "minutes": _minutes(n)})
        for v, n in _pairs(overrun, "=", "VISIT=MIN")
    ]
    events += [
        (LATE, {"agent_id": a, "minutes": _minutes(n)}) for a, n in _pairs(late, "=", "AGENT=MIN")
    ]
    try:
        for kind, values in events:
            recorded = record_event(engine, region_id, day, kind, actor=actor_name(), **values)  # type: ignore[arg-type]
            click.echo(f"recorded: {recorded}")
        result = replan(
            engine, settings, region_id, day, now=now, time_limit=time_limit, actor=actor_name()
        )
    except (ReplanError, RegionPlanError, ValueError) as exc:
        raise KnownError(str(exc)) from None
    summary = result.day_plan.plan
    click.echo(
        f"re-planned {region_id} on {day.isoformat()} as of {now.strftime('%H:%M')} from the "
        f"{result.basis} plan: {result.frozen} stop(s) kept as they were, {result.rerouted} "
        f"routed again, {len(summary.unassigned)} unassigned"
    )
    changes = result.comparison["visits"]
    for item in changes["moved"]:
        click.echo(f"  {item['visit_id']}: {item['from_team']} -> {item['to_team']}")
    for item in changes["added"]:
        click.echo(f"  {item['visit_id']}: newly routed, {item['team_id']}")
    for item in changes["dropped"]:
        click.echo(f"  {item['visit_id']}: left out ({item['reason_code']})")
    for item in changes["retimed"]:
        click.echo(f"  {item['visit_id']}: {item['minutes']:+d} min, now {item['to_start'][11:16]}")
    travel = result.comparison["figures"]["travel_time_s"]["change"]
    click.echo(f"travel {travel / 60:+.0f} min; {changes['unchanged']} visit(s) unchanged")
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"stored as the current plan of {region_id} on {day.isoformat()}")
    if publish:
        with session_scope(engine) as session:
            publish_plan(session, region_id, day, actor=actor_name())
        click.echo("published to the agents")
    else:
        click.echo("publish it to send it to the agents (web app, or --publish)")


def _minutes(text: str) -> int:
    if not text.isdigit():
        raise click.BadParameter(f"{text!r} is not a number of minutes")
    return int(text)
