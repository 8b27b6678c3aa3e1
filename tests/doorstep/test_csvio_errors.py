"""Every kind of bad input file: one InputError naming file, row and field of each problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from doorstep.csvio import read_day, read_visits
from doorstep.errors import InputError, InputProblem

Write = Callable[[str, str | bytes], Path]
Where = tuple[str, int | None, str | None]
ProblemsOf = Callable[..., list[Where]]
WithCell = Callable[[str, int, str, str], str]


def _messages(write: Write, visits: str | bytes, agents: str | bytes) -> list[InputProblem]:
    with pytest.raises(InputError) as caught:
        read_day(write("visits.csv", visits), write("agents.csv", agents))
    return caught.value.problems


# --- whole files -------------------------------------------------------------------------


def test_missing_files(tmp_path: Path) -> None:
    """Missing files are each one problem with no row or field, naming the path."""
    with pytest.raises(InputError) as caught:
        read_day(tmp_path / "visits.csv", tmp_path / "agents.csv")
    problems = caught.value.problems
    assert [(p.file, p.row, p.field) for p in problems] == [
        ("visits.csv", None, None),
        ("agents.csv", None, None),
    ]
    assert "not found" in problems[0].message
    assert str(tmp_path / "visits.csv") in problems[0].message


def test_folder_instead_of_file(tmp_path: Path, write: Write, example_agents: str) -> None:
    """A folder given as a file is a problem, not a crash."""
    (tmp_path / "visits").mkdir()
    with pytest.raises(InputError) as caught:
        read_day(tmp_path / "visits", write("agents.csv", example_agents))
    assert [(p.file, p.row, p.field) for p in caught.value.problems] == [("visits", None, None)]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "is empty"),
        ("\n\n  \n", "is empty"),
        ("\ufeff", "is empty"),
    ],
    ids=["nothing", "blank-lines", "bom-only"],
)
def test_empty_file(problems_of: ProblemsOf, write: Write, content: str, fragment: str) -> None:
    """An empty file is one problem for the whole file."""
    assert problems_of(visits=content) == [("visits.csv", None, None)]


def test_header_only(problems_of: ProblemsOf, example_visits: str, example_agents: str) -> None:
    """A header with no rows is one problem for the whole file, in either file."""
    visits_header = example_visits.splitlines()[0] + "\n"
    agents_header = example_agents.splitlines()[0] + "\n"
    assert problems_of(visits=visits_header, agents=agents_header) == [
        ("visits.csv", None, None),
        ("agents.csv", None, None),
    ]


def test_not_utf8(write: Write, example_visits: str, example_agents: str) -> None:
    """A Latin-1 file is one problem at the line of the first bad byte, suggesting UTF-8."""
    visits = example_visits.replace("Erottajankatu", "Töölöntori").encode("latin-1")
    problems = _messages(write, visits, example_agents)
    assert [(p.file, p.row, p.field) for p in problems] == [("visits.csv", 3, None)]
    assert "not UTF-8" in problems[0].message
    assert "save it as UTF-8" in problems[0].message


def test_utf16(write: Write, example_visits: str, example_agents: str) -> None:
    """A UTF-16 file (Excel's 'Unicode text') is one problem suggesting UTF-8."""
    problems = _messages(write, example_visits.encode("utf-16"), example_agents)
    assert [(p.file, p.row, p.field) for p in problems] == [("visits.csv", None, None)]
    assert "save it as UTF-8" in problems[0].message


@pytest.mark.parametrize(("sep", "name"), [(";", "';'-separated"), ("\t", "tab-separated")])
def test_wrong_delimiter(write: Write, example_agents: str, sep: str, name: str) -> None:
    """A header with ';' or tabs and no comma says how the file looks and what it must be."""
    visits = f"visit_id{sep}borrower_id{sep}lat\nV1{sep}B1{sep}60.1\n"
    problems = _messages(write, example_agents.replace(",", sep), visits)
    assert [(p.file, p.row, p.field) for p in problems] == [
        ("visits.csv", 1, None),
        ("agents.csv", 1, None),
    ]
    assert f"looks {name}" in problems[0].message
    assert "must be comma-separated" in problems[0].message


def test_files_swapped(write: Write, example_visits: str, example_agents: str) -> None:
    """Visits and agents files given the wrong way round: one problem for each, saying so."""
    visits, agents = write("visits.csv", example_visits), write("agents.csv", example_agents)
    with pytest.raises(InputError) as caught:
        read_day(agents, visits)
    problems = caught.value.problems
    assert [(p.file, p.row, p.field) for p in problems] == [
        ("agents.csv", 1, None),
        ("visits.csv", 1, None),
    ]
    assert "looks like the agents file" in problems[0].message
    assert "are the two files swapped?" in problems[1].message


# --- headers -----------------------------------------------------------------------------


def test_missing_required_column(problems_of: ProblemsOf, example_visits: str) -> None:
    """A missing required column is one header problem, not one per row."""
    lines = [
        ",".join(line.split(",")[:2] + line.split(",")[3:]) for line in example_visits.split("\n")
    ]
    assert problems_of(visits="\n".join(lines)) == [("visits.csv", 1, "lat")]


def test_missing_optional_windows_column_reports_appointments(problems_of: ProblemsOf) -> None:
    """Without a windows column every appointment row lacks its window."""
    visits = (
        "visit_id,borrower_id,lat,lon,duration_min,kind\n"
        "V1,B1,60.1,24.9,30,appointment\n"
        "V2,B2,60.1,24.9,30,flexible\n"
        "V3,B3,60.1,24.9,30,appointment\n"
    )
    assert problems_of(visits=visits) == [
        ("visits.csv", 2, "windows"),
        ("visits.csv", 4, "windows"),
    ]


def test_unknown_column_suggests_closest(
    write: Write, example_visits: str, example_agents: str
) -> None:
    """An unknown column names itself and the closest known column."""
    visits = example_visits.replace("address", "adress", 1)
    agents = example_agents.replace("start_label", "Start Label", 1)
    problems = _messages(write, visits, agents)
    assert [(p.file, p.row, p.field) for p in problems] == [
        ("visits.csv", 1, "adress"),
        ("agents.csv", 1, "Start Label"),
    ]
    assert "did you mean 'address'?" in problems[0].message
    assert "did you mean 'start_label'?" in problems[1].message


def test_duplicate_column(problems_of: ProblemsOf, example_visits: str) -> None:
    """A column named twice in the header is a problem naming it."""
    lines = example_visits.splitlines()
    visits = "\n".join([lines[0] + ",priority", lines[1] + ",7", lines[2] + ",7"]) + "\n"
    assert problems_of(visits=visits) == [("visits.csv", 1, "priority")]


def test_unnamed_column(problems_of: ProblemsOf, example_visits: str) -> None:
    """A header cell with no name (a trailing comma) is a header problem."""
    visits = "\n".join(line + "," for line in example_visits.splitlines()) + "\n"
    assert problems_of(visits=visits) == [("visits.csv", 1, None)]


# --- cell counts -------------------------------------------------------------------------


def test_wrong_cell_counts(write: Write, example_visits: str, example_agents: str) -> None:
    """Rows with too many or too few cells are problems of the row, with the counts."""
    visits = example_visits.replace("Aleksanterinkatu 52", "Aleksanterinkatu 52, A 3")
    visits = visits.replace("flexible,,20", "flexible,20")
    problems = _messages(write, visits, example_agents)
    assert [(p.file, p.row, p.field) for p in problems] == [
        ("visits.csv", 2, None),
        ("visits.csv", 3, None),
    ]
    assert "16 cells but the header has 15" in problems[0].message
    assert "quotes" in problems[0].message
    assert "14 cells" in problems[1].message


# --- visits.csv cells --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "value", "fragment"),
    [
        (2, "visit_id", "", "visit_id is empty"),
        (2, "borrower_id", "", "borrower_id is empty"),
        (2, "lat", "", "lat is empty"),
        (2, "lat", "north", "not a number"),
        (2, "lat", "60,1699", "decimal separator"),
        (2, "lat", "nan", "not a number"),
        (2, "lat", "95", "outside -90..90"),
        (2, "lon", "-180.5", "outside -180..180"),
        (2, "duration_min", "", "duration_min is empty"),
        (2, "duration_min", "0", "from 1 to 480"),
        (2, "duration_min", "481", "from 1 to 480"),
        (2, "duration_min", "30.5", "not a whole number"),
        (2, "kind", "urgent", "use appointment or flexible"),
        (2, "kind", "", "use appointment or flexible"),
        (2, "windows", "25:00-26:00", "after 24:00"),
        (2, "windows", "9h-10h", "use HH:MM between 00:00 and 24:00"),
        (2, "windows", "12:60-13:00", "minutes run from 00 to 59"),
        (2, "windows", "11:00-09:00", "ends before it starts"),
        (2, "windows", "09:00", "use HH:MM-HH:MM"),
        (2, "windows", "09:00\u201311:00", "plain hyphen"),
        (2, "windows", "09:00-10:00;09:30-11:00", "merge them into 09:00-11:00"),
        (2, "windows", "09:00-10:00;10:00-11:00", "overlap or touch"),
        (2, "windows", "", "an appointment needs the agreed window"),
        (2, "windows", " ; ", "an appointment needs the agreed window"),
        (2, "priority", "0", "1..100"),
        (2, "priority", "101", "1..100"),
        (2, "priority", "high", "not a whole number"),
        (3, "crew_size", "0", "crew_size 0 is out of range"),
        (3, "crew_size", "3", "larger than any crew in agents.csv (the largest has 2"),
        (2, "allowed_agents", "B", "agents A01, A02, A03 and crews C1"),
        (2, "allowed_agents", "A04", "neither an agent_id nor a crew_id in agents.csv"),
        (2, "preferred_agents", "A03;c1", "did you mean 'C1'?"),
        (2, "borrower_max_visits", "-1", "0 or more"),
        (2, "borrower_max_visits", "two", "not a whole number"),
        (3, "borrower_hours", "20:00-08:00", "ends before it starts"),
        (3, "borrower_hours", "8-20", "not a time of day"),
    ],
)
def test_bad_visit_cell(
    write: Write,
    example_visits: str,
    example_agents: str,
    with_cell: WithCell,
    row: int,
    column: str,
    value: str,
    fragment: str,
) -> None:
    """A bad visits.csv cell is exactly one problem at its row and column, saying what to do."""
    problems = _messages(write, with_cell(example_visits, row, column, value), example_agents)
    assert [(p.file, p.row, p.field) for p in problems] == [("visits.csv", row, column)]
    assert fragment in problems[0].message


