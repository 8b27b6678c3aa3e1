"""Tiny hand-checkable problems on a straight road.

Every point sits at a position `x` (metres) on one line; driving takes 1 s per metre, biking
2 s, walking 4 s, so expected times can be worked out by hand. Times of day are given in
minutes for readability and turned into seconds here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from optimizer import (
    UNREACHABLE,
    Agent,
    BorrowerRule,
    Break,
    Crew,
    Location,
    Problem,
    TimeWindow,
    TravelMatrix,
    TravelMode,
    Visit,
    VisitKind,
)

SECONDS_PER_METRE = {TravelMode.DRIVE: 1, TravelMode.BIKE: 2, TravelMode.WALK: 4}
H = 3600
M = 60


def at(x: float) -> Location:
    """A location whose longitude encodes the position on the line (1e-5 degrees a metre)."""
    return Location(lat=60.0, lon=20.0 + x * 1e-5)


def x_of(location: Location) -> float:
    return round((location.lon - 20.0) / 1e-5, 3)


def window(start_min: int, end_min: int) -> TimeWindow:
    return TimeWindow(start_min * M, end_min * M)


def visit(
    vid: str,
    x: float,
    *,
    minutes: int = 30,
    windows: Sequence[tuple[int, int]] = (),
    appointment: bool = False,
    borrower: str | None = None,
    **kwargs: object,
) -> Visit:
    """A visit at position x; windows in minutes since midnight."""
    return Visit(
        id=vid,
        borrower_id=borrower or f"B-{vid}",
        location=at(x),
        duration=minutes * M,
        windows=tuple(window(a, b) for a, b in windows),
        kind=VisitKind.APPOINTMENT if appointment else VisitKind.FLEXIBLE,
        **kwargs,  # type: ignore[arg-type]
    )


def agent(
    aid: str,
    x: float = 0.0,
    *,
    end_x: float | None = None,
    shift: tuple[int, int] = (8 * 60, 17 * 60),
    mode: TravelMode = TravelMode.DRIVE,
    breaks: Sequence[tuple[int, int, int]] = (),
    **kwargs: object,
) -> Agent:
    """An agent starting at x; breaks as (window start min, window end min, duration min)."""
    return Agent(
        id=aid,
        start=at(x),
        end=at(x if end_x is None else end_x),
        shift=window(*shift),
        mode=mode,
        breaks=tuple(Break(window(a, b), d * M) for a, b, d in breaks),
        **kwargs,  # type: ignore[arg-type]
    )


@dataclass
class Day:
    """Builder for a one-line Problem; `unreachable` lists visit ids cut off from the road."""

    visits: list[Visit]
    agents: list[Agent]
    crews: list[Crew] = field(default_factory=list)
    borrowers: list[BorrowerRule] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)

    def problem(self) -> Problem:
        locations = [v.location for v in self.visits]
        for a in self.agents:
            locations += [a.start, a.end]
        xs = np.array([x_of(loc) for loc in locations])
        metres = np.abs(xs[:, None] - xs[None, :]).round().astype(np.int64)
        cut = [i for i, v in enumerate(self.visits) if v.id in self.unreachable]
        matrices = {}
        for mode, factor in SECONDS_PER_METRE.items():
            durations = metres * factor
            distances = metres.copy()
            for i in cut:
                for m in (durations, distances):
                    m[i, :] = UNREACHABLE
                    m[:, i] = UNREACHABLE
                    m[i, i] = 0
            matrices[mode] = TravelMatrix(durations, distances)
        return Problem(
            visits=tuple(self.visits),
            agents=tuple(self.agents),
            matrices=matrices,
            crews=tuple(self.crews),
            borrowers=tuple(self.borrowers),
            day=date(2026, 11, 24),
            timezone="Europe/Helsinki",
        )
