"""Time each stage of planning a region-day, from files to a validated plan.

Run: `.venv/bin/python -m benchmarks.plan_stages [--time-limit S]`. Plans the bundled sample
day (central Helsinki, 120 visits, 25 agents in 12 crews) and, when
`../shared/osm/andorra.osm.pbf` is present, a generated 500-visit, 60-agent solo day on Andorra;
prints a Markdown table and writes it to `benchmarks/results/plan_stages.md`.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from datetime import date
from pathlib import Path

import geo
from doorstep.csvio import read_day
from doorstep.export import summary
from doorstep.planning import plan_day
from doorstep.sample import generate_day, write_sample

ROOT = Path(__file__).resolve().parent.parent
ANDORRA = ROOT.parent / "shared" / "osm" / "andorra.osm.pbf"
RESULTS = Path(__file__).resolve().parent / "results" / "plan_stages.md"
DAY = date(2026, 11, 24)


def run_case(
    name: str,
    source: Path | None,
    folder: Path | None,
    num_visits: int,
    num_agents: int,
    time_limit: float,
    cache: Path,
) -> dict[str, object]:
    clock = time.perf_counter()
    network = geo.load_network(source, cache_dir=cache)
    load = time.perf_counter() - clock
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="doorstep-bench-"))
        day = generate_day(
            network.graphs, num_visits=num_visits, num_agents=num_agents, pairs=False
        )
        write_sample(day, folder)
    clock = time.perf_counter()
    day_input = read_day(folder / "visits.csv", folder / "agents.csv")
    read = time.perf_counter() - clock
    day_plan = plan_day(
        day_input, network, day=DAY, timezone="Europe/Helsinki", region=name, time_limit=time_limit
    )
    day_plan = dataclasses.replace(
        day_plan, timings={"graph load": load, "read": read, **day_plan.timings}
    )
    s = summary(day_plan)
    return {"case": name, **s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=20.0)
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="doorstep-cache-"))
    rows = []
    for warm in (False, True):
        rows.append(
            run_case(
                f"helsinki sample ({'warm' if warm else 'cold'} cache)",
                None,
                ROOT / "data" / "sample",
                120,
                25,
                args.time_limit,
                cache,
            )
        )
    if ANDORRA.exists():
        for warm in (False, True):
            rows.append(
                run_case(
                    f"andorra 500 ({'warm' if warm else 'cold'} cache)",
                    ANDORRA,
                    None,
                    500,
                    60,
                    args.time_limit,
                    cache,
                )
            )
    stages = ["graph load", "read", "snap", "matrices", "solve", "validate", "geometry"]
    lines = [
        f"Planning a region-day, time limit {args.time_limit:.0f} s (seconds per stage).",
        "",
        "| case | visits | routed | appointments kept | " + " | ".join(stages) + " |",
        "| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in stages) + " |",
    ]
    for row in rows:
        secs = row["stage_seconds"]
        assert isinstance(secs, dict)
        lines.append(
            f"| {row['case']} | {row['visits']} | {row['visits_routed']} | "
            f"{row['appointments_kept']}/{row['appointments']} | "
            + " | ".join(f"{secs.get(s, 0):.2f}" for s in stages)
            + " |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
