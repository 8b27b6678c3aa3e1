"""VRPTW quality: Doorstep against PyVRP and VROOM on the Solomon and Gehring-Homberger sets.

Run: `.venv/bin/python -m benchmarks.vrptw [--suite bench|targets|quick] [--sets ...]
[--instances ...] [--time-limit S] [--solvers ...] [--out FILE]` (`make bench-vrptw` for the
bench suite, `SUITES`). Needs the `bench` extra (PyVRP, pyvroom, vrplib, matplotlib) and the
instances in `../shared/benchmarks/vrptw/`.

Every solver gets the same instance, the same integer travel matrix and the same time limit, one
solver at a time, on one thread; `doorstep2` is Doorstep with `num_workers=2` (both cores), a
row apart from the single-threaded comparison. One objective for all: total distance with the
instance's fleet (unused vehicles are free; the best-known solutions in `bks.csv` minimise
vehicles first, so a distance-only solution may use more vehicles and beat them). The harness
rebuilds each solver's routes as plain sequences of customers, recomputes their distance in
double precision from the coordinates and checks every route itself: capacity, time windows
with service times, the depot's due date, every customer exactly once, and at most the
instance's fleet.

Rounding: the solvers see Euclidean distances times `scale` (100, or 10 where the latest due date
times 100 would not fit Doorstep's two-day horizon), rounded *up* to integers, as travel times
and as distances. Ready times, due dates and service times are integers in the files and scale
exactly, so a schedule feasible in these units is feasible in exact double-precision times.
Per instance the report gives vehicles, distance, gap to best-known and to PyVRP, feasibility
and wall time (the solver's whole call, model building included; more than 5 % over the limit
is flagged); per set the means.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import os
import platform
import re
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from optimizer import (
    DAY_SECONDS,
    Agent,
    Location,
    Problem,
    SolverTimeoutError,
    TimeWindow,
    TravelMatrix,
    TravelMode,
    Visit,
    VisitKind,
    solve,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "benchmarks" / "vrptw"
RESULTS = Path(__file__).resolve().parent / "results" / "vrptw.md"

SETS = ("solomon", "homberger_200", "homberger_400", "homberger_1000")
SOLVERS = ("doorstep", "doorstep2", "pyvrp", "vroom")
"""`doorstep2` is Doorstep on two worker processes (`num_workers=2`); the peers use one."""
DEFAULT_SOLVERS = ("doorstep", "pyvrp", "vroom")
FULL_TIME_LIMITS = {"solomon": 10.0}
"""Seconds per instance when a whole set is run with `--sets` (Homberger: 60 s), as in the
issue's targets."""
OVERRUN_TOLERANCE = 0.05
"""A run whose wall time exceeds its limit by more than this fraction is flagged."""
HORIZON = 2 * DAY_SECONDS
"""Doorstep's latest time of day (s): the scaled depot due date must fit below it."""
SCALES = (100, 10, 1)
TOLERANCE = 1e-6
"""Slack for float noise when the checker compares double-precision times."""
VROOM_EXPLORATION = 5


@dataclass(frozen=True)
class Case:
    """Instances of one set to run at one time limit: `pattern` is comma-separated globs."""

    set_name: str
    pattern: str
    time_limit: float


SUITES = {
    "bench": (
        Case("solomon", "c101,c105,c201,c205,r101,r105,r201,r205,rc101,rc105,rc201,rc205", 10.0),
        Case("homberger_200", "c1_2_1,r2_2_1,rc1_2_1", 60.0),
        Case("homberger_1000", "c2_10_1,r1_10_1,rc2_10_1", 60.0),
    ),
    "targets": (
        Case("solomon", "*", 10.0),
        Case("homberger_200", "c1_2_1,c2_2_1,r1_2_1,r2_2_1,rc1_2_1,rc2_2_1", 60.0),
        Case("homberger_1000", "c1_10_1,c2_10_1,r1_10_1,r2_10_1,rc1_10_1,rc2_10_1", 60.0),
    ),
    "quick": (
        Case("solomon", "c201,r101,rc105", 5.0),
        Case("homberger_200", "r1_2_1", 10.0),
    ),
}
"""Named suites. `bench` (what `make bench` runs; about 33 minutes with four solvers): two
Solomon instances per class at 10 s and one Homberger instance per class at 60 s, the classes
shared between 200 and 1,000 customers. `targets` (about 85 minutes): the issue's targets, all
of Solomon at 10 s and one instance per class of Homberger 200 and 1,000 at 60 s. `quick`:
about 2 minutes, written outside the repository unless --out says otherwise."""
SUITE_SOLVERS = ("doorstep", "doorstep2", "pyvrp", "vroom")


