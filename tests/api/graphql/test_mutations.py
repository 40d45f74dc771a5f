"""GraphQL mutations run the same workflows as REST, through the same domain services: a
program's life from draft to a live pairing with goals, with REST reading back every change,
and the same refusals (stale versions, bad input, forbidden steps) as the REST API gives."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from app.db.engine import Database
from app.db.models import AuditEvent
from tests.api.graphql.reads import gid
from tests.factories import Factory, Person


async def gql(
    client: httpx.AsyncClient, who: Person, query: str, **variables: Any
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=who.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data_of(body: dict[str, Any]) -> Any:
    assert "errors" not in body, body["errors"]
    return body["data"]


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    return error


CREATE_PROGRAM = """
mutation($input: CreateProgramInput!) {
  createProgram(input: $input) { id databaseId name status version managerIds
    matching { minLevelGap priority weights } }
}"""
TRANSITION = """
mutation($id: ID!, $v: Int!, $to: ProgramStatus!) {
  transitionProgram(id: $id, expectedVersion: $v, to: $to) { status version groundRulesVersion }
}"""
ENROLL = """
mutation($program: ID!, $input: EnrollInput!) {
  enroll(program: $program, input: $input) { id databaseId role status canTeach version }
}"""
PAIR = """
mutation($input: CreatePairingInput!) {
  createPairing(input: $input) { id databaseId state version justification
    mentor { displayName } mentee { displayName } }
}"""
ACCEPT = """
mutation($id: ID!, $v: Int!) { acceptPairing(id: $id, expectedVersion: $v) { state version } }
"""


async def _program_with_pairing(
    client: httpx.AsyncClient, factory: Factory
) -> tuple[Person, Person, Person, Person, dict[str, Any]]:
    admin = await factory.admin()
    manager = await factory.person(job_level=8, department="People")
    mentor = await factory.person(job_level=2, department="Engineering")
    mentee = await factory.person(job_level=9, department="Finance")
    created = data_of(
        await gql(
            client,
            admin,
            CREATE_PROGRAM,
            input={
                "name": "AI tools for leaders",
                "focusAreas": ["technology_adoption"],
                "groundRules": "What is said stays between you.",
                "managerIds": [gid("Employee", manager.id)],
                "matching": {"minLevelGap": 3},
            },
        )
    )["createProgram"]
    assert created["status"] == "DRAFT"
    assert created["matching"]["minLevelGap"] == 3
    assert created["managerIds"] == [gid("Employee", manager.id)]
    program_id = created["id"]
    moved = data_of(
        await gql(client, manager, TRANSITION, id=program_id, v=created["version"], to="ENROLLING")
    )["transitionProgram"]
    assert moved["status"] == "ENROLLING"
    enrollments = {}
    for person, role, topics in (
        (mentor, "MENTOR", "canTeach"),
        (mentee, "MENTEE", "wantsToLearn"),
    ):
        enrolled = data_of(
            await gql(
                client,
                person,
                ENROLL,
                program=program_id,
                input={
                    "role": role,
                    "acceptedGroundRulesVersion": moved["groundRulesVersion"],
                    topics: ["AI tools"],
                    "availability": [{"day": "tue", "start": "09:00", "end": "11:00"}],
                },
            )
        )["enroll"]
        enrollments[role] = enrolled
    moved = data_of(
        await gql(client, manager, TRANSITION, id=program_id, v=moved["version"], to="MATCHING")
    )["transitionProgram"]
    paired = data_of(
        await gql(
            client,
            manager,
            PAIR,
            input={
                "program": program_id,
                "mentorEnrollment": enrollments["MENTOR"]["id"],
                "menteeEnrollment": enrollments["MENTEE"]["id"],
                "justification": "They asked to work together",
            },
        )
    )["createPairing"]
    assert paired["state"] == "PROPOSED"
    return admin, manager, mentor, mentee, paired


async def test_a_program_runs_from_draft_to_a_live_pairing_through_graphql(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    _, _, mentor, mentee, paired = await _program_with_pairing(client, factory)
    pairing_id = paired["databaseId"]
    # The program team reads the justification; the members never do.
    assert paired["justification"] == "They asked to work together"
    version = paired["version"]
    for member in (mentor, mentee):
        accepted = data_of(await gql(client, member, ACCEPT, id=paired["id"], v=version))
        version = accepted["acceptPairing"]["version"]
    assert accepted["acceptPairing"]["state"] == "ACTIVE"

    # REST reads what GraphQL did.
    rest = await client.get(f"/api/v1/pairings/{pairing_id}", headers=mentee.headers)
    assert rest.status_code == 200
    assert rest.json()["state"] == "active"
    assert rest.json()["justification"] is None
    assert rest.headers["etag"] == f'"v{version}"'
    # And the audit log holds the same entries REST writes, with the actor.
    async with db.session() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(col(AuditEvent.entity_id) == uuid.UUID(pairing_id))
            )
        )
    assert actions.count("pairing.accepted") == 2


async def test_goals_and_milestones_through_graphql(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired()
    pairing = gid("Pairing", paired.pairing.id)
    created = data_of(
        await gql(
            client,
            paired.mentee,
            """mutation($p: ID!, $input: CreateGoalInput!) {
              createGoal(pairing: $p, input: $input) {
                id databaseId title status ownerRole version milestones { id title done } } }""",
            p=pairing,
            input={"title": "Use an AI assistant weekly", "milestones": [{"title": "Install it"}]},
        )
    )["createGoal"]
    assert created["ownerRole"] == "MENTEE"
    assert created["milestones"][0]["done"] is False
    ticked = data_of(
        await gql(
            client,
            paired.mentee,
            """mutation($g: ID!, $m: ID!, $v: Int!) {
              setMilestone(goal: $g, milestone: $m, expectedVersion: $v, done: true) {
                version milestones { done } } }""",
            g=created["id"],
            m=created["milestones"][0]["id"],
            v=created["version"],
        )
    )["setMilestone"]
    assert ticked["milestones"][0]["done"] is True
    updated = data_of(
        await gql(
            client,
            paired.mentee,
            """mutation($id: ID!, $v: Int!, $input: UpdateGoalInput!) {
              updateGoal(id: $id, expectedVersion: $v, input: $input) {
                title status progress } }""",
            id=created["id"],
            v=ticked["version"],
            input={"status": "ACHIEVED"},
        )
    )["updateGoal"]
    # Only the status was sent: the title stays, and achieving fills the progress (as REST).
    assert updated == {"title": "Use an AI assistant weekly", "status": "ACHIEVED", "progress": 100}
    rest = await client.get(f"/api/v1/goals/{created['databaseId']}", headers=paired.mentor.headers)
    assert rest.json()["status"] == "achieved"
    assert rest.json()["milestones"][0]["done"] is True


async def test_a_stale_version_is_refused_like_a_stale_if_match(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(state="proposed")
    body = await gql(
        client,
        paired.mentor,
        ACCEPT,
        id=gid("Pairing", paired.pairing.id),
        v=paired.pairing.version + 5,
    )
    error = error_of(body)
    assert error["extensions"]["code"] == "precondition-failed"
    assert error["extensions"]["current_version"] == paired.pairing.version
    assert body["data"] is None
    rest = await client.get(f"/api/v1/pairings/{paired.pairing.id}", headers=paired.mentor.headers)
    assert rest.json()["mentor"]["accepted_at"] is None  # nothing changed


async def test_bad_input_is_a_validation_error_naming_the_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    body = await gql(
        client,
        admin,
        CREATE_PROGRAM,
        input={
            "name": "x",
            "meetingCadenceDays": 400,
            "startsOn": "2027-03-01",
            "endsOn": "2027-01-01",
        },
    )
    error = error_of(body)
    assert error["extensions"]["code"] == "validation-error"
    fields = {e["field"] for e in error["extensions"]["errors"]}
    assert "meetingCadenceDays" in fields
    assert (await client.get("/api/v1/programs", headers=admin.headers)).json()["items"] == []


async def test_forbidden_steps_are_refused_as_in_rest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    participant = await factory.person()
    body = await gql(client, participant, CREATE_PROGRAM, input={"name": "Mine"})
    assert error_of(body)["extensions"]["code"] == "forbidden"
    rest = await client.post("/api/v1/programs", json={"name": "Mine"}, headers=participant.headers)
    assert rest.status_code == 403
    assert rest.json()["type"].endswith(":forbidden")

    # A pairing the caller cannot see does not exist for them (404 in REST, not-found here).
    paired = await factory.paired(state="proposed")
    body = await gql(client, participant, ACCEPT, id=gid("Pairing", paired.pairing.id), v=1)
    assert error_of(body)["extensions"]["code"] == "not-found"

    # An id of another type is invalid input, not a lookup.
    body = await gql(client, paired.mentor, ACCEPT, id=gid("Program", paired.program.id), v=1)
    assert error_of(body)["extensions"]["code"] == "invalid-input"


async def test_end_pairing_keeps_the_note_with_the_program_team(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired()
    ended = data_of(
        await gql(
            client,
            paired.mentor,
            """mutation($id: ID!, $v: Int!) {
              endPairing(id: $id, expectedVersion: $v, reason: WORKLOAD, note: "Too much on") {
                state endReason endNote } }""",
            id=gid("Pairing", paired.pairing.id),
            v=paired.pairing.version,
        )
    )["endPairing"]
    # The member who ended it reads back what a member may: not the team's fields.
    assert ended == {"state": "ENDED", "endReason": None, "endNote": None}
    seen = data_of(
        await gql(
            client,
            paired.manager,
            "query($id: ID!) { node(id: $id) { ... on Pairing { endReason endNote endedBy } } }",
            id=gid("Pairing", paired.pairing.id),
        )
    )["node"]
    assert seen == {"endReason": "workload", "endNote": "Too much on", "endedBy": "mentor"}


async def test_enrollment_change_and_withdrawal(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    program = await factory.program()
    person = await factory.person(job_level=2)
    enrollment = await factory.enrollment(person, program, role="mentor")
    enrollment_id = gid("Enrollment", enrollment.id)
    changed = data_of(
        await gql(
            client,
            person,
            """mutation($id: ID!, $v: Int!, $input: UpdateEnrollmentInput!) {
              updateEnrollment(id: $id, expectedVersion: $v, input: $input) {
                canTeach motivation version } }""",
            id=enrollment_id,
            v=enrollment.version,
            input={"motivation": "I use these tools every day"},
        )
    )["updateEnrollment"]
    assert changed["motivation"] == "I use these tools every day"
    assert changed["canTeach"] == ["AI tools", "Slack"]  # not sent, kept
    withdrawn = data_of(
        await gql(
            client,
            person,
            """mutation($id: ID!, $v: Int!) {
              withdrawEnrollment(id: $id, expectedVersion: $v, reason: "No time") { status } }""",
            id=enrollment_id,
            v=changed["version"],
        )
    )["withdrawEnrollment"]
    assert withdrawn["status"] == "WITHDRAWN"
