"""Deny by default: every route of the live route table needs an actor unless it is public.

The route list is read from the application itself (not written down here), so a route added
without protection makes these tests fail. Public routes are the allow-list in
``app.main.PUBLIC_PATHS``; everything else must depend on ``app.api.deps.require_actor`` and
answer an anonymous or badly authenticated call with a 401 problem document (under ``/scim/v2``,
with a 401 SCIM Error message: RFC 7644 has its own error format).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from sqlalchemy import func, select, update
from sqlmodel import col

from app.api.deps import require_actor
from app.config import Settings
from app.db.engine import Database
from app.db.models import ApiToken, IdempotencyRecord
from app.db.types import utcnow
from app.domain import employees, tokens
from app.domain.actors import Actor
from app.main import PUBLIC_PATHS, create_app
from tests.factories import Factory

SYSTEM = Actor.system()
PROBLEM_JSON = "application/problem+json"
SCIM_JSON = "application/scim+json"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Endpoint:
    """One method of one route in the application's route table."""

    method: str
    path: str  # the template, e.g. /api/v1/employees/{employee_id}
    dependant: Dependant | None  # None for plain Starlette routes and mounts

    @property
    def is_public(self) -> bool:
        return self.path in PUBLIC_PATHS

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _route_contexts(app: FastAPI) -> list[Any]:
    """Every route of the app, with routers included into it flattened."""
    try:  # FastAPI >= 0.165 includes routers lazily; this walks into them.
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI: app.routes is already flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def endpoints(app: FastAPI) -> list[Endpoint]:
    """One entry per (route, method) of the live route table; HEAD comes with GET."""
    out: list[Endpoint] = []
    for route in _route_contexts(app):
        path = getattr(route, "path", None)
        assert path, f"a route without a path in the route table: {route!r} (walk it too)"
        dependant = getattr(route, "dependant", None)
        methods = getattr(route, "methods", None) or {"GET"}  # mounts: try a GET
        for method in sorted(methods):
            out.append(Endpoint(method=method, path=path, dependant=dependant))
    return out


def depends_on(dependant: Dependant | None, call: Any) -> bool:
    """Whether ``call`` is anywhere in a route's dependency tree."""
    if dependant is None:
        return False
    return any(d.call is call or depends_on(d, call) for d in dependant.dependencies)


def concrete_path(template: str) -> str:
    """The template with every path parameter replaced by a random UUID."""
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), template)


def _collect() -> list[Endpoint]:
    # Built like the ``app`` fixture (same environment), only to list routes at collection time;
    # ``test_the_collected_table_is_the_live_one`` checks both agree.
    app = create_app(
        Settings(
            env="test", database_url="sqlite+aiosqlite://", log_json=False, log_level="WARNING"
        )
    )
    return endpoints(app)


ALL_ENDPOINTS = _collect()
PROTECTED = [e for e in ALL_ENDPOINTS if not e.is_public]
PUBLIC = [e for e in ALL_ENDPOINTS if e.is_public]


def _ids(items: list[Endpoint]) -> list[str]:
    return [str(e) for e in items]


# ---------------------------------------------------------------------------------------------
# The route table itself
# ---------------------------------------------------------------------------------------------


def test_the_collected_table_is_the_live_one(app: FastAPI) -> None:
    live = {(e.method, e.path) for e in endpoints(app)}
    assert live == {(e.method, e.path) for e in ALL_ENDPOINTS}
    assert len(PROTECTED) >= 20, "the walk should find every /api/v1 route"


def test_every_allow_listed_path_is_a_real_route() -> None:
    """A stale allow-list entry would quietly make a future route at that path public."""
    paths = {e.path for e in ALL_ENDPOINTS}
    assert paths >= PUBLIC_PATHS, f"allow-listed but not routed: {sorted(PUBLIC_PATHS - paths)}"


def test_no_api_route_is_public() -> None:
    assert not [e for e in PUBLIC if e.path.startswith("/api/")]


@pytest.mark.parametrize("endpoint", PROTECTED, ids=_ids(PROTECTED))
def test_protected_route_depends_on_require_actor(endpoint: Endpoint) -> None:
    assert depends_on(endpoint.dependant, require_actor), (
        f"{endpoint} is not in PUBLIC_PATHS but does not depend on require_actor: "
        "protect it (include it in a router with Depends(require_actor)) or make it public "
        "on purpose"
    )


