"""Geocoding addresses against a real (local) Nominatim-style HTTP server (doorstep.geocode)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from doorstep.csvio import read_visits
from doorstep.errors import InputError
from doorstep.geocode import Geocoder, GeocoderError, address_key, geocoder_from_settings
from optimizer.model import Location

Write = Callable[[str, str | bytes], Path]

FAST = 0.05
"""A min_delay short enough for tests, long enough to measure."""

PLACES = {
    "Aleksanterinkatu 52": (60.1699, 24.9384),
    "Erottajankatu 9": (60.1675, 24.946),
    "Mannerheimintie 5": (60.1686, 24.9412),
}


@dataclass
class Request:
    path: str
    params: dict[str, str]
    at: float


@dataclass
class FakeNominatim:
    """A local server answering `/search` as Nominatim does (format=json)."""

    url: str
    places: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(PLACES))
    requests: list[Request] = field(default_factory=list)
    status: int = 200
    body: str | None = None
    """When set, sent instead of the JSON answer."""


def _handler(state: FakeNominatim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            state.requests.append(Request(parts.path, params, time.monotonic()))
            if state.body is not None:
                payload = state.body.encode()
            else:
                payload = json.dumps(self._answer(parts.path, params)).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _answer(self, path: str, params: dict[str, str]) -> list[dict[str, object]]:
            if not path.endswith("/search"):
                return []
            found = state.places.get(params.get("q", ""))
            if found is None:
                return []
            lat, lon = found
            return [
                {
                    "place_id": 1,
                    "licence": "Data (c) OpenStreetMap contributors, ODbL 1.0",
                    "osm_type": "node",
                    "osm_id": 42,
                    "lat": str(lat),
                    "lon": str(lon),
                    "class": "place",
                    "type": "house",
                    "place_rank": 30,
                    "importance": 0.1,
                    "addresstype": "place",
                    "name": "",
                    "display_name": f"{params['q']}, Helsinki, Suomi / Finland",
                    "boundingbox": [
                        str(lat - 1e-4),
                        str(lat + 1e-4),
                        str(lon - 1e-4),
                        str(lon + 1e-4),
                    ],
                }
            ]

        def log_message(self, format: str, *args: object) -> None:
            pass  # the request line holds the address

    return Handler


@pytest.fixture
def nominatim(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNominatim]:
    """A Nominatim-like server on 127.0.0.1 (a free port) that knows the addresses of PLACES."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    state = FakeNominatim(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _dead_url() -> str:
    """The URL of a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_finds_an_address(nominatim: FakeNominatim) -> None:
    """An address the service knows comes back as its location; the request is Nominatim's."""
    geocoder = Geocoder(nominatim.url, min_delay=0)
    assert geocoder("Aleksanterinkatu 52") == Location(60.1699, 24.9384)
    (request,) = nominatim.requests
    assert request.path == "/search"
    assert request.params == {"q": "Aleksanterinkatu 52", "format": "json", "limit": "1"}


def test_cache_avoids_second_request(nominatim: FakeNominatim) -> None:
    """The same address spaced or cased differently is looked up once, keyed by its hash."""
    cache: dict[str, tuple[float, float] | None] = {}
    geocoder = Geocoder(nominatim.url, min_delay=0, cache=cache)
    first = geocoder("Aleksanterinkatu 52")
    again = geocoder("  ALEKSANTERINKATU   52 ")
    assert first == again == Location(60.1699, 24.9384)
    assert len(nominatim.requests) == 1
    assert cache == {address_key("aleksanterinkatu 52"): (60.1699, 24.9384)}


def test_not_found_is_cached(nominatim: FakeNominatim) -> None:
    """An address the service does not find is None, and is not asked for again."""
    cache: dict[str, tuple[float, float] | None] = {}
    geocoder = Geocoder(nominatim.url, min_delay=0, cache=cache)
    assert geocoder("Nowhere street 1") is None
    assert geocoder("nowhere Street 1") is None
    assert len(nominatim.requests) == 1
    assert cache == {address_key("Nowhere street 1"): None}