@dataclass(frozen=True, eq=False)
class Instance:
    """A VRPTW instance as the files give it; index 0 is the depot, 1..n the customers."""

    name: str
    set_name: str
    coords: np.ndarray
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray
    num_vehicles: int
    capacity: int

    @property
    def num_customers(self) -> int:
        return len(self.coords) - 1

    @cached_property
    def distances(self) -> np.ndarray:
        """Euclidean distances between all nodes, double precision, no rounding."""
        diff = self.coords[:, None, :] - self.coords[None, :, :]
        return np.hypot(diff[..., 0], diff[..., 1])

    def head(self, num_customers: int) -> Instance:
        """The first `num_customers` customers (Solomon's 25- and 50-customer variants)."""
        keep = slice(0, num_customers + 1)
        return replace(
            self,
            name=f"{self.name}.{num_customers}",
            coords=self.coords[keep],
            demand=self.demand[keep],
            ready=self.ready[keep],
            due=self.due[keep],
            service=self.service[keep],
        )


def read_instance(path: Path, set_name: str = "") -> Instance:
    """Read a Solomon-format file with `vrplib`; the name is the file's stem in capitals."""
    import vrplib

    data = vrplib.read_instance(str(path), instance_format="solomon")
    windows = np.asarray(data["time_window"], dtype=np.int64)
    return Instance(
        name=path.stem.upper(),
        set_name=set_name or path.parent.name,
        coords=np.asarray(data["node_coord"], dtype=np.float64),
        demand=np.asarray(data["demand"], dtype=np.int64),
        ready=windows[:, 0],
        due=windows[:, 1],
        service=np.asarray(data["service_time"], dtype=np.int64),
        num_vehicles=int(data["vehicles"]),
        capacity=int(data["capacity"]),
    )


def instance_paths(data: Path, set_name: str, pattern: str = "*") -> list[Path]:
    """The set's files whose stem matches one of the comma-separated globs (any case)."""
    globs = [g.strip().lower() for g in pattern.split(",") if g.strip()]
    paths = sorted((data / set_name).glob("*.txt"), key=lambda p: _natural_key(p.stem))
    return [p for p in paths if any(fnmatch.fnmatch(p.stem.lower(), g) for g in globs)]


def _natural_key(name: str) -> tuple[object, ...]:
    """Sort r1_2_10 after r1_2_9."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name.lower()))


def read_bks(path: Path) -> dict[str, tuple[int, float]]:
    """Best-known (vehicles, distance) by instance name, from `bks.csv`."""
    with path.open(newline="") as f:
        return {
            row["instance"].upper(): (int(row["vehicles"]), float(row["distance"]))
            for row in csv.DictReader(f)
        }


# --- the integer data every solver sees ---------------------------------------------------------
def scale_for(instance: Instance) -> int:
    """The largest of 100, 10, 1 that keeps the scaled depot due date inside Doorstep's horizon."""
    latest = int(instance.due.max())
    for scale in SCALES:
        if latest * scale <= HORIZON:
            return scale
    msg = f"{instance.name}: due date {latest} does not fit a {HORIZON} s horizon"
    raise ValueError(msg)


def integer_matrix(instance: Instance, scale: int) -> np.ndarray:
    """Euclidean distances times `scale`, rounded up: never shorter than the exact ones."""
    return np.ceil(instance.distances * scale).astype(np.int64)


