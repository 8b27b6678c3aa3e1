"""Read and write history.csv: contacts with borrowers made outside this plan (docs/input-files.md).

The history holds past visits and the calls and messages other systems made; contact policies
count them against a borrower's limits (`optimizer.policy`). `read_history` validates the file
completely and raises one `InputError` listing every problem with its file, row (the header is
row 1) and field; `write_history_csv` writes the canonical form, which reads back equal. A time
in the future is accepted: imports may be back-dated or carry scheduled contacts. Nothing here
logs file contents: they hold borrower data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from doorstep.csvtable import Cells, FileSpec, Table, in_row_order, one_of, read_table, write_rows
from doorstep.errors import InputError, InputProblem
from doorstep.timeparse import format_instant
from optimizer.policy import ContactEvent

__all__ = [
    "CHANNELS",
    "HISTORY_COLUMNS",
    "REMOTE_OUTCOMES",
    "UNKNOWN_OUTCOME",
    "VISIT_OUTCOMES",
    "HistoryRecord",
    "outcomes_for",
    "read_history",
    "write_history_csv",
]

HISTORY_COLUMNS: tuple[str, ...] = (
    "event_id",
    "borrower_id",
    "at",
    "channel",
    "outcome",
    "visit_id",
    "agent_id",
    "note",
)
"""The columns of history.csv, in the order the writer puts them."""

CHANNELS: tuple[str, ...] = ("visit", "call", "message")
"""How the borrower was contacted, in the order messages list them (`optimizer.policy.CHANNELS`
as a sequence)."""

VISIT_OUTCOMES: tuple[str, ...] = (
    "met",
    "not_home",
    "refused",
    "wrong_address",
    "promise_to_pay",
    "agreement_signed",
)
"""What a home visit can end in (not_home and wrong_address are attempts: nobody was met)."""

REMOTE_OUTCOMES: tuple[str, ...] = ("answered", "no_answer", "delivered", "failed")
"""What a call or message can end in, besides the visit outcomes (a call can end in a promise
to pay too)."""

UNKNOWN_OUTCOME = "unknown"
"""The contact event's outcome for a call or message recorded without one."""

_SPEC = FileSpec(
    "contact",
    "event_id",
    HISTORY_COLUMNS,
    frozenset({"event_id", "borrower_id", "at", "channel", "outcome"}),
    allow_no_rows=True,  # no contacts yet is a valid history
)


def outcomes_for(channel: str) -> tuple[str, ...]:
    """The outcomes a contact of `channel` may have."""
    if channel == "visit":
        return VISIT_OUTCOMES
    return REMOTE_OUTCOMES + VISIT_OUTCOMES


@dataclass(frozen=True)
class HistoryRecord:
    """One row of history.csv: a contact with a borrower.

    `at` is an aware datetime; `outcome` is one of `outcomes_for(channel)`, or "" for a call
    or message recorded without one. `visit_id`, `agent_id` and `note` are "" when not known.
    `row` is the record's row in its file (header = row 1; 0 when not read from a file) and
    takes no part in equality.
    """

    event_id: str
    borrower_id: str
    at: datetime
    channel: str
    outcome: str
    visit_id: str = ""
    agent_id: str = ""
    note: str = ""
    row: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        for name in ("event_id", "borrower_id"):
            if not getattr(self, name):
                msg = f"contact {self.event_id!r}: {name} must not be empty"
                raise ValueError(msg)
        if self.at.utcoffset() is None:
            msg = f"contact {self.event_id}: at {self.at} needs a time zone"
            raise ValueError(msg)
        if self.channel not in CHANNELS:
            msg = f"contact {self.event_id}: channel {self.channel!r} is not {one_of(CHANNELS)}"
            raise ValueError(msg)
        if not self.outcome and self.channel != "visit":
            return  # a call or message recorded without its outcome
        if self.outcome not in outcomes_for(self.channel):
            msg = (
                f"contact {self.event_id}: outcome {self.outcome!r} is not one of: "
                f"{', '.join(outcomes_for(self.channel))}"
            )
            raise ValueError(msg)

    @property
    def contact_event(self) -> ContactEvent:
        """The record as the policy engine counts it."""
        outcome = self.outcome or UNKNOWN_OUTCOME
        return ContactEvent(self.borrower_id, self.at, self.channel, outcome)


def read_history(path: Path) -> tuple[HistoryRecord, ...]:
    """Read and validate history.csv; the records in file order.

    A file with a header and no rows is an empty history.

    Raises
    ------
    InputError
        With every problem of the file, in row order, each naming the file by its file name.
    """
    problems: list[InputProblem] = []
    table = read_table(Path(path), _SPEC, problems)
    records = _parse(table, problems) if table else []
    if problems:
        raise InputError(in_row_order(problems))
    return tuple(records)


def _parse(table: Table, problems: list[InputProblem]) -> list[HistoryRecord]:
    records: list[HistoryRecord] = []
    first_row: dict[str, int] = {}
    for row in table.rows:
        c = Cells(table.file, row, problems)
        event_id = c.required("event_id", "give every contact a unique id")
        if event_id is not None:
            if event_id in first_row:
                message = (
                    f"event_id {event_id!r} is already used in row {first_row[event_id]}; "
                    "give every contact its own id (or remove the repeated row)"
                )
                c.problem("event_id", message)
            else:
                first_row[event_id] = row.number
        borrower_id = c.required("borrower_id", "name the borrower contacted")
        at = c.instant("at")
        channel = c.word("channel", CHANNELS)
        outcome = _outcome(c, channel)
        if not c.ok:
            continue
        assert event_id and borrower_id and at is not None and channel is not None
        records.append(
            HistoryRecord(
                event_id=event_id,
                borrower_id=borrower_id,
                at=at,
                channel=channel,
                outcome=outcome or "",
                visit_id=c.text("visit_id"),
                agent_id=c.text("agent_id"),
                note=c.text("note"),
                row=row.number,
            )
        )
    return records


def _outcome(c: Cells, channel: str | None) -> str | None:
    """The outcome, checked against the channel's outcomes (all of them if it is unknown)."""
    if channel == "visit":
        return c.word("outcome", VISIT_OUTCOMES, what=" for a visit")
    allowed = REMOTE_OUTCOMES + VISIT_OUTCOMES
    what = f" for a {channel}" if channel else ""
    return c.word("outcome", allowed, required=False, what=what)


def write_history_csv(records: Iterable[HistoryRecord], path: Path) -> None:
    """Write history.csv in canonical form: every column, file order kept, UTF-8, no BOM.

    Raises `ValueError`, writing nothing, for two records with one event_id.
    """
    lines: list[Sequence[str]] = [HISTORY_COLUMNS]
    seen: set[str] = set()
    for record in records:
        if record.event_id in seen:
            msg = f"event_id {record.event_id!r} appears twice; a history names each contact once"
            raise ValueError(msg)
        seen.add(record.event_id)
        lines.append(
            (
                record.event_id,
                record.borrower_id,
                format_instant(record.at),
                record.channel,
                record.outcome,
                record.visit_id,
                record.agent_id,
                record.note,
            )
        )
    write_rows(Path(path), lines)
