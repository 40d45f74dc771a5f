"""Blocks over GraphQL read as ``GET /blocks``: your own (admins: everyone's); the blocked person
never learns of a block; service clients are refused."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.graphql.reads import API, ask, codes, data, db_id, moment, rest, rest_items
from tests.factories import Factory, Person

BLOCKS = """
query($first: Int! = 50, $after: String) {
  blocks(first: $first, after: $after) {
    nodes { id databaseId blockedEmployeeId createdAt blockedEmployee { databaseId } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def block(client: httpx.AsyncClient, who: Person, whom: Person) -> str:
    response = await client.post(
        f"{API}/blocks", headers=who.headers, json={"employee_id": str(whom.id)}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def as_rest(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node["databaseId"],
        "blocked_employee_id": db_id(node["blockedEmployeeId"]),
        "created_at": moment(node["createdAt"]),
    }


def rest_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "created_at": moment(item["created_at"])}


async def test_blocks_read_as_rest_shows_them(client: httpx.AsyncClient, factory: Factory) -> None:
    alice, bob, carol = [await factory.person() for _ in range(3)]
    first = await block(client, alice, bob)
    second = await block(client, alice, carol)
    third = await block(client, carol, alice)
    admin = await factory.admin()
    expected = {
        "alice": (alice, [first, second]),
        "bob": (bob, []),  # the blocked are never told
        "carol": (carol, [third]),
        "admin": (admin, [first, second, third]),
    }
    for name, (who, ids) in expected.items():
        nodes = (await data(client, who, BLOCKS))["blocks"]["nodes"]
        items = await rest_items(client, who, "/blocks")
        assert [as_rest(n) for n in nodes] == [rest_fields(i) for i in items], name
        assert [n["databaseId"] for n in nodes] == ids, name
    # A person sees their own record only: whom they blocked stays an id.
    nodes = (await data(client, alice, BLOCKS))["blocks"]["nodes"]
    assert [n["blockedEmployee"] for n in nodes] == [None, None]
    page = (await data(client, alice, BLOCKS, first=1))["blocks"]
    rest_page = await rest(client, alice, "/blocks", limit=1)
    assert [n["databaseId"] for n in page["nodes"]] == [i["id"] for i in rest_page.json()["items"]]
    after = (await data(client, alice, BLOCKS, first=1, after=page["pageInfo"]["endCursor"]))[
        "blocks"
    ]
    assert [n["databaseId"] for n in after["nodes"]] == [second]


async def test_service_clients_are_refused(client: httpx.AsyncClient, factory: Factory) -> None:
    alice, bob = await factory.person(), await factory.person()
    await block(client, alice, bob)
    for scopes in (("read",), ("audit:read",)):
        service = await factory.service(*scopes)
        assert (await rest(client, service, "/blocks")).status_code == 403
        body = await ask(client, service, BLOCKS)
        assert body["data"] is None
        assert codes(body) == ["forbidden"]