# --- the harness's own check ----------------------------------------------------------------
Routes = tuple[tuple[int, ...], ...]
"""Customers (1..n) in visiting order, one tuple per vehicle used; each starts and ends at 0."""


@dataclass(frozen=True)
class Check:
    """What the harness found in a solution: `problems` is empty exactly when it is feasible."""

    vehicles: int
    distance: float
    problems: tuple[str, ...]

    @property
    def feasible(self) -> bool:
        return not self.problems


def check_routes(instance: Instance, routes: Routes) -> Check:
    """Re-simulate every route in double precision and check it against the instance.

    Service starts at max(arrival, ready) and must not start after the customer's due date;
    vehicles leave the depot at its ready time and must be back by its due date; each route's
    demand is at most the capacity; every customer is served exactly once; at most the
    instance's vehicles are used. Empty routes are ignored. The distance is the sum of exact
    Euclidean legs, depot to depot.
    """
    dist = instance.distances
    n = instance.num_customers
    problems: list[str] = []
    used = [r for r in routes if r]
    if len(used) > instance.num_vehicles:
        problems.append(f"{len(used)} routes for a fleet of {instance.num_vehicles}")
    seen = np.zeros(n + 1, dtype=np.int64)
    total = 0.0
    for k, route in enumerate(used, start=1):
        bad = [c for c in route if not 1 <= c <= n]
        if bad:
            problems.append(f"route {k}: no customer {bad[0]}")
            continue
        seen[list(route)] += 1
        load = int(instance.demand[list(route)].sum())
        if load > instance.capacity:
            problems.append(f"route {k}: load {load} over capacity {instance.capacity}")
        t, previous = float(instance.ready[0]), 0
        for c in route:
            total += dist[previous, c]
            arrival = t + dist[previous, c]
            start = max(arrival, float(instance.ready[c]))
            if start > instance.due[c] + TOLERANCE:
                msg = f"route {k}: customer {c} starts {start:.2f} > due {instance.due[c]}"
                problems.append(msg)
            t, previous = start + instance.service[c], c
        total += dist[previous, 0]
        back = t + dist[previous, 0]
        if back > instance.due[0] + TOLERANCE:
            problems.append(f"route {k}: back at the depot {back:.2f} > due {instance.due[0]}")
    missing = np.flatnonzero(seen[1:] == 0) + 1
    if len(missing):
        problems.append(f"{len(missing)} customers not served (e.g. {missing[0]})")
    twice = np.flatnonzero(seen[1:] > 1) + 1
    if len(twice):
        problems.append(f"{len(twice)} customers served more than once (e.g. {twice[0]})")
    return Check(vehicles=len(used), distance=total, problems=tuple(problems))


# --- the solvers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """A solver's routes and anything worth noting about the run (dropped customers, errors)."""

    routes: Routes
    note: str = ""


def to_problem(instance: Instance, scale: int | None = None) -> Problem:
    """Doorstep's `Problem` for a VRPTW instance, with times and distances times `scale`.

    Each customer is an appointment (kept whenever possible) whose one window bounds the start
    of service, with its service time as duration and its demand as workload points; each
    vehicle of the fleet is an agent starting and ending at the depot, working the depot's
    window, with the capacity as its workload limit. Travel alone is optimised. Locations are
    labels (coordinates / 1000 as degrees): the matrices carry the geometry.
    """
    scale = scale or scale_for(instance)
    matrix = integer_matrix(instance, scale)

    def location(node: int) -> Location:
        x, y = instance.coords[node]
        return Location(lat=float(y) / 1000, lon=float(x) / 1000)

    visits = tuple(
        Visit(
            id=str(c),
            borrower_id=str(c),
            location=location(c),
            duration=int(instance.service[c]) * scale,
            windows=(TimeWindow(int(instance.ready[c]) * scale, int(instance.due[c]) * scale),),
            kind=VisitKind.APPOINTMENT,
            workload=int(instance.demand[c]),
        )
        for c in range(1, instance.num_customers + 1)
    )
    depot = location(0)
    shift = TimeWindow(int(instance.ready[0]) * scale, int(instance.due[0]) * scale)
    agents = tuple(
        Agent(
            id=f"v{k}",
            start=depot,
            end=depot,
            shift=shift,
            max_workload=instance.capacity,
        )
        for k in range(1, instance.num_vehicles + 1)
    )
    # Points: the visits, then each agent's start and end, both the depot.
    nodes = np.concatenate(
        [np.arange(1, instance.num_customers + 1), np.zeros(2 * len(agents), dtype=np.int64)]
    )
    points = matrix[np.ix_(nodes, nodes)]
    return Problem(
        visits=visits,
        agents=agents,
        matrices={TravelMode.DRIVE: TravelMatrix(points, points)},
        day=date(2026, 1, 1),
        balance_work=False,
    )


