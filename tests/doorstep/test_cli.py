"""The `doorstep` command line end to end on the bundled sample city."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from doorstep.cli import SAMPLE_FOLDER, main

PRECHECK_REASONS = {
    "missing_skill",
    "no_crew",
    "agent_not_available",
    "borrower_cap",
    "outside_allowed_hours",
    "no_shift_overlap",
    "window_unreachable",
    "no_road_connection",
}


def plan_args(
    out: Path, *extra: str, visits: Path | None = None, day: str | None = "2026-11-24"
) -> list[str]:
    """`doorstep plan` on the sample agents (and sample visits unless given) writing to `out`."""
    args = [
        "plan",
        "--visits",
        str(visits or SAMPLE_FOLDER / "visits.csv"),
        "--agents",
        str(SAMPLE_FOLDER / "agents.csv"),
        "--out",
        str(out),
    ]
    if day is not None:
        args += ["--day", day]
    return [*args, *extra]


def sample_visits_with(tmp_path: Path, row: int, **cells: str) -> Path:
    """A copy of the sample visits.csv with the given cells of one data row (file row `row`)
    replaced; `lat_lon_swapped` swaps that row's coordinates."""
    lines = (SAMPLE_FOLDER / "visits.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    values = lines[row - 1].split(",")
    if cells.pop("lat_lon_swapped", None):
        lat, lon = header.index("lat"), header.index("lon")
        values[lat], values[lon] = values[lon], values[lat]
    for name, value in cells.items():
        values[header.index(name)] = value
    lines[row - 1] = ",".join(values)
    path = tmp_path / "visits.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One road-graph cache for the module, so the sample city is built once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def runner(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose settings point at the module's cache and a test's own database."""
    monkeypatch.setenv("DOORSTEP_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", f"sqlite:///{tmp_path / 'doorstep.db'}")
    return CliRunner()


@pytest.fixture(scope="module")
def demo_plan(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The plan JSON written by `doorstep demo` with a short time limit."""
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        main,
        ["demo", "--out", str(out), "--time-limit", "3"],
        env={
            "DOORSTEP_CACHE_DIR": str(cache_dir),
            "DOORSTEP_DATABASE_URL": f"sqlite:///{out / 'doorstep.db'}",
        },
    )
    assert result.exit_code == 0, result.output
    assert f"plan JSON: {out / 'plan.json'}" in result.output
    assert "appointments kept" in result.output
    return json.loads((out / "plan.json").read_text(encoding="utf-8"))


def test_help_reads_like_a_manual(runner: CliRunner) -> None:
    """`doorstep --help` and `doorstep plan --help` name the commands and every option."""
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    for command in ("demo", "plan", "sample"):
        assert command in top.output
    plan_help = runner.invoke(main, ["plan", "--help"])
    assert plan_help.exit_code == 0
    for option in (
        "--visits",
        "--agents",
        "--day",
        "--out",
        "--network",
        "--timezone",
        "--time-limit",
    ):
        assert option in plan_help.output


def test_demo_writes_a_complete_plan(demo_plan: dict) -> None:
    """The demo plan has the contract's fields and accounts for every visit once."""
    assert demo_plan["day"] == "2026-11-24"
    assert demo_plan["timezone"] == "Europe/Helsinki"
    routed = [s["visit_id"] for r in demo_plan["routes"] for s in r["stops"]]
    unassigned = [u["visit_id"] for u in demo_plan["unassigned"]]
    with (SAMPLE_FOLDER / "visits.csv").open(encoding="utf-8") as handle:
        ids = [row["visit_id"] for row in csv.DictReader(handle)]
    assert sorted(routed + unassigned) == sorted(ids)
    stop = demo_plan["routes"][0]["stops"][0]
    for key in ("visit_id", "borrower_id", "lat", "lon", "arrival", "start", "end"):
        assert key in stop
    assert stop["start"].startswith("2026-11-24T") and stop["start"].endswith("+02:00")
    assert demo_plan["summary"]["validated"] is True


def test_demo_keeps_every_keepable_appointment(demo_plan: dict) -> None:
    """Appointments are only ever left out for a pre-check reason or by the contact policy
    (the sample's history blocks some borrowers), never crowded out."""
    kinds = {}
    with (SAMPLE_FOLDER / "visits.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            kinds[row["visit_id"]] = row["kind"]
    for item in demo_plan["unassigned"]:
        if kinds[item["visit_id"]] == "appointment":
            assert item["reason_code"] in PRECHECK_REASONS | {"contact_policy"}, item
        assert item["reason"]


def test_demo_shows_the_contact_policy_at_work(demo_plan: dict) -> None:
    """The sample's history and flags make the default policy exclude a few visits, each with
    a reason naming the policy and the contact's date (or the flag)."""
    excluded = [u for u in demo_plan["unassigned"] if u["reason_code"] == "contact_policy"]
    assert 3 <= len(excluded) <= 10
    for item in excluded:
        assert "policy cn" in item["reason"], item
        assert "2026-11-" in item["reason"] or "do_not_visit" in item["reason"], item


def test_demo_unassigned_cover_the_sample_reasons(demo_plan: dict) -> None:
    """The sample's deliberately unservable visits come out with their own reasons."""
    codes = {u["reason_code"] for u in demo_plan["unassigned"]}
    assert PRECHECK_REASONS <= codes


def test_demo_routes_follow_the_roads(demo_plan: dict) -> None:
    """Every busy route has a LineString with many more points than stops."""
    for route in demo_plan["routes"]:
        if route["stops"]:
            coords = route["geometry"]["coordinates"]
            assert len(coords) > len(route["stops"]) + 2
            lon, lat = coords[0]
            assert 24.9 < lon < 25.0 and 60.1 < lat < 60.2


def test_plan_command_writes_json_geojson_and_csv(runner: CliRunner, tmp_path: Path) -> None:
    """`doorstep plan` writes the three formats, deterministically."""
    out = tmp_path / "plan.json"
    args = plan_args(
        out,
        "--geojson",
        str(tmp_path / "plan.geojson"),
        "--csv",
        str(tmp_path / "plan.csv"),
        "--time-limit",
        "20",
        "--deterministic",
    )
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    geojson = json.loads((tmp_path / "plan.geojson").read_text(encoding="utf-8"))
    assert geojson["type"] == "FeatureCollection"
    with (tmp_path / "plan.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == document["summary"]["visits_routed"]
    again = runner.invoke(main, args)
    assert again.exit_code == 0
    second = json.loads(out.read_text(encoding="utf-8"))
    assert [r["stops"] for r in second["routes"]] == [r["stops"] for r in document["routes"]]


def test_sample_command_writes_the_three_files(runner: CliRunner, tmp_path: Path) -> None:
    """`doorstep sample` writes visits, agents and history; crews by default, --solo alone."""
    result = runner.invoke(
        main, ["sample", "--out", str(tmp_path / "pairs"), "--visits", "10", "--agents", "7"]
    )
    assert result.exit_code == 0, result.output
    for name in ("visits.csv", "agents.csv", "history.csv"):
        assert (tmp_path / "pairs" / name).exists(), name
    with (tmp_path / "pairs" / "agents.csv").open(encoding="utf-8") as handle:
        assert all(row["crew_id"] for row in csv.DictReader(handle))
    solo = runner.invoke(
        main,
        ["sample", "--out", str(tmp_path / "solo"), "--visits", "10", "--solo", "--agents", "4"],
    )
    assert solo.exit_code == 0, solo.output
    with (tmp_path / "solo" / "agents.csv").open(encoding="utf-8") as handle:
        assert sum(not row["crew_id"] for row in csv.DictReader(handle)) == 2
    few = runner.invoke(main, ["sample", "--out", str(tmp_path / "few"), "--agents", "6"])
    assert few.exit_code == 1 and "num_agents 6 must be at least 7" in few.output


def test_bad_rows_exit_1_and_write_nothing(runner: CliRunner, tmp_path: Path) -> None:
    """Bad input names file, row and field on exit code 1, and no plan appears."""
    visits = sample_visits_with(tmp_path, 2, windows="25:00-26:00", duration_min="-5")
    out = tmp_path / "plan.json"
    result = runner.invoke(main, plan_args(out, visits=visits))
    assert result.exit_code == 1
    assert "visits.csv, row 2, field 'windows'" in result.output
    assert "visits.csv, row 2, field 'duration_min'" in result.output
    assert not out.exists()


def test_coordinates_far_outside_the_network_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    """A visit with lat and lon swapped is an input error naming its row."""
    visits = sample_visits_with(tmp_path, 4, lat_lon_swapped="yes")
    result = runner.invoke(main, plan_args(tmp_path / "plan.json", visits=visits))
    assert result.exit_code == 1
    assert "row 4" in result.output
    assert not (tmp_path / "plan.json").exists()


def test_missing_network_file_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    """A network file that does not exist is a one-line error with exit code 1."""
    missing = str(tmp_path / "nowhere.osm.pbf")
    result = runner.invoke(main, plan_args(tmp_path / "p.json", "--network", missing))
    assert result.exit_code == 1
    assert "nowhere.osm.pbf" in result.output
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--day", "2026-13-01"], "YYYY-MM-DD"),
        (["--day", "2026-11-24", "--timezone", "Mars/Olympus"], "time zone"),
    ],
)
def test_usage_errors_exit_2(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    """A bad option value is a usage error (exit 2) that says what is expected."""
    result = runner.invoke(main, plan_args(tmp_path / "p.json", *args, day=None))
    assert result.exit_code == 2
    assert message in result.output