def test_crew_size_without_crews(problems_of: ProblemsOf, example_agents: str) -> None:
    """A visit for two when agents.csv has no crew says to form one."""
    agents = example_agents.replace(",C1\n", ",\n")
    assert problems_of(agents=agents) == [("visits.csv", 3, "crew_size")]


def test_duplicate_visit_id(write: Write, example_visits: str, example_agents: str) -> None:
    """A visit_id used twice is a problem at the later row that names the earlier one."""
    visits = example_visits + example_visits.splitlines()[2] + "\n"
    problems = _messages(write, visits, example_agents)
    assert [(p.file, p.row, p.field) for p in problems] == [("visits.csv", 4, "visit_id")]
    assert "row 3" in problems[0].message


@pytest.mark.parametrize(
    ("first", "second", "column", "shown"),
    [
        (("2", ""), ("3", ""), "borrower_max_visits", "3 here but 2 in row 2"),
        (("2", ""), ("", ""), "borrower_max_visits", "empty (the default 1) here but 2 in row 2"),
        (("", "08:00-20:00"), ("", "08:00-21:00"), "borrower_hours", "08:00-21:00 here"),
        (("", "08:00-20:00"), ("", ""), "borrower_hours", "empty (any hour) here"),
    ],
)
def test_borrower_rows_disagree(
    write: Write,
    example_visits: str,
    example_agents: str,
    with_cell: WithCell,
    first: tuple[str, str],
    second: tuple[str, str],
    column: str,
    shown: str,
) -> None:
    """A borrower's cap or hours differing between rows is a problem naming both rows."""
    visits = with_cell(example_visits, 2, "borrower_max_visits", first[0])
    visits = with_cell(visits, 2, "borrower_hours", first[1])
    visits += f"V003,B001,60.17,24.94,,20,flexible,,,,,,,{second[0]},{second[1]}\n"
    problems = _messages(write, visits, example_agents)
    assert [(p.file, p.row, p.field) for p in problems] == [("visits.csv", 4, column)]
    assert shown in problems[0].message
    assert "row 2" in problems[0].message


