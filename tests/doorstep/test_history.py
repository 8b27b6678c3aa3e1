"""Reading and writing history.csv, the contacts made before the plan (doorstep.history)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from doorstep.errors import InputError, InputProblem
from doorstep.history import (
    CHANNELS,
    HISTORY_COLUMNS,
    REMOTE_OUTCOMES,
    UNKNOWN_OUTCOME,
    VISIT_OUTCOMES,
    HistoryRecord,
    outcomes_for,
    read_history,
    write_history_csv,
)
from optimizer.policy import ATTEMPT_OUTCOMES, ContactEvent
from optimizer.policy import CHANNELS as POLICY_CHANNELS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "input-files.md"
Write = Callable[[str, str | bytes], Path]
WithCell = Callable[[str, int, str, str], str]
EET = timezone(timedelta(hours=2))

HISTORY = """\
event_id,borrower_id,at,channel,outcome,visit_id,agent_id,note
E001,B001,2026-11-18T10:15+02:00,visit,not_home,V0901,A01,
E002,B001,2026-11-18T12:40:00Z,call,answered,,,agreed a new visit
E003,B002,2026-11-19T09:05+02:00,message,delivered,,,
"""
"""The example of docs/input-files.md: a visit attempt (row 2), a call, a message."""


def _problems(write: Write, text: str | bytes) -> list[InputProblem]:
    with pytest.raises(InputError) as caught:
        read_history(write("history.csv", text))
    return caught.value.problems


def _where(problems: list[InputProblem]) -> list[tuple[str, int | None, str | None]]:
    return [(p.file, p.row, p.field) for p in problems]


# --- good files --------------------------------------------------------------------------


def test_docs_example_is_the_tested_one() -> None:
    """The example history.csv of the tests appears verbatim in docs/input-files.md."""
    assert HISTORY in DOCS.read_text(encoding="utf-8")


def test_docs_example_reads(write: Write) -> None:
    """The documented example reads to the three contacts it describes, with their rows."""
    records = read_history(write("history.csv", HISTORY))
    assert records == (
        HistoryRecord(
            "E001",
            "B001",
            datetime(2026, 11, 18, 10, 15, tzinfo=EET),
            "visit",
            "not_home",
            visit_id="V0901",
            agent_id="A01",
        ),
        HistoryRecord(
            "E002",
            "B001",
            datetime(2026, 11, 18, 12, 40, tzinfo=UTC),
            "call",
            "answered",
            note="agreed a new visit",
        ),
        HistoryRecord(
            "E003", "B002", datetime(2026, 11, 19, 9, 5, tzinfo=EET), "message", "delivered"
        ),
    )
    assert [r.row for r in records] == [2, 3, 4]
    assert records[0].at.utcoffset() == timedelta(hours=2)


def test_contact_events(write: Write) -> None:
    """Each record is the policy engine's ContactEvent; a visit not at home is an attempt."""
    events = [r.contact_event for r in read_history(write("history.csv", HISTORY))]
    assert events[0] == ContactEvent(
        "B001", datetime(2026, 11, 18, 8, 15, tzinfo=UTC), "visit", "not_home"
    )
    assert [e.is_attempt for e in events] == [True, False, False]
    assert [e.channel for e in events] == ["visit", "call", "message"]


def test_call_without_outcome(write: Write) -> None:
    """A call or message may leave outcome empty; its event's outcome is then `unknown`."""
    text = HISTORY + "E004,B003,2026-11-19T11:00+02:00,call,,,,\n"
    record = read_history(write("history.csv", text))[-1]
    assert record.outcome == ""
    assert record.contact_event.outcome == UNKNOWN_OUTCOME
    assert not record.contact_event.is_attempt


def test_future_times_accepted(write: Write) -> None:
    """A contact dated in the future (a scheduled or back-dated import) is no error."""
    text = HISTORY + "E004,B003,2999-01-01T09:00Z,call,no_answer,,,\n"
    assert read_history(write("history.csv", text))[-1].at.year == 2999


def test_case_spaces_bom_crlf_and_column_order(write: Write) -> None:
    """Words in any case, spaces around cells, a BOM, CRLF and any column order are accepted."""
    text = (
        "\ufeffoutcome,channel,at,borrower_id,event_id\r\n"
        " Promise_To_Pay , Visit , 2026-11-18T10:15Z ,B1,E1\r\n"
        "\r\n"
        "FAILED,MESSAGE,2026-11-18 10:20+02:00,B1,E2\r\n"
    )
    records = read_history(write("history.csv", text.encode("utf-8")))
    assert [(r.channel, r.outcome, r.row) for r in records] == [
        ("visit", "promise_to_pay", 2),
        ("message", "failed", 4),
    ]
    assert records[1].visit_id == records[1].agent_id == records[1].note == ""