def test_cache_given_by_caller_is_used(nominatim: FakeNominatim) -> None:
    """Answers already in the caller's cache (e.g. a database table) need no request."""
    cache: dict[str, tuple[float, float] | None] = {
        address_key("Kaivokatu 1"): (60.17, 24.94),
        address_key("Gone 9"): None,
    }
    geocoder = Geocoder(nominatim.url, min_delay=0, cache=cache)
    assert geocoder("Kaivokatu 1") == Location(60.17, 24.94)
    assert geocoder("Gone 9") is None
    assert nominatim.requests == []


def test_address_key_normalises() -> None:
    """The key is the SHA-256 hex of the stripped, space-collapsed, casefolded address."""
    assert address_key(" Straße  1 ") == address_key("STRASSE 1")
    assert len(address_key("x")) == 64
    assert address_key("Aleksanterinkatu 52") != address_key("Aleksanterinkatu 53")


def test_rate_limiter_spaces_requests(nominatim: FakeNominatim) -> None:
    """Requests for different addresses start at least min_delay apart."""
    geocoder = Geocoder(nominatim.url, min_delay=FAST)
    start = time.monotonic()
    for address in PLACES:
        geocoder(address)
    elapsed = time.monotonic() - start
    assert elapsed >= 2 * FAST
    arrivals = [r.at for r in nominatim.requests]
    assert len(arrivals) == 3
    # Arrival times jitter by the network's latency, far below the tolerance.
    assert all(b - a >= 0.8 * FAST for a, b in pairwise(arrivals))


def test_cached_answers_are_not_rate_limited(nominatim: FakeNominatim) -> None:
    """Only requests wait for the limiter; answers from the cache come at once."""
    geocoder = Geocoder(nominatim.url, min_delay=1.0)
    geocoder("Aleksanterinkatu 52")
    start = time.monotonic()
    for _ in range(5):
        geocoder("Aleksanterinkatu 52")
    assert time.monotonic() - start < 0.5


def test_dead_server_raises_without_the_address() -> None:
    """A service that does not answer is a GeocoderError naming its URL, never the address."""
    url = _dead_url()
    cache: dict[str, tuple[float, float] | None] = {}
    geocoder = Geocoder(url, min_delay=0, timeout=2.0, cache=cache)
    with pytest.raises(GeocoderError) as caught:
        geocoder("Secretstreet 7 B 12")
    message = str(caught.value)
    assert f"the geocoder at {url} did not answer" in message
    assert "DOORSTEP_GEOCODER_URL" in message
    assert "secretstreet" not in message.lower()
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert isinstance(caught.value, ValueError)
    assert cache == {}


@pytest.mark.parametrize(
    ("status", "fragment"),
    [
        (500, "(HTTP 500)"),
        (429, "raise DOORSTEP_GEOCODER_MIN_DELAY"),
        (403, "refused access"),
    ],
)
def test_service_errors(nominatim: FakeNominatim, status: int, fragment: str) -> None:
    """An HTTP error from the service says what it means and what to do, without the address."""
    nominatim.status = status
    nominatim.body = '{"error": "Secretstreet 7 is bad"}'
    with pytest.raises(GeocoderError) as caught:
        Geocoder(nominatim.url, min_delay=0)("Secretstreet 7")
    assert fragment in str(caught.value)
    assert "secretstreet" not in str(caught.value).lower()


def test_not_json(nominatim: FakeNominatim) -> None:
    """An answer that is not Nominatim JSON says the URL may point at something else."""
    nominatim.body = "<html>Secretstreet 7</html>"
    with pytest.raises(GeocoderError, match="points at a Nominatim service") as caught:
        Geocoder(nominatim.url, min_delay=0)("Secretstreet 7")
    assert "secretstreet" not in str(caught.value).lower()


def test_address_never_logged(nominatim: FakeNominatim, caplog: pytest.LogCaptureFixture) -> None:
    """No log record, at any level, holds the address, whether found, missing or failing."""
    caplog.set_level(logging.DEBUG)
    geocoder = Geocoder(nominatim.url, min_delay=0)
    geocoder("Aleksanterinkatu 52")
    geocoder("Secretstreet 7")
    nominatim.status = 500
    with pytest.raises(GeocoderError):
        geocoder("Hiddenroad 3")
    text = caplog.text.lower()
    for word in ("aleksanterinkatu", "secretstreet", "hiddenroad"):
        assert word not in text


