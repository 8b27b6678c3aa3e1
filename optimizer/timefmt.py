"""Times of day as people read them, for reason sentences ("09:00–11:00")."""

from __future__ import annotations

from optimizer.model import DAY_SECONDS, TimeWindow


def clock(seconds: int) -> str:
    """Seconds since midnight as HH:MM (past midnight shows as 24:30 and so on)."""
    minutes = seconds // 60
    text = f"{minutes // 60:02d}:{minutes % 60:02d}"
    return text if seconds <= 2 * DAY_SECONDS else f"{text} (+{seconds // DAY_SECONDS}d)"


def span(window: TimeWindow) -> str:
    """A window as HH:MM–HH:MM."""
    return f"{clock(window.start)}–{clock(window.end)}"