def test_header_only_is_an_empty_history(write: Write) -> None:
    """A file with the header and no rows is a history with no contacts."""
    assert read_history(write("history.csv", ",".join(HISTORY_COLUMNS) + "\n")) == ()


def test_round_trip(write: Write) -> None:
    """Records written by write_history_csv read back equal, odd text and all."""
    records = (
        HistoryRecord(
            "E1",
            "B1",
            datetime(2026, 11, 18, 10, 15, 30, tzinfo=EET),
            "visit",
            "agreement_signed",
            visit_id="V1",
            agent_id="A1",
            note='said "call me", then; left\nsecond line',
        ),
        HistoryRecord("E2", "B2", datetime(2026, 11, 18, 8, 0, tzinfo=UTC), "call", ""),
        HistoryRecord(
            "E3", "B2", datetime(2026, 11, 18, 8, 0, 0, 250000, tzinfo=UTC), "message", "failed"
        ),
    )
    path = write("history.csv", "")
    write_history_csv(records, path)
    assert read_history(path) == records
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(HISTORY_COLUMNS)
    assert lines[3] == "E2,B2,2026-11-18T08:00Z,call,,,,"


def test_docs_example_round_trips(write: Write) -> None:
    """The documented example written back reads equal."""
    records = read_history(write("history.csv", HISTORY))
    path = write("again.csv", "")
    write_history_csv(records, path)
    assert read_history(path) == records


def test_writer_refuses_duplicate_event_ids(write: Write) -> None:
    """Two records with one event_id cannot be written; nothing is written."""
    record = HistoryRecord("E1", "B1", datetime(2026, 11, 18, tzinfo=UTC), "visit", "met")
    path = write("history.csv", "old")
    with pytest.raises(ValueError, match="E1"):
        write_history_csv([record, record], path)
    assert path.read_text(encoding="utf-8") == "old"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"at": datetime(2026, 11, 18, 10, 0)},
        {"channel": "email"},
        {"outcome": "answered"},
        {"outcome": ""},
        {"event_id": ""},
    ],
    ids=["naive-at", "unknown-channel", "call-outcome-for-visit", "visit-without-outcome", "no-id"],
)
def test_record_validates_itself(kwargs: dict[str, object]) -> None:
    """A HistoryRecord the file could not hold is a ValueError."""
    fields: dict[str, object] = {
        "event_id": "E1",
        "borrower_id": "B1",
        "at": datetime(2026, 11, 18, tzinfo=UTC),
        "channel": "visit",
        "outcome": "met",
    }
    with pytest.raises(ValueError):
        HistoryRecord(**(fields | kwargs))  # type: ignore[arg-type]


def test_vocabulary_matches_the_policy_engine() -> None:
    """Channels are the policy's; its attempt outcomes are visit outcomes; remote add to them."""
    assert set(CHANNELS) == POLICY_CHANNELS
    assert ATTEMPT_OUTCOMES <= set(VISIT_OUTCOMES)
    assert outcomes_for("visit") == VISIT_OUTCOMES
    assert set(outcomes_for("call")) == set(REMOTE_OUTCOMES) | set(VISIT_OUTCOMES)
    assert all(re.fullmatch(r"[a-z_]+", o) for o in REMOTE_OUTCOMES + VISIT_OUTCOMES)


# --- bad files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "value", "fragment"),
    [
        (2, "event_id", "", "event_id is empty; give every contact a unique id"),
        (3, "borrower_id", "", "borrower_id is empty"),
        (2, "at", "", "at is empty; give the date-time with its UTC offset"),
        (2, "at", "2026-11-18T10:15", "has no UTC offset; add it, e.g. 2026-11-18T10:15+02:00"),
        (2, "at", "2026-11-18", "is a date without a time"),
        (2, "at", "18.11.2026 10:15", "is not an ISO 8601 date-time"),
        (2, "at", "2026-11-31T10:15Z", "day is out of range for month"),
        (2, "channel", "", "channel is empty; use visit, call or message"),
        (2, "channel", "email", "unknown channel 'email'; use visit, call or message"),
        (2, "outcome", "", "outcome is empty; use met, not_home, refused, wrong_address"),
        (2, "outcome", "answered", "unknown outcome 'answered' for a visit; use met, not_home"),
        (3, "outcome", "busy", "unknown outcome 'busy' for a call; use answered, no_answer"),
        (4, "outcome", "read", "for a message; use answered, no_answer, delivered, failed, met"),
    ],
)
def test_bad_cell(
    write: Write, with_cell: WithCell, row: int, column: str, value: str, fragment: str
) -> None:
    """A bad cell is exactly one problem at its row and column, saying what to write."""
    problems = _problems(write, with_cell(HISTORY, row, column, value))
    assert _where(problems) == [("history.csv", row, column)]
    assert fragment in problems[0].message


