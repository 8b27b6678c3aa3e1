"""Contact policies applied to tiny region-days and routed: hand-checked exclusions and times.

Every day here is a few visits on the straight road of `tests.optimizer.tiny` (1 s a metre by
car); windows are chosen so that the policy leaves exactly one feasible start where a time is
asserted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from doorstep.contact import PolicyDay, apply_policy, planned_contact, region_holidays
from optimizer import BorrowerRule, Crew, ReasonCode, TimeWindow, VisitKind
from optimizer.policy import ContactEvent, Policy, RollingCap, preset, stack
from tests.doorstep.policy_days import day_input, plan_of, stops_by_visit
from tests.optimizer.tiny import agent, visit

FOLDER = Path(__file__).resolve().parents[2] / "data" / "policies"
H = 3600
DAY = date(2026, 11, 26)  # a Thursday
SHANGHAI = "Asia/Shanghai"


def at(day: date, hh: int, mm: int = 0, tz: str = SHANGHAI) -> datetime:
    """A local moment in `tz`."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZoneInfo(tz))


def visited(borrower: str, moment: datetime, outcome: str = "met") -> ContactEvent:
    """A recorded home visit."""
    return ContactEvent(borrower, moment, "visit", outcome)


def simple(**kwargs: object) -> Policy:
    """A policy named t with only the given rules (all-day hours otherwise)."""
    return Policy(name="t", version="1", **kwargs)  # type: ignore[arg-type]


def assert_excluded(policy_day: PolicyDay, policy: Policy, expected: Mapping[str, str]) -> None:
    """Exactly the `expected` visits are excluded, with these reasons, the contact-policy code
    and the policy's name in every sentence."""
    reasons = {u.visit_id: u.reason for u in policy_day.excluded}
    assert reasons == dict(expected)
    for u in policy_day.excluded:
        assert u.reason_code is ReasonCode.CONTACT_POLICY
        assert f"policy {policy.name}" in u.reason
    kept = {v.id for v in policy_day.day_input.visits}
    assert not kept & set(reasons)


def rule_of(policy_day: PolicyDay, borrower: str) -> BorrowerRule:
    """The borrower's rule as the routing core gets it."""
    (rule,) = [r for r in policy_day.day_input.borrowers if r.borrower_id == borrower]
    return rule


def test_gap_of_168_hours_opens_at_the_time_of_last_weeks_visit() -> None:
    """Visited exactly 7 days ago at 10:00: visits from 10:00 only; 6 days ago: excluded."""
    policy = simple(min_gap_hours=168)
    week_ago = visited("B-week", at(date(2026, 11, 19), 10))
    six_days = visited("B-six", at(date(2026, 11, 20), 10))
    given = day_input(
        [
            visit("V1", 100, windows=[(9 * 60, 10 * 60)], borrower="B-week"),
            visit("V2", 200, borrower="B-six"),
        ],
        [agent("A1")],
    )
    policy_day = apply_policy(given, policy, [week_ago, six_days], day=DAY, timezone=SHANGHAI)
    assert_excluded(
        policy_day,
        policy,
        {"V2": "B-six was visited on 2026-11-20; policy t needs 7 days between visits."},
    )
    assert rule_of(policy_day, "B-week") == BorrowerRule(
        "B-week",
        1,
        TimeWindow(10 * H, 24 * H),
        "B-week was visited on 2026-11-19 at 10:00; policy t needs 7 days between visits, "
        "so not before 10:00",
    )
    plan = plan_of(policy_day, DAY, SHANGHAI)
    _, stop = stops_by_visit(plan)["V1"]
    assert stop.start == 10 * H  # the window 09:00-10:00 meets the gap's end at 10:00
    assert plan.local_time(stop.start) - week_ago.at == timedelta(hours=168)