# --- agents.csv cells --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "value", "fragment"),
    [
        (2, "agent_id", "", "agent_id is empty"),
        (2, "mode", "car", "use drive, bike or walk"),
        (2, "mode", "", "use drive, bike or walk"),
        (2, "start_lat", "", "start_lat is empty"),
        (2, "start_lon", "east", "not a number"),
        (2, "start_lat", "-91", "outside -90..90"),
        (2, "shift_start", "8", "use HH:MM"),
        (2, "shift_start", "25:00", "after 24:00"),
        (2, "shift_end", "17:75", "minutes run from 00 to 59"),
        (2, "shift_end", "", "shift_end is empty"),
        (2, "shift_end", "07:00", "shift_end 07:00 is before shift_start 08:00"),
        (2, "breaks", "06:00-07:00/30", "outside the shift 08:00-17:00"),
        (2, "breaks", "11:30-17:30/30", "outside the shift"),
        (2, "breaks", "16:40-17:00/30", "ends after the shift"),
        (2, "breaks", "11:30-13:30", "has no length"),
        (2, "breaks", "11:30-13:30/half", "not a whole number of minutes"),
        (2, "breaks", "11:30-13:30/0", "not a whole number of minutes, 1 or more"),
        (2, "breaks", "13:30-11:30/30", "ends before it starts"),
        (2, "max_visits", "-1", "0 or more"),
        (2, "max_working_min", "0", "1 or more"),
        (2, "max_working_min", "8h", "not a whole number"),
    ],
)
def test_bad_agent_cell(
    write: Write,
    example_visits: str,
    example_agents: str,
    with_cell: WithCell,
    row: int,
    column: str,
    value: str,
    fragment: str,
) -> None:
    """A bad agents.csv cell is exactly one problem at its row and column, saying what to do."""
    problems = _messages(write, example_visits, with_cell(example_agents, row, column, value))
    assert [(p.file, p.row, p.field) for p in problems] == [("agents.csv", row, column)]
    assert fragment in problems[0].message


