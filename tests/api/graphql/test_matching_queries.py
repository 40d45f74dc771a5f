"""Matching runs over GraphQL read as over REST: the program's managers and admins read each
run's proposals (score and explanation) and the people left unmatched (with reasons); anyone
else is refused (REST's 403 is a `forbidden` error), as long as they may see the program."""

from __future__ import annotations

from typing import Any

import httpx

from app.db.engine import Database
from tests.api.graphql.reads import ask, codes, data, db_id, gid, moment, rest, statements
from tests.api.rest.test_pairings import cohort, run_matching
from tests.factories import Factory

PROPOSAL = (
    "mentorEnrollmentId menteeEnrollmentId mentorEmployeeId menteeEmployeeId score "
    "explanation { criterion value weight text } pairingId"
)
FIELDS = (
    "id databaseId status dryRun onlyUnmatched priority minScore startedAt finishedAt "
    f"timingsMs totalScore proposals {{ {PROPOSAL} }} "
    "unmatched { enrollmentId employeeId role reason } error createdAt version"
)
OF_PROGRAM = f"""
query($id: ID!, $first: Int! = 50, $after: String) {{ node(id: $id) {{ ... on Program {{
  matchingRuns(first: $first, after: $after) {{
    nodes {{ {FIELDS} program {{ databaseId }} }} pageInfo {{ hasNextPage endCursor }}
  }}
}} }} }}"""
ONE = f"query($id: ID!) {{ node(id: $id) {{ ... on MatchingRun {{ {FIELDS} }} }} }}"


def optional_id(value: str | None) -> str | None:
    return None if value is None else db_id(value)


def as_rest(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node["databaseId"],
        "status": node["status"],
        "dry_run": node["dryRun"],
        "only_unmatched": node["onlyUnmatched"],
        "priority": node["priority"],
        "min_score": node["minScore"],
        "started_at": moment(node["startedAt"]),
        "finished_at": moment(node["finishedAt"]),
        "timings_ms": node["timingsMs"],
        "total_score": node["totalScore"],
        "proposals": [
            {
                "mentor_enrollment_id": db_id(p["mentorEnrollmentId"]),
                "mentee_enrollment_id": db_id(p["menteeEnrollmentId"]),
                "mentor_employee_id": db_id(p["mentorEmployeeId"]),
                "mentee_employee_id": db_id(p["menteeEmployeeId"]),
                "score": p["score"],
                "explanation": p["explanation"],
                "pairing_id": optional_id(p["pairingId"]),
            }
            for p in node["proposals"]
        ],
        "unmatched": [
            {
                "enrollment_id": db_id(u["enrollmentId"]),
                "employee_id": db_id(u["employeeId"]),
                "role": u["role"],
                "reason": u["reason"],
            }
            for u in node["unmatched"]
        ],
        "error": node["error"],
        "created_at": moment(node["createdAt"]),
        "version": node["version"],
    }


def rest_fields(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k != "program_id"}
    for key in ("started_at", "finished_at", "created_at"):
        out[key] = moment(item[key])
    return out


async def matched(client: httpx.AsyncClient, factory: Factory, db: Database) -> dict[str, Any]:
    """A cohort of two mentors and three mentees: a dry run, then a real run (one mentee is
    left unmatched)."""
    c = await cohort(factory, db, mentees=3)
    await run_matching(client, c["pm"].headers, c["program"].id, dry_run=True)
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    assert run["status"] == "succeeded", run
    return {**c, "run": run}


async def test_managers_and_admins_read_the_runs_rest_shows_them(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    c = await matched(client, factory, db)
    program = c["program"]
    for who in (c["pm"], c["admin"]):
        nodes = (await data(client, who, OF_PROGRAM, id=gid("Program", program.id)))["node"][
            "matchingRuns"
        ]["nodes"]
        listed = await rest(client, who, f"/programs/{program.id}/matching-runs")
        assert listed.status_code == 200, listed.text
        assert [as_rest(n) for n in nodes] == [rest_fields(i) for i in listed.json()["items"]]
        assert [n["dryRun"] for n in nodes] == [False, True]  # newest first
        assert {n["program"]["databaseId"] for n in nodes} == {str(program.id)}
        real = nodes[0]
        assert len(real["proposals"]) == 2
        assert all(p["explanation"] and 0 < p["score"] <= 100 for p in real["proposals"])
        assert [u["role"] for u in real["unmatched"]] == ["mentee"]
        assert real["unmatched"][0]["reason"]
        one = (await data(client, who, ONE, id=real["id"]))["node"]
        got = await rest(client, who, f"/matching-runs/{real['databaseId']}")
        assert as_rest(one) == rest_fields(got.json())


async def test_nobody_else_reads_matching_runs(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    c = await matched(client, factory, db)
    program, run_id = c["program"], c["run"]["id"]
    other = await factory.paired()
    outsiders = [
        c["mentors"][0],
        c["mentees"][0],
        other.manager,
        await factory.person(),
        await factory.service("read"),
    ]
    for who in outsiders:
        assert (await rest(client, who, f"/programs/{program.id}/matching-runs")).status_code == 403
        assert (await rest(client, who, f"/matching-runs/{run_id}")).status_code == 403
        body = await ask(client, who, OF_PROGRAM, id=gid("Program", program.id))
        assert body["data"]["node"] == {"matchingRuns": None}
        assert codes(body) == ["forbidden"]
        one = await ask(client, who, ONE, id=gid("MatchingRun", run_id))
        assert one["data"] == {"node": None}
        assert codes(one) == ["forbidden"]
        assert c["run"]["proposals"][0]["mentor_employee_id"] not in str([body, one])


async def test_runs_page_newest_first(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    c = await matched(client, factory, db)
    program = c["program"]
    seen: list[str] = []
    after = None
    while True:
        page = (
            await data(
                client, c["pm"], OF_PROGRAM, id=gid("Program", program.id), first=1, after=after
            )
        )["node"]["matchingRuns"]
        seen += [n["databaseId"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    listed = await rest(client, c["pm"], f"/programs/{program.id}/matching-runs")
    assert seen == [i["id"] for i in listed.json()["items"]]


NESTED = (
    "{ programs(first: 20) { nodes { matchingRuns(first: 10) { nodes { id status "
    "proposals { score pairing { databaseId } } unmatched { reason } } } } } }"
)


async def test_runs_of_many_programs_cost_the_statements_of_one(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    admin = await factory.admin()
    await matched(client, factory, db)
    one = await statements(client, db, admin, NESTED)
    for _ in range(2):
        await matched(client, factory, db)
    many = await statements(client, db, admin, NESTED)
    programs = (await data(client, admin, NESTED))["programs"]["nodes"]
    assert [len(p["matchingRuns"]["nodes"]) for p in programs] == [2, 2, 2]
    assert many == one