def test_rolling_cap_counts_the_first_day_of_the_window_only() -> None:
    """1 visit per 7 days on 11-26: a visit on 11-20 counts, one on 11-19 does not."""
    policy = simple(rolling_caps=(RollingCap(7, 1),))
    history = [
        visited("B-first", at(date(2026, 11, 20), 15)),
        visited("B-before", at(date(2026, 11, 19), 15)),
    ]
    given = day_input(
        [visit("V1", 100, borrower="B-first"), visit("V2", 200, borrower="B-before")],
        [agent("A1")],
    )
    policy_day = apply_policy(given, policy, history, day=DAY, timezone=SHANGHAI)
    assert_excluded(
        policy_day,
        policy,
        {"V1": "B-first was visited on 2026-11-20; policy t allows 1 visit in the last 7 days."},
    )
    assert rule_of(policy_day, "B-before") == BorrowerRule("B-before", 1, TimeWindow(0, 24 * H))
    plan = plan_of(policy_day, DAY, SHANGHAI)
    assert set(stops_by_visit(plan)) == {"V2"}
    assert plan.unassigned == ()


@pytest.mark.parametrize("tz", [SHANGHAI, "America/New_York"])
def test_contact_counts_for_its_local_day(tz: str) -> None:
    """At most 1 a day: 23:30 local the evening before does not count, 00:30 local does,
    whatever their UTC dates (history given in UTC)."""
    policy = simple(max_per_day=1)
    evening = visited("B-eve", at(date(2026, 11, 25), 23, 30, tz).astimezone(UTC))
    night = visited("B-night", at(DAY, 0, 30, tz).astimezone(UTC))
    # One of the two has a UTC date that differs from its local date in either zone.
    assert (evening.at.date(), night.at.date()) != (date(2026, 11, 25), DAY)
    given = day_input(
        [visit("V1", 100, borrower="B-eve"), visit("V2", 200, borrower="B-night")],
        [agent("A1")],
    )
    policy_day = apply_policy(given, policy, [evening, night], day=DAY, timezone=tz)
    assert_excluded(
        policy_day,
        policy,
        {"V2": "B-night was visited on 2026-11-26; policy t allows 1 visit a day."},
    )
    plan = plan_of(policy_day, DAY, tz)
    assert set(stops_by_visit(plan)) == {"V1"}


@pytest.mark.parametrize(
    ("last", "plan_day", "window", "earliest"),
    [
        # Spring forward 03:00 EET -> 04:00 EEST: 24 h after 10:00 EET is 11:00 EEST.
        (datetime(2026, 3, 28, 10), date(2026, 3, 29), (10 * 60, 11 * 60), 11 * H),
        # Fall back 04:00 EEST -> 03:00 EET: 24 h after 10:00 EEST is 09:00 EET.
        (datetime(2026, 10, 24, 10), date(2026, 10, 25), (8 * 60, 9 * 60), 9 * H),
    ],
)
def test_gap_ending_on_a_dst_change_day(
    last: datetime, plan_day: date, window: tuple[int, int], earliest: int
) -> None:
    """Helsinki: a 24 h gap ends at the wall-clock time 24 real hours later."""
    tz = "Europe/Helsinki"
    event = visited("B-1", last.replace(tzinfo=ZoneInfo(tz)))
    policy = simple(min_gap_hours=24)
    given = day_input([visit("V1", 100, windows=[window], borrower="B-1")], [agent("A1")])
    policy_day = apply_policy(given, policy, [event], day=plan_day, timezone=tz)
    assert policy_day.excluded == ()
    rule = rule_of(policy_day, "B-1")
    assert rule.allowed_hours == TimeWindow(earliest, 24 * H)
    assert rule.reason.endswith(f"so not before {earliest // H:02d}:00")
    plan = plan_of(policy_day, plan_day, tz)
    _, stop = stops_by_visit(plan)["V1"]
    assert stop.start == earliest
    assert plan.local_time(stop.start).astimezone(UTC) - event.at == timedelta(hours=24)


