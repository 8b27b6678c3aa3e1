"""Each constraint of the home-visit model on tiny problems with hand-checked answers."""

from __future__ import annotations

import dataclasses

from optimizer import BorrowerRule, Crew, Plan, Problem, ReasonCode, TravelMode, solve
from optimizer.validate import validate
from tests.optimizer.tiny import Day, H, M, agent, visit, window


def run(problem: Problem) -> Plan:
    """Solve deterministically and insist the plan passes the independent validator."""
    plan = solve(problem, time_limit=10, max_solutions=100)
    assert validate(problem, plan) == []
    return plan


def stops_of(plan: Plan, team_id: str) -> list[str]:
    return [s.visit_id for r in plan.routes if r.team_id == team_id for s in r.stops]


def reasons(plan: Plan) -> dict[str, ReasonCode]:
    return {u.visit_id: u.reason_code for u in plan.unassigned}


def test_single_visit_timeline_is_exact() -> None:
    """Leaving at the latest sensible time, the agent arrives exactly when the window opens."""
    day = Day([visit("V1", 600, windows=[(9 * 60, 10 * 60)], appointment=True)], [agent("A")])
    plan = run(day.problem())
    (route,) = plan.routes
    (stop,) = route.stops
    assert (stop.arrival, stop.start, stop.end) == (9 * H, 9 * H, 9 * H + 30 * M)
    assert stop.waiting == 0
    assert route.departure == 9 * H - 600
    assert route.arrival == 9 * H + 30 * M + 600
    assert (route.travel_time, route.travel_distance) == (1200, 1200)


def test_visits_on_a_line_are_served_in_order() -> None:
    """Going from 0 to an end at 1,000 m, the visits are served in the order they lie."""
    day = Day([visit(f"V{x}", x) for x in (300, 100, 200)], [agent("A", 0, end_x=1000)])
    plan = run(day.problem())
    assert plan.routes[0].travel_time == 1000
    assert stops_of(plan, "A") == ["V100", "V200", "V300"]


def test_second_window_is_used_when_the_first_is_taken() -> None:
    """A visit agreed for 09:00-09:30 or 14:00-15:00 goes in the afternoon when the
    morning is held by another appointment."""
    day = Day(
        [
            visit("AM", 10, minutes=60, windows=[(9 * 60, 9 * 60 + 5)], appointment=True),
            visit(
                "TWO",
                10,
                windows=[(9 * 60, 9 * 60 + 30), (14 * 60, 15 * 60)],
                appointment=True,
            ),
        ],
        [agent("A")],
    )
    plan = run(day.problem())
    start = {s.visit_id: s.start for r in plan.routes for s in r.stops}
    assert 14 * H <= start["TWO"] <= 15 * H


def test_appointment_beats_many_flexible_visits() -> None:
    """An agreed appointment is kept even if that costs three high-priority flexible visits."""
    flexible = [
        visit(f"F{i}", 10, minutes=55, windows=[(8 * 60, 11 * 60)], priority=100) for i in range(3)
    ]
    appointment = visit("APPT", 10, minutes=170, windows=[(8 * 60, 8 * 60 + 5)], appointment=True)
    day = Day([*flexible, appointment], [agent("A", shift=(8 * 60, 11 * 60 + 10))])
    plan = run(day.problem())
    assert stops_of(plan, "A") == ["APPT"]
    assert set(reasons(plan)) == {"F0", "F1", "F2"}
    assert set(reasons(plan).values()) == {ReasonCode.CROWDED_OUT}


def test_higher_priority_flexible_visit_wins_the_last_slot() -> None:
    """When only one of two flexible visits fits, the higher priority one is served."""
    day = Day(
        [visit("LOW", 10, minutes=60, priority=5), visit("HIGH", 500, minutes=60, priority=50)],
        [agent("A", shift=(8 * 60, 9 * 60 + 30))],
    )
    plan = run(day.problem())
    assert stops_of(plan, "A") == ["HIGH"]
    assert reasons(plan) == {"LOW": ReasonCode.CROWDED_OUT}


