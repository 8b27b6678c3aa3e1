"""A region-day's input fingerprint: what a batch plan was made from, so re-runs can skip it.

Running the batch for a day again must leave the stored plans as they are when nothing
they were made from changed. The fingerprint covers the region's own input: its open
visits, active agents and crews, the borrowers' rules and flags, their recorded contacts,
the region's time zone, holidays, policy (each layer's text) and network, and the solver
options. Plans of *other* regions are left out on purpose: they change as regions are
planned, and another region saved later always respects this one's stored plan, so
leaving it in place never over-visits anyone.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from doorstep.csvio import DayInput
from doorstep.db import models as m
from doorstep.db.days import lookback_days
from doorstep.db.engine import session_scope
from doorstep.stored_plans import PreparedDay

FINGERPRINT_VERSION = 1
"""Bump when the planning of a region changes so much that old batch plans must be redone."""


def input_fingerprint(
    engine: Engine, prepared: PreparedDay, stored: DayInput, options: Mapping[str, Any]
) -> str:
    """SHA-256 (hex) of everything the region's plan is made from but other regions' plans."""
    with session_scope(engine) as session:
        region = session.get(m.Region, prepared.region_id)
        borrowers = sorted({v.borrower_id for v in stored.visits})
        since = prepared.day - timedelta(days=lookback_days(prepared.policy.policy) + 1)
        contacts = session.execute(
            select(
                m.ContactEvent.id,
                m.ContactEvent.borrower_id,
                m.ContactEvent.at,
                m.ContactEvent.channel,
                m.ContactEvent.outcome,
                m.ContactEvent.visit_id,
            )
            .where(
                m.ContactEvent.borrower_id.in_(borrowers),
                m.ContactEvent.at >= datetime.combine(since, datetime.min.time()).astimezone(),
            )
            .order_by(m.ContactEvent.id)
        ).all()
        holidays = sorted(h.day.isoformat() for h in region.holidays) if region else []
        country = (region.country, region.subdivision) if region else (None, None)
    content = {
        "version": FINGERPRINT_VERSION,
        "region": prepared.region_id,
        "day": prepared.day,
        "timezone": prepared.timezone,
        "network": prepared.network,
        "country": country,
        "holidays": holidays,
        "policy": [
            (la.policy.name, la.policy.version, la.content) for la in prepared.policy.layers
        ],
        "input": stored,
        "contacts": [tuple(row) for row in contacts],
        "options": dict(options),
    }
    text = json.dumps(_canonical(content), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    """`value` as JSON-ready data that is the same in every process: sets sorted (their
    order follows string hashing, which differs per process), mappings as sorted pairs."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _canonical(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.compare
        }
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, Mapping):
        pairs = [[_canonical(k), _canonical(v)] for k, v in value.items()]
        return sorted(pairs, key=_order)
    if isinstance(value, set | frozenset):
        return sorted((_canonical(v) for v in value), key=_order)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _order(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