def test_public_holiday_with_closed_hours() -> None:
    """au on Christmas Day (a national holiday): nothing; the day before: from 09:00."""
    tz = "Australia/Sydney"
    au = preset("au", FOLDER)
    holidays = region_holidays("AU", None, [2026])
    given = day_input(
        [
            visit("V1", 100, windows=[(8 * 60, 9 * 60)], borrower="B-1"),
            visit("V2", 200, borrower="B-2"),
        ],
        [agent("A1")],
    )
    christmas = date(2026, 12, 25)
    closed = apply_policy(given, au, [], day=christmas, timezone=tz, holidays=holidays)
    why = "2026-12-25 is a public holiday; policy au allows no visits on public holidays."
    assert_excluded(closed, au, {"V1": why, "V2": why})
    assert closed.policy == "au@2026.1"

    eve = date(2026, 12, 24)
    open_day = apply_policy(given, au, [], day=eve, timezone=tz, holidays=holidays)
    assert open_day.excluded == ()
    assert rule_of(open_day, "B-1").allowed_hours == TimeWindow(9 * H, 21 * H)
    stops = stops_by_visit(plan_of(open_day, eve, tz))
    assert stops["V1"][1].start == 9 * H
    assert {"V1", "V2"} == set(stops)
    assert all(9 * H <= s.start and s.end <= 21 * H for _, s in stops.values())


def test_cn_and_us_stacked() -> None:
    """cn+us: 08:00-21:00, 7 days between visits, one per 7 days, a pair, the us flags."""
    tz = "America/New_York"
    policy = stack(preset("cn", FOLDER), preset("us", FOLDER))
    history = [
        visited("B-gap", at(date(2026, 11, 19), 15, tz=tz)),
        visited("B-cap", at(date(2026, 11, 20), 9, tz=tz)),
    ]
    given = day_input(
        [
            visit("V1", 100, windows=[(14 * 60, 15 * 60)], borrower="B-gap"),
            visit("V2", 200, borrower="B-cap"),
            visit("V3", 300, windows=[(20 * 60 + 45, 21 * 60 + 30)], borrower="B-late"),
            visit("V4", 400, borrower="B-flag"),
        ],
        [agent("A1", shift=(8 * 60, 22 * 60)), agent("A2", shift=(8 * 60, 22 * 60))],
        crews=[Crew("C1", ("A1", "A2"))],
        flags={"B-flag": frozenset({"inconvenient_place"})},
    )
    policy_day = apply_policy(given, policy, history, day=DAY, timezone=tz)
    assert policy_day.policy == "cn@2026.1+us@2026.1"
    assert_excluded(
        policy_day,
        policy,
        {
            "V2": "B-cap was visited on 2026-11-20; policy cn+us allows 1 visit in the last "
            "7 days.",
            "V4": "B-flag is flagged inconvenient_place; policy cn+us blocks visits to such "
            "borrowers.",
        },
    )
    assert {v.id: v.crew_size for v in policy_day.day_input.visits} == {"V1": 2, "V3": 2}
    assert rule_of(policy_day, "B-gap").allowed_hours == TimeWindow(15 * H, 21 * H)
    assert rule_of(policy_day, "B-late").allowed_hours == TimeWindow(8 * H, 21 * H)
    plan = plan_of(policy_day, DAY, tz)
    stops = stops_by_visit(plan)
    assert set(stops) == {"V1"}
    assert stops["V1"] == ("C1", stops["V1"][1])
    assert stops["V1"][1].start == 15 * H
    # The us hours end at 21:00, so the 30 minutes agreed from 20:45 cannot be kept.
    assert [(u.visit_id, u.reason_code) for u in plan.unassigned] == [
        ("V3", ReasonCode.OUTSIDE_ALLOWED_HOURS)
    ]


