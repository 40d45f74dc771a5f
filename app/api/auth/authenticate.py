"""The one authentication entry point: a request in, an ``Actor`` out (REST, GraphQL, SCIM)."""

from __future__ import annotations

from asgi_correlation_id import correlation_id
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from app.api.auth.bearer import Jwks, verify
from app.config import Settings
from app.domain.actors import Actor
from app.domain.errors import Unauthenticated
from app.domain.identity import ClaimMapping, actor_for_claims
from app.domain.sessions import session_actor
from app.domain.tokens import TOKEN_PREFIX, authenticate_token

#: The browser session's cookie, and the header that must repeat its CSRF token on changes.
SESSION_COOKIE = "revmentor_session"
CSRF_COOKIE = "revmentor_csrf"
CSRF_HEADER = "x-csrf-token"


def bearer_token(connection: HTTPConnection) -> str | None:
    """The credential of an ``Authorization: Bearer …`` header, if any."""
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("use 'Authorization: Bearer <token>'", rule="bearer_scheme")
    return value.strip()


async def authenticate(
    connection: HTTPConnection, session: AsyncSession, settings: Settings
) -> Actor:
    """Identify the caller. Each credential kind is tried by its shape; more plug in here
    (identity-provider JWTs, SSO session cookies) without any route changing."""
    token = bearer_token(connection)
    if token is None:
        cookie = connection.cookies.get(SESSION_COOKIE)
        if cookie:
            return await session_actor(
                session,
                cookie,
                method=connection.scope.get("method", "GET"),
                csrf=connection.headers.get(CSRF_HEADER),
                request_id=correlation_id.get(),
            )
        raise Unauthenticated("sign in or send a bearer token", rule="credentials_required")
    if token.startswith(TOKEN_PREFIX):
        actor = await authenticate_token(
            session,
            token,
            request_id=correlation_id.get(),
            touch_interval_seconds=settings.token_touch_interval_seconds,
        )
        await session.commit()
        return actor
    jwks: Jwks | None = getattr(connection.app.state, "jwks", None)
    if jwks is not None and token.count(".") == 2:
        claims = await verify(token, jwks, settings)
        return await actor_for_claims(
            session, claims.values, claim_mapping(settings), request_id=correlation_id.get()
        )
    raise Unauthenticated("the token is invalid, expired or revoked", rule="invalid_token")


def claim_mapping(settings: Settings) -> ClaimMapping:
    """How this deployment maps the identity provider's claims (see the README)."""
    return ClaimMapping(
        employee_claim=settings.oidc_employee_claim,
        employee_field=settings.oidc_employee_field,
        groups_claim=settings.oidc_groups_claim,
        admin_groups=frozenset(settings.oidc_admin_groups),
        program_manager_prefix=settings.oidc_program_manager_group_prefix,
        scope_claims=tuple(settings.oidc_scope_claims),
    )


def identity_provider_keys(settings: Settings) -> Jwks | None:
    """The provider's key cache for this process (``None`` when no provider is configured)."""
    if not settings.oidc_issuer:
        return None
    return Jwks(
        settings.oidc_issuer,
        cache_seconds=settings.oidc_jwks_cache_seconds,
        refresh_seconds=settings.oidc_jwks_refresh_seconds,
    )
