"""Provisioning as Microsoft Entra ID does it: capitalised PATCH operations, booleans as strings,
path-less values keyed by attribute paths and URNs, the manager as a bare id, DELETE."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.db.engine import Database
from tests.api.scim.conftest import (
    CORE,
    ENTERPRISE,
    PATCH_OP,
    REVMENTOR,
    assert_scim_error,
    create_user,
    entra_user,
    headers,
    patch_body,
    stored,
)
from tests.factories import Factory, Service

MANAGER_PATH = f"{ENTERPRISE}:manager"


async def _patch(
    client: httpx.AsyncClient, idp: Service, user_id: str, *operations: dict[str, Any]
) -> httpx.Response:
    return await client.patch(
        f"/scim/v2/Users/{user_id}", headers=headers(idp), json=patch_body(*operations)
    )


async def test_entra_looks_up_then_creates(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    lookup = await client.get(
        "/scim/v2/Users",
        headers=headers(idp),
        params={"filter": 'userName eq "alex.wilber1@contoso.com"'},
    )
    assert lookup.json()["totalResults"] == 0
    body = entra_user(1)
    # Entra ID's mail can differ from the UPN it maps to userName: userName is the e-mail kept.
    body["emails"] = [{"primary": True, "type": "work", "value": "alex.w@contoso.com"}]
    user = await create_user(client, idp, body)
    assert user["schemas"] == [CORE, ENTERPRISE, REVMENTOR]
    assert user["userName"] == "alex.wilber1@contoso.com"
    assert user["emails"] == [
        {"value": "alex.wilber1@contoso.com", "type": "work", "primary": True}
    ]
    assert user["title"] == "Marketing Assistant"
    assert user[ENTERPRISE] == {"department": "Marketing", "employeeNumber": "100001"}
    # Attributes Revmentor does not keep are accepted and left out.
    assert "phoneNumbers" not in user
    assert "addresses" not in user
    row = await stored(db, user["id"])
    assert (row.external_id, row.department, row.employee_number) == (
        "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e1",
        "Marketing",
        "100001",
    )
    for text in (
        'userName eq "alex.wilber1@contoso.com"',
        'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e1"',
        # Entra ID's lookup by its "mail" matching attribute writes a PATCH path as a filter.
        'emails[type eq "work"].value eq "alex.wilber1@contoso.com"',
        'emails[type eq "work" and value eq "ALEX.WILBER1@contoso.com"]',
    ):
        found = await client.get("/scim/v2/Users", headers=headers(idp), params={"filter": text})
        assert found.json()["totalResults"] == 1, text


async def test_entra_updates_with_paths_and_capitalised_operations(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, entra_user(2))
    response = await _patch(
        client,
        idp,
        user["id"],
        {"op": "Replace", "path": "name.familyName", "value": "Wilber-Smith"},
        {"op": "Replace", "path": "displayName", "value": "Alex Wilber-Smith"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Retail"},
        {"op": "Add", "path": f"{ENTERPRISE}:costCenter", "value": "CC-7"},
        {"op": "Replace", "path": "title", "value": "Marketing Lead"},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"]["familyName"] == "Wilber-Smith"
    assert updated["displayName"] == "Alex Wilber-Smith"
    assert updated[ENTERPRISE]["department"] == "Retail"
    assert updated[ENTERPRISE]["costCenter"] == "CC-7"
    assert updated["meta"]["version"] == 'W/"2"'  # one request, one new version
    row = await stored(db, user["id"])
    assert (row.family_name, row.department, row.cost_center, row.job_title) == (
        "Wilber-Smith",
        "Retail",
        "CC-7",
        "Marketing Lead",
    )


async def test_entra_pathless_replace_keyed_by_paths_and_urns(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, entra_user(3))
    response = await _patch(
        client,
        idp,
        user["id"],
        {
            "op": "replace",
            "value": {
                "displayName": "Alexandra Wilber",
                "name.givenName": "Alexandra",
                "name.familyName": "Wilber",
                f"{ENTERPRISE}:department": "Finance",
                f"{ENTERPRISE}:employeeNumber": "200003",
                f"{REVMENTOR}:jobLevel": 5,
                "active": True,
            },
        },
    )
    assert response.status_code == 200, response.text
    row = await stored(db, user["id"])
    assert (row.given_name, row.family_name, row.display_name) == (
        "Alexandra",
        "Wilber",
        "Alexandra Wilber",
    )
    assert (row.department, row.employee_number, row.job_level) == ("Finance", "200003", 5)


async def test_entra_changes_the_work_email(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, entra_user(4))
    response = await _patch(
        client,
        idp,
        user["id"],
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "alex@contoso.com"},
    )
    assert response.status_code == 200, response.text
    # One address: the work e-mail is the userName.
    assert response.json()["userName"] == "alex@contoso.com"
    assert response.json()["emails"][0]["value"] == "alex@contoso.com"
    assert (await stored(db, user["id"])).email == "alex@contoso.com"

    renamed = await _patch(
        client, idp, user["id"], {"op": "Replace", "path": "userName", "value": "a.w@contoso.com"}
    )
    assert renamed.json()["emails"] == [
        {"value": "a.w@contoso.com", "type": "work", "primary": True}
    ]


@pytest.mark.parametrize("value", ["False", "false", False])
async def test_entra_disables_with_active_false_in_any_spelling(
    client: httpx.AsyncClient, idp: Service, db: Database, value: object
) -> None:
    user = await create_user(client, idp, entra_user(5))
    response = await _patch(
        client, idp, user["id"], {"op": "Replace", "path": "active", "value": value}
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert (await stored(db, user["id"])).active is False

    enabled = await _patch(
        client, idp, user["id"], {"op": "Replace", "path": "active", "value": "True"}
    )
    assert enabled.json()["active"] is True
    assert (await stored(db, user["id"])).active is True


async def test_entra_sets_the_manager_with_a_bare_id(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    boss = await create_user(client, idp, entra_user("b1", displayName="Megan Bowen"))
    report = await create_user(client, idp, entra_user(6))
    response = await _patch(
        client, idp, report["id"], {"op": "Add", "path": MANAGER_PATH, "value": boss["id"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()[ENTERPRISE]["manager"] == {
        "value": boss["id"],
        "$ref": f"http://testserver/scim/v2/Users/{boss['id']}",
        "displayName": "Megan Bowen",
    }
    assert str((await stored(db, report["id"])).manager_id) == boss["id"]

    # Reading back and listing show the same manager.
    read = await client.get(f"/scim/v2/Users/{report['id']}", headers=headers(idp))
    assert read.json()[ENTERPRISE]["manager"]["displayName"] == "Megan Bowen"
    reports = await client.get(
        "/scim/v2/Users",
        headers=headers(idp),
        params={"filter": f'{MANAGER_PATH}.value eq "{boss["id"]}"'},
    )
    assert [u["id"] for u in reports.json()["Resources"]] == [report["id"]]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Replace", "path": MANAGER_PATH, "value": {"value": "{boss}"}},
        {"op": "Add", "path": "manager", "value": [{"$ref": None, "value": "{boss}"}]},
        {"op": "Replace", "value": {MANAGER_PATH: "{boss}"}},
        {"op": "replace", "value": {ENTERPRISE: {"manager": {"value": "{boss}"}}}},
        {"op": "Replace", "path": f"{MANAGER_PATH}.value", "value": "{boss}"},
    ],
)
async def test_every_way_entra_writes_a_manager(
    client: httpx.AsyncClient, idp: Service, db: Database, operation: dict[str, Any]
) -> None:
    boss = await create_user(client, idp, entra_user("b2"))
    report = await create_user(client, idp, entra_user(7))
    filled = _fill(operation, boss["id"])
    response = await _patch(client, idp, report["id"], filled)
    assert response.status_code == 200, response.text
    assert str((await stored(db, report["id"])).manager_id) == boss["id"]


def _fill(value: Any, boss: str) -> Any:
    if isinstance(value, str):
        return value.replace("{boss}", boss)
    if isinstance(value, list):
        return [_fill(v, boss) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, boss) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Remove", "path": MANAGER_PATH},
        {"op": "Remove", "path": "manager", "value": [{"$ref": None, "value": "{boss}"}]},
        {"op": "remove", "path": f"{MANAGER_PATH}.value"},
    ],
)
async def test_entra_removes_the_manager(
    client: httpx.AsyncClient, idp: Service, db: Database, operation: dict[str, Any]
) -> None:
    boss = await create_user(client, idp, entra_user("b3"))
    report = await create_user(
        client, idp, entra_user(8, **{ENTERPRISE: {"manager": {"value": boss["id"]}}})
    )
    assert report[ENTERPRISE]["manager"]["value"] == boss["id"]
    response = await _patch(client, idp, report["id"], _fill(operation, boss["id"]))
    assert response.status_code == 200, response.text
    assert "manager" not in response.json().get(ENTERPRISE, {})
    row = await stored(db, report["id"])
    assert (row.manager_id, row.manager_external_id) == (None, None)


async def test_a_manager_named_by_external_id_or_not_there_yet(
    client: httpx.AsyncClient, idp: Service, db: Database, factory: Factory
) -> None:
    known = await factory.employee(external_id="EMP-0042", given_name="Nestor")
    report = await create_user(
        client,
        idp,
        entra_user(9, **{ENTERPRISE: {"manager": "EMP-0042"}}),  # a bare string
    )
    assert report[ENTERPRISE]["manager"]["value"] == str(known.id)
    assert (await stored(db, report["id"])).manager_id == known.id

    # A manager the source names before they are provisioned: kept, and linked on arrival.
    waiting = await create_user(
        client, idp, entra_user(10, **{ENTERPRISE: {"manager": {"value": "EMP-0099"}}})
    )
    assert waiting[ENTERPRISE]["manager"] == {"value": "EMP-0099"}
    row = await stored(db, waiting["id"])
    assert (row.manager_id, row.manager_external_id) == (None, "EMP-0099")
    pending = await client.get(
        "/scim/v2/Users",
        headers=headers(idp),
        params={"filter": 'manager.value eq "EMP-0099"'},
    )
    assert [u["id"] for u in pending.json()["Resources"]] == [waiting["id"]]

    arrived = await create_user(client, idp, entra_user("b4", externalId="EMP-0099"))
    linked = await client.get(f"/scim/v2/Users/{waiting['id']}", headers=headers(idp))
    assert linked.json()[ENTERPRISE]["manager"]["value"] == arrived["id"]


async def test_a_manager_cycle_is_an_invalid_value(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    boss = await create_user(client, idp, entra_user("b5"))
    report = await create_user(
        client, idp, entra_user(11, **{ENTERPRISE: {"manager": {"value": boss["id"]}}})
    )
    itself = await _patch(
        client, idp, report["id"], {"op": "Add", "path": MANAGER_PATH, "value": report["id"]}
    )
    assert_scim_error(itself, 400, "invalidValue")
    cycle = await _patch(
        client, idp, boss["id"], {"op": "Add", "path": MANAGER_PATH, "value": report["id"]}
    )
    assert_scim_error(cycle, 400, "invalidValue")
    assert (await stored(db, boss["id"])).manager_id is None


async def test_entra_deletes_then_the_user_is_gone_but_kept(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, entra_user(12))
    response = await client.delete(f"/scim/v2/Users/{user['id']}", headers=idp.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_scim_error(await client.get(f"/scim/v2/Users/{user['id']}", headers=idp.headers), 404)
    assert_scim_error(await client.delete(f"/scim/v2/Users/{user['id']}", headers=idp.headers), 404)
    gone = await _patch(client, idp, user["id"], {"op": "Replace", "path": "title", "value": "x"})
    assert_scim_error(gone, 404)
    listing = await client.get(
        "/scim/v2/Users",
        headers=headers(idp),
        params={"filter": 'userName eq "alex.wilber12@contoso.com"'},
    )
    assert listing.json()["totalResults"] == 0
    # The record stays: pairings, feedback and reports refer to it.
    row = await stored(db, user["id"])
    assert row.active is False
    assert row.scim_removed_at is not None


async def test_a_removed_user_is_provisioned_again(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    user = await create_user(client, idp, entra_user(13))
    await client.delete(f"/scim/v2/Users/{user['id']}", headers=idp.headers)
    again = entra_user(13, title="Senior Marketing Manager")
    response = await client.post("/scim/v2/Users", headers=headers(idp), json=again)
    assert response.status_code == 201, response.text
    revived = response.json()
    assert revived["id"] == user["id"]  # the same person, history intact
    assert revived["active"] is True
    assert revived["title"] == "Senior Marketing Manager"
    row = await stored(db, user["id"])
    assert (row.active, row.scim_removed_at, row.deactivated_at) == (True, None, None)

    # Posted as inactive, they come back inactive.
    await client.delete(f"/scim/v2/Users/{user['id']}", headers=idp.headers)
    inactive = await client.post(
        "/scim/v2/Users", headers=headers(idp), json=entra_user(13, active=False)
    )
    assert inactive.status_code == 201
    assert inactive.json()["active"] is False


async def test_entra_patch_message_is_validated(client: httpx.AsyncClient, idp: Service) -> None:
    user = await create_user(client, idp, entra_user(14))
    url = f"/scim/v2/Users/{user['id']}"
    cases: list[tuple[dict[str, Any], str]] = [
        (patch_body({"op": "Frobnicate", "path": "title", "value": "x"}), "invalidValue"),
        (patch_body({"op": "Replace", "path": "title[", "value": "x"}), "invalidPath"),
        (patch_body({"op": "Replace", "path": "nickname2", "value": "x"}), "invalidPath"),
        (patch_body({"op": "Remove"}), "noTarget"),
        (patch_body({"op": "Replace", "path": "id", "value": "x"}), "mutability"),
        (
            patch_body({"op": "Replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}),
            "mutability",
        ),
        (patch_body({"op": "Remove", "path": "userName"}), "mutability"),
        # RFC 7644 3.5.2.2: removing a required attribute is a mutability error.
        (patch_body({"op": "Remove", "path": "name.givenName"}), "mutability"),
        (
            patch_body(
                {
                    "op": "Remove",
                    "path": f"{REVMENTOR}:jobLevel",
                }
            ),
            "mutability",
        ),
        (
            patch_body(
                {
                    "op": "Replace",
                    "path": f"{REVMENTOR}:jobLevel",
                    "value": 31,
                }
            ),
            "invalidValue",
        ),
        (
            patch_body(
                {
                    "op": "Replace",
                    "path": f"{REVMENTOR}:timeZone",
                    "value": "Mars/Olympus",
                }
            ),
            "invalidValue",
        ),
        ({"schemas": [PATCH_OP]}, "invalidValue"),
        (
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []},
            "invalidSyntax",
        ),
    ]
    for body, scim_type in cases:
        response = await client.patch(url, headers=headers(idp), json=body)
        assert_scim_error(response, 400, scim_type)
    # Nothing was changed by any of them.
    read = await client.get(url, headers=idp.headers)
    assert read.json()["meta"]["version"] == 'W/"1"'


async def test_operations_on_another_extension_are_ignored(
    client: httpx.AsyncClient, idp: Service
) -> None:
    user = await create_user(client, idp, entra_user(15))
    response = await _patch(
        client,
        idp,
        user["id"],
        {
            "op": "Add",
            "path": "urn:ietf:params:scim:schemas:extension:CustomApp:2.0:User:badge",
            "value": "x",
        },
        {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0100"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["version"] == 'W/"1"'
