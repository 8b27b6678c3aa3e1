"""The batch driver: plan every region of a day on a Dask cluster, saving as plans come back.

The driver is the only part of the batch that touches the database. For each region it
prepares the day under the region's contact policy (counting what other regions' current
plans already give the same borrowers), sends plain inputs to a worker, and when the plan
comes back saves it and the region's result in one transaction, after checking that it
still holds the day's lock. So:

- a region whose save finds that another region planned the same borrowers meanwhile
  (`ConcurrentPlanError`) is prepared again and re-planned: whatever order regions finish
  in, no borrower gets more visits than the policy allows;
- a region whose data is bad or whose solve fails is recorded as failed with its cause,
  and the others go on;
- a worker process that dies is Dask's to handle (its tasks run again elsewhere); when a
  region's tasks keep killing workers, the driver submits it again, then gives up on it;
- a driver that dies leaves committed plans and their results, and nothing half-written:
  running the same command again takes the dead driver's lock over, resumes its run and
  plans only the regions without a committed result;
- a region whose current plan a batch made from the same input is left as it is
  (`unchanged`), so running a finished day again changes nothing unless `replan` is set.

Regions are submitted largest first (a long region started last would keep the whole run
waiting), and only a few more than the cluster has threads at a time, so each region is
prepared shortly before it is solved and its snapshot of the other regions' plans is fresh.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from distributed import Client, Future, wait
from sqlalchemy import Engine

from doorstep.batch import runs
from doorstep.batch.fingerprint import input_fingerprint
from doorstep.batch.lock import (
    INTERRUPTED,
    BatchLockedError,
    Claim,
    LockLostError,
    assert_held,
    beat,
    claim_day,
    release,
)
from doorstep.batch.logs import fields
from doorstep.batch.progress import Progress, SilentProgress
from doorstep.batch.report import build_report, write_report
from doorstep.batch.split import split_day
from doorstep.batch.tasks import (
    FailureKind,
    PartTask,
    RegionFailed,
    RegionPlanned,
    RegionTask,
    SolveOptions,
    plan_part,
    plan_region,
    stitch_region,
)
from doorstep.db.days import UnknownRegionError
from doorstep.db.engine import session_scope
from doorstep.db.models import BatchRun, utcnow
from doorstep.processes import Holder
from doorstep.stored_plans import ConcurrentPlanError, PreparedDay, prepare, save_document

log = logging.getLogger(__name__)

FINISHED = "finished"
"""Every region planned, unchanged or skipped."""
PARTIAL = "partial"
"""Finished, but some regions failed (the report says why)."""

__all__ = [
    "BatchLockedError",
    "BatchOptions",
    "BatchOutcome",
    "ClusterLostError",
    "LockLostError",
    "run_batch",
    "select_regions",
]


class ClusterLostError(RuntimeError):
    """The Dask scheduler stopped answering; the run can be resumed."""


@dataclass(frozen=True)
class BatchOptions:
    """How to run a day's batch.

    `regions` empty means every region with open visits on `day`. A region with more than
    `split_above` visits to route is solved in parts. A region whose tasks lose their worker
    is submitted up to `max_attempts` times; one whose save keeps finding other regions'
    new plans for its borrowers is re-planned up to `max_conflicts` times. The driver's
    heartbeat runs every `heartbeat_s`; a lock without one for `stale_after_s` is taken
    over. Reports go to `report_dir` (none: only into the database).
    """

    day: date
    solve: SolveOptions
    regions: tuple[str, ...] = ()
    split_above: int = 1000
    policy_dir: Path | None = None
    replan: bool = False
    max_attempts: int = 3
    max_conflicts: int = 5
    heartbeat_s: float = 10.0
    stale_after_s: float = 120.0
    report_dir: Path | None = None
    actor: str = "batch"

    def __post_init__(self) -> None:
        if self.split_above < 1:
            msg = f"split_above must be at least 1 visit, got {self.split_above}"
            raise ValueError(msg)
        if self.max_attempts < 1 or self.max_conflicts < 0:
            msg = "max_attempts must be at least 1 and max_conflicts not negative"
            raise ValueError(msg)
        if not 0 < self.heartbeat_s < self.stale_after_s:
            msg = (
                f"heartbeat_s ({self.heartbeat_s}) must be positive and below stale_after_s "
                f"({self.stale_after_s})"
            )
            raise ValueError(msg)


@dataclass(frozen=True)
class BatchOutcome:
    """How the run ended: its id, whether it resumed a dead driver's run, the morning
    report (as stored in `BatchRun.report`) and the files it was written to."""

    run_id: int
    resumed: bool
    status: str
    report: dict[str, Any]
    report_paths: tuple[Path, ...] = ()

    @property
    def num_failed(self) -> int:
        return int(self.report["totals"]["failed"])


@dataclass
class _Job:
    """A region on its way through the run."""

    region_id: str
    visits: int
    prepared: PreparedDay | None = None
    fingerprint: str = ""
    submissions: int = 0
    conflicts: int = 0
    lost: int = 0
    parts: int = 1
    started: float = 0.0
    driver_seconds: float = 0.0
    last_error: str = ""
    futures: list[Future] = field(default_factory=list)


def run_batch(
    engine: Engine,
    client: Client,
    options: BatchOptions,
    *,
    progress: Progress | None = None,
    scheduler: str = "",
) -> BatchOutcome:
    """Plan the day's regions on `client`'s cluster and store the plans (module docstring).

    Raises `BatchLockedError` while another batch for the day runs, ValueError naming
    unknown regions in `options.regions`, `LockLostError` when another batch took this
    one's lock over, and `ClusterLostError` when the scheduler stops answering; after the
    last two (and after a crash of the driver) running the same batch again resumes it.
    """
    work = select_regions(engine, options.day, options.regions)
    holder = Holder.this_process()
    claim = claim_day(
        engine,
        options.day,
        holder=holder,
        regions=sorted(work),
        scheduler=scheduler,
        stale_after=options.stale_after_s,
    )
    driver = _Driver(engine, client, options, holder, claim, progress or SilentProgress())
    log.info(
        "batch %s run %d %s: %d regions",
        options.day.isoformat(),
        claim.run_id,
        "resumed" if claim.resumed else "started",
        len(work),
        extra=fields(
            event="run_started",
            run_id=claim.run_id,
            day=options.day.isoformat(),
            resumed=claim.resumed,
            regions=len(work),
            scheduler=scheduler,
            workers=len(client.nthreads()),
        ),
    )
    try:
        driver.run(work)
    except KeyboardInterrupt:
        driver.interrupt()
        raise
    finally:
        driver.progress.close()
    return driver.finish(scheduler)


def select_regions(engine: Engine, day: date, regions: tuple[str, ...]) -> dict[str, int]:
    """Region id -> open visits of the regions to plan: `regions`, or when empty every
    region with open visits on `day`. ValueError names unknown regions."""
    with_work = runs.regions_with_work(engine, day)
    if not regions:
        return with_work
    known = set(runs.known_regions(engine))
    unknown = sorted(set(regions) - known)
    if unknown:
        msg = (
            f"unknown region(s) {', '.join(unknown)}; known: {', '.join(sorted(known)) or 'none'}"
            " (`doorstep region list`)"
        )
        raise ValueError(msg)
    return {region: with_work.get(region, 0) for region in dict.fromkeys(regions)}


class _Driver:
    """One run's loop; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        client: Client,
        options: BatchOptions,
        holder: Holder,
        claim: Claim,
        progress: Progress,
    ) -> None:
        self.engine, self.client, self.options = engine, client, options
        self.holder, self.claim, self.progress = holder, claim, progress
        self.run_id = claim.run_id
        self.queue: deque[_Job] = deque()
        self.pending: dict[Future, _Job] = {}
        self.last_beat = time.monotonic()
        self.started = time.monotonic()
        self.regions_done = self.visits_done = self.visits_planned = self.failures = 0
        self.solve_options = {
            "time_limit": options.solve.time_limit,
            "max_solutions": options.solve.max_solutions,
            "max_snap_m": options.solve.max_snap_m,
            "split_above": options.split_above,
        }

    # --- the loop ---------------------------------------------------------------------

    def run(self, work: dict[str, int]) -> None:
        done = runs.committed(self.engine, self.run_id)
        todo = [
            (region, visits) for region, visits in work.items() if done.get(region) not in runs.DONE
        ]
        todo.sort(key=lambda rv: (-rv[1], rv[0]))
        self.queue.extend(_Job(region, visits) for region, visits in todo)
        if len(todo) < len(work):
            log.info(
                "run %d: %d regions already done, %d to plan",
                self.run_id,
                len(work) - len(todo),
                len(todo),
                extra=fields(event="resume", run_id=self.run_id, done=len(work) - len(todo)),
            )
        self.progress.start(regions=len(todo), visits=sum(v for _, v in todo))
        in_flight = max(2, 2 * sum(self.client.nthreads().values()))
        while self.queue or self.pending:
            while self.queue and len(self.pending) < in_flight:
                self._start(self.queue.popleft())
                self._heartbeat()
            if not self.pending:
                continue
            try:
                finished = wait(
                    list(self.pending),
                    timeout=self.options.heartbeat_s,
                    return_when="FIRST_COMPLETED",
                ).done
            except TimeoutError:
                finished = set()
            self._heartbeat()
            for future in finished:
                job = self.pending.pop(future)
                self._handle(future, job)
            self._show()

    def interrupt(self) -> None:
        """Stop on Ctrl-C: cancel the cluster's work, mark the run interrupted (the next
        run of the same command resumes it) and give the lock up."""
        futures = [f for job in self.pending.values() for f in job.futures]
        if futures:
            self.client.cancel(futures)
        with session_scope(self.engine) as session:
            run = session.get(BatchRun, self.run_id)
            if run is not None:
                run.status = INTERRUPTED
            release(session, self.options.day, self.run_id, self.holder)
        log.warning(
            "run %d interrupted; run the same command again to resume it",
            self.run_id,
            extra=fields(event="run_interrupted", run_id=self.run_id),
        )

    def finish(self, scheduler: str) -> BatchOutcome:
        """Write the morning report and close the run, releasing the lock."""
        with session_scope(self.engine) as session:
            results = runs.results(session, self.run_id)
            run = session.get(BatchRun, self.run_id)
            assert run is not None
            failed = sum(1 for r in results if r.status == runs.FAILED)
            status = PARTIAL if failed else FINISHED
            report = build_report(run, results, status=status, workers=self._workers())
        paths = write_report(report, self.options.report_dir) if self.options.report_dir else ()
        with session_scope(self.engine) as session:
            run = session.get(BatchRun, self.run_id)
            assert run is not None
            run.status, run.finished_at, run.report = status, utcnow(), report
            release(session, self.options.day, self.run_id, self.holder)
        totals = report["totals"]
        log.info(
            "run %d %s: %d planned, %d unchanged, %d failed, %d skipped in %.0f s",
            self.run_id,
            status,
            totals["planned"],
            totals["unchanged"],
            totals["failed"],
            totals["skipped"],
            time.monotonic() - self.started,
            extra=fields(
                event="run_finished",
                run_id=self.run_id,
                status=status,
                planned=totals["planned"],
                unchanged=totals["unchanged"],
                failed=totals["failed"],
                skipped=totals["skipped"],
                visits_planned=totals["visits_planned"],
                seconds=round(time.monotonic() - self.started, 3),
            ),
        )
        return BatchOutcome(self.run_id, self.claim.resumed, status, report, tuple(paths))

    # --- one region -------------------------------------------------------------------

    def _start(self, job: _Job) -> None:
        """Prepare the region and submit it, or record why not."""
        clock = time.perf_counter()
        if not job.started:
            job.started = time.monotonic()
        try:
            prepared, stored = prepare(
                self.engine, job.region_id, self.options.day, policy_dir=self.options.policy_dir
            )
        except (UnknownRegionError, ValueError) as exc:
            self._fail(job, FailureKind.INPUT, f"{exc} (fix it and run the batch again)")
            return
        if not stored.visits:
            note = f"no open visits on {self.options.day.isoformat()}"
            self._record(job, runs.ResultRow(job.region_id, runs.SKIPPED, detail={"note": note}))
            return
        job.prepared = prepared
        job.fingerprint = input_fingerprint(self.engine, prepared, stored, self.solve_options)
        if not self.options.replan and job.conflicts == 0 and job.submissions == 0:
            with session_scope(self.engine) as session:
                current = runs.up_to_date_plan(
                    session, job.region_id, self.options.day, job.fingerprint
                )
            if current is not None:
                self._unchanged(job, *current)
                return
        parts = split_day(prepared.policy_day.day_input, max_visits=self.options.split_above)
        task = RegionTask(
            region_id=job.region_id,
            day=self.options.day,
            timezone=prepared.timezone,
            network=prepared.network,
            day_input=stored,
            policy_day=prepared.policy_day,
            options=self.options.solve,
        )
        job.submissions += 1
        job.parts = len(parts)
        key = f"{job.region_id}-run{self.run_id}-{job.submissions}-{uuid.uuid4().hex[:8]}"
        if len(parts) == 1:
            future = self.client.submit(plan_region, task, key=f"plan-{key}", pure=False)
            job.futures = [future]
        else:
            part_futures = [
                self.client.submit(
                    plan_part,
                    PartTask(
                        region_id=job.region_id,
                        part=p,
                        day=self.options.day,
                        timezone=prepared.timezone,
                        network=prepared.network,
                        day_input=part,
                        options=self.options.solve,
                    ),
                    key=f"part{p + 1}-{key}",
                    pure=False,
                )
                for p, part in enumerate(parts)
            ]
            future = self.client.submit(
                stitch_region, task, *part_futures, key=f"stitch-{key}", pure=False
            )
            job.futures = [*part_futures, future]
        self.pending[future] = job
        job.driver_seconds += time.perf_counter() - clock

    def _handle(self, future: Future, job: _Job) -> None:
        """A region's task ended: save its plan, record its failure, or submit it again."""
        try:
            if future.status == "finished":
                result = future.result()
            else:
                error = future.exception() if future.status == "error" else None
                self._lost_task(job, type(error).__name__ if error else str(future.status))
                return
        finally:
            self.client.cancel(job.futures)  # frees the parts' results on the cluster
            job.futures = []
        if isinstance(result, RegionFailed):
            self._fail(job, result.kind, result.cause, worker=result.worker)
        elif isinstance(result, RegionPlanned):
            self._save(job, result)
        else:  # pragma: no cover - the tasks return nothing else
            self._fail(job, FailureKind.INTERNAL, f"unexpected task result {type(result).__name__}")

    def _lost_task(self, job: _Job, error: str) -> None:
        """The region's task died with its workers (or was lost): submit it again, or give
        up after `max_attempts`."""
        if self.client.status not in ("running", "connecting"):
            msg = (
                "the Dask scheduler stopped answering; check it and run the same command "
                "again to resume the run"
            )
            raise ClusterLostError(msg)
        job.last_error = error
        job.lost += 1
        if job.lost < self.options.max_attempts:
            log.warning(
                "region %s: its task was lost (%s); submitting it again",
                job.region_id,
                error,
                extra=fields(
                    event="region_resubmitted",
                    run_id=self.run_id,
                    region=job.region_id,
                    attempt=job.lost + 1,
                    error=error,
                ),
            )
            self.queue.appendleft(job)
            return
        cause = (
            f"worker processes died {job.lost} times while planning it (last: {error}); "
            "the region may need more memory than a worker has: lower --split-above, or give "
            "the workers more memory, and run the batch again"
        )
        self._fail(job, FailureKind.WORKER, cause)

    def _save(self, job: _Job, result: RegionPlanned) -> None:
        """Store the plan and the region's result in one transaction, under the lock."""
        assert job.prepared is not None
        clock = time.perf_counter()
        summary = result.document["summary"]
        try:
            with session_scope(self.engine) as session:
                assert_held(session, self.options.day, self.run_id, self.holder)
                plan_id = save_document(
                    session,
                    job.prepared,
                    result.document,
                    policy=result.policy,
                    objective=result.objective,
                    solve_seconds=result.solve_seconds,
                    actor=self.options.actor,
                )
                job.driver_seconds += time.perf_counter() - clock
                row = self._planned_row(job, result, plan_id)
                runs.record_result(session, self.run_id, row)
        except ConcurrentPlanError:
            job.conflicts += 1
            if job.conflicts > self.options.max_conflicts:
                cause = (
                    f"other regions kept saving plans for the same borrowers while it was "
                    f"planned ({job.conflicts} times); run the batch again"
                )
                self._fail(job, FailureKind.INPUT, cause)
                return
            log.info(
                "region %s: another region planned the same borrowers meanwhile; planning it again",
                job.region_id,
                extra=fields(
                    event="region_conflict",
                    run_id=self.run_id,
                    region=job.region_id,
                    conflicts=job.conflicts,
                ),
            )
            self.queue.appendleft(job)
            return
        except ValueError as exc:  # e.g. a policy file changed under the same version
            self._fail(job, FailureKind.INPUT, f"plan not stored: {exc}")
            return
        self._done(job, runs.PLANNED, summary["visits_routed"])
        log.info(
            "region %s planned: %d of %d visits in %.1f s",
            job.region_id,
            summary["visits_routed"],
            summary["visits"],
            row.wall_seconds,
            extra=fields(
                event="region_planned",
                run_id=self.run_id,
                region=job.region_id,
                plan_id=plan_id,
                visits=summary["visits"],
                routed=summary["visits_routed"],
                appointments_kept=summary["appointments_kept"],
                parts=job.parts,
                attempts=job.submissions,
                solve_seconds=round(result.solve_seconds, 3),
                seconds=row.wall_seconds,
            ),
        )

    def _planned_row(self, job: _Job, result: RegionPlanned, plan_id: int) -> runs.ResultRow:
        summary = result.document["summary"]
        return runs.ResultRow(
            region_id=job.region_id,
            status=runs.PLANNED,
            plan_id=plan_id,
            visits=summary["visits"],
            routed=summary["visits_routed"],
            appointments=summary["appointments"],
            appointments_kept=summary["appointments_kept"],
            parts=max(len(result.parts), 1),
            attempts=job.submissions,
            solve_seconds=round(result.solve_seconds, 3),
            wall_seconds=round(time.monotonic() - job.started, 3),
            detail={
                "input_sha256": job.fingerprint,
                **_plan_figures(result.document),
                "stage_seconds": {k: round(v, 3) for k, v in result.timings.items()},
                "driver_seconds": round(job.driver_seconds, 3),
                "conflicts": job.conflicts,
                "lost_tasks": job.lost,
                "worker": result.worker,
                "part_details": [
                    {
                        "visits": p.visits,
                        "teams": p.teams,
                        "routed": p.routed,
                        "solve_seconds": p.solve_seconds,
                    }
                    for p in result.parts
                ],
            },
        )

    def _unchanged(self, job: _Job, plan_id: int, document: dict[str, Any]) -> None:
        summary = document.get("summary", {})
        row = runs.ResultRow(
            region_id=job.region_id,
            status=runs.UNCHANGED,
            plan_id=plan_id,
            visits=summary.get("visits", 0),
            routed=summary.get("visits_routed", 0),
            appointments=summary.get("appointments", 0),
            appointments_kept=summary.get("appointments_kept", 0),
            attempts=0,
            detail={"input_sha256": job.fingerprint, **_plan_figures(document)},
        )
        self._record(job, row)
        log.info(
            "region %s unchanged since its last batch plan",
            job.region_id,
            extra=fields(
                event="region_unchanged", run_id=self.run_id, region=job.region_id, plan_id=plan_id
            ),
        )

    def _fail(self, job: _Job, kind: str, cause: str, *, worker: str = "") -> None:
        row = runs.ResultRow(
            region_id=job.region_id,
            status=runs.FAILED,
            visits=job.visits,
            attempts=job.submissions,
            wall_seconds=round(time.monotonic() - job.started, 3) if job.started else 0.0,
            error=cause,
            detail={
                "failure": {"kind": kind, "cause": cause},
                "input_sha256": job.fingerprint,
                "worker": worker,
            },
        )
        self._record(job, row)
        log.warning(
            "region %s failed (%s); the morning report has the cause",
            job.region_id,
            kind,
            extra=fields(
                event="region_failed",
                run_id=self.run_id,
                region=job.region_id,
                kind=kind,
                attempts=job.submissions,
            ),
        )

    def _record(self, job: _Job, row: runs.ResultRow) -> None:
        """Commit a result that comes without a plan (unchanged, failed, skipped)."""
        with session_scope(self.engine) as session:
            assert_held(session, self.options.day, self.run_id, self.holder)
            runs.record_result(session, self.run_id, row)
        self._done(job, row.status, row.routed)

    def _done(self, job: _Job, status: str, routed: int) -> None:
        self.regions_done += 1
        self.visits_done += job.visits
        self.visits_planned += routed
        self.failures += status == runs.FAILED
        self._show()

    # --- bookkeeping --------------------------------------------------------------------

    def _show(self) -> None:
        self.progress.update(
            regions_done=self.regions_done,
            visits_done=self.visits_done,
            visits_planned=self.visits_planned,
            failures=self.failures,
        )

    def _heartbeat(self) -> None:
        if time.monotonic() - self.last_beat >= self.options.heartbeat_s:
            beat(self.engine, self.options.day, self.run_id, self.holder)
            self.last_beat = time.monotonic()

    def _workers(self) -> int:
        try:
            return len(self.client.nthreads())
        except Exception:  # a scheduler gone at the very end only costs the report a number
            return 0


def _plan_figures(document: dict[str, Any]) -> dict[str, Any]:
    """What the report shows of a plan: unassigned by reason, travel per agent."""
    summary = document.get("summary", {})
    agents = {r["team_id"]: r["agent_ids"] for r in document.get("routes", [])}
    return {
        "unassigned": summary.get("unassigned", 0),
        "unassigned_by_reason": summary.get("unassigned_by_reason", {}),
        "travel_time_s": summary.get("travel_time_s", 0),
        "travel_distance_m": summary.get("travel_distance_m", 0),
        "solver_status": summary.get("solver_status", ""),
        "travel_per_agent": [
            {
                "team_id": team["team_id"],
                "agent_ids": agents.get(team["team_id"], []),
                "mode": team["mode"],
                "visits": team["visits"],
                "travel_time_s": team["travel_time_s"],
                "travel_distance_m": team["travel_distance_m"],
                "working_time_s": team["working_time_s"],
            }
            for team in summary.get("per_team", [])
        ],
    }
