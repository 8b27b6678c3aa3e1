"""Contact policies: what a borrower may still receive on the plan day, and why.

A `Policy` is data (presets are TOML files under `data/policies/`); `stack` combines layers
(jurisdiction + lender + borrower preferences) so that the strictest rule wins field by field;
`allowance` evaluates a policy on a borrower's contact history for one plan day and
`to_borrower_rule` hands the result to the routing core.

Conventions, stated once:

- All date logic is in the region's time zone (zoneinfo). A contact belongs to the local
  calendar day on which it happened there, whatever its UTC date.
- Times of day are wall-clock seconds since local midnight of the plan day (08:00 is 28 800 s,
  also on a day with a DST change).
- A rolling cap of `days` = N counts the N calendar days that end with the plan day (the plan
  day and the N - 1 days before it): "at most one visit per 7 days" lets visits fall a week
  apart, Tuesday to Tuesday, and never closer.
- Calendar caps count the ISO week (Monday to Sunday) and the calendar month of the plan day.
- An *attempt* is a visit where nobody was met (`not_home`, `wrong_address`). One predicate
  decides which events count, for every cap and for the daily maximum: visits always, attempts
  when `count_attempts`, calls and messages when `count_other_channels`. The minimum gap looks
  at visits only (attempts included when `count_attempts`).
- Stacking keeps one `count_attempts` for the whole stack (true if any layer counts attempts);
  a layer that ignores attempts for one cap only (Massachusetts) therefore becomes stricter, never
  looser, when stacked.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from optimizer.model import DAY_SECONDS, BorrowerRule, TimeWindow

CHANNELS = frozenset({"visit", "call", "message"})
ATTEMPT_OUTCOMES = frozenset({"not_home", "wrong_address"})
"""Visit outcomes where nobody was met."""
PLANNED = "planned"
"""Outcome of a visit not made yet but planned (in another region's plan): it counts as a
visit, and reasons say it is planned."""
DAY_TYPES = ("weekday", "saturday", "sunday", "holiday")

ALL_DAY = TimeWindow(0, DAY_SECONDS)
UNCAPPED = 1000
"""`Allowance.max_visits` when no rule caps the number of visits today."""


@dataclass(frozen=True, order=True)
class RollingCap:
    """At most `max_contacts` counted contacts in the last `days` days (see module docstring)."""

    days: int
    max_contacts: int

    def __post_init__(self) -> None:
        if self.days < 1:
            msg = f"rolling cap days {self.days} must be at least 1"
            raise ValueError(msg)
        if self.max_contacts < 0:
            msg = f"rolling cap max {self.max_contacts} must be >= 0"
            raise ValueError(msg)


@dataclass(frozen=True)
class Policy:
    """One contact policy (or a stack of them).

    Hours are per day type, wall-clock seconds since local midnight; None means no visits on
    that day type. `None` caps mean "no cap". Gaps and notice are in hours.
    """

    name: str
    version: str
    weekday: TimeWindow | None = ALL_DAY
    saturday: TimeWindow | None = ALL_DAY
    sunday: TimeWindow | None = ALL_DAY
    holiday: TimeWindow | None = ALL_DAY
    max_per_day: int | None = None
    rolling_caps: tuple[RollingCap, ...] = ()
    max_per_week: int | None = None
    max_per_month: int | None = None
    count_attempts: bool = True
    count_other_channels: bool = False
    min_gap_hours: float = 0.0
    min_notice_hours: float = 0.0
    min_crew: int = 1
    blocking_flags: frozenset[str] = frozenset()
    blackout_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("policy name must not be empty")
        if not self.version:
            msg = f"policy {self.name}: version must not be empty"
            raise ValueError(msg)
        for day_type in DAY_TYPES:
            window = getattr(self, day_type)
            if window is not None and window.end > DAY_SECONDS:
                msg = f"policy {self.name}: {day_type} hours {window} end after 24:00"
                raise ValueError(msg)
        for cap_name in ("max_per_day", "max_per_week", "max_per_month"):
            cap = getattr(self, cap_name)
            if cap is not None and cap < 0:
                msg = f"policy {self.name}: {cap_name} {cap} must be >= 0"
                raise ValueError(msg)
        for num_name in ("min_gap_hours", "min_notice_hours"):
            value = getattr(self, num_name)
            if value < 0:
                msg = f"policy {self.name}: {num_name} {value} must be >= 0"
                raise ValueError(msg)
        if self.min_crew < 1:
            msg = f"policy {self.name}: min_crew {self.min_crew} must be at least 1"
            raise ValueError(msg)
        caps = tuple(sorted(self.rolling_caps))
        if len({c.days for c in caps}) != len(caps):
            msg = f"policy {self.name}: rolling_caps lists the same number of days twice"
            raise ValueError(msg)
        object.__setattr__(self, "rolling_caps", caps)
        object.__setattr__(self, "blocking_flags", frozenset(self.blocking_flags))
        object.__setattr__(self, "blackout_dates", frozenset(self.blackout_dates))

    @property
    def label(self) -> str:
        """Which rules these are, as stored with each planned stop: "cn@2026.1", or for a
        stack the layers' labels joined by "+" ("cn@2026.1+acme@3")."""
        return self.version if "+" in self.name else f"{self.name}@{self.version}"

    def hours_for(self, day: date, holidays: Iterable[date] = ()) -> TimeWindow | None:
        """The visiting hours of `day`: holiday hours if it is a holiday, else by weekday."""
        if day in frozenset(holidays):
            return self.holiday
        return {5: self.saturday, 6: self.sunday}.get(day.weekday(), self.weekday)


@dataclass(frozen=True)
class ContactEvent:
    """One recorded contact with a borrower: a visit outcome or an imported call/message."""

    borrower_id: str
    at: datetime
    channel: str = "visit"
    outcome: str = "met"

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            msg = f"contact with {self.borrower_id}: at {self.at} needs a time zone"
            raise ValueError(msg)
        if self.channel not in CHANNELS:
            known = ", ".join(sorted(CHANNELS))
            msg = f"contact with {self.borrower_id}: channel {self.channel!r} is not one of {known}"
            raise ValueError(msg)
        if not self.outcome:
            msg = f"contact with {self.borrower_id}: outcome must not be empty"
            raise ValueError(msg)

    @property
    def is_attempt(self) -> bool:
        """A visit where nobody was met."""
        return self.channel == "visit" and self.outcome in ATTEMPT_OUTCOMES


@dataclass(frozen=True)
class Allowance:
    """What one borrower may still receive on the plan day under one policy.

    `max_visits` is 0 when no visit is allowed; `hours` are wall-clock seconds since local
    midnight (a visit must start and end inside them; None = none today); `earliest_start`
    (seconds) is set when the minimum gap since the last visit ends inside the day. `reason`
    explains a block (or the earliest start), naming the policy, the rule and the date of the
    contact that caused it.
    """

    borrower_id: str
    max_visits: int
    hours: TimeWindow | None
    earliest_start: int | None = None
    reason: str = ""
    policy_version: str = ""
    min_crew: int = 1


# --- loading ---------------------------------------------------------------------------------

_KEYS = {
    "name",
    "version",
    "hours",
    "max_per_day",
    "rolling",
    "max_per_week",
    "max_per_month",
    "count_attempts",
    "count_other_channels",
    "min_gap_hours",
    "min_notice_hours",
    "min_crew",
    "blocking_flags",
    "blackout_dates",
}


def load_policy(source: Path | str) -> Policy:
    """A policy from TOML: a `Path` is read as a file, a `str` is the TOML text itself.

    Raises ValueError naming the field for a missing, unknown or bad value.
    """
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"policy TOML does not parse: {exc}"
        raise ValueError(msg) from exc
    return _policy_from_mapping(data)


def preset(name: str, folder: Path) -> Policy:
    """The preset `folder / f"{name}.toml"`; ValueError listing the presets when unknown."""
    path = Path(folder) / f"{name}.toml"
    if not path.is_file():
        available = sorted(p.stem for p in Path(folder).glob("*.toml"))
        msg = f"unknown policy preset {name!r}; available: {', '.join(available) or 'none'}"
        raise ValueError(msg)
    return load_policy(path)


def _policy_from_mapping(data: Mapping[str, Any]) -> Policy:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        msg = f"policy: unknown field(s) {', '.join(unknown)}"
        raise ValueError(msg)
    for required in ("name", "version"):
        if not isinstance(data.get(required), str):
            msg = f"policy: field {required} must be a string"
            raise ValueError(msg)
    name = data["name"]
    kwargs: dict[str, Any] = {"name": name, "version": data["version"]}
    hours = data.get("hours", {})
    if not isinstance(hours, dict):
        msg = f"policy {name}: field hours must be a table"
        raise ValueError(msg)
    for key in sorted(set(hours) - set(DAY_TYPES)):
        msg = f"policy {name}: unknown day type hours.{key}"
        raise ValueError(msg)
    for day_type in DAY_TYPES:
        if day_type in hours:
            kwargs[day_type] = _parse_hours(name, f"hours.{day_type}", hours[day_type])
    for key in ("max_per_day", "max_per_week", "max_per_month", "min_crew"):
        if key in data:
            kwargs[key] = _int(name, key, data[key])
    for key in ("min_gap_hours", "min_notice_hours"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                msg = f"policy {name}: field {key} must be a number of hours, got {value!r}"
                raise ValueError(msg)
            kwargs[key] = float(value)
    for key in ("count_attempts", "count_other_channels"):
        if key in data:
            if not isinstance(data[key], bool):
                msg = f"policy {name}: field {key} must be true or false, got {data[key]!r}"
                raise ValueError(msg)
            kwargs[key] = data[key]
    if "rolling" in data:
        kwargs["rolling_caps"] = tuple(_parse_rolling(name, data["rolling"]))
    if "blocking_flags" in data:
        flags = data["blocking_flags"]
        if not isinstance(flags, list) or not all(isinstance(f, str) and f for f in flags):
            msg = f"policy {name}: field blocking_flags must be a list of names"
            raise ValueError(msg)
        kwargs["blocking_flags"] = frozenset(flags)
    if "blackout_dates" in data:
        dates = data["blackout_dates"]
        if not isinstance(dates, list) or not all(
            isinstance(d, date) and not isinstance(d, datetime) for d in dates
        ):
            msg = f"policy {name}: field blackout_dates must be a list of dates (2026-12-25)"
            raise ValueError(msg)
        kwargs["blackout_dates"] = frozenset(dates)
    return Policy(**kwargs)


def _int(name: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"policy {name}: field {key} must be an integer, got {value!r}"
        raise ValueError(msg)
    return value


def _parse_hours(name: str, key: str, value: object) -> TimeWindow | None:
    """`"08:00-22:00"` (24:00 allowed as an end) or `"closed"`."""
    if value == "closed":
        return None
    if isinstance(value, str) and value.count("-") == 1:
        start_text, end_text = value.split("-")
        start, end = _clock(start_text), _clock(end_text)
        if start is not None and end is not None and start < end:
            return TimeWindow(start, end)
    msg = f'policy {name}: field {key} must be "HH:MM-HH:MM" or "closed", got {value!r}'
    raise ValueError(msg)


def _clock(text: str) -> int | None:
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        return None
    hours, minutes = int(parts[0]), int(parts[1])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 3600 + minutes * 60


def _parse_rolling(name: str, value: object) -> list[RollingCap]:
    if not isinstance(value, list):
        msg = f"policy {name}: field rolling must be a list of {{days, max}} tables"
        raise ValueError(msg)
    caps = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"days", "max"}:
            msg = f"policy {name}: each rolling entry needs exactly days and max, got {item!r}"
            raise ValueError(msg)
        days = _int(name, "rolling.days", item["days"])
        most = _int(name, "rolling.max", item["max"])
        try:
            caps.append(RollingCap(days, most))
        except ValueError as exc:
            msg = f"policy {name}: field rolling: {exc}"
            raise ValueError(msg) from exc
    return caps


# --- stacking --------------------------------------------------------------------------------


def stack(*policies: Policy) -> Policy:
    """Combine layers so the strictest rule wins field by field.

    Hours intersect (no visits if any layer has none), caps take the minimum, gaps, notice and
    crew the maximum, flags and blackout dates the union; attempts and other channels count if
    any layer counts them. The name joins the layers' names with "+", the version joins
    "name@version" of each layer with "+".
    """
    if not policies:
        raise ValueError("stack needs at least one policy")
    if len(policies) == 1:
        return policies[0]
    hours: dict[str, TimeWindow | None] = {}
    for day_type in DAY_TYPES:
        window: TimeWindow | None = ALL_DAY
        for p in policies:
            layer = getattr(p, day_type)
            window = window.intersect(layer) if window is not None and layer is not None else None
        hours[day_type] = window
    rolling: dict[int, int] = {}
    for p in policies:
        for cap in p.rolling_caps:
            rolling[cap.days] = min(rolling.get(cap.days, cap.max_contacts), cap.max_contacts)
    return Policy(
        name="+".join(p.name for p in policies),
        version="+".join(f"{p.name}@{p.version}" for p in policies),
        **hours,
        max_per_day=_min_cap(p.max_per_day for p in policies),
        rolling_caps=tuple(RollingCap(d, m) for d, m in rolling.items()),
        max_per_week=_min_cap(p.max_per_week for p in policies),
        max_per_month=_min_cap(p.max_per_month for p in policies),
        count_attempts=any(p.count_attempts for p in policies),
        count_other_channels=any(p.count_other_channels for p in policies),
        min_gap_hours=max(p.min_gap_hours for p in policies),
        min_notice_hours=max(p.min_notice_hours for p in policies),
        min_crew=max(p.min_crew for p in policies),
        blocking_flags=frozenset().union(*(p.blocking_flags for p in policies)),
        blackout_dates=frozenset().union(*(p.blackout_dates for p in policies)),
    )


def _min_cap(caps: Iterable[int | None]) -> int | None:
    given = [c for c in caps if c is not None]
    return min(given) if given else None


# --- evaluation ------------------------------------------------------------------------------


@dataclass
class _Cap:
    remaining: int
    reason: str = field(default="")


def allowance(
    policy: Policy,
    borrower_id: str,
    history: Sequence[ContactEvent],
    day: date,
    timezone: str,
    *,
    flags: frozenset[str] = frozenset(),
    holidays: frozenset[date] = frozenset(),
) -> Allowance:
    """What `borrower_id` may still receive on `day` (local to `timezone`) under `policy`.

    `history` may hold other borrowers' contacts; only this borrower's count. `flags` are the
    borrower's or case's flags, `holidays` the region's public holidays.
    """
    tz = ZoneInfo(timezone)
    events = [e for e in history if e.borrower_id == borrower_id]
    hours = policy.hours_for(day, holidays)

    def blocked(reason: str) -> Allowance:
        return Allowance(borrower_id, 0, hours, None, reason, policy.version, policy.min_crew)

    hit = sorted(flags & policy.blocking_flags)
    if hit:
        return blocked(
            f"{borrower_id} is flagged {', '.join(hit)}; policy {policy.name} "
            f"blocks visits to such borrowers"
        )
    if day in policy.blackout_dates:
        return blocked(f"{day.isoformat()} is a blackout date in policy {policy.name}")
    if hours is None:
        kind = _day_type(day, holidays) + "s"
        return blocked(
            f"{day.isoformat()} is a {_day_type(day, holidays)}; policy {policy.name} "
            f"allows no visits on {kind}"
        )

    counted = [e for e in events if _counts(policy, e)]
    local = [(e.at.astimezone(tz).date(), e) for e in counted]
    caps: list[_Cap] = []
    if policy.max_per_day is not None:
        today = [(d, e) for d, e in local if d == day]
        caps.append(_cap(policy.max_per_day, today, f"allows {_visits(policy.max_per_day)} a day"))
    for rolling in policy.rolling_caps:
        first = day - timedelta(days=rolling.days - 1)
        inside = [(d, e) for d, e in local if first <= d <= day]
        rule = f"allows {_visits(rolling.max_contacts)} in the last {rolling.days} days"
        caps.append(_cap(rolling.max_contacts, inside, rule))
    if policy.max_per_week is not None:
        week = day.isocalendar()[:2]
        inside = [(d, e) for d, e in local if d.isocalendar()[:2] == week]
        rule = f"allows {_visits(policy.max_per_week)} per calendar week"
        caps.append(_cap(policy.max_per_week, inside, rule))
    if policy.max_per_month is not None:
        inside = [(d, e) for d, e in local if (d.year, d.month) == (day.year, day.month)]
        rule = f"allows {_visits(policy.max_per_month)} per calendar month"
        caps.append(_cap(policy.max_per_month, inside, rule))
    for cap in caps:
        if cap.remaining <= 0:
            return blocked(f"{borrower_id} {cap.reason.format(policy=policy.name)}")
    max_visits = min([c.remaining for c in caps], default=UNCAPPED)
    if policy.min_gap_hours > 0:
        # The router does not space two visits of one day apart: one visit keeps the gap.
        max_visits = min(max_visits, 1)

    earliest: int | None = None
    reason = ""
    if policy.min_gap_hours > 0:
        visits = [e for e in counted if e.channel == "visit"]
        if visits:
            last = max(visits, key=lambda e: e.at)
            # Through UTC: aware arithmetic in one zone is wall-clock and ignores DST changes.
            gap_end = last.at.astimezone(UTC) + timedelta(hours=policy.min_gap_hours)
            free_at = gap_end.astimezone(tz)
            when = last.at.astimezone(tz)
            gap = _hours_text(policy.min_gap_hours)
            cause = (
                f"{borrower_id} {_was_visited(last)} on {when.date().isoformat()} at "
                f"{when:%H:%M}; policy {policy.name} needs {gap} between visits"
            )
            if free_at.date() > day:
                return blocked(
                    f"{borrower_id} {_was_visited(last)} on {when.date().isoformat()}; "
                    f"policy {policy.name} needs {gap} between visits"
                )
            if free_at.date() == day:
                earliest = earliest_wall_seconds(free_at, day, tz)
                clock = f"{earliest // 3600:02d}:{earliest % 3600 // 60:02d}"
                if earliest > hours.start:
                    reason = f"{cause}, so not before {clock}"
                if earliest >= hours.end:
                    return blocked(f"{cause}, so not before {clock}, after visiting hours")
    return Allowance(
        borrower_id, max_visits, hours, earliest, reason, policy.version, policy.min_crew
    )


def to_borrower_rule(allowance: Allowance) -> BorrowerRule:
    """The routing core's view: the cap and the hours, cut by the earliest start."""
    hours = allowance.hours
    if hours is not None and allowance.earliest_start is not None:
        start = max(hours.start, allowance.earliest_start)
        hours = TimeWindow(start, max(start, hours.end))
    max_visits = allowance.max_visits if hours is not None else 0
    return BorrowerRule(allowance.borrower_id, max_visits, hours, allowance.reason)


def notice_ok(policy: Policy, agreed_at: datetime, visit_start: datetime) -> str | None:
    """None if the appointment was agreed at least `min_notice_hours` before the visit starts,
    else the reason sentence (times shown in the visit's time zone)."""
    for what, value in (("agreed_at", agreed_at), ("visit_start", visit_start)):
        if value.tzinfo is None or value.utcoffset() is None:
            msg = f"{what} {value} needs a time zone"
            raise ValueError(msg)
    notice = visit_start.astimezone(UTC) - agreed_at.astimezone(UTC)
    needed = timedelta(hours=policy.min_notice_hours)
    if notice >= needed:
        return None
    agreed = agreed_at.astimezone(visit_start.tzinfo)
    given = _hours_text(max(notice, timedelta(0)).total_seconds() / 3600)
    return (
        f"the appointment was agreed on {agreed.date().isoformat()} at {agreed:%H:%M}, "
        f"{given} before the visit; policy {policy.name} needs "
        f"{_hours_text(policy.min_notice_hours)} notice"
    )


def _counts(policy: Policy, event: ContactEvent) -> bool:
    if event.channel != "visit":
        return policy.count_other_channels
    return policy.count_attempts or not event.is_attempt


def _cap(limit: int, inside: list[tuple[date, ContactEvent]], rule: str) -> _Cap:
    """The cap's remaining count; when used up, the reason with the local dates that used it."""
    if len(inside) < limit:
        return _Cap(limit - len(inside))
    if not inside:  # a cap of 0: no contact used it up, there is no date to name
        return _Cap(0, f"may not be visited; policy {{policy}} {rule}")
    channels = {e.channel for _, e in inside}
    verbs = {"visit": "was visited", "call": "was called", "message": "was messaged"}
    verb = verbs[channels.pop()] if len(channels) == 1 else "was contacted"
    if all(e.outcome == PLANNED for _, e in inside):
        verb = "has a visit planned"
    elif any(e.outcome == PLANNED for _, e in inside):
        verb = "was visited or has a visit planned"
    days = [d.isoformat() for d in sorted({d for d, _ in inside})]
    dates = days[0] if len(days) == 1 else ", ".join(days[:-1]) + " and " + days[-1]
    return _Cap(limit - len(inside), f"{verb} on {dates}; policy {{policy}} {rule}")


def _was_visited(event: ContactEvent) -> str:
    return "has a visit planned" if event.outcome == PLANNED else "was visited"


def _visits(n: int) -> str:
    return f"{n} visit" if n == 1 else f"{n} visits"


def _hours_text(hours: float) -> str:
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day" if days == 1 else f"{days} days"
    if float(hours).is_integer():
        return f"{int(hours)} hour" if hours == 1 else f"{int(hours)} hours"
    return f"{hours:g} hours"


def _day_type(day: date, holidays: Iterable[date] = ()) -> str:
    if day in frozenset(holidays):
        return "public holiday"
    return {5: "Saturday", 6: "Sunday"}.get(day.weekday(), "weekday")


def earliest_wall_seconds(moment: datetime, day: date, tz: ZoneInfo) -> int:
    """The first time of `day` not before `moment`: wall-clock seconds since local midnight,
    read as `Plan.local_time` reads them.

    A wall-clock time in the hour repeated when the clocks go back means its first pass, so a
    moment in the second pass is reached only where the repeated hour ends.
    """
    local = moment.astimezone(tz)
    midnight = datetime.combine(day, time(), tz)
    seconds = int((local - midnight).total_seconds())  # one tzinfo: wall-clock difference
    repeated = local.astimezone(UTC) - local.replace(fold=0).astimezone(UTC)  # > 0: 2nd pass
    last = seconds + int(repeated.total_seconds())
    while seconds < last:  # the first wall-clock time whose first pass is not before moment
        middle = (seconds + last) // 2
        if (midnight + timedelta(seconds=middle)).astimezone(UTC) >= moment.astimezone(UTC):
            last = middle
        else:
            seconds = middle + 1
    return seconds
