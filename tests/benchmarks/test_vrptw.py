"""The VRPTW benchmark harness: the instance mapping, and its own feasibility checker.

The checker decides what the benchmark calls feasible, so it is tested on a hand-made instance
whose every time and distance is worked out below. The tests on a real Solomon instance skip
when `../shared/benchmarks/vrptw/` or `vrplib` is absent; the peers' adapters need the `bench`
extra and run with `make test-slow`.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from benchmarks.vrptw import (
    DATA,
    Instance,
    Report,
    check_routes,
    integer_matrix,
    main,
    read_csv,
    read_instance,
    run_one,
    scale_for,
    solve_doorstep,
    to_problem,
    write_csv,
)
from optimizer import VisitKind, solve


@pytest.fixture
def tiny() -> Instance:
    """Three customers, two vehicles of capacity 10, depot open 0..100.

    Distances: depot-1 5, 1-2 5, depot-2 10, depot-3 10, 1-3 sqrt(45). Customer 2 opens at 20,
    so 1 then 2 waits there; 1 and 3 or 2 and 3 together exceed the capacity. The only
    solution with two vehicles is (1, 2) and (3,): 5 + 5 + 10 and 10 + 10, distance 40.
    """
    return Instance(
        name="TINY",
        set_name="hand-made",
        coords=np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 10.0]]),
        demand=np.array([0, 5, 5, 8]),
        ready=np.array([0, 0, 20, 0]),
        due=np.array([100, 10, 30, 100]),
        service=np.array([0, 2, 2, 1]),
        num_vehicles=2,
        capacity=10,
    )


@pytest.fixture(scope="module")
def c101_25() -> Instance:
    """Solomon C101 cut to its first 25 customers (the classic 25-customer variant)."""
    pytest.importorskip("vrplib")
    path = DATA / "solomon" / "C101.txt"
    if not path.is_file():
        pytest.skip(f"no Solomon instances in {path.parent}")
    return read_instance(path).head(25)


def test_checker_accepts_the_hand_checked_solution(tiny: Instance) -> None:
    """The one two-vehicle solution is feasible and its exact distance is 40."""
    check = check_routes(tiny, ((1, 2), (3,)))
    assert check.feasible, check.problems
    assert check.vehicles == 2
    assert check.distance == pytest.approx(40.0)


def test_checker_rejects_a_broken_window(tiny: Instance) -> None:
    """2 then 1 reaches customer 1 at 27, after its due date 10."""
    check = check_routes(tiny, ((2, 1), (3,)))
    assert not check.feasible
    assert any("customer 1 starts 27.00 > due 10" in p for p in check.problems)


def test_checker_rejects_an_overloaded_vehicle(tiny: Instance) -> None:
    """1 and 3 together carry 13 against a capacity of 10; the windows are met."""
    check = check_routes(tiny, ((1, 3), (2,)))
    assert check.problems == ("route 1: load 13 over capacity 10",)


def test_checker_rejects_a_late_return_to_the_depot(tiny: Instance) -> None:
    """(1, 2) is back at 32: infeasible once the depot closes at 30."""
    closed_early = replace(tiny, due=np.array([30, 10, 30, 30]))
    check = check_routes(closed_early, ((1, 2), (3,)))
    assert check.problems == ("route 1: back at the depot 32.00 > due 30",)


def test_checker_rejects_a_missing_or_repeated_customer(tiny: Instance) -> None:
    """Every customer exactly once: a missing one and a repeated one are both reported."""
    assert not check_routes(tiny, ((1, 2),)).feasible
    repeated = check_routes(tiny, ((1, 2), (3, 1)))
    assert any("more than once" in p for p in repeated.problems)
    assert not check_routes(tiny, ()).feasible


def test_checker_rejects_more_routes_than_the_fleet(tiny: Instance) -> None:
    """Three single-customer routes need three vehicles; the fleet has two."""
    check = check_routes(tiny, ((1,), (2,), (3,)))
    assert check.problems == ("3 routes for a fleet of 2",)


def test_scale_keeps_the_depot_due_date_inside_the_horizon(tiny: Instance) -> None:
    """x100 while the due date x100 fits two days, else x10."""
    assert scale_for(tiny) == 100
    assert scale_for(replace(tiny, due=np.array([3390, 10, 30, 100]))) == 10


def test_integer_matrix_rounds_up(tiny: Instance) -> None:
    """Scaled distances are never shorter than the exact ones, and less than one unit longer."""
    matrix = integer_matrix(tiny, 100)
    exact = tiny.distances * 100
    assert (matrix >= exact).all()
    assert (matrix < exact + 1).all()
    assert matrix[1, 3] == 671  # sqrt(45) = 6.7082


def test_to_problem_maps_customers_and_fleet(tiny: Instance) -> None:
    """Customers become appointments with scaled windows, vehicles agents with the capacity."""
    problem = to_problem(tiny)
    assert [v.id for v in problem.visits] == ["1", "2", "3"]
    assert all(v.kind is VisitKind.APPOINTMENT for v in problem.visits)
    assert [(w.start, w.end) for w in problem.visits[1].windows] == [(2000, 3000)]
    assert [v.duration for v in problem.visits] == [200, 200, 100]
    assert [v.workload for v in problem.visits] == [5, 5, 8]
    assert len(problem.agents) == 2
    assert all(a.max_workload == 10 for a in problem.agents)
    assert (problem.agents[0].shift.start, problem.agents[0].shift.end) == (0, 10000)
    assert not problem.balance_work
    matrix = problem.matrices[next(iter(problem.matrices))]
    # Visit 1 to agent 0's start (the depot): 5 x 100.
    assert matrix.durations[0, problem.agent_start_point(0)] == 500


def test_doorstep_finds_the_only_two_vehicle_solution(tiny: Instance) -> None:
    """Through the public API the tiny instance is solved exactly."""
    answer = solve_doorstep(tiny, 1.0)
    check = check_routes(tiny, answer.routes)
    assert check.feasible, check.problems
    assert check.distance == pytest.approx(40.0)
    assert answer.note == ""


def test_doorstep_on_solomon_passes_the_checker(c101_25: Instance) -> None:
    """C101 with 25 customers: every customer served, every route feasible in exact times."""
    plan = solve(to_problem(c101_25), time_limit=2.0)
    assert not plan.unassigned
    routes = tuple(tuple(int(s.visit_id) for s in r.stops) for r in plan.routes if r.stops)
    check = check_routes(c101_25, routes)
    assert check.feasible, check.problems
    # Integer distances are rounded up, so the plan's travel is at least the exact distance.
    travel = sum(r.travel_distance for r in plan.routes) / scale_for(c101_25)
    assert check.distance <= travel < check.distance + 0.01 * sum(len(r) + 1 for r in routes)


def test_run_one_flags_an_overrun(tiny: Instance) -> None:
    """A run more than 5 % over its limit is flagged; the gaps come from the checked distance."""
    result = run_one(tiny, "doorstep", 1.0, (2, 40.0))
    assert result.feasible
    assert result.gap_bks == pytest.approx(0.0)
    assert not result.overrun
    assert replace(result, seconds=1.1).overrun
    report = Report([result, replace(result, solver="pyvrp", distance=50.0)])
    assert report.gap_pyvrp(result) == pytest.approx(-20.0)


@pytest.mark.slow
@pytest.mark.parametrize("solver", ["pyvrp", "vroom"])
def test_peers_on_solomon_pass_the_checker(c101_25: Instance, solver: str) -> None:
    """The peers' adapters return routes the checker accepts (needs the bench extra)."""
    pytest.importorskip({"pyvrp": "pyvrp", "vroom": "vroom"}[solver])
    result = run_one(c101_25, solver, 1.0, None)
    assert result.feasible, result.note
    assert result.vehicles >= 3


