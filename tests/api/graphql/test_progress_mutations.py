"""Life in a pairing through GraphQL mutations: check-ins with private notes, feedback,
concerns handled by the program team, goal comments, partner requests, blocks and a matching
run — each read back over REST, with what must stay private staying private."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from app.db.types import utcnow
from tests.api.graphql.reads import ask, data, db_id, gid
from tests.factories import Factory

API = "/api/v1"


async def test_check_in_private_note_and_feedback(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=10)
    pairing = gid("Pairing", paired.pairing.id)
    logged = (
        await data(
            client,
            paired.mentee,
            """mutation($p: ID!, $input: LogCheckInInput!) {
              logCheckIn(pairing: $p, input: $input) {
                id databaseId sharedNotes privateNote version } }""",
            p=pairing,
            input={
                "metOn": (utcnow() - timedelta(days=2)).date().isoformat(),
                "durationMinutes": 45,
                "mode": "VIDEO",
                "sharedNotes": "Prompt writing for the board pack",
                "privateNote": "I was nervous about asking basic questions",
            },
        )
    )["logCheckIn"]
    assert logged["privateNote"] == "I was nervous about asking basic questions"

    # The partner reads the shared notes, never the private note; the team reads neither.
    seen = """query($id: ID!) { node(id: $id) { ... on CheckIn { sharedNotes privateNote } } }"""
    partner = (await data(client, paired.mentor, seen, id=logged["id"]))["node"]
    assert partner == {"sharedNotes": "Prompt writing for the board pack", "privateNote": None}
    team = (await data(client, paired.manager, seen, id=logged["id"]))["node"]
    assert team == {"sharedNotes": None, "privateNote": None}

    rewritten = (
        await data(
            client,
            paired.mentee,
            """mutation($id: ID!) {
              putPrivateNote(checkIn: $id, body: "Less nervous now") { privateNote } }""",
            id=logged["id"],
        )
    )["putPrivateNote"]
    assert rewritten["privateNote"] == "Less nervous now"
    rest = await client.get(
        f"{API}/check-ins/{logged['databaseId']}/private-note", headers=paired.mentee.headers
    )
    assert rest.json()["body"] == "Less nervous now"
    deleted = (
        await data(
            client,
            paired.mentee,
            "mutation($id: ID!) { deletePrivateNote(checkIn: $id) { privateNote } }",
            id=logged["id"],
        )
    )["deletePrivateNote"]
    assert deleted["privateNote"] is None

    given = (
        await data(
            client,
            paired.mentor,
            """mutation($p: ID!, $input: GiveFeedbackInput!) {
              giveFeedback(pairing: $p, input: $input) { comment ratings { value } } }""",
            p=pairing,
            input={
                "kind": "CHECK_IN",
                "checkIn": logged["id"],
                "ratings": {"value": 5, "mutualRespect": 5, "psychologicalSafety": 4, "clarity": 4},
                "comment": "Great questions today",
                "commentVisibility": "PARTNER",
            },
        )
    )["giveFeedback"]
    assert given == {"comment": "Great questions today", "ratings": {"value": 5}}
    listed = await client.get(
        f"{API}/pairings/{paired.pairing.id}/feedback", headers=paired.mentee.headers
    )
    assert [f["comment"] for f in listed.json()["items"]] == ["Great questions today"]


async def test_a_concern_is_handled_by_the_team_and_never_seen_by_the_partner(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=10)
    raised = (
        await data(
            client,
            paired.mentee,
            """mutation($p: ID!) { raiseConcern(pairing: $p, input: {category: PATRONISED,
              description: "My mentor talks down to me"}) { id databaseId status version } }""",
            p=gid("Pairing", paired.pairing.id),
        )
    )["raiseConcern"]
    assert raised["status"] == "OPEN"

    # The partner's view of the pairing's concerns is the same as if none had been raised.
    none = await data(
        client,
        paired.mentor,
        """query($p: ID!) { node(id: $p) { ... on Pairing { concerns { nodes { id } } } }
          concerns { nodes { id } } }""",
        p=gid("Pairing", paired.pairing.id),
    )
    assert none == {"node": {"concerns": {"nodes": []}}, "concerns": {"nodes": []}}
    body = await ask(
        client,
        paired.mentor,
        "query($id: ID!) { node(id: $id) { id } }",
        id=raised["id"],
    )
    assert body["data"]["node"] is None

    acknowledged = (
        await data(
            client,
            paired.manager,
            """mutation($id: ID!, $v: Int!) {
              acknowledgeConcern(id: $id, expectedVersion: $v) { status version } }""",
            id=raised["id"],
            v=raised["version"],
        )
    )["acknowledgeConcern"]
    ended = (
        await data(
            client,
            paired.manager,
            """mutation($id: ID!, $v: Int!) {
              endPairingOverConcern(id: $id, expectedVersion: $v,
                resolution: "Spoke to both; rematching") {
                status pairingEnded resolution pairing { state } } }""",
            id=raised["id"],
            v=acknowledged["version"],
        )
    )["endPairingOverConcern"]
    assert ended["pairingEnded"] is True
    assert ended["pairing"]["state"] == "ENDED"
    assert ended["resolution"] == "Spoke to both; rematching"
    # The raiser learns it is resolved, not the team's words.
    mine = await client.get(f"{API}/concerns/{raised['databaseId']}", headers=paired.mentee.headers)
    assert mine.json()["resolution"] is None
    # The partner sees only that the pairing ended.
    seen = await client.get(f"{API}/pairings/{paired.pairing.id}", headers=paired.mentor.headers)
    assert seen.json()["state"] == "ended"
    assert "talks down" not in seen.text


async def test_goal_comments_requests_and_blocks(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired()
    goal = (
        await data(
            client,
            paired.mentee,
            """mutation($p: ID!) { createGoal(pairing: $p, input: {title: "Teams etiquette"}) {
              id } }""",
            p=gid("Pairing", paired.pairing.id),
        )
    )["createGoal"]
    comment = (
        await data(
            client,
            paired.mentor,
            """mutation($g: ID!) { addGoalComment(goal: $g, body: "Try channels first") {
              body author { displayName } } }""",
            g=goal["id"],
        )
    )["addGoalComment"]
    assert comment["body"] == "Try channels first"

    # A participant asks another for a pairing once the program is matching; it is declined.
    manager = await factory.person(job_level=8)
    program = await factory.program(managers=[manager.employee])
    junior = await factory.person(job_level=2)
    senior = await factory.person(job_level=10)
    await factory.enrollment(junior, program, role="mentor")
    wanted = await factory.enrollment(senior, program, role="mentee")
    await data(
        client,
        manager,
        """mutation($id: ID!, $v: Int!) {
          transitionProgram(id: $id, expectedVersion: $v, to: MATCHING) { status } }""",
        id=gid("Program", program.id),
        v=program.version,
    )
    request = (
        await data(
            client,
            junior,
            """mutation($e: ID!) { createPairingRequest(requestedEnrollment: $e,
              message: "Could I show you our Slack setup?") { id status version } }""",
            e=gid("Enrollment", wanted.id),
        )
    )["createPairingRequest"]
    assert request["status"] == "PENDING"
    declined = (
        await data(
            client,
            senior,
            """mutation($id: ID!, $v: Int!) {
              declinePairingRequest(id: $id, expectedVersion: $v) { status } }""",
            id=request["id"],
            v=request["version"],
        )
    )["declinePairingRequest"]
    assert declined["status"] == "DECLINED"

    blocked = (
        await data(
            client,
            senior,
            """mutation($e: ID!) { blockEmployee(employee: $e) { id blockedEmployeeId } }""",
            e=gid("Employee", junior.id),
        )
    )["blockEmployee"]
    assert db_id(blocked["blockedEmployeeId"]) == str(junior.id)
    listed = (await data(client, senior, "{ blocks { nodes { id } } }"))["blocks"]["nodes"]
    assert [b["id"] for b in listed] == [blocked["id"]]
    # The blocked person never learns of it.
    assert (await data(client, junior, "{ blocks { nodes { id } } }"))["blocks"]["nodes"] == []
    removed = (
        await data(
            client, senior, "mutation($id: ID!) { removeBlock(id: $id) { id } }", id=blocked["id"]
        )
    )["removeBlock"]
    assert removed["id"] == blocked["id"]
    assert (await data(client, senior, "{ blocks { nodes { id } } }"))["blocks"]["nodes"] == []


async def test_a_matching_run_started_over_graphql_runs_and_proposes(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    manager = await factory.person(job_level=8, department="People")
    program = await factory.program(managers=[manager.employee])
    for level, role in ((2, "mentor"), (9, "mentee")):
        person = await factory.person(job_level=level, department="Sales" if level > 5 else "IT")
        await factory.enrollment(person, program, role=role)
    started = (
        await data(
            client,
            manager,
            """mutation($p: ID!) { startMatchingRun(program: $p, input: {dryRun: true}) {
              id status dryRun } }""",
            p=gid("Program", program.id),
        )
    )["startMatchingRun"]
    assert started["dryRun"] is True
    run: dict[str, Any] = {}
    for _ in range(100):
        run = (
            await data(
                client,
                manager,
                """query($id: ID!) { node(id: $id) { ... on MatchingRun {
                  status proposals { score explanation { criterion } } } } }""",
                id=started["id"],
            )
        )["node"]
        if run["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.05)
    assert run["status"] == "succeeded", run
    assert len(run["proposals"]) == 1
    assert run["proposals"][0]["explanation"]
