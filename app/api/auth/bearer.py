"""Bearer JWTs from the company's identity provider (RFC 9068 access tokens).

A token is accepted when it is signed by one of the provider's keys (its JWKS, found through
OIDC discovery and cached), with an algorithm on the allow-list (never ``none``), for this API
(``aud``), by this issuer (``iss``), and is current (``exp``/``nbf``, with a small leeway). A
token naming a person maps to their employee record; a client-credentials token (no person)
maps to a service client whose scopes are the token's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    DecodeError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from app.config import Settings
from app.domain.errors import ServiceUnavailable, Unauthenticated

log = logging.getLogger("revmentor.auth")

#: ``typ`` values an access token may carry (RFC 9068; many providers still say ``JWT``).
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
PLAIN_TYPES = frozenset({"jwt", "application/jwt"})


def refused(detail: str, rule: str) -> Unauthenticated:
    return Unauthenticated(detail, rule=rule)


class Jwks:
    """The provider's signing keys. Fetched through discovery, kept for ``cache_seconds``, and
    fetched again when a token names a key id not among them (a key rotation) — at most once
    every ``refresh_seconds``, so tokens with made-up key ids cannot make us hammer the
    provider."""

    def __init__(
        self,
        issuer: str,
        *,
        cache_seconds: int,
        refresh_seconds: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.issuer = issuer  # exactly as tokens carry it (Auth0's ends with a slash)
        self.cache_seconds = cache_seconds
        self.refresh_seconds = refresh_seconds
        self._transport = transport
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._jwks_uri: str | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many times the keys were fetched (for operators and tests)

    async def _get(self, url: str) -> Any:
        async with httpx.AsyncClient(timeout=5, transport=self._transport) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()

    async def _refresh(self) -> None:
        try:
            if self._jwks_uri is None:
                discovery = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
                config = await self._get(discovery)
                self._jwks_uri = str(config["jwks_uri"])
            data = await self._get(self._jwks_uri)
            self._keys = KeySet.import_key_set(data)
        except (httpx.HTTPError, KeyError, ValueError, JoseError) as exc:
            log.warning("identity provider keys unavailable: %s", exc)
            if self._keys is None:
                raise ServiceUnavailable(
                    "the identity provider's signing keys cannot be fetched; retry shortly"
                ) from exc
        finally:
            # A failed fetch also waits its turn: an unreachable provider is not hammered.
            self._fetched_at = time.monotonic()
            self.fetches += 1

    def _find(self, kid: str | None) -> Any:
        if self._keys is None:
            return None
        keys = [k for k in self._keys.keys if kid is None or k.kid == kid]
        return keys[0] if len(keys) == 1 else None

    async def key(self, kid: str | None) -> Any:
        """The key that signed a token (by its ``kid``); refused when there is none."""
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if self._keys is None or age > self.cache_seconds:
                await self._refresh()
            found = self._find(kid)
            if found is None and time.monotonic() - self._fetched_at >= self.refresh_seconds:
                await self._refresh()  # perhaps the provider rotated its keys
                found = self._find(kid)
        if found is None:
            raise refused(
                "the token is signed by a key the identity provider does not publish", "token_key"
            )
        return found


@dataclass(frozen=True)
class Claims:
    """A verified token's claims."""

    values: dict[str, Any]

    def get(self, name: str) -> Any:
        return self.values.get(name)


async def verify(token: str, jwks: Jwks, settings: Settings) -> Claims:
    """The claims of a valid access token for this API; any fault is a 401 saying which."""
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError, UnicodeError) as exc:
        raise refused("the bearer token is not a JWT", "token_format") from exc
    algorithm = str(header.get("alg", ""))
    if algorithm.lower() == "none" or algorithm not in settings.oidc_algorithms:
        raise refused(f"tokens signed with '{algorithm}' are not accepted", "token_algorithm")
    kind = str(header.get("typ", "")).lower()
    if settings.oidc_require_at_jwt and kind not in ACCESS_TOKEN_TYPES:
        raise refused("the token is not an access token (typ at+jwt)", "token_type")
    if kind and kind not in ACCESS_TOKEN_TYPES | PLAIN_TYPES:
        raise refused(f"a '{kind}' token is not an access token", "token_type")
    key = await jwks.key(header.get("kid"))
    try:
        decoded = jwt.decode(token, key, algorithms=[algorithm])
    except BadSignatureError as exc:
        raise refused("the token's signature does not verify", "token_signature") from exc
    except (DecodeError, JoseError, ValueError) as exc:
        raise refused("the token cannot be read", "token_format") from exc
    registry = jwt.JWTClaimsRegistry(
        leeway=settings.oidc_leeway_seconds,
        iss={"essential": True, "value": jwks.issuer},
        aud={"essential": True, "value": settings.oidc_audience or ""},
        exp={"essential": True},
    )
    try:
        registry.validate(decoded.claims)
    except MissingClaimError as exc:
        raise refused(f"the token lacks a required claim ({exc})", "token_claims") from exc
    except ClaimError as exc:
        raise refused(_claim_problem(exc), "token_claims") from exc
    return Claims(dict(decoded.claims))


def _claim_problem(exc: ClaimError) -> str:
    claim = getattr(exc, "claim", "")
    return {
        "exp": "the token has expired",
        "nbf": "the token is not valid yet",
        "iat": "the token is not valid yet",
        "iss": "the token was issued by another identity provider",
        "aud": "the token was issued for another audience, not this API",
    }.get(claim, f"the token's claims are not acceptable ({exc})")
