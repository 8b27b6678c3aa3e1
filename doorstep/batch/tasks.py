"""What a Dask worker does for the nightly batch: plan a region (or a part of one), stitch.

Workers get plain, picklable inputs (a region-day as the contact policy allows it, the road
network's source string, the cache folder and the solver limits) and return plain results;
they never open the database, so a worker can run anywhere the road cache is mounted.

Every task returns a result and never raises: a region whose data is bad or whose solve
fails comes back as a `RegionFailed` with its cause. That keeps failures of the region
apart from failures of the machine (a worker process that dies, which Dask re-runs), and
keeps Dask from logging a failed task's arguments, which hold borrower data.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geo
from doorstep.contact import PolicyDay
from doorstep.csvio import DayInput
from doorstep.errors import InputError
from doorstep.planning import DayPlan, PlanInvalidError, RouteShape, build_problem, plan_day
from doorstep.region_planning import check_area
from optimizer import Plan, SolverTimeoutError
from optimizer.validate import validate

log = logging.getLogger(__name__)

NETWORK_CACHE_SIZE = 2
"""Road networks a worker keeps loaded. A worker plans many regions of the same network
in a row, and loading a country's graphs even from the cache takes seconds; two allow a
worker to alternate between networks without reloading."""


class FailureKind:
    """Why a region failed, for the report and the logs (stable strings)."""

    INPUT = "input"
    """The region's data: fix it and run the batch again."""
    NETWORK = "network"
    """The region's road network could not be loaded."""
    SOLVE = "solve"
    """The solver found no plan in the time limit."""
    INTERNAL = "internal"
    """A bug or a broken machine: the plan was not stored; report it."""
    WORKER = "worker"
    """Worker processes kept dying while planning the region."""


@dataclass(frozen=True)
class SolveOptions:
    """The solver's limits and where the road cache is, the same for every region of a run.

    `cache_dir` holds the road graphs; matrices go in its `matrices` folder, as for
    `doorstep plan`. On a cluster it must be the same path on every worker.
    """

    time_limit: float
    max_solutions: int | None
    max_snap_m: float
    cache_dir: Path

    def __post_init__(self) -> None:
        if self.time_limit <= 0:
            msg = f"time_limit must be positive seconds, got {self.time_limit}"
            raise ValueError(msg)
        if self.max_solutions is not None and self.max_solutions < 1:
            msg = f"max_solutions must be at least 1, got {self.max_solutions}"
            raise ValueError(msg)


@dataclass(frozen=True)
class RegionTask:
    """One region-day to plan: the day as stored (`day_input`, every open visit, for the
    plan's unassigned list) and as the contact policy allows it (`policy_day`)."""

    region_id: str
    day: date
    timezone: str
    network: str
    day_input: DayInput
    policy_day: PolicyDay
    options: SolveOptions


@dataclass(frozen=True)
class PartTask:
    """One part of a region split for size: `day_input` holds the part's visits (already
    cut by the contact policy), agents, crews and borrowers."""

    region_id: str
    part: int
    day: date
    timezone: str
    network: str
    day_input: DayInput
    options: SolveOptions


@dataclass(frozen=True)
class PartInfo:
    """How one part of a split region went, for the report."""

    visits: int
    teams: int
    routed: int
    solve_seconds: float


@dataclass(frozen=True)
class RegionPlanned:
    """A region's validated plan as its plan JSON (`doorstep.export.plan_document`), with
    what saving it needs. `parts` is empty unless the region was split."""

    region_id: str
    document: dict[str, Any]
    policy: str
    objective: int
    solve_seconds: float
    timings: Mapping[str, float]
    worker: str
    parts: tuple[PartInfo, ...] = ()


@dataclass(frozen=True)
class RegionFailed:
    """A region that could not be planned: `kind` (a `FailureKind`) and a `cause` that says
    what to do. The cause may name visits or rows; it goes to the report, never the logs."""

    region_id: str
    kind: str
    cause: str
    worker: str = ""


@dataclass(frozen=True)
class PartPlanned:
    """A part's plan, its route lines and stage times, before stitching."""

    part: int
    plan: Plan
    shapes: Mapping[str, RouteShape]
    info: PartInfo
    timings: Mapping[str, float] = field(default_factory=dict)


RegionResult = RegionPlanned | RegionFailed


def plan_region(task: RegionTask) -> RegionResult:
    """Plan one whole region-day on this worker; never raises (see the module docstring)."""
    try:
        network, load_seconds = _load(task.network, task.options.cache_dir)
        check_area(task.policy_day.day_input, network, visits_file="visits", agents_file="agents")
        day_plan = plan_day(
            task.day_input,
            network,
            day=task.day,
            timezone=task.timezone,
            region=task.region_id,
            time_limit=task.options.time_limit,
            max_solutions=task.options.max_solutions,
            max_snap_m=task.options.max_snap_m,
            cache_dir=task.options.cache_dir / "matrices",
            policy_day=task.policy_day,
        )
        day_plan = dataclasses.replace(
            day_plan, timings={"graph load": load_seconds, **day_plan.timings}
        )
        return _planned(task.region_id, day_plan)
    except Exception as exc:  # every failure is the region's result
        return _failure(task.region_id, task.network, exc)


