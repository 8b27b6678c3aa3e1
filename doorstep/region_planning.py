"""Plan a stored region-day end to end: read it, route it, store the plan.

One routine for everything that plans a stored day on request: `doorstep plan --region`
and the web app's planning jobs. It reads the day and applies the contact policy
(`stored_plans.prepare`), loads the road network, checks the day lies on it, routes and
validates (`planning.plan_day`) and stores the plan as the region-day's current plan
(`stored_plans.save`), reporting each stage to `on_stage` as it begins. Every failure a user
can act on is a `RegionPlanError` whose message says what to do; anything else is a bug.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

import geo
from doorstep.contact import PolicyDay
from doorstep.csvio import DayInput, check_in_area
from doorstep.db.days import UnknownRegionError
from doorstep.db.engine import session_scope
from doorstep.db.store import CURRENT, load_plan
from doorstep.errors import InputError
from doorstep.planning import DayPlan, PlanInvalidError, plan_day
from doorstep.settings import Settings
from doorstep.stored_plans import ConcurrentPlanError, prepare, save
from optimizer import SolverTimeoutError

NETWORK_CACHE_SIZE = 4
"""Road networks a process keeps loaded (`cached_network`)."""
OUTSIDE_NETWORK_MARGIN_M = 2000.0
"""Coordinates farther than this outside the road network's area are an input error."""

StageHook = Callable[[str], None]
"""Told the name of each stage as it begins: reading, network, matrices, solving,
validating, geometry, saving (see `planning.plan_day` for the middle ones)."""


class RegionPlanError(RuntimeError):
    """The region-day cannot be planned as it stands; the message says what to fix."""


@dataclass(frozen=True)
class RegionPlan:
    """A stored plan: the validated `day_plan`, its id, and the plan document it replaced as
    the region-day's current plan (None when there was none), for comparing the two."""

    day_plan: DayPlan
    plan_id: int
    replaced: dict[str, Any] | None


def load_network(source: str, settings: Settings) -> geo.RoadNetwork:
    """The road network named by a region or `--network` ('sample' is the bundled city).

    The last few networks stay loaded in the process: a web worker answering slot queries
    and hand moves for a region would otherwise read its graph for every request.
    """
    try:
        return cached_network(source, settings.cache_dir)
    except (ValueError, OSError) as exc:
        raise RegionPlanError(f"road network {source!r}: {exc}") from None


@functools.lru_cache(maxsize=NETWORK_CACHE_SIZE)
def cached_network(source: str, cache_dir: Path) -> geo.RoadNetwork:
    """`geo.load_network` for a region's network source, kept for the next call."""
    return geo.load_network(None if source == geo.SAMPLE else source, cache_dir=cache_dir)


def check_area(
    day_input: DayInput, network: geo.RoadNetwork, *, visits_file: str, agents_file: str
) -> None:
    """Raise `InputError` naming every visit and agent far outside the network's area."""
    bounds = network.bounds()
    problems = check_in_area(
        day_input,
        lambda lat, lon: bounds.contains(lat, lon, margin_m=OUTSIDE_NETWORK_MARGIN_M),
        visits_file=visits_file,
        agents_file=agents_file,
    )
    if problems:
        raise InputError(problems)


def route_day(
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
    max_solutions: int | None = None,
    num_workers: int = 1,
    on_stage: StageHook | None = None,
) -> DayPlan:
    """Load the road network, check the day lies on it, route and validate.

    `files` names the visits and agents inputs in error messages (file names, or "visits"
    and "agents" for a stored day).
    """
    hook = on_stage or _ignore
    hook("network")
    clock = time.perf_counter()
    network = load_network(network_source, settings)
    load_seconds = time.perf_counter() - clock
    try:
        check_area(day_input, network, visits_file=files[0], agents_file=files[1])
        day_plan = plan_day(
            day_input,
            network,
            day=day,
            timezone=timezone,
            region=region or network.name,
            time_limit=time_limit,
            max_solutions=max_solutions,
            num_workers=num_workers,
            max_snap_m=settings.max_snap_m,
            cache_dir=settings.cache_dir / "matrices",
            policy_day=policy_day,
            on_stage=hook,
        )
    except InputError as exc:
        raise RegionPlanError(str(exc)) from None
    except SolverTimeoutError as exc:
        raise RegionPlanError(f"{exc} (--time-limit or DOORSTEP_TIME_LIMIT)") from None
    except PlanInvalidError as exc:
        raise RegionPlanError(f"internal error, no plan written: {exc}") from None
    timings = {"graph load": load_seconds, **day_plan.timings}
    return dataclasses.replace(day_plan, timings=timings)


def plan_region(
    engine: Engine,
    settings: Settings,
    region_id: str,
    day: date,
    *,
    time_limit: float,
    actor: str,
    max_solutions: int | None = None,
    num_workers: int = 1,
    on_stage: StageHook | None = None,
) -> RegionPlan:
    """Plan the stored region-day under its policy and store it as the current plan."""
    hook = on_stage or _ignore
    hook("reading")
    try:
        prepared, stored = prepare(engine, region_id, day, policy_dir=settings.policy_dir)
    except (UnknownRegionError, ValueError) as exc:
        raise RegionPlanError(str(exc)) from None
    if not stored.visits:
        msg = (
            f"region {region_id} has no open visits on {day.isoformat()}; import them with "
            f"`doorstep import visits.csv --region {region_id} --day {day.isoformat()}`"
        )
        raise RegionPlanError(msg)
    day_plan = route_day(
        settings,
        stored,
        prepared.policy_day,
        files=("visits", "agents"),
        day=day,
        network_source=prepared.network,
        timezone=prepared.timezone,
        time_limit=time_limit,
        region=region_id,
        max_solutions=max_solutions,
        num_workers=num_workers,
        on_stage=hook,
    )
    hook("saving")
    with session_scope(engine) as session:
        before = load_plan(session, region_id, day, CURRENT)
        replaced = dict(before.document) if before is not None else None
    try:
        plan_id = save(engine, prepared, day_plan, actor=actor)
    except (ConcurrentPlanError, ValueError) as exc:
        raise RegionPlanError(f"plan not stored: {exc}") from None
    return RegionPlan(day_plan=day_plan, plan_id=plan_id, replaced=replaced)


def _ignore(stage: str) -> None:
    """The stage hook of a caller that does not follow progress."""
