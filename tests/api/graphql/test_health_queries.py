"""Pairing health over GraphQL reads as over REST: for the program team (with the open-concern
reason) and readers (without it, their status computed without it); members and other people
are refused. A pairing that is not active has no health (REST answers 409; GraphQL null)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from app.db.engine import Database
from app.db.models import Program
from tests.api.graphql.reads import (
    API,
    ask,
    codes,
    data,
    db_id,
    gid,
    moment,
    rest,
    rest_items,
    statements,
)
from tests.factories import Factory, Paired, Person

CONCERN = "We keep talking past each other."
FIELDS = (
    "pairingId programId mentorEmployeeId menteeEmployeeId status reasons { code detail } "
    "activatedAt endsOn checkIns lastCheckInOn nextCheckInDueOn goals goalsAchieved"
)
OF_PAIRING = f"query($id: ID!) {{ node(id: $id) {{ ... on Pairing {{ health {{ {FIELDS} }} }} }} }}"
OF_PROGRAM = f"""
query($id: ID!, $first: Int! = 50, $after: String, $status: HealthStatus) {{
  node(id: $id) {{ ... on Program {{
    pairingHealth(first: $first, after: $after, status: $status) {{
      nodes {{ {FIELDS} pairing {{ databaseId }} }} pageInfo {{ hasNextPage endCursor }}
    }}
  }} }}
}}"""


def as_rest(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "pairing_id": db_id(node["pairingId"]),
        "program_id": db_id(node["programId"]),
        "mentor_employee_id": db_id(node["mentorEmployeeId"]),
        "mentee_employee_id": db_id(node["menteeEmployeeId"]),
        "status": node["status"].lower(),
        "reasons": [{"code": r["code"].lower(), "detail": r["detail"]} for r in node["reasons"]],
        "activated_at": moment(node["activatedAt"]),
        "ends_on": node["endsOn"],
        "check_ins": node["checkIns"],
        "last_check_in_on": node["lastCheckInOn"],
        "next_check_in_due_on": node["nextCheckInDueOn"],
        "goals": node["goals"],
        "goals_achieved": node["goalsAchieved"],
    }


def rest_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "activated_at": moment(item["activated_at"])}


@dataclass
class Program3:
    program: Program
    manager: Person
    concerned: Paired  # live for 3 days, with an open concern
    overdue: Paired  # live for 40 days without a meeting
    proposed: Paired


async def program_with_health(client: httpx.AsyncClient, factory: Factory) -> Program3:
    concerned = await factory.paired(activated_days_ago=3)
    program, manager = concerned.program, concerned.manager
    overdue = await factory.paired(program=program, manager=manager, activated_days_ago=40)
    proposed = await factory.paired(program=program, manager=manager, state="proposed")
    response = await client.post(
        f"{API}/pairings/{concerned.id}/concerns",
        headers=concerned.mentee.headers,
        json={"category": "conflict", "description": CONCERN},
    )
    assert response.status_code == 201, response.text
    return Program3(proposed.program, manager, concerned, overdue, proposed)


async def test_the_team_and_readers_read_the_health_rest_shows_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    s = await program_with_health(client, factory)
    reader = await factory.service("read")
    for name, who in (("manager", s.manager), ("admin", await factory.admin()), ("reader", reader)):
        for paired in (s.concerned, s.overdue):
            node = (await data(client, who, OF_PAIRING, id=gid("Pairing", paired.id)))["node"]
            one = await rest(client, who, f"/pairings/{paired.id}/health")
            assert one.status_code == 200, one.text
            assert as_rest(node["health"]) == rest_fields(one.json()), name
        listed = (await data(client, who, OF_PROGRAM, id=gid("Program", s.program.id)))["node"]
        nodes = listed["pairingHealth"]["nodes"]
        items = await rest_items(client, who, f"/programs/{s.program.id}/pairing-health")
        assert [as_rest(n) for n in nodes] == [rest_fields(i) for i in items], name
        assert [n["pairing"]["databaseId"] for n in nodes] == [i["pairing_id"] for i in items]
        assert {db_id(n["pairingId"]) for n in nodes} == {str(s.concerned.id), str(s.overdue.id)}
        concerned = next(n for n in nodes if db_id(n["pairingId"]) == str(s.concerned.id))
        reasons = {r["code"] for r in concerned["reasons"]}
        if name == "reader":
            # Readers never learn of the concern: no reason, and a status computed without it.
            assert (reasons, concerned["status"]) == (set(), "HEALTHY")
        else:
            assert (reasons, concerned["status"]) == ({"OPEN_CONCERN"}, "AT_RISK")


async def test_members_and_other_people_are_refused_as_in_rest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    s = await program_with_health(client, factory)
    other = await factory.paired()
    for who in (s.concerned.mentor, s.concerned.mentee):
        assert (await rest(client, who, f"/pairings/{s.concerned.id}/health")).status_code == 403
        body = await ask(client, who, OF_PAIRING, id=gid("Pairing", s.concerned.id))
        assert body["data"]["node"] == {"health": None}
        assert codes(body) == ["forbidden"]
        assert CONCERN not in str(body)
    for who in (s.concerned.mentor, other.manager, await factory.person()):
        path = f"/programs/{s.program.id}/pairing-health"
        assert (await rest(client, who, path)).status_code == 403
        body = await ask(client, who, OF_PROGRAM, id=gid("Program", s.program.id))
        assert body["data"]["node"] == {"pairingHealth": None}
        assert codes(body) == ["forbidden"]
    # Other programs' managers do not even see the pairing.
    assert (
        await rest(client, other.manager, f"/pairings/{s.overdue.id}/health")
    ).status_code == 404
    body = await ask(client, other.manager, OF_PAIRING, id=gid("Pairing", s.overdue.id))
    assert body == {"data": {"node": None}}


async def test_a_pairing_that_is_not_active_has_no_health(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    s = await program_with_health(client, factory)
    assert (await rest(client, s.manager, f"/pairings/{s.proposed.id}/health")).status_code == 409
    body = await ask(client, s.manager, OF_PAIRING, id=gid("Pairing", s.proposed.id))
    assert body == {"data": {"node": {"health": None}}}


async def test_status_filter_and_pages_match_rest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    s = await program_with_health(client, factory)
    program = gid("Program", s.program.id)
    path = f"/programs/{s.program.id}/pairing-health"
    for status in ("at_risk", "healthy", "needs_attention"):
        found = await data(client, s.manager, OF_PROGRAM, id=program, status=status.upper())
        items = await rest_items(client, s.manager, path, status=status)
        assert [as_rest(n) for n in found["node"]["pairingHealth"]["nodes"]] == [
            rest_fields(i) for i in items
        ]
    seen: list[str] = []
    after = None
    while True:
        page = (await data(client, s.manager, OF_PROGRAM, id=program, first=1, after=after))[
            "node"
        ]["pairingHealth"]
        seen += [db_id(n["pairingId"]) for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [i["pairing_id"] for i in await rest_items(client, s.manager, path)]


PROGRAMS = (
    "{ programs(first: 20) { nodes { pairingHealth(first: 10) { nodes { status "
    "reasons { code } } } pairings(first: 10) { nodes { health { status checkIns } } } } } }"
)


async def test_nested_health_costs_the_same_statements_for_one_program_or_many(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    admin = await factory.admin()
    await program_with_health(client, factory)
    one = await statements(client, db, admin, PROGRAMS)
    for _ in range(2):
        await program_with_health(client, factory)
    many = await statements(client, db, admin, PROGRAMS)
    programs = (await data(client, admin, PROGRAMS))["programs"]["nodes"]
    assert [len(p["pairingHealth"]["nodes"]) for p in programs] == [2, 2, 2]
    assert many == one
