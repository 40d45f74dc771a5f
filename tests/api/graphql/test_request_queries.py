"""Pairing requests over GraphQL read as over REST: both people of a request, the program's
managers and admins read it; nobody else does, and service clients are refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from app.db.engine import Database
from app.db.models import Program
from tests.api.graphql.reads import API, ask, codes, data, db_id, gid, moment, rest, rest_items
from tests.api.rest.test_pairings import to_matching
from tests.factories import Factory, Person

FIELDS = (
    "id databaseId status message decidedAt createdAt updatedAt version requesterEnrollmentId "
    "requestedEnrollmentId requesterEmployeeId requestedEmployeeId pairingId "
    "program { databaseId } pairing { databaseId }"
)
ROOT = f"""
query($first: Int! = 50, $after: String, $program: ID, $status: RequestStatus) {{
  pairingRequests(first: $first, after: $after, program: $program, status: $status) {{
    nodes {{ {FIELDS} }} pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
ONE = f"query($id: ID!) {{ node(id: $id) {{ ... on PairingRequest {{ {FIELDS} }} }} }}"
MESSAGE = "Would you show me how your team uses Slack huddles?"


@dataclass
class Asked:
    program: Program
    manager: Person
    requester: Person
    requested: Person
    request_id: str


async def asked(client: httpx.AsyncClient, factory: Factory, db: Database) -> Asked:
    """A senior asks a junior in a program that is matching to be their mentor."""
    manager = await factory.person(job_level=8, department="People")
    program = await factory.program(managers=[manager.employee])
    junior = await factory.person(job_level=2)
    senior = await factory.person(job_level=9, department="Finance")
    mentor = await factory.enrollment(junior, program, role="mentor")
    await factory.enrollment(senior, program, role="mentee")
    await to_matching(db, program)
    response = await client.post(
        f"{API}/pairing-requests",
        headers=senior.headers,
        json={"requested_enrollment_id": str(mentor.id), "message": MESSAGE},
    )
    assert response.status_code == 201, response.text
    return Asked(program, manager, senior, junior, str(response.json()["id"]))


def as_rest(node: dict[str, Any]) -> dict[str, Any]:
    pairing = node["pairingId"]
    return {
        "id": node["databaseId"],
        "program_id": node["program"]["databaseId"],
        "requester_enrollment_id": db_id(node["requesterEnrollmentId"]),
        "requested_enrollment_id": db_id(node["requestedEnrollmentId"]),
        "requester_employee_id": db_id(node["requesterEmployeeId"]),
        "requested_employee_id": db_id(node["requestedEmployeeId"]),
        "status": node["status"].lower(),
        "message": node["message"],
        "pairing_id": None if pairing is None else db_id(pairing),
        "decided_at": None if node["decidedAt"] is None else moment(node["decidedAt"]),
        "created_at": moment(node["createdAt"]),
        "updated_at": moment(node["updatedAt"]),
        "version": node["version"],
    }


def rest_fields(item: dict[str, Any]) -> dict[str, Any]:
    out = dict(item)
    for key in ("decided_at", "created_at", "updated_at"):
        out[key] = None if item[key] is None else moment(item[key])
    return out


async def test_both_people_and_the_program_team_read_what_rest_shows_them(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    a = await asked(client, factory, db)
    b = await asked(client, factory, db)
    admin = await factory.admin()
    expected = {
        "requester": (a.requester, [a.request_id]),
        "requested": (a.requested, [a.request_id]),
        "manager": (a.manager, [a.request_id]),
        "admin": (admin, [a.request_id, b.request_id]),
        "other manager": (b.manager, [b.request_id]),
        "stranger": (await factory.person(), []),
    }
    for name, (who, ids) in expected.items():
        nodes = (await data(client, who, ROOT))["pairingRequests"]["nodes"]
        items = await rest_items(client, who, "/pairing-requests")
        assert [as_rest(n) for n in nodes] == [rest_fields(i) for i in items], name
        assert [n["databaseId"] for n in nodes] == ids, name
        one = (await data(client, who, ONE, id=gid("PairingRequest", a.request_id)))["node"]
        got = await rest(client, who, f"/pairing-requests/{a.request_id}")
        if a.request_id in ids:
            assert as_rest(one) == rest_fields(got.json()), name
        else:
            assert got.status_code == 404, name
            assert one is None, name
    assert MESSAGE not in str(await ask(client, expected["stranger"][0], ROOT))


async def test_filters_and_an_accepted_request_match_rest(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    a = await asked(client, factory, db)
    url = f"{API}/pairing-requests/{a.request_id}"
    tag = (await client.get(url, headers=a.requested.headers)).headers["etag"]
    accepted = await client.post(f"{url}/accept", headers={**a.requested.headers, "If-Match": tag})
    assert accepted.status_code == 200, accepted.text
    await asked(client, factory, db)
    admin = await factory.admin()

    async def ids(**variables: Any) -> list[str]:
        nodes = (await data(client, admin, ROOT, **variables))["pairingRequests"]["nodes"]
        return [n["databaseId"] for n in nodes]

    async def rest_ids(**params: Any) -> list[str]:
        return [i["id"] for i in await rest_items(client, admin, "/pairing-requests", **params)]

    assert await ids(status="ACCEPTED") == await rest_ids(status="accepted") == [a.request_id]
    assert await ids(program=gid("Program", a.program.id)) == await rest_ids(
        program_id=str(a.program.id)
    )
    node = (await data(client, a.requester, ONE, id=gid("PairingRequest", a.request_id)))["node"]
    assert node["status"] == "ACCEPTED"
    assert node["pairing"]["databaseId"] == accepted.json()["pairing_id"]


async def test_service_clients_are_refused(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    a = await asked(client, factory, db)
    reader = await factory.service("read")
    assert (await rest(client, reader, "/pairing-requests")).status_code == 403
    body = await ask(client, reader, ROOT)
    assert body["data"] is None
    assert codes(body) == ["forbidden"]
    assert (await rest(client, reader, f"/pairing-requests/{a.request_id}")).status_code == 404
    assert await data(client, reader, ONE, id=gid("PairingRequest", a.request_id)) == {"node": None}
