"""Who is asking: sessions and API tokens, sign-in and sign-out, roles, CSRF and language.

Browsers sign in with a name and password and get a session cookie (HttpOnly, SameSite=Lax,
Secure off localhost); every state-changing request they make must carry the session's CSRF
token (a form field, or the X-CSRFToken header from the pages' scripts). Machines send
`Authorization: Bearer <token>` instead; a bearer request carries no cookie a third-party
page could ride on, so it needs no CSRF token. Sign-ins are rate limited per client address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from doorstep.accounts import (
    LOCALES,
    account,
    account_for_token,
    authenticate,
    set_locale,
)
from doorstep.db.engine import session_scope
from webui.i18n import DEFAULT_LOCALE, translate
from webui.state import current_user, now, web_state

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

login_bp = Blueprint("login", __name__)
"""Only the sign-in page: the login rate limit applies to this blueprint as a whole."""
auth_bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginForm(FlaskForm):
    name = StringField("name", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=500)])


def load_user() -> None:
    """Before each request: find the user (bearer token first, then the session), enforce
    CSRF on cookie-authenticated changes, and choose the UI language."""
    g.user = None
    g.via_token = False
    if request.endpoint == "static":
        return  # library files and styles: public, and no database call per file
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            abort(401, description="the Authorization header must be `Bearer <token>`")
        with session_scope(web_state().engine) as db:
            user = account_for_token(db, token.strip(), now=now())
        if user is None:
            abort(401, description="the API token is unknown or revoked; ask for a new one")
        g.user, g.via_token = user, True
    elif "uid" in session:
        with session_scope(web_state().engine) as db:
            g.user = account(db, int(session["uid"]))
        if g.user is None:  # deactivated or deleted since signing in
            session.clear()
    # Anonymous API calls skip the check: they are refused with 401 anyway, which says more.
    anonymous_api = g.user is None and request.path.startswith("/api/")
    if not g.via_token and not anonymous_api and request.method in _UNSAFE:
        csrf.protect()
    g.locale = _locale()


def _locale() -> str:
    user = current_user()
    chosen = (user.locale if user is not None else None) or session.get("locale")
    if chosen in LOCALES:
        return str(chosen)
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def t(key: str, **values: object) -> str:
    """The phrase `key` in the request's language."""
    return translate(g.get("locale", DEFAULT_LOCALE), key, **values)


def page_roles(*roles: str) -> Callable[[F], F]:
    """A page for these roles: anonymous visitors are sent to sign in, others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("login.login", next=request.path))
            if user.role not in roles:
                abort(403, description=t("forbidden"))
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


def api_roles(*roles: str) -> Callable[[F], F]:
    """An API operation for these roles: 401 without credentials, 403 for another role."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                abort(401, description="sign in, or send `Authorization: Bearer <token>`")
            if user.role not in roles:
                abort(403, description=f"a {user.role} may not do this")
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


@login_bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form; on success, a fresh session (no fixation) and on to `next`."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        with session_scope(web_state().engine) as db:
            user = authenticate(db, form.name.data, form.password.data)
        if user is not None:
            locale = session.get("locale")
            session.clear()
            session["uid"] = user.id
            if locale:
                session["locale"] = locale
            session.permanent = True
            log.info("sign-in of user %s", user.name)
            return redirect(_safe_next(request.args.get("next")) or url_for("pages.index"))
        log.info("failed sign-in from %s", request.remote_addr)
        error = t("bad_login")
    elif request.method == "POST":
        error = t("bad_login")
    status = 401 if error else 200
    return render_template("login.html", form=form, error=error), status


@auth_bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("login.login"))


@auth_bp.route("/language", methods=["POST"])
def language() -> ResponseReturnValue:
    """Choose the UI language (empty: the browser's); remembered for a signed-in user."""
    chosen = request.form.get("locale") or None
    if chosen is not None and chosen not in LOCALES:
        abort(400, description=f"unknown language; use one of {', '.join(LOCALES)}")
    if chosen:
        session["locale"] = chosen
    else:
        session.pop("locale", None)
    user = current_user()
    if user is not None:
        with session_scope(web_state().engine) as db:
            set_locale(db, user.id, chosen)
    return redirect(_safe_next(request.form.get("next")) or url_for("pages.index"))


def _safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target
