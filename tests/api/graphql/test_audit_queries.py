"""The audit log over GraphQL reads as ``GET /audit-events``: admins and ``audit:read`` clients
only, newest first, with the same filters; services never see concern entries, and an admin
never learns there that their own partner raised a concern."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.graphql.reads import API, ask, codes, data, db_id, gid, moment, rest, rest_items
from tests.factories import Factory, Paired

AUDIT = """
query($first: Int! = 100, $after: String, $entityType: String, $entity: ID,
      $actorEmployee: ID, $action: String) {
  auditEvents(first: $first, after: $after, entityType: $entityType, entity: $entity,
              actorEmployee: $actorEmployee, action: $action) {
    nodes { databaseId occurredAt actorKind actorEmployeeId actorService actorTokenId action
            entityType entityId entityDatabaseId requestId details }
    pageInfo { hasNextPage endCursor }
  }
}"""


def as_rest(node: dict[str, Any]) -> dict[str, Any]:
    actor = node["actorEmployeeId"]
    return {
        "id": node["databaseId"],
        "occurred_at": moment(node["occurredAt"]),
        "actor_kind": node["actorKind"],
        "actor_employee_id": None if actor is None else db_id(actor),
        "actor_service": node["actorService"],
        "actor_token_id": node["actorTokenId"],
        "action": node["action"],
        "entity_type": node["entityType"],
        "entity_id": node["entityDatabaseId"],
        "request_id": node["requestId"],
        "details": node["details"],
    }


def rest_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "occurred_at": moment(item["occurred_at"])}


async def raise_concern(client: httpx.AsyncClient, paired: Paired) -> str:
    response = await client.post(
        f"{API}/pairings/{paired.id}/concerns",
        headers=paired.mentee.headers,
        json={"category": "conflict", "description": "We keep talking past each other."},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def same_log(client: httpx.AsyncClient, who: Any, **filters: Any) -> list[dict[str, Any]]:
    """The entries ``who`` reads over GraphQL, checked against REST's."""
    rest_filters = {
        "entity_type": filters.get("entityType"),
        "entity_id": filters.pop("entity_id", None),
        "actor_employee_id": filters.pop("actor_employee_id", None),
        "action": filters.get("action"),
    }
    nodes = (await data(client, who, AUDIT, **filters))["auditEvents"]["nodes"]
    items = await rest_items(
        client,
        who,
        "/audit-events",
        limit=100,
        **{k: str(v) for k, v in rest_filters.items() if v is not None},
    )
    assert [as_rest(n) for n in nodes] == [rest_fields(i) for i in items]
    return list(nodes)


async def test_admins_and_audit_readers_read_what_rest_shows_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired()
    concern = await raise_concern(client, paired)
    admin = await factory.admin()
    auditor = await factory.service("audit:read", name="log-shipper")
    seen = await same_log(client, admin)
    assert "concern.raised" in {n["action"] for n in seen}
    pairing_entry = next(n for n in seen if n["entityType"] == "pairing")
    assert pairing_entry["entityId"] == gid("Pairing", paired.id)
    shipped = await same_log(client, auditor)
    # A service gets the trail without who raised what about whom.
    assert {n["entityType"] for n in shipped} >= {"pairing", "program", "enrollment"}
    assert "concern" not in {n["entityType"] for n in shipped}
    assert concern not in str(shipped)


async def test_an_admin_never_learns_their_partner_raised_a_concern(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    member = await factory.admin(job_level=2)
    paired = await factory.paired(mentor=member)
    concern = await raise_concern(client, paired)
    seen = await same_log(client, member)
    assert concern not in str(seen)
    assert "concern" not in {n["entityType"] for n in seen}
    other_admin = await factory.admin()
    assert concern in str(await same_log(client, other_admin))


async def test_filters_match_rest(client: httpx.AsyncClient, factory: Factory) -> None:
    paired = await factory.paired()
    await raise_concern(client, paired)
    admin = await factory.admin()
    by_type = await same_log(client, admin, entityType="enrollment")
    assert by_type
    assert {n["entityType"] for n in by_type} == {"enrollment"}
    by_entity = await same_log(client, admin, entity=gid("Pairing", paired.id), entity_id=paired.id)
    assert by_entity
    assert {n["entityDatabaseId"] for n in by_entity} == {str(paired.id)}
    by_actor = await same_log(
        client,
        admin,
        actorEmployee=gid("Employee", paired.mentee.id),
        actor_employee_id=paired.mentee.id,
    )
    assert {n["actorEmployeeId"] for n in by_actor} == {gid("Employee", paired.mentee.id)}
    assert [n["action"] for n in await same_log(client, admin, action="concern.raised")] == [
        "concern.raised"
    ]


async def test_the_log_pages_newest_first(client: httpx.AsyncClient, factory: Factory) -> None:
    await factory.paired()
    admin = await factory.admin()
    seen: list[str] = []
    after = None
    for _ in range(100):
        page = (await data(client, admin, AUDIT, first=7, after=after))["auditEvents"]
        seen += [n["databaseId"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [i["id"] for i in await rest_items(client, admin, "/audit-events", limit=100)]


@pytest.mark.parametrize("who", ["participant", "manager", "reader"])
async def test_everyone_else_is_refused(
    client: httpx.AsyncClient, factory: Factory, who: str
) -> None:
    paired = await factory.paired()
    caller = {
        "participant": paired.mentor,
        "manager": paired.manager,
        "reader": await factory.service("read"),
    }[who]
    assert (await rest(client, caller, "/audit-events")).status_code == 403
    body = await ask(client, caller, AUDIT)
    assert body["data"] is None
    assert codes(body) == ["forbidden"]


async def test_overlong_filters_are_refused_as_in_rest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    assert (await rest(client, admin, "/audit-events", action="x" * 65)).status_code == 422
    body = await ask(client, admin, AUDIT, action="x" * 65)
    assert codes(body) == ["invalid-input"]