def solve_doorstep(instance: Instance, time_limit: float, *, num_workers: int = 1) -> Answer:
    """`optimizer.solve` on the mapped problem; dropped customers are noted (and infeasible)."""
    problem = to_problem(instance)
    try:
        plan = solve(problem, time_limit=time_limit, num_workers=num_workers)
    except SolverTimeoutError:
        return Answer((), "no first solution within the limit")
    routes = tuple(tuple(int(s.visit_id) for s in r.stops) for r in plan.routes if r.stops)
    note = f"dropped {len(plan.unassigned)}" if plan.unassigned else ""
    return Answer(routes, note)


def solve_pyvrp(instance: Instance, time_limit: float, *, seed: int = 0) -> Answer:
    """PyVRP's iterated local search, stopped by `MaxRuntime`; it runs on one thread."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    scale = scale_for(instance)
    matrix = integer_matrix(instance, scale)
    locations = [pyvrp.Location(float(x), float(y)) for x, y in instance.coords]
    clients = [
        pyvrp.Client(
            c,
            delivery=[int(instance.demand[c])],
            service_duration=int(instance.service[c]) * scale,
            tw_early=int(instance.ready[c]) * scale,
            tw_late=int(instance.due[c]) * scale,
        )
        for c in range(1, instance.num_customers + 1)
    ]
    early, late = int(instance.ready[0]) * scale, int(instance.due[0]) * scale
    depot = pyvrp.Depot(0, tw_early=early, tw_late=late)
    fleet = pyvrp.VehicleType(
        instance.num_vehicles, capacity=[instance.capacity], tw_early=early, tw_late=late
    )
    matrices = [matrix]  # one profile: distances and durations are the same matrix
    data = pyvrp.ProblemData(locations, clients, [depot], [fleet], matrices, matrices)  # type: ignore[arg-type]
    result = pyvrp.solve(data, MaxRuntime(time_limit), seed=seed, collect_stats=False)
    routes = tuple(
        tuple(clients[a.idx].location for a in route if a.is_client())
        for route in result.best.routes()
    )
    return Answer(routes, "" if result.is_feasible() else "PyVRP: best solution infeasible")


def solve_vroom(
    instance: Instance, time_limit: float, *, exploration_level: int = VROOM_EXPLORATION
) -> Answer:
    """VROOM (pyvroom) on one thread with its timeout; the harness measures any overrun."""
    import vroom

    scale = scale_for(instance)
    matrix = integer_matrix(instance, scale)
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=matrix)
    problem.set_costs_matrix(profile="car", matrix_input=matrix)
    shift = vroom.TimeWindow(int(instance.ready[0]) * scale, int(instance.due[0]) * scale)
    for k in range(1, instance.num_vehicles + 1):
        problem.add_vehicle(
            vroom.Vehicle(k, start=0, end=0, capacity=[instance.capacity], time_window=shift)
        )
    problem.add_job(
        [
            vroom.Job(
                c,
                location=c,
                delivery=[int(instance.demand[c])],
                default_service=int(instance.service[c]) * scale,
                time_windows=[
                    vroom.TimeWindow(int(instance.ready[c]) * scale, int(instance.due[c]) * scale)
                ],
            )
            for c in range(1, instance.num_customers + 1)
        ]
    )
    solution = problem.solve(
        exploration_level=exploration_level,
        nb_threads=1,
        timeout=timedelta(seconds=time_limit),
    )
    steps = solution.routes
    jobs = steps[steps["type"] == "job"]
    routes = tuple(
        tuple(int(c) for c in group["location_index"]) for _, group in jobs.groupby("vehicle_id")
    )
    unassigned = int(solution.summary.unassigned)
    return Answer(routes, f"unassigned {unassigned}" if unassigned else "")


SOLVE: dict[str, Callable[[Instance, float], Answer]] = {
    "doorstep": solve_doorstep,
    "doorstep2": lambda instance, time_limit: solve_doorstep(instance, time_limit, num_workers=2),
    "pyvrp": solve_pyvrp,
    "vroom": solve_vroom,
}


# --- running and reporting --------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    """One solver on one instance, as checked by the harness."""

    set_name: str
    instance: str
    solver: str
    time_limit: float
    vehicles: int
    distance: float
    feasible: bool
    seconds: float
    bks_vehicles: int
    bks_distance: float
    note: str = ""
    load: float = 0.0
    """The machine's 1-minute load average right after the run: above 1, others shared it."""

    @property
    def overrun(self) -> bool:
        return self.seconds > self.time_limit * (1 + OVERRUN_TOLERANCE)

    @property
    def gap_bks(self) -> float | None:
        """Distance above best-known, percent; None when infeasible or no best-known."""
        if not self.feasible or not self.bks_distance:
            return None
        return 100 * (self.distance / self.bks_distance - 1)


