"""Concerns over GraphQL read as over REST: the program team and the raiser read them (the raiser
without the team's resolution); the partner never learns that one exists; other programs'
managers and strangers see nothing, and service clients are refused."""

from __future__ import annotations

from typing import Any

import httpx

from app.db.engine import Database
from tests.api.graphql.reads import API, ask, codes, data, db_id, gid, rest, rest_items, statements
from tests.factories import Factory, Paired

SECRET = "My mentor keeps cancelling at the last minute and talks down to me."
RESOLUTION = "Spoke to the mentor about expectations."
FIELDS = (
    "databaseId category description status acknowledgedById resolution resolvedById "
    "rematchRecommended pairingEnded raisedById programId version"
)
OF_PAIRING = f"""
query($id: ID!, $status: ConcernStatus) {{ node(id: $id) {{ ... on Pairing {{
  databaseId version updatedAt concerns(status: $status) {{ nodes {{ {FIELDS} }} }}
}} }} }}"""
ROOT = f"""
query($program: ID, $pairing: ID, $status: ConcernStatus) {{
  concerns(program: $program, pairing: $pairing, status: $status) {{ nodes {{ {FIELDS} }} }}
}}"""
ONE = f"query($id: ID!) {{ node(id: $id) {{ ... on Concern {{ {FIELDS} }} }} }}"


def as_rest(node: dict[str, Any]) -> dict[str, Any]:
    def employee(value: str | None) -> str | None:
        return None if value is None else db_id(value)

    return {
        "id": node["databaseId"],
        "category": node["category"].lower(),
        "description": node["description"],
        "status": node["status"].lower(),
        "acknowledged_by_id": employee(node["acknowledgedById"]),
        "resolution": node["resolution"],
        "resolved_by_id": employee(node["resolvedById"]),
        "rematch_recommended": node["rematchRecommended"],
        "pairing_ended": node["pairingEnded"],
        "raised_by_id": db_id(node["raisedById"]),
        "program_id": db_id(node["programId"]),
        "version": node["version"],
    }


KEYS = (
    "id",
    "category",
    "description",
    "status",
    "acknowledged_by_id",
    "resolution",
    "resolved_by_id",
    "rematch_recommended",
    "pairing_ended",
    "raised_by_id",
    "program_id",
    "version",
)


def rest_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in KEYS}


