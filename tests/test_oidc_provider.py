"""The OpenID provider harness works end to end over real HTTP (discovery, JWKS, both flows)."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.oidc_provider import OidcProvider, authorize, exchange


@pytest.fixture(scope="module")
def discovery(oidc_provider: OidcProvider) -> dict[str, Any]:
    response = httpx.get(oidc_provider.discovery_url, timeout=5)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture(scope="module")
def keys(discovery: dict[str, Any]) -> KeySet:
    response = httpx.get(discovery["jwks_uri"], timeout=5)
    response.raise_for_status()
    return KeySet.import_key_set(response.json())


def verify(value: str, keys: KeySet, *, issuer: str, audience: str) -> jwt.Token:
    """Check the signature against the JWKS, then ``iss``, ``aud`` and ``exp``."""
    token = jwt.decode(value, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
    ).validate(token.claims)
    return token


def test_discovery_document(oidc_provider: OidcProvider, discovery: dict[str, Any]) -> None:
    issuer = oidc_provider.issuer
    assert discovery["issuer"] == issuer
    assert discovery["authorization_endpoint"] == f"{issuer}/auth"
    assert discovery["token_endpoint"] == f"{issuer}/token"
    assert discovery["jwks_uri"] == f"{issuer}/jwks"
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert "code" in discovery["response_types_supported"]
    assert {"authorization_code", "client_credentials"} <= set(discovery["grant_types_supported"])
    assert {"openid", "email", "profile", "groups"} <= set(discovery["scopes_supported"])
    assert {"email", "groups", "employee_id"} <= set(discovery["claims_supported"])
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]


def test_jwks_publishes_an_rsa_signing_key(discovery: dict[str, Any]) -> None:
    [key] = httpx.get(discovery["jwks_uri"], timeout=5).json()["keys"]
    assert key["kty"] == "RSA"
    assert key["use"] == "sig"
    assert key["kid"]
    assert "d" not in key  # the public half only


def test_client_credentials_token_is_a_jwt_for_the_api(
    oidc_provider: OidcProvider, discovery: dict[str, Any], keys: KeySet
) -> None:
    response = httpx.post(
        discovery["token_endpoint"],
        data={"grant_type": "client_credentials", "scope": "hris:write scim read"},
        auth=(oidc_provider.hris_client_id, oidc_provider.hris_client_secret),
        timeout=5,
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"

    token = verify(
        response.json()["access_token"],
        keys,
        issuer=oidc_provider.issuer,
        audience=oidc_provider.api_audience,
    )
    assert token.header["typ"] == "at+jwt"
    assert token.claims["aud"] == "https://revmentor.test/api"
    assert set(token.claims["scope"].split()) == {"hris:write", "scim", "read"}
    assert token.claims["client_id"] == oidc_provider.hris_client_id


def test_client_credentials_rejects_a_wrong_secret(
    oidc_provider: OidcProvider, discovery: dict[str, Any]
) -> None:
    response = httpx.post(
        discovery["token_endpoint"],
        data={"grant_type": "client_credentials", "scope": "hris:write"},
        auth=(oidc_provider.hris_client_id, "not-the-secret"),
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_authorization_code_flow_with_pkce(
    oidc_provider: OidcProvider, discovery: dict[str, Any], keys: KeySet
) -> None:
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    callback, verifier = authorize(oidc_provider, discovery, login="ada", state=state, nonce=nonce)
    assert str(callback.copy_with(query=None)) == oidc_provider.redirect_uri
    assert callback.params["state"] == state
    assert callback.params["iss"] == oidc_provider.issuer

    response = exchange(
        oidc_provider,
        discovery,
        callback.params["code"],
        code_verifier=verifier,
        resource=oidc_provider.api_audience,
    )
    assert response.status_code == 200, response.text
    tokens = response.json()

    id_token = verify(
        tokens["id_token"], keys, issuer=oidc_provider.issuer, audience=oidc_provider.web_client_id
    )
    assert id_token.claims["sub"] == "ada"
    assert id_token.claims["nonce"] == nonce
    assert id_token.claims["email"] == "ada@example.com"
    assert id_token.claims["email_verified"] is True
    assert id_token.claims["employee_id"] == "E-1001"
    assert id_token.claims["groups"] == []

    # Asked for the API resource, the user's access token is a JWT for the API.
    access_token = verify(
        tokens["access_token"],
        keys,
        issuer=oidc_provider.issuer,
        audience=oidc_provider.api_audience,
    )
    assert access_token.header["typ"] == "at+jwt"
    assert access_token.claims["sub"] == "ada"
    assert access_token.claims["client_id"] == oidc_provider.web_client_id


def test_groups_claim_reaches_the_id_token(
    oidc_provider: OidcProvider, discovery: dict[str, Any], keys: KeySet
) -> None:
    callback, verifier = authorize(oidc_provider, discovery, login="grace", state="s", nonce="n")
    response = exchange(oidc_provider, discovery, callback.params["code"], code_verifier=verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()

    id_token = verify(
        tokens["id_token"], keys, issuer=oidc_provider.issuer, audience=oidc_provider.web_client_id
    )
    assert id_token.claims["email"] == "grace@example.com"
    assert id_token.claims["groups"] == ["revmentor-admins"]
    # Without the resource parameter the access token is the provider's opaque userinfo token.
    assert "." not in tokens["access_token"]


def test_a_wrong_pkce_verifier_is_refused(
    oidc_provider: OidcProvider, discovery: dict[str, Any]
) -> None:
    callback, _ = authorize(oidc_provider, discovery, login="ada", state="s", nonce="n")
    response = exchange(
        oidc_provider, discovery, callback.params["code"], code_verifier=secrets.token_urlsafe(48)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
