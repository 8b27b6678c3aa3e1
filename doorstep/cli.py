"""The `doorstep` command line. Exit codes: 0 ok, 1 a known error (one message naming what to
fix), 2 a usage error."""

from __future__ import annotations

import logging
import os
import sys
from datetime import date
from pathlib import Path

import click

import geo
from doorstep.cli_common import (
    KnownError,
    actor_name,
    load_settings,
    open_database,
    parse_day,
    parse_timezone,
)
from doorstep.contact import PolicyDay, apply_policy, region_holidays
from doorstep.csvio import DayInput, read_day
from doorstep.errors import InputError
from doorstep.export import plan_csv, plan_geojson, summary_text, write_atomic, write_plan
from doorstep.history import read_history
from doorstep.planning import DayPlan
from doorstep.policies import resolve_policy
from doorstep.region_planning import RegionPlanError, load_network, plan_region, route_day
from doorstep.settings import Settings

SAMPLE_FOLDER = Path(__file__).resolve().parent.parent / "data" / "sample"
DETERMINISTIC_SOLUTIONS = 100
"""Improving solutions after which `--deterministic` stops: well inside the default time
limit on the sample day, so the count, not the clock, ends the search."""
SAMPLE_REGION = "helsinki-sample"
SAMPLE_TIMEZONE = "Europe/Helsinki"

