"""The checks a bearer JWT goes through, one by one, with keys made here and an identity
provider simulated over HTTP (discovery and JWKS): signature, algorithm allow-list, ``iss``,
``aud``, ``exp``/``nbf`` with leeway, ``typ``, unknown keys fetched again at most once per
interval, and an unreachable provider."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from app.api.auth.bearer import Jwks, verify
from app.config import Settings
from app.domain.errors import ServiceUnavailable, Unauthenticated

ISSUER = "https://login.example.com/tenant"
AUDIENCE = "https://revmentor.example.com/api"


class Provider:
    """Serves discovery and a JWKS; counts how often the keys are fetched."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.jwks_fetches = 0
        self.up = True

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            return httpx.Response(503)
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/keys"})
        if request.url.path.endswith("/keys"):
            self.jwks_fetches += 1
            return httpx.Response(200, json=KeySet(self.keys).as_dict(private=False))
        return httpx.Response(404)

    def jwks(self, *, refresh_seconds: int = 60) -> Jwks:
        return Jwks(
            ISSUER,
            cache_seconds=3600,
            refresh_seconds=refresh_seconds,
            transport=httpx.MockTransport(self.handler),
        )


SETTINGS = Settings(oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_leeway_seconds=30)


def token(
    key: RSAKey | OctKey,
    *,
    alg: str = "RS256",
    typ: str | None = "at+jwt",
    **claims: Any,
) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "iat": now, "sub": "u1", **claims}
    header: dict[str, Any] = {"alg": alg, "kid": key.kid}
    if typ is not None:
        header["typ"] = typ
    return jwt.encode(header, {k: v for k, v in body.items() if v is not None}, key)


async def refusal(value: str, jwks: Jwks, settings: Settings = SETTINGS) -> str:
    with pytest.raises(Unauthenticated) as refused:
        await verify(value, jwks, settings)
    return refused.value.detail


async def test_a_good_token_verifies_and_the_keys_are_cached() -> None:
    provider = Provider()
    jwks = provider.jwks()
    for _ in range(5):
        claims = await verify(token(provider.keys[0]), jwks, SETTINGS)
        assert claims.get("sub") == "u1"
    assert provider.jwks_fetches == 1


async def test_each_claim_is_checked() -> None:
    provider = Provider()
    jwks = provider.jwks()
    key = provider.keys[0]
    now = int(time.time())
    assert "expired" in await refusal(token(key, exp=now - 120), jwks)
    assert "not valid yet" in await refusal(token(key, nbf=now + 600), jwks)
    assert "another identity provider" in await refusal(token(key, iss="https://evil"), jwks)
    assert "another audience" in await refusal(token(key, aud="https://other-api"), jwks)
    assert "required claim" in await refusal(token(key, exp=None), jwks)
    # Within the leeway a clock a little ahead or behind is forgiven.
    await verify(token(key, exp=now - 10, nbf=now + 10), jwks, SETTINGS)


async def test_algorithms_and_token_types() -> None:
    provider = Provider()
    jwks = provider.jwks()
    key = provider.keys[0]
    # An HMAC token keyed with something public (the classic algorithm confusion) is refused
    # before any key is looked at.
    secret = OctKey.import_key(b"k" * 32, parameters={"kid": "k1"})
    assert "HS256" in await refusal(token(secret, alg="HS256"), jwks)
    # An ID token (or any other kind of JWT) is not an access token.
    assert "not an access token" in await refusal(token(key, typ="id_token+jwt"), jwks)
    # A plain "JWT" is accepted unless the deployment requires RFC 9068 access tokens.
    await verify(token(key, typ="JWT"), jwks, SETTINGS)
    strict = SETTINGS.model_copy(update={"oidc_require_at_jwt": True})
    assert "at+jwt" in await refusal(token(key, typ="JWT"), jwks, strict)


async def test_a_token_signed_by_another_key_is_refused() -> None:
    provider = Provider()
    jwks = provider.jwks()
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, other key
    assert "signature" in await refusal(token(stranger), jwks)


async def test_unknown_key_ids_fetch_the_keys_again_at_most_once_per_interval() -> None:
    provider = Provider()
    jwks = provider.jwks(refresh_seconds=3600)
    await verify(token(provider.keys[0]), jwks, SETTINGS)
    intruder = RSAKey.generate_key(2048, parameters={"kid": "made-up"})
    for _ in range(10):
        assert "does not publish" in await refusal(token(intruder), jwks)
    assert provider.jwks_fetches == 1  # made-up key ids do not make us hammer the provider


async def test_a_rotated_key_is_picked_up() -> None:
    provider = Provider()
    jwks = provider.jwks(refresh_seconds=1)
    await verify(token(provider.keys[0]), jwks, SETTINGS)
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    provider.keys.append(rotated)
    jwks._fetched_at -= 2  # the refresh interval has passed
    claims = await verify(token(rotated), jwks, SETTINGS)
    assert claims.get("sub") == "u1"
    assert provider.jwks_fetches == 2


async def test_an_unreachable_provider_is_a_503_until_its_keys_are_known() -> None:
    provider = Provider()
    provider.up = False
    jwks = provider.jwks()
    with pytest.raises(ServiceUnavailable):
        await verify(token(provider.keys[0]), jwks, SETTINGS)
    provider.up = True
    jwks._fetched_at -= 7200  # the next request tries again
    await verify(token(provider.keys[0]), jwks, SETTINGS)
    # Once known, keys keep working while the provider is briefly away.
    provider.up = False
    jwks._fetched_at -= 7200
    await verify(token(provider.keys[0]), jwks, SETTINGS)


async def test_an_issuer_with_a_trailing_slash_is_compared_as_it_is() -> None:
    """Some providers (Auth0) name themselves with a trailing slash; tokens carry it too."""
    provider = Provider()
    jwks = Jwks(
        ISSUER + "/",
        cache_seconds=3600,
        refresh_seconds=60,
        transport=httpx.MockTransport(provider.handler),
    )
    settings = SETTINGS.model_copy(update={"oidc_issuer": ISSUER + "/"})
    await verify(token(provider.keys[0], iss=ISSUER + "/"), jwks, settings)
    assert "another identity provider" in await refusal(token(provider.keys[0]), jwks, settings)


def test_settings_refuse_none_and_a_provider_without_an_audience() -> None:
    with pytest.raises(ValueError, match="AUDIENCE"):
        Settings(oidc_issuer=ISSUER)
    with pytest.raises(ValueError, match="none"):
        Settings(oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_algorithms=["RS256", "none"])