# ---------------------------------------------------------------------------------------------
# Calling every protected route without valid credentials
# ---------------------------------------------------------------------------------------------

GARBAGE = {
    "anonymous": None,
    "unknown rvm_ token": "Bearer rvm_nope",
    "not a Revmentor token": "Bearer xyz",
    "basic scheme": "Basic abc",
    "empty bearer": "Bearer ",
    "overlong token": "Bearer rvm_" + "a" * 300,
}
STORED = ["revoked token", "expired token", "deactivated employee"]


async def _person_token(db: Database, factory: Factory) -> tuple[uuid.UUID, uuid.UUID, str]:
    """A working person token: (employee id, token id, value)."""
    employee = await factory.employee()
    async with db.session() as session:
        token, value = await tokens.create_token(
            session,
            SYSTEM,
            data=tokens.TokenCreate(name="laptop", employee_id=employee.id),
            default_ttl_days=30,
        )
        await session.commit()
    return employee.id, token.id, value


async def _spoil(db: Database, kind: str, employee_id: uuid.UUID, token_id: uuid.UUID) -> None:
    """Make a working token stop working, the way it happens in real life."""
    async with db.session() as session:
        if kind == "revoked token":
            await tokens.revoke_token(session, SYSTEM, token_id)
        elif kind == "expired token":
            await session.execute(
                update(ApiToken)
                .where(col(ApiToken.id) == token_id)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        elif kind == "deactivated employee":
            await employees.deactivate_employee(session, SYSTEM, employee_id, expected_version=None)
        else:  # pragma: no cover
            raise AssertionError(kind)
        await session.commit()


async def _call(
    client: httpx.AsyncClient, endpoint: Endpoint, authorization: str | None
) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if endpoint.method in BODY_METHODS:
        kwargs["json"] = {}  # well-formed but minimal: authentication must come first
    return await client.request(endpoint.method, concrete_path(endpoint.path), **kwargs)


def assert_unauthenticated(response: httpx.Response, endpoint: Endpoint) -> None:
    assert response.status_code == 401, f"{endpoint}: {response.status_code} {response.text}"
    assert response.headers["www-authenticate"].startswith("Bearer")
    if endpoint.path.startswith("/scim/v2/"):
        assert response.headers["content-type"].startswith(SCIM_JSON)
        if endpoint.method != "HEAD":
            error = response.json()
            assert error["schemas"] == [SCIM_ERROR]
            assert error["status"] == "401"
        return
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    if endpoint.method != "HEAD":
        problem = response.json()
        assert problem["status"] == 401
        assert problem["type"].endswith(":unauthenticated")


@pytest.mark.parametrize("credential", list(GARBAGE))
@pytest.mark.parametrize("endpoint", PROTECTED, ids=_ids(PROTECTED))
async def test_protected_route_refuses_missing_or_garbage_credentials(
    client: httpx.AsyncClient, endpoint: Endpoint, credential: str
) -> None:
    response = await _call(client, endpoint, GARBAGE[credential])
    assert_unauthenticated(response, endpoint)


@pytest.mark.parametrize("credential", STORED)
@pytest.mark.parametrize("endpoint", PROTECTED, ids=_ids(PROTECTED))
async def test_protected_route_refuses_tokens_that_no_longer_work(
    client: httpx.AsyncClient, db: Database, factory: Factory, endpoint: Endpoint, credential: str
) -> None:
    employee_id, token_id, value = await _person_token(db, factory)
    bearer = f"Bearer {value}"
    # The token works before it is spoiled, so the 401 below is about the spoiling.
    assert (await client.get("/api/v1/me", headers={"Authorization": bearer})).status_code == 200
    await _spoil(db, credential, employee_id, token_id)
    response = await _call(client, endpoint, bearer)
    assert_unauthenticated(response, endpoint)


async def test_refusals_do_not_tell_which_check_failed(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """Unknown, revoked and expired tokens get the same answer (nothing to probe)."""
    details = set()
    for kind in ("revoked token", "expired token"):
        employee_id, token_id, value = await _person_token(db, factory)
        await _spoil(db, kind, employee_id, token_id)
        response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})
        details.add((response.status_code, response.json()["detail"]))
    response = await client.get("/api/v1/me", headers={"Authorization": "Bearer rvm_nope"})
    details.add((response.status_code, response.json()["detail"]))
    assert len(details) == 1, details


