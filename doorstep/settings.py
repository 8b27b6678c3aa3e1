"""Settings from the environment, every one prefixed `DOORSTEP_` and documented here only.

| variable | default | meaning |
| --- | --- | --- |
| `DOORSTEP_CACHE_DIR` | `~/.cache/doorstep` | road graphs (GraphML) and travel matrices, keyed by content |
| `DOORSTEP_TIME_LIMIT` | `20` | default solver time limit per region-day, seconds |
| `DOORSTEP_TIMEZONE` | `Europe/Helsinki` | default time zone of a region (the sample city's) |
| `DOORSTEP_MAX_SNAP_M` | `250` | an address farther than this from every road of a mode has no road connection for it |
| `DOORSTEP_DATABASE_URL` | `sqlite:///` + `~/.local/share/doorstep/doorstep.db` | the database: `sqlite:///path` for one machine, `postgresql://user:password@host:5432/db` in production; create or upgrade it with `doorstep db upgrade` |
| `DOORSTEP_POLICY` | `cn` | contact policy of a new region and of `doorstep plan --visits`: layer names joined by `+`, e.g. `us+acme` |
| `DOORSTEP_POLICY_DIR` | none | a folder of the lender's own policy files (`NAME.toml`), searched before the presets |
| `DOORSTEP_GEOCODER_URL` | none (off) | a Nominatim service, e.g. `https://nominatim.example.com`, that locates imported addresses without coordinates |
| `DOORSTEP_GEOCODER_MIN_DELAY` | `1.0` | seconds between two geocoder requests (Nominatim's usage policy) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PREFIX = "DOORSTEP_"


def default_database_url() -> str:
    """A SQLite file in the user's data folder: works on a fresh machine with no server."""
    return "sqlite:///" + str(Path.home() / ".local" / "share" / "doorstep" / "doorstep.db")


@dataclass(frozen=True)
class Settings:
    """What the application needs from its environment; built once by the CLI."""

    cache_dir: Path
    time_limit: float = 20.0
    timezone: str = "Europe/Helsinki"
    max_snap_m: float = 250.0
    # repr=False: the URL may carry a password, and settings do get printed and logged.
    database_url: str = field(default_factory=default_database_url, repr=False)
    policy: str = "cn"
    policy_dir: Path | None = None
    geocoder_url: str | None = None
    geocoder_min_delay: float = 1.0

    def __post_init__(self) -> None:
        if self.time_limit <= 0:
            msg = f"{PREFIX}TIME_LIMIT must be a positive number of seconds, got {self.time_limit}"
            raise ValueError(msg)
        if self.max_snap_m <= 0:
            msg = f"{PREFIX}MAX_SNAP_M must be positive metres, got {self.max_snap_m}"
            raise ValueError(msg)
        check_timezone(self.timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        cache = env.get(f"{PREFIX}CACHE_DIR") or str(Path.home() / ".cache" / "doorstep")
        policy_dir = env.get(f"{PREFIX}POLICY_DIR")
        return cls(
            cache_dir=Path(cache).expanduser(),
            time_limit=_number(env, "TIME_LIMIT", 20.0),
            timezone=env.get(f"{PREFIX}TIMEZONE") or "Europe/Helsinki",
            max_snap_m=_number(env, "MAX_SNAP_M", 250.0),
            database_url=env.get(f"{PREFIX}DATABASE_URL") or default_database_url(),
            policy=env.get(f"{PREFIX}POLICY") or "cn",
            policy_dir=Path(policy_dir).expanduser() if policy_dir else None,
            geocoder_url=env.get(f"{PREFIX}GEOCODER_URL") or None,
            geocoder_min_delay=_number(env, "GEOCODER_MIN_DELAY", 1.0),
        )


def check_timezone(name: str) -> str:
    """Raise ValueError unless `name` is an IANA time zone such as Europe/Helsinki."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"unknown time zone {name!r}; use an IANA name such as Europe/Helsinki"
        raise ValueError(msg) from None
    return name


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(PREFIX + name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        msg = f"{PREFIX}{name}={raw!r} is not a number"
        raise ValueError(msg) from None
