"""`doorstep import` on SQLite and PostgreSQL: all or nothing, idempotent, every problem named."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from doorstep import importer
from doorstep.db import models as m
from doorstep.db.days import UnknownRegionError, load_day
from doorstep.db.engine import session_scope
from doorstep.errors import InputError
from doorstep.importer import import_files
from doorstep.regions import upsert_region

DAY = date(2026, 11, 24)

AGENTS = """\
agent_id,name,mode,start_lat,start_lon,start_label,shift_start,shift_end,breaks,skills,crew_id
A1,Aino,drive,60.1686,24.9312,office,08:00,17:00,11:30-13:30/30,lang:fi;senior,C1
A2,Ben,drive,60.1686,24.9312,office,08:00,17:00,,lang:en,C1
A3,Chen,walk,60.1641,24.9402,home,09:00,18:00,,lang:fi,
"""

VISITS = """\
visit_id,borrower_id,lat,lon,address,duration_min,kind,windows,priority,crew_size,agreed_at,borrower_flags
V1,B1,60.1699,24.9384,Street 1,30,appointment,09:00-10:00,50,2,2026-11-20T15:30+02:00,
V2,B2,60.1675,24.9460,Street 2,45,flexible,,20,1,,vulnerable
V3,B1,60.1680,24.9400,Street 3,30,flexible,,10,1,,
"""

HISTORY = """\
event_id,borrower_id,at,channel,outcome,visit_id,agent_id,note
E1,B1,2026-11-19T10:00+02:00,visit,met,V0,A1,
E2,B9,2026-11-20T12:00Z,call,answered,,,
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def region(engine: Engine) -> str:
    upsert_region(engine, "hki", timezone="Europe/Helsinki", country="FI", policy="cn")
    return "hki"


def counts(engine: Engine) -> dict[str, int]:
    tables = (m.Agent, m.Crew, m.Visit, m.Borrower, m.ContactEvent, m.AuditEntry)
    with session_scope(engine) as session:
        return {
            t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0
            for t in tables
        }


def run(engine: Engine, paths: list[Path], region: str | None = "hki") -> list[str]:
    reports = import_files(engine, paths, region_id=region, day=DAY, actor="test")
    return [str(r) for r in reports]


def test_import_all_three_files_and_load_them_back(
    engine: Engine, region: str, tmp_path: Path
) -> None:
    files = [write(tmp_path, n, t) for n, t in [("h.csv", HISTORY), ("v.csv", VISITS)]]
    files.append(write(tmp_path, "a.csv", AGENTS))
    reports = run(engine, files)
    # Agents first whatever the order given: visits may name them.
    assert reports == [
        "a.csv (agents): 3 added, 0 changed, 0 unchanged",
        "v.csv (visits): 3 added, 0 changed, 0 unchanged",
        "h.csv (history): 2 added, 0 changed, 0 unchanged",
    ]
    with session_scope(engine) as session:
        stored = load_day(session, region, DAY, lookback=10)
        events = session.scalars(select(m.ContactEvent).order_by(m.ContactEvent.id)).all()
        audit = session.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id)).all()
        assert [e.at for e in events] == [
            datetime(2026, 11, 19, 8, 0, tzinfo=UTC),
            datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
        ]
        assert [(a.action, a.entity, a.detail.get("added")) for a in audit][-3:] == [
            ("import", "agents", 3),
            ("import", "visits", 3),
            ("import", "history", 2),
        ]
        # The audit log holds counts and file names, never borrower data.
        assert all("Street" not in str(a.detail) for a in audit)
    day_input = stored.day_input
    assert [v.id for v in day_input.visits] == ["V1", "V2", "V3"]
    assert [c.agent_ids for c in day_input.crews] == [("A1", "A2")]
    assert day_input.agreed_at == {"V1": datetime(2026, 11, 20, 13, 30, tzinfo=UTC)}
    assert day_input.borrower_flags == {"B2": frozenset({"vulnerable"})}
    assert day_input.addresses["V2"] == "Street 2"
    assert [(e.borrower_id, e.at.date()) for e in stored.history] == [("B1", date(2026, 11, 19))]


def test_reimporting_the_same_files_changes_nothing(
    engine: Engine, region: str, tmp_path: Path
) -> None:
    files = [write(tmp_path, n, t) for n, t in [("a.csv", AGENTS), ("v.csv", VISITS)]]
    files.append(write(tmp_path, "h.csv", HISTORY))
    run(engine, files)
    before = counts(engine)
    with session_scope(engine) as session:
        stamps = {v.id: v.updated_at for v in session.scalars(select(m.Visit)).all()}
    assert run(engine, files) == [
        "a.csv (agents): 0 added, 0 changed, 3 unchanged",
        "v.csv (visits): 0 added, 0 changed, 3 unchanged",
        "h.csv (history): 0 added, 0 changed, 2 unchanged",
    ]
    after = counts(engine)
    assert after["audit_log"] == before["audit_log"] + 3
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }
    with session_scope(engine) as session:
        assert {v.id: v.updated_at for v in session.scalars(select(m.Visit)).all()} == stamps


def test_a_changed_row_updates_its_record(engine: Engine, region: str, tmp_path: Path) -> None:
    run(engine, [write(tmp_path, "a.csv", AGENTS), write(tmp_path, "v.csv", VISITS)])
    moved = VISITS.replace("09:00-10:00,50", "14:00-15:00,60")
    assert run(engine, [write(tmp_path, "v.csv", moved)]) == [
        "v.csv (visits): 0 added, 1 changed, 2 unchanged"
    ]
    with session_scope(engine) as session:
        visit = session.get(m.Visit, "V1")
        assert visit is not None
        assert (visit.windows, visit.priority) == ([[14 * 3600, 15 * 3600]], 60)


