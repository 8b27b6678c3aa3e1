"""A 500-visit day on the real Andorra extract plans and validates (slow; needs ../shared)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import geo
from doorstep.csvio import read_day
from doorstep.planning import plan_day
from doorstep.sample import generate_day, write_sample
from optimizer import ReasonCode, VisitKind
from optimizer.validate import validate

ANDORRA = Path(__file__).resolve().parents[3] / "shared" / "osm" / "andorra.osm.pbf"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ANDORRA.exists(), reason=f"{ANDORRA} is absent (no ../shared/osm)"),
]


def test_andorra_500_visits_plan_is_valid(tmp_path: Path) -> None:
    """500 visits, 60 agents on Andorra: a valid plan keeps every keepable appointment."""
    network = geo.load_network(ANDORRA, cache_dir=tmp_path / "cache")
    sample = generate_day(network.graphs, num_visits=500, num_agents=60, pairs=False)
    visits_path, agents_path, _ = write_sample(sample, tmp_path / "day")
    day_input = read_day(visits_path, agents_path)
    day_plan = plan_day(
        day_input,
        network,
        day=date(2026, 11, 24),
        timezone="Europe/Andorra",
        region="andorra",
        time_limit=60,
    )
    plan, problem = day_plan.plan, day_plan.problem
    assert validate(problem, plan) == []
    kinds = {v.id: v.kind for v in problem.visits}
    crowded_appointments = [
        u.visit_id
        for u in plan.unassigned
        if u.reason_code is ReasonCode.CROWDED_OUT and kinds[u.visit_id] is VisitKind.APPOINTMENT
    ]
    assert crowded_appointments == []
    assert plan.num_assigned >= 0.8 * problem.num_visits
