"""Provisioning as Okta does it: look up by userName, create, read, replace with PUT,
deactivate and reactivate with a path-less PATCH."""

from __future__ import annotations

import httpx

from app.db.engine import Database
from tests.api.scim.conftest import (
    CORE,
    ENTERPRISE,
    LIST_RESPONSE,
    PATCH_OP,
    REVMENTOR,
    SCIM_JSON,
    create_user,
    headers,
    okta_user,
    stored,
)
from tests.factories import Factory, Service


async def test_okta_looks_up_creates_and_reads_a_user(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    # Okta first asks whether the user exists.
    lookup = await client.get(
        "/scim/v2/Users",
        headers=headers(idp),
        params={"filter": 'userName eq "test.user1@example.com"', "startIndex": 1, "count": 100},
    )
    assert lookup.status_code == 200
    assert lookup.headers["content-type"].startswith(SCIM_JSON)
    assert lookup.json() == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }

    response = await client.post("/scim/v2/Users", headers=headers(idp), json=okta_user(1))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    user = response.json()
    location = f"http://testserver/scim/v2/Users/{user['id']}"
    assert response.headers["location"] == location
    assert response.headers["etag"] == 'W/"1"'
    assert user["schemas"] == [CORE, REVMENTOR]
    assert user["userName"] == "test.user1@example.com"
    assert user["externalId"] == "00ujl29u0le5T6Aj10h1"
    assert user["name"] == {"givenName": "Test", "familyName": "User1"}
    assert user["displayName"] == "Test User1"
    assert user["active"] is True
    assert user["emails"] == [{"value": "test.user1@example.com", "type": "work", "primary": True}]
    assert "password" not in user
    assert "groups" not in user
    assert "locale" not in user
    # Okta sends no job level: the documented default applies, the zone defaults to UTC.
    assert user[REVMENTOR] == {"jobLevel": 1, "timeZone": "UTC"}
    assert user["meta"]["resourceType"] == "User"
    assert user["meta"]["location"] == location
    assert user["meta"]["version"] == 'W/"1"'
    assert user["meta"]["created"]
    assert user["meta"]["lastModified"]

    row = await stored(db, user["id"])
    assert (row.email, row.given_name, row.job_level, row.active) == (
        "test.user1@example.com",
        "Test",
        1,
        True,
    )

    # ... and finds it again, whatever the case of the userName.
    found = await client.get(
        "/scim/v2/Users",
        headers=headers(idp),
        params={"filter": 'userName eq "Test.User1@EXAMPLE.com"', "startIndex": 1, "count": 100},
    )
    assert found.json()["totalResults"] == 1
    assert found.json()["Resources"] == [user]

    read = await client.get(f"/scim/v2/Users/{user['id']}", headers=headers(idp))
    assert read.status_code == 200
    assert read.json() == user
    assert read.headers["etag"] == 'W/"1"'


async def test_okta_replaces_a_profile_with_put(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, okta_user(2))
    # Okta sends the whole profile back, with id and meta, changed where the source changed.
    replacement = {
        **okta_user(2),
        "id": user["id"],
        "meta": user["meta"],
        "name": {"givenName": "Another", "middleName": "Test", "familyName": "User2"},
        "displayName": "Another User2",
        "title": "Product Designer",
    }
    response = await client.put(
        f"/scim/v2/Users/{user['id']}", headers=headers(idp), json=replacement
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == {"givenName": "Another", "familyName": "User2"}
    assert updated["displayName"] == "Another User2"
    assert updated["title"] == "Product Designer"
    assert updated["meta"]["version"] == 'W/"2"'
    assert response.headers["etag"] == 'W/"2"'
    assert updated["meta"]["created"] == user["meta"]["created"]
    row = await stored(db, user["id"])
    assert (row.given_name, row.job_title, row.version) == ("Another", "Product Designer", 2)


async def test_put_clears_what_is_left_out_but_keeps_level_zone_and_status(
    client: httpx.AsyncClient, idp: Service, factory: Factory, db: Database
) -> None:
    employee = await factory.employee(
        email="grace@example.com",
        given_name="Grace",
        family_name="Hopper",
        job_title="Rear Admiral",
        job_level=9,
        department="Navy",
        location="Arlington",
        time_zone="America/New_York",
    )
    body = {
        "schemas": [CORE],
        "userName": "grace@example.com",
        "name": {"givenName": "Grace", "familyName": "Hopper"},
    }
    response = await client.put(f"/scim/v2/Users/{employee.id}", headers=headers(idp), json=body)
    assert response.status_code == 200, response.text
    row = await stored(db, employee.id)
    # Left out and nullable: cleared.
    assert (row.job_title, row.department, row.location) == (None, None, None)
    # Every employee has a level, a zone and a status: a PUT without them keeps them.
    assert (row.job_level, row.time_zone, row.active) == (9, "America/New_York", True)
    assert row.display_name == "Grace Hopper"


async def test_put_without_a_required_attribute_is_refused(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, okta_user(3))
    for body, attribute in [
        ({"schemas": [CORE], "name": {"givenName": "A", "familyName": "B"}}, "userName"),
        ({"schemas": [CORE], "userName": "test.user3@example.com"}, "name.givenName"),
        (
            {"schemas": [CORE], "userName": "test.user3@example.com", "name": {"givenName": "A"}},
            "name.familyName",
        ),
    ]:
        response = await client.put(f"/scim/v2/Users/{user['id']}", headers=headers(idp), json=body)
        assert response.status_code == 400, response.text
        assert response.json()["scimType"] == "invalidValue"
        assert attribute in response.json()["detail"]
    assert (await stored(db, user["id"])).version == 1


async def test_okta_deactivates_and_reactivates_with_a_pathless_patch(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, okta_user(4))
    deactivate = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    response = await client.patch(
        f"/scim/v2/Users/{user['id']}", headers=headers(idp), json=deactivate
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    row = await stored(db, user["id"])
    assert row.active is False
    assert row.deactivated_at is not None

    # Deactivated users are still provisioned: Okta can read and reactivate them.
    assert (
        await client.get(f"/scim/v2/Users/{user['id']}", headers=headers(idp))
    ).status_code == 200
    reactivate = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"active": True}}],
    }
    response = await client.patch(
        f"/scim/v2/Users/{user['id']}", headers=headers(idp), json=reactivate
    )
    assert response.json()["active"] is True
    row = await stored(db, user["id"])
    assert (row.active, row.deactivated_at) == (True, None)