POSTS = [e for e in PROTECTED if e.method == "POST"]


@pytest.mark.parametrize("endpoint", POSTS, ids=_ids(POSTS))
async def test_refused_post_with_idempotency_key_is_not_replayed(
    client: httpx.AsyncClient, db: Database, endpoint: Endpoint
) -> None:
    """A 401 is never stored as an idempotent outcome: the retry is authenticated afresh."""
    path = concrete_path(endpoint.path)
    headers = {"Authorization": "Bearer rvm_nope", "Idempotency-Key": "key-1"}
    for _ in range(2):
        response = await client.post(path, headers=headers, json={})
        assert_unauthenticated(response, endpoint)
        assert "idempotent-replayed" not in response.headers
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


#: Successful admin POSTs whose outcome the idempotency store keeps for replay.
REPLAYABLE_POSTS = {
    "/api/v1/employees": {
        "email": "grace.hopper@example.com",
        "given_name": "Grace",
        "family_name": "Hopper",
        "job_level": 9,
    },
    "/api/v1/tokens": {"name": "BI export", "service": "bi-export", "scopes": ["read"]},
}


@pytest.mark.parametrize("credential", STORED)
@pytest.mark.parametrize("path", list(REPLAYABLE_POSTS))
async def test_stored_outcome_is_not_replayed_to_a_credential_that_no_longer_works(
    client: httpx.AsyncClient, db: Database, factory: Factory, path: str, credential: str
) -> None:
    """A retry is a new request: once the token is revoked or expired, or its employee
    deactivated, the retry gets a 401, not the response stored for the first attempt."""
    admin = await factory.admin()
    headers = {**admin.headers, "Idempotency-Key": "retry-me"}
    first = await client.post(path, headers=headers, json=REPLAYABLE_POSTS[path])
    assert first.status_code == 201, first.text
    async with db.session() as session:
        token_id = await session.scalar(
            select(ApiToken.id).where(col(ApiToken.token_hash) == tokens.hash_token(admin.token))
        )
    assert token_id is not None
    await _spoil(db, credential, admin.id, token_id)

    retry = await client.post(path, headers=headers, json=REPLAYABLE_POSTS[path])
    assert_unauthenticated(retry, Endpoint("POST", path, None))
    assert "idempotent-replayed" not in retry.headers


async def test_issued_token_value_is_not_kept_by_the_idempotency_store(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """Token values are shown once and stored hashed only, idempotent retries included."""
    admin = await factory.admin()
    response = await client.post(
        "/api/v1/tokens",
        headers={**admin.headers, "Idempotency-Key": "issue-once"},
        json=REPLAYABLE_POSTS["/api/v1/tokens"],
    )
    assert response.status_code == 201, response.text
    value = response.json()["token"].encode()
    async with db.session() as session:
        stored = (await session.execute(select(IdempotencyRecord))).scalars().all()
    assert not [r for r in stored if value in (r.response_body or b"")]


# ---------------------------------------------------------------------------------------------
# The public routes answer without credentials
# ---------------------------------------------------------------------------------------------


async def test_healthz_is_public(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_public(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_metrics_is_public_text(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "revmentor_http_requests_total" in response.text


async def test_openapi_is_public(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/employees" in document["paths"]


@pytest.mark.parametrize("endpoint", PUBLIC, ids=_ids(PUBLIC))
async def test_public_route_answers_anonymously(
    client: httpx.AsyncClient, endpoint: Endpoint
) -> None:
    response = await client.request(endpoint.method, endpoint.path)
    # Sign-in answers that it is not configured here (no identity provider in these tests);
    # with one it redirects (tests/api/auth).
    expected = 404 if endpoint.path.startswith("/auth/") else 200
    assert response.status_code == expected, f"{endpoint}: {response.status_code}"


async def test_a_tokens_use_is_recorded_even_when_its_request_fails(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """Authentication stands apart from the request's own unit of work: the token's last use
    is kept when what it authenticated is refused and rolled back."""
    _, token_id, value = await _person_token(db, factory)
    refused = await client.post(
        "/api/v1/programs", json={"name": ""}, headers={"Authorization": f"Bearer {value}"}
    )
    assert refused.status_code in (403, 422), refused.text
    async with db.session() as session:
        used = await session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))
    assert used is not None
    assert utcnow() - used < timedelta(minutes=1)
