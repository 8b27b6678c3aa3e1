"""End to end: from files to a validated plan, the time of each stage, and the plan's quality
against a run with ten times the solver's time.

Run: `.venv/bin/python -m benchmarks.plan_stages [--quick] [--time-scale X]`. Plans the
bundled sample day (central Helsinki, 120 visits, 25 agents in 12 crews) and, when
`../shared/osm/andorra.osm.pbf` is present, generated solo days of 100, 300, 1,000 and 2,000
visits on Andorra (one agent per eleven visits, most with a lunch break; the generator of
`doorstep sample`). Each day is written to files, read back, snapped, given its matrices,
solved with `optimizer.solve` on one worker, validated and traced along the roads; then the
same problem is solved again with ten times the limit, and the two plans are compared on the
objective's order: appointments kept, visits routed, then travel. `--quick` plans the sample
and the 300-visit day only (about 3 minutes; the whole run takes about 10). Writes
`benchmarks/results/plan_stages.md`, or with `--quick` prints only.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geo
from doorstep.csvio import read_day
from doorstep.planning import DayPlan, plan_day
from doorstep.sample import generate_day, write_sample
from optimizer import Plan, Problem, VisitKind, solve
from optimizer.validate import validate

ROOT = Path(__file__).resolve().parent.parent
ANDORRA = ROOT.parent / "shared" / "osm" / "andorra.osm.pbf"
RESULTS = Path(__file__).resolve().parent / "results" / "plan_stages.md"
DAY = date(2026, 11, 24)
STAGES = ("graph load", "generate", "read", "snap", "matrices", "solve", "validate", "geometry")
LONGER = 10
"""The comparison run gets this many times the limit."""


@dataclass(frozen=True)
class Case:
    """A day to plan: the bundled sample (no visits count) or a generated Andorra day."""

    name: str
    num_visits: int | None
    time_limit: float

    @property
    def num_agents(self) -> int:
        return max(4, round((self.num_visits or 0) / 11))


CASES = (
    Case("helsinki sample", None, 10.0),
    Case("andorra 100", 100, 5.0),
    Case("andorra 300", 300, 5.0),
    Case("andorra 1,000", 1000, 10.0),
    Case("andorra 2,000", 2000, 20.0),
)
QUICK = ("helsinki sample", "andorra 300")


@dataclass(frozen=True)
class Quality:
    """A plan's figures in the objective's order."""

    appointments: int
    routed: int
    travel_s: int

    @classmethod
    def of(cls, problem: Problem, plan: Plan) -> Quality:
        kind = {v.id: v.kind for v in problem.visits}
        served = [s.visit_id for r in plan.routes for s in r.stops]
        return cls(
            appointments=sum(1 for v in served if kind[v] is VisitKind.APPOINTMENT),
            routed=len(served),
            travel_s=sum(r.travel_time for r in plan.routes),
        )


@dataclass(frozen=True)
class Row:
    case: Case
    visits: int
    appointments: int
    stages: dict[str, float]
    quick: Quality
    longer: Quality
    longer_seconds: float


def run_case(case: Case, cache: Path, time_scale: float) -> Row:
    limit = case.time_limit * time_scale
    stages: dict[str, float] = {}
    clock = time.perf_counter()
    network = geo.load_network(None if case.num_visits is None else ANDORRA, cache_dir=cache)
    stages["graph load"] = time.perf_counter() - clock
    if case.num_visits is None:
        folder = ROOT / "data" / "sample"
    else:
        clock = time.perf_counter()
        folder = Path(tempfile.mkdtemp(prefix="doorstep-bench-"))
        day = generate_day(
            network.graphs, num_visits=case.num_visits, num_agents=case.num_agents, pairs=False
        )
        write_sample(day, folder)
        stages["generate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    day_input = read_day(folder / "visits.csv", folder / "agents.csv")
    stages["read"] = time.perf_counter() - clock
    planned: DayPlan = plan_day(
        day_input,
        network,
        day=DAY,
        timezone="Europe/Helsinki" if case.num_visits is None else "Europe/Andorra",
        region=case.name,
        time_limit=limit,
        cache_dir=cache,
    )
    stages.update(planned.timings)
    problem = planned.problem
    clock = time.perf_counter()
    longer = solve(problem, time_limit=LONGER * limit)
    longer_seconds = time.perf_counter() - clock
    if problems := validate(problem, longer):
        raise SystemExit(f"{case.name}: the {LONGER}x plan is invalid: {problems[:3]}")
    return Row(
        case=case,
        visits=len(problem.visits),
        appointments=sum(1 for v in problem.visits if v.kind is VisitKind.APPOINTMENT),
        stages=stages,
        quick=Quality.of(problem, planned.plan),
        longer=Quality.of(problem, longer),
        longer_seconds=longer_seconds,
    )


def markdown(rows: list[Row], *, time_scale: float, command: str) -> str:
    load = os.getloadavg()[0]
    lines = [
        "# Planning a region-day, end to end",
        "",
        f"Command: `{command}`  ",
        f"Load average (1 min) at the end: {load:.2f} on {os.cpu_count()} cores "
        "(above 1, other processes shared the machine).",
        "",
        "Seconds per stage, from files to a validated plan traced along the roads (one solver "
        "worker). `solve` includes screening, the model, the first plan and the search.",
        "",
        "| case | visits | agents | limit s | " + " | ".join(STAGES) + " |",
        "| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in STAGES) + " |",
    ]
    for row in rows:
        agents = row.case.num_agents if row.case.num_visits else 25
        lines.append(
            f"| {row.case.name} | {row.visits} | {agents} | {row.case.time_limit * time_scale:g} | "
            + " | ".join(f"{row.stages[s]:.2f}" if s in row.stages else "–" for s in STAGES)
            + " |"
        )
    lines += [
        "",
        f"Quality against the same problem solved with {LONGER}x the limit: appointments kept, "
        "visits routed, travel (h); the gap is the extra travel of the plan at the limit (the "
        "objective puts appointments and visits first, so compare those first).",
        "",
        "| case | appointments | at limit: kept / routed / travel h | at "
        f"{LONGER}x: kept / routed / travel h | {LONGER}x wall s | travel gap % |",
        "| --- | ---: | --- | --- | ---: | ---: |",
    ]
    for row in rows:
        q, long_ = row.quick, row.longer
        gap = 100 * (q.travel_s / long_.travel_s - 1) if long_.travel_s else 0.0
        lines.append(
            f"| {row.case.name} | {row.appointments} | {q.appointments} / {q.routed} / "
            f"{q.travel_s / 3600:.1f} | {long_.appointments} / {long_.routed} / "
            f"{long_.travel_s / 3600:.1f} | {row.longer_seconds:.0f} | {gap:+.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the sample and 300 visits only")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="multiply every case's time limit"
    )
    args = parser.parse_args()
    cases = [c for c in CASES if not args.quick or c.name in QUICK]
    if not ANDORRA.exists():
        cases = [c for c in cases if c.num_visits is None]
    cache = Path(tempfile.mkdtemp(prefix="doorstep-cache-"))
    rows = []
    for case in cases:
        rows.append(run_case(case, cache, args.time_scale))
        print(f"{case.name}: done", flush=True)
    command = "python -m benchmarks.plan_stages" + (" --quick" if args.quick else "")
    if args.time_scale != 1.0:
        command += f" --time-scale {args.time_scale:g}"
    text = markdown(rows, time_scale=args.time_scale, command=command)
    print(text)
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
