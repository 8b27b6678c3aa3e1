"""`doorstep jobs`: the planning jobs the web app starts, from the command line."""

from __future__ import annotations

from datetime import date

import click

from doorstep.cli_common import KnownError, actor_name, load_settings, open_database, parse_day


@click.group()
def jobs() -> None:
    """Planning jobs: a region-day planned in the background (the web app's Plan button).

    The web app starts `doorstep jobs run ID` itself; these commands are for operators.
    """


@jobs.command("run")
@click.argument("job_id", type=int)
def run(job_id: int) -> None:
    """Run queued job JOB_ID in this process (the web app does this for each job)."""
    from doorstep.jobs import JobNotFoundError, run_job

    settings = load_settings()
    engine = open_database(settings)
    try:
        ended = run_job(engine, settings, job_id)
    except JobNotFoundError as exc:
        raise KnownError(str(exc)) from None
    click.echo(f"job {job_id}: {ended.status}" + (f": {ended.error}" if ended.error else ""))
    if ended.status != "done":
        raise SystemExit(1)


@jobs.command("list")
@click.option("--region", "region_id", required=True, help="The region whose jobs to list.")
@click.option("--day", callback=parse_day, help="Only this day, YYYY-MM-DD.")
def list_jobs(region_id: str, day: date | None) -> None:
    """List a region's latest planning jobs, newest first."""
    from doorstep.jobs import jobs_of

    engine = open_database(load_settings())
    found = jobs_of(engine, region_id, day=day)
    if not found:
        click.echo(f"no planning jobs for {region_id}")
    for job in found:
        click.echo(
            f"{job.id:>6}  {job.day.isoformat()}  {job.status:<10}{job.stage:<12}"
            f"{job.progress:>5.0%}  {job.requested_by:<20}{job.error[:60]}"
        )


@jobs.command("cancel")
@click.argument("job_id", type=int)
def cancel(job_id: int) -> None:
    """Cancel job JOB_ID (the current plan stays as it was)."""
    from doorstep.jobs import JobError, JobNotFoundError, cancel_job

    engine = open_database(load_settings())
    try:
        job = cancel_job(engine, job_id, actor=actor_name())
    except (JobError, JobNotFoundError) as exc:
        raise KnownError(str(exc)) from None
    click.echo(f"job {job_id}: {job.status}")