def run_one(
    instance: Instance,
    solver: str,
    time_limit: float,
    bks: tuple[int, float] | None,
) -> Result:
    """Solve, time the whole call and check the routes."""
    clock = time.perf_counter()
    try:
        answer = SOLVE[solver](instance, time_limit)
    except Exception as exc:  # a crash is a result too; the run goes on
        answer = Answer((), f"error: {type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - clock
    check = check_routes(instance, answer.routes)
    notes = [answer.note] if answer.note else []
    if check.problems and answer.routes:
        notes.append(check.problems[0])
    bks_vehicles, bks_distance = bks or (0, 0.0)
    return Result(
        set_name=instance.set_name,
        instance=instance.name,
        solver=solver,
        time_limit=time_limit,
        vehicles=check.vehicles,
        distance=check.distance,
        feasible=check.feasible,
        seconds=seconds,
        bks_vehicles=bks_vehicles,
        bks_distance=bks_distance,
        note="; ".join(notes),
        load=os.getloadavg()[0],
    )


@dataclass
class Report:
    """Results in run order, with lookups for the gap to PyVRP."""

    results: list[Result] = field(default_factory=list)

    def pyvrp_distance(self, result: Result) -> float | None:
        for other in self.results:
            if (other.set_name, other.instance, other.solver) == (
                result.set_name,
                result.instance,
                "pyvrp",
            ):
                return other.distance if other.feasible else None
        return None

    def gap_pyvrp(self, result: Result) -> float | None:
        reference = self.pyvrp_distance(result)
        if not result.feasible or not reference:
            return None
        return 100 * (result.distance / reference - 1)

    def gap_best(self, result: Result) -> float | None:
        """Distance above the best feasible run of any solver on the instance, percent."""
        best = min(
            (
                other.distance
                for other in self.results
                if (other.set_name, other.instance) == (result.set_name, result.instance)
                and other.feasible
            ),
            default=None,
        )
        if not result.feasible or not best:
            return None
        return 100 * (result.distance / best - 1)

    def solvers(self) -> list[str]:
        return [s for s in SOLVERS if any(r.solver == s for r in self.results)]

    def sets(self) -> list[str]:
        return [s for s in SETS if any(r.set_name == s for r in self.results)]


FIELDS = (
    "set_name",
    "instance",
    "solver",
    "time_limit",
    "vehicles",
    "distance",
    "feasible",
    "seconds",
    "bks_vehicles",
    "bks_distance",
    "note",
    "load",
)


def write_csv(results: Iterable[Result], path: Path) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(FIELDS)
        for r in results:
            writer.writerow(
                [
                    r.set_name,
                    r.instance,
                    r.solver,
                    f"{r.time_limit:g}",
                    r.vehicles,
                    f"{r.distance:.4f}",
                    int(r.feasible),
                    f"{r.seconds:.2f}",
                    r.bks_vehicles,
                    f"{r.bks_distance:.4f}",
                    r.note,
                    f"{r.load:.2f}",
                ]
            )


def read_csv(path: Path) -> list[Result]:
    with path.open(newline="") as f:
        return [
            Result(
                set_name=row["set_name"],
                instance=row["instance"],
                solver=row["solver"],
                time_limit=float(row["time_limit"]),
                vehicles=int(row["vehicles"]),
                distance=float(row["distance"]),
                feasible=row["feasible"] == "1",
                seconds=float(row["seconds"]),
                bks_vehicles=int(row["bks_vehicles"]),
                bks_distance=float(row["bks_distance"]),
                note=row["note"],
                load=float(row.get("load") or 0),
            )
            for row in csv.DictReader(f)
        ]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{round(value, 2) + 0.0:+.2f}"


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def markdown(report: Report, *, command: str, environment: str) -> str:
    """The summary per set and solver, then every run."""
    loads = (
        statistics.fmean(r.load for r in report.results) if report.results else 0.0,
        max((r.load for r in report.results), default=0.0),
    )
    lines = [
        "# VRPTW quality: Doorstep, PyVRP and VROOM",
        "",
        f"Command: `{command}`  ",
        f"Machine: {environment}  ",
        f"Load average (1 min) after each run: mean {loads[0]:.2f}, max {loads[1]:.2f} "
        "(above 1, other processes shared the machine with the solver)",
        "",
        "One objective for all: total Euclidean distance in double precision with the instance's "
        "fleet, recomputed by the harness from each solver's routes, and every route checked "
        "(capacity, windows with service times, depot due date, every customer once). The "
        "solvers see distances ×100 (×10 where the latest due date ×100 exceeds 2 days) rounded "
        "up. Best-known (BKS) minimise vehicles first, so a distance-only solution with more "
        "vehicles can be below it. Gap to best: to the shortest feasible run of any solver here. "
        "Gaps are in %; means are over feasible runs only. Wall time "
        f"is the solver's whole call; `over` marks more than {OVERRUN_TOLERANCE:.0%} over the "
        "limit.",
        "",
        "## Per set",
        "",
        "| set | limit s | solver | feasible | mean gap BKS % | mean gap PyVRP % "
        "| mean gap best % | mean vehicles | mean wall s | max wall s | over limit |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for set_name in report.sets():
        for solver in report.solvers():
            runs = [r for r in report.results if r.set_name == set_name and r.solver == solver]
            if not runs:
                continue
            limits = sorted({r.time_limit for r in runs})
            feasible = [r for r in runs if r.feasible]
            vehicles = _mean(r.vehicles for r in feasible)
            lines.append(
                f"| {set_name} | {'/'.join(f'{x:g}' for x in limits)} | {solver} "
                f"| {len(feasible)}/{len(runs)} | {_pct(_mean(r.gap_bks for r in runs))} "
                f"| {_pct(_mean(report.gap_pyvrp(r) for r in runs))} "
                f"| {_pct(_mean(report.gap_best(r) for r in runs))} "
                f"| {'–' if vehicles is None else f'{vehicles:.1f}'} "
                f"| {statistics.fmean(r.seconds for r in runs):.1f} "
                f"| {max(r.seconds for r in runs):.1f} | {sum(r.overrun for r in runs)} |"
            )
    lines += [
        "",
        "## Per instance",
        "",
        "| set | instance | BKS veh | BKS distance | solver | veh | distance | gap BKS % "
        "| gap PyVRP % | feasible | wall s | note |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for r in report.results:
        wall = f"{r.seconds:.1f}" + (" over" if r.overrun else "")
        distance = f"{r.distance:.2f}" if r.vehicles else "–"
        lines.append(
            f"| {r.set_name} | {r.instance} | {r.bks_vehicles or '–'} "
            f"| {r.bks_distance:.2f} | {r.solver} | {r.vehicles} | {distance} "
            f"| {_pct(r.gap_bks)} | {_pct(report.gap_pyvrp(r))} "
            f"| {'yes' if r.feasible else 'no'} | {wall} | {r.note.replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def plot(report: Report, path: Path) -> None:
    """Gap to best-known per instance and solver, one panel per set; infeasible runs as x.

    A set of 20 instances or more gets a row of its own; smaller ones share the last row.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def names_of(set_name: str) -> list[str]:
        return list(dict.fromkeys(r.instance for r in report.results if r.set_name == set_name))

    sets = report.sets()
    rows = [[s] for s in sets if len(names_of(s)) >= 20]
    small = [s for s in sets if len(names_of(s)) < 20]
    rows += [small] if small else []
    fig = plt.figure(figsize=(14, 3.8 * len(rows)), layout="constrained")
    subfigs = fig.subfigures(len(rows), 1, squeeze=False)[:, 0]
    markers = {"doorstep": "o", "doorstep2": "D", "pyvrp": "s", "vroom": "^"}
    for subfig, row in zip(subfigs, rows, strict=True):
        widths = [max(3, len(names_of(s))) for s in row]
        axes = subfig.subplots(1, len(row), width_ratios=widths, squeeze=False)[0]
        for ax, set_name in zip(axes, row, strict=True):
            _plot_set(ax, report, set_name, names_of(set_name), markers)
        axes[0].set_ylabel("above best-known, %")
        axes[-1].legend(fontsize=8)
    fig.suptitle("Distance above best-known per instance (red x: infeasible)", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_set(
    ax: Axes, report: Report, set_name: str, names: list[str], markers: dict[str, str]
) -> None:
    gaps = [r.gap_bks for r in report.results if r.set_name == set_name]
    top = max((g for g in gaps if g is not None), default=1.0) + 1
    for solver in report.solvers():
        runs = {
            r.instance: r for r in report.results if (r.set_name, r.solver) == (set_name, solver)
        }
        xs = [k for k, name in enumerate(names) if name in runs]
        ys = [runs[names[k]].gap_bks for k in xs]
        ok = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        ax.plot(
            [x for x, _ in ok],
            [y for _, y in ok],
            marker=markers.get(solver, "."),
            linestyle="",
            markersize=4,
            label=solver,
        )
        failed = [x for x, y in zip(xs, ys, strict=True) if y is None]
        if failed:
            ax.plot(failed, [top] * len(failed), "x", color="red", markersize=6)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=90, fontsize=6)
    limits = sorted({r.time_limit for r in report.results if r.set_name == set_name})
    ax.set_title(f"{set_name} ({'/'.join(f'{x:g}' for x in limits)} s)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)


def _environment() -> str:
    from importlib.metadata import version

    packages = ", ".join(
        f"{name} {version(name)}" for name in ("ortools", "pyvrp", "pyvroom", "vrplib")
    )
    return (
        f"{os.cpu_count()} cores ({platform.machine()}), one solver at a time on one thread "
        "(doorstep2: Doorstep on two worker processes); "
        f"Python {platform.python_version()}; {packages}"
    )


def _cases(args: argparse.Namespace) -> list[Case]:
    if not args.sets and not args.instances:
        return [
            replace(case, time_limit=args.time_limit) if args.time_limit else case
            for case in SUITES[args.suite]
        ]
    sets = args.sets or list(SETS)
    return [
        Case(
            set_name,
            args.instances or "*",
            args.time_limit or FULL_TIME_LIMITS.get(set_name, 60.0),
        )
        for set_name in sets
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.vrptw",
        allow_abbrev=False,  # the table records the command: options as the user spelled them
        description=(
            "Doorstep against PyVRP and VROOM on Solomon / Gehring-Homberger. Without --sets "
            "or --instances: a suite (--suite, default bench: two Solomon instances per class "
            "at 10 s, one Homberger instance per class at 60 s, about 33 minutes; --quick: "
            "about 2 minutes). With them: every matching instance of the sets, at 10 s "
            "(Solomon) or 60 s (Homberger) unless --time-limit."
        ),
    )
    parser.add_argument("--suite", choices=sorted(SUITES), default="bench")
    parser.add_argument("--quick", action="store_true", help="the quick suite (--suite quick)")
    parser.add_argument("--sets", nargs="+", choices=SETS, help="sets to run in full")
    parser.add_argument("--instances", help="comma-separated globs on names, e.g. 'r1*,c101'")
    parser.add_argument("--time-limit", type=float, help="seconds per solver and instance")
    parser.add_argument(
        "--solvers",
        nargs="+",
        choices=SOLVERS,
        help=f"default: {' '.join(SUITE_SOLVERS)} for a suite, {' '.join(DEFAULT_SOLVERS)} "
        "with --sets or --instances",
    )
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the sets and bks.csv")
    parser.add_argument(
        "--out",
        type=Path,
        help=f"Markdown table, .csv and .png beside it (default {RESULTS.relative_to(ROOT)}, "
        "or in the temporary folder with --quick)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild the table and plot from the .csv"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the runs already in the .csv (same set, instance, solver and limit) and run "
        "the rest: an interrupted run goes on where it stopped",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.suite = "quick"
    suite = not args.sets and not args.instances
    args.solvers = args.solvers or list(SUITE_SOLVERS if suite else DEFAULT_SOLVERS)
    if args.out is None:
        quick = Path(tempfile.gettempdir()) / "doorstep-vrptw-quick.md"
        args.out = quick if suite and args.suite == "quick" else RESULTS
    if not (args.data / "bks.csv").is_file():
        parser.error(f"no VRPTW data in {args.data} (expected bks.csv and the set folders)")
    out_csv, out_png = args.out.with_suffix(".csv"), args.out.with_suffix(".png")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shown = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--resume"]
    command = shlex.join(["python", "-m", "benchmarks.vrptw", *shown])
    if args.report_only:
        report = Report(read_csv(out_csv))
        command = _previous_command(args.out) or command
    else:
        bks = read_bks(args.data / "bks.csv")
        kept = read_csv(out_csv) if args.resume and out_csv.is_file() else []
        done = {_run_key(r.set_name, r.instance, r.solver, r.time_limit) for r in kept}
        report = Report(kept)
        for case in _cases(args):
            for path in instance_paths(args.data, case.set_name, case.pattern):
                instance = read_instance(path, case.set_name)
                for solver in args.solvers:
                    key = _run_key(case.set_name, instance.name, solver, case.time_limit)
                    if key in done:
                        continue
                    result = run_one(instance, solver, case.time_limit, bks.get(instance.name))
                    report.results.append(result)
                    write_csv(report.results, out_csv)  # a long run keeps what it has
                    print(
                        f"{case.set_name:15} {instance.name:9} {solver:8} "
                        f"veh {result.vehicles:3} dist {result.distance:10.2f} "
                        f"gap {_pct(result.gap_bks):>7} feasible {result.feasible!s:5} "
                        f"{result.seconds:6.1f} s {result.note}",
                        flush=True,
                    )
    args.out.write_text(markdown(report, command=command, environment=_environment()))
    plot(report, out_png)
    print(f"wrote {args.out}, {out_csv}, {out_png}")


def _run_key(set_name: str, instance: str, solver: str, time_limit: float) -> tuple[object, ...]:
    """What makes two runs the same run, for `--resume`."""
    return (set_name, instance, solver, round(time_limit, 3))


def _previous_command(path: Path) -> str | None:
    """The command recorded in an earlier table: the one that made the results in the .csv."""
    if not path.is_file():
        return None
    for line in path.read_text().splitlines():
        if line.startswith("Command: `"):
            return line.removeprefix("Command: `").split("`")[0]
    return None


if __name__ == "__main__":
    main()