async def raise_concern(client: httpx.AsyncClient, paired: Paired) -> str:
    response = await client.post(
        f"{API}/pairings/{paired.id}/concerns",
        headers=paired.mentee.headers,
        json={"category": "patronised", "description": SECRET},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def resolve(client: httpx.AsyncClient, paired: Paired, concern_id: str) -> None:
    url = f"{API}/concerns/{concern_id}"
    tag = (await client.get(url, headers=paired.manager.headers)).headers["etag"]
    response = await client.post(
        f"{url}/resolve",
        headers={**paired.manager.headers, "If-Match": tag},
        json={"resolution": RESOLUTION, "rematch_recommended": True},
    )
    assert response.status_code == 200, response.text


async def test_the_team_and_the_raiser_read_what_rest_shows_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired()
    concern = await raise_concern(client, paired)
    await resolve(client, paired, concern)
    admin = await factory.admin()
    for name, who in (("manager", paired.manager), ("admin", admin), ("raiser", paired.mentee)):
        root = (await data(client, who, ROOT))["concerns"]["nodes"]
        assert [as_rest(n) for n in root] == [
            rest_fields(i) for i in await rest_items(client, who, "/concerns")
        ], name
        nested = (await data(client, who, OF_PAIRING, id=gid("Pairing", paired.id)))["node"]
        assert [as_rest(n) for n in nested["concerns"]["nodes"]] == [
            rest_fields(i) for i in await rest_items(client, who, f"/pairings/{paired.id}/concerns")
        ], name
        one = (await data(client, who, ONE, id=gid("Concern", concern)))["node"]
        got = await rest(client, who, f"/concerns/{concern}")
        assert as_rest(one) == rest_fields(got.json()), name
        assert one["description"] == SECRET
        assert one["status"] == "RESOLVED"
        team = name != "raiser"
        assert (one["resolution"] == RESOLUTION) is team, name
        assert (one["rematchRecommended"] is True) is team, name
        assert (one["resolvedById"] is not None) is team, name
    assert RESOLUTION not in str(await ask(client, paired.mentee, ROOT))


async def test_the_partner_never_learns_that_a_concern_exists(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired()
    partner = paired.mentor
    before = (await data(client, partner, OF_PAIRING, id=gid("Pairing", paired.id)))["node"]
    concern = await raise_concern(client, paired)
    after = (await data(client, partner, OF_PAIRING, id=gid("Pairing", paired.id)))["node"]
    # Nothing the partner reads changes: the list is as empty as REST's, the pairing unchanged.
    assert after == before
    assert after["concerns"]["nodes"] == []
    assert await rest_items(client, partner, f"/pairings/{paired.id}/concerns") == []
    assert (await data(client, partner, ROOT))["concerns"]["nodes"] == []
    assert await rest_items(client, partner, "/concerns") == []
    assert (await rest(client, partner, f"/concerns/{concern}")).status_code == 404
    body = await ask(client, partner, ONE, id=gid("Concern", concern))
    assert body == {"data": {"node": None}}
    for document, variables in ((ROOT, {}), (OF_PAIRING, {"id": gid("Pairing", paired.id)})):
        assert SECRET not in str(await ask(client, partner, document, **variables))


async def test_outsiders_see_nothing_and_services_are_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired()
    concern = await raise_concern(client, paired)
    other = await factory.paired()
    for who in (other.manager, other.mentee, await factory.person()):
        assert (await data(client, who, ROOT))["concerns"]["nodes"] == []
        assert await rest_items(client, who, "/concerns") == []
        assert (await data(client, who, ONE, id=gid("Concern", concern)))["node"] is None
        assert (await rest(client, who, f"/concerns/{concern}")).status_code == 404
    for scopes in (("read",), ("read", "audit:read")):
        service = await factory.service(*scopes)
        assert (await rest(client, service, "/concerns")).status_code == 403
        assert (await rest(client, service, f"/pairings/{paired.id}/concerns")).status_code == 403
        root = await ask(client, service, ROOT)
        assert root["data"] is None
        assert codes(root) == ["forbidden"]
        nested = await ask(client, service, OF_PAIRING, id=gid("Pairing", paired.id))
        assert nested["data"]["node"]["concerns"] is None
        assert codes(nested) == ["forbidden"]
        one = await ask(client, service, ONE, id=gid("Concern", concern))
        assert codes(one) == ["forbidden"]
        assert SECRET not in str([root, nested, one])


async def test_filters_match_rest(client: httpx.AsyncClient, factory: Factory) -> None:
    paired = await factory.paired()
    first = await raise_concern(client, paired)
    second = await raise_concern(client, paired)
    await resolve(client, paired, first)
    elsewhere = await factory.paired(program=paired.program, manager=paired.manager)
    third = await raise_concern(client, elsewhere)
    manager = paired.manager

    async def root_ids(**variables: Any) -> list[str]:
        found = await data(client, manager, ROOT, **variables)
        return [n["databaseId"] for n in found["concerns"]["nodes"]]

    async def rest_ids(path: str, **params: Any) -> list[str]:
        return [i["id"] for i in await rest_items(client, manager, path, **params)]

    assert await root_ids() == await rest_ids("/concerns") == [third, second, first]
    assert await root_ids(status="OPEN") == await rest_ids("/concerns", status="open")
    assert await root_ids(program=gid("Program", paired.program.id)) == await rest_ids(
        "/concerns", program_id=str(paired.program.id)
    )
    assert await root_ids(pairing=gid("Pairing", paired.id)) == await rest_ids(
        f"/pairings/{paired.id}/concerns"
    )
    nested = await data(
        client, manager, OF_PAIRING, id=gid("Pairing", paired.id), status="RESOLVED"
    )
    assert [n["databaseId"] for n in nested["node"]["concerns"]["nodes"]] == await rest_ids(
        f"/pairings/{paired.id}/concerns", status="resolved"
    )


NESTED = (
    "{ pairings(first: 20) { nodes { concerns(first: 10) { nodes { description status } } } } }"
)


async def test_nested_concerns_cost_the_same_statements_for_one_pairing_or_many(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    admin = await factory.admin()
    await raise_concern(client, await factory.paired())
    one = await statements(client, db, admin, NESTED)
    for _ in range(3):
        await raise_concern(client, await factory.paired())
    many = await statements(client, db, admin, NESTED)
    answer = await data(client, admin, NESTED)
    assert sum(len(p["concerns"]["nodes"]) for p in answer["pairings"]["nodes"]) == 4
    assert many == one
