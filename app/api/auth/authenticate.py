"""The one authentication entry point: a request in, an ``Actor`` out (REST, GraphQL, SCIM)."""

from __future__ import annotations

from asgi_correlation_id import correlation_id
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from app.config import Settings
from app.domain.actors import Actor
from app.domain.errors import Unauthenticated
from app.domain.tokens import TOKEN_PREFIX, authenticate_token


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
    raise Unauthenticated("the token is invalid, expired or revoked", rule="invalid_token")
