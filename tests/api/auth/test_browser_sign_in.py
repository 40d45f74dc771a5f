"""Browser sign-in against the real OpenID provider (``tests/oidc``): login, the provider's
login and consent pages, the callback, the session cookie, ``/me``; and each way it must fail —
a replayed, missing or forged ``state``, an open redirect in ``next``, an unknown person, a
change without the CSRF token, a cookie after logout or past its expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update
from starlette.responses import Response

from app.api.auth.sso import flow_middleware_options, set_session_cookies
from app.config import Settings
from app.db.engine import Database
from app.db.models import WebSession
from app.db.types import utcnow
from tests.api.graphql.support import client_with
from tests.factories import Factory
from tests.oidc_provider import OidcProvider, sign_in

CALLBACK = "http://testserver/auth/callback"
FRONT_END = "https://app.example.com"


@pytest.fixture
async def app_client(
    settings: Settings, db: Database, oidc_provider: OidcProvider
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_with(
        settings,
        db,
        oidc_issuer=oidc_provider.issuer,
        oidc_audience=oidc_provider.api_audience,
        oidc_client_id=oidc_provider.web_client_id,
        oidc_client_secret=SecretStr(oidc_provider.web_client_secret),
        oidc_scopes="openid email profile groups",
        oidc_admin_groups=["revmentor-admins"],
        oidc_allowed_redirects=[FRONT_END],
    ) as client:
        yield client


async def start(client: httpx.AsyncClient, next_url: str = "/api/v1/me") -> str:
    response = await client.get("/auth/login", params={"next": next_url})
    assert response.status_code == 302, response.text
    return response.headers["location"]


def at_provider(authorize_url: str, login: str = "ada") -> httpx.URL:
    """The browser at the provider: signs in, consents, and is sent back to the callback."""
    with httpx.Client(timeout=5) as browser:
        return sign_in(browser, authorize_url, login=login, stop_at=CALLBACK)


async def signed_in(client: httpx.AsyncClient, login: str = "ada") -> httpx.Response:
    callback = at_provider(await start(client), login)
    return await client.get(f"/auth/callback?{callback.query.decode()}")


async def test_sign_in_opens_a_session_for_the_employee(
    app_client: httpx.AsyncClient, factory: Factory
) -> None:
    ada = await factory.employee(email="ada@example.com")
    authorize = await start(app_client)
    assert "code_challenge_method=S256" in authorize
    assert "nonce=" in authorize
    assert "state=" in authorize

    done = await app_client.get(f"/auth/callback?{at_provider(authorize).query.decode()}")
    assert done.status_code == 303
    assert done.headers["location"] == "/api/v1/me"
    cookies = done.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("revmentor_session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    assert any(c.startswith("revmentor_csrf=") and "HttpOnly" not in c for c in cookies)

    me = await app_client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["employee"]["id"] == str(ada.id)


async def test_admin_rights_from_groups_at_sign_in(
    app_client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.employee(email="grace@example.com")
    await signed_in(app_client, "grace")
    me = await app_client.get("/api/v1/me")
    assert me.json()["role"] == "admin"


async def test_a_replayed_missing_or_forged_state_is_refused(
    app_client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.employee(email="ada@example.com")
    callback = at_provider(await start(app_client))
    first = await app_client.get(f"/auth/callback?{callback.query.decode()}")
    assert first.status_code == 303
    app_client.cookies.clear()

    replayed = await app_client.get(f"/auth/callback?{callback.query.decode()}")
    assert replayed.status_code == 401
    assert replayed.json()["rule"] == "sign_in_failed"

    await start(app_client)  # a sign-in in progress, answered with the wrong state or none
    code = callback.params["code"]
    for query in (f"code={code}", f"code={code}&state=forged-state"):
        refused = await app_client.get(f"/auth/callback?{query}")
        assert refused.status_code == 401, refused.text
        assert "revmentor_session=" not in refused.headers.get("set-cookie", "")


async def test_next_is_never_an_open_redirect(app_client: httpx.AsyncClient) -> None:
    for bad in ("https://evil.example/steal", "//evil.example", "/\\evil.example", "javascript:x"):
        response = await app_client.get("/auth/login", params={"next": bad})
        assert response.status_code == 422, bad
        assert response.json()["field"] == "next"
    allowed = await app_client.get("/auth/login", params={"next": f"{FRONT_END}/home"})
    assert allowed.status_code == 302


async def test_an_unknown_person_gets_a_403_and_no_session(app_client: httpx.AsyncClient) -> None:
    refused = await signed_in(app_client, "ada")
    assert refused.status_code == 403
    assert refused.json()["rule"] == "unknown_employee"
    assert (await app_client.get("/api/v1/me")).status_code == 401


async def test_changes_need_the_csrf_token_and_logout_ends_the_session(
    app_client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.employee(email="ada@example.com")
    await signed_in(app_client)
    csrf = app_client.cookies["revmentor_csrf"]
    query = {"query": "{ viewer { kind } }"}

    forged = await app_client.post("/graphql", json=query)
    assert forged.status_code == 403
    assert forged.json()["rule"] == "csrf"
    wrong = await app_client.post("/graphql", json=query, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    ok = await app_client.post("/graphql", json=query, headers={"X-CSRF-Token": csrf})
    assert ok.json()["data"]["viewer"]["kind"] == "person"

    assert (await app_client.post("/auth/logout")).status_code == 403  # no CSRF token
    session = app_client.cookies["revmentor_session"]
    out = await app_client.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    # The old cookie no longer works anywhere, even sent again by hand.
    again = await app_client.get("/api/v1/me", cookies={"revmentor_session": session})
    assert again.status_code == 401
    assert again.json()["rule"] == "session_ended"


async def test_an_expired_session_no_longer_works(
    app_client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    await factory.employee(email="ada@example.com")
    await signed_in(app_client)
    assert (await app_client.get("/api/v1/me")).status_code == 200
    async with db.session() as session:
        await session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert (await app_client.get("/api/v1/me")).status_code == 401


async def test_the_callback_url_can_be_set_for_servers_behind_a_proxy(
    settings: Settings, db: Database, oidc_provider: OidcProvider
) -> None:
    public = "https://mentoring.example.com/auth/callback"
    async with client_with(
        settings,
        db,
        oidc_issuer=oidc_provider.issuer,
        oidc_audience=oidc_provider.api_audience,
        oidc_client_id=oidc_provider.web_client_id,
        oidc_client_secret=SecretStr(oidc_provider.web_client_secret),
        oidc_redirect_url=public,
    ) as client:
        authorize = httpx.URL(await start(client))
    assert authorize.params["redirect_uri"] == public


async def test_without_a_client_sign_in_is_not_available(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/login")
    assert response.status_code == 404
    assert "not configured" in response.json()["detail"]


def test_cookies_are_secure_in_production() -> None:
    production = Settings(env="production", session_hours=8)
    response = Response()
    set_session_cookies(response, "session-value", "csrf-value", production)
    session, csrf = response.headers.getlist("set-cookie")
    assert session.startswith("revmentor_session=session-value")
    assert "HttpOnly" in session
    assert "Secure" in session
    assert "SameSite=lax" in session
    assert "Max-Age=28800" in session
    assert "Secure" in csrf
    assert "HttpOnly" not in csrf
    assert flow_middleware_options(production)["https_only"] is True