def plan_part(task: PartTask) -> PartPlanned | RegionFailed:
    """Plan one part of a split region; never raises."""
    try:
        network, load_seconds = _load(task.network, task.options.cache_dir)
        check_area(task.day_input, network, visits_file="visits", agents_file="agents")
        day_plan = plan_day(
            task.day_input,
            network,
            day=task.day,
            timezone=task.timezone,
            region=f"{task.region_id}#{task.part + 1}",
            time_limit=task.options.time_limit,
            max_solutions=task.options.max_solutions,
            max_snap_m=task.options.max_snap_m,
            cache_dir=task.options.cache_dir / "matrices",
        )
        teams = len(day_plan.problem.teams())
        info = PartInfo(
            visits=len(task.day_input.visits),
            teams=teams,
            routed=day_plan.plan.num_assigned,
            solve_seconds=round(day_plan.timings.get("solve", 0.0), 3),
        )
        timings = {"graph load": load_seconds, **day_plan.timings}
        return PartPlanned(task.part, day_plan.plan, day_plan.shapes, info, timings)
    except Exception as exc:  # every failure is the region's result
        return _failure(task.region_id, task.network, exc)


def stitch_region(task: RegionTask, *parts: PartPlanned | RegionFailed) -> RegionResult:
    """Stitch the parts' plans into the region's plan and validate it against the whole
    region's problem; never raises. The first failed part fails the region."""
    from doorstep.batch.stitch import stitch_plans

    for part in parts:
        if isinstance(part, RegionFailed):
            return part
    planned = sorted((p for p in parts if isinstance(p, PartPlanned)), key=lambda p: p.part)
    try:
        network, load_seconds = _load(task.network, task.options.cache_dir)
        clock = time.perf_counter()
        routable = build_problem(
            task.policy_day.day_input,
            network,
            day=task.day,
            timezone=task.timezone,
            max_snap_m=task.options.max_snap_m,
            cache_dir=task.options.cache_dir / "matrices",
        )
        plan = stitch_plans(routable.problem, [p.plan for p in planned])
        violations = validate(routable.problem, plan)
        if violations:
            shown = "; ".join(str(v) for v in violations[:5])
            msg = f"the stitched plan failed validation ({len(violations)} violations: {shown})"
            raise PlanInvalidError(msg)
        if task.policy_day.excluded:
            plan = dataclasses.replace(plan, unassigned=plan.unassigned + task.policy_day.excluded)
        timings: dict[str, float] = {"graph load": load_seconds}
        for part in planned:
            for stage, seconds in part.timings.items():
                if stage != "graph load":
                    timings[stage] = timings.get(stage, 0.0) + seconds
        timings["stitch"] = time.perf_counter() - clock
        shapes = {team: shape for p in planned for team, shape in p.shapes.items()}
        day_plan = DayPlan(
            region=task.region_id,
            plan=plan,
            problem=routable.problem,
            day_input=task.day_input,
            shapes=shapes,
            timings=timings,
            policy=task.policy_day.policy,
        )
        result = _planned(task.region_id, day_plan)
        return dataclasses.replace(result, parts=tuple(p.info for p in planned))
    except Exception as exc:  # every failure is the region's result
        return _failure(task.region_id, task.network, exc)


def worker_name() -> str:
    """host:pid of this process, so the report can tell where a region ran."""
    return f"{socket.gethostname()}:{os.getpid()}"


@functools.lru_cache(maxsize=NETWORK_CACHE_SIZE)
def _cached_network(source: str, cache_dir: Path) -> geo.RoadNetwork:
    return geo.load_network(None if source == geo.SAMPLE else source, cache_dir=cache_dir)


class NetworkLoadError(RuntimeError):
    """The region's road network could not be loaded; the message says why."""


def _load(source: str, cache_dir: Path) -> tuple[geo.RoadNetwork, float]:
    """The road network of `source` and the seconds it took (about 0 when this worker had
    it already). Raises `NetworkLoadError`."""
    clock = time.perf_counter()
    try:
        network = _cached_network(source, cache_dir)
    except (ValueError, OSError) as exc:
        raise NetworkLoadError(str(exc)) from None
    return network, time.perf_counter() - clock


def _planned(region_id: str, day_plan: DayPlan) -> RegionPlanned:
    from doorstep.export import plan_document

    return RegionPlanned(
        region_id=region_id,
        document=plan_document(day_plan),
        policy=day_plan.policy,
        objective=day_plan.plan.objective,
        solve_seconds=day_plan.plan.solve_seconds,
        timings=dict(day_plan.timings),
        worker=worker_name(),
    )


def _failure(region_id: str, network: str, exc: Exception) -> RegionFailed:
    """The region's failure with a cause that says what to do. Logged by kind only."""
    if isinstance(exc, InputError):
        kind = FailureKind.INPUT
        cause = f"{exc} (fix the region's data and run the batch again)"
    elif isinstance(exc, NetworkLoadError):
        kind = FailureKind.NETWORK
        cause = (
            f"road network {network!r} could not be loaded: {exc} (check the region's "
            "--network with `doorstep region add`, and warm the cache with "
            "`doorstep network fetch --all-regions`)"
        )
    elif isinstance(exc, SolverTimeoutError):
        kind = FailureKind.SOLVE
        cause = f"{exc} (raise --time-limit, or lower --split-above to solve it in parts)"
    elif isinstance(exc, PlanInvalidError):
        kind = FailureKind.INTERNAL
        cause = f"internal error, no plan stored: {exc}"
    elif isinstance(exc, ValueError):
        kind = FailureKind.INPUT
        cause = f"{exc} (fix the region's data and run the batch again)"
    else:
        kind = FailureKind.INTERNAL
        cause = f"internal error, no plan stored: {type(exc).__name__}: {exc}"
    log.warning("region %s failed on a worker (%s, %s)", region_id, kind, type(exc).__name__)
    return RegionFailed(region_id=region_id, kind=kind, cause=cause, worker=worker_name())