@pytest.mark.parametrize(("given", "missing"), [("end_lat", "end_lon"), ("end_lon", "end_lat")])
def test_half_an_end(
    problems_of: ProblemsOf, example_agents: str, with_cell: WithCell, given: str, missing: str
) -> None:
    """An end with only one coordinate names the missing one."""
    assert problems_of(agents=with_cell(example_agents, 3, given, "60.2")) == [
        ("agents.csv", 3, missing)
    ]


def test_end_out_of_range(
    problems_of: ProblemsOf, example_agents: str, with_cell: WithCell
) -> None:
    """An end latitude outside -90..90 is a problem at end_lat."""
    agents = with_cell(with_cell(example_agents, 2, "end_lat", "100"), 2, "end_lon", "24.9")
    assert problems_of(agents=agents) == [("agents.csv", 2, "end_lat")]


def test_duplicate_agent_id(write: Write, example_visits: str, example_agents: str) -> None:
    """An agent_id used twice is a problem at the later row that names the earlier one."""
    agents = example_agents + example_agents.splitlines()[1] + "\n"
    problems = _messages(write, example_visits, agents)
    assert [(p.file, p.row, p.field) for p in problems] == [("agents.csv", 5, "agent_id")]
    assert "row 2" in problems[0].message


def test_crew_of_one(
    write: Write, example_visits: str, example_agents: str, with_cell: WithCell
) -> None:
    """A crew_id only one agent has is a problem at that agent's crew_id.

    The example's visit for two (V002, row 3) then has no crew either.
    """
    problems = _messages(write, example_visits, with_cell(example_agents, 4, "crew_id", ""))
    assert [(p.file, p.row, p.field) for p in problems] == [
        ("visits.csv", 3, "crew_size"),
        ("agents.csv", 3, "crew_id"),
    ]
    assert problems[1].message.startswith("crew C1 has only agent A02; a crew needs two or more")


def test_crew_id_that_is_an_agent_id(
    problems_of: ProblemsOf, example_agents: str, with_cell: WithCell
) -> None:
    """A crew_id equal to an agent_id is ambiguous in allowed_agents, so it is a problem."""
    agents = with_cell(with_cell(example_agents, 3, "crew_id", "A01"), 4, "crew_id", "A01")
    assert problems_of(agents=agents) == [("agents.csv", 3, "crew_id")]


def test_crew_shifts_must_overlap(
    write: Write, example_visits: str, example_agents: str, with_cell: WithCell
) -> None:
    """Crew members whose shifts do not overlap: a problem at the member who does not fit."""
    agents = with_cell(example_agents, 4, "shift_start", "18:30")
    agents = with_cell(agents, 4, "shift_end", "21:00")
    problems = _messages(write, example_visits, agents)
    assert [(p.file, p.row, p.field) for p in problems] == [("agents.csv", 4, "shift_start")]
    assert "crew C1 in rows 3" in problems[0].message