def test_skills_route_visit_to_qualified_agent() -> None:
    """A Swedish-speaking borrower is visited by the agent with lang:sv, even if farther."""
    day = Day(
        [visit("SV", 100, required_skills=frozenset({"lang:sv"}))],
        [agent("NEAR", 100), agent("FAR", 5000, skills=frozenset({"lang:sv"}))],
    )
    plan = run(day.problem())
    assert stops_of(plan, "FAR") == ["SV"]


def test_missing_skill_is_reported_with_the_skill() -> None:
    """A skill no agent has leaves the visit out with missing_skill, naming the skill."""
    day = Day([visit("SO", 100, required_skills=frozenset({"lang:so"}))], [agent("A")])
    plan = run(day.problem())
    (u,) = plan.unassigned
    assert u.reason_code is ReasonCode.MISSING_SKILL
    assert "lang:so" in u.reason


def test_crew_visit_goes_to_the_crew_and_crew_moves_as_one() -> None:
    """A visit needing two agents is served by the crew, whose route lists both agents."""
    day = Day(
        [visit("PAIR", 500, crew_size=2), visit("SOLO", 100)],
        [agent("A1"), agent("A2"), agent("S", 100)],
        crews=[Crew("C", ("A1", "A2"))],
    )
    plan = run(day.problem())
    crew_route = next(r for r in plan.routes if r.team_id == "C")
    assert crew_route.agent_ids == ("A1", "A2")
    assert stops_of(plan, "C") == ["PAIR"]
    assert stops_of(plan, "S") == ["SOLO"]


def test_crew_visit_without_crew_is_no_crew() -> None:
    """A crew-of-two visit with only single agents on shift gets no_crew."""
    day = Day([visit("PAIR", 500, crew_size=2)], [agent("A1"), agent("A2")])
    plan = run(day.problem())
    assert reasons(plan) == {"PAIR": ReasonCode.NO_CREW}


def test_allowed_agents_restrict_who_serves() -> None:
    """A visit only agent B may do is done by B although A is next door."""
    day = Day(
        [visit("V", 10, allowed_agents=frozenset({"B"}))],
        [agent("A", 10), agent("B", 3000)],
    )
    plan = run(day.problem())
    assert stops_of(plan, "B") == ["V"]


def test_allowed_agent_off_shift_is_agent_not_available() -> None:
    """The only allowed agent works mornings; an afternoon appointment is agent_not_available."""
    day = Day(
        [
            visit(
                "V",
                10,
                windows=[(15 * 60, 16 * 60)],
                appointment=True,
                allowed_agents=frozenset({"AM"}),
            )
        ],
        [agent("AM", shift=(8 * 60, 12 * 60)), agent("ALL")],
    )
    plan = run(day.problem())
    assert reasons(plan) == {"V": ReasonCode.AGENT_NOT_AVAILABLE}
    assert "AM" in plan.unassigned[0].reason


def test_preferred_agent_is_used_when_it_costs_little() -> None:
    """A visit preferring B goes to B when B is only slightly farther away."""
    day = Day(
        [visit("V", 100, preferred_agents=frozenset({"B"}))],
        [agent("A", 90), agent("B", 150)],
    )
    plan = run(day.problem())
    assert stops_of(plan, "B") == ["V"]


def test_preference_yields_to_large_travel_savings() -> None:
    """A preference does not send B across town when A is at the door."""
    day = Day(
        [visit("V", 100, preferred_agents=frozenset({"B"}))],
        [agent("A", 100), agent("B", 20000)],
    )
    plan = run(day.problem())
    assert stops_of(plan, "A") == ["V"]


def test_an_appointment_keeps_its_agent_before_a_flexible_visit() -> None:
    """A can take one of two visits that both prefer A: the appointment stays with A though
    giving A the flexible one would save 800 s of travel (it sticks harder than a flexible
    visit), and the construction and the search count it the same way."""
    both = frozenset({"A"})
    day = Day(
        [
            visit("P", 600, windows=[(9 * 60, 12 * 60)], appointment=True, preferred_agents=both),
            visit("F", 400, preferred_agents=both),
        ],
        [agent("A", 0, max_visits=1), agent("B", 1000)],
    )
    for plan in (run(day.problem()), solve(day.problem(), time_limit=1, max_solutions=1)):
        assert stops_of(plan, "A") == ["P"]
        assert stops_of(plan, "B") == ["F"]


