"""SCIM discovery: what the service says it supports, and the endpoints it refuses."""

from __future__ import annotations

import httpx
import pytest

from tests.api.scim.conftest import (
    ENTERPRISE,
    LIST_RESPONSE,
    REVMENTOR,
    SCIM_JSON,
    assert_scim_error,
    headers,
)
from tests.factories import Service

BASE = "http://testserver/scim/v2"


async def test_service_provider_config_states_what_is_supported(
    client: httpx.AsyncClient, idp: Service
) -> None:
    response = await client.get("/scim/v2/ServiceProviderConfig", headers=idp.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(SCIM_JSON)
    config = response.json()
    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert config["patch"] == {"supported": True}
    assert config["bulk"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["changePassword"] == {"supported": False}
    assert config["sort"] == {"supported": True}
    assert config["etag"] == {"supported": True}
    [scheme] = config["authenticationSchemes"]
    assert scheme["type"] == "oauthbearertoken"
    assert "scim" in scheme["description"]
    assert config["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": f"{BASE}/ServiceProviderConfig",
    }


async def test_resource_types_list_users_only(client: httpx.AsyncClient, idp: Service) -> None:
    response = await client.get("/scim/v2/ResourceTypes", headers=idp.headers)
    assert response.status_code == 200
    listing = response.json()
    assert listing["schemas"] == [LIST_RESPONSE]
    assert listing["totalResults"] == 1
    [user] = listing["Resources"]
    assert user["id"] == user["name"] == "User"
    assert user["endpoint"] == "/Users"
    assert user["schema"] == "urn:ietf:params:scim:schemas:core:2.0:User"
    assert user["schemaExtensions"] == [
        {"schema": ENTERPRISE, "required": False},
        {"schema": REVMENTOR, "required": False},
    ]
    assert user["meta"]["location"] == f"{BASE}/ResourceTypes/User"

    one = await client.get("/scim/v2/ResourceTypes/User", headers=idp.headers)
    assert one.json() == user
    assert_scim_error(await client.get("/scim/v2/ResourceTypes/Group", headers=idp.headers), 404)


async def test_schemas_describe_users_extensions_and_discovery_itself(
    client: httpx.AsyncClient, idp: Service
) -> None:
    response = await client.get("/scim/v2/Schemas", headers=idp.headers)
    assert response.status_code == 200
    listing = response.json()
    by_id = {s["id"]: s for s in listing["Resources"]}
    assert set(by_id) == {
        "urn:ietf:params:scim:schemas:core:2.0:User",
        ENTERPRISE,
        REVMENTOR,
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
        "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
        "urn:ietf:params:scim:schemas:core:2.0:Schema",
    }
    assert listing["totalResults"] == 6

    user = {a["name"]: a for a in by_id["urn:ietf:params:scim:schemas:core:2.0:User"]["attributes"]}
    # Only what Revmentor stores is published.
    assert set(user) == {"userName", "name", "displayName", "title", "timezone", "active", "emails"}
    assert user["userName"]["required"] is True
    assert user["userName"]["uniqueness"] == "server"
    names = {s["name"]: s for s in user["name"]["subAttributes"]}
    assert names["givenName"]["required"] is names["familyName"]["required"] is True

    revmentor = {a["name"]: a for a in by_id[REVMENTOR]["attributes"]}
    assert set(revmentor) == {"jobLevel", "location", "timeZone", "hireDate", "terminationDate"}
    assert revmentor["jobLevel"]["type"] == "integer"
    assert revmentor["jobLevel"]["required"] is False
    assert "Defaults to 1" in revmentor["jobLevel"]["description"]

    manager = {a["name"]: a for a in by_id[ENTERPRISE]["attributes"]}["manager"]
    subs = {s["name"]: s for s in manager["subAttributes"]}
    assert subs["displayName"]["mutability"] == "readOnly"
    assert subs["$ref"]["type"] == "reference"

    schema_of_schemas = by_id["urn:ietf:params:scim:schemas:core:2.0:Schema"]
    assert {a["name"] for a in schema_of_schemas["attributes"]} == {
        "id",
        "name",
        "description",
        "attributes",
    }
    for schema in listing["Resources"]:
        assert schema["meta"] == {
            "resourceType": "Schema",
            "location": f"{BASE}/Schemas/{schema['id']}",
        }


async def test_one_schema_by_its_urn(client: httpx.AsyncClient, idp: Service) -> None:
    response = await client.get(f"/scim/v2/Schemas/{REVMENTOR}", headers=idp.headers)
    assert response.status_code == 200
    assert response.json()["id"] == REVMENTOR
    assert response.json()["name"] == "RevmentorUser"
    assert_scim_error(
        await client.get("/scim/v2/Schemas/urn:example:unknown", headers=idp.headers), 404
    )


@pytest.mark.parametrize(
    "path", ["/scim/v2/ServiceProviderConfig", "/scim/v2/ResourceTypes", "/scim/v2/Schemas"]
)
async def test_discovery_takes_no_filter(
    client: httpx.AsyncClient, idp: Service, path: str
) -> None:
    response = await client.get(path, headers=idp.headers, params={"filter": 'name eq "User"'})
    assert_scim_error(response, 403)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "path",
    [
        "/scim/v2/ServiceProviderConfig",
        "/scim/v2/ResourceTypes",
        "/scim/v2/ResourceTypes/User",
        "/scim/v2/Schemas",
        f"/scim/v2/Schemas/{REVMENTOR}",
    ],
)
async def test_discovery_answers_other_methods_with_405(
    client: httpx.AsyncClient, idp: Service, path: str, method: str
) -> None:
    response = await client.request(method, path, headers=headers(idp), json={})
    assert_scim_error(response, 405)
    assert response.headers["allow"] == "GET"


async def test_bulk_is_not_implemented(client: httpx.AsyncClient, idp: Service) -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "path": "/Users", "bulkId": "q1", "data": {}}],
    }
    response = await client.post("/scim/v2/Bulk", headers=headers(idp), json=body)
    assert_scim_error(response, 501)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_me_is_not_implemented(client: httpx.AsyncClient, idp: Service, method: str) -> None:
    response = await client.request(method, "/scim/v2/Me", headers=headers(idp), json={})
    assert_scim_error(response, 501)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/scim/v2/Groups"),
        ("GET", '/scim/v2/Groups?filter=displayName eq "Sales"'),
        ("POST", "/scim/v2/Groups"),
        ("GET", "/scim/v2/Groups/6c5bb468-14b2-4183-baf2-06d523e03bd3"),
        ("PATCH", "/scim/v2/Groups/6c5bb468-14b2-4183-baf2-06d523e03bd3"),
        ("DELETE", "/scim/v2/Groups/6c5bb468-14b2-4183-baf2-06d523e03bd3"),
    ],
)
async def test_groups_are_not_supported(
    client: httpx.AsyncClient, idp: Service, method: str, path: str
) -> None:
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales"}
    kwargs = {"json": body} if method in ("POST", "PATCH") else {}
    response = await client.request(method, path, headers=headers(idp), **kwargs)
    error = assert_scim_error(response, 404)
    assert "groups are not supported" in error["detail"]


async def test_scim_stays_out_of_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert not [path for path in document["paths"] if path.startswith("/scim")]
