"""PATCH as RFC 7644 section 3.5.2 has it, where the identity providers' payloads leave it open:
removing what has a default or is required, paths the User schemas do not hold, value filters
matching nothing, and errors a person can read."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.db.engine import Database
from tests.api.scim.conftest import (
    ENTERPRISE,
    REVMENTOR,
    assert_scim_error,
    create_user,
    entra_user,
    headers,
    okta_user,
    patch_body,
    stored,
)
from tests.factories import Service


async def _patch(
    client: httpx.AsyncClient, idp: Service, user_id: str, *operations: dict[str, Any]
) -> httpx.Response:
    return await client.patch(
        f"/scim/v2/Users/{user_id}", headers=headers(idp), json=patch_body(*operations)
    )


# --- removing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": "timezone"},
        {"op": "Remove", "path": "timeZone"},
        {"op": "remove", "path": f"{REVMENTOR}:timeZone"},
        # Entra ID sends an attribute whose source became empty as an empty string.
        {"op": "Replace", "path": f"{REVMENTOR}:timeZone", "value": ""},
        {"op": "replace", "value": {"timezone": ""}},
    ],
)
async def test_removing_the_time_zone_resets_it_to_utc(
    client: httpx.AsyncClient, idp: Service, db: Database, operation: dict[str, Any]
) -> None:
    user = await create_user(client, idp, okta_user(1, timezone="Europe/Paris"))
    response = await _patch(client, idp, user["id"], operation)
    assert response.status_code == 200, response.text
    assert response.json()["timezone"] == response.json()[REVMENTOR]["timeZone"] == "UTC"
    assert response.json()["meta"]["version"] == 'W/"2"'
    assert (await stored(db, user["id"])).time_zone == "UTC"


async def test_a_new_zone_wins_over_the_removal_of_the_other_spelling(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, okta_user(1, timezone="Europe/Paris"))
    response = await _patch(
        client,
        idp,
        user["id"],
        {"op": "remove", "path": f"{REVMENTOR}:timeZone"},
        {"op": "replace", "path": "timezone", "value": "Asia/Tokyo"},
    )
    assert response.status_code == 200, response.text
    assert (await stored(db, user["id"])).time_zone == "Asia/Tokyo"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": "emails"},
        {"op": "remove", "path": 'emails[type eq "work"]'},
        {"op": "remove", "path": 'emails[type eq "work"].value'},
        {"op": "remove", "path": "emails[primary eq true]"},
        # Entra ID names the values it removes in the operation's value.
        {"op": "Remove", "path": "emails", "value": [{"value": "test.user1@example.com"}]},
        # Replacing the list by one without a primary or work address drops the work e-mail.
        {"op": "replace", "path": "emails", "value": [{"value": "x@example.com", "type": "home"}]},
    ],
)
async def test_removing_the_work_email_is_a_mutability_error(
    client: httpx.AsyncClient, idp: Service, db: Database, operation: dict[str, Any]
) -> None:
    user = await create_user(client, idp, okta_user(1))
    error = assert_scim_error(await _patch(client, idp, user["id"], operation), 400, "mutability")
    assert "emails" in error["detail"]
    row = await stored(db, user["id"])
    assert (row.email, row.version) == ("test.user1@example.com", 1)


async def test_removing_another_address_keeps_the_work_email(
    client: httpx.AsyncClient, idp: Service
) -> None:
    user = await create_user(client, idp, okta_user(1))
    response = await _patch(
        client, idp, user["id"], {"op": "remove", "path": 'emails[type eq "home"]'}
    )
    assert response.status_code == 200, response.text
    assert response.json()["emails"] == user["emails"]


@pytest.mark.parametrize(
    ("path", "attribute"),
    [
        ("name", "name.givenName"),
        ("name.givenName", "name.givenName"),
        ("name.familyName", "name.familyName"),
        (f"{REVMENTOR}:jobLevel", "jobLevel"),
        ("jobLevel", "jobLevel"),
        ("active", "active"),
    ],
)
async def test_removing_a_required_attribute_is_a_mutability_error(
    client: httpx.AsyncClient, idp: Service, db: Database, path: str, attribute: str
) -> None:
    user = await create_user(client, idp, okta_user(1))
    response = await _patch(client, idp, user["id"], {"op": "remove", "path": path})
    error = assert_scim_error(response, 400, "mutability")
    assert attribute in error["detail"]
    assert (await stored(db, user["id"])).version == 1


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "urn:bogus:schema:attr", "value": "x"},
        {"op": "add", "path": "urn:bogus:schema:attr", "value": "x"},
        {"op": "remove", "path": "urn:bogus:schema:attr"},
        {
            "op": "replace",
            "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
            "value": "x",
        },
        {"op": "replace", "path": f"{REVMENTOR}:shoeSize", "value": 42},
    ],
)
async def test_a_path_outside_the_user_schemas_is_an_invalid_path(
    client: httpx.AsyncClient, idp: Service, db: Database, operation: dict[str, Any]
) -> None:
    user = await create_user(client, idp, okta_user(1))
    error = assert_scim_error(await _patch(client, idp, user["id"], operation), 400, "invalidPath")
    assert operation["path"] in error["detail"]
    assert (await stored(db, user["id"])).version == 1


async def test_a_pathless_key_selecting_values_is_applied_like_a_path(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, entra_user(1))
    response = await _patch(
        client,
        idp,
        user["id"],
        {
            "op": "Replace",
            "value": {
                'emails[type eq "work"].value': "alex@contoso.com",
                "displayName": "Alex W.",
                # Attributes Revmentor does not keep are still accepted and left out.
                'addresses[type eq "work"].locality': "Redmond",
                "urn:bogus:schema:attr": "x",
                'nickname2[type eq "x"].value': "y",
            },
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["userName"] == "alex@contoso.com"
    assert response.json()["displayName"] == "Alex W."
    assert "addresses" not in response.json()
    row = await stored(db, user["id"])
    assert (row.email, row.display_name, row.version) == ("alex@contoso.com", "Alex W.", 2)


async def test_a_filter_matching_no_value_it_could_create_is_no_target(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, okta_user(1))
    response = await _patch(
        client,
        idp,
        user["id"],
        {
            "op": "replace",
            "path": 'emails[value eq "nomatch@example.com"].value',
            "value": "x@example.com",
        },
    )
    error = assert_scim_error(response, 400, "noTarget")
    assert "emails" in error["detail"]
    assert (await stored(db, user["id"])).email == "test.user1@example.com"


# --- readable errors ---------------------------------------------------------------------------

#: What a detail must never show: pydantic's report, class names, Python field names, links.
INTERNALS = (
    "validation error",
    "pydantic",
    "http",
    "User[",
    "EnterpriseUser",
    "RevmentorUser",
    "type=",
    "display_name",
    "given_name",
    "hire_date",
    "profile_url",
    "x509_certificates",
    "employee_number",
    "\n",
)


def assert_readable(detail: str, attribute: str) -> None:
    assert detail.startswith(attribute), detail
    for internal in INTERNALS:
        assert internal not in detail, (internal, detail)
    assert len(detail) < 200, detail


@pytest.mark.parametrize(
    ("operation", "attribute"),
    [
        ({"op": "replace", "path": "displayName", "value": 5}, "displayName"),
        ({"op": "replace", "value": {"displayName": ["a"]}}, "displayName"),
        ({"op": "replace", "path": "name.givenName", "value": 5}, "name.givenName"),
        ({"op": "replace", "value": {"name.givenName": {"x": 1}}}, "name.givenName"),
        ({"op": "replace", "path": "name", "value": {"givenName": 5}}, "name.givenName"),
        (
            {"op": "replace", "path": f"{REVMENTOR}:hireDate", "value": "soon"},
            f"{REVMENTOR}:hireDate",
        ),
        ({"op": "replace", "value": {f"{REVMENTOR}:hireDate": "soon"}}, f"{REVMENTOR}:hireDate"),
        ({"op": "replace", "path": "hireDate", "value": "soon"}, f"{REVMENTOR}:hireDate"),
        ({"op": "add", "path": "profileUrl", "value": 5}, "profileUrl"),
        ({"op": "add", "path": "x509Certificates", "value": "x"}, "x509Certificates"),
        ({"op": "replace", "path": "emails", "value": [{"value": 5}]}, "emails"),
        (
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "not-an-email"},
            "emails",
        ),
        (
            {"op": "replace", "path": f"{ENTERPRISE}:employeeNumber", "value": ["E-1"]},
            f"{ENTERPRISE}:employeeNumber",
        ),
        (
            {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": 5}},
            f"{ENTERPRISE}:manager",
        ),
        ({"op": "replace", "path": "active", "value": "maybe"}, "active"),
    ],
)
async def test_patch_errors_name_the_scim_attribute_and_nothing_internal(
    client: httpx.AsyncClient, idp: Service, db: Database, operation: dict[str, Any], attribute: str
) -> None:
    user = await create_user(client, idp, okta_user(1))
    error = assert_scim_error(await _patch(client, idp, user["id"], operation), 400, "invalidValue")
    assert_readable(error["detail"], attribute)
    assert (await stored(db, user["id"])).version == 1


@pytest.mark.parametrize(
    ("overrides", "attribute"),
    [
        ({"displayName": 5}, "displayName"),
        ({"profileUrl": 5}, "profileUrl"),
        ({"x509Certificates": "x"}, "x509Certificates"),
        ({"name": "x"}, "name"),
        ({"emails": [{"value": 5}]}, "emails[0].value"),
        ({"emails": [{"value": "not-an-email"}]}, "emails[0].value"),
        ({REVMENTOR: {"hireDate": "soon"}}, f"{REVMENTOR}:hireDate"),
        ({REVMENTOR: {"jobLevel": "senior"}}, f"{REVMENTOR}:jobLevel"),
        ({ENTERPRISE: {"department": ["a"]}}, f"{ENTERPRISE}:department"),
        ({"title": "t" * 201}, "title"),
        ({"userName": "not-an-email"}, "userName"),
    ],
)
async def test_creation_errors_name_the_scim_attribute_and_nothing_internal(
    client: httpx.AsyncClient, idp: Service, overrides: dict[str, Any], attribute: str
) -> None:
    body = okta_user(1, **overrides)
    body["schemas"] = [*body["schemas"], ENTERPRISE, REVMENTOR]
    response = await client.post("/scim/v2/Users", headers=headers(idp), json=body)
    error = assert_scim_error(response, 400, "invalidValue")
    assert_readable(error["detail"], attribute)
