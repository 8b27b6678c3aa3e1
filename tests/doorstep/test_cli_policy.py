"""`doorstep plan` from files under a contact policy: history, presets, holidays, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from doorstep.cli import SAMPLE_FOLDER, main


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOORSTEP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.delenv("DOORSTEP_POLICY", raising=False)
    return CliRunner()


def plan(
    runner: CliRunner, out: Path, *extra: str, day: str = "2026-11-24"
) -> tuple[int, str, dict]:
    args = [
        "plan",
        "--visits",
        str(SAMPLE_FOLDER / "visits.csv"),
        "--agents",
        str(SAMPLE_FOLDER / "agents.csv"),
        "--day",
        day,
        "--time-limit",
        "1",
        "--deterministic",
        "--out",
        str(out),
        *extra,
    ]
    result = runner.invoke(main, args)
    document = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return result.exit_code, result.output, document


def policy_excluded(document: dict) -> set[str]:
    return {u["visit_id"] for u in document["unassigned"] if u["reason_code"] == "contact_policy"}


def test_history_file_excludes_what_the_default_policy_forbids(
    runner: CliRunner, tmp_path: Path
) -> None:
    code, output, document = plan(
        runner, tmp_path / "p.json", "--history", str(SAMPLE_FOLDER / "history.csv")
    )
    assert code == 0, output
    assert document["policy"] == "cn@2026.1"
    assert policy_excluded(document) == {"V003", "V024", "V054", "V057", "V065", "V100"}
    assert "excluded by the contact policy (cn@2026.1)" in output
    assert "V024: B20516 is flagged do_not_visit" in output


def test_without_history_only_flags_exclude(runner: CliRunner, tmp_path: Path) -> None:
    code, output, document = plan(runner, tmp_path / "p.json")
    assert code == 0, output
    assert policy_excluded(document) == {"V024"}


def test_a_stricter_preset_stacked_on_the_default(runner: CliRunner, tmp_path: Path) -> None:
    """safe closes Sundays and opens at 09:00; 2026-11-29 is a Sunday: nothing is planned."""
    out = tmp_path / "p.json"
    code, output, _ = plan(runner, out, "--policy", "cn+safe")
    assert code == 0, output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["policy"] == "cn@2026.1+safe@2026.1"
    code, output, sunday = plan(
        runner, tmp_path / "sunday.json", "--policy", "cn+safe", day="2026-11-29"
    )
    assert code == 0, output
    assert sunday["summary"]["visits_routed"] == 0


def test_public_holiday_of_the_country(runner: CliRunner, tmp_path: Path) -> None:
    """au closes public holidays. 2026-01-26 is Australia Day, not a Finnish holiday."""
    routed = {}
    for country in ("AU", "FI"):
        out = tmp_path / f"{country}.json"
        code, output, document = plan(
            runner, out, "--policy", "au", "--country", country, day="2026-01-26"
        )
        assert code == 0, output
        routed[country] = document["summary"]["visits_routed"]
        if country == "AU":
            reasons = {u["reason"] for u in document["unassigned"]}
            assert (
                "2026-01-26 is a public holiday; policy au allows no visits on public holidays."
                in reasons
            )
    assert routed["AU"] == 0
    assert routed["FI"] > 80


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "nonesuch"], "unknown policy 'nonesuch'; available: au, cn, in"),
        (["--policy", "CN!"], "give layer names joined by '+'"),
        (["--country", "XX"], "no holiday calendar for country 'XX'"),
    ],
)
def test_bad_policy_options_exit_1(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "p.json"
    code, output, _ = plan(runner, out, *args)
    assert code == 1
    assert message in output
    assert not out.exists()


def test_bad_history_rows_exit_1_and_name_the_row(runner: CliRunner, tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    text = (SAMPLE_FOLDER / "history.csv").read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    cells = text[2].split(",")
    cells[header.index("channel")] = "fax"
    text[2] = ",".join(cells)
    history.write_text("\n".join(text) + "\n", encoding="utf-8")
    out = tmp_path / "p.json"
    code, output, _ = plan(runner, out, "--history", str(history))
    assert code == 1
    assert "history.csv, row 3, field 'channel'" in output
    assert not out.exists()
