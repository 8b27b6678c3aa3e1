"""`insertion_slots`: the windows a day can still keep for a new appointment, hand-checked."""

from __future__ import annotations

import dataclasses
from typing import Any

from optimizer.model import Problem, VisitKind
from optimizer.plan import Plan
from optimizer.retime import retime
from optimizer.slots import NoSlot, Slot, insert_greedily, insertion_slots
from optimizer.validate import validate
from tests.optimizer.tiny import Day, H, agent, visit, window


def day(**agent_options: Any) -> Problem:
    """Agent a at x=0, 08:00-17:00; appointment v1 at 1000 m, 09:00-09:30, 30 min; the new
    visit n at 500 m, 30 min."""
    return Day(
        [visit("v1", 1000, windows=[(9 * 60, 9 * 60 + 30)], appointment=True), visit("n", 500)],
        [agent("a", **agent_options)],
    ).problem()


def test_before_between_and_after_the_appointment() -> None:
    """Before v1 and after it the visit fits at no extra travel (it lies on the way); in
    09:00-09:10 it fits nowhere, since v1 holds 09:00-09:30 and n is 500 s away."""
    problem = day()
    found = insertion_slots(
        problem,
        {"a": ["v1"]},
        "n",
        [window(8 * 60, 8 * 60 + 10), window(9 * 60, 9 * 60 + 10), window(10 * 60, 12 * 60)],
    )
    early, middle, late = found
    assert early == Slot(window(8 * 60, 8 * 60 + 10), "a", 1, 8 * H + 500, 0, 0)
    assert isinstance(middle, NoSlot) and middle.reason_code == "full"
    assert late == Slot(window(10 * 60, 12 * 60), "a", 2, 10 * H, 0, 0)
    for slot in (early, late):
        assert isinstance(slot, Slot)
        _assert_keepable(problem, slot, ["v1"])


def test_the_cheaper_team_is_offered() -> None:
    """Two free agents: the one whose office is next to the visit gets it, and the extra
    travel is its round trip."""
    problem = Day([visit("n", 500)], [agent("far", x=5000), agent("near", x=600)]).problem()
    (slot,) = insertion_slots(problem, {}, "n", [window(10 * 60, 12 * 60)])
    assert isinstance(slot, Slot)
    assert (slot.team_id, slot.position, slot.extra_travel_s, slot.extra_distance_m) == (
        "near",
        1,
        200,
        200,
    )


def test_nobody_with_the_skill_is_said() -> None:
    """No team has the skill: every window says so, naming the skill."""
    problem = Day([visit("n", 500, required_skills=frozenset({"lang:sv"}))], [agent("a")]).problem()
    (verdict,) = insertion_slots(problem, {}, "n", [window(10 * 60, 12 * 60)])
    assert verdict == NoSlot(
        window(10 * 60, 12 * 60), "no_team", "no agent with skill lang:sv is on shift"
    )


def test_a_full_day_has_no_slot() -> None:
    """A team at its visit limit takes no more, whatever the window."""
    (verdict,) = insertion_slots(day(max_visits=1), {"a": ["v1"]}, "n", [window(10 * 60, 12 * 60)])
    assert isinstance(verdict, NoSlot) and verdict.reason_code == "full"


def test_the_shift_end_bounds_the_last_window() -> None:
    """A start at 16:45 would end after the shift (17:00): not offered; 16:00 is."""
    problem = day()
    late, later = insertion_slots(
        problem, {"a": ["v1"]}, "n", [window(16 * 60, 16 * 60), window(16 * 60 + 45, 16 * 60 + 50)]
    )
    assert isinstance(late, Slot) and late.start == 16 * H
    assert isinstance(later, NoSlot)


def test_appointments_no_plan_holds_yet_are_laid_in_first() -> None:
    """Two booked appointments and no plan: each goes where it adds least travel; one that
    clashes with both is left out, and the new visit must then fit around the two."""
    problem = Day(
        [
            visit("b1", 1000, windows=[(9 * 60, 9 * 60 + 30)], appointment=True),
            visit("b2", 2000, windows=[(10 * 60, 10 * 60 + 30)], appointment=True),
            visit("b3", 8000, windows=[(9 * 60 + 10, 9 * 60 + 20)], appointment=True),
            visit("n", 500),
        ],
        [agent("a")],
    ).problem()
    routes, left_out = insert_greedily(problem, {}, ["b1", "b2", "b3"])
    assert routes == {"a": ["b1", "b2"]} and left_out == ["b3"]
    (verdict,) = insertion_slots(problem, routes, "n", [window(9 * 60, 9 * 60 + 10)])
    assert isinstance(verdict, NoSlot)


def _assert_keepable(problem: Problem, slot: Slot, order: list[str]) -> None:
    """The visit booked in the slot's window, laid into the route: every rule holds."""
    visits = tuple(
        dataclasses.replace(v, windows=(slot.window,), kind=VisitKind.APPOINTMENT)
        if v.id == "n"
        else v
        for v in problem.visits
    )
    booked = dataclasses.replace(problem, visits=visits)
    team = next(t for t in booked.teams() if t.id == slot.team_id)
    order = [*order[: slot.position - 1], "n", *order[slot.position - 1 :]]
    route = retime(booked, team, order)
    assert not isinstance(route, str), route
    assert slot.window.contains(route.stops[slot.position - 1].start)
    plan = Plan(booked.day, booked.timezone, (route,), ())
    assert validate(booked, plan) == []