# --- all at once -------------------------------------------------------------------------


def test_three_bad_rows_three_problems(problems_of: ProblemsOf, example_visits: str) -> None:
    """Every bad row is reported; reading never stops at the first one."""
    visits = example_visits + (
        "V003,B003,60.17,24.94,,20,flexible,,0,,,,,,\n"
        "V004,B004,60.17,24.94,,20,flexibel,,,,,,,,\n"
        "V005,B005,60.17,24.94,,999,flexible,,,,,,,,\n"
    )
    assert problems_of(visits=visits) == [
        ("visits.csv", 4, "priority"),
        ("visits.csv", 5, "kind"),
        ("visits.csv", 6, "duration_min"),
    ]


def test_every_problem_of_both_files_at_once(
    write: Write, example_visits: str, example_agents: str, with_cell: WithCell
) -> None:
    """Problems of both files, several in one row, come in one error: visits first, by row."""
    visits = with_cell(example_visits, 3, "lat", "x")
    visits = with_cell(visits, 3, "kind", "y")
    visits = with_cell(visits, 2, "allowed_agents", "A9")
    visits = visits.replace("borrower_hours", "borrower_hour", 1)
    agents = with_cell(example_agents, 4, "mode", "car")
    agents = with_cell(agents, 2, "shift_end", "5pm")
    with pytest.raises(InputError) as caught:
        read_day(write("visits.csv", visits), write("agents.csv", agents))
    problems = caught.value.problems
    assert [(p.file, p.row, p.field) for p in problems] == [
        ("visits.csv", 1, "borrower_hour"),
        ("visits.csv", 2, "allowed_agents"),
        ("visits.csv", 3, "lat"),
        ("visits.csv", 3, "kind"),
        ("agents.csv", 2, "shift_end"),
        ("agents.csv", 4, "mode"),
    ]
    assert str(caught.value).startswith("6 problems in the input:\n  visits.csv, row 1, field")


def test_bad_agents_file_does_not_flood_visits(
    problems_of: ProblemsOf, example_visits: str, with_cell: WithCell
) -> None:
    """When agents.csv cannot be read, visits naming agents are not reported as unknown."""
    visits = with_cell(example_visits, 3, "allowed_agents", "A01;C1")
    assert problems_of(visits=visits, agents="") == [("agents.csv", None, None)]


def test_bad_agent_row_still_counts_as_known(
    problems_of: ProblemsOf, example_agents: str, with_cell: WithCell
) -> None:
    """An agent whose row has a bad cell is still an agent visits may name."""
    agents = with_cell(example_agents, 4, "mode", "car")
    assert problems_of(agents=agents) == [("agents.csv", 4, "mode")]


def test_blank_rows_keep_row_numbers(problems_of: ProblemsOf, example_visits: str) -> None:
    """Blank lines count as rows, so row numbers match what a spreadsheet shows."""
    lines = example_visits.splitlines()
    visits = "\n".join([lines[0], "", lines[1], "", lines[2].replace("45", "0")]) + "\n"
    assert problems_of(visits=visits) == [("visits.csv", 5, "duration_min")]


def test_unterminated_quote(write: Write, example_visits: str, example_agents: str) -> None:
    """A quote that never closes swallows the rest of the file: one problem at that row."""
    visits = example_visits.replace("Aleksanterinkatu 52", '"Aleksanterinkatu 52')
    problems = _messages(write, visits, example_agents)
    assert [(p.file, p.row, p.field) for p in problems] == [("visits.csv", 2, None)]
    assert "quote" in problems[0].message


# --- agreed_at, borrower_flags and missing coordinates -----------------------------------