def test_max_visits_caps_a_route() -> None:
    """An agent limited to two visits does two; the rest go to the other agent."""
    day = Day(
        [visit(f"V{i}", 10 * i, minutes=20) for i in range(1, 5)],
        [agent("CAP", max_visits=2), agent("OTHER", 5000)],
    )
    plan = run(day.problem())
    assert len(stops_of(plan, "CAP")) == 2
    assert len(stops_of(plan, "OTHER")) == 2


def test_max_working_time_bounds_the_route_span() -> None:
    """An agent allowed 70 minutes of work does two 30-minute visits next door, not three."""
    day = Day(
        [visit(f"V{i}", 10 * i) for i in range(1, 4)],
        [agent("A", max_working_time=70 * M)],
    )
    plan = run(day.problem())
    (route,) = plan.routes
    assert route.num_stops == 2
    assert route.arrival - route.departure <= 70 * M


def test_break_falls_in_its_window_and_between_visits() -> None:
    """A 30-min lunch in 12:00-12:30 is taken between the 11:00 and the 13:00 visits."""
    day = Day(
        [
            visit("AM", 100, minutes=60, windows=[(11 * 60, 11 * 60)], appointment=True),
            visit("PM", 100, minutes=60, windows=[(12 * 60 + 30, 13 * 60)], appointment=True),
        ],
        [agent("A", breaks=[(12 * 60, 12 * 60 + 30, 30)])],
    )
    plan = run(day.problem())
    (route,) = plan.routes
    (brk,) = route.breaks
    assert 12 * H <= brk.start <= 12 * H + 30 * M
    assert brk.end - brk.start == 30 * M
    assert brk.start >= 12 * H and brk.end <= route.stops[1].start


def test_break_makes_an_appointment_unreachable_when_it_must_sit_in_the_gap() -> None:
    """Back-to-back appointments with a mandatory break between them cannot both be kept."""
    day = Day(
        [
            visit("AM", 0, minutes=60, windows=[(11 * 60, 11 * 60)], appointment=True),
            visit("PM", 0, minutes=60, windows=[(12 * 60, 12 * 60)], appointment=True),
        ],
        [agent("A", shift=(11 * 60, 13 * 60), breaks=[(12 * 60, 12 * 60, 30)])],
    )
    plan = run(day.problem())
    (u,) = plan.unassigned
    assert u.reason_code is ReasonCode.CROWDED_OUT and u.visit_id in ("AM", "PM")


def test_borrower_cap_keeps_one_visit_per_borrower() -> None:
    """Two visits to one borrower with a cap of one: one is served, the other says why."""
    day = Day(
        [visit("V1", 100, borrower="B", priority=20), visit("V2", 200, borrower="B")],
        [agent("A")],
        borrowers=[BorrowerRule("B", max_visits=1)],
    )
    plan = run(day.problem())
    assert stops_of(plan, "A") == ["V1"]
    (u,) = plan.unassigned
    assert u.reason_code is ReasonCode.BORROWER_CAP and "V1" in u.reason


def test_borrower_with_no_visits_left_is_excluded_with_the_reason() -> None:
    """A borrower whose cap is used up is not visited, and the reason is repeated."""
    day = Day(
        [visit("V1", 100, borrower="B")],
        [agent("A")],
        borrowers=[BorrowerRule("B", max_visits=0, reason="visited on 2026-11-20")],
    )
    plan = run(day.problem())
    (u,) = plan.unassigned
    assert u.reason_code is ReasonCode.BORROWER_CAP and "2026-11-20" in u.reason


