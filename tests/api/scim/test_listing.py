"""Listing users: filters answered by the database, paging, sorting, attribute selection and
``.search``."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from app.db.engine import Database
from app.db.models import Employee
from app.db.types import utcnow
from tests.api.scim.conftest import (
    CORE,
    ENTERPRISE,
    LIST_RESPONSE,
    REVMENTOR,
    assert_scim_error,
    headers,
)
from tests.factories import Factory, Service


async def _list(client: httpx.AsyncClient, idp: Service, **params: Any) -> dict[str, Any]:
    response = await client.get("/scim/v2/Users", headers=headers(idp), params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [LIST_RESPONSE]
    assert isinstance(body["totalResults"], int)
    assert body["itemsPerPage"] == len(body["Resources"])
    return body


@pytest.fixture
async def staff(factory: Factory) -> dict[str, uuid.UUID]:
    specs: dict[str, dict[str, Any]] = {
        "ann": {"given_name": "Ann", "family_name": "lee", "job_level": 7, "job_title": "CFO"},
        "bob": {"given_name": "Bob", "family_name": "Adams", "job_level": 2},
        "cid": {
            "given_name": "Cid",
            "family_name": "Baker",
            "job_level": 5,
            "job_title": "Analyst",
        },
        "dee": {"given_name": "Dee", "family_name": "Lee", "job_level": 3, "job_title": "analyst"},
        "eve": {"given_name": "Eve", "family_name": "Zhou", "job_level": 9},
    }
    ids = {}
    for key, spec in specs.items():
        ids[key] = (await factory.employee(email=f"{key}@example.com", **spec)).id
    return ids


def _names(body: dict[str, Any]) -> list[str]:
    return [u["userName"].split("@")[0] for u in body["Resources"]]


async def test_filters_run_in_sql(
    client: httpx.AsyncClient, idp: Service, staff: dict[str, uuid.UUID]
) -> None:
    cases = {
        'name.familyName eq "LEE"': {"ann", "dee"},
        f"{REVMENTOR}:jobLevel ge 5": {"ann", "cid", "eve"},
        "jobLevel lt 3": {"bob"},
        'title eq "analyst"': {"cid", "dee"},
        "not (title pr)": {"bob", "eve"},
        f'id eq "{staff["eve"]}"': {"eve"},
        'department eq "Engineering" and active eq true': set(staff),
    }
    for text, expected in cases.items():
        body = await _list(client, idp, filter=text)
        assert set(_names(body)) == expected, text
        assert body["totalResults"] == len(expected)


async def test_paging_is_stable_and_counts_everything(
    client: httpx.AsyncClient, idp: Service, staff: dict[str, uuid.UUID]
) -> None:
    everyone = _names(await _list(client, idp))
    assert len(everyone) == 5
    pages = [_names(await _list(client, idp, startIndex=start, count=2)) for start in (1, 3, 5)]
    assert [n for page in pages for n in page] == everyone

    # startIndex below 1 is 1; past the end is an empty page; count=0 counts only.
    assert _names(await _list(client, idp, startIndex=0, count=2)) == everyone[:2]
    assert _names(await _list(client, idp, startIndex=-4, count=1)) == everyone[:1]
    beyond = await _list(client, idp, startIndex=9, count=2)
    assert (beyond["totalResults"], beyond["Resources"], beyond["startIndex"]) == (5, [], 9)
    counted = await _list(client, idp, count=0)
    assert (counted["totalResults"], counted["itemsPerPage"], counted["Resources"]) == (5, 0, [])
    assert _names(await _list(client, idp, count=-3)) == []


async def test_count_is_capped_at_200(
    client: httpx.AsyncClient, idp: Service, db: Database
) -> None:
    async with db.session() as session:
        for n in range(205):
            email = f"bulk{n:03}@example.com"
            session.add(
                Employee(
                    email=email,
                    email_key=email,
                    given_name="Bulk",
                    family_name=f"{n:03}",
                    display_name=f"Bulk {n:03}",
                    job_level=1,
                )
            )
        await session.commit()
    body = await _list(client, idp, count=1000)
    assert body["totalResults"] == 205
    assert body["itemsPerPage"] == 200
    rest = await _list(client, idp, startIndex=201, count=1000)
    assert rest["itemsPerPage"] == 5
    default = await _list(client, idp)
    assert default["itemsPerPage"] == 100


async def test_sorting(
    client: httpx.AsyncClient, idp: Service, staff: dict[str, uuid.UUID]
) -> None:
    # Strings sort without case; ties keep a stable order.
    by_family = _names(await _list(client, idp, sortBy="name.familyName"))
    assert by_family[:2] == ["bob", "cid"]
    assert set(by_family[2:4]) == {"ann", "dee"}
    assert by_family[4] == "eve"
    down = _names(await _list(client, idp, sortBy="name.familyName", sortOrder="descending"))
    assert down[0] == "eve"
    assert down[-2:] == ["cid", "bob"]
    assert _names(await _list(client, idp, sortBy=f"{REVMENTOR}:jobLevel")) == [
        "bob",
        "dee",
        "cid",
        "ann",
        "eve",
    ]
    assert _names(await _list(client, idp, sortBy="jobLevel", sortOrder="Descending"))[0] == "eve"
    # No value: last when ascending, first when descending (RFC 7644 3.4.2.3).
    by_title = _names(await _list(client, idp, sortBy="title"))
    assert by_title[:3] == ["cid", "dee", "ann"]
    assert set(by_title[3:]) == {"bob", "eve"}
    by_title_down = _names(await _list(client, idp, sortBy="title", sortOrder="descending"))
    assert set(by_title_down[:2]) == {"bob", "eve"}
    assert by_title_down[2] == "ann"
    # Sorting and paging together.
    page = _names(await _list(client, idp, sortBy="jobLevel", startIndex=2, count=2))
    assert page == ["dee", "cid"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"sortBy": "nickName"}, "sortBy"),
        ({"sortBy": "emails.type"}, "sortBy"),
        ({"sortBy": "userName or title"}, "sortBy"),
        ({"sortBy": "userName", "sortOrder": "upwards"}, "sortOrder"),
        ({"startIndex": "first"}, "startIndex"),
        ({"count": "ten"}, "count"),
        ({"attributes": "userName", "excludedAttributes": "emails"}, "not both"),
        ({"attributes": 'emails[type eq "work"]'}, "attribute"),
    ],
)
async def test_bad_list_parameters_are_invalid_values(
    client: httpx.AsyncClient, idp: Service, params: dict[str, str], fragment: str
) -> None:
    response = await client.get("/scim/v2/Users", headers=headers(idp), params=params)
    error = assert_scim_error(response, 400, "invalidValue")
    assert fragment in error["detail"]


@pytest.mark.parametrize(
    "text",
    ["userName eq", 'nickName eq "x"', "userName eq 1", 'meta.created gt "yesterday"', "a" * 5000],
)
async def test_bad_filters_are_invalid_filters(
    client: httpx.AsyncClient, idp: Service, text: str
) -> None:
    response = await client.get("/scim/v2/Users", headers=headers(idp), params={"filter": text})
    assert_scim_error(response, 400, "invalidFilter")


async def test_attributes_and_excluded_attributes(
    client: httpx.AsyncClient, idp: Service, factory: Factory
) -> None:
    boss = await factory.employee(email="boss@example.com")
    await factory.employee(
        email="worker@example.com", manager_id=boss.id, department="Ops", job_level=4
    )
    flt = 'userName eq "worker@example.com"'
    only = await _list(client, idp, filter=flt, attributes="userName,name.givenName")
    [user] = only["Resources"]
    assert set(user) == {"schemas", "id", "userName", "name"}
    assert set(user["name"]) == {"givenName"}

    # Bare extension attribute names are understood, URN-qualified ones too.
    ext = await _list(client, idp, filter=flt, attributes=f"department,{REVMENTOR}:jobLevel")
    [user] = ext["Resources"]
    assert user[ENTERPRISE] == {"department": "Ops"}
    assert user[REVMENTOR] == {"jobLevel": 4}
    assert set(user["schemas"]) == {CORE, ENTERPRISE, REVMENTOR}

    without = await _list(client, idp, filter=flt, excludedAttributes="emails,meta,manager")
    [user] = without["Resources"]
    assert "emails" not in user
    assert "meta" not in user
    assert "manager" not in user[ENTERPRISE]
    assert user["id"]
    assert user["userName"] == "worker@example.com"

    one = await client.get(
        f"/scim/v2/Users/{user['id']}", headers=headers(idp), params={"attributes": "active"}
    )
    assert one.json() == {"schemas": [CORE], "id": user["id"], "active": True}


async def test_search_with_post(
    client: httpx.AsyncClient, idp: Service, staff: dict[str, uuid.UUID]
) -> None:
    request = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "jobLevel gt 2",
        "sortBy": "name.givenName",
        "sortOrder": "descending",
        "startIndex": 1,
        "count": 3,
        "attributes": ["userName", "displayName"],
    }
    response = await client.post("/scim/v2/Users/.search", headers=headers(idp), json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 4
    assert _names(body) == ["eve", "dee", "cid"]
    assert set(body["Resources"][0]) == {"schemas", "id", "userName", "displayName"}

    same = await _list(
        client,
        idp,
        filter="jobLevel gt 2",
        sortBy="name.givenName",
        sortOrder="descending",
        count=3,
        attributes="userName,displayName",
    )
    assert same == body

    wrong = await client.post(
        "/scim/v2/Users/.search",
        headers=headers(idp),
        json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "filter": "x pr"},
    )
    assert_scim_error(wrong, 400, "invalidSyntax")
    bad = await client.post(
        "/scim/v2/Users/.search",
        headers=headers(idp),
        json={"schemas": [request["schemas"][0]], "filter": "userName eq"},
    )
    assert_scim_error(bad, 400, "invalidFilter")


async def test_removed_people_are_not_listed(
    client: httpx.AsyncClient, idp: Service, db: Database, staff: dict[str, uuid.UUID]
) -> None:
    async with db.session() as session:
        await session.execute(
            update(Employee)
            .where(col(Employee.id) == staff["bob"])
            .values(scim_removed_at=utcnow(), active=False)
        )
        await session.commit()
    body = await _list(client, idp)
    assert "bob" not in _names(body)
    assert body["totalResults"] == 4
    assert (await _list(client, idp, filter="active eq false"))["totalResults"] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "ZOË.ÜNÏCØDÉ@example.com"', {"zoë"}),
        ('userName eq "zoë.ünïcødé@example.com"', {"zoë"}),
        ('displayName co "ZOË"', {"zoë"}),
        ('displayName sw "zoË Ü"', {"zoë"}),
        ('name.familyName ew "CØDÉ"', {"zoë"}),
        ('emails[value eq "Zoë.Ünïcødé@EXAMPLE.com"]', {"zoë"}),
        ('displayName ne "ZOË ÜNÏCØDÉ"', {"zoe"}),
        # Case is folded, accents are not: an E is not an Ë.
        ('displayName co "ZOE"', {"zoe"}),
    ],
)
async def test_filters_ignore_case_beyond_ascii(
    client: httpx.AsyncClient, idp: Service, factory: Factory, text: str, expected: set[str]
) -> None:
    for email, given, family in [
        ("zoë.ünïcødé@example.com", "Zoë", "Ünïcødé"),
        ("zoe.unicode@example.com", "Zoe", "Unicode"),
    ]:
        await factory.employee(email=email, given_name=given, family_name=family)
    body = await _list(client, idp, filter=text)
    assert {u["userName"].split(".")[0] for u in body["Resources"]} == expected, text
