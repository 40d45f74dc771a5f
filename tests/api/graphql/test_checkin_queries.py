"""Check-ins over GraphQL read as over REST: latest meeting first; shared notes for the two
members only; a private note for its author alone (not the partner, the program team, admins
or readers); nothing at all for people outside the pairing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.db.engine import Database
from app.db.types import utcnow
from tests.api.graphql.reads import API, ask, data, db_id, gid, rest, rest_items, statements
from tests.factories import Factory, Paired, Person

SHARED = "We tried the new chat etiquette together."
MENTOR_NOTE = "mentor-only: I felt talked over today."
MENTEE_NOTE = "mentee-only: remember to ask about prompts."
NOTES = (SHARED, MENTOR_NOTE, MENTEE_NOTE)

FIELDS = (
    "id databaseId metOn durationMinutes mode topics sharedNotes privateNote loggedById version"
)
CHECK_INS = f"""
query($id: ID!, $first: Int! = 50, $after: String) {{
  node(id: $id) {{ ... on Pairing {{
    checkIns(first: $first, after: $after) {{
      nodes {{ {FIELDS} }} pageInfo {{ hasNextPage endCursor }}
    }}
  }} }}
}}"""
ONE = f"query($id: ID!) {{ node(id: $id) {{ ... on CheckIn {{ {FIELDS} }} }} }}"


def days_ago(n: int) -> str:
    return (utcnow().date() - timedelta(days=n)).isoformat()


async def log(client: httpx.AsyncClient, member: Person, paired: Paired, **body: Any) -> str:
    meeting = {"met_on": days_ago(5), "duration_minutes": 45, "mode": "video", **body}
    response = await client.post(
        f"{API}/pairings/{paired.id}/check-ins", headers=member.headers, json=meeting
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def meetings(client: httpx.AsyncClient, factory: Factory) -> tuple[Paired, list[str]]:
    """A live pairing with two meetings; each member keeps a private note on the first."""
    paired = await factory.paired(activated_days_ago=30)
    first = await log(
        client,
        paired.mentor,
        paired,
        met_on=days_ago(10),
        topics=["AI tools"],
        shared_notes=SHARED,
        private_note=MENTOR_NOTE,
    )
    second = await log(client, paired.mentee, paired, met_on=days_ago(3), mode="in_person")
    response = await client.put(
        f"{API}/check-ins/{first}/private-note",
        headers=paired.mentee.headers,
        json={"body": MENTEE_NOTE},
    )
    assert response.status_code == 200, response.text
    return paired, [second, first]


def as_rest(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL check-in in REST's words."""
    return {
        "id": node["databaseId"],
        "met_on": node["metOn"],
        "duration_minutes": node["durationMinutes"],
        "mode": node["mode"].lower(),
        "topics": node["topics"],
        "shared_notes": node["sharedNotes"],
        "private_note": node["privateNote"],
        "logged_by_id": db_id(node["loggedById"]),
        "version": node["version"],
    }


def rest_fields(item: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "met_on", "duration_minutes", "mode", "topics", "shared_notes")
    return {
        **{k: item[k] for k in keys},
        "private_note": item["private_note"],
        "logged_by_id": item["logged_by_id"],
        "version": item["version"],
    }


async def actors(factory: Factory, paired: Paired) -> dict[str, Any]:
    other = await factory.paired()
    return {
        "mentor": paired.mentor,
        "mentee": paired.mentee,
        "manager": paired.manager,
        "admin": await factory.admin(),
        "reader": await factory.service("read"),
        "other_manager": other.manager,
        "stranger": await factory.person(),
    }


#: The notes each actor reads: (shared notes, their own private note).
READS = {
    "mentor": (SHARED, MENTOR_NOTE),
    "mentee": (SHARED, MENTEE_NOTE),
    "manager": (None, None),
    "admin": (None, None),
    "reader": (None, None),
}


async def test_every_actor_reads_the_check_ins_rest_shows_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired, ids = await meetings(client, factory)
    for name, who in (await actors(factory, paired)).items():
        body = await ask(client, who, CHECK_INS, id=gid("Pairing", paired.id))
        assert "errors" not in body, (name, body)
        listed = await rest(client, who, f"/pairings/{paired.id}/check-ins")
        if name in ("other_manager", "stranger"):
            # Outside the pairing: REST's 404 is GraphQL's null, and no note leaks.
            assert listed.status_code == 404, (name, listed.text)
            assert body["data"]["node"] is None, name
        else:
            nodes = body["data"]["node"]["checkIns"]["nodes"]
            assert [n["databaseId"] for n in nodes] == ids, name  # latest meeting first
            assert [as_rest(n) for n in nodes] == [
                rest_fields(i) for i in listed.json()["items"]
            ], name
            shared, private = READS[name]
            assert (nodes[1]["sharedNotes"], nodes[1]["privateNote"]) == (shared, private), name
            assert nodes[0]["privateNote"] is None, name
        text = str(body)
        leaked = [n for n in NOTES if n in text and n not in READS.get(name, ())]
        assert leaked == [], name


async def test_a_check_in_node_reads_as_rest_reads_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired, ids = await meetings(client, factory)
    first = ids[1]
    for name, who in (await actors(factory, paired)).items():
        node = (await data(client, who, ONE, id=gid("CheckIn", first)))["node"]
        one = await rest(client, who, f"/check-ins/{first}")
        if name in ("other_manager", "stranger"):
            assert one.status_code == 404, name
            assert node is None, name
            continue
        assert as_rest(node) == rest_fields(one.json()), name
        assert (node["sharedNotes"], node["privateNote"]) == READS[name], name


async def test_check_ins_page_forwards_latest_first(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired, ids = await meetings(client, factory)
    third = await log(client, paired.mentor, paired, met_on=days_ago(3))  # same day as ids[0]
    expected = [
        i["id"] for i in await rest_items(client, paired.mentor, f"/pairings/{paired.id}/check-ins")
    ]
    assert expected[0] == third
    assert set(expected) == {third, *ids}
    seen: list[str] = []
    after = None
    while True:
        page = (
            await data(
                client, paired.mentor, CHECK_INS, id=gid("Pairing", paired.id), first=1, after=after
            )
        )["node"]["checkIns"]
        seen += [n["databaseId"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected


@pytest.mark.parametrize("first", [0, 101])
async def test_page_sizes_are_bounded(
    client: httpx.AsyncClient, factory: Factory, first: int
) -> None:
    paired, _ = await meetings(client, factory)
    body = await ask(client, paired.mentor, CHECK_INS, id=gid("Pairing", paired.id), first=first)
    assert body["errors"][0]["extensions"]["code"] == "invalid-input"


NESTED = (
    "{ pairings(first: 20) { nodes { checkIns(first: 10) { nodes { id sharedNotes privateNote "
    "loggedBy { displayName } } } } } }"
)


async def test_nested_check_ins_cost_the_same_statements_for_one_pairing_or_many(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    admin = await factory.admin()
    await meetings(client, factory)
    one = await statements(client, db, admin, NESTED)
    for _ in range(3):
        await meetings(client, factory)
    many = await statements(client, db, admin, NESTED)
    answer = await data(client, admin, NESTED)
    assert sum(len(p["checkIns"]["nodes"]) for p in answer["pairings"]["nodes"]) == 8
    assert many == one
