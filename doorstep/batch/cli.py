"""`doorstep batch`: plan every region of a day on Dask, unattended, with a morning report."""

from __future__ import annotations

import logging
import sys
from datetime import date
from pathlib import Path

import click

from doorstep.cli_common import KnownError, actor_name, load_settings, open_database, parse_day

DETERMINISTIC_SOLUTIONS = 100
"""As `doorstep plan --deterministic`: stop after this many improving solutions."""


@click.command("batch")
@click.option("--day", required=True, callback=parse_day, help="The day to plan, YYYY-MM-DD.")
@click.option(
    "--regions",
    help="Plan only these regions, comma-separated ids [default: every region with open "
    "visits that day].",
)
@click.option(
    "--scheduler",
    help="Run on this Dask scheduler, e.g. tcp://host:8786 [default: DOORSTEP_DASK_SCHEDULER, "
    "else a local cluster on this machine].",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Local cluster only: worker processes, one thread each [default: one per CPU].",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.5),
    help="Solver seconds per region (and per part of a split region) [default: "
    "DOORSTEP_TIME_LIMIT or 20].",
)
@click.option(
    "--split-above",
    type=click.IntRange(min=10),
    help="Solve a region with more visits than this in parts, side by side [default: "
    "DOORSTEP_BATCH_SPLIT_ABOVE or 1000].",
)
@click.option(
    "--deterministic",
    is_flag=True,
    help="Stop each solve after a fixed number of improving solutions: the same plans "
    "every run, as long as they come within the time limit.",
)
@click.option(
    "--replan",
    is_flag=True,
    help="Plan every region again, even those whose current plan a batch made from the same input.",
)
@click.option(
    "--json-logs",
    is_flag=True,
    help="Log JSON lines to stderr (for a log collector) instead of the progress bar.",
)
@click.option(
    "--report-dir",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the morning report, batch-DAY-runID.html and .json.",
)
def batch(
    day: date,
    regions: str | None,
    scheduler: str | None,
    workers: int | None,
    time_limit: float | None,
    split_above: int | None,
    deterministic: bool,
    replan: bool,
    json_logs: bool,
    report_dir: Path,
) -> None:
    """Plan every region with open visits on DAY, on a Dask cluster, and store the plans.

    Runs on a local cluster of worker processes, or on the Dask scheduler given by
    --scheduler or DOORSTEP_DASK_SCHEDULER (every worker needs Doorstep installed and the
    road cache, DOORSTEP_CACHE_DIR, at the same path: warm it with `doorstep network fetch
    --all-regions`). Only this process writes to the database.

    A region whose data is bad or whose solve fails is reported and skipped; the others
    go on. Borrowers with visits in several regions are never over-visited. If this
    process is stopped, run the same command again: it resumes the run and plans only
    the regions not yet stored. A day whose plans a batch already made from the same
    input is left as it is (--replan plans it again). One batch per day runs at a time.

    Writes the morning report (per region: visits planned, appointments kept,
    unassigned by reason, travel per agent, solver time, failures and their cause) to
    --report-dir and into the database. Exit code 0 when every region was planned, 1 when
    any failed (the report says why) or the batch could not run.
    """
    from doorstep.batch import logs
    from doorstep.batch.cluster import ClusterUnavailable, dask_client, default_workers
    from doorstep.batch.driver import (
        BatchLockedError,
        BatchOptions,
        ClusterLostError,
        LockLostError,
        run_batch,
        select_regions,
    )
    from doorstep.batch.progress import SilentProgress, TerminalProgress
    from doorstep.batch.tasks import SolveOptions
    from doorstep.db.engine import DatabaseUnavailable

    settings = load_settings()
    verbose = logging.getLogger().getEffectiveLevel() <= logging.INFO
    logs.configure(json_lines=json_logs, verbose=verbose)
    wanted = tuple(r.strip() for r in (regions or "").split(",") if r.strip())
    if regions is not None and not wanted:
        raise click.BadParameter("give region ids separated by commas", param_hint="--regions")
    address = scheduler or settings.dask_scheduler
    if address and workers is not None:
        raise click.UsageError("--workers only goes with a local cluster, not with --scheduler")
    options = BatchOptions(
        day=day,
        solve=SolveOptions(
            time_limit=time_limit or settings.time_limit,
            max_solutions=DETERMINISTIC_SOLUTIONS if deterministic else None,
            max_snap_m=settings.max_snap_m,
            cache_dir=settings.cache_dir,
        ),
        regions=wanted,
        split_above=split_above or settings.batch_split_above,
        policy_dir=settings.policy_dir,
        replan=replan,
        report_dir=report_dir,
        actor=actor_name().replace("cli:", "batch:", 1),
    )
    engine = open_database(settings)
    try:
        work = select_regions(engine, day, wanted)
    except ValueError as exc:
        raise KnownError(str(exc)) from None
    if not work:
        click.echo(f"no region has open visits on {day.isoformat()}; nothing to plan")
        return
    quiet = json_logs or verbose or not sys.stderr.isatty()
    progress = SilentProgress() if quiet else TerminalProgress()
    try:
        with dask_client(address, workers=workers or default_workers()) as (client, label):
            outcome = run_batch(engine, client, options, progress=progress, scheduler=label)
    except (BatchLockedError, ClusterUnavailable, ClusterLostError, LockLostError) as exc:
        raise KnownError(str(exc)) from None
    except DatabaseUnavailable as exc:
        raise KnownError(f"{exc}; run the same command again to resume the run") from None
    except ValueError as exc:
        raise KnownError(str(exc)) from None
    totals = outcome.report["totals"]
    click.echo(
        f"run {outcome.run_id} {'(resumed) ' if outcome.resumed else ''}{outcome.status}: "
        f"{totals['regions']} regions ({totals['planned']} planned, {totals['unchanged']} "
        f"unchanged, {totals['failed']} failed, {totals['skipped']} skipped); "
        f"{totals['visits_planned']:,} of {totals['visits']:,} visits planned, "
        f"{totals['appointments_kept']:,} of {totals['appointments']:,} appointments kept"
    )
    if outcome.report_paths:
        click.echo("report: " + ", ".join(str(p) for p in outcome.report_paths))
    if outcome.num_failed:
        failed = ", ".join(f"{f['region']} ({f['kind']})" for f in outcome.report["failures"])
        where = f" ({outcome.report_paths[-1]})" if outcome.report_paths else ""
        raise KnownError(
            f"{outcome.num_failed} of {totals['regions']} regions failed: {failed}. The report"
            f"{where} gives each cause; fix them and run the same command again (regions "
            "already planned are left as they are)"
        )
