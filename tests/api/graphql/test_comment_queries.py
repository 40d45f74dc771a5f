"""Comments on goals over GraphQL read as ``GET /goals/{id}/comments``: oldest first, for whoever
may read the goal (its pairing's members, the program team, readers), and nobody else."""

from __future__ import annotations

from typing import Any

import httpx

from app.db.engine import Database
from tests.api.graphql.reads import API, data, db_id, gid, moment, rest, statements
from tests.factories import Factory, Paired

COMMENTS = """
query($id: ID!, $first: Int! = 50, $after: String) { node(id: $id) { ... on Goal {
  comments(first: $first, after: $after) {
    nodes { id databaseId goalId authorId body createdAt }
    pageInfo { hasNextPage endCursor }
  }
} } }"""


async def commented(client: httpx.AsyncClient, factory: Factory) -> tuple[Paired, str]:
    """A pairing with a goal of the mentee's, commented on by both members."""
    paired = await factory.paired()
    response = await client.post(
        f"{API}/pairings/{paired.id}/goals",
        headers=paired.mentee.headers,
        json={"title": "Use AI assistants for drafting"},
    )
    assert response.status_code == 201, response.text
    goal = str(response.json()["id"])
    for member, body in ((paired.mentor, "Try it on a memo"), (paired.mentee, "Done, it helped")):
        said = await client.post(
            f"{API}/goals/{goal}/comments", headers=member.headers, json={"body": body}
        )
        assert said.status_code == 201, said.text
    return paired, goal


def as_rest(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node["databaseId"],
        "goal_id": db_id(node["goalId"]),
        "author_employee_id": db_id(node["authorId"]),
        "body": node["body"],
        "created_at": moment(node["createdAt"]),
    }


def rest_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "created_at": moment(item["created_at"])}


async def test_readers_of_the_goal_read_the_comments_rest_shows_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired, goal = await commented(client, factory)
    readers = [
        paired.mentor,
        paired.mentee,
        paired.manager,
        await factory.admin(),
        await factory.service("read"),
    ]
    for who in readers:
        nodes = (await data(client, who, COMMENTS, id=gid("Goal", goal)))["node"]["comments"][
            "nodes"
        ]
        listed = await rest(client, who, f"/goals/{goal}/comments")
        assert listed.status_code == 200, listed.text
        assert [as_rest(n) for n in nodes] == [rest_fields(i) for i in listed.json()["items"]]
        assert [n["body"] for n in nodes] == ["Try it on a memo", "Done, it helped"]


async def test_outsiders_see_neither_the_goal_nor_its_comments(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    _, goal = await commented(client, factory)
    other = await factory.paired()
    for who in (other.manager, other.mentor, await factory.person()):
        assert (await rest(client, who, f"/goals/{goal}/comments")).status_code == 404
        assert await data(client, who, COMMENTS, id=gid("Goal", goal)) == {"node": None}


async def test_comments_page_oldest_first(client: httpx.AsyncClient, factory: Factory) -> None:
    paired, goal = await commented(client, factory)
    seen: list[str] = []
    after = None
    while True:
        page = (
            await data(client, paired.mentor, COMMENTS, id=gid("Goal", goal), first=1, after=after)
        )["node"]["comments"]
        seen += [n["body"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["Try it on a memo", "Done, it helped"]


NESTED = (
    "{ pairings(first: 20) { nodes { goals(first: 10) { nodes { title "
    "comments(first: 10) { nodes { body author { displayName } } } } } } } }"
)


async def test_comments_of_many_goals_cost_the_statements_of_one(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    admin = await factory.admin()
    await commented(client, factory)
    one = await statements(client, db, admin, NESTED)
    for _ in range(3):
        await commented(client, factory)
    many = await statements(client, db, admin, NESTED)
    pairings = (await data(client, admin, NESTED))["pairings"]["nodes"]
    found = [c for p in pairings for g in p["goals"]["nodes"] for c in g["comments"]["nodes"]]
    assert len(found) == 8
    assert many == one
