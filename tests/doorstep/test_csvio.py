"""Reading valid input files, writing them back, and the clock format (doorstep.csvio)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from doorstep.csvio import (
    AGENT_COLUMNS,
    VISIT_COLUMNS,
    AgentsFile,
    DayInput,
    VisitsFile,
    check_in_area,
    format_clock,
    parse_clock,
    read_agents,
    read_day,
    read_visits,
    write_agents_csv,
    write_visits_csv,
)
from doorstep.errors import InputError
from optimizer.model import (
    Agent,
    BorrowerRule,
    Break,
    Crew,
    Location,
    TimeWindow,
    TravelMode,
    Visit,
    VisitKind,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "input-files.md"
Write = Callable[[str, str | bytes], Path]
WithCell = Callable[[str, int, str, str], str]
EET = timezone(timedelta(hours=2))


def _hm(hours: int, minutes: int = 0) -> int:
    return (hours * 60 + minutes) * 60


@pytest.fixture
def example_day(write: Write, example_visits: str, example_agents: str) -> DayInput:
    """The documented example pair, read."""
    return read_day(write("visits.csv", example_visits), write("agents.csv", example_agents))


@pytest.fixture
def rich_day() -> DayInput:
    """A day using every column: crew listed out of agent order, own end, caps, hours,
    agreed times (one with seconds, one in UTC) and borrower flags."""
    agents = (
        Agent(
            "A1",
            Location(60.17, 24.93),
            Location(60.2, 24.95),
            TimeWindow(_hm(8), _hm(17)),
            TravelMode.BIKE,
            frozenset({"lang:fi", "senior"}),
            (Break(TimeWindow(_hm(11, 30), _hm(13)), 1800),),
            max_visits=9,
            max_working_time=_hm(8),
        ),
        Agent("A2", Location(60.16, 24.94), Location(60.16, 24.94), TimeWindow(_hm(9), _hm(18))),
        Agent(
            "A3",
            Location(60.165, 24.942),
            Location(60.165, 24.942),
            TimeWindow(_hm(7, 30), _hm(15, 45)),
            TravelMode.WALK,
        ),
    )
    crews = (Crew("C7", ("A3", "A1")),)
    visits = (
        Visit(
            "V1",
            "B1",
            Location(60.1699, 24.9384),
            1800,
            (TimeWindow(_hm(9), _hm(10)), TimeWindow(_hm(14), _hm(15, 30))),
            VisitKind.APPOINTMENT,
            priority=50,
            required_skills=frozenset({"lang:sv", "senior"}),
            crew_size=2,
            allowed_agents=frozenset({"A1", "A3"}),
            preferred_agents=frozenset({"A2"}),
        ),
        Visit("V2", "B1", Location(60.1675, 24.946), 2700, priority=10),
        Visit("V3", "B2", Location(-33.9, -70.5), 60, priority=100),
    )
    borrowers = (
        BorrowerRule("B1", max_visits=2, allowed_hours=TimeWindow(_hm(8), _hm(20))),
        BorrowerRule("B2", max_visits=0),
    )
    return DayInput(
        visits=visits,
        agents=(agents[2], agents[1], agents[0]),
        crews=crews,
        borrowers=borrowers,
        addresses={"V1": 'Aleksanterinkatu 52, "A" 3', "V2": "", "V3": "Åbo; gate ½"},
        agent_names={"A1": "Aino", "A2": "", "A3": "Chen Wei"},
        start_labels={"A1": "office Kamppi", "A2": "home", "A3": ""},
        agreed_at={
            "V1": datetime(2026, 11, 20, 15, 30, 5, tzinfo=EET),
            "V3": datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
        },
        borrower_flags={"B2": frozenset({"vulnerable", "do_not_visit"})},
    )


def _write_day(day: DayInput, write: Write) -> tuple[Path, Path]:
    visits_path, agents_path = write("visits.csv", ""), write("agents.csv", "")
    write_visits_csv(
        visits_path,
        day.visits,
        addresses=day.addresses,
        borrowers=day.borrowers,
        agreed_at=day.agreed_at,
        borrower_flags=day.borrower_flags,
    )
    write_agents_csv(
        agents_path,
        day.agents,
        day.crews,
        names=day.agent_names,
        start_labels=day.start_labels,
    )
    return visits_path, agents_path


def test_docs_examples_are_the_tested_ones(example_visits: str, example_agents: str) -> None:
    """The example CSVs copied into the tests still appear verbatim in docs/input-files.md."""
    docs = DOCS.read_text(encoding="utf-8")
    assert example_visits in docs
    assert example_agents in docs


def test_docs_examples_parse(example_day: DayInput) -> None:
    """The documented examples read to the visits, agents, crew and borrowers they describe."""
    v1, v2 = example_day.visits
    assert v1 == Visit(
        "V001",
        "B001",
        Location(60.1699, 24.9384),
        1800,
        (TimeWindow(_hm(9), _hm(10)), TimeWindow(_hm(14), _hm(15))),
        VisitKind.APPOINTMENT,
        priority=50,
        required_skills=frozenset({"lang:sv"}),
        preferred_agents=frozenset({"A03"}),
    )
    assert (v2.kind, v2.windows, v2.crew_size, v2.priority) == (VisitKind.FLEXIBLE, (), 2, 20)
    assert example_day.borrowers == (
        BorrowerRule("B001", max_visits=1),
        BorrowerRule("B002", max_visits=1, allowed_hours=TimeWindow(_hm(8), _hm(20))),
    )
    a1, a2, a3 = example_day.agents
    assert a1 == Agent(
        "A01",
        Location(60.1686, 24.9312),
        Location(60.1686, 24.9312),
        TimeWindow(_hm(8), _hm(17)),
        TravelMode.DRIVE,
        frozenset({"lang:fi", "lang:sv", "senior"}),
        (Break(TimeWindow(_hm(11, 30), _hm(13, 30)), 1800),),
        max_visits=12,
    )
    assert (a2.mode, a2.max_working_time, a3.breaks) == (TravelMode.WALK, 480 * 60, ())
    assert example_day.crews == (Crew("C1", ("A02", "A03")),)
    assert example_day.addresses == {"V001": "Aleksanterinkatu 52", "V002": "Erottajankatu 9"}
    assert example_day.agent_names == {"A01": "Aino", "A02": "Ben", "A03": "Chen"}
    assert example_day.start_labels == {"A01": "office Kamppi", "A02": "home", "A03": "home"}
    assert example_day.visit_rows == {"V001": 2, "V002": 3}
    assert (example_day.agreed_at, example_day.borrower_flags) == ({}, {})


def test_example_round_trips(example_day: DayInput, write: Write) -> None:
    """The example day written by the canonical writers reads back to an equal day."""
    assert read_day(*_write_day(example_day, write)) == example_day


def test_rich_day_round_trips(rich_day: DayInput, write: Write) -> None:
    """A day using every column and odd text (commas, quotes, ';') reads back equal."""
    assert read_day(*_write_day(rich_day, write)) == rich_day


def test_writer_puts_crew_lead_first(rich_day: DayInput, write: Write) -> None:
    """Crew members are written in crew order in their rows; other agents keep their place."""
    agents = (rich_day.agents[2], rich_day.agents[1], rich_day.agents[0])  # A1, A2, A3
    path = write("agents.csv", "")
    write_agents_csv(path, agents, rich_day.crews)
    ids = [line.split(",")[0] for line in path.read_text(encoding="utf-8").splitlines()]
    assert ids == ["agent_id", "A3", "A2", "A1"]


def test_writer_header_is_every_column(example_day: DayInput, write: Write) -> None:
    """The canonical files have every documented column, in the documented order."""
    visits_path, agents_path = _write_day(example_day, write)
    assert visits_path.read_text(encoding="utf-8").splitlines()[0] == ",".join(VISIT_COLUMNS)
    assert agents_path.read_text(encoding="utf-8").splitlines()[0] == ",".join(AGENT_COLUMNS)


def test_rich_day_writes_new_columns_last(rich_day: DayInput, write: Write) -> None:
    """agreed_at (ISO 8601 with offset, UTC as Z) and sorted flags end each row."""
    visits_path, _ = _write_day(rich_day, write)
    lines = visits_path.read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith(",borrower_hours,agreed_at,borrower_flags")
    assert lines[1].endswith(",2026-11-20T15:30:05+02:00,")
    assert lines[-1].endswith(",2026-11-21T08:00Z,do_not_visit;vulnerable")


def test_new_visit_columns(
    write: Write, example_visits_all_columns: str, example_agents: str, with_cell: WithCell
) -> None:
    """agreed_at reads as an aware moment, borrower_flags as a set; only those given appear."""
    visits = example_visits_all_columns
    visits = with_cell(visits, 2, "agreed_at", "2026-11-20T15:30+02:00")
    visits = with_cell(visits, 3, "agreed_at", "2026-11-20T13:30Z")
    visits = with_cell(visits, 3, "borrower_flags", "vulnerable ;do_not_visit; ;")
    visits += "V003,B002,60.17,24.94,,20,flexible,,,,,,,,08:00-20:00,,do_not_visit;vulnerable\n"
    visits += "V004,B004,60.17,24.94,,20,flexible,,,,,,,,,,\n"
    day = read_day(write("visits.csv", visits), write("agents.csv", example_agents))
    assert day.agreed_at == {
        "V001": datetime(2026, 11, 20, 15, 30, tzinfo=EET),
        "V002": datetime(2026, 11, 20, 13, 30, tzinfo=UTC),
    }
    assert day.agreed_at["V001"] == day.agreed_at["V002"]  # the same moment
    assert day.agreed_at["V001"].utcoffset() == timedelta(hours=2)
    assert day.borrower_flags == {"B002": frozenset({"vulnerable", "do_not_visit"})}


def test_read_visits_alone(write: Write, example_visits: str, example_day: DayInput) -> None:
    """visits.csv reads without agents.csv to what read_day gives for it; names are unchecked."""
    visits = example_visits.replace(",,A03,,", ",,A99,,")
    alone = read_visits(write("visits.csv", visits))
    assert isinstance(alone, VisitsFile)
    assert alone.visits[0].preferred_agents == {"A99"}
    same = read_visits(write("visits.csv", example_visits))
    assert same.visits == example_day.visits
    assert same.borrowers == example_day.borrowers
    assert same.addresses == example_day.addresses
    assert same.rows == {"V001": 2, "V002": 3}


def test_read_visits_with_known_agents(
    write: Write, example_visits: str, with_cell: WithCell
) -> None:
    """Given agents and crews, references are checked and crews expand, as in read_day."""
    visits = with_cell(example_visits, 3, "allowed_agents", "C1")
    path = write("visits.csv", visits)
    alone = read_visits(path, agent_ids=["A01", "A02", "A03"], crews=[Crew("C1", ("A02", "A03"))])
    assert alone.visits[1].allowed_agents == {"A02", "A03"}
    with pytest.raises(InputError) as caught:
        read_visits(path, agent_ids=["A01", "A03"])
    problems = caught.value.problems
    assert [(p.file, p.row, p.field) for p in problems] == [
        ("visits.csv", 3, "crew_size"),
        ("visits.csv", 3, "allowed_agents"),
    ]
    assert "no crew of two or more agents in the known agents and crews" in problems[0].message
    assert "'C1' is neither an agent_id nor a crew_id in the known agents" in problems[1].message


def test_read_agents_alone(write: Write, example_agents: str, example_day: DayInput) -> None:
    """agents.csv reads on its own to what read_day gives for it."""
    agents = read_agents(write("agents.csv", example_agents))
    assert agents == AgentsFile(
        example_day.agents, example_day.crews, example_day.agent_names, example_day.start_labels
    )
    assert agents.rows == {"A01": 2, "A02": 3, "A03": 4}


def test_read_agents_reports_every_problem(
    write: Write, example_agents: str, with_cell: WithCell
) -> None:
    """read_agents raises one InputError with every problem of the file."""
    agents = with_cell(with_cell(example_agents, 2, "mode", "car"), 4, "shift_end", "")
    with pytest.raises(InputError) as caught:
        read_agents(write("agents.csv", agents))
    assert [(p.file, p.row, p.field) for p in caught.value.problems] == [
        ("agents.csv", 2, "mode"),
        ("agents.csv", 4, "shift_end"),
    ]


@pytest.mark.parametrize(
    "visit",
    [
        Visit("V1", "B1", Location(60.0, 24.0), 90),
        Visit("V1", "B1", Location(60.0, 24.0), 60, (TimeWindow(0, 30),)),
        Visit("V1", "B1", Location(60.0, 24.0), 60, required_skills=frozenset({"a;b"})),
    ],
    ids=["duration-not-minutes", "window-not-minutes", "skill-with-semicolon"],
)
def test_visit_writer_refuses_what_the_file_cannot_hold(visit: Visit, write: Write) -> None:
    """Writing a visit the file cannot represent raises ValueError and writes nothing."""
    path = write("visits.csv", "old")
    with pytest.raises(ValueError):
        write_visits_csv(path, [visit])
    assert path.read_text(encoding="utf-8") == "old"


@pytest.mark.parametrize(
    ("agreed_at", "flags"),
    [
        ({"V1": datetime(2026, 11, 20, 15, 30)}, {}),
        ({}, {"B1": {"Vulnerable"}}),
        ({}, {"B1": {"do not visit"}}),
    ],
    ids=["naive-agreed-at", "upper-case-flag", "flag-with-spaces"],
)
def test_visit_writer_refuses_new_columns_it_cannot_hold(
    write: Write, agreed_at: dict[str, datetime], flags: dict[str, set[str]]
) -> None:
    """An agreed_at without time zone or a flag that is not a lower-case name is refused."""
    path = write("visits.csv", "old")
    visit = Visit("V1", "B1", Location(60.0, 24.0), 60)
    with pytest.raises(ValueError):
        write_visits_csv(path, [visit], agreed_at=agreed_at, borrower_flags=flags)
    assert path.read_text(encoding="utf-8") == "old"


def test_agent_writer_refuses_crew_of_unknown_agent(example_day: DayInput, write: Write) -> None:
    """A crew naming an agent that is not written raises ValueError."""
    with pytest.raises(ValueError, match="A99"):
        write_agents_csv(write("agents.csv", ""), example_day.agents, [Crew("C", ("A01", "A99"))])


def test_bom_accepted(write: Write, example_visits: str, example_agents: str) -> None:
    """A UTF-8 byte-order mark (as Excel writes it) is accepted and not part of the header."""
    day = read_day(
        write("visits.csv", "\ufeff" + example_visits),
        write("agents.csv", ("\ufeff" + example_agents).encode("utf-8")),
    )
    assert [v.id for v in day.visits] == ["V001", "V002"]
    assert [a.id for a in day.agents] == ["A01", "A02", "A03"]


def test_crlf_blank_rows_and_spaces_accepted(
    write: Write, example_visits: str, example_agents: str
) -> None:
    """CRLF line ends, blank rows, empty-cell rows and spaces around cells read as usual."""
    lines = example_visits.splitlines()
    visits = "\r\n".join([lines[0], "", lines[1], ",,,,,,,,,,,,,,", lines[2].replace(",", " , ")])
    day = read_day(write("visits.csv", visits + "\r\n"), write("agents.csv", example_agents))
    assert [v.id for v in day.visits] == ["V001", "V002"]
    assert day.visit_rows == {"V001": 3, "V002": 5}


def test_column_order_free_and_optional_columns_default(write: Write) -> None:
    """Columns may come in any order; missing optional columns take their defaults."""
    visits = "kind,duration_min,lon,lat,borrower_id,visit_id\nflexible,20,24.9,60.1,B1,V1\n"
    agents = (
        "shift_end,shift_start,start_lon,start_lat,mode,agent_id\n17:00,8:00,24.9,60.2,Bike,A1\n"
    )
    day = read_day(write("visits.csv", visits), write("agents.csv", agents))
    assert day.visits == (Visit("V1", "B1", Location(60.1, 24.9), 1200, priority=10),)
    assert day.agents == (
        Agent(
            "A1",
            Location(60.2, 24.9),
            Location(60.2, 24.9),
            TimeWindow(_hm(8), _hm(17)),
            TravelMode.BIKE,
        ),
    )
    assert day.crews == ()
    assert day.borrowers == (BorrowerRule("B1", max_visits=1),)
    assert (day.addresses, day.agent_names, day.start_labels) == (
        {"V1": ""},
        {"A1": ""},
        {"A1": ""},
    )


def test_default_max_visits_per_borrower(
    write: Write, example_visits: str, example_agents: str, with_cell: Callable[..., str]
) -> None:
    """An empty borrower_max_visits takes the caller's default; a given one wins."""
    visits = with_cell(example_visits, 3, "borrower_max_visits", "0")
    day = read_day(
        write("visits.csv", visits),
        write("agents.csv", example_agents),
        default_max_visits_per_borrower=3,
    )
    assert [(b.borrower_id, b.max_visits) for b in day.borrowers] == [("B001", 3), ("B002", 0)]


