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
| `DOORSTEP_DASK_SCHEDULER` | none (a local cluster) | the Dask scheduler `doorstep batch` sends regions to, e.g. `tcp://scheduler:8786`; without it the batch starts a `LocalCluster` on this machine |
| `DOORSTEP_BATCH_SPLIT_ABOVE` | `1000` | `doorstep batch` splits a region with more visits to route than this into sub-regions solved in parallel and stitched |
| `DOORSTEP_SECRET_KEY` | none (a random key per process) | signs the web app's session cookies and CSRF tokens: set a long random value in production, the same for every worker, or everyone is logged out when the server restarts |
| `DOORSTEP_TILE_URL` | none (offline base layer) | map tiles for the web app, e.g. `https://tile.openstreetmap.org/{z}/{x}/{y}.png` or the lender's tile server; without one, or when it does not answer, maps draw the region's road graph instead |
| `DOORSTEP_TILE_ATTRIBUTION` | `© OpenStreetMap contributors` | the credit line the tile server's licence asks for |
| `DOORSTEP_NAV_LINK_TEMPLATE` | `geo:{lat},{lon}?q={lat},{lon}` | the link that opens a stop in the agent's navigation app; `{lat}`, `{lon}` and `{address}` (URL-encoded) are filled in, e.g. `https://www.google.com/maps/dir/?api=1&destination={lat},{lon}` or `https://uri.amap.com/marker?position={lon},{lat}` |
| `DOORSTEP_LOGIN_LIMIT` | `5 per minute;30 per hour` | failed and successful sign-ins allowed per client address (Flask-Limiter syntax) |
| `DOORSTEP_RATELIMIT_STORAGE_URL` | `memory://` | where the web app counts sign-ins: `memory://` for one process, `redis://host:6379` when several workers must share the count |
| `DOORSTEP_SESSION_HOURS` | `12` | how long a web sign-in lasts |
| `DOORSTEP_TRUSTED_PROXIES` | `0` | reverse proxies in front of the web app (e.g. 1 for one nginx): their `X-Forwarded-For` and `X-Forwarded-Proto` are believed, so sign-in limits and logs see the client's address; leave 0 when clients connect directly, or anyone could pretend to be anyone |
| `DOORSTEP_RETENTION_DAYS` | `365` | `doorstep retention` deletes plans, planning jobs and contact events (with their notes, promises and check-in positions) older than this many days; at least 62, so every contact policy still sees the contacts it counts |
| `DOORSTEP_AUDIT_RETENTION_DAYS` | `730` | `doorstep retention` deletes audit log entries older than this many days; at least `DOORSTEP_RETENTION_DAYS` |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PREFIX = "DOORSTEP_"
MIN_RETENTION_DAYS = 62
"""The longest look-back of any contact rule (a calendar month, or a rolling 30 or 60 days)
plus a margin: contacts younger than this are never deleted."""


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
    dask_scheduler: str | None = None
    batch_split_above: int = 1000
    # repr=False: a secret, like the database URL.
    secret_key: str | None = field(default=None, repr=False)
    tile_url: str | None = None
    tile_attribution: str = "© OpenStreetMap contributors"
    nav_link_template: str = "geo:{lat},{lon}?q={lat},{lon}"
    login_limit: str = "5 per minute;30 per hour"
    ratelimit_storage_url: str = field(default="memory://", repr=False)  # may hold a password
    session_hours: float = 12.0
    trusted_proxies: int = 0
    retention_days: int = 365
    audit_retention_days: int = 730

    def __post_init__(self) -> None:
        if self.time_limit <= 0:
            msg = f"{PREFIX}TIME_LIMIT must be a positive number of seconds, got {self.time_limit}"
            raise ValueError(msg)
        if self.max_snap_m <= 0:
            msg = f"{PREFIX}MAX_SNAP_M must be positive metres, got {self.max_snap_m}"
            raise ValueError(msg)
        check_timezone(self.timezone)
        if self.batch_split_above < 1:
            msg = (
                f"{PREFIX}BATCH_SPLIT_ABOVE must be a positive number of visits, "
                f"got {self.batch_split_above}"
            )
            raise ValueError(msg)
        if self.session_hours <= 0:
            msg = f"{PREFIX}SESSION_HOURS must be a positive number of hours, got {self.session_hours}"
            raise ValueError(msg)
        if not 0 <= self.trusted_proxies <= 10:
            msg = (
                f"{PREFIX}TRUSTED_PROXIES must be the number of proxies in front of the web "
                f"app, 0 to 10, got {self.trusted_proxies}"
            )
            raise ValueError(msg)
        if self.retention_days < MIN_RETENTION_DAYS:
            msg = (
                f"{PREFIX}RETENTION_DAYS must be at least {MIN_RETENTION_DAYS} (the contact "
                f"policies count contacts that far back), got {self.retention_days}"
            )
            raise ValueError(msg)
        if self.audit_retention_days < self.retention_days:
            msg = (
                f"{PREFIX}AUDIT_RETENTION_DAYS ({self.audit_retention_days}) must be at least "
                f"{PREFIX}RETENTION_DAYS ({self.retention_days}): the log must outlive the data"
            )
            raise ValueError(msg)
        if "{lat}" not in self.nav_link_template or "{lon}" not in self.nav_link_template:
            msg = (
                f"{PREFIX}NAV_LINK_TEMPLATE={self.nav_link_template!r} needs both {{lat}} and "
                "{lon}, e.g. geo:{lat},{lon}"
            )
            raise ValueError(msg)

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
            dask_scheduler=env.get(f"{PREFIX}DASK_SCHEDULER") or None,
            batch_split_above=_whole_number(env, "BATCH_SPLIT_ABOVE", 1000),
            secret_key=env.get(f"{PREFIX}SECRET_KEY") or None,
            tile_url=env.get(f"{PREFIX}TILE_URL") or None,
            tile_attribution=env.get(f"{PREFIX}TILE_ATTRIBUTION") or "© OpenStreetMap contributors",
            nav_link_template=env.get(f"{PREFIX}NAV_LINK_TEMPLATE")
            or "geo:{lat},{lon}?q={lat},{lon}",
            login_limit=env.get(f"{PREFIX}LOGIN_LIMIT") or "5 per minute;30 per hour",
            ratelimit_storage_url=env.get(f"{PREFIX}RATELIMIT_STORAGE_URL") or "memory://",
            session_hours=_number(env, "SESSION_HOURS", 12.0),
            trusted_proxies=_whole_number(env, "TRUSTED_PROXIES", 0),
            retention_days=_whole_number(env, "RETENTION_DAYS", 365),
            audit_retention_days=_whole_number(env, "AUDIT_RETENTION_DAYS", 730),
        )

    def environ(self) -> dict[str, str]:
        """These settings as `DOORSTEP_*` variables: what a child process (a planning job
        started by the web app) needs to see exactly the settings of its parent."""
        values: dict[str, object] = {
            "CACHE_DIR": self.cache_dir,
            "TIME_LIMIT": self.time_limit,
            "TIMEZONE": self.timezone,
            "MAX_SNAP_M": self.max_snap_m,
            "DATABASE_URL": self.database_url,
            "POLICY": self.policy,
            "POLICY_DIR": self.policy_dir,
            "GEOCODER_URL": self.geocoder_url,
            "GEOCODER_MIN_DELAY": self.geocoder_min_delay,
            "DASK_SCHEDULER": self.dask_scheduler,
            "BATCH_SPLIT_ABOVE": self.batch_split_above,
            "SECRET_KEY": self.secret_key,
            "TILE_URL": self.tile_url,
            "TILE_ATTRIBUTION": self.tile_attribution,
            "NAV_LINK_TEMPLATE": self.nav_link_template,
            "LOGIN_LIMIT": self.login_limit,
            "RATELIMIT_STORAGE_URL": self.ratelimit_storage_url,
            "SESSION_HOURS": self.session_hours,
            "TRUSTED_PROXIES": self.trusted_proxies,
            "RETENTION_DAYS": self.retention_days,
            "AUDIT_RETENTION_DAYS": self.audit_retention_days,
        }
        return {PREFIX + name: str(value) for name, value in values.items() if value is not None}


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


def _whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(PREFIX + name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        msg = f"{PREFIX}{name}={raw!r} is not a whole number"
        raise ValueError(msg) from None
