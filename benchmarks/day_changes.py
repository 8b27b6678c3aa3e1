"""How fast the day changes: re-plan latency and slot-query latency, on the sample city.

Sets up a region-day the way `doorstep demo` does (a fresh SQLite database in a temporary
folder), plans and publishes it, then at 11:00 records that an agent cannot work from 12:00
and that a visit runs 30 minutes long, and re-plans from now (`doorstep.replan.replan`,
warm-started from the published plan); and asks for the times a new 45-minute appointment
could take over five days (`doorstep.slots.find_slots`). Each is repeated and timed end to
end (reading the day, matrices, solving, validating, saving). Two cases: the bundled sample
day (12 crews, 120 visits) and a generated 50-agent, 400-visit day on the same roads.

Results go to `benchmarks/results/day_changes.md`.

Run: make bench-day (or python -m benchmarks.day_changes --repeats 3 --time-limit 5)
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import select

from doorstep.cli import main as cli
from doorstep.db import models as m
from doorstep.db.engine import make_engine, session_scope
from doorstep.published import publish
from doorstep.replan import LATE, OVERRUN, UNAVAILABLE, record_event, replan
from doorstep.settings import Settings
from doorstep.slots import SlotRequest, find_slots
from optimizer import Location

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "day_changes.md"
DAY = date(2026, 11, 24)
REGION = "helsinki-sample"
ZONE = ZoneInfo("Europe/Helsinki")


def build(folder: Path, sample: Path | None, plan_seconds: float) -> tuple[Settings, int, int]:
    """The demo's database with `sample` (a folder of visits/agents/history.csv, None: the
    bundled one) imported and planned, published; its settings and the counts."""
    url = f"sqlite:///{folder / 'doorstep.db'}"
    env = {"DOORSTEP_DATABASE_URL": url, "DOORSTEP_CACHE_DIR": str(folder / "cache")}
    runner = CliRunner()
    done = runner.invoke(cli, ["demo", "--out", str(folder / "out"), "--time-limit", "5"], env=env)
    if done.exit_code != 0:
        raise SystemExit(done.output)
    if sample is not None:
        files = [str(sample / f"{kind}.csv") for kind in ("agents", "visits")]
        args = ["import", *files, "--region", REGION, "--day", DAY.isoformat(), "--replace-day"]
        done = runner.invoke(cli, args, env=env)
        if done.exit_code != 0:
            raise SystemExit(done.output)
    args = ["plan", "--region", REGION, "--day", DAY.isoformat(), "--time-limit", str(plan_seconds)]
    done = runner.invoke(cli, args, env=env)
    if done.exit_code != 0:
        raise SystemExit(done.output)
    engine = make_engine(url)
    with session_scope(engine) as session:
        publish(session, REGION, DAY, actor="bench")
        agents = session.scalars(
            select(m.Agent).where(m.Agent.region_id == REGION, m.Agent.active.is_(True))
        ).all()
        visits = session.scalars(
            select(m.Visit).where(m.Visit.region_id == REGION, m.Visit.day == DAY)
        ).all()
        counts = len(agents), sum(1 for v in visits if v.status == "open")
    engine.dispose()
    return Settings(cache_dir=folder / "cache", database_url=url), *counts


def events(settings: Settings) -> None:
    """An agent of the busiest route gone from 12:00, its 11:00 visit 30 minutes longer,
    another agent 20 minutes late."""
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        plan = session.scalars(
            select(m.Plan).where(m.Plan.region_id == REGION, m.Plan.status == "published")
        ).one()
        routes = sorted(plan.document["routes"], key=lambda r: -len(r["stops"]))
    busy, other = routes[0], routes[1]
    at_eleven = next((s for s in busy["stops"] if s["start"][11:13] == "11"), busy["stops"][0])
    record_event(
        engine, REGION, DAY, UNAVAILABLE, agent_id=busy["agent_ids"][0], at=12 * 3600, actor="bench"
    )
    record_event(
        engine, REGION, DAY, OVERRUN, visit_id=at_eleven["visit_id"], minutes=30, actor="bench"
    )
    record_event(
        engine, REGION, DAY, LATE, agent_id=other["agent_ids"][0], minutes=20, actor="bench"
    )
    engine.dispose()


def measure(label: str, settings: Settings, repeats: int, time_limit: float) -> dict[str, object]:
    engine = make_engine(settings.database_url)
    now = datetime(DAY.year, DAY.month, DAY.day, 11, 0, tzinfo=ZONE)
    replans, frozen, moved = [], 0, 0
    for _ in range(repeats):
        clock = time.perf_counter()
        done = replan(engine, settings, REGION, DAY, now=now, time_limit=time_limit, actor="bench")
        replans.append(time.perf_counter() - clock)
        frozen, moved = done.frozen, len(done.comparison["visits"]["moved"])
    request = SlotRequest(
        region_id=REGION,
        location=Location(60.1699, 24.9384),
        duration_s=45 * 60,
        first_day=DAY,
        num_days=5,
    )
    queries, offered = [], 0
    for _ in range(repeats):
        clock = time.perf_counter()
        answer = find_slots(engine, settings, request, now=now.replace(hour=8))
        queries.append(time.perf_counter() - clock)
        offered = len(answer.ranked())
    engine.dispose()
    return {
        "case": label,
        "replan_median_s": statistics.median(replans),
        "replan_max_s": max(replans),
        "frozen": frozen,
        "moved": moved,
        "slots_median_s": statistics.median(queries),
        "slots_max_s": max(queries),
        "offered": offered,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=5.0, help="re-plan solver seconds")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="doorstep-day-") as tmp:
        folder = Path(tmp)
        sample_dir = folder / "sample-50"
        made = CliRunner().invoke(
            cli, ["sample", "--out", str(sample_dir), "--visits", "400", "--agents", "50"]
        )
        if made.exit_code != 0:
            raise SystemExit(made.output)
        for label, sample, seconds in (
            ("sample day", None, 10.0),
            ("50 agents, 400 visits", sample_dir, 20.0),
        ):
            case = folder / label.split()[0]
            case.mkdir()
            settings, agents, visits = build(case, sample, seconds)
            events(settings)
            row = measure(label, settings, args.repeats, args.time_limit)
            row.update({"agents": agents, "visits": visits})
            rows.append(row)
            print(row)
    lines = [
        "# The day changes: re-plan and slot-query latency",
        "",
        f"Command: `python -m benchmarks.day_changes --repeats {args.repeats} --time-limit "
        f"{args.time_limit:g}`  ",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; end-to-end wall "
        "time of each call (reading the day, matrices, solving, validating, storing), on "
        "the sample city's roads. Re-plan at 11:00 after three events (an agent gone from "
        "12:00, a visit 30 min longer, an agent 20 min late), warm-started from the published "
        "plan; slot query: a 45-minute appointment over 5 days.",
        "",
        "| case | agents | visits | re-plan median s | re-plan max s | stops kept | visits moved "
        "| slot query median s | slot query max s | slots offered |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['agents']} | {r['visits']} | {r['replan_median_s']:.1f} | "
            f"{r['replan_max_s']:.1f} | {r['frozen']} | {r['moved']} | "
            f"{r['slots_median_s']:.2f} | {r['slots_max_s']:.2f} | {r['offered']} |"
        )
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
