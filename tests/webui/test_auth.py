"""Signing in and out: hashed passwords, CSRF, cookie flags, rate limits, tokens, language."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select

from doorstep.accounts import create_token, set_active
from doorstep.db import models as m
from doorstep.db.engine import session_scope
from tests.webui.conftest import api_csrf, csrf_from, make_site, sign_in
from tests.webui.site import PASSWORD


def test_passwords_are_stored_as_scrypt_hashes(engine: Engine) -> None:
    """No password is stored, only werkzeug's scrypt hash of it."""
    with session_scope(engine) as session:
        hashes = session.scalars(select(m.User.password_hash)).all()
    assert hashes and all(h.startswith("scrypt:") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)


def test_sign_in_sets_a_hardened_session_cookie(
    tmp_path: Path, web_cache_dir: Path, site_template: Path
) -> None:
    """The session cookie is HttpOnly, SameSite=Lax and, by default, Secure."""
    app, engine = make_site(tmp_path, web_cache_dir, site_template, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"name": "disp", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "doorstep_session" in c)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    engine.dispose()


def test_sign_in_needs_the_form_csrf_token(app: Flask) -> None:
    """A sign-in posted without the form's CSRF token is refused, whatever the password."""
    client = app.test_client()
    response = client.post("/login", data={"name": "disp", "password": PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 401


def test_wrong_password_and_unknown_user_read_the_same(app: Flask) -> None:
    """A wrong password and an unknown name give the same answer (no name probing)."""
    answers = []
    for name, password in (("disp", "wrong password!"), ("nobody", PASSWORD)):
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"name": name, "password": password, "csrf_token": token}
        )
        answers.append((response.status_code, "Wrong user name or password" in response.text))
    assert answers == [(401, True), (401, True)]


def test_sign_in_is_rate_limited_per_address(
    tmp_path: Path, web_cache_dir: Path, site_template: Path
) -> None:
    """After the configured number of attempts the address gets 429 with advice."""
    app, engine = make_site(tmp_path, web_cache_dir, site_template)
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post(
            "/login", data={"name": "disp", "password": "nope-nope-nope", "csrf_token": token}
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    assert "wait a minute" in client.post("/login", data={"csrf_token": token}).text
    # Reading the sign-in page is never limited.
    assert client.get("/login").status_code == 200
    engine.dispose()


@pytest.mark.parametrize(("proxies", "other_client_status"), [(1, 401), (0, 429)])
def test_behind_a_trusted_proxy_each_client_has_its_own_limit(
    tmp_path: Path, web_cache_dir: Path, site_template: Path, proxies: int, other_client_status: int
) -> None:
    """With DOORSTEP_TRUSTED_PROXIES the limit counts the address the proxy forwards; without
    it, a forged X-Forwarded-For changes nothing."""
    app, engine = make_site(
        tmp_path, web_cache_dir, site_template, settings_changes={"trusted_proxies": proxies}
    )
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))

    def attempt(address: str) -> int:
        return client.post(
            "/login",
            data={"name": "disp", "password": "nope-nope-nope", "csrf_token": token},
            headers={"X-Forwarded-For": address},
        ).status_code

    assert [attempt("203.0.113.1") for _ in range(6)] == [401] * 5 + [429]
    assert attempt("203.0.113.2") == other_client_status
    engine.dispose()


def test_a_deactivated_user_is_locked_out_at_once(app: Flask, engine: Engine) -> None:
    """Deactivating ends the user's session and tokens at their next request and refuses
    their sign-in; activating lets them back, tokens included."""
    client = sign_in(app.test_client(), "disp")
    with session_scope(engine) as session:
        token = create_token(session, "disp", actor="test")
        assert set_active(session, "disp", False, actor="test")
        assert not set_active(session, "disp", False, actor="test")  # nothing to change
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me").status_code == 401
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401
    form = app.test_client()
    csrf = csrf_from(form.get("/login").get_data(as_text=True))
    refused = form.post("/login", data={"name": "disp", "password": PASSWORD, "csrf_token": csrf})
    assert refused.status_code == 401
    with session_scope(engine) as session:
        assert set_active(session, "disp", True, actor="test")
        actions = session.scalars(
            select(m.AuditEntry.action).where(m.AuditEntry.entity_id == "disp")
        ).all()
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 200
    assert sign_in(app.test_client(), "disp").get("/api/v1/me").status_code == 200
    assert {"deactivate_user", "activate_user"} <= set(actions)


def test_sign_out_needs_post_and_csrf(app: Flask) -> None:
    """Signing out is a POST with the CSRF token; a cross-site GET cannot do it."""
    client = sign_in(app.test_client(), "disp")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    page = client.get("/dispatch").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_next_after_sign_in_stays_on_this_site(app: Flask) -> None:
    """`next` may point at a page of this site, never at another site."""
    for target, expected in (("/dispatch", "/dispatch"), ("//evil.example/x", "/")):
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        response = client.post(
            f"/login?next={target}",
            data={"name": "disp", "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == expected


def test_api_tokens_authenticate_without_csrf(app: Flask, engine: Engine) -> None:
    """A bearer token acts as its user, needs no CSRF token, and is stored only hashed."""
    with session_scope(engine) as session:
        token = create_token(session, "disp", label="crm", actor="test")
        stored = session.scalars(select(m.ApiToken.token_sha256)).all()
    assert token not in stored
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).get_json()["name"] == "disp"
    published = client.post("/api/v1/regions/north/days/2026-11-24/publish", headers=headers)
    assert published.status_code == 200
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer dst_wrong"})
    assert bad.status_code == 401
    assert "unknown or revoked" in bad.get_json()["message"]
    assert bad.headers["WWW-Authenticate"].startswith("Bearer")


def test_session_changes_need_the_csrf_header(app: Flask) -> None:
    """A signed-in browser's API change without X-CSRFToken is refused (no cross-site
    request can ride on the cookie); with the token from /api/v1/me it goes through."""
    client = sign_in(app.test_client(), "disp")
    path = "/api/v1/regions/north/days/2026-11-24/publish"
    refused = client.post(path)
    assert refused.status_code == 400 and refused.get_json()["error"] == "csrf"
    assert client.post(path, headers={"X-CSRFToken": api_csrf(client)}).status_code == 200


def test_language_from_browser_then_user_choice(app: Flask, engine: Engine) -> None:
    """Chinese for a Chinese browser by default; a user's choice is stored and wins."""
    client = app.test_client()
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "登录" in page.text and 'lang="zh-CN"' in page.text
    sign_in(client, "disp")
    dispatch = client.get("/dispatch", headers={"Accept-Language": "zh-CN"}).text
    assert "调度" in dispatch
    response = client.post("/language", data={"locale": "en", "csrf_token": csrf_from(dispatch)})
    assert response.status_code == 302
    assert "Dispatch" in client.get("/dispatch", headers={"Accept-Language": "zh-CN"}).text
    with session_scope(engine) as session:
        locale = session.scalars(select(m.User.locale).where(m.User.name == "disp")).one()
    assert locale == "en"


def test_pages_send_security_headers(app: Flask) -> None:
    """Pages forbid framing and foreign scripts; pages with data are never cached."""
    client = sign_in(app.test_client(), "agent_a")
    response = client.get("/agent")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
