"""Feedback over GraphQL reads as ``GET /pairings/{id}/feedback``: the author reads theirs whole,
the partner a comment only when it was shared (never ratings), the program team everything;
readers are refused (they get aggregates, in the report), and outsiders see no pairing."""

from __future__ import annotations

from typing import Any

import httpx

from app.db.engine import Database
from app.db.types import utcnow
from tests.api.graphql.reads import API, ask, codes, data, db_id, gid, rest, statements
from tests.factories import Factory, Paired, Person

SHARED_COMMENT = "shared: thanks for the patient walkthrough"
TEAM_COMMENT = "team-only: I feel a bit patronised"
RATINGS = "ratings { value mutualRespect psychologicalSafety clarity }"
FIELDS = (
    f"databaseId authorId authorRole kind checkInId {RATINGS} wouldTakePartAgain comment "
    "commentVisibility"
)
FEEDBACK = f"""
query($id: ID!) {{ node(id: $id) {{ ... on Pairing {{
  databaseId feedback {{ nodes {{ {FIELDS} }} pageInfo {{ hasNextPage }} }}
}} }} }}"""


async def rate(
    client: httpx.AsyncClient,
    member: Person,
    paired: Paired,
    check_in_id: str,
    score: int,
    comment: str,
    visibility: str,
) -> None:
    response = await client.post(
        f"{API}/pairings/{paired.id}/feedback",
        headers=member.headers,
        json={
            "kind": "check_in",
            "check_in_id": check_in_id,
            "ratings": {
                "value": score,
                "mutual_respect": score,
                "psychological_safety": score,
                "clarity": score,
            },
            "comment": comment,
            "comment_visibility": visibility,
        },
    )
    assert response.status_code == 201, response.text


async def rated(client: httpx.AsyncClient, factory: Factory) -> Paired:
    """A live pairing with one meeting, rated by both: the mentor shares their comment with
    the partner, the mentee keeps theirs for the program team."""
    paired = await factory.paired()
    logged = await client.post(
        f"{API}/pairings/{paired.id}/check-ins",
        headers=paired.mentor.headers,
        json={"met_on": utcnow().date().isoformat(), "duration_minutes": 30, "mode": "chat"},
    )
    assert logged.status_code == 201, logged.text
    check_in = str(logged.json()["id"])
    await rate(client, paired.mentor, paired, check_in, 5, SHARED_COMMENT, "partner")
    await rate(client, paired.mentee, paired, check_in, 2, TEAM_COMMENT, "program_team")
    return paired


def as_rest(node: dict[str, Any]) -> dict[str, Any]:
    ratings = node["ratings"]
    return {
        "id": node["databaseId"],
        "author_employee_id": db_id(node["authorId"]),
        "author_role": node["authorRole"],
        "kind": node["kind"].lower(),
        "check_in_id": None if node["checkInId"] is None else db_id(node["checkInId"]),
        "ratings": None
        if ratings is None
        else {
            "value": ratings["value"],
            "mutual_respect": ratings["mutualRespect"],
            "psychological_safety": ratings["psychologicalSafety"],
            "clarity": ratings["clarity"],
        },
        "would_take_part_again": node["wouldTakePartAgain"],
        "comment": node["comment"],
        "comment_visibility": None
        if node["commentVisibility"] is None
        else node["commentVisibility"].lower(),
    }


def rest_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pairing_id", "created_at")}


async def test_members_and_the_program_team_read_what_rest_shows_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await rated(client, factory)
    who = {
        "mentor": paired.mentor,
        "mentee": paired.mentee,
        "manager": paired.manager,
        "admin": await factory.admin(),
    }
    seen: dict[str, list[dict[str, Any]]] = {}
    for name, person in who.items():
        nodes = (await data(client, person, FEEDBACK, id=gid("Pairing", paired.id)))["node"][
            "feedback"
        ]["nodes"]
        listed = await rest(client, person, f"/pairings/{paired.id}/feedback")
        assert listed.status_code == 200, listed.text
        assert [as_rest(n) for n in nodes] == [rest_fields(i) for i in listed.json()["items"]]
        seen[name] = [as_rest(n) for n in nodes]
    by_role = {name: {f["author_role"]: f for f in items} for name, items in seen.items()}
    # The author reads theirs whole; the partner only a shared comment, never ratings.
    assert by_role["mentor"]["mentor"]["ratings"]["value"] == 5
    assert by_role["mentor"]["mentee"]["ratings"] is None
    assert by_role["mentor"]["mentee"]["comment"] is None
    assert by_role["mentee"]["mentor"]["comment"] == SHARED_COMMENT
    assert by_role["mentee"]["mentor"]["ratings"] is None
    assert by_role["mentee"]["mentor"]["comment_visibility"] is None
    for team in ("manager", "admin"):
        assert by_role[team]["mentee"]["comment"] == TEAM_COMMENT
        assert by_role[team]["mentee"]["ratings"]["value"] == 2


async def test_readers_are_refused_individual_feedback_as_in_rest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await rated(client, factory)
    reader = await factory.service("read")
    assert (await rest(client, reader, f"/pairings/{paired.id}/feedback")).status_code == 403
    body = await ask(client, reader, FEEDBACK, id=gid("Pairing", paired.id))
    assert body["data"]["node"] == {"databaseId": str(paired.id), "feedback": None}
    assert codes(body) == ["forbidden"]
    assert body["errors"][0]["path"] == ["node", "feedback"]
    assert SHARED_COMMENT not in str(body)
    assert TEAM_COMMENT not in str(body)


async def test_outsiders_see_no_pairing_and_no_feedback(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await rated(client, factory)
    other = await factory.paired()
    for who in (other.manager, other.mentor, await factory.person()):
        assert (await rest(client, who, f"/pairings/{paired.id}/feedback")).status_code == 404
        body = await ask(client, who, FEEDBACK, id=gid("Pairing", paired.id))
        assert body == {"data": {"node": None}}


NESTED = (
    "{ pairings(first: 20) { nodes { databaseId feedback(first: 10) { nodes { comment "
    "ratings { value } } } } } }"
)


async def test_nested_feedback_costs_the_same_statements_for_one_pairing_or_many(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    admin = await factory.admin()
    await rated(client, factory)
    one = await statements(client, db, admin, NESTED)
    for _ in range(3):
        await rated(client, factory)
    many = await statements(client, db, admin, NESTED)
    answer = await data(client, admin, NESTED)
    assert sum(len(p["feedback"]["nodes"]) for p in answer["pairings"]["nodes"]) == 8
    assert many == one


async def test_a_reader_listing_pairings_gets_them_without_feedback(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    for _ in range(2):
        await rated(client, factory)
    reader = await factory.service("read")
    body = await ask(client, reader, NESTED)
    pairings = body["data"]["pairings"]["nodes"]
    assert [p["feedback"] for p in pairings] == [None, None]
    assert codes(body) == ["forbidden", "forbidden"]