def test_borrower_allowed_hours_cut_the_windows() -> None:
    """A flexible visit to a borrower who may be visited only 15:00-16:00 starts then."""
    day = Day(
        [visit("V", 100)],
        [agent("A")],
        borrowers=[BorrowerRule("B-V", allowed_hours=window(15 * 60, 16 * 60))],
    )
    plan = run(day.problem())
    assert 15 * H <= plan.routes[0].stops[0].start <= 16 * H


def test_window_outside_allowed_hours_is_reported() -> None:
    """An appointment at 19:00 for a borrower allowed 08:00-10:00 is outside_allowed_hours."""
    day = Day(
        [visit("V", 100, windows=[(19 * 60, 20 * 60)], appointment=True)],
        [agent("A", shift=(8 * 60, 21 * 60))],
        borrowers=[BorrowerRule("B-V", allowed_hours=window(8 * 60, 10 * 60))],
    )
    plan = run(day.problem())
    assert reasons(plan) == {"V": ReasonCode.OUTSIDE_ALLOWED_HOURS}


def test_window_after_every_shift_is_no_shift_overlap() -> None:
    """An appointment at 20:00 when every shift ends at 17:00 is no_shift_overlap."""
    day = Day([visit("V", 100, windows=[(20 * 60, 20 * 60 + 30)], appointment=True)], [agent("A")])
    plan = run(day.problem())
    assert reasons(plan) == {"V": ReasonCode.NO_SHIFT_OVERLAP}


def test_window_too_early_to_reach_is_window_unreachable() -> None:
    """An 08:00-08:01 appointment 10 km (10,000 s) from the only start is unreachable."""
    day = Day([visit("V", 10000, windows=[(8 * 60, 8 * 60 + 1)], appointment=True)], [agent("A")])
    plan = run(day.problem())
    (u,) = plan.unassigned
    assert u.reason_code is ReasonCode.WINDOW_UNREACHABLE
    assert "10:46" in u.reason  # 08:00 + 10,000 s


def test_no_road_connection_is_a_reason_not_a_crash() -> None:
    """An address cut off from the road network is unassigned with no_road_connection."""
    day = Day([visit("ISLAND", 100), visit("OK", 200)], [agent("A")], unreachable={"ISLAND"})
    plan = run(day.problem())
    assert reasons(plan) == {"ISLAND": ReasonCode.NO_ROAD_CONNECTION}
    assert stops_of(plan, "A") == ["OK"]


def test_travel_mode_changes_travel_time() -> None:
    """The same leg takes a walker four times as long as a driver."""
    for mode, factor in ((TravelMode.DRIVE, 1), (TravelMode.WALK, 4)):
        plan = run(Day([visit("V", 500)], [agent("A", mode=mode)]).problem())
        assert plan.routes[0].stops[0].travel_time == 500 * factor


def test_work_is_balanced_when_travel_allows() -> None:
    """Two agents at the same office share eight nearby visits instead of one doing all."""
    day = Day(
        [visit(f"V{i}", 10 * i, minutes=20) for i in range(1, 9)],
        [agent("A"), agent("B")],
    )
    plan = run(day.problem())
    counts = sorted(len(stops_of(plan, t)) for t in ("A", "B"))
    assert counts[0] >= 3


def test_end_location_differs_from_start() -> None:
    """An agent ending at home travels there after the last visit."""
    day = Day([visit("V", 1000)], [agent("A", 0, end_x=3000)])
    plan = run(day.problem())
    route = plan.routes[0]
    assert (route.end_travel_time, route.travel_time) == (2000, 3000)


def test_deterministic_mode_repeats_exactly() -> None:
    """With a solution limit the same problem gives the same plan twice."""
    day = Day(
        [
            visit(f"V{i}", (i * 731) % 5000, windows=[(8 * 60 + i * 20, 11 * 60 + i * 20)])
            for i in range(25)
        ],
        [agent("A"), agent("B", 2500), agent("C", 5000)],
    )
    problem = day.problem()
    first = solve(problem, time_limit=30, max_solutions=50)
    second = solve(problem, time_limit=30, max_solutions=50)
    assert first.routes == second.routes and first.unassigned == second.unassigned