def test_base_url_with_path(nominatim: FakeNominatim) -> None:
    """A service below a path is asked at <url>/search; a trailing slash or /search is fine."""
    for suffix in ("/nominatim", "/nominatim/", "/nominatim/search"):
        geocoder = Geocoder(nominatim.url + suffix, min_delay=0)
        assert geocoder.url == nominatim.url + "/nominatim"
        assert geocoder("Erottajankatu 9") == Location(60.1675, 24.946)
    assert {r.path for r in nominatim.requests} == {"/nominatim/search"}


def test_country_and_viewbox_bias(nominatim: FakeNominatim) -> None:
    """Country codes and a viewbox go to the service as Nominatim's parameters."""
    geocoder = Geocoder(
        nominatim.url,
        min_delay=0,
        country_codes=("FI",),
        viewbox=(Location(60.1, 24.8), Location(60.3, 25.1)),
    )
    geocoder("Mannerheimintie 5")
    params = nominatim.requests[0].params
    assert params["countrycodes"] == "fi"
    assert params["viewbox"] == "24.8,60.1,25.1,60.3"
    assert "bounded" not in params


@pytest.mark.parametrize(
    "url",
    [
        "nominatim.example.com",
        "ftp://nominatim.example.com",
        "http://",
        "http://user:secret@nominatim.example.com",
        "https://nominatim.example.com/?key=1",
    ],
)
def test_bad_url(url: str) -> None:
    """A URL geopy's Nominatim cannot use is a ValueError saying what to write."""
    with pytest.raises(ValueError) as caught:
        Geocoder(url)
    assert "secret" not in str(caught.value)


def test_negative_delay_refused() -> None:
    """A negative min_delay is a ValueError naming the setting."""
    with pytest.raises(ValueError, match="DOORSTEP_GEOCODER_MIN_DELAY"):
        Geocoder("http://127.0.0.1:8080", min_delay=-1)


def test_geocoder_from_settings() -> None:
    """No URL: no geocoder. A URL: a geocoder with the given delay and cache."""
    cache: dict[str, tuple[float, float] | None] = {}
    assert geocoder_from_settings(None, 1.0, cache) is None
    assert geocoder_from_settings("  ", 1.0, cache) is None
    geocoder = geocoder_from_settings("https://nominatim.example.com", 1.0, cache)
    assert geocoder is not None
    assert geocoder.url == "https://nominatim.example.com"
    assert geocoder.cache is cache


# --- read_visits with a geocoder ---------------------------------------------------------

VISITS = """\
visit_id,borrower_id,lat,lon,address,duration_min,kind,windows
V1,B1,60.17,24.94,Kaivokatu 1,30,flexible,
V2,B2,,,Aleksanterinkatu 52,30,flexible,
V3,B3,,,Erottajankatu 9,30,flexible,
"""


def test_read_visits_fills_coordinates(nominatim: FakeNominatim, write: Write) -> None:
    """Rows without lat and lon get the geocoder's location; rows with them are not looked up."""
    geocoder = Geocoder(nominatim.url, min_delay=0)
    visits = read_visits(write("visits.csv", VISITS), geocode=geocoder)
    assert [v.location for v in visits.visits] == [
        Location(60.17, 24.94),
        Location(60.1699, 24.9384),
        Location(60.1675, 24.946),
    ]
    assert [r.params["q"] for r in nominatim.requests] == ["Aleksanterinkatu 52", "Erottajankatu 9"]
    assert visits.addresses["V2"] == "Aleksanterinkatu 52"


def test_read_visits_reports_address_not_found(nominatim: FakeNominatim, write: Write) -> None:
    """An address the geocoder does not find is a problem at its row's address field."""
    del nominatim.places["Erottajankatu 9"]
    with pytest.raises(InputError) as caught:
        read_visits(write("visits.csv", VISITS), geocode=Geocoder(nominatim.url, min_delay=0))
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.field) == ("visits.csv", 4, "address")
    assert problem.message == "the geocoder found no place for this address; add lat and lon"


def test_read_visits_geocoder_down(write: Write) -> None:
    """A geocoder that does not answer stops the reading with its GeocoderError."""
    with pytest.raises(GeocoderError):
        read_visits(write("visits.csv", VISITS), geocode=Geocoder(_dead_url(), timeout=2.0))
