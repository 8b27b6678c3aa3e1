"""Create and change regions: the unit a plan is made for (a city or branch)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select

from doorstep.contact import region_holidays
from doorstep.db import models as m
from doorstep.db.engine import session_scope
from doorstep.db.store import audit
from doorstep.policies import resolve_policy
from doorstep.settings import check_timezone

_REGION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", re.ASCII)


def upsert_region(
    engine: Engine,
    region_id: str,
    *,
    timezone: str,
    name: str = "",
    country: str | None = None,
    subdivision: str | None = None,
    policy: str = "cn",
    network: str = "sample",
    holidays: Iterable[date] = (),
    policy_dir: Path | None = None,
    actor: str = "system",
) -> bool:
    """Create the region, or bring it to these values; True when anything changed.

    Raises ValueError naming a bad id, time zone, country or policy before writing anything.
    """
    if not _REGION_ID.fullmatch(region_id):
        msg = (
            f"region id {region_id!r}: use 1-64 letters, digits, '.', '-' or '_', starting "
            "with a letter or digit"
        )
        raise ValueError(msg)
    check_timezone(timezone)
    country = country.upper() if country else None
    region_holidays(country, subdivision, {date.today().year})  # checks the calendar exists
    resolve_policy(policy, policy_dir)  # checks every layer exists and parses
    extra = sorted(set(holidays))
    values = {
        "name": name,
        "timezone": timezone,
        "country": country,
        "subdivision": subdivision,
        "policy": policy,
        "network": network,
    }
    with session_scope(engine) as session:
        region = session.get(m.Region, region_id)
        changed = region is None
        if region is None:
            region = m.Region(id=region_id, **values)
            session.add(region)
        else:
            for key, value in values.items():
                if getattr(region, key) != value:
                    setattr(region, key, value)
                    changed = True
        known = {h.day for h in region.holidays}
        for day in extra:
            if day not in known:
                region.holidays.append(m.RegionHoliday(day=day))
                changed = True
        if changed:
            audit(session, actor=actor, action="region", entity="region", entity_id=region_id)
    return changed


def list_regions(engine: Engine) -> list[m.Region]:
    with session_scope(engine) as session:
        return list(session.scalars(select(m.Region).order_by(m.Region.id)).all())
