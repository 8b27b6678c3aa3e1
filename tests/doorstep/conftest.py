"""Fixtures for the doorstep tests: the documented example input files and helpers to vary them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from doorstep.csvio import read_day
from doorstep.errors import InputError

# Copied verbatim from docs/input-files.md (test_csvio checks that they still match).
EXAMPLE_VISITS = """\
visit_id,borrower_id,lat,lon,address,duration_min,kind,windows,priority,skills,crew_size,allowed_agents,preferred_agents,borrower_max_visits,borrower_hours
V001,B001,60.1699,24.9384,Aleksanterinkatu 52,30,appointment,09:00-10:00;14:00-15:00,50,lang:sv,1,,A03,,
V002,B002,60.1675,24.9460,Erottajankatu 9,45,flexible,,20,senior,2,,,,08:00-20:00
"""  # noqa: E501

EXAMPLE_AGENTS = """\
agent_id,name,mode,start_lat,start_lon,start_label,end_lat,end_lon,shift_start,shift_end,breaks,skills,max_visits,max_working_min,crew_id
A01,Aino,drive,60.1686,24.9312,office Kamppi,,,08:00,17:00,11:30-13:30/30,lang:fi;lang:sv;senior,12,,
A02,Ben,walk,60.1641,24.9402,home,,,09:00,18:00,12:00-14:00/30,lang:en;senior,,480,C1
A03,Chen,walk,60.1651,24.9422,home,,,09:00,18:00,,lang:zh,,,C1
"""  # noqa: E501

Where = tuple[str, int | None, str | None]
"""Where a problem is: (file, row, field)."""


def _with_cell(text: str, row: int, column: str, value: str) -> str:
    records = list(csv.reader(io.StringIO(text)))
    records[row - 1][records[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(records)
    return out.getvalue()


@pytest.fixture
def example_visits() -> str:
    """visits.csv of docs/input-files.md: an appointment (row 2) and a flexible pair visit."""
    return EXAMPLE_VISITS


@pytest.fixture
def example_visits_all_columns() -> str:
    """`example_visits` with the optional agreed_at and borrower_flags columns added, empty."""
    lines = EXAMPLE_VISITS.splitlines()
    rows = [lines[0] + ",agreed_at,borrower_flags"] + [line + ",," for line in lines[1:]]
    return "\n".join(rows) + "\n"


@pytest.fixture
def example_agents() -> str:
    """agents.csv of docs/input-files.md: A01 alone (row 2), crew C1 of A02 and A03."""
    return EXAMPLE_AGENTS


@pytest.fixture
def with_cell() -> Callable[[str, int, str, str], str]:
    """`with_cell(text, row, column, value)`: the CSV text with one cell replaced (header: 1)."""
    return _with_cell


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write text (UTF-8) or bytes to a file of that name in a fresh folder; return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return _write


@pytest.fixture
def problems_of(
    write: Callable[[str, str | bytes], Path],
) -> Callable[..., list[Where]]:
    """Read a visits.csv/agents.csv pair (the examples unless given); return where each problem is.

    Fails the test when the pair reads without an InputError.
    """

    def _problems_of(
        visits: str | bytes = EXAMPLE_VISITS, agents: str | bytes = EXAMPLE_AGENTS
    ) -> list[Where]:
        with pytest.raises(InputError) as caught:
            read_day(write("visits.csv", visits), write("agents.csv", agents))
        return [(p.file, p.row, p.field) for p in caught.value.problems]

    return _problems_of
