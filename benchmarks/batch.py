"""Nightly batch throughput: a realistic multi-region day on 1 and 2 worker processes, and
a projection of a national lender's night from the measured per-region costs.

Run: `.venv/bin/python -m benchmarks.batch [--time-limit S]` (`make bench-batch`). Generates
regions of 50 to 1,500 visits with `doorstep.sample.generate_day` on the bundled Helsinki
network and, when `../shared/osm/andorra.osm.pbf` is present, on the whole of Andorra (each
region its own seed, ids prefixed by region), imports them into a fresh SQLite database,
and runs `run_batch` on a `LocalCluster` of 1 and then 2 worker processes (the second run
with `replan`, so it plans everything again). Reports regions per minute, visits per
second and the speed-up, then projects the wall time of 300 regions and 40,000 visits on
10, 50 and 100 workers: each region's cost from a fit of the measured stage times against
its visits, regions above the split threshold cut into parts, regions handed to workers
largest first, and the driver's own time per region (prepare and save, one at a time)
as a floor. Writes `benchmarks/results/batch.md`.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import math
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

import geo
from doorstep.batch.driver import BatchOptions, run_batch
from doorstep.batch.tasks import SolveOptions
from doorstep.db.engine import make_engine
from doorstep.db.migrate import upgrade
from doorstep.importer import import_files
from doorstep.regions import upsert_region
from doorstep.sample import generate_day, write_sample

ROOT = Path(__file__).resolve().parent.parent
ANDORRA = ROOT.parent / "shared" / "osm" / "andorra.osm.pbf"
RESULTS = Path(__file__).resolve().parent / "results" / "batch.md"
DAY = date(2026, 11, 24)
SPLIT_ABOVE = 400
"""Lower than the default (1,000): at the default 20 s limit a single solve of much more
than 500 Andorra visits routes few of them, while parts of 400 plan well side by side."""
PROJECTED_REGIONS, PROJECTED_VISITS = 300, 40_000
PROJECTED_WORKERS = (10, 50, 100)
VISITS_PER_AGENT = 8
"""A field agent does 5 to 12 visits a day."""


@dataclass(frozen=True)
class RegionSpec:
    """One generated region: its network, size and seed."""

    name: str
    network: str
    timezone: str
    visits: int
    seed: int


def region_specs(with_andorra: bool) -> list[RegionSpec]:
    """Regions of 50 to 1,500 visits: small city teams on Helsinki, larger ones on Andorra."""
    specs = [
        RegionSpec(f"hel-{n}", "sample", "Europe/Helsinki", n, seed)
        for seed, n in enumerate((50, 80, 120, 150, 200), start=11)
    ]
    if with_andorra:
        specs += [
            RegionSpec(f"and-{n}", str(ANDORRA), "Europe/Andorra", n, seed)
            for seed, n in enumerate((300, 500, 800, 1500), start=21)
        ]
    return specs


def build_day(engine: Any, specs: list[RegionSpec], cache: Path, folder: Path) -> None:
    """Generate every region and import it, as a lender's nightly feed would."""
    networks: dict[str, geo.RoadNetwork] = {}
    for spec in specs:
        if spec.network not in networks:
            source = None if spec.network == "sample" else spec.network
            networks[spec.network] = geo.load_network(source, cache_dir=cache)
        clock = time.perf_counter()
        day = generate_day(
            networks[spec.network].graphs,
            num_visits=spec.visits,
            num_agents=max(4, spec.visits // VISITS_PER_AGENT),
            pairs=False,
            seed=spec.seed,
            day=DAY,
            timezone=spec.timezone,
        )
        region_folder = folder / spec.name
        paths = write_sample(day, region_folder)
        for path in paths:
            _prefix_ids(path, spec.name)
        upsert_region(engine, spec.name, timezone=spec.timezone, policy="us", network=spec.network)
        import_files(engine, list(paths), region_id=spec.name, day=DAY, actor="bench")
        print(
            f"  {spec.name}: {spec.visits} visits generated and imported "
            f"({time.perf_counter() - clock:.1f} s)"
        )


_ID_COLUMNS = ("visit_id", "borrower_id", "agent_id", "crew_id", "event_id")
_LIST_COLUMNS = ("allowed_agents", "preferred_agents")


def _prefix_ids(path: Path, region: str) -> None:
    """Make every id of a generated file unique to its region (ids are global)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
        fieldnames = list(rows[0]) if rows else []
    for row in rows:
        for column in _ID_COLUMNS:
            if row.get(column):
                row[column] = f"{region}-{row[column]}"
        for column in _LIST_COLUMNS:
            if row.get(column):
                row[column] = ";".join(f"{region}-{a}" for a in row[column].split(";"))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)


def run(engine: Any, workers: int, options: BatchOptions) -> dict[str, Any]:
    """One batch on a fresh LocalCluster of `workers` processes; the run's wall time
    excludes starting the cluster."""
    from doorstep.batch.cluster import dask_client

    with dask_client(None, workers=workers) as (client, label):
        clock = time.perf_counter()
        outcome = run_batch(engine, client, options, scheduler=label)
        wall = time.perf_counter() - clock
    totals = outcome.report["totals"]
    return {"workers": workers, "wall": wall, "report": outcome.report, "totals": totals}


@dataclass(frozen=True)
class CostModel:
    """Seconds of work for a region of `v` visits: on a worker (`worker_fixed` +
    `worker_per_visit` * v, the solve's time limit included), on the driver
    (`driver_fixed` + `driver_per_visit` * v), and to stitch a split region."""

    worker_fixed: float
    worker_per_visit: float
    driver_fixed: float
    driver_per_visit: float
    stitch_per_visit: float

    def worker(self, visits: float) -> float:
        return self.worker_fixed + self.worker_per_visit * visits

    def driver(self, visits: float) -> float:
        return self.driver_fixed + self.driver_per_visit * visits


def fit_costs(report: dict[str, Any]) -> CostModel:
    """Least-squares lines through the measured per-region stage times (the time to load a
    network is left out: a worker loads each network once per night)."""
    xs, worker, driver, stitch = [], [], [], []
    for region in report["regions"]:
        if region["status"] != "planned":
            continue
        stages = region["stage_seconds"]
        parts = max(region["parts"], 1)
        work = sum(v for k, v in stages.items() if k not in ("graph load", "stitch")) / parts
        xs.append(region["visits"] / parts)
        worker.append(work)
        driver.append(region.get("driver_seconds", 0.0))
        if "stitch" in stages:
            stitch.append(stages["stitch"] / region["visits"])
    a, b = _line(xs, worker)
    c, d = _line(xs, driver)
    return CostModel(a, b, c, d, float(np.mean(stitch)) if stitch else 0.002)


def _line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    slope, intercept = np.polyfit(np.asarray(xs), np.asarray(ys), 1)
    return max(float(intercept), 0.0), max(float(slope), 0.0)


def synthetic_sizes(regions: int, visits: int, seed: int = 5) -> list[int]:
    """`regions` team sizes between 50 and 1,500 visits adding up to about `visits`: most
    teams small, a few large (log-normal)."""
    rng = np.random.default_rng(seed)
    raw = rng.lognormal(mean=4.6, sigma=0.6, size=regions)
    sizes = np.clip(raw / raw.sum() * visits, 50, 1500)
    for _ in range(20):
        sizes = np.clip(sizes * visits / sizes.sum(), 50, 1500)
    return [int(round(s)) for s in sizes]


def project(model: CostModel, sizes: list[int], workers: int, split_above: int) -> float:
    """Wall seconds for a night of regions of `sizes` on `workers` single-thread workers."""
    tasks: list[float] = []
    for visits in sizes:
        parts = math.ceil(visits / split_above) if visits > split_above else 1
        tasks += [model.worker(visits / parts)] * parts
        if parts > 1:
            tasks.append(model.stitch_per_visit * visits)
    finish = [0.0] * workers
    heapq.heapify(finish)
    for cost in sorted(tasks, reverse=True):  # largest first, as the driver submits
        heapq.heappush(finish, heapq.heappop(finish) + cost)
    driver = sum(model.driver(v) for v in sizes)
    return max(max(finish), driver)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=20.0, help="solver s per region")
    args = parser.parse_args()
    with_andorra = ANDORRA.exists()
    specs = region_specs(with_andorra)
    scratch = Path(tempfile.mkdtemp(prefix="doorstep-bench-batch-"))
    cache = scratch / "cache"
    url = f"sqlite:///{scratch / 'batch.db'}"
    upgrade(url)
    engine = make_engine(url)
    print(f"generating {len(specs)} regions, {sum(s.visits for s in specs):,} visits")
    build_day(engine, specs, cache, scratch / "days")
    solve = SolveOptions(
        time_limit=args.time_limit, max_solutions=None, max_snap_m=250.0, cache_dir=cache
    )
    runs = []
    for workers in (1, 2):
        options = BatchOptions(
            day=DAY, solve=solve, split_above=SPLIT_ABOVE, replan=True, report_dir=None
        )
        print(f"batch on {workers} worker(s)...")
        runs.append(run(engine, workers, options))
        totals = runs[-1]["totals"]
        print(f"  {runs[-1]['wall']:.1f} s, {totals['planned']} planned, {totals['failed']} failed")
    model = fit_costs(runs[0]["report"])
    sizes = synthetic_sizes(PROJECTED_REGIONS, PROJECTED_VISITS)
    text = _markdown(specs, runs, model, sizes, args.time_limit)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    engine.dispose()


def _markdown(
    specs: list[RegionSpec],
    runs: list[dict[str, Any]],
    model: CostModel,
    sizes: list[int],
    time_limit: float,
) -> str:
    regions, visits = len(specs), sum(s.visits for s in specs)
    lines = [
        f"Nightly batch, {regions} regions, {visits:,} visits (Helsinki sample"
        + (" and Andorra" if any(s.network != "sample" for s in specs) else "")
        + f"), solver time limit {time_limit:.0f} s per region or part, regions over "
        f"{SPLIT_ABOVE:,} visits split; LocalCluster on this machine "
        "(wall time from the first region submitted to the report, cluster start-up excluded).",
        "",
        "| workers | wall s | regions/min | visits/s | speed-up | planned | failed | "
        "visits planned |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    base = runs[0]["wall"]
    for r in runs:
        t = r["totals"]
        lines.append(
            f"| {r['workers']} | {r['wall']:.1f} | {regions / r['wall'] * 60:.1f} | "
            f"{visits / r['wall']:.1f} | {base / r['wall']:.2f} | {t['planned']} | {t['failed']} | "
            f"{t['visits_planned']:,} |"
        )
    lines += ["", "Per region on 1 worker (seconds):", ""]
    lines += [
        "| region | visits | routed | parts | wall (queue included) | solve | other worker "
        "stages | driver |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for region in sorted(runs[0]["report"]["regions"], key=lambda r: r["visits"]):
        stages = region["stage_seconds"]
        other = sum(v for k, v in stages.items() if k not in ("solve",))
        lines.append(
            f"| {region['region']} | {region['visits']} | {region['visits_planned']} | "
            f"{region['parts']} | "
            f"{region['wall_seconds']:.1f} | {stages.get('solve', 0):.1f} | {other:.1f} | "
            f"{region.get('driver_seconds', 0):.2f} |"
        )
    lines += [
        "",
        f"Projection for {len(sizes)} regions and {sum(sizes):,} visits (sizes 50 to 1,500, "
        "log-normal), from the 1-worker costs: worker seconds = "
        f"{model.worker_fixed:.1f} + {model.worker_per_visit * 1000:.1f} per 1,000 visits, "
        f"driver seconds = {model.driver_fixed:.2f} + {model.driver_per_visit * 1000:.2f} per "
        "1,000 visits (one at a time); largest regions first, split above "
        f"{SPLIT_ABOVE} visits.",
        "",
        "| workers | projected wall | bound by |",
        "| ---: | ---: | --- |",
    ]
    for workers in PROJECTED_WORKERS:
        wall = project(model, sizes, workers, SPLIT_ABOVE)
        driver = sum(model.driver(v) for v in sizes)
        lines.append(
            f"| {workers} | {wall / 60:.1f} min | "
            f"{'the driver' if wall <= driver + 1e-9 else 'the workers'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
