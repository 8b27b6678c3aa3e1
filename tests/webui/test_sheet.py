"""The printable route sheet of a team: its stops in order, breaks, totals, escaping, audit."""

from __future__ import annotations

import copy
import re

from flask import Flask
from sqlalchemy import Engine, select

from doorstep.db import models as m
from doorstep.db.engine import session_scope
from tests.webui.conftest import sign_in
from tests.webui.site import DAY, NORTH_PLAN, iso, store_plan

SHEET = f"/dispatch/north/{DAY.isoformat()}/sheet"


def test_the_sheet_lists_a_teams_stops_in_order(app: Flask, engine: Engine) -> None:
    """Team A1's sheet: N-V1 then N-V2 with window, ETA, address, borrower, kind and
    duration; nothing of team A2; the view is audited without borrower data."""
    response = sign_in(app.test_client(), "disp").get(f"{SHEET}/A1")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert re.findall(r'data-visit="([^"]+)"', html) == ["N-V1", "N-V2"]
    first = html[html.index('data-visit="N-V1"') : html.index('data-visit="N-V2"')]
    for text in ("10:00–11:00", "Street 1 of N-V1", "B1", "appointment", "30 min"):
        assert text in first
    assert "N-V3" not in html
    assert 'id="totals"' in html and "Aino" in html
    with session_scope(engine) as session:
        entry = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "view_sheet")
        ).one()
        assert (entry.actor, entry.entity_id) == ("web:disp", "north/2026-11-24/A1")
        assert "Street" not in str(entry.detail) and "B1" not in str(entry.detail)


def test_the_sheet_escapes_imported_text_and_shows_breaks(app: Flask, engine: Engine) -> None:
    """Addresses come from imported files: markup in them is printed, never run."""
    document = copy.deepcopy(NORTH_PLAN)
    route = document["routes"][0]
    route["stops"][1]["address"] = '<script>alert("x")</script> & Co'
    route["breaks"] = [{"start": iso("10:35"), "end": iso("10:55")}]
    with session_scope(engine) as session:
        store_plan(session, document, "current")
    html = sign_in(app.test_client(), "admin").get(f"{SHEET}/A1").get_data(as_text=True)
    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
    body = html[html.index("<tbody>") :]
    # The break sits between the two visits, in time order.
    assert (
        body.index('data-visit="N-V1"')
        < body.index("10:35–10:55")
        < body.index('data-visit="N-V2"')
    )


def test_the_sheet_in_chinese_and_unknown_teams(app: Flask) -> None:
    """The sheet speaks the browser's language; an unknown team, a bad day or status do not."""
    client = sign_in(app.test_client(), "disp")
    html = client.get(f"{SHEET}/A2", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "路线单" in html and 'data-visit="N-V3"' in html
    assert client.get(f"{SHEET}/nobody").status_code == 404
    assert client.get("/dispatch/north/2026-13-01/sheet/A1").status_code == 400
    assert client.get(f"{SHEET}/A1?status=draft").status_code == 400