def test_borrower_rows_that_agree(write: Write, example_visits: str, example_agents: str) -> None:
    """Rows of one borrower that give the same cap and hours make one borrower rule."""
    visits = (
        example_visits.replace(",,A03,,\n", ",,A03,2,08:00-20:00\n")
        + "V003,B001,60.17,24.94,,20,flexible,,,,,,,2,08:00-20:00\n"
    )
    day = read_day(write("visits.csv", visits), write("agents.csv", example_agents))
    assert day.borrowers[0] == BorrowerRule("B001", 2, TimeWindow(_hm(8), _hm(20)))
    assert len(day.borrowers) == 2


def test_crew_reference_expands_to_members(
    write: Write, example_visits: str, example_agents: str, with_cell: Callable[..., str]
) -> None:
    """A crew id in allowed_agents/preferred_agents stands for the crew's agents."""
    visits = with_cell(example_visits, 3, "allowed_agents", "C1")
    visits = with_cell(visits, 3, "preferred_agents", "A01; C1")
    day = read_day(write("visits.csv", visits), write("agents.csv", example_agents))
    assert day.visits[1].allowed_agents == {"A02", "A03"}
    assert day.visits[1].preferred_agents == {"A01", "A02", "A03"}


def test_crews_in_file_order(
    write: Write, example_agents: str, example_visits: str, with_cell: Callable[..., str]
) -> None:
    """Agents sharing a crew_id form a crew led by the first listed; crews keep file order."""
    agents = with_cell(example_agents, 2, "crew_id", "C0")
    agents += "A04,Dan,bike,60.16,24.94,,,,08:00,16:00,,,,,C0\n"
    agents += "A05,Eve,bike,60.16,24.94,,,,08:00,16:00,,,,,C1\n"
    day = read_day(write("visits.csv", example_visits), write("agents.csv", agents))
    assert day.crews == (Crew("C0", ("A01", "A04")), Crew("C1", ("A02", "A03", "A05")))


