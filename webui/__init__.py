"""Doorstep's web app: the dispatcher's map, the agent's route on a phone, the JSON API.

`create_app(settings)` builds an app on the settings' database; `doorstep serve` runs it.
A WSGI server in production calls `create_app()` with no argument (settings from the
environment), e.g. `gunicorn 'webui:create_app()'`. The app talks to the `doorstep` package
only; it never imports the routing core or the road-graph libraries directly.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from doorstep import jobs
from doorstep.db.engine import make_engine
from doorstep.db.migrate import check_schema
from doorstep.settings import Settings
from webui.api import api_bp
from webui.api_planning import planning_bp
from webui.api_slots import slots_bp
from webui.auth import LoginForm, auth_bp, csrf, load_user, login_bp, t
from webui.i18n import CATALOGUES, LOCALES
from webui.pages import pages_bp
from webui.state import EXTENSION, WebState, current_user, web_state

log = logging.getLogger(__name__)

__all__ = ["create_app"]


def create_app(
    settings: Settings | Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Flask:
    """The web app on `settings`' database (default: `Settings.from_env()`).

    `config` overrides Flask settings (tests pass `TESTING`, `SESSION_COOKIE_SECURE`,
    `RATELIMIT_ENABLED`, ...); a mapping given as the only argument is taken as `config`.
    `clock` returns the aware current instant (default: the system clock), which decides
    what "today" is for agents. Raises `doorstep.db.engine.DatabaseUnavailable` when the
    database does not answer or needs `doorstep db upgrade`.
    """
    if isinstance(settings, Mapping):
        settings, config = None, settings
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    secret = settings.secret_key
    if not secret:
        log.warning(
            "DOORSTEP_SECRET_KEY is not set: using a random key, so every sign-in ends when "
            "the server restarts (set it, the same for every worker, in production)"
        )
        secret = secrets.token_hex(32)
    session_lifetime = timedelta(hours=settings.session_hours)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="doorstep_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Secure by default; `doorstep serve` on localhost turns it off (plain HTTP there).
        SESSION_COOKIE_SECURE=True,
        PERMANENT_SESSION_LIFETIME=session_lifetime,
        # CSRF is checked in `load_user`, only for cookie-authenticated changes.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=int(session_lifetime.total_seconds()),
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_url,
        RATELIMIT_HEADERS_ENABLED=True,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.config.update(config or {})
    app.json.sort_keys = False  # type: ignore[attr-defined]

    engine = make_engine(settings.database_url)
    check_schema(engine)
    launch = functools.partial(jobs.launch, settings)
    app.extensions[EXTENSION] = WebState(settings, engine, clock or _system_clock, launch)
    if settings.trusted_proxies:
        # Behind a reverse proxy: the client's address (for sign-in limits and logs) and
        # scheme come from the proxies' headers, trusting only as many hops as configured.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    csrf.init_app(app)
    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.ratelimit_storage_url)
    limiter.limit(settings.login_limit, methods=["POST"])(login_bp)
    app.before_request(load_user)
    for blueprint in (login_bp, auth_bp, pages_bp, api_bp, planning_bp, slots_bp):
        app.register_blueprint(blueprint)
    _register_errors(app)
    _register_templates(app)
    app.after_request(_security_headers)
    return app


def _system_clock() -> datetime:
    return datetime.now(UTC)


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        if _is_api():
            return _json_error(400, "csrf", "the CSRF token is missing or expired; reload the page")
        if request.endpoint == "login.login":
            form = LoginForm()
            return render_template("login.html", form=form, error=t("csrf_expired")), 400
        return _error_page(400, t("csrf_expired"))

    @app.errorhandler(RateLimitExceeded)
    def too_many(error: RateLimitExceeded) -> ResponseReturnValue:
        log.warning("sign-in rate limit reached from %s", request.remote_addr)
        if _is_api():
            return _json_error(429, "too_many_requests", "too many requests; wait and retry")
        form = LoginForm()
        return render_template("login.html", form=form, error=t("too_many_logins")), 429

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        if _is_api():
            response = _json_error(status, _slug(error.name), error.description or error.name)
            if status == 401:
                response[0].headers["WWW-Authenticate"] = 'Bearer realm="doorstep"'
            return response
        message = {403: t("forbidden"), 404: t("not_found")}.get(status, error.description)
        return _error_page(status, message or error.name)

    @app.errorhandler(Exception)
    def internal_error(error: Exception) -> ResponseReturnValue:
        # Logged with the traceback but not the request body: it may hold borrower data.
        log.exception("internal error on %s %s", request.method, request.path)
        if _is_api():
            return _json_error(500, "internal", "internal error; it was logged, try again later")
        return _error_page(500, "internal error; it was logged, try again later")


def _json_error(status: int, code: str, message: str) -> tuple[Any, int]:
    return jsonify({"error": code, "message": message}), status


def _error_page(status: int, message: str) -> ResponseReturnValue:
    return render_template("error.html", status=status, message=message), status


def _slug(name: str) -> str:
    return name.lower().replace(" ", "_").replace("'", "")


def _register_templates(app: Flask) -> None:
    @app.context_processor
    def globals_() -> dict[str, Any]:
        locale = g.get("locale", "en")
        return {
            "t": t,
            "locale": locale,
            "locales": LOCALES,
            "catalogue": dict(CATALOGUES[locale]),
            "user": current_user(),
        }


def _security_headers(response: Any) -> Any:
    """Defence in depth for pages that show borrower data: no framing, no sniffing, no
    scripts from anywhere but this app, no referrer leaking a URL to a tile server."""
    settings = web_state().settings
    tiles = _origin(settings.tile_url) if settings.tile_url else ""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: {tiles}".rstrip()
        + "; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if (
        _is_api()
        or request.path in ("/dispatch", "/agent")
        or request.path.startswith("/dispatch/")
    ):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _origin(url: str) -> str:
    """The scheme and host of a tile URL template, for the CSP (`{s}` subdomains: any)."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].replace("{s}.", "*.")
    return f"{scheme}://{host}" if scheme and host else ""
