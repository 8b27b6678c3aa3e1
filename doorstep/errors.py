"""Errors a user can fix: bad input files, bad options. Each names what to change."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with an input: where it is and what to do about it.

    `row` is the 1-based line number in the file (the header is line 1), or None for a
    problem with the whole file; `field` is the column name, or None.
    """

    file: str
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"


class InputError(ValueError):
    """Invalid input. Carries every problem found, so a user can fix them all in one go."""

    def __init__(self, problems: list[InputProblem]) -> None:
        self.problems = list(problems)
        super().__init__(self._summary())

    def _summary(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems in the input:"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)
