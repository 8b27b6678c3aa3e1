"""The geocoder's cache in the database, so each address is looked up once per installation."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from sqlalchemy import Engine, select

from doorstep.db.engine import session_scope
from doorstep.db.models import GeocodeResult


class DatabaseGeocodeCache(MutableMapping[str, tuple[float, float] | None]):
    """`doorstep.geocode.Geocoder`'s cache on the `geocode_cache` table, keyed by the
    address's SHA-256 (the address text is not stored). Each answer is committed at once, in
    its own transaction: a lookup paid for (Nominatim allows one a second) is kept even when
    the import that asked for it is refused. Use it before the import's own transaction
    starts, so that an SQLite writer never waits for itself."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __getitem__(self, key: str) -> tuple[float, float] | None:
        with session_scope(self._engine) as session:
            row = session.get(GeocodeResult, key)
            if row is None:
                raise KeyError(key)
            if row.lat is None or row.lon is None:
                return None
            return (row.lat, row.lon)

    def __setitem__(self, key: str, value: tuple[float, float] | None) -> None:
        lat, lon = value if value is not None else (None, None)
        with session_scope(self._engine) as session:
            session.merge(GeocodeResult(query_sha256=key, lat=lat, lon=lon))

    def __delitem__(self, key: str) -> None:
        with session_scope(self._engine) as session:
            row = session.get(GeocodeResult, key)
            if row is None:
                raise KeyError(key)
            session.delete(row)

    def __iter__(self) -> Iterator[str]:
        with session_scope(self._engine) as session:
            keys = session.scalars(select(GeocodeResult.query_sha256)).all()
        return iter(keys)

    def __len__(self) -> int:
        return sum(1 for _ in self)
