"""POST /Users for someone DELETE removed: the identity provider's user (its externalId) comes
back to their own record, while a work e-mail handed to another person never brings the former
employee's record (skills, interests, history) with it. RFC 7644 section 3.6: a deleted resource
is not a uniqueness conflict, unless reviving it would merge two people."""

from __future__ import annotations

from typing import Any

import httpx

from app.db.engine import Database
from tests.api.scim.conftest import (
    assert_scim_error,
    create_user,
    headers,
    okta_user,
    patch_body,
    stored,
)
from tests.factories import Factory, Person, Service

API = "/api/v1"


def _user(n: int, *, user_name: str | None = None, external_id: str | None) -> dict[str, Any]:
    """A user as Okta creates it, with this userName (its work e-mail) and externalId."""
    body = okta_user(n)
    if user_name is not None:
        body["userName"] = user_name
        body["emails"] = [{"primary": True, "value": user_name, "type": "work"}]
    if external_id is None:
        del body["externalId"]
    else:
        body["externalId"] = external_id
    return body


async def _post(client: httpx.AsyncClient, idp: Service, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/scim/v2/Users", headers=headers(idp), json=body)


async def _delete(client: httpx.AsyncClient, idp: Service, user_id: str) -> None:
    response = await client.delete(f"/scim/v2/Users/{user_id}", headers=idp.headers)
    assert response.status_code == 204, response.text


async def _found(client: httpx.AsyncClient, idp: Service, scim_filter: str) -> list[Any]:
    response = await client.get(
        "/scim/v2/Users", headers=headers(idp), params={"filter": scim_filter}
    )
    assert response.status_code == 200, response.text
    resources: list[Any] = response.json().get("Resources", [])
    assert response.json()["totalResults"] == len(resources)
    return resources


async def _record(client: httpx.AsyncClient, admin: Person, employee_id: str) -> httpx.Response:
    response = await client.get(f"{API}/employees/{employee_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    return response


async def _admin_edit(
    client: httpx.AsyncClient, admin: Person, employee_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change an employee record through the REST API, as an admin does by hand."""
    etag = (await _record(client, admin, employee_id)).headers["ETag"]
    response = await client.patch(
        f"{API}/employees/{employee_id}",
        headers={**admin.headers, "If-Match": etag},
        json=changes,
    )
    assert response.status_code == 200, response.text
    edited: dict[str, Any] = response.json()
    return edited


async def _actions(client: httpx.AsyncClient, admin: Person, employee_id: str) -> list[str]:
    response = await client.get(
        f"{API}/audit-events", headers=admin.headers, params={"entity_id": employee_id}
    )
    assert response.status_code == 200, response.text
    return [event["action"] for event in response.json()["items"]]


# --- the same identity-provider user comes back ------------------------------------------------


async def test_a_deleted_user_returns_under_a_new_username_by_their_external_id(
    client: httpx.AsyncClient, idp: Service, factory: Factory, db: Database
) -> None:
    user = await create_user(client, idp, _user(1, external_id="mD"))
    await _delete(client, idp, user["id"])
    assert await _found(client, idp, 'externalId eq "mD"') == []

    renamed = "renamed.user@example.com"
    response = await _post(client, idp, _user(1, user_name=renamed, external_id="mD"))

    assert response.status_code == 201, response.text
    returned = response.json()
    assert returned["id"] == user["id"]  # the same person, history intact
    assert (returned["userName"], returned["externalId"], returned["active"]) == (
        renamed,
        "mD",
        True,
    )
    [found] = await _found(client, idp, 'externalId eq "mD"')
    assert (found["id"], found["userName"]) == (user["id"], renamed)
    assert await _found(client, idp, f'userName eq "{user["userName"]}"') == []
    row = await stored(db, user["id"])
    assert (row.email, row.active, row.scim_removed_at) == (renamed, True, None)
    # Audited as any return: brought back, then updated to what was posted.
    actions = await _actions(client, await factory.admin(), user["id"])
    assert actions[:2] == ["employee.updated", "employee.reprovisioned"]


async def test_a_returning_user_cannot_take_a_live_users_username(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    leaver = await create_user(client, idp, _user(1, external_id="mA"))
    colleague = await create_user(client, idp, _user(2, external_id="mB"))
    await _delete(client, idp, leaver["id"])

    taken = _user(3, user_name=colleague["userName"], external_id="mA")
    error = assert_scim_error(await _post(client, idp, taken), 409, "uniqueness")

    assert colleague["userName"] in error["detail"]
    assert (await stored(db, leaver["id"])).scim_removed_at is not None
    assert await _found(client, idp, 'externalId eq "mA"') == []


async def test_a_returning_user_is_not_merged_with_another_removed_user(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    first = await create_user(client, idp, _user(1, external_id="mA"))
    second = await create_user(client, idp, _user(2, external_id="mB"))
    await _delete(client, idp, first["id"])
    await _delete(client, idp, second["id"])

    # The first comes back with the address the second once had: two people, one record?
    merged = _user(1, user_name=second["userName"], external_id="mA")
    error = assert_scim_error(await _post(client, idp, merged), 409, "uniqueness")

    assert second["userName"] in error["detail"]
    assert "mB" in error["detail"]
    for user in (first, second):
        row = await stored(db, user["id"])
        assert (row.email, row.active) == (user["userName"], False)
        assert row.scim_removed_at is not None


# --- a recycled work e-mail ----------------------------------------------------------------------


async def test_a_recycled_username_does_not_hand_over_the_former_employees_record(
    client: httpx.AsyncClient, idp: Service, factory: Factory, db: Database
) -> None:
    admin = await factory.admin()
    former = await create_user(client, idp, _user(1, external_id="X1"))
    await _admin_edit(client, admin, former["id"], {"skills": ["Excel"], "interests": ["AI"]})
    await _delete(client, idp, former["id"])

    newcomer = _user(2, user_name=former["userName"], external_id="X2")
    error = assert_scim_error(await _post(client, idp, newcomer), 409, "uniqueness")

    assert former["userName"] in error["detail"]
    assert "X1" in error["detail"]
    assert "admin" in error["detail"]
    kept = (await _record(client, admin, former["id"])).json()
    assert (kept["email"], kept["active"], kept["skills"]) == (
        former["userName"],
        False,
        ["Excel"],
    )
    assert (await stored(db, former["id"])).scim_removed_at is not None
    assert await _found(client, idp, f'userName eq "{former["userName"]}"') == []


async def test_a_live_user_renamed_to_a_removed_users_username_is_told_whose_it_was(
    client: httpx.AsyncClient, idp: Service, factory: Factory, db: Database
) -> None:
    former = await create_user(client, idp, _user(1, external_id="X1"))
    await _delete(client, idp, former["id"])
    colleague = await create_user(client, idp, _user(2, external_id="X2"))
    renamed = patch_body({"op": "replace", "path": "userName", "value": former["userName"]})
    replaced = _user(2, user_name=former["userName"], external_id="X2")

    for response in (
        await client.patch(f"/scim/v2/Users/{colleague['id']}", headers=headers(idp), json=renamed),
        await client.put(f"/scim/v2/Users/{colleague['id']}", headers=headers(idp), json=replaced),
    ):
        error = assert_scim_error(response, 409, "uniqueness")
        # The identity provider cannot see the removed user: the answer names them and what
        # frees the address, not just "it exists".
        assert "deprovisioned with another externalId (X1)" in error["detail"]
        assert f"PATCH /api/v1/employees/{former['id']}" in error["detail"]
    assert (await stored(db, colleague["id"])).email == colleague["userName"]
    # An admin editing by hand is told the same, in the REST API's terms.
    admin = await factory.admin()
    etag = (await _record(client, admin, colleague["id"])).headers["ETag"]
    by_hand = await client.patch(
        f"{API}/employees/{colleague['id']}",
        headers={**admin.headers, "If-Match": etag},
        json={"email": former["userName"]},
    )
    assert by_hand.status_code == 409, by_hand.text
    assert by_hand.json()["rule"] == "unique_email_of_former_employee"
    assert former["id"] in by_hand.json()["detail"]


async def test_once_an_admin_renames_the_former_employee_the_address_goes_to_a_new_record(
    client: httpx.AsyncClient, idp: Service, factory: Factory, db: Database
) -> None:
    admin = await factory.admin()
    former = await create_user(client, idp, _user(1, external_id="X1"))
    await _admin_edit(client, admin, former["id"], {"skills": ["Excel"]})
    await _delete(client, idp, former["id"])
    newcomer = _user(2, user_name=former["userName"], external_id="X2")
    assert_scim_error(await _post(client, idp, newcomer), 409, "uniqueness")

    # What the error asks for: an admin frees the address on the (removed, inactive) record.
    renamed = await _admin_edit(
        client, admin, former["id"], {"email": "former.test.user1@example.com"}
    )
    assert renamed["email"] == "former.test.user1@example.com"

    response = await _post(client, idp, newcomer)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] != former["id"]
    assert (created["userName"], created["externalId"]) == (former["userName"], "X2")
    assert (await _record(client, admin, created["id"])).json()["skills"] == []
    old = await stored(db, former["id"])
    assert (old.email, old.active, old.skills, old.external_id) == (
        "former.test.user1@example.com",
        False,
        ["Excel"],
        "X1",
    )
    assert old.scim_removed_at is not None


async def test_a_removed_user_without_an_external_id_is_provisioned_again(
    client: httpx.AsyncClient, idp: Service
) -> None:
    user = await create_user(client, idp, _user(1, external_id=None))
    await _delete(client, idp, user["id"])

    response = await _post(client, idp, _user(1, external_id="later-X1"))

    assert response.status_code == 201, response.text
    assert response.json()["id"] == user["id"]
    assert response.json()["externalId"] == "later-X1"


async def test_a_post_without_an_external_id_revives_the_removed_user(
    client: httpx.AsyncClient, idp: Service
) -> None:
    user = await create_user(client, idp, _user(1, external_id="X1"))
    await _delete(client, idp, user["id"])

    response = await _post(client, idp, _user(1, external_id=None))

    assert response.status_code == 201, response.text
    assert response.json()["id"] == user["id"]
    assert response.json()["active"] is True


async def test_live_holders_of_the_username_or_external_id_are_still_conflicts(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    live = await create_user(client, idp, _user(1, external_id="X1"))
    leaver = await create_user(client, idp, _user(2, external_id="X2"))
    await _delete(client, idp, leaver["id"])

    same_name = _user(3, user_name=live["userName"], external_id="X3")
    assert_scim_error(await _post(client, idp, same_name), 409, "uniqueness")
    # The removed user's address, but the live user's externalId: no revival either.
    crossed = _user(2, external_id="X1")
    error = assert_scim_error(await _post(client, idp, crossed), 409, "uniqueness")
    assert "X1" in error["detail"]
    assert (await stored(db, leaver["id"])).scim_removed_at is not None
    assert (await stored(db, live["id"])).email == live["userName"]