def test_ru_and_safe_stacked() -> None:
    """ru+safe: 09:00-19:00 on weekdays, Sundays closed, 2 per 30 days, notice, ru's flags."""
    tz = "Europe/Moscow"
    policy = stack(preset("ru", FOLDER), preset("safe", FOLDER))
    monday = date(2026, 11, 30)
    history = [
        visited("B-1", at(date(2026, 11, 23), 10, tz=tz)),  # last week's Monday
        visited("B-month", at(date(2026, 11, 5), 10, tz=tz)),
        visited("B-month", at(date(2026, 11, 20), 10, tz=tz)),
    ]
    given = day_input(
        [
            visit("V1", 100, windows=[(8 * 60, 9 * 60)], borrower="B-1"),
            visit("V2", 200, borrower="B-month"),
            visit("V3", 300, borrower="B-sick"),
            visit("V4", 400, windows=[(10 * 60, 11 * 60)], appointment=True, borrower="B-4"),
        ],
        [agent("A1"), agent("A2")],
        crews=[Crew("C1", ("A1", "A2"))],
        flags={"B-sick": frozenset({"hospitalised"})},
    )
    policy_day = apply_policy(given, policy, history, day=monday, timezone=tz)
    assert_excluded(
        policy_day,
        policy,
        {
            "V2": "B-month was visited on 2026-11-05 and 2026-11-20; policy ru+safe allows "
            "2 visits in the last 30 days.",
            "V3": "B-sick is flagged hospitalised; policy ru+safe blocks visits to such borrowers.",
            "V4": "Appointment V4 has no agreed_at time; policy ru+safe needs 24 hours notice, "
            "so record when it was agreed.",
        },
    )
    plan = plan_of(policy_day, monday, tz)
    stops = stops_by_visit(plan)
    assert set(stops) == {"V1"}
    assert stops["V1"][0] == "C1"
    assert stops["V1"][1].start == 9 * H

    sunday = date(2026, 11, 29)
    closed = apply_policy(given, policy, history, day=sunday, timezone=tz)
    flagged = "B-sick is flagged hospitalised; policy ru+safe blocks visits to such borrowers."
    sunday_why = "2026-11-29 is a Sunday; policy ru+safe allows no visits on Sundays."
    assert_excluded(
        closed, policy, {"V1": sunday_why, "V2": sunday_why, "V3": flagged, "V4": sunday_why}
    )


def test_min_notice_keeps_or_excludes() -> None:
    """24 h notice: agreed 30 h before its window is kept, 20 h before is excluded, no
    agreed_at is excluded; a flexible visit needs no notice."""
    tz = "Europe/London"
    policy = simple(min_notice_hours=24)
    given = day_input(
        [
            visit("V30", 100, windows=[(600, 600)], appointment=True, borrower="B-30"),
            visit("V20", 200, windows=[(600, 660)], appointment=True, borrower="B-20"),
            visit("V-none", 300, windows=[(600, 660)], appointment=True, borrower="B-none"),
            visit("V-flex", 400, borrower="B-flex"),
        ],
        [agent("A1")],
        agreed_at={
            "V30": at(date(2026, 11, 25), 4, tz=tz),
            "V20": at(date(2026, 11, 25), 14, tz=tz),
        },
    )
    policy_day = apply_policy(given, policy, [], day=DAY, timezone=tz)
    assert_excluded(
        policy_day,
        policy,
        {
            # Even at the window's last start, 11:00, it was agreed only 21 hours before.
            "V20": "Appointment V20: the appointment was agreed on 2026-11-25 at 14:00, "
            "21 hours before the visit; policy t needs 1 day notice.",
            "V-none": "Appointment V-none has no agreed_at time; policy t needs 24 hours "
            "notice, so record when it was agreed.",
        },
    )
    kept = {v.id: v for v in policy_day.day_input.visits}
    assert kept["V30"] == given.visits[0]
    stops = stops_by_visit(plan_of(policy_day, DAY, tz))
    assert set(stops) == {"V30", "V-flex"}
    assert stops["V30"][1].start == 10 * H