def test_check_in_area_reports_points_outside(example_day: DayInput) -> None:
    """Every visit and agent start or end outside the area is a problem naming its row."""

    def contains(lat: float, lon: float) -> bool:
        return 60.0 <= lat <= 60.3 and 24.5 <= lon <= 25.2

    visit = example_day.visits[1]
    swapped = Visit(visit.id, visit.borrower_id, Location(24.946, 60.1675), visit.duration)
    far = Location(61.5, 23.8)
    agent = example_day.agents[2]
    moved = Agent(agent.id, agent.start, far, agent.shift)
    day = DayInput(
        visits=(example_day.visits[0], swapped),
        agents=(example_day.agents[0], example_day.agents[1], moved),
        crews=example_day.crews,
        borrowers=example_day.borrowers,
        addresses=example_day.addresses,
        agent_names=example_day.agent_names,
        start_labels=example_day.start_labels,
    )
    problems = check_in_area(day, contains, visits_file="v.csv", agents_file="a.csv")
    assert [(p.file, p.row, p.field) for p in problems] == [
        ("v.csv", 3, "lat"),
        ("a.csv", 4, "end_lat"),
    ]
    assert "look swapped" in problems[0].message
    assert "outside the road network" in problems[1].message


def test_check_in_area_all_inside(example_day: DayInput) -> None:
    """No problems when every point is inside."""
    assert check_in_area(example_day, lambda lat, lon: True, visits_file="v", agents_file="a") == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00", 0), ("09:30", 34200), ("9:30", 34200), (" 17:05 ", 61500), ("24:00", 86400)],
)
def test_parse_clock(text: str, seconds: int) -> None:
    """HH:MM (or H:MM) between 00:00 and 24:00 is seconds since midnight."""
    assert parse_clock(text) == seconds


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("25:00", "after 24:00"),
        ("24:01", "after 24:00"),
        ("9h", "not a time of day"),
        ("12:60", "minutes run from 00 to 59"),
        ("09:00:00", "has seconds"),
        ("", "not a time of day"),
        ("-1:00", "not a time of day"),
        ("0930", "not a time of day"),
    ],
)
def test_parse_clock_rejects(text: str, fragment: str) -> None:
    """Anything but HH:MM in 00:00..24:00 is a ValueError saying what to write."""
    with pytest.raises(ValueError, match=fragment) as caught:
        parse_clock(text)
    assert "HH:MM" in str(caught.value)


def test_format_clock_inverts_parse_clock() -> None:
    """format_clock gives HH:MM that parse_clock reads back, for every minute of the day."""
    for minute in range(24 * 60 + 1):
        text = format_clock(minute * 60)
        assert len(text) == 5
        assert parse_clock(text) == minute * 60


@pytest.mark.parametrize("seconds", [-60, 86460, 90])
def test_format_clock_rejects(seconds: int) -> None:
    """Times outside 00:00..24:00 or not whole minutes cannot be written as HH:MM."""
    with pytest.raises(ValueError):
        format_clock(seconds)