async def test_okta_imports_the_whole_directory_page_by_page(
    client: httpx.AsyncClient, idp: Service
) -> None:
    for n in range(5):
        await create_user(client, idp, okta_user(f"p{n}"))
    first = await client.get(
        "/scim/v2/Users", headers=headers(idp), params={"startIndex": 1, "count": 2}
    )
    second = await client.get(
        "/scim/v2/Users", headers=headers(idp), params={"startIndex": 3, "count": 2}
    )
    third = await client.get(
        "/scim/v2/Users", headers=headers(idp), params={"startIndex": 5, "count": 2}
    )
    pages = [first.json(), second.json(), third.json()]
    assert [p["totalResults"] for p in pages] == [5, 5, 5]
    assert [p["itemsPerPage"] for p in pages] == [2, 2, 1]
    assert [p["startIndex"] for p in pages] == [1, 3, 5]
    names = [u["userName"] for p in pages for u in p["Resources"]]
    assert names == [f"test.userp{n}@example.com" for n in range(5)]


async def test_put_may_add_the_enterprise_and_revmentor_extensions(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, okta_user(5))
    body = {
        **okta_user(5),
        "schemas": [CORE, ENTERPRISE, REVMENTOR],
        ENTERPRISE: {
            "employeeNumber": "E-1005",
            "costCenter": "CC-42",
            "organization": "Contoso",
            "division": "Research",
            "department": "Platform",
        },
        REVMENTOR: {
            "jobLevel": 6,
            "location": "Berlin",
            "timeZone": "Europe/Berlin",
            "hireDate": "2021-04-01T00:00:00Z",
            "terminationDate": "2099-12-31",
        },
    }
    response = await client.put(f"/scim/v2/Users/{user['id']}", headers=headers(idp), json=body)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["schemas"] == [CORE, ENTERPRISE, REVMENTOR]
    assert updated[ENTERPRISE] == body[ENTERPRISE]
    assert updated[REVMENTOR] == {**body[REVMENTOR], "hireDate": "2021-04-01"}
    assert updated["timezone"] == "Europe/Berlin"
    row = await stored(db, user["id"])
    assert (row.employee_number, row.cost_center, row.job_level, str(row.hire_date)) == (
        "E-1005",
        "CC-42",
        6,
        "2021-04-01",
    )


async def test_the_core_timezone_and_the_revmentor_time_zone_are_one_value(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, okta_user(6, timezone="America/Los_Angeles"))
    assert user["timezone"] == user[REVMENTOR]["timeZone"] == "America/Los_Angeles"
    url = f"/scim/v2/Users/{user['id']}"
    core = await client.patch(
        url,
        headers=headers(idp),
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "timezone", "value": "Asia/Tokyo"}],
        },
    )
    assert core.json()[REVMENTOR]["timeZone"] == "Asia/Tokyo"
    extension = await client.patch(
        url,
        headers=headers(idp),
        json={
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "path": f"{REVMENTOR}:timeZone", "value": "Europe/Paris"}
            ],
        },
    )
    assert extension.json()["timezone"] == "Europe/Paris"
    assert (await stored(db, user["id"])).time_zone == "Europe/Paris"