def test_max_working_time_counts_from_departure_not_shift_start() -> None:
    """An agent allowed 2 h of work in an 08:00-17:00 shift can still keep a 15:00 visit."""
    day = Day(
        [visit("LATE", 600, windows=[(15 * 60, 15 * 60 + 30)], appointment=True)],
        [agent("A", max_working_time=2 * H)],
    )
    plan = run(day.problem())
    assert stops_of(plan, "A") == ["LATE"]


def test_breaks_end_inside_the_shift() -> None:
    """A break whose window reaches the shift's end is still over by the end of the shift."""
    day = Day(
        [visit("V", 100, minutes=60, windows=[(14 * 60, 14 * 60)], appointment=True)],
        [agent("A", shift=(8 * 60, 16 * 60), breaks=[(14 * 60 + 30, 16 * 60, 15)])],
    )
    plan = run(day.problem())
    (route,) = plan.routes
    (brk,) = route.breaks
    assert brk.end <= 16 * H and route.arrival <= 16 * H


def test_crew_takes_every_members_break() -> None:
    """A crew whose members lunch at different times rests for both breaks."""
    day = Day(
        [visit("PAIR", 500, crew_size=2)],
        [
            agent("A1", breaks=[(11 * 60, 12 * 60, 30)]),
            agent("A2", breaks=[(13 * 60, 14 * 60, 20)]),
        ],
        crews=[Crew("C", ("A1", "A2"))],
    )
    plan = run(day.problem())
    (route,) = (r for r in plan.routes if r.stops)
    assert [b.end - b.start for b in route.breaks] == [30 * M, 20 * M]


def test_visit_must_end_inside_the_borrowers_allowed_hours() -> None:
    """A 60-minute visit to a borrower allowed until 20:00 starts by 19:00."""
    day = Day(
        [visit("V", 100, minutes=60, windows=[(18 * 60, 19 * 60 + 50)], appointment=True)],
        [agent("A", shift=(17 * 60, 21 * 60))],
        borrowers=[BorrowerRule("B-V", allowed_hours=window(8 * 60, 20 * 60))],
    )
    plan = run(day.problem())
    assert plan.routes[0].stops[0].end <= 20 * H


def test_idle_crew_member_team_is_not_routed_twice() -> None:
    """Agents in a crew appear only in the crew's route, never on their own."""
    day = Day(
        [visit("PAIR", 500, crew_size=2)],
        [agent("A1"), agent("A2")],
        crews=[Crew("C", ("A1", "A2"))],
    )
    plan = run(day.problem())
    assert [r.team_id for r in plan.routes] == ["C"]


def test_workload_limits_what_an_agent_takes() -> None:
    """Four visits of 2 points along the road, two agents who may take 4 points each: the
    nearer agent would take all four on travel alone, but each takes exactly two."""
    day = Day(
        [visit(f"V{i}", 100 * i, workload=2) for i in range(1, 5)],
        [agent("A", 0, max_workload=4), agent("B", 5000, max_workload=4)],
    )
    plan = run(day.problem())
    assert sorted(len(stops_of(plan, t)) for t in ("A", "B")) == [2, 2]
    assert plan.unassigned == ()


def test_a_visit_heavier_than_every_limit_is_over_workload() -> None:
    day = Day(
        [visit("BIG", 100, workload=5), visit("OK", 200, workload=1)], [agent("A", max_workload=3)]
    )
    plan = run(day.problem())
    assert reasons(plan) == {"BIG": ReasonCode.OVER_WORKLOAD}
    assert "5 workload points" in plan.unassigned[0].reason
    assert stops_of(plan, "A") == ["OK"]


def test_without_balance_travel_alone_decides() -> None:
    """The balancing test's day with balancing off: one agent does every nearby visit,
    because a second agent leaving the office only adds travel."""
    visits = [visit(f"V{i}", 10 * i, minutes=20) for i in range(1, 9)]
    problem = dataclasses.replace(
        Day(visits, [agent("A"), agent("B")]).problem(), balance_work=False
    )
    plan = run(problem)
    assert sorted(len(stops_of(plan, t)) for t in ("A", "B")) == [0, 8]
