"""The batch's progress on the terminal: regions done, visits planned, failures, time left.

Counts only, never a borrower. The bar advances by the visits of each finished region, so
its estimate of the time left weighs a region of 1,500 visits more than one of 50.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

import click


class Progress(Protocol):
    """What the driver reports as it goes."""

    def start(self, *, regions: int, visits: int) -> None: ...

    def update(
        self, *, regions_done: int, visits_done: int, visits_planned: int, failures: int
    ) -> None: ...

    def close(self) -> None: ...


class SilentProgress:
    """No progress display (JSON logs, tests)."""

    def start(self, *, regions: int, visits: int) -> None:
        pass

    def update(
        self, *, regions_done: int, visits_done: int, visits_planned: int, failures: int
    ) -> None:
        pass

    def close(self) -> None:
        pass


class TerminalProgress:
    """A `click.progressbar` on stderr: hidden by click itself when stderr is no terminal."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._regions = 0
        self._shown = 0
        self._label = ""

    def start(self, *, regions: int, visits: int) -> None:
        self._regions = regions
        self._label = self._text(0, 0, 0)
        self._bar = click.progressbar(
            length=max(visits, 1),
            label="planning",
            show_eta=True,
            show_percent=True,
            item_show_func=self._current,
            file=sys.stderr,
            width=24,
        )
        self._bar.__enter__()

    def update(
        self, *, regions_done: int, visits_done: int, visits_planned: int, failures: int
    ) -> None:
        if self._bar is None:
            return
        self._label = self._text(regions_done, visits_planned, failures)
        step = max(visits_done - self._shown, 0)
        self._shown += step
        self._bar.update(step, current_item=self._label)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def _current(self, item: object) -> str:
        return self._label

    def _text(self, regions_done: int, visits_planned: int, failures: int) -> str:
        failed = f", {failures} failed" if failures else ""
        return f"{regions_done}/{self._regions} regions, {visits_planned:,} visits planned{failed}"