def test_notice_agreed_the_same_morning_cuts_the_windows() -> None:
    """2 h notice, agreed at 09:30: the 09:00-10:00 window goes, 11:00-13:00 starts at 11:30."""
    tz = "America/New_York"
    policy = simple(min_notice_hours=2)
    agreed = at(DAY, 9, 30, tz=tz)
    given = day_input(
        [
            visit(
                "V1",
                100,
                windows=[(9 * 60, 10 * 60), (11 * 60, 13 * 60), (15 * 60, 16 * 60)],
                appointment=True,
                borrower="B-1",
            )
        ],
        [agent("A1")],
        agreed_at={"V1": agreed},
    )
    policy_day = apply_policy(given, policy, [], day=DAY, timezone=tz)
    assert policy_day.excluded == ()
    (cut,) = policy_day.day_input.visits
    assert cut.kind is VisitKind.APPOINTMENT
    assert cut.windows == (TimeWindow(11 * H + 1800, 13 * H), TimeWindow(15 * H, 16 * H))
    plan = plan_of(policy_day, DAY, tz)
    _, stop = stops_by_visit(plan)["V1"]
    assert stop.start == 11 * H + 1800
    assert plan.local_time(stop.start) - agreed == timedelta(hours=2)


def test_min_crew_needs_a_crew() -> None:
    """min_crew 2 raises a solo visit to a pair: a lone agent cannot take it, a crew can."""
    policy = simple(min_crew=2)
    visits = [visit("V1", 100)]
    solo = apply_policy(day_input(visits, [agent("A1")]), policy, [], day=DAY, timezone=SHANGHAI)
    assert solo.excluded == ()
    assert [v.crew_size for v in solo.day_input.visits] == [2]
    plan = plan_of(solo, DAY, SHANGHAI)
    assert plan.num_assigned == 0
    assert [(u.visit_id, u.reason_code) for u in plan.unassigned] == [("V1", ReasonCode.NO_CREW)]

    pair = day_input(visits, [agent("A1"), agent("A2")], crews=[Crew("C1", ("A1", "A2"))])
    crewed = apply_policy(pair, policy, [], day=DAY, timezone=SHANGHAI)
    assert stops_by_visit(plan_of(crewed, DAY, SHANGHAI))["V1"][0] == "C1"


def test_blocking_flags_and_blackout_dates() -> None:
    """Flags block their borrower; a blackout date blocks everyone (flags are named first)."""
    policy = simple(
        blocking_flags=frozenset({"vulnerable", "dispute"}),
        blackout_dates=frozenset({date(2026, 12, 24)}),
    )
    given = day_input(
        [visit("V1", 100, borrower="B-v"), visit("V2", 200, borrower="B-ok")],
        [agent("A1")],
        flags={"B-v": frozenset({"vulnerable", "dispute", "vip"}), "B-ok": frozenset({"vip"})},
    )
    flagged = "B-v is flagged dispute, vulnerable; policy t blocks visits to such borrowers."
    before = apply_policy(given, policy, [], day=date(2026, 12, 23), timezone=SHANGHAI)
    assert_excluded(before, policy, {"V1": flagged})
    assert set(stops_by_visit(plan_of(before, date(2026, 12, 23), SHANGHAI))) == {"V2"}

    blackout = apply_policy(given, policy, [], day=date(2026, 12, 24), timezone=SHANGHAI)
    assert_excluded(
        blackout, policy, {"V1": flagged, "V2": "2026-12-24 is a blackout date in policy t."}
    )
    assert blackout.day_input.visits == ()


@pytest.mark.parametrize("count_attempts", [False, True])
def test_attempts_count_only_when_the_policy_says(count_attempts: bool) -> None:
    """1 per 7 days: not-at-home and wrong-address visits count only with count_attempts;
    a met visit always does."""
    policy = simple(rolling_caps=(RollingCap(7, 1),), count_attempts=count_attempts)
    on = date(2026, 11, 24)
    history = [
        visited("B-home", at(on, 10), "not_home"),
        visited("B-addr", at(on, 11), "wrong_address"),
        visited("B-met", at(on, 12), "met"),
    ]
    given = day_input(
        [
            visit("V1", 100, borrower="B-home"),
            visit("V2", 200, borrower="B-addr"),
            visit("V3", 300, borrower="B-met"),
        ],
        [agent("A1")],
    )
    policy_day = apply_policy(given, policy, history, day=DAY, timezone=SHANGHAI)
    rule = "policy t allows 1 visit in the last 7 days."
    expected = {"V3": f"B-met was visited on 2026-11-24; {rule}"}
    if count_attempts:
        expected |= {
            "V1": f"B-home was visited on 2026-11-24; {rule}",
            "V2": f"B-addr was visited on 2026-11-24; {rule}",
        }
    assert_excluded(policy_day, policy, expected)
    routed = set(stops_by_visit(plan_of(policy_day, DAY, SHANGHAI)))
    assert routed == ({"V1", "V2", "V3"} - set(expected))


