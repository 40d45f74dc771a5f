"""Bearer JWTs from the company's identity provider, against a real OpenID provider
(``tests/oidc``): client-credentials tokens act as service clients with their scopes, a person's
token acts as their employee (admin rights from the provider's groups too), for REST and GraphQL
alike; and every faulty token is a clear 401 (or 403 for an unknown person) granting nothing."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from app.config import Settings
from app.db.engine import Database
from app.domain import employees
from app.domain.actors import Actor
from app.domain.identity import ClaimMapping, actor_for_claims
from app.domain.sessions import open_session, session_actor
from tests.api.graphql.support import client_with
from tests.factories import Factory
from tests.oidc_provider import OidcProvider, authorize, exchange

API = "/api/v1"
SYSTEM = Actor.system()


def client_token(provider: OidcProvider, scope: str = "hris:write read") -> str:
    config = httpx.get(provider.discovery_url, timeout=5).json()
    response = httpx.post(
        config["token_endpoint"],
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(provider.hris_client_id, provider.hris_client_secret),
        timeout=5,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def person_token(provider: OidcProvider, login: str) -> str:
    """Sign ``login`` in through the browser flow and exchange the code for an access token
    for the API (what a single-page front end holds)."""
    discovery = httpx.get(provider.discovery_url, timeout=5).json()
    callback, verifier = authorize(
        provider,
        discovery,
        login=login,
        state=secrets.token_urlsafe(16),
        nonce=secrets.token_urlsafe(16),
    )
    response = exchange(
        provider,
        discovery,
        callback.params["code"],
        code_verifier=verifier,
        resource=provider.api_audience,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def client(
    settings: Settings, db: Database, oidc_provider: OidcProvider
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_with(
        settings,
        db,
        oidc_issuer=oidc_provider.issuer,
        oidc_audience=oidc_provider.api_audience,
        oidc_admin_groups=["revmentor-admins"],
    ) as c:
        yield c


async def test_a_client_credentials_token_is_a_service_with_its_scopes(
    client: httpx.AsyncClient, oidc_provider: OidcProvider
) -> None:
    headers = bearer(client_token(oidc_provider, "hris:write read"))
    me = await client.get(f"{API}/me", headers=headers)
    assert me.status_code == 200, me.text
    assert (me.json()["kind"], me.json()["service_name"]) == ("service", "revmentor-hris")
    assert me.json()["scopes"] == ["hris:write", "read"]
    assert (await client.get(f"{API}/hris/runs", headers=headers)).status_code == 200
    # A scope the token does not hold is not granted.
    created = await client.post(
        f"{API}/employees",
        json={"email": "x@example.com", "given_name": "X", "family_name": "Y", "job_level": 1},
        headers=headers,
    )
    assert created.status_code == 403


async def test_a_person_token_acts_as_their_employee_in_rest_and_graphql(
    client: httpx.AsyncClient, oidc_provider: OidcProvider, factory: Factory
) -> None:
    ada = await factory.employee(email="Ada@Example.com", given_name="Ada")
    headers = bearer(person_token(oidc_provider, "ada"))
    me = await client.get(f"{API}/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["employee"]["id"] == str(ada.id)
    assert me.json()["role"] == "participant"
    viewer = await client.post(
        "/graphql", json={"query": "{ viewer { kind employee { email } } }"}, headers=headers
    )
    assert viewer.json()["data"]["viewer"] == {
        "kind": "person",
        "employee": {"email": "Ada@example.com"},
    }


async def test_admin_rights_can_come_from_the_providers_groups(
    client: httpx.AsyncClient, oidc_provider: OidcProvider, factory: Factory
) -> None:
    await factory.employee(email="grace@example.com", given_name="Grace")
    me = await client.get(f"{API}/me", headers=bearer(person_token(oidc_provider, "grace")))
    assert (me.json()["role"], me.json()["is_admin"]) == ("admin", True)


async def test_an_unknown_or_inactive_person_gets_a_clear_403(
    client: httpx.AsyncClient, oidc_provider: OidcProvider, factory: Factory
) -> None:
    token = person_token(oidc_provider, "ada")
    unknown = await client.get(f"{API}/me", headers=bearer(token))
    assert unknown.status_code == 403
    assert unknown.json()["rule"] == "unknown_employee"
    assert unknown.headers["content-type"].startswith("application/problem+json")

    ada = await factory.employee(email="ada@example.com")
    async with factory.db.session() as session:
        await employees.deactivate_employee(session, SYSTEM, ada.id, expected_version=None)
        await session.commit()
    inactive = await client.get(f"{API}/me", headers=bearer(token))
    assert inactive.status_code == 403
    assert inactive.json()["rule"] == "inactive_employee"


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "hris:write read employees:write audit:read"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def _unsigned(token: str) -> str:
    _, payload, _ = token.split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').decode().rstrip("=")
    return f"{header}.{payload}."


async def test_faulty_tokens_are_refused_with_the_reason(
    client: httpx.AsyncClient, oidc_provider: OidcProvider, settings: Settings, db: Database
) -> None:
    good = client_token(oidc_provider)
    cases = {
        "token_signature": _tampered(good),
        "token_algorithm": _unsigned(good),
        "token_format": "not.a.jwt",
    }
    for rule, token in cases.items():
        response = await client.get(f"{API}/me", headers=bearer(token))
        assert response.status_code == 401, (rule, response.text)
        assert response.json()["rule"] == rule
        # RFC 6750 3.1: the token was refused (get a new one), not missing (sign in).
        assert (
            response.headers["www-authenticate"]
            == 'Bearer realm="revmentor", error="invalid_token"'
        )

    # The same good token, for an API configured with another audience or issuer.
    async with client_with(
        settings,
        db,
        oidc_issuer=oidc_provider.issuer,
        oidc_audience="https://another-api.example",
    ) as other:
        response = await other.get(f"{API}/me", headers=bearer(good))
        assert response.status_code == 401
        assert "another audience" in response.json()["detail"]


async def test_without_a_provider_a_jwt_is_just_an_invalid_token(
    settings: Settings, db: Database, oidc_provider: OidcProvider
) -> None:
    async with client_with(settings, db) as plain:
        response = await plain.get(f"{API}/me", headers=bearer(client_token(oidc_provider)))
    assert response.status_code == 401
    assert response.json()["rule"] == "invalid_token"


async def test_scim_provisioning_can_use_a_client_credentials_token(
    client: httpx.AsyncClient, oidc_provider: OidcProvider
) -> None:
    """An identity provider can provision over SCIM with its own token instead of a static one
    (the scope is `scim`; a token without it is refused as SCIM refuses)."""
    allowed = await client.get(
        "/scim/v2/Users", headers=bearer(client_token(oidc_provider, "scim"))
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["totalResults"] == 0
    refused = await client.get(
        "/scim/v2/Users", headers=bearer(client_token(oidc_provider, "read"))
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/scim+json")


async def test_groups_naming_a_program_make_its_managers(db: Database, factory: Factory) -> None:
    """With a prefix configured, a group ``<prefix><program id>`` grants managing that program
    (for bearer tokens and sessions alike); groups naming nothing valid grant nothing."""
    manager = await factory.employee(email="lead@example.com")
    program = await factory.program()
    mapping = ClaimMapping(program_manager_prefix="revmentor-program:")
    claims = {
        "sub": "u-9",
        "email": "lead@example.com",
        "groups": [f"revmentor-program:{program.id}", "revmentor-program:nonsense", "staff"],
    }
    async with db.session() as session:
        actor = await actor_for_claims(session, claims, mapping)
        assert actor.managed_program_ids == {program.id}
        assert not actor.is_admin
        # A session opened for them keeps the grant.
        _, value, _ = await open_session(session, actor, ttl=timedelta(hours=1))
        await session.commit()
    async with db.session() as session:
        again = await session_actor(session, value, method="GET", csrf=None)
    assert again.employee_id == manager.id
    assert again.managed_program_ids == {program.id}
    # Without the prefix setting, groups grant no program.
    async with db.session() as session:
        plain = await actor_for_claims(session, claims, ClaimMapping())
    assert plain.managed_program_ids == frozenset()


async def test_a_request_without_credentials_gets_the_plain_challenge(
    client: httpx.AsyncClient,
) -> None:
    """No token sent: nothing to call invalid (RFC 6750 3.1), only where to authenticate."""
    response = await client.get(f"{API}/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="revmentor"'
    revoked = await client.get(f"{API}/me", headers=bearer("rvm_not-a-real-token"))
    assert revoked.status_code == 401
    assert revoked.headers["www-authenticate"] == 'Bearer realm="revmentor", error="invalid_token"'
