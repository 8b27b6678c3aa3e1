"""Times as the input files write them: ``HH:MM``, windows ``HH:MM-HH:MM`` and instants.

A file time is local time of the plan day from ``00:00`` to ``24:00``; inside the code it is
seconds since local midnight. An instant (when something happened or was agreed) is an ISO 8601
date-time with its UTC offset, so it means the same moment in every time zone. Every error is a
`ValueError` whose message says what to write.
"""

from __future__ import annotations

import re
from datetime import datetime

from optimizer.model import DAY_SECONDS, TimeWindow

__all__ = [
    "format_clock",
    "format_instant",
    "format_window",
    "parse_clock",
    "parse_instant",
    "parse_window",
]

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})", re.ASCII)
_CLOCK_WITH_SECONDS = re.compile(r"(\d{1,2}:\d{2}):\d{2}", re.ASCII)
_CLOCK_HINT = "use HH:MM between 00:00 and 24:00"
_WINDOW_HINT = "use HH:MM-HH:MM, e.g. 09:00-11:00"
_DATE_ONLY = re.compile(r"\d{4}-?\d{2}-?\d{2}", re.ASCII)
_INSTANT_EXAMPLE = "2026-11-20T15:30+02:00"


def parse_clock(text: str) -> int:
    """Seconds since midnight of a time written ``HH:MM`` (``00:00``..``24:00``).

    A one-digit hour (``9:30``) is accepted; anything else raises `ValueError`.
    """
    value = text.strip()
    match = _CLOCK.fullmatch(value)
    if match is None:
        if seconds := _CLOCK_WITH_SECONDS.fullmatch(value):
            msg = f"{text!r} has seconds; {_CLOCK_HINT}, e.g. {seconds[1]}"
        else:
            msg = f"{text!r} is not a time of day; {_CLOCK_HINT}, e.g. 09:30"
        raise ValueError(msg)
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59:
        msg = f"{text!r} has minute {minutes}, but minutes run from 00 to 59; {_CLOCK_HINT}"
        raise ValueError(msg)
    if hours * 60 + minutes > 24 * 60:
        msg = f"{text!r} is after 24:00; {_CLOCK_HINT}"
        raise ValueError(msg)
    return (hours * 60 + minutes) * 60


def format_clock(seconds: int) -> str:
    """``HH:MM`` of a time of day in seconds since midnight; the inverse of `parse_clock`.

    Raises `ValueError` for a time a file cannot hold: outside 00:00..24:00 or not a whole
    minute. (`optimizer.timefmt.clock` formats any time for display.)
    """
    if not 0 <= seconds <= DAY_SECONDS or seconds % 60:
        msg = f"{seconds} s is not a whole minute between 00:00 and 24:00"
        raise ValueError(msg)
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours:02d}:{minutes:02d}"


def parse_window(text: str) -> TimeWindow:
    """A window written ``HH:MM-HH:MM`` that must not end before it starts."""
    value = text.strip()
    parts = value.split("-")
    if len(parts) != 2:
        dash = " with a plain hyphen '-'" if "\u2013" in value or "\u2014" in value else ""
        msg = f"{text!r} is not a window; {_WINDOW_HINT}{dash}"
        raise ValueError(msg)
    start, end = (parse_clock(part) for part in parts)
    if end < start:
        msg = (
            f"window {value} ends before it starts; write the earlier time first, e.g. "
            f"{parts[1].strip()}-{parts[0].strip()}"
        )
        raise ValueError(msg)
    return TimeWindow(start, end)


def format_window(window: TimeWindow) -> str:
    """``HH:MM-HH:MM``; the inverse of `parse_window`."""
    return f"{format_clock(window.start)}-{format_clock(window.end)}"


def parse_instant(text: str) -> datetime:
    """An aware datetime from ISO 8601 with a UTC offset or ``Z`` (``2026-11-20T15:30+02:00``).

    A date-time without an offset is refused rather than guessed: the same wall-clock time is a
    different moment in every zone, and contact rules count hours between moments.
    """
    value = text.strip()
    if _DATE_ONLY.fullmatch(value):
        msg = (
            f"{text!r} is a date without a time; write the time and UTC offset too, "
            f"e.g. {value}T15:30+02:00"
        )
        raise ValueError(msg)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        reason = str(exc)
        why = "" if reason.startswith("Invalid isoformat") else f" ({reason})"
        msg = (
            f"{text!r} is not an ISO 8601 date-time{why}; write e.g. {_INSTANT_EXAMPLE} "
            "or 2026-11-20T13:30Z"
        )
        raise ValueError(msg) from None
    if moment.utcoffset() is None:
        msg = f"{text!r} has no UTC offset; add it, e.g. {value}+02:00 (UTC+2) or {value}Z (UTC)"
        raise ValueError(msg)
    return moment


def format_instant(moment: datetime) -> str:
    """ISO 8601 with the offset, seconds kept only when not zero; the inverse of
    `parse_instant`. Raises `ValueError` for a naive datetime (it names no moment)."""
    if moment.utcoffset() is None:
        msg = f"{moment} has no time zone; a file instant needs its UTC offset"
        raise ValueError(msg)
    if moment.microsecond:
        text = moment.isoformat()
    else:
        text = moment.isoformat(timespec="seconds" if moment.second else "minutes")
    return text[:-6] + "Z" if text.endswith("+00:00") else text
