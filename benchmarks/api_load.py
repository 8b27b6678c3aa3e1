"""API latency under concurrent clients, against a real server on 127.0.0.1 only.

Sets up the sample day the way `doorstep demo` does (a fresh SQLite database in a temporary
folder), publishes it, makes one dispatcher and one account per agent of the first crews with
API tokens, serves the app with the same threaded WSGI server as `doorstep serve`, and lets
N clients (default 20) call the API in a loop for a while: the dispatcher's plan and regions,
the agent's own route, and outcomes (each a new one, so every write is real). Reports each
endpoint's count, median, 95th and 99th percentile latency and errors, and the total rate,
to `benchmarks/results/api_load.md`.

Run: make bench-api (or python -m benchmarks.api_load --clients 20 --seconds 30)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from werkzeug.serving import make_server

from doorstep.accounts import create_token, create_user
from doorstep.cli import main
from doorstep.db.engine import make_engine, session_scope
from doorstep.settings import Settings
from webui import create_app

DAY = "2026-11-24"
REGION = "helsinki-sample"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Helsinki"))
RESULTS = Path(__file__).resolve().parent / "results" / "api_load.md"


@dataclass
class Tally:
    """Latencies (s) and errors per endpoint, shared by the client threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, seconds: float, result: str) -> None:
        with self.lock:
            self.latencies[name].append(seconds)
            if result != "ok":
                self.errors[name][result] = self.errors[name].get(result, 0) + 1


def build_site(folder: Path) -> tuple[Settings, str, list[tuple[str, list[str]]]]:
    """The planned and published sample day; the dispatcher's token and (token, visit ids)
    for each agent account."""
    url = f"sqlite:///{folder / 'doorstep.db'}"
    env = {
        "DOORSTEP_DATABASE_URL": url,
        "DOORSTEP_CACHE_DIR": str(folder / "cache"),
        "DOORSTEP_TIME_LIMIT": "5",
    }
    result = CliRunner().invoke(main, ["demo", "--out", str(folder / "out")], env=env)
    if result.exit_code != 0:
        raise SystemExit(result.output)
    plan = json.loads((folder / "out" / "plan.json").read_text(encoding="utf-8"))
    engine = make_engine(url)
    agents: list[tuple[str, list[str]]] = []
    with session_scope(engine) as session:
        create_user(
            session,
            "dina",
            "load-test-password",
            role="dispatcher",
            regions=[REGION],
            actor="bench",
        )
        dispatcher = create_token(session, "dina", actor="bench")
        for route in plan["routes"][:10]:
            if not route["stops"]:
                continue
            agent_id = route["agent_ids"][0]
            name = f"agent-{agent_id.lower()}"
            create_user(
                session, name, "load-test-password", role="agent", agent_id=agent_id, actor="bench"
            )
            token = create_token(session, name, actor="bench")
            agents.append((token, [s["visit_id"] for s in route["stops"]]))
    engine.dispose()
    settings = Settings(cache_dir=folder / "cache", database_url=url, secret_key="bench")
    return settings, dispatcher, agents


def call(base: str, token: str, method: str, path: str, body: dict | None = None) -> str:
    """ "ok", or what went wrong: the HTTP status or the error's kind."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return "ok"
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        return type(exc).__name__


def client(
    k: int,
    base: str,
    dispatcher: str,
    agents: list[tuple[str, list[str]]],
    until: float,
    tally: Tally,
) -> None:
    """One client: dispatchers read plans, agents read their route and record outcomes."""
    token, visits = agents[k % len(agents)]
    n = 0
    while time.monotonic() < until:
        n += 1
        calls: list[tuple[str, str, str, str, dict[str, str] | None]]
        if k % 4 == 0:
            calls = [
                ("GET plan", dispatcher, "GET", f"/api/v1/regions/{REGION}/days/{DAY}/plan", None),
                ("GET regions", dispatcher, "GET", "/api/v1/regions", None),
            ]
        else:
            outcome = {
                "id": str(uuid.uuid4()),
                "visit_id": visits[n % len(visits)],
                "outcome": "not_home",
                "note": "bench",
            }
            calls = [
                ("GET me/route", token, "GET", "/api/v1/me/route", None),
                ("POST me/outcomes", token, "POST", "/api/v1/me/outcomes", outcome),
            ]
        for name, who, method, path, body in calls:
            started = time.perf_counter()
            result = call(base, who, method, path, body)
            tally.add(name, time.perf_counter() - started, result)


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings, dispatcher, agents = build_site(Path(tmp))
        app = create_app(settings, {"RATELIMIT_ENABLED": False}, clock=lambda: NOW)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        published = call(base, dispatcher, "POST", f"/api/v1/regions/{REGION}/days/{DAY}/publish")
        if published != "ok":
            raise SystemExit(f"publishing the sample day failed: {published}")
        tally = Tally()
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=client, args=(k, base, dispatcher, agents, until, tally))
            for k in range(args.clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        server.shutdown()
    write(tally, args, wall)


def write(tally: Tally, args: argparse.Namespace, wall: float) -> None:
    total = sum(len(v) for v in tally.latencies.values())
    lines = [
        f"API latency, {args.clients} concurrent clients for {wall:.0f} s against `doorstep "
        f"serve`'s threaded server on 127.0.0.1, SQLite, the sample day ({os.cpu_count()} "
        f"cores, {platform.python_version()}, clients on the same machine). "
        f"{total} requests, {total / wall:.1f} per second.",
        "",
        "| endpoint | requests | median ms | p95 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in sorted(tally.latencies):
        values = sorted(tally.latencies[name])
        q = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
        lines.append(
            f"| {name} | {len(values)} | {1000 * statistics.median(values):.0f} | "
            f"{1000 * q[94]:.0f} | {1000 * q[98]:.0f} | {_errors(tally.errors.get(name, {}))} |"
        )
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


def _errors(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} × {kind}" for kind, n in sorted(counts.items())) or "0"


if __name__ == "__main__":
    main_()