@pytest.mark.parametrize(
    ("row", "column", "value", "fragment"),
    [
        (
            2,
            "agreed_at",
            "2026-11-20T15:30",
            "has no UTC offset; add it, e.g. 2026-11-20T15:30+02:00",
        ),
        (2, "agreed_at", "2026-11-20", "is a date without a time"),
        (2, "agreed_at", "20.11.2026 15:30", "is not an ISO 8601 date-time"),
        (2, "agreed_at", "2026-11-20T24:30Z", "hour must be in 0..23"),
        (3, "borrower_flags", "Vulnerable", "not a lower-case name"),
        (3, "borrower_flags", "do-not-visit", "did you mean 'do_not_visit'?"),
        (3, "borrower_flags", "vulnerable;hospitalised!", "flag 'hospitalised!'"),
    ],
)
def test_bad_new_visit_cell(
    write: Write,
    example_visits_all_columns: str,
    example_agents: str,
    with_cell: WithCell,
    row: int,
    column: str,
    value: str,
    fragment: str,
) -> None:
    """A bad agreed_at or borrower_flags cell is one problem at its row and column."""
    visits = with_cell(example_visits_all_columns, row, column, value)
    problems = _messages(write, visits, example_agents)
    assert [(p.file, p.row, p.field) for p in problems] == [("visits.csv", row, column)]
    assert fragment in problems[0].message


@pytest.mark.parametrize(
    ("first", "second", "shown"),
    [
        ("vulnerable", "", "empty (no flags) here but vulnerable in row 2"),
        ("vulnerable;dispute", "dispute", "dispute here but dispute;vulnerable in row 2"),
    ],
)
def test_borrower_flags_disagree(
    write: Write,
    example_visits_all_columns: str,
    example_agents: str,
    with_cell: WithCell,
    first: str,
    second: str,
    shown: str,
) -> None:
    """A borrower's flags differing between rows is a problem naming both rows; order is free."""
    visits = with_cell(example_visits_all_columns, 2, "borrower_flags", first)
    visits += f"V003,B001,60.17,24.94,,20,flexible,,,,,,,,,,{second}\n"
    reordered = ";".join(reversed(first.split(";")))
    visits += f"V004,B001,60.17,24.94,,20,flexible,,,,,,,,,,{reordered}\n"
    problems = _messages(write, visits, example_agents)
    assert [(p.file, p.row, p.field) for p in problems] == [("visits.csv", 4, "borrower_flags")]
    assert shown in problems[0].message


def test_empty_coordinates_suggest_a_geocoder_when_there_is_an_address(
    write: Write, example_visits: str, example_agents: str, with_cell: WithCell
) -> None:
    """Empty lat and lon mention the geocoder setting only on a row with an address."""
    visits = with_cell(with_cell(example_visits, 2, "lat", ""), 2, "lon", "")
    visits = with_cell(with_cell(visits, 3, "lat", ""), 3, "lon", "")
    visits = with_cell(visits, 3, "address", "")
    problems = _messages(write, visits, example_agents)
    assert [(p.file, p.row, p.field) for p in problems] == [
        ("visits.csv", 2, "lat"),
        ("visits.csv", 2, "lon"),
        ("visits.csv", 3, "lat"),
        ("visits.csv", 3, "lon"),
    ]
    hint = "(or configure a geocoder: DOORSTEP_GEOCODER_URL)"
    assert problems[0].message == f"lat is empty; give WGS84 decimal degrees, e.g. 60.1699 {hint}"
    assert hint in problems[1].message
    assert problems[2].message == "lat is empty; give WGS84 decimal degrees, e.g. 60.1699"
    assert "geocoder" not in problems[3].message


def test_geocoder_only_for_rows_without_both_coordinates(
    write: Write, example_visits: str, example_agents: str, with_cell: WithCell
) -> None:
    """With a geocoder, a row lacking only one coordinate is still that coordinate's problem."""
    asked: list[str] = []

    def geocode(address: str) -> None:
        asked.append(address)

    visits = with_cell(example_visits, 2, "lat", "")
    with pytest.raises(InputError) as caught:
        read_visits(write("visits.csv", visits), geocode=geocode)
    assert [(p.file, p.row, p.field) for p in caught.value.problems] == [("visits.csv", 2, "lat")]
    assert "geocoder" not in caught.value.problems[0].message
    assert asked == []


def test_read_visits_alone_reports_every_problem(
    write: Write, example_visits: str, with_cell: WithCell
) -> None:
    """read_visits raises one InputError with every problem of the file, in row order."""
    visits = with_cell(with_cell(example_visits, 3, "kind", "x"), 2, "priority", "0")
    with pytest.raises(InputError) as caught:
        read_visits(write("visits.csv", visits))
    assert [(p.file, p.row, p.field) for p in caught.value.problems] == [
        ("visits.csv", 2, "priority"),
        ("visits.csv", 3, "kind"),
    ]
