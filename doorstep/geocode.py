"""Find addresses on the map, each once: a Nominatim service behind a rate limit and a cache.

`Geocoder` is the `geocode` callable `csvio.read_visits` takes. It asks a Nominatim service
(a self-hosted one, or a public one within its usage policy: at most one request a second) and
remembers every answer, "not found" included, in a cache the caller provides: any
`MutableMapping` from `address_key(address)` to `(lat, lon)` or None, so a database table can
back it and each address is looked up once across runs.

Addresses are borrower data. They go to the configured service and nowhere else: never into
an exception message or a log record. The cache stores a hash of the address, not its text, and
geopy's own log records (its debug record holds the request URL, with the address) are dropped.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import MutableMapping, Sequence
from urllib.parse import urlsplit

from geopy.adapters import AdapterHTTPError, URLLibAdapter
from geopy.exc import (
    GeocoderAuthenticationFailure,
    GeocoderInsufficientPrivileges,
    GeocoderParseError,
    GeocoderQuotaExceeded,
    GeocoderTimedOut,
    GeopyError,
)
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim

from optimizer.model import Location

__all__ = [
    "DEFAULT_MIN_DELAY_S",
    "GeocodeCache",
    "Geocoder",
    "GeocoderError",
    "address_key",
    "geocoder_from_settings",
]

DEFAULT_MIN_DELAY_S = 1.0
"""Seconds between two requests: the public Nominatim's usage policy allows one a second."""
DEFAULT_TIMEOUT_S = 10.0
USER_AGENT = "doorstep/0.1 (home-visit route planning)"
URL_SETTING = "DOORSTEP_GEOCODER_URL"
MIN_DELAY_SETTING = "DOORSTEP_GEOCODER_MIN_DELAY"

GeocodeCache = MutableMapping[str, tuple[float, float] | None]
"""`address_key(address)` -> (lat, lon), or None for an address the geocoder did not find."""

_GEOPY_LOGGER = "geopy"


class GeocoderError(ValueError):
    """The geocoding service did not answer usably. The message names the service's URL and
    what to do; it never holds an address."""


def address_key(address: str) -> str:
    """The cache key of an address: SHA-256 hex of it stripped, spaces collapsed, casefolded.

    "Aleksanterinkatu 52" and " ALEKSANTERINKATU  52" share one key, so one lookup.
    """
    return hashlib.sha256(_normalised(address).casefold().encode("utf-8")).hexdigest()


def _normalised(address: str) -> str:
    return " ".join(address.split())