__all__ = ["KnownError", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """Doorstep plans field agents' home visits: who visits whom, in what order, when.

    Start with `doorstep demo`. Settings come from DOORSTEP_* environment variables
    (see README, "Settings").
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


_settings = load_settings
_day = parse_day
_timezone = parse_timezone


network_option = click.option(
    "--network",
    default="sample",
    show_default=True,
    help="Road network: 'sample' (central Helsinki, bundled), a .osm, .osm.pbf or .graphml "
    "file, a place name, or 'bbox:west,south,east,north' (the last two need the internet).",
)


@main.command()
@click.option(
    "--region",
    default="",
    help="Plan this region from the database and store the plan there; with --visits, only "
    "the region name written into the plan [default: the network's].",
)
@click.option(
    "--visits",
    "visits_path",
    type=click.Path(path_type=Path),
    help="Plan from files instead: visits.csv (format: docs/input-files.md).",
)
@click.option(
    "--agents",
    "agents_path",
    type=click.Path(path_type=Path),
    help="With --visits: agents.csv.",
)
@click.option(
    "--history",
    "history_path",
    type=click.Path(path_type=Path),
    help="With --visits: history.csv, the contacts the policy counts.",
)
@click.option(
    "--policy",
    help="With --visits: contact policy layers, e.g. 'cn' or 'us+acme' [default: "
    "DOORSTEP_POLICY or cn]. Stored regions use their own.",
)
@click.option(
    "--country",
    help="With --visits: ISO country code whose public holidays the policy uses, e.g. FI.",
)
@click.option("--day", required=True, callback=_day, help="The day to plan, YYYY-MM-DD.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    help="Write the plan JSON here (required with --visits).",
)
@network_option
@click.option(
    "--timezone",
    callback=_timezone,
    help="With --visits: the region's IANA time zone [default: DOORSTEP_TIMEZONE or "
    "Europe/Helsinki].",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.5),
    help="Solver seconds [default: DOORSTEP_TIME_LIMIT or 20].",
)
@click.option(
    "--geojson",
    "geojson_path",
    type=click.Path(path_type=Path),
    help="Also write the plan as GeoJSON here.",
)
@click.option(
    "--csv", "csv_path", type=click.Path(path_type=Path), help="Also write the stops as CSV here."
)
@click.option(
    "--max-visits-per-borrower",
    default=1,
    show_default=True,
    type=click.IntRange(min=0),
    help="With --visits: visits a borrower may receive in the day, unless visits.csv says "
    "otherwise (the policy may allow fewer).",
)
@click.option(
    "--deterministic",
    is_flag=True,
    help="Stop after a fixed number of improving solutions: the same plan every run.",
)
@click.option(
    "--horizon",
    type=click.IntRange(1, 14),
    help="With --region: plan this many days from --day, choosing each flexible visit's day "
    "(appointments stay on theirs) so that contact rules hold across them and the days are "
    "balanced; --time-limit is per day.",
)
def plan(
    region: str,
    visits_path: Path | None,
    agents_path: Path | None,
    history_path: Path | None,
    policy: str | None,
    country: str | None,
    day: date,
    out_path: Path | None,
    network: str,
    timezone: str | None,
    time_limit: float | None,
    geojson_path: Path | None,
    csv_path: Path | None,
    max_visits_per_borrower: int,
    deterministic: bool,
    horizon: int | None,
) -> None:
    """Plan one region-day under its contact policy.

    From the database: `doorstep plan --region R --day D` reads the region's visits, agents
    and contact history, and stores the plan as the region-day's current plan (replacing the
    previous one whole). From files: `doorstep plan --visits visits.csv --agents agents.csv
    [--history history.csv] --day D --out plan.json`.

    Every input problem is listed with its file, row and field, and nothing is written.
    Every plan written has passed the independent validator.
    """
    settings = _settings()
    limit = time_limit or settings.time_limit
    if visits_path is None:
        stray = [
            name
            for name, value in (
                ("--agents", agents_path),
                ("--history", history_path),
                ("--policy", policy),
                ("--country", country),
                ("--timezone", timezone),
            )
            if value is not None
        ]
        if not region:
            raise click.UsageError("give --region (plan from the database) or --visits/--agents")
        if stray:
            raise click.UsageError(f"{', '.join(stray)} only go with --visits")
        if horizon is not None:
            if out_path is not None:
                raise click.UsageError("--out takes one day; leave it out with --horizon")
            _plan_horizon(settings, region, day, horizon, limit, deterministic)
            return
        day_plan = _plan_stored(settings, region, day, limit, deterministic)
        click.echo(summary_text(day_plan))
        click.echo(f"stored as the current plan of {region} on {day.isoformat()}")
        if out_path is not None:
            _write_outputs(day_plan, out_path, geojson_path, csv_path)
            click.echo(f"plan: {out_path}")
        return
    if horizon is not None:
        raise click.UsageError("--horizon plans stored days: use it with --region")
    if agents_path is None or out_path is None:
        raise click.UsageError("--visits needs --agents and --out too")
    day_input = _read_files(visits_path, agents_path, max_visits_per_borrower)
    zone = timezone or settings.timezone
    policy_day = _file_policy(
        day_input, history_path, policy or settings.policy, settings, day, zone, country
    )
    day_plan = _route(
        settings,
        day_input,
        policy_day,
        files=(visits_path.name, agents_path.name),
        day=day,
        network_source=network,
        timezone=zone,
        time_limit=limit,
        region=region,
        deterministic=deterministic,
    )
    _write_outputs(day_plan, out_path, geojson_path, csv_path)
    click.echo(summary_text(day_plan))
    click.echo(f"plan: {out_path}")


@main.command()
@click.option(
    "--day",
    default="2026-11-24",
    show_default=True,
    callback=_day,
    help="The day to plan the sample for.",
)
@click.option(
    "--out",
    "out_dir",
    default="out",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for plan.json, .geojson and .csv.",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.5),
    help="Solver seconds [default: DOORSTEP_TIME_LIMIT or 20].",
)
def demo(day: date, out_dir: Path, time_limit: float | None) -> None:
    """Plan the bundled sample day in central Helsinki through the database, under the
    default contact policy, and print where to look.

    Creates or upgrades the database (DOORSTEP_DATABASE_URL), adds the region
    helsinki-sample, imports data/sample (agents, visits for --day, contact history) and
    plans it. Running it again changes nothing but the plan.
    """
    from doorstep.db.engine import DatabaseUnavailable, safe_url
    from doorstep.db.migrate import upgrade
    from doorstep.importer import import_files
    from doorstep.regions import upsert_region

    settings = _settings()
    try:
        upgrade(settings.database_url)
    except (DatabaseUnavailable, ValueError) as exc:
        raise KnownError(str(exc)) from None
    engine = open_database(settings)
    upsert_region(
        engine,
        SAMPLE_REGION,
        name="Helsinki sample",
        timezone=SAMPLE_TIMEZONE,
        country="FI",
        policy=settings.policy,
        network="sample",
    )
    files = [SAMPLE_FOLDER / f"{kind}.csv" for kind in ("agents", "visits", "history")]
    try:
        reports = import_files(
            engine,
            [f for f in files if f.exists()],
            region_id=SAMPLE_REGION,
            day=day,
            actor=actor_name(),
        )
    except InputError as exc:
        raise KnownError(str(exc)) from None
    for report in reports:
        click.echo(f"imported {report}")
    day_plan = _plan_stored(settings, SAMPLE_REGION, day, time_limit or settings.time_limit, False)
    out_path = out_dir / "plan.json"
    _write_outputs(day_plan, out_path, out_dir / "plan.geojson", out_dir / "plan.csv")
    click.echo(summary_text(day_plan))
    click.echo(f"database: {safe_url(engine)} (region {SAMPLE_REGION}, day {day.isoformat()})")
    click.echo(f"plan JSON: {out_path}")
    click.echo(
        f"also: {out_dir / 'plan.geojson'} (open in any GIS or geojson.io), {out_dir / 'plan.csv'}"
    )
    click.echo(
        f"web app: `doorstep users add NAME --role admin`, then `doorstep serve --today "
        f"{day.isoformat()}` and open http://127.0.0.1:5000 (README, Web app)"
    )


@main.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write visits.csv and agents.csv into.",
)
@network_option
@click.option("--visits", "num_visits", default=120, show_default=True, type=click.IntRange(min=10))
@click.option(
    "--agents",
    "num_agents",
    type=click.IntRange(min=4),
    help="Number of agents [default: 25 with --pairs (12 crews), 12 with --solo; --pairs needs 7].",
)
@click.option(
    "--pairs/--solo",
    default=True,
    show_default=True,
    help="Every team a crew of two (one of three), as the default policy cn needs; or most "
    "agents alone.",
)
@click.option("--seed", default=7, show_default=True, type=int)
def sample(
    out_dir: Path, network: str, num_visits: int, num_agents: int | None, pairs: bool, seed: int
) -> None:
    """Generate a realistic, deterministic sample day on any road network: visits.csv,
    agents.csv and history.csv."""
    from doorstep.sample import generate_day, write_sample

    settings = _settings()
    road_network = _load_network(network, settings)
    try:
        day = generate_day(
            road_network.graphs,
            num_visits=num_visits,
            num_agents=num_agents,
            pairs=pairs,
            seed=seed,
        )
    except ValueError as exc:
        raise KnownError(str(exc)) from None
    visits_path, agents_path, history_path = write_sample(day, out_dir)
    click.echo(f"wrote {visits_path}, {agents_path} and {history_path}")


def _load_network(source: str, settings: Settings) -> geo.RoadNetwork:
    try:
        return load_network(source, settings)
    except RegionPlanError as exc:
        raise KnownError(str(exc)) from None


def _read_files(visits_path: Path, agents_path: Path, max_visits_per_borrower: int) -> DayInput:
    try:
        return read_day(
            visits_path, agents_path, default_max_visits_per_borrower=max_visits_per_borrower
        )
    except InputError as exc:
        raise KnownError(str(exc)) from None


def _file_policy(
    day_input: DayInput,
    history_path: Path | None,
    policy_spec: str,
    settings: Settings,
    day: date,
    timezone: str,
    country: str | None,
) -> PolicyDay:
    """The contact policy applied to a day read from files."""
    try:
        resolved = resolve_policy(policy_spec, settings.policy_dir)
        holidays = region_holidays(country, None, {day.year})
    except ValueError as exc:
        raise KnownError(str(exc)) from None
    history = []
    if history_path is not None:
        try:
            history = [record.contact_event for record in read_history(history_path)]
        except InputError as exc:
            raise KnownError(str(exc)) from None
    return apply_policy(
        day_input, resolved.policy, history, day=day, timezone=timezone, holidays=holidays
    )


def _plan_stored(
    settings: Settings, region: str, day: date, time_limit: float, deterministic: bool
) -> DayPlan:
    """Plan a stored region-day and store the plan."""
    engine = open_database(settings)
    try:
        planned = plan_region(
            engine,
            settings,
            region,
            day,
            time_limit=time_limit,
            actor=actor_name(),
            max_solutions=DETERMINISTIC_SOLUTIONS if deterministic else None,
            num_workers=_solver_workers(deterministic),
        )
    except RegionPlanError as exc:
        raise KnownError(str(exc)) from None
    return planned.day_plan


def _plan_horizon(
    settings: Settings, region: str, day: date, days: int, time_limit: float, deterministic: bool
) -> None:
    """Plan `days` stored days from `day`, choosing the flexible visits' days."""
    from doorstep.horizon import plan_horizon

    engine = open_database(settings)
    try:
        result = plan_horizon(
            engine,
            settings,
            region,
            day,
            days,
            time_limit=time_limit,
            actor=actor_name(),
            max_solutions=DETERMINISTIC_SOLUTIONS if deterministic else None,
        )
    except RegionPlanError as exc:
        raise KnownError(str(exc)) from None
    for d in result.days:
        click.echo(
            f"{d.day.isoformat()}: {d.routed} of {d.visits} visits routed ({d.flexible_routed} "
            f"flexible, {d.moved_here} moved here from another day), {d.appointments_kept} of "
            f"{d.appointments} appointments kept, travel {d.travel_time_s // 60} min"
        )
    for visit_id, reason in result.unplaced:
        click.echo(f"not placed in these days: {visit_id}: {reason}")
    click.echo(f"stored as the current plans of {region}, {days} day(s) from {day.isoformat()}")