def test_attempt_does_not_start_a_gap_when_attempts_are_ignored() -> None:
    """A 48 h gap after yesterday's not-at-home visit applies only with count_attempts."""
    history = [visited("B-1", at(date(2026, 11, 25), 10), "not_home")]
    given = day_input([visit("V1", 100, borrower="B-1")], [agent("A1")])
    ignoring = simple(min_gap_hours=48, count_attempts=False)
    free = apply_policy(given, ignoring, history, day=DAY, timezone=SHANGHAI)
    assert free.excluded == ()
    assert rule_of(free, "B-1").allowed_hours == TimeWindow(0, 24 * H)
    counting = simple(min_gap_hours=48)
    assert_excluded(
        apply_policy(given, counting, history, day=DAY, timezone=SHANGHAI),
        counting,
        {"V1": "B-1 was visited on 2026-11-25; policy t needs 2 days between visits."},
    )


@pytest.mark.parametrize("count_other_channels", [False, True])
def test_calls_and_messages_count_only_with_count_other_channels(
    count_other_channels: bool,
) -> None:
    """1 per 7 days: a call and a message count only with count_other_channels, and never
    start a minimum gap."""
    policy = simple(
        rolling_caps=(RollingCap(7, 1),),
        count_other_channels=count_other_channels,
        min_gap_hours=48,
    )
    history = [
        ContactEvent("B-call", at(date(2026, 11, 24), 15), "call", "promise_to_pay"),
        ContactEvent("B-msg", at(date(2026, 11, 25), 9), "message", "sent"),
        ContactEvent("B-both", at(date(2026, 11, 22), 9), "message", "sent"),
        ContactEvent("B-both", at(date(2026, 11, 23), 9), "call", "no_answer"),
    ]
    given = day_input(
        [
            visit("V1", 100, borrower="B-call"),
            visit("V2", 200, borrower="B-msg"),
            visit("V3", 300, borrower="B-both"),
            visit("V4", 400, borrower="B-none"),
        ],
        [agent("A1")],
    )
    policy_day = apply_policy(given, policy, history, day=DAY, timezone=SHANGHAI)
    rule = "policy t allows 1 visit in the last 7 days."
    expected = (
        {
            "V1": f"B-call was called on 2026-11-24; {rule}",
            "V2": f"B-msg was messaged on 2026-11-25; {rule}",
            "V3": f"B-both was contacted on 2026-11-22 and 2026-11-23; {rule}",
        }
        if count_other_channels
        else {}
    )
    assert_excluded(policy_day, policy, expected)
    for kept in policy_day.day_input.visits:  # no gap started by a call or a message
        assert rule_of(policy_day, kept.borrower_id).allowed_hours == TimeWindow(0, 24 * H)
    routed = set(stops_by_visit(plan_of(policy_day, DAY, SHANGHAI)))
    assert routed == {"V1", "V2", "V3", "V4"} - set(expected)


