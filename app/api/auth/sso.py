"""Browser sign-in with the company's identity provider (OpenID Connect, authorization code
with PKCE), as authlib's Starlette client does it: ``/auth/login`` sends the browser to the
provider, ``/auth/callback`` checks ``state``, the code exchange (with the PKCE verifier) and the
ID token's ``nonce``, then opens a session; ``/auth/logout`` ends it.

The session cookie is HttpOnly, SameSite=Lax and (in production) Secure; beside it a readable
``revmentor_csrf`` cookie holds the CSRF token a front end sends back in ``X-CSRF-Token`` with
every change. The short-lived state of a sign-in in progress (state, nonce, PKCE verifier, where
to go next) travels in a signed cookie, so any instance can finish what another began.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import RedirectResponse

from app.api.auth.authenticate import CSRF_COOKIE, SESSION_COOKIE, claim_mapping
from app.api.deps import ActorDep, get_database, get_settings_dep
from app.api.rest.problems import error_responses
from app.config import Settings
from app.domain import sessions
from app.domain.errors import InvalidInput, NotFound, Unauthenticated
from app.domain.identity import actor_for_claims

log = logging.getLogger("revmentor.auth")

FLOW_COOKIE = "revmentor_sign_in"
PROVIDER = "company"


def sign_in_configured(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret)


def _starlette_client() -> Any:
    """authlib's Starlette client, imported only where sign-in is configured: authlib 1.9
    announces (with a warning it prints itself) a move of its HTTP client, which would
    otherwise show on every command."""
    from authlib.integrations import starlette_client  # type: ignore[import-untyped]

    return starlette_client


def oauth_client(settings: Settings) -> Any:
    """The provider, registered for this deployment (discovery gives its endpoints)."""
    if not sign_in_configured(settings):
        return None
    oauth = _starlette_client().OAuth()
    assert settings.oidc_issuer is not None
    assert settings.oidc_client_secret is not None
    oauth.register(
        PROVIDER,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        server_metadata_url=(
            f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration"
        ),
        client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"},
    )
    return oauth


def flow_middleware_options(settings: Settings) -> dict[str, Any]:
    """The signed cookie that carries a sign-in in progress (ten minutes at most)."""
    secret = (
        settings.secret_key.get_secret_value()
        if settings.secret_key is not None
        else secrets.token_urlsafe(32)  # development: one process, a key of its own
    )
    return {
        "secret_key": secret,
        "session_cookie": FLOW_COOKIE,
        "max_age": 600,
        "same_site": "lax",
        "https_only": settings.env == "production",
    }


def safe_next(value: str | None, settings: Settings) -> str:
    """Where to send the browser after sign-in: a path on this site, or a URL on an origin the
    deployment allows (a front end); anything else would make us an open redirect."""
    if not value:
        return "/"
    parts = urlsplit(value)
    local = not parts.scheme and not parts.netloc and value.startswith("/")
    if local and not value.startswith("//") and "\\" not in value:
        return value
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
    if origin is not None and origin in settings.oidc_allowed_redirects:
        return value
    raise InvalidInput(
        "next must be a path on this site or a URL on an allowed front end", field="next"
    )


def _provider(request: Request) -> Any:
    settings: Settings = request.app.state.settings
    if not sign_in_configured(settings):
        raise NotFound("single sign-on is not configured on this server")
    return request.app.state.oauth.create_client(PROVIDER)


router = APIRouter(prefix="/auth", tags=["auth"])


@router.get(
    "/login",
    response_class=RedirectResponse,
    status_code=status.HTTP_302_FOUND,
    responses={302: {"description": "To the identity provider"}, **error_responses(400, 404, 422)},
)
async def login(request: Request, next: str | None = None) -> Response:
    """Sign in with the company's identity provider; afterwards the browser goes to `next`."""
    provider = _provider(request)
    request.session.clear()
    request.session["next"] = safe_next(next, request.app.state.settings)
    settings: Settings = request.app.state.settings
    redirect_uri = settings.oidc_redirect_url or str(request.url_for("auth_callback"))
    response: Response = await provider.authorize_redirect(request, redirect_uri)
    return response


@router.get(
    "/callback",
    name="auth_callback",
    response_class=RedirectResponse,
    status_code=status.HTTP_303_SEE_OTHER,
    responses={
        303: {"description": "Signed in: the session cookies are set; on to `next`"},
        **error_responses(400, 401, 403, 404, 503),
    },
)
async def callback(request: Request, settings: Settings = Depends(get_settings_dep)) -> Response:
    """Where the provider sends the browser back: the code becomes a session cookie."""
    provider = _provider(request)
    try:
        token = await provider.authorize_access_token(request)
    except _starlette_client().OAuthError as exc:
        log.info("sign-in refused: %s", exc)
        raise Unauthenticated(
            "the sign-in could not be completed (expired, replayed or forged); sign in again",
            rule="sign_in_failed",
        ) from exc
    claims = token.get("userinfo") or {}
    next_url = str(request.session.pop("next", "/"))
    request.session.clear()
    async with get_database(request).session() as session:
        actor = await actor_for_claims(session, claims, claim_mapping(settings))
        _, value, csrf = await sessions.open_session(
            session, actor, ttl=timedelta(hours=settings.session_hours)
        )
        await session.commit()
    response = RedirectResponse(next_url, status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookies(response, value, csrf, settings)
    return response


def set_session_cookies(response: Response, value: str, csrf: str, settings: Settings) -> None:
    """The session cookie (HttpOnly: scripts never read it) and the CSRF cookie (read by the
    front end, sent back as a header); both SameSite=Lax, and Secure in production."""
    secure = settings.env == "production"
    age = settings.session_hours * 3600
    response.set_cookie(
        SESSION_COOKIE, value, max_age=age, httponly=True, samesite="lax", secure=secure
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=age, httponly=False, samesite="lax", secure=secure
    )


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 503),
)
async def logout(request: Request, actor: ActorDep) -> Response:
    """Sign out: the session ends at once (its cookie no longer works anywhere)."""
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        async with get_database(request).session() as session:
            await sessions.close_session(session, value)
            await session.commit()
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response