def test_bad_rows_in_several_files_are_all_reported_and_nothing_is_imported(
    engine: Engine, region: str, tmp_path: Path
) -> None:
    agents = AGENTS.replace("08:00,17:00,11:30", "08:00,07:00,11:30")
    visits = VISITS.replace("2026-11-20T15:30+02:00", "2026-11-20 15:30").replace("V3,B1", "V2,B1")
    history = HISTORY.replace("call,answered", "fax,answered")
    files = [
        write(tmp_path, "agents.csv", agents),
        write(tmp_path, "visits.csv", visits),
        write(tmp_path, "history.csv", history),
    ]
    before = counts(engine)
    with pytest.raises(InputError) as caught:
        run(engine, files)
    where = {(p.file, p.row, p.field) for p in caught.value.problems}
    assert ("agents.csv", 2, "shift_end") in where
    assert ("visits.csv", 2, "agreed_at") in where
    assert ("visits.csv", 4, "visit_id") in where
    assert ("history.csv", 3, "channel") in where
    assert counts(engine) == before


def test_visits_need_region_and_day_and_a_known_region(engine: Engine, tmp_path: Path) -> None:
    visits = write(tmp_path, "visits.csv", VISITS)
    with pytest.raises(InputError, match="visits need --region"):
        import_files(engine, [visits], region_id=None, day=DAY, actor="test")
    with pytest.raises(InputError, match="visits need --day"):
        import_files(engine, [visits], region_id="hki", day=None, actor="test")
    with pytest.raises(UnknownRegionError, match="unknown region 'nowhere'"):
        import_files(engine, [visits], region_id="nowhere", day=DAY, actor="test")


def test_visits_may_only_name_known_agents(engine: Engine, region: str, tmp_path: Path) -> None:
    visits = VISITS.replace(
        "V2,B2,60.1675,24.9460,Street 2,45,flexible,,20,1",
        "V2,B2,60.1675,24.9460,Street 2,45,flexible,,20,3",
    )
    with pytest.raises(InputError) as caught:
        run(engine, [write(tmp_path, "agents.csv", AGENTS), write(tmp_path, "v.csv", visits)])
    assert [(p.file, p.row, p.field) for p in caught.value.problems] == [("v.csv", 3, "crew_size")]


def test_an_id_of_another_region_is_refused(engine: Engine, region: str, tmp_path: Path) -> None:
    upsert_region(engine, "tku", timezone="Europe/Helsinki")
    run(engine, [write(tmp_path, "agents.csv", AGENTS)])
    before = counts(engine)
    with pytest.raises(InputError) as caught:
        run(engine, [write(tmp_path, "agents.csv", AGENTS)], region="tku")
    problems = caught.value.problems
    assert [(p.row, p.field) for p in problems][:1] == [(2, "crew_id")]
    assert "already belongs to region hki" in problems[0].message
    assert counts(engine) == before


def test_a_crash_mid_import_leaves_nothing_half_imported(
    engine: Engine, region: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(engine, [write(tmp_path, "agents.csv", AGENTS)])
    before = counts(engine)
    real = importer._import_history

    def crash(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("power cut")

    monkeypatch.setattr(importer, "_import_history", crash)
    files = [write(tmp_path, "visits.csv", VISITS), write(tmp_path, "history.csv", HISTORY)]
    with pytest.raises(RuntimeError, match="power cut"):
        run(engine, files)
    assert counts(engine) == before
    monkeypatch.setattr(importer, "_import_history", real)
    run(engine, files)
    assert counts(engine)["visits"] == 3


def test_file_kind_comes_from_the_header(tmp_path: Path) -> None:
    assert importer.file_kind(write(tmp_path, "x.csv", AGENTS)) == "agents"
    assert importer.file_kind(write(tmp_path, "y.csv", VISITS)) == "visits"
    assert importer.file_kind(write(tmp_path, "z.csv", HISTORY)) == "history"
    assert importer.file_kind(write(tmp_path, "my-visits.csv", "foo,bar\n")) == "visits"
    with pytest.raises(InputError, match="cannot tell what this file holds"):
        importer.file_kind(write(tmp_path, "w.csv", "foo,bar\n"))


def test_replace_day_cancels_visits_the_file_no_longer_lists(
    engine: Engine, region: str, tmp_path: Path
) -> None:
    run(engine, [write(tmp_path, "a.csv", AGENTS), write(tmp_path, "v.csv", VISITS)])
    shorter = write(tmp_path, "v.csv", "".join(VISITS.splitlines(keepends=True)[:3]))
    # Without --replace-day a shorter file only updates what it lists.
    assert run(engine, [shorter]) == ["v.csv (visits): 0 added, 0 changed, 2 unchanged"]
    reports = import_files(
        engine, [shorter], region_id=region, day=DAY, actor="t", replace_day=True
    )
    assert [str(r) for r in reports] == [
        "v.csv (visits): 0 added, 0 changed, 2 unchanged, 1 not listed and cancelled"
    ]
    with session_scope(engine) as session:
        assert [v.id for v in load_day(session, region, DAY, lookback=1).day_input.visits] == [
            "V1",
            "V2",
        ]
    # Listed again, the visit is open again.
    full = write(tmp_path, "v.csv", VISITS)
    import_files(engine, [full], region_id=region, day=DAY, actor="t", replace_day=True)
    with session_scope(engine) as session:
        assert len(load_day(session, region, DAY, lookback=1).day_input.visits) == 3