def _write_solomon(instance: Instance, folder: Path) -> None:
    """`instance` as a Solomon-format file in `folder/solomon/`, with a bks.csv beside it."""
    (folder / "solomon").mkdir(parents=True)
    rows = [
        f"{k} {x:g} {y:g} {instance.demand[k]} {instance.ready[k]} {instance.due[k]} "
        f"{instance.service[k]}"
        for k, (x, y) in enumerate(instance.coords)
    ]
    text = [instance.name, "", "VEHICLE", "NUMBER CAPACITY"]
    text += [f"{instance.num_vehicles} {instance.capacity}", "", "CUSTOMER"]
    text += ["CUST NO. XCOORD. YCOORD. DEMAND READY TIME DUE DATE SERVICE TIME", "", *rows]
    (folder / "solomon" / f"{instance.name}.txt").write_text("\n".join(text) + "\n")
    bks = f"instance,vehicles,distance,source\n{instance.name},2,40,hand\n"
    (folder / "bks.csv").write_text(bks)


def _runs(path: Path) -> dict[str, dict[str, str]]:
    """The .csv's rows by solver."""
    with path.open(newline="") as f:
        return {row["solver"]: row for row in csv.DictReader(f)}


def test_resume_keeps_finished_runs_and_runs_the_rest(tiny: Instance, tmp_path: Path) -> None:
    """`--resume` goes on from the .csv: a run already there is kept as it is, not run again."""
    pytest.importorskip("vrplib")
    pytest.importorskip("matplotlib")
    _write_solomon(tiny, tmp_path / "data")
    out = tmp_path / "results.md"
    common = ["--sets", "solomon", "--time-limit", "1", "--data", str(tmp_path / "data")]
    main([*common, "--solvers", "doorstep", "--out", str(out)])
    first = _runs(out.with_suffix(".csv"))
    assert list(first) == ["doorstep"]
    assert float(first["doorstep"]["distance"]) == pytest.approx(40.0)

    write_csv(
        [replace(r, seconds=0.01) for r in read_csv(out.with_suffix(".csv"))],
        out.with_suffix(".csv"),
    )
    main([*common, "--solvers", "doorstep", "doorstep2", "--out", str(out), "--resume"])
    second = _runs(out.with_suffix(".csv"))
    assert list(second) == ["doorstep", "doorstep2"]
    assert second["doorstep"]["seconds"] == "0.01"  # kept, not run again
    assert float(second["doorstep2"]["distance"]) == pytest.approx(40.0)
    assert "--resume" not in out.read_text()  # the table shows the command that makes it whole
