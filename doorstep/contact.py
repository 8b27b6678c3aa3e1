"""Apply a contact policy to one region-day before routing.

The routing core knows caps and hours per borrower; the policy knows why. Here the policy is
evaluated on the contact history (plus visits already planned for the borrower in other
regions), in the region's time zone, and the day is cut down to what the policy allows:

- a borrower the policy blocks today (flag, blackout, closed day, cap used up, gap not over)
  loses every visit, each listed with the policy's reason and the date of the contact that
  caused it (reason code `contact_policy`);
- the others get a `BorrowerRule` that is the stricter of the file's rule and the policy's
  (visits left today, visiting hours from the end of the minimum gap on);
- an appointment agreed too late for the minimum notice loses the windows that start too
  soon, or is excluded when none is left;
- every visit needs at least the policy's crew size.

Whatever the solver then does inside these rules keeps the policy: that is checked, in the
tests, by an independent re-evaluation of every planned stop.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from doorstep.csvio import DayInput
from optimizer.model import DAY_SECONDS, BorrowerRule, TimeWindow, Visit, VisitKind
from optimizer.plan import ReasonCode, Unassigned
from optimizer.policy import (
    PLANNED,
    ContactEvent,
    Policy,
    allowance,
    earliest_wall_seconds,
    notice_ok,
    to_borrower_rule,
)


@dataclass(frozen=True)
class PolicyDay:
    """The region-day as the policy allows it.

    `day_input` holds the visits that may be routed (crew sizes raised, windows cut by the
    notice rule) and one rule per borrower; `excluded` the visits the policy forbids today,
    each with its reason; `policy` the version label of the policy that allowed the rest.
    """

    day_input: DayInput
    excluded: tuple[Unassigned, ...]
    policy: str


def apply_policy(
    day_input: DayInput,
    policy: Policy,
    history: Iterable[ContactEvent],
    *,
    day: date,
    timezone: str,
    holidays: frozenset[date] = frozenset(),
) -> PolicyDay:
    """Cut `day_input` down to what `policy` allows on `day` given `history`.

    `history` holds every counted contact of the day's borrowers, including visits planned
    for them in other regions (outcome `PLANNED`) so that caps hold across regions.
    """
    tz = ZoneInfo(timezone)
    by_borrower: dict[str, list[ContactEvent]] = defaultdict(list)
    for event in history:
        by_borrower[event.borrower_id].append(event)

    file_rules = {rule.borrower_id: rule for rule in day_input.borrowers}
    rules: list[BorrowerRule] = []
    blocked: dict[str, str] = {}
    for borrower_id in _borrower_order(day_input):
        allowed = allowance(
            policy,
            borrower_id,
            by_borrower.get(borrower_id, ()),
            day,
            timezone,
            flags=day_input.borrower_flags.get(borrower_id, frozenset()),
            holidays=holidays,
        )
        file_rule = file_rules.get(borrower_id, BorrowerRule(borrower_id))
        if allowed.max_visits == 0 or allowed.hours is None:
            blocked[borrower_id] = _sentence(allowed.reason)
            rules.append(file_rule)
            continue
        rules.append(_stricter(file_rule, to_borrower_rule(allowed)))

    visits: list[Visit] = []
    excluded: list[Unassigned] = []
    for visit in day_input.visits:
        if visit.borrower_id in blocked:
            excluded.append(
                Unassigned(visit.id, ReasonCode.CONTACT_POLICY, blocked[visit.borrower_id])
            )
            continue
        kept = _with_notice(visit, policy, day_input.agreed_at.get(visit.id), day, tz)
        if isinstance(kept, Unassigned):
            excluded.append(kept)
            continue
        if kept.crew_size < policy.min_crew:
            kept = dataclasses.replace(kept, crew_size=policy.min_crew)
        visits.append(kept)

    cut = dataclasses.replace(day_input, visits=tuple(visits), borrowers=tuple(rules))
    return PolicyDay(day_input=cut, excluded=tuple(excluded), policy=policy.label)


def region_holidays(
    country: str | None, subdivision: str | None, years: Iterable[int], extra: Iterable[date] = ()
) -> frozenset[date]:
    """Public holidays of a region: its country's calendar (the `holidays` package) plus
    the region's own extra days. ValueError names an unknown country or subdivision."""
    days = set(extra)
    if country:
        try:
            calendar = holiday_calendars.country_holidays(
                country, subdiv=subdivision or None, years=sorted(set(years))
            )
        except NotImplementedError:
            msg = f"no holiday calendar for country {country!r}; use an ISO 3166 code such as FI"
            raise ValueError(msg) from None
        days.update(calendar.keys())
    return frozenset(days)


def planned_contact(borrower_id: str, day: date, start: int, timezone: str) -> ContactEvent:
    """A visit planned for `borrower_id` at `start` (seconds since local midnight of `day`)."""
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))
    return ContactEvent(
        borrower_id, midnight + timedelta(seconds=start), channel="visit", outcome=PLANNED
    )


def _borrower_order(day_input: DayInput) -> list[str]:
    """Every borrower of the day once: the file's rules first, then any other visited one."""
    order = dict.fromkeys(rule.borrower_id for rule in day_input.borrowers)
    order.update(dict.fromkeys(visit.borrower_id for visit in day_input.visits))
    return list(order)


def _stricter(file_rule: BorrowerRule, policy_rule: BorrowerRule) -> BorrowerRule:
    """The lower cap and the narrower hours; the policy's reason when it is the one that cuts."""
    hours = policy_rule.allowed_hours
    if hours is None:
        hours = file_rule.allowed_hours
    elif file_rule.allowed_hours is not None:
        # Hours that do not overlap leave an empty window: no visit fits.
        hours = hours.intersect(file_rule.allowed_hours) or TimeWindow(0, 0)
    reason = policy_rule.reason or file_rule.reason
    if file_rule.max_visits < policy_rule.max_visits and not policy_rule.reason:
        reason = file_rule.reason
    return BorrowerRule(
        file_rule.borrower_id,
        min(file_rule.max_visits, policy_rule.max_visits),
        hours,
        reason,
    )


def _with_notice(
    visit: Visit, policy: Policy, agreed_at: datetime | None, day: date, tz: ZoneInfo
) -> Visit | Unassigned:
    """The appointment with only the windows that start late enough after it was agreed."""
    if visit.kind is not VisitKind.APPOINTMENT or policy.min_notice_hours <= 0:
        return visit
    if agreed_at is None:
        return Unassigned(
            visit.id,
            ReasonCode.CONTACT_POLICY,
            f"Appointment {visit.id} has no agreed_at time; policy {policy.name} needs "
            f"{policy.min_notice_hours:g} hours notice, so record when it was agreed.",
        )
    ready = (agreed_at.astimezone(UTC) + timedelta(hours=policy.min_notice_hours)).astimezone(tz)
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    earliest = earliest_wall_seconds(ready, day, tz) if ready > midnight else 0
    agreed = visit.windows or (TimeWindow(0, 2 * DAY_SECONDS),)  # none: any time of the day
    windows = [w for w in agreed if w.end >= earliest]
    windows = [TimeWindow(max(w.start, earliest), w.end) for w in windows]
    if windows:
        return (
            visit if windows == list(agreed) else dataclasses.replace(visit, windows=tuple(windows))
        )
    last = max(w.end for w in agreed)
    why = notice_ok(policy, agreed_at, midnight + timedelta(seconds=last))
    reason = _sentence(f"Appointment {visit.id}: {why}")
    return Unassigned(visit.id, ReasonCode.CONTACT_POLICY, reason)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith(".") else text + "."