class Geocoder:
    """Looks addresses up on a Nominatim service, at most one request per `min_delay` seconds,
    each address once (see the module docstring).

    Parameters
    ----------
    url
        The service's base URL, e.g. ``http://127.0.0.1:8080`` or
        ``https://nominatim.example.com/nominatim``; requests go to ``<url>/search``.
    min_delay
        Seconds between the starts of two requests (`DEFAULT_MIN_DELAY_S`).
    cache
        Where answers are kept (`GeocodeCache`); a fresh dict when not given.
    timeout
        Seconds to wait for one answer.
    country_codes
        ISO 3166-1 alpha-2 codes the results are limited to, e.g. ``("fi",)``.
    viewbox
        Two opposite corners of an area whose results are preferred (not required).
    user_agent
        How requests identify the application, as the usage policy asks.

    Raises
    ------
    ValueError
        For a URL that is not an http(s) URL of a service, or a negative delay.
    """

    def __init__(
        self,
        url: str,
        *,
        min_delay: float = DEFAULT_MIN_DELAY_S,
        cache: GeocodeCache | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        country_codes: Sequence[str] = (),
        viewbox: tuple[Location, Location] | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        scheme, domain = _split_url(url)
        if not (min_delay >= 0 and math.isfinite(min_delay)):
            msg = f"geocoder min_delay {min_delay} must be 0 or more seconds ({MIN_DELAY_SETTING})"
            raise ValueError(msg)
        if not timeout > 0:
            msg = f"geocoder timeout {timeout} must be more than 0 seconds"
            raise ValueError(msg)
        self.url = f"{scheme}://{domain}"
        self.cache: GeocodeCache = {} if cache is None else cache
        self._timeout = timeout
        self._options: dict[str, object] = {}
        if country_codes:
            self._options["country_codes"] = [code.lower() for code in country_codes]
        if viewbox is not None:
            self._options["viewbox"] = [(corner.lat, corner.lon) for corner in viewbox]
        _silence_geopy_logs()
        nominatim = Nominatim(
            domain=domain,
            scheme=scheme,
            timeout=timeout,
            user_agent=user_agent,
            adapter_factory=URLLibAdapter,  # urllib logs nothing; requests' urllib3 logs URLs
        )
        # No retries and no swallowed errors: geopy logs the call's arguments (the address)
        # when it retries or swallows.
        self._search = RateLimiter(
            nominatim.geocode, min_delay_seconds=min_delay, max_retries=0, swallow_exceptions=False
        )

    def __call__(self, address: str) -> Location | None:
        """Where `address` is, or None when the service finds no place for it (or it is blank).

        Raises
        ------
        GeocoderError
            When the service cannot be reached or answers with an error; nothing is cached.
        """
        query = _normalised(address)
        if not query:
            return None
        key = address_key(query)
        try:
            cached = self.cache[key]
        except KeyError:
            pass
        else:
            return None if cached is None else Location(*cached)
        found = self._ask(query)
        self.cache[key] = None if found is None else (found.lat, found.lon)
        return found

    def _ask(self, query: str) -> Location | None:
        try:
            place = self._search(query, exactly_one=True, **self._options)
        except GeopyError as exc:
            # `from None`: geopy's own exception text may hold the request URL (the address).
            raise GeocoderError(self._failure(exc)) from None
        if place is None:
            return None
        try:
            return Location(float(place.latitude), float(place.longitude))
        except (TypeError, ValueError):
            msg = (
                f"the geocoder at {self.url} answered with a place without valid coordinates; "
                f"check that {URL_SETTING} points at a Nominatim service"
            )
            raise GeocoderError(msg) from None

    def _failure(self, exc: GeopyError) -> str:
        """What went wrong and what to do, from the kind of error only (never its text)."""
        cause = exc.__cause__
        status = f" (HTTP {cause.status_code})" if isinstance(cause, AdapterHTTPError) else ""
        head = f"the geocoder at {self.url} did not answer"
        if isinstance(exc, GeocoderTimedOut):
            return (
                f"{head} within {self._timeout:g} s; check that the service is running and "
                f"reachable, or give lat and lon in the file"
            )
        if isinstance(exc, GeocoderQuotaExceeded):
            return (
                f"{head}: it refused the request as one too many{status}; raise "
                f"{MIN_DELAY_SETTING} (seconds between requests) or try again later"
            )
        if isinstance(exc, GeocoderAuthenticationFailure | GeocoderInsufficientPrivileges):
            return f"{head}: it refused access{status}; check that this server may use it"
        if isinstance(exc, GeocoderParseError):
            return (
                f"{head} with Nominatim JSON; check that {URL_SETTING} points at a Nominatim "
                "service (its /search must be below the URL)"
            )
        return (
            f"{head}{status or ' (unreachable or failing)'}; check {URL_SETTING} and that the "
            "service is running, or give lat and lon in the file"
        )


def geocoder_from_settings(
    url: str | None, min_delay: float, cache: GeocodeCache | None
) -> Geocoder | None:
    """The geocoder the settings configure, or None when no URL is set (geocoding is off).

    `url` and `min_delay` are the values of DOORSTEP_GEOCODER_URL and
    DOORSTEP_GEOCODER_MIN_DELAY; `cache` is where answers are kept (e.g. the database's
    geocode_cache table behind a `MutableMapping`).
    """
    if url is None or not url.strip():
        return None
    return Geocoder(url, min_delay=min_delay, cache=cache)


def _split_url(url: str) -> tuple[str, str]:
    """The scheme and the domain-with-path geopy's Nominatim takes; ValueError for a bad URL."""
    text = url.strip()
    parts = urlsplit(text)
    example = "e.g. http://127.0.0.1:8080 or https://nominatim.example.com"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"geocoder URL {text!r} is not an http(s) URL of a service; {example}"
        raise ValueError(msg)
    if parts.username is not None or parts.password is not None:
        msg = "the geocoder URL must not hold a user name or password; remove them from it"
        raise ValueError(msg)
    if parts.query or parts.fragment:
        msg = f"geocoder URL {text!r} must not have a query (?) or fragment (#); {example}"
        raise ValueError(msg)
    path = parts.path.rstrip("/")
    path = path.removesuffix("/search")  # the service's base, whichever of the two is given
    return parts.scheme, f"{parts.netloc}{path}"


class _DropAll(logging.Filter):
    """Drops every record: geopy's records may hold the request URL, so the address."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _silence_geopy_logs() -> None:
    logger = logging.getLogger(_GEOPY_LOGGER)
    if not any(isinstance(f, _DropAll) for f in logger.filters):
        logger.addFilter(_DropAll())
