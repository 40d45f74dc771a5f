"""SCIM protocol conventions: authentication, content types, ETags and If-Match, and every
error in the RFC 7644 Error format."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from app.config import Settings
from app.db.engine import Database
from app.main import create_app
from tests.api.scim.conftest import (
    ENTERPRISE,
    ERROR,
    PATCH_OP,
    SCIM_JSON,
    assert_scim_error,
    create_user,
    headers,
    okta_user,
    patch_body,
    stored,
)
from tests.factories import Factory, Service

# --- who may call ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer rvm_not-a-token", "Bearer eyJhbGciOi.x.y", "Basic b2t0YTpwdw=="]
)
@pytest.mark.parametrize("path", ["/scim/v2/Users", "/scim/v2/ServiceProviderConfig"])
async def test_missing_or_bad_credentials_are_a_401_scim_error(
    client: httpx.AsyncClient, authorization: str | None, path: str
) -> None:
    sent = {"Authorization": authorization} if authorization else {}
    response = await client.get(path, headers=sent)
    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        # RFC 6750 section 3.1: no error code when no bearer token was offered...
        (None, 'Bearer realm="revmentor"'),
        ("Basic b2t0YTpwdw==", 'Bearer realm="revmentor"'),
        # ... and invalid_token when the one offered is refused.
        ("Bearer rvm_not-a-token", 'Bearer realm="revmentor", error="invalid_token"'),
        ("Bearer eyJhbGciOi.x.y", 'Bearer realm="revmentor", error="invalid_token"'),
    ],
)
async def test_the_challenge_says_when_a_bearer_token_was_refused(
    client: httpx.AsyncClient, authorization: str | None, challenge: str
) -> None:
    sent = {"Authorization": authorization} if authorization else {}
    response = await client.get("/scim/v2/Users", headers=sent)
    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"] == challenge


async def test_a_token_without_the_scim_scope_is_forbidden(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris = await factory.service("employees:write", "read", name="hris-job")
    person = await factory.person()
    for caller in (hris.headers, person.headers):
        for method, path in [("GET", "/scim/v2/Users"), ("GET", "/scim/v2/Schemas")]:
            response = await client.request(method, path, headers=caller)
            error = assert_scim_error(response, 403)
            assert "scim" in error["detail"]
        created = await client.post(
            "/scim/v2/Users", headers={**caller, "Content-Type": SCIM_JSON}, json=okta_user(1)
        )
        assert_scim_error(created, 403)


async def test_an_admin_may_use_scim(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    response = await client.get("/scim/v2/Users", headers=admin.headers)
    assert response.status_code == 200


# --- content types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/scim+json", "application/json", "application/json; charset=utf-8"]
)
async def test_json_bodies_are_accepted_under_both_media_types(
    client: httpx.AsyncClient, idp: Service, content_type: str
) -> None:
    response = await client.post(
        "/scim/v2/Users",
        headers={**idp.headers, "Content-Type": content_type},
        content=json.dumps(okta_user(1)).encode(),
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == SCIM_JSON


async def test_other_media_types_are_refused(client: httpx.AsyncClient, idp: Service) -> None:
    response = await client.post(
        "/scim/v2/Users",
        headers={**idp.headers, "Content-Type": "application/x-www-form-urlencoded"},
        content=b"userName=a",
    )
    assert_scim_error(response, 415)


@pytest.mark.parametrize(
    "body",
    [
        b'{"userName": ',
        b"",
        b"[]",
        b'"user"',
        b"\xff\xfe",
        b'{"userName": "a@b.com"',
        # Not JSON (RFC 8259 has no such numbers), though Python's decoder reads them.
        b'{"count": NaN}',
        b'{"startIndex": -Infinity}',
    ],
)
async def test_malformed_json_is_invalid_syntax(
    client: httpx.AsyncClient, idp: Service, body: bytes
) -> None:
    for method, path in [("POST", "/scim/v2/Users"), ("POST", "/scim/v2/Users/.search")]:
        response = await client.request(method, path, headers=headers(idp), content=body)
        assert_scim_error(response, 400, "invalidSyntax")


async def test_a_body_for_another_resource_is_invalid_syntax(
    client: httpx.AsyncClient, idp: Service
) -> None:
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales"}
    response = await client.post("/scim/v2/Users", headers=headers(idp), json=body)
    assert_scim_error(response, 400, "invalidSyntax")


async def test_a_patch_or_search_without_schemas_is_invalid_syntax(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, okta_user(1))
    operations = [{"op": "replace", "path": "title", "value": "Engineer"}]
    for schemas in (None, PATCH_OP, []):
        body: dict[str, Any] = {"Operations": operations}
        if schemas is not None:
            body["schemas"] = schemas
        response = await client.patch(
            f"/scim/v2/Users/{user['id']}", headers=headers(idp), json=body
        )
        error = assert_scim_error(response, 400, "invalidSyntax")
        assert PATCH_OP in error["detail"]
    assert (await stored(db, user["id"])).version == 1
    search = await client.post(
        "/scim/v2/Users/.search", headers=headers(idp), json={"filter": "userName pr"}
    )
    error = assert_scim_error(search, 400, "invalidSyntax")
    assert "urn:ietf:params:scim:api:messages:2.0:SearchRequest" in error["detail"]


async def test_a_user_without_schemas_is_accepted(client: httpx.AsyncClient, idp: Service) -> None:
    # RFC 7643 section 3 requires schemas; a User body is read as one all the same, as some
    # provisioning clients leave it out (see app.api.scim.users).
    body = {k: v for k, v in okta_user(1).items() if k != "schemas"}
    created = await create_user(client, idp, body)
    replaced = await client.put(
        f"/scim/v2/Users/{created['id']}", headers=headers(idp), json={**body, "title": "Lead"}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["title"] == "Lead"


async def test_an_oversized_body_is_a_413_scim_error(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    body = okta_user(1, title="x" * (1024 * 1024 + 10))
    response = await client.post("/scim/v2/Users", headers=headers(idp), json=body)
    assert_scim_error(response, 413)


async def test_nul_characters_are_refused_not_crashed_on(
    client: httpx.AsyncClient, idp: Service
) -> None:
    response = await client.post(
        "/scim/v2/Users", headers=headers(idp), json=okta_user(1, displayName="A\u0000B")
    )
    assert_scim_error(response, 400, "invalidValue")
    query = await client.get(
        "/scim/v2/Users?filter=userName%20eq%20%22a%00b%22", headers=idp.headers
    )
    assert_scim_error(query, 400)


# --- creating: values and uniqueness -------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"userName": None}, "userName"),
        ({"userName": "not-an-email"}, "userName"),
        ({"name": {"givenName": "Only"}}, "name.familyName"),
        ({"name": {"givenName": "", "familyName": "X"}}, "name.givenName"),
        ({"active": "maybe"}, "active"),
        ({"title": "t" * 201}, "title"),
        (
            {"urn:revmentor:params:scim:schemas:extension:revmentor:2.0:User": {"jobLevel": 31}},
            "jobLevel",
        ),
        (
            {"urn:revmentor:params:scim:schemas:extension:revmentor:2.0:User": {"jobLevel": True}},
            "jobLevel",
        ),
        (
            {
                "urn:revmentor:params:scim:schemas:extension:revmentor:2.0:User": {
                    "timeZone": "Mars/Olympus"
                }
            },
            "timeZone",
        ),
        (
            {
                "urn:revmentor:params:scim:schemas:extension:revmentor:2.0:User": {
                    "hireDate": "soon"
                }
            },
            "hireDate",
        ),
    ],
)
async def test_invalid_values_are_refused_and_change_nothing(
    client: httpx.AsyncClient, idp: Service, db: Database, overrides: dict[str, Any], fragment: str
) -> None:
    body = {k: v for k, v in okta_user(1, **overrides).items() if v is not None}
    response = await client.post("/scim/v2/Users", headers=headers(idp), json=body)
    error = assert_scim_error(response, 400, "invalidValue")
    assert fragment in error["detail"]
    listing = await client.get("/scim/v2/Users", headers=idp.headers)
    assert listing.json()["totalResults"] == 0


async def test_duplicate_username_or_external_id_is_a_uniqueness_conflict(
    client: httpx.AsyncClient, idp: Service
) -> None:
    await create_user(client, idp, okta_user(1))
    same_name = okta_user(2, userName="TEST.USER1@example.com")
    assert_scim_error(
        await client.post("/scim/v2/Users", headers=headers(idp), json=same_name), 409, "uniqueness"
    )
    same_external = okta_user(3, externalId="00ujl29u0le5T6Aj10h1")
    assert_scim_error(
        await client.post("/scim/v2/Users", headers=headers(idp), json=same_external),
        409,
        "uniqueness",
    )
    other = await create_user(client, idp, okta_user(4))
    taken = await client.patch(
        f"/scim/v2/Users/{other['id']}",
        headers=headers(idp),
        json=patch_body({"op": "replace", "path": "userName", "value": "test.user1@example.com"}),
    )
    assert_scim_error(taken, 409, "uniqueness")


@pytest.mark.parametrize("user_id", ["2819c223-7f76-453a-919d-413861904646", "not-a-uuid", "123"])
async def test_unknown_users_are_404(client: httpx.AsyncClient, idp: Service, user_id: str) -> None:
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        body = okta_user(1) if method == "PUT" else patch_body({"op": "remove", "path": "title"})
        kwargs = {"json": body} if method in ("PUT", "PATCH") else {}
        response = await client.request(
            method, f"/scim/v2/Users/{user_id}", headers=headers(idp), **kwargs
        )
        assert_scim_error(response, 404)


async def test_unknown_scim_endpoint_is_a_404_scim_error(
    client: httpx.AsyncClient, idp: Service
) -> None:
    assert_scim_error(await client.get("/scim/v2/Devices", headers=idp.headers), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_search_answers_only_post(
    client: httpx.AsyncClient, idp: Service, method: str
) -> None:
    kwargs: dict[str, Any] = {"json": okta_user(1)} if method in ("PUT", "PATCH") else {}
    response = await client.request(
        method, "/scim/v2/Users/.search", headers=headers(idp), **kwargs
    )
    error = assert_scim_error(response, 405)
    assert response.headers["allow"] == "POST"
    assert ".search" in error["detail"]


async def test_a_trailing_slash_names_the_same_endpoint(
    client: httpx.AsyncClient, idp: Service
) -> None:
    created = await client.post("/scim/v2/Users/", headers=headers(idp), json=okta_user(1))
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["location"] == f"http://testserver/scim/v2/Users/{user['id']}"
    listing = await client.get("/scim/v2/Users/", headers=idp.headers)
    assert listing.status_code == 200, listing.text
    assert listing.json() == (await client.get("/scim/v2/Users", headers=idp.headers)).json()
    assert listing.json()["totalResults"] == 1
    read = await client.get(f"/scim/v2/Users/{user['id']}/", headers=idp.headers)
    assert read.status_code == 200, read.text
    assert read.json() == user
    config = await client.get("/scim/v2/ServiceProviderConfig/", headers=idp.headers)
    assert config.status_code == 200, config.text
    assert_scim_error(await client.get("/scim/v2/Devices/", headers=idp.headers), 404)


# --- ETags ------------------------------------------------------------------------------------


async def test_etags_follow_the_version(client: httpx.AsyncClient, idp: Service) -> None:
    user = await create_user(client, idp, okta_user(1))
    url = f"/scim/v2/Users/{user['id']}"
    read = await client.get(url, headers=idp.headers)
    assert read.headers["etag"] == read.json()["meta"]["version"] == 'W/"1"'
    not_modified = await client.get(url, headers={**idp.headers, "If-None-Match": 'W/"1"'})
    assert not_modified.status_code == 304
    changed = await client.patch(
        url,
        headers=headers(idp),
        json=patch_body({"op": "replace", "path": "title", "value": "Engineer"}),
    )
    assert changed.headers["etag"] == 'W/"2"'
    assert (
        await client.get(url, headers={**idp.headers, "If-None-Match": 'W/"1"'})
    ).status_code == 200


async def test_a_reports_etag_follows_the_manager_name_it_shows(
    client: httpx.AsyncClient, idp: Service
) -> None:
    manager = await create_user(client, idp, okta_user(1))
    report = await create_user(
        client, idp, {**okta_user(2), ENTERPRISE: {"manager": {"value": manager["id"]}}}
    )
    url = f"/scim/v2/Users/{report['id']}"
    read = await client.get(url, headers=idp.headers)
    cached = read.headers["etag"]
    assert cached == read.json()["meta"]["version"]
    assert read.json()[ENTERPRISE]["manager"]["displayName"] == manager["displayName"]
    assert (
        await client.get(url, headers={**idp.headers, "If-None-Match": cached})
    ).status_code == 304

    # The manager is renamed: the report's own record is untouched, but what it shows is not.
    renamed = await client.patch(
        f"/scim/v2/Users/{manager['id']}",
        headers=headers(idp),
        json=patch_body({"op": "replace", "path": "displayName", "value": "Dr. Manager"}),
    )
    assert renamed.status_code == 200, renamed.text
    again = await client.get(url, headers={**idp.headers, "If-None-Match": cached})

    assert again.status_code == 200
    assert again.json()[ENTERPRISE]["manager"]["displayName"] == "Dr. Manager"
    fresh = again.headers["etag"]
    assert fresh != cached
    assert again.json()["meta"]["version"] == fresh
    listed = await client.get(
        "/scim/v2/Users", headers=headers(idp), params={"filter": f'id eq "{report["id"]}"'}
    )
    assert listed.json()["Resources"][0]["meta"]["version"] == fresh
    # A write held to what the client last saw: the old tag is stale, the new one current.
    title = patch_body({"op": "replace", "path": "title", "value": "Engineer"})
    assert_scim_error(
        await client.patch(url, headers=headers(idp, **{"If-Match": cached}), json=title), 412
    )
    written = await client.patch(url, headers=headers(idp, **{"If-Match": fresh}), json=title)
    assert written.status_code == 200, written.text
    assert written.headers["etag"] not in (cached, fresh)


async def test_if_match_guards_changes(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, okta_user(1))
    url = f"/scim/v2/Users/{user['id']}"
    title = patch_body({"op": "replace", "path": "title", "value": "Engineer"})

    for method, kwargs in [
        ("PATCH", {"json": title}),
        ("PUT", {"json": okta_user(1, title="Engineer")}),
        ("DELETE", {}),
    ]:
        stale = await client.request(
            method, url, headers=headers(idp, **{"If-Match": 'W/"7"'}), **kwargs
        )
        error = assert_scim_error(stale, 412)
        assert "version" in error["detail"]
    garbage = await client.patch(url, headers=headers(idp, **{"If-Match": "v1"}), json=title)
    assert_scim_error(garbage, 412)
    assert (await stored(db, user["id"])).version == 1

    ok = await client.patch(url, headers=headers(idp, **{"If-Match": 'W/"1"'}), json=title)
    assert ok.status_code == 200
    assert ok.headers["etag"] == 'W/"2"'
    strong = await client.put(
        url, headers=headers(idp, **{"If-Match": '"2"'}), json=okta_user(1, title="Lead")
    )
    assert strong.status_code == 200
    anything = await client.patch(url, headers=headers(idp, **{"If-Match": "*"}), json=title)
    assert anything.status_code == 200
    listed = await client.patch(
        url, headers=headers(idp, **{"If-Match": 'W/"1", W/"4"'}), json=title
    )
    assert listed.status_code == 200
    deleted = await client.delete(url, headers={**idp.headers, "If-Match": 'W/"4"'})
    assert deleted.status_code == 204


async def test_a_patch_that_changes_nothing_keeps_the_version(
    client: httpx.AsyncClient, idp: Service
) -> None:
    user = await create_user(client, idp, okta_user(1))
    same = await client.patch(
        f"/scim/v2/Users/{user['id']}",
        headers=headers(idp),
        json=patch_body({"op": "replace", "value": {"active": True, "displayName": "Test User1"}}),
    )
    assert same.status_code == 200
    assert same.json()["meta"]["version"] == 'W/"1"'


# --- failures nobody planned -----------------------------------------------------------------


async def test_an_unexpected_error_is_a_masked_500_scim_error(
    settings: Settings, db: Database
) -> None:
    app = create_app(settings)
    app.state.db = db

    @app.get("/scim/v2/Explode")
    async def explode() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/scim/v2/Explode")
    assert response.status_code == 500
    assert response.headers["content-type"] == SCIM_JSON
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == "500"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text


async def test_rest_errors_keep_the_problem_format(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/employees")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_database_outage_is_a_503_scim_error_with_retry_after(
    settings: Settings, db: Database
) -> None:
    app = create_app(settings)
    app.state.db = db

    @app.get("/scim/v2/Unavailable")
    async def unavailable() -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/scim/v2/Unavailable")
    assert_scim_error(response, 503)
    assert response.headers["retry-after"] == str(settings.retry_after_seconds)