def test_bad_channel_still_checks_outcome(write: Write, with_cell: WithCell) -> None:
    """With an unknown channel, an outcome no channel has is reported too."""
    text = with_cell(with_cell(HISTORY, 3, "channel", "fax"), 3, "outcome", "busy")
    problems = _problems(write, text)
    assert _where(problems) == [("history.csv", 3, "channel"), ("history.csv", 3, "outcome")]
    assert "unknown outcome 'busy'; use answered" in problems[1].message


def test_duplicate_event_ids(write: Write) -> None:
    """An event_id used again is a problem at each later row, naming the first row."""
    lines = HISTORY.splitlines()
    text = "\n".join([*lines, lines[1], lines[2].replace("E002", "E001")]) + "\n"
    problems = _problems(write, text)
    assert _where(problems) == [("history.csv", 5, "event_id"), ("history.csv", 6, "event_id")]
    assert all("already used in row 2" in p.message for p in problems)


def test_unknown_and_missing_columns(write: Write) -> None:
    """Unknown columns (with the closest name) and missing required ones are header problems."""
    text = HISTORY.replace("outcome", "outcom", 1).replace(",note", ",notes", 1)
    text = text.replace("event_id,borrower_id,at", "event_id,borrower,at", 1)
    problems = _problems(write, text)
    assert _where(problems) == [
        ("history.csv", 1, "borrower"),
        ("history.csv", 1, "outcom"),
        ("history.csv", 1, "notes"),
        ("history.csv", 1, "borrower_id"),
        ("history.csv", 1, "outcome"),
    ]
    assert "did you mean 'borrower_id'?" in problems[0].message
    assert "did you mean 'note'?" in problems[2].message
    assert "required column 'outcome' is missing" in problems[4].message


def test_every_problem_at_once(write: Write, with_cell: WithCell) -> None:
    """Every bad row, and several problems in one row, come in one error in row order."""
    text = with_cell(HISTORY, 4, "at", "yesterday")
    text = with_cell(text, 2, "channel", "sms")
    text = with_cell(text, 2, "borrower_id", "")
    text += "E001,B9,2026-11-19T09:05Z,visit,met,,,\n"
    with pytest.raises(InputError) as caught:
        read_history(write("history.csv", text))
    assert _where(caught.value.problems) == [
        ("history.csv", 2, "borrower_id"),
        ("history.csv", 2, "channel"),
        ("history.csv", 4, "at"),
        ("history.csv", 5, "event_id"),
    ]
    assert str(caught.value).startswith("4 problems in the input:\n  history.csv, row 2")


@pytest.mark.parametrize(
    ("content", "where", "fragment"),
    [
        ("", ("history.csv", None, None), "is empty"),
        ("event_id;borrower_id;at\nE1;B1;x\n", ("history.csv", 1, None), "';'-separated"),
        (HISTORY.encode("utf-16"), ("history.csv", None, None), "save it as UTF-8"),
        (HISTORY.replace("delivered", '"delivered'), ("history.csv", 4, None), "quote"),
        (HISTORY.replace("note\n", "note,\n"), ("history.csv", 1, None), "has no name"),
    ],
    ids=["empty", "semicolons", "utf16", "open-quote", "trailing-comma"],
)
def test_bad_file(
    write: Write, content: str | bytes, where: tuple[str, int | None, None], fragment: str
) -> None:
    """A file that cannot be read as a whole is one problem saying what to do."""
    problems = _problems(write, content)
    assert _where(problems)[0] == where
    assert fragment in problems[0].message


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is one problem naming the path."""
    with pytest.raises(InputError) as caught:
        read_history(tmp_path / "history.csv")
    assert _where(caught.value.problems) == [("history.csv", None, None)]
    assert "not found" in caught.value.problems[0].message
