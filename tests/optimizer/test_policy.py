"""Contact policies on small hand-made histories: every rule, its reason and its edges."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from optimizer.model import BorrowerRule, TimeWindow
from optimizer.policy import (
    ContactEvent,
    Policy,
    RollingCap,
    allowance,
    load_policy,
    notice_ok,
    preset,
    stack,
    to_borrower_rule,
)

FOLDER = Path(__file__).resolve().parents[2] / "data" / "policies"
PRESETS = ("cn", "us", "us-ma", "uk", "in", "ru", "au", "safe")
B = "B-1042"
H = 3600


def at(day: date, hh: int, mm: int = 0, tz: str = "Asia/Shanghai") -> datetime:
    """A local moment in `tz`."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZoneInfo(tz))


def visit(day: date, hh: int = 10, outcome: str = "met", tz: str = "Asia/Shanghai") -> ContactEvent:
    """A visit to B at hh:00 local."""
    return ContactEvent(B, at(day, hh, tz=tz), "visit", outcome)


def simple(**kwargs: object) -> Policy:
    """A policy with only the given rules (all-day hours otherwise)."""
    return Policy(name="t", version="1", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads(name: str) -> None:
    """Each preset file loads, is named after its file and has a version."""
    policy = preset(name, FOLDER)
    assert policy.name == name
    assert policy.version


def test_unknown_preset_lists_the_available_ones() -> None:
    """An unknown preset name is a ValueError listing every preset."""
    with pytest.raises(ValueError, match="unknown policy preset 'xx'; available: au, cn, in, ru"):
        preset("xx", FOLDER)


def test_cn_preset_values() -> None:
    """cn: 08:00-22:00 daily, one visit a day, 7 days between visits, a pair of agents."""
    cn = preset("cn", FOLDER)
    assert cn.weekday == cn.sunday == cn.holiday == TimeWindow(8 * H, 22 * H)
    assert (cn.max_per_day, cn.min_gap_hours, cn.min_crew) == (1, 168.0, 2)


def test_ru_hours_by_day_type() -> None:
    """ru: 08:00-22:00 on weekdays, 09:00-20:00 on Saturdays, Sundays and holidays."""
    ru = preset("ru", FOLDER)
    monday, saturday, sunday = date(2026, 11, 23), date(2026, 11, 28), date(2026, 11, 29)
    hours = {d: allowance(ru, B, [], d, "Europe/Moscow").hours for d in (monday, saturday, sunday)}
    assert hours == {
        monday: TimeWindow(8 * H, 22 * H),
        saturday: TimeWindow(9 * H, 20 * H),
        sunday: TimeWindow(9 * H, 20 * H),
    }
    holiday = allowance(ru, B, [], monday, "Europe/Moscow", holidays=frozenset({monday}))
    assert holiday.hours == TimeWindow(9 * H, 20 * H)
    assert holiday.max_visits == 1


def test_safe_blocks_sunday() -> None:
    """safe: no visits on a Sunday, with the reason."""
    got = allowance(preset("safe", FOLDER), B, [], date(2026, 11, 29), "Europe/London")
    assert (got.max_visits, got.hours) == (0, None)
    assert got.reason == "2026-11-29 is a Sunday; policy safe allows no visits on Sundays"
    assert to_borrower_rule(got) == BorrowerRule(B, 0, None, got.reason)


def test_au_blocks_public_holidays() -> None:
    """au: a national public holiday is blocked; the day before is 09:00-21:00."""
    au = preset("au", FOLDER)
    day = date(2026, 12, 25)
    got = allowance(au, B, [], day, "Australia/Sydney", holidays=frozenset({day}))
    assert (got.max_visits, got.hours) == (0, None)
    assert got.reason == (
        "2026-12-25 is a public holiday; policy au allows no visits on public holidays"
    )
    before = allowance(au, B, [], day - timedelta(days=1), "Australia/Sydney")
    assert (before.max_visits, before.hours) == (1, TimeWindow(9 * H, 21 * H))


def test_max_per_day() -> None:
    """Visits already made today use up the daily maximum."""
    day = date(2026, 11, 26)
    two = simple(max_per_day=2)
    assert allowance(two, B, [visit(day, 9)], day, "Asia/Shanghai").max_visits == 1
    got = allowance(two, B, [visit(day, 9), visit(day, 11)], day, "Asia/Shanghai")
    assert got.max_visits == 0
    assert got.reason == "B-1042 was visited on 2026-11-26; policy t allows 2 visits a day"


def test_other_borrowers_history_is_ignored() -> None:
    """Only the borrower's own contacts count."""
    day = date(2026, 11, 26)
    other = ContactEvent("B-7", at(day, 9), "visit", "met")
    assert allowance(simple(max_per_day=1), B, [other], day, "Asia/Shanghai").max_visits == 1


def test_rolling_cap_spans_the_plan_day_and_the_days_before() -> None:
    """us: one visit per 7 days blocks a visit 6 days ago, not one a week ago."""
    us = preset("us", FOLDER)
    day = date(2026, 11, 26)
    tz = "America/Chicago"
    got = allowance(us, B, [visit(date(2026, 11, 20), tz=tz)], day, tz)
    assert got.max_visits == 0
    assert got.reason == (
        "B-1042 was visited on 2026-11-20; policy us allows 1 visit in the last 7 days"
    )
    week_ago = allowance(us, B, [visit(date(2026, 11, 19), tz=tz)], day, tz)
    assert (week_ago.max_visits, week_ago.reason) == (1, "")


def test_ru_calendar_week() -> None:
    """ru: a Monday visit blocks the rest of that ISO week but not the next Monday."""
    ru = preset("ru", FOLDER)
    tz = "Europe/Moscow"
    history = [visit(date(2026, 11, 23), tz=tz)]
    sunday = allowance(ru, B, history, date(2026, 11, 29), tz)
    assert sunday.max_visits == 0
    assert sunday.reason == (
        "B-1042 was visited on 2026-11-23; policy ru allows 1 visit per calendar week"
    )
    assert allowance(ru, B, history, date(2026, 11, 30), tz).max_visits == 1


def test_calendar_month() -> None:
    """A month cap names every visit that used it and frees up on the 1st."""
    policy = simple(max_per_month=2)
    history = [visit(date(2026, 11, 2)), visit(date(2026, 11, 10))]
    got = allowance(policy, B, history, date(2026, 11, 30), "Asia/Shanghai")
    assert got.max_visits == 0
    assert got.reason == (
        "B-1042 was visited on 2026-11-02 and 2026-11-10; "
        "policy t allows 2 visits per calendar month"
    )
    assert allowance(policy, B, history, date(2026, 12, 1), "Asia/Shanghai").max_visits == 2


def test_us_ma_ignores_attempts() -> None:
    """us-ma: a visit where nobody was met does not count; a met visit does."""
    ma = preset("us-ma", FOLDER)
    tz = "America/New_York"
    day = date(2026, 11, 26)
    for outcome in ("not_home", "wrong_address"):
        attempt = visit(date(2026, 11, 16), outcome=outcome, tz=tz)
        assert allowance(ma, B, [attempt], day, tz).max_visits == 1
    met = allowance(ma, B, [visit(date(2026, 11, 16), tz=tz)], day, tz)
    assert met.max_visits == 0
    assert "policy us-ma allows 1 visit in the last 30 days" in met.reason


def test_attempts_count_by_default() -> None:
    """us: a not-at-home visit counts toward the 7-day cap."""
    tz = "America/New_York"
    attempt = visit(date(2026, 11, 24), outcome="not_home", tz=tz)
    assert allowance(preset("us", FOLDER), B, [attempt], date(2026, 11, 26), tz).max_visits == 0


def test_other_channels_count_only_when_the_policy_says() -> None:
    """A call counts toward the caps only with count_other_channels."""
    day = date(2026, 11, 26)
    call = ContactEvent(B, at(date(2026, 11, 24), 15), "call", "promise_to_pay")
    cap = (RollingCap(7, 1),)
    assert allowance(simple(rolling_caps=cap), B, [call], day, "Asia/Shanghai").max_visits == 1
    counting = simple(rolling_caps=cap, count_other_channels=True)
    got = allowance(counting, B, [call], day, "Asia/Shanghai")
    assert got.max_visits == 0
    assert got.reason == (
        "B-1042 was called on 2026-11-24; policy t allows 1 visit in the last 7 days"
    )


def test_min_gap_gives_earliest_start() -> None:
    """A 24 h gap after yesterday's 15:00 visit opens today at 15:00."""
    day = date(2026, 11, 26)
    policy = simple(min_gap_hours=24, weekday=TimeWindow(8 * H, 22 * H))
    got = allowance(policy, B, [visit(date(2026, 11, 25), 15)], day, "Asia/Shanghai")
    assert (got.max_visits, got.earliest_start) == (1, 15 * H)
    assert got.reason == (
        "B-1042 was visited on 2026-11-25 at 15:00; policy t needs 1 day between visits, "
        "so not before 15:00"
    )
    rule = to_borrower_rule(got)
    assert rule.allowed_hours == TimeWindow(15 * H, 22 * H)
    assert rule.max_visits == 1


def test_cn_gap_blocks_with_the_date() -> None:
    """cn: a visit on 11-19 blocks 11-25 and opens 11-26 at the same time of day."""
    cn = preset("cn", FOLDER)
    history = [visit(date(2026, 11, 19), 10)]
    got = allowance(cn, B, history, date(2026, 11, 25), "Asia/Shanghai")
    assert got.max_visits == 0
    assert got.reason == "B-1042 was visited on 2026-11-19; policy cn needs 7 days between visits"
    after = allowance(cn, B, history, date(2026, 11, 26), "Asia/Shanghai")
    assert (after.max_visits, after.earliest_start, after.min_crew) == (1, 10 * H, 2)


def test_gap_ending_after_hours_blocks() -> None:
    """A gap that ends after the visiting hours leaves no visit today."""
    policy = simple(min_gap_hours=24, weekday=TimeWindow(8 * H, 20 * H))
    got = allowance(policy, B, [visit(date(2026, 11, 25), 21)], date(2026, 11, 26), "Asia/Shanghai")
    assert got.max_visits == 0
    assert got.reason.endswith("so not before 21:00, after visiting hours")


def test_gap_across_dst_change() -> None:
    """London leaves summer time on 2026-10-25: 24 h after 10:00 BST is 09:00 GMT."""
    tz = "Europe/London"
    policy = simple(min_gap_hours=24)
    got = allowance(policy, B, [visit(date(2026, 10, 24), 10, tz=tz)], date(2026, 10, 25), tz)
    assert got.earliest_start == 9 * H


def test_min_notice() -> None:
    """safe: an appointment agreed 20 h before fails with the reason; 24 h passes."""
    safe = preset("safe", FOLDER)
    start = at(date(2026, 11, 26), 10, tz="Europe/London")
    assert notice_ok(safe, start - timedelta(hours=24), start) is None
    assert notice_ok(safe, start - timedelta(hours=20), start) == (
        "the appointment was agreed on 2026-11-25 at 14:00, 20 hours before the visit; "
        "policy safe needs 1 day notice"
    )


def test_blocking_flag() -> None:
    """ru: a hospitalised debtor may not be visited."""
    got = allowance(
        preset("ru", FOLDER),
        B,
        [],
        date(2026, 11, 26),
        "Europe/Moscow",
        flags=frozenset({"hospitalised", "vip"}),
    )
    assert got.max_visits == 0
    assert got.reason == "B-1042 is flagged hospitalised; policy ru blocks visits to such borrowers"


def test_blackout_date() -> None:
    """A blackout date blocks the day with its reason; the next day is open."""
    policy = simple(blackout_dates=frozenset({date(2026, 11, 26)}))
    got = allowance(policy, B, [], date(2026, 11, 26), "Asia/Kolkata")
    assert (got.max_visits, got.reason) == (0, "2026-11-26 is a blackout date in policy t")
    assert allowance(policy, B, [], date(2026, 11, 27), "Asia/Kolkata").max_visits > 0


def test_stack_strictest_wins() -> None:
    """cn + in: hours intersect, caps take the minimum, gaps/crew the maximum, flags unite."""
    cn, india = preset("cn", FOLDER), preset("in", FOLDER)
    both = stack(cn, india)
    assert both.name == "cn+in"
    assert both.version == "cn@2026.1+in@2026.1"
    assert both.weekday == both.sunday == TimeWindow(8 * H, 19 * H)
    assert (both.max_per_day, both.min_gap_hours, both.min_crew) == (1, 168.0, 2)
    assert both.rolling_caps == (RollingCap(7, 1),)
    assert both.blocking_flags == cn.blocking_flags | india.blocking_flags


def test_stack_caps_and_closed_days() -> None:
    """Stacked caps take the minimum per window and a closed day stays closed."""
    a = simple(rolling_caps=(RollingCap(7, 2), RollingCap(30, 4)), max_per_week=3)
    b = Policy(
        name="b",
        version="2",
        rolling_caps=(RollingCap(7, 1),),
        sunday=None,
        count_attempts=False,
        min_notice_hours=24,
    )
    both = stack(a, b)
    assert both.rolling_caps == (RollingCap(7, 1), RollingCap(30, 4))
    assert (both.max_per_week, both.sunday, both.count_attempts) == (3, None, True)
    assert both.min_notice_hours == 24


def test_time_zone_edge() -> None:
    """23:30 local the day before counts as the day before, though UTC puts it on the plan day."""
    tz = "America/New_York"
    late = ContactEvent(B, at(date(2026, 11, 25), 23, 30, tz=tz), "visit", "met")
    assert late.at.astimezone(ZoneInfo("UTC")).date() == date(2026, 11, 26)
    policy = simple(max_per_day=1)
    assert allowance(policy, B, [late], date(2026, 11, 26), tz).max_visits == 1
    assert allowance(policy, B, [late], date(2026, 11, 26), "UTC").max_visits == 0


BASE = 'name = "x"\nversion = "1"\n'


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("max_per_day = -1\n", "max_per_day"),
        ('max_per_week = "one"\n', "max_per_week"),
        ("min_crew = 0\n", "min_crew"),
        ("min_gap_hours = -5\n", "min_gap_hours"),
        ('count_attempts = "yes"\n', "count_attempts"),
        ('blackout_dates = ["2026-12-25"]\n', "blackout_dates"),
        ("max_per_year = 3\n", "max_per_year"),
        ('[hours]\nweekday = "8-22"\n', "hours.weekday"),
        ('[hours]\nsunday = "22:00-08:00"\n', "hours.sunday"),
        ("[[rolling]]\ndays = 0\nmax = 1\n", "rolling"),
    ],
)
def test_bad_toml_value_names_the_field(extra: str, field: str) -> None:
    """A bad value is a ValueError whose message names the field."""
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        load_policy(BASE + extra)


def test_load_policy_from_text() -> None:
    """TOML text loads with a rolling cap, blackout dates and a closed holiday."""
    policy = load_policy(
        BASE
        + "blackout_dates = [2026-12-25]\n[[rolling]]\ndays = 30\nmax = 2\n"
        + '[hours]\nholiday = "closed"\nweekday = "09:00-24:00"\n'
    )
    assert policy.rolling_caps == (RollingCap(30, 2),)
    assert policy.blackout_dates == frozenset({date(2026, 12, 25)})
    assert (policy.holiday, policy.weekday) == (None, TimeWindow(9 * H, 24 * H))
