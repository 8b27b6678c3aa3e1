"""`doorstep region` and `doorstep import`: put regions, agents, visits and history in the
database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from doorstep.cli_common import (
    KnownError,
    actor_name,
    load_settings,
    open_database,
    parse_day,
    parse_timezone,
)
from doorstep.db.days import UnknownRegionError
from doorstep.errors import InputError


@click.group()
def region() -> None:
    """Create and list regions (a city or branch planned as one)."""


@region.command("add")
@click.argument("region_id")
@click.option("--timezone", required=True, callback=parse_timezone, help="IANA time zone.")
@click.option("--name", default="", help="Display name.")
@click.option("--country", help="ISO 3166 country code for public holidays, e.g. FI or CN.")
@click.option("--subdivision", help="Subdivision code for regional holidays, e.g. MA.")
@click.option(
    "--policy", help="Contact policy layers, e.g. 'cn' or 'us+acme' [default: DOORSTEP_POLICY]."
)
@click.option(
    "--network",
    default="sample",
    show_default=True,
    help="Road network: 'sample', a .osm/.osm.pbf/.graphml file, or a place name.",
)
@click.option(
    "--holiday",
    "holidays",
    multiple=True,
    help="An extra rest day of this region, YYYY-MM-DD (repeat the option).",
)
def add_region(
    region_id: str,
    timezone: str,
    name: str,
    country: str | None,
    subdivision: str | None,
    policy: str | None,
    network: str,
    holidays: tuple[str, ...],
) -> None:
    """Create region REGION_ID, or update it to these values."""
    from doorstep.regions import upsert_region

    settings = load_settings()
    days = [parse_day(click.get_current_context(), None, h) for h in holidays]  # type: ignore[arg-type]
    engine = open_database(settings)
    try:
        changed = upsert_region(
            engine,
            region_id,
            timezone=timezone,
            name=name,
            country=country,
            subdivision=subdivision,
            policy=policy or settings.policy,
            network=network,
            holidays=[d for d in days if d is not None],
            policy_dir=settings.policy_dir,
            actor=actor_name(),
        )
    except ValueError as exc:
        raise KnownError(str(exc)) from None
    click.echo(f"region {region_id} {'saved' if changed else 'unchanged'}")


@region.command("list")
def list_command() -> None:
    """List the regions with their time zone, policy and network."""
    from doorstep.regions import list_regions

    for row in list_regions(open_database(load_settings())):
        click.echo(
            f"{row.id}\t{row.timezone}\t{row.country or '-'}\tpolicy {row.policy}\t"
            f"network {row.network}"
        )


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--region", "region_id", help="The region agents and visits belong to.")
@click.option("--day", callback=parse_day, help="The day of the visits, YYYY-MM-DD.")
@click.option(
    "--replace-day",
    is_flag=True,
    help="The visits file is the region-day's whole list: cancel its visits the file no "
    "longer lists (they are kept, marked cancelled).",
)
def import_command(
    files: tuple[Path, ...], region_id: str | None, day: date | None, replace_day: bool
) -> None:
    """Import agents.csv, visits.csv and history.csv files, all or nothing.

    Every row of every file is checked first; any problem is listed with its file, row and
    field, and nothing is imported. Rows are matched by id: importing a file again changes
    nothing. Addresses without coordinates are geocoded when DOORSTEP_GEOCODER_URL is set.

    Example: doorstep import agents.csv visits.csv history.csv --region hki --day 2026-11-24
    """
    from doorstep.db.geocache import DatabaseGeocodeCache
    from doorstep.geocode import geocoder_from_settings
    from doorstep.importer import import_files

    settings = load_settings()
    engine = open_database(settings)
    try:
        geocoder = geocoder_from_settings(
            settings.geocoder_url, settings.geocoder_min_delay, DatabaseGeocodeCache(engine)
        )
        reports = import_files(
            engine,
            list(files),
            region_id=region_id,
            day=day,
            geocode=geocoder,
            actor=actor_name(),
            replace_day=replace_day,
        )
    except (InputError, UnknownRegionError, ValueError) as exc:
        raise KnownError(str(exc)) from None
    for report in reports:
        click.echo(f"imported {report}")


@click.command("retention")
@click.option("--apply", "apply_", is_flag=True, help="Delete; without it, only say what would go.")
def retention(apply_: bool) -> None:
    """Delete borrower data older than DOORSTEP_RETENTION_DAYS (plans, planning jobs, visits,
    contact events with their notes and promises, batch reports, geocoded addresses, and
    borrowers left with nothing) and audit entries older than DOORSTEP_AUDIT_RETENTION_DAYS.

    Contacts a region's contact policy still counts are kept whatever the setting says.
    Without --apply it only counts (a dry run). Run it daily, e.g. from cron.
    """
    from datetime import UTC, datetime

    from doorstep.retention import apply_retention

    settings = load_settings()
    engine = open_database(settings)
    try:
        report = apply_retention(
            engine,
            retention_days=settings.retention_days,
            audit_retention_days=settings.audit_retention_days,
            policy_dir=settings.policy_dir,
            now=datetime.now(UTC),
            actor=actor_name(),
            apply=apply_,
        )
    except ValueError as exc:
        raise KnownError(str(exc)) from None
    for line in report.lines():
        click.echo(line)
    if not apply_:
        click.echo("dry run: nothing deleted; run again with --apply to delete")