def test_visit_planned_elsewhere_uses_up_the_daily_cap() -> None:
    """A visit planned for the borrower in another region today counts toward the day's cap."""
    elsewhere = planned_contact("B-1", DAY, 9 * H, SHANGHAI)
    assert elsewhere.at == at(DAY, 9)
    given = day_input(
        [visit("V1", 100, borrower="B-1"), visit("V2", 200, borrower="B-1")],
        [agent("A1")],
        borrowers=[BorrowerRule("B-1", max_visits=3)],
    )
    one = simple(max_per_day=1)
    assert_excluded(
        apply_policy(given, one, [elsewhere], day=DAY, timezone=SHANGHAI),
        one,
        {
            "V1": "B-1 has a visit planned on 2026-11-26; policy t allows 1 visit a day.",
            "V2": "B-1 has a visit planned on 2026-11-26; policy t allows 1 visit a day.",
        },
    )

    two = simple(max_per_day=2)
    policy_day = apply_policy(given, two, [elsewhere], day=DAY, timezone=SHANGHAI)
    assert policy_day.excluded == ()
    assert rule_of(policy_day, "B-1").max_visits == 1
    plan = plan_of(policy_day, DAY, SHANGHAI)
    assert plan.num_assigned == 1
    assert [u.reason_code for u in plan.unassigned] == [ReasonCode.BORROWER_CAP]


def test_gap_ending_in_the_repeated_hour() -> None:
    """Helsinki repeats 03:00-04:00 on 2026-10-25. A 25 h gap after 03:30 EEST the day before
    ends at 03:30 EET, the second pass; the plan's 03:30 is the first pass, an hour earlier,
    so the earliest start is 04:00."""
    tz = "Europe/Helsinki"
    plan_day = date(2026, 10, 25)
    event = visited("B-1", datetime(2026, 10, 24, 3, 30, tzinfo=ZoneInfo(tz)))
    policy = simple(min_gap_hours=25)
    given = day_input(
        [visit("V1", 100, windows=[(3 * 60, 5 * 60)], borrower="B-1")],
        [agent("A1", shift=(2 * 60, 10 * 60))],
    )
    policy_day = apply_policy(given, policy, [event], day=plan_day, timezone=tz)
    rule = rule_of(policy_day, "B-1")
    assert rule.allowed_hours == TimeWindow(4 * H, 24 * H)
    assert rule.reason.endswith("so not before 04:00")
    plan = plan_of(policy_day, plan_day, tz)
    _, stop = stops_by_visit(plan)["V1"]
    assert stop.start == 4 * H
    assert plan.local_time(stop.start).astimezone(UTC) - event.at >= timedelta(hours=25)


def test_notice_ending_in_the_repeated_hour() -> None:
    """As for the gap: 25 h notice after 03:30 EEST ends in the second pass of 03:30 on
    2026-10-25, so the appointment's window 03:00-05:00 is cut to 04:00-05:00."""
    tz = "Europe/Helsinki"
    plan_day = date(2026, 10, 25)
    agreed = datetime(2026, 10, 24, 3, 30, tzinfo=ZoneInfo(tz))
    given = day_input(
        [visit("V1", 100, windows=[(3 * 60, 5 * 60)], appointment=True, borrower="B-1")],
        [agent("A1", shift=(2 * 60, 10 * 60))],
        agreed_at={"V1": agreed},
    )
    policy_day = apply_policy(given, simple(min_notice_hours=25), [], day=plan_day, timezone=tz)
    (cut,) = policy_day.day_input.visits
    assert cut.windows == (TimeWindow(4 * H, 5 * H),)
    plan = plan_of(policy_day, plan_day, tz)
    _, stop = stops_by_visit(plan)["V1"]
    assert plan.local_time(stop.start).astimezone(UTC) - agreed >= timedelta(hours=25)


def test_notice_for_an_appointment_without_windows() -> None:
    """An appointment agreed for any time of the day gets one window from the end of the
    notice on (2 h after 08:00: from 10:00)."""
    policy = simple(min_notice_hours=2)
    given = day_input(
        [visit("V1", 100, appointment=True, borrower="B-1")],
        [agent("A1")],
        agreed_at={"V1": at(DAY, 8)},
    )
    policy_day = apply_policy(given, policy, [], day=DAY, timezone=SHANGHAI)
    assert policy_day.excluded == ()
    (cut,) = policy_day.day_input.visits
    assert cut.windows == (TimeWindow(10 * H, 48 * H),)
    _, stop = stops_by_visit(plan_of(policy_day, DAY, SHANGHAI))["V1"]
    assert stop.start == 10 * H