def _route(
    settings: Settings,
    day_input: DayInput,
    policy_day: PolicyDay,
    *,
    files: tuple[str, str],
    day: date,
    network_source: str,
    timezone: str,
    time_limit: float,
    region: str,
    deterministic: bool,
) -> DayPlan:
    """Load the road network, check the day lies on it, route and validate."""
    try:
        return route_day(
            settings,
            day_input,
            policy_day,
            files=files,
            day=day,
            network_source=network_source,
            timezone=timezone,
            time_limit=time_limit,
            region=region,
            max_solutions=DETERMINISTIC_SOLUTIONS if deterministic else None,
            num_workers=_solver_workers(deterministic),
        )
    except RegionPlanError as exc:
        raise KnownError(str(exc)) from None


def _solver_workers(deterministic: bool) -> int:
    """`doorstep plan` owns the machine: the solver may use every core (one when exact)."""
    return 1 if deterministic else (os.cpu_count() or 1)


def _write_outputs(
    day_plan: DayPlan, out_path: Path, geojson_path: Path | None, csv_path: Path | None
) -> None:
    import json

    write_plan(day_plan, out_path)
    if geojson_path is not None:
        write_atomic(geojson_path, json.dumps(plan_geojson(day_plan), ensure_ascii=False))
    if csv_path is not None:
        write_atomic(csv_path, plan_csv(day_plan))


from doorstep.db.cli import db  # noqa: E402  (the `db` group; it imports KnownError lazily)

main.add_command(db)
from doorstep.cli_data import import_command, region, retention  # noqa: E402

main.add_command(region)
main.add_command(import_command)
main.add_command(retention)
from doorstep.cli_web import serve, users  # noqa: E402

main.add_command(serve)
main.add_command(users)
from doorstep.batch.cli import batch  # noqa: E402
from doorstep.cli_jobs import jobs  # noqa: E402
from doorstep.cli_network import network  # noqa: E402
from doorstep.cli_replan import replan_command  # noqa: E402
from doorstep.cli_slots import slots  # noqa: E402

main.add_command(batch)
main.add_command(network)
main.add_command(jobs)
main.add_command(slots)
main.add_command(replan_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
