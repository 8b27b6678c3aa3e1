"""The `doorstep` command line. Exit codes: 0 ok, 1 a known error (one message naming what to
fix), 2 a usage error."""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from datetime import date
from pathlib import Path

import click

import geo
from doorstep.csvio import DayInput, check_in_area, read_day
from doorstep.errors import InputError, InputProblem
from doorstep.export import plan_csv, plan_geojson, summary_text, write_atomic, write_plan
from doorstep.planning import DayPlan, PlanInvalidError, plan_day
from doorstep.settings import Settings, check_timezone
from optimizer import SolverTimeoutError

SAMPLE_FOLDER = Path(__file__).resolve().parent.parent / "data" / "sample"
OUTSIDE_NETWORK_MARGIN_M = 2000.0
"""Coordinates farther than this outside the road network's area are an input error."""
DETERMINISTIC_SOLUTIONS = 100
"""Improving solutions after which `--deterministic` stops: well inside the default time
limit on the sample day, so the count, not the clock, ends the search."""


class KnownError(click.ClickException):
    """An error the user can fix; printed as one message, exit code 1."""

    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(f"doorstep: error: {self.format_message()}", err=True)


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


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise KnownError(str(exc)) from None


def _day(ctx: click.Context, param: click.Parameter, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _timezone(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_timezone(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


network_option = click.option(
    "--network",
    default="sample",
    show_default=True,
    help="Road network: 'sample' (central Helsinki, bundled), a .osm, .osm.pbf or .graphml "
    "file, a place name, or 'bbox:west,south,east,north' (the last two need the internet).",
)


@main.command()
@click.option(
    "--visits",
    "visits_path",
    required=True,
    type=click.Path(path_type=Path),
    help="visits.csv (format: README, 'Input files').",
)
@click.option(
    "--agents",
    "agents_path",
    required=True,
    type=click.Path(path_type=Path),
    help="agents.csv (format: README, 'Input files').",
)
@click.option("--day", required=True, callback=_day, help="The day to plan, YYYY-MM-DD.")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write the plan JSON.",
)
@network_option
@click.option(
    "--timezone",
    callback=_timezone,
    help="The region's IANA time zone [default: DOORSTEP_TIMEZONE or Europe/Helsinki].",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.5),
    help="Solver seconds [default: DOORSTEP_TIME_LIMIT or 20].",
)
@click.option("--region", default="", help="Region name written into the plan [default: network].")
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
    help="Visits a borrower may receive in the day, unless visits.csv says otherwise.",
)
@click.option(
    "--deterministic",
    is_flag=True,
    help="Stop after a fixed number of improving solutions: the same plan every run.",
)
def plan(
    visits_path: Path,
    agents_path: Path,
    day: date,
    out_path: Path,
    network: str,
    timezone: str | None,
    time_limit: float | None,
    region: str,
    geojson_path: Path | None,
    csv_path: Path | None,
    max_visits_per_borrower: int,
    deterministic: bool,
) -> None:
    """Plan one region-day from visits.csv and agents.csv and write the plan JSON.

    Every input problem is listed with its file, row and field, and nothing is written.
    Every plan written has passed the independent validator.

    Example: doorstep plan --visits visits.csv --agents agents.csv --day 2026-11-24
    --out plan.json
    """
    settings = _settings()
    day_plan = _plan(
        settings,
        visits_path,
        agents_path,
        day=day,
        network_source=network,
        timezone=timezone or settings.timezone,
        time_limit=time_limit or settings.time_limit,
        region=region,
        max_visits_per_borrower=max_visits_per_borrower,
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
    """Plan the bundled sample day in central Helsinki and print where to look."""
    settings = _settings()
    day_plan = _plan(
        settings,
        SAMPLE_FOLDER / "visits.csv",
        SAMPLE_FOLDER / "agents.csv",
        day=day,
        network_source="sample",
        timezone="Europe/Helsinki",
        time_limit=time_limit or settings.time_limit,
        region="helsinki-sample",
        max_visits_per_borrower=1,
        deterministic=False,
    )
    out_path = out_dir / "plan.json"
    _write_outputs(day_plan, out_path, out_dir / "plan.geojson", out_dir / "plan.csv")
    click.echo(summary_text(day_plan))
    click.echo(f"plan JSON: {out_path}")
    click.echo(
        f"also: {out_dir / 'plan.geojson'} (open in any GIS or geojson.io), {out_dir / 'plan.csv'}"
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
@click.option("--agents", "num_agents", default=12, show_default=True, type=click.IntRange(min=4))
@click.option("--seed", default=7, show_default=True, type=int)
def sample(out_dir: Path, network: str, num_visits: int, num_agents: int, seed: int) -> None:
    """Generate a realistic, deterministic sample day on any road network."""
    from doorstep.sample import generate_day, write_sample

    settings = _settings()
    road_network = _load_network(network, settings)
    day = generate_day(road_network.graphs, num_visits=num_visits, num_agents=num_agents, seed=seed)
    visits_path, agents_path = write_sample(day, out_dir)
    click.echo(f"wrote {visits_path} and {agents_path}")


def _load_network(source: str, settings: Settings) -> geo.RoadNetwork:
    try:
        return geo.load_network(
            None if source == "sample" else source, cache_dir=settings.cache_dir
        )
    except (ValueError, OSError) as exc:
        raise KnownError(f"road network {source!r}: {exc}") from None


def _plan(
    settings: Settings,
    visits_path: Path,
    agents_path: Path,
    *,
    day: date,
    network_source: str,
    timezone: str,
    time_limit: float,
    region: str,
    max_visits_per_borrower: int,
    deterministic: bool,
) -> DayPlan:
    try:
        day_input = read_day(
            visits_path, agents_path, default_max_visits_per_borrower=max_visits_per_borrower
        )
    except InputError as exc:
        raise KnownError(str(exc)) from None
    clock = time.perf_counter()
    network = _load_network(network_source, settings)
    load_seconds = time.perf_counter() - clock
    _check_area(day_input, network, visits_path, agents_path)
    try:
        day_plan = plan_day(
            day_input,
            network,
            day=day,
            timezone=timezone,
            region=region or network.name,
            time_limit=time_limit,
            max_solutions=DETERMINISTIC_SOLUTIONS if deterministic else None,
            max_snap_m=settings.max_snap_m,
            cache_dir=settings.cache_dir / "matrices",
        )
    except SolverTimeoutError as exc:
        raise KnownError(f"{exc} (--time-limit or DOORSTEP_TIME_LIMIT)") from None
    except PlanInvalidError as exc:
        raise KnownError(f"internal error, no plan written: {exc}") from None
    timings = {"graph load": load_seconds, **day_plan.timings}
    return dataclasses.replace(day_plan, timings=timings)


def _check_area(day_input: DayInput, network: geo.RoadNetwork, visits: Path, agents: Path) -> None:
    bounds = network.bounds()
    problems: list[InputProblem] = check_in_area(
        day_input,
        lambda lat, lon: bounds.contains(lat, lon, margin_m=OUTSIDE_NETWORK_MARGIN_M),
        visits_file=visits.name,
        agents_file=agents.name,
    )
    if problems:
        raise KnownError(str(InputError(problems)))


def _write_outputs(
    day_plan: DayPlan, out_path: Path, geojson_path: Path | None, csv_path: Path | None
) -> None:
    import json

    write_plan(day_plan, out_path)
    if geojson_path is not None:
        write_atomic(geojson_path, json.dumps(plan_geojson(day_plan), ensure_ascii=False))
    if csv_path is not None:
        write_atomic(csv_path, plan_csv(day_plan))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
