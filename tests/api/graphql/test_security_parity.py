"""The REST security matrices, run against GraphQL: every cell whose route has a GraphQL
equivalent is asked again through ``/graphql`` and must end the same way.

The scenarios and expected outcomes are the REST matrices' own (``tests/api/rest``); this module
only says how each REST request is asked in GraphQL. Outcomes compare as REST status classes:
a success is data without errors; a refusal is an error whose ``extensions.status`` is the
REST status (403 forbidden, 404 not found, 409 conflict, 422 rule or validation); a record the
actor may not see is ``null`` (GraphQL's 404), and a missing credential is an HTTP 401. Lists
return the same records as REST, and a refused request changes nothing.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.db.engine import Database
from app.db.models import metadata
from tests.api.graphql.reads import gid
from tests.api.rest import test_security_matrix as core
from tests.api.rest import test_security_matrix_pairings as pairings
from tests.api.rest import test_security_matrix_progress as progress
from tests.api.rest.test_security_matrix import Cell, Scenario, fingerprint

Variables = Callable[[Scenario], dict[str, Any]]


def gid_in(value: uuid.UUID, variables: dict[str, Any]) -> bool:
    """Whether a request's variables name this record (by a global id of any type)."""
    text = repr(variables)
    return any(
        base64.b64encode(f"{name}:{value}".encode()).decode() in text
        for name in ("Concern", "Pairing", "CheckIn", "Goal", "Program", "Employee")
    )


@dataclass(frozen=True)
class Ask:
    """How one REST request is asked in GraphQL. ``path`` leads from ``data`` to the answer;
    with ``items`` the answer is a connection whose nodes are compared with REST's list."""

    query: str
    variables: Variables
    path: tuple[str, ...]
    items: bool = False
    #: REST refusals that GraphQL answers with ``null`` at ``path`` (a field the actor has
    #: nothing in, rather than a resource they are refused).
    hidden: frozenset[int] = frozenset({404})
    #: Cells where GraphQL ends differently, by actor, and why (see the row).
    differs: tuple[tuple[str, int], ...] = ()


def node(type_name: str, record: str) -> Variables:
    return lambda s: {"id": gid(type_name, s.ids[record])}


def change(type_name: str, record: str, **extra: Any) -> Variables:
    def variables(s: Scenario) -> dict[str, Any]:
        return {"id": gid(type_name, s.ids[record]), "v": s.versions[record], **extra}

    return variables


NODE = "query($id: ID!) { node(id: $id) { id } }"
LIST = "{ %s(first: 100) { nodes { databaseId } } }"


def nested_list(type_name: str, field: str) -> str:
    selection = f"{field}(first: 100) {{ nodes {{ databaseId }} }}"
    return f"query($id: ID!) {{ node(id: $id) {{ ... on {type_name} {{ {selection} }} }} }}"


UPDATE_EMPLOYEE = """mutation($id: ID!, $v: Int!, $input: UpdateEmployeeInput!) {
  updateEmployee(id: $id, expectedVersion: $v, input: $input) { id } }"""
UPDATE_PROGRAM = """mutation($id: ID!, $v: Int!, $input: UpdateProgramInput!) {
  updateProgram(id: $id, expectedVersion: $v, input: $input) { id } }"""
REQUEST_CHANGE = """mutation($id: ID!, $v: Int!) {
  ACTIONPairingRequest(id: $id, expectedVersion: $v) { id } }"""
START_RUN = """mutation($id: ID!) {
  startMatchingRun(program: $id, input: {dryRun: true}) { id } }"""
PAIRING_CHANGE = "mutation($id: ID!, $v: Int!) { %sPairing(id: $id, expectedVersion: $v) { id } }"

CORE: dict[str, Ask] = {
    "GET /employees": Ask(LIST % "employees", lambda s: {}, ("employees",), items=True),
    "POST /employees": Ask(
        """mutation($input: CreateEmployeeInput!) { createEmployee(input: $input) { id } }""",
        lambda s: {
            "input": {
                "email": "new.hire@example.com",
                "givenName": "Ada",
                "familyName": "Newhire",
                "jobLevel": 2,
            }
        },
        ("createEmployee",),
    ),
    "POST /employees +is_admin": Ask(
        """mutation($input: CreateEmployeeInput!) { createEmployee(input: $input) { id } }""",
        lambda s: {
            "input": {
                "email": "new.admin@example.com",
                "givenName": "Ida",
                "familyName": "Admin",
                "jobLevel": 6,
                "isAdmin": True,
            }
        },
        ("createEmployee",),
    ),
    "GET /employees/{subject}": Ask(NODE, node("Employee", "subject"), ("node",)),
    "PATCH /employees/{subject}": Ask(
        UPDATE_EMPLOYEE,
        change("Employee", "subject", input={"jobTitle": "Staff Engineer"}),
        ("updateEmployee",),
    ),
    "PATCH /employees/{subject} +is_admin": Ask(
        UPDATE_EMPLOYEE, change("Employee", "subject", input={"isAdmin": True}), ("updateEmployee",)
    ),
    "POST /employees/{subject}/deactivate": Ask(
        "mutation($id: ID!, $v: Int!) { deactivateEmployee(id: $id, expectedVersion: $v) { id } }",
        change("Employee", "subject"),
        ("deactivateEmployee",),
    ),
    "GET /employees/{subject}/management-chain": Ask(
        "query($id: ID!) { managementChain(employee: $id) { id } }",
        node("Employee", "subject"),
        ("managementChain",),
    ),
    "GET /programs": Ask(LIST % "programs", lambda s: {}, ("programs",), items=True),
    "POST /programs": Ask(
        'mutation { createProgram(input: {name: "Leadership perspectives 2026"}) { id } }',
        lambda s: {},
        ("createProgram",),
    ),
    "GET /programs/{program_a}": Ask(NODE, node("Program", "program_a"), ("node",)),
    "GET /programs/{draft_a}": Ask(NODE, node("Program", "draft_a"), ("node",)),
    "PATCH /programs/{program_a}": Ask(
        UPDATE_PROGRAM,
        change("Program", "program_a", input={"description": "Now with Teams etiquette."}),
        ("updateProgram",),
    ),
    "PATCH /programs/{program_a} +manager_ids": Ask(
        UPDATE_PROGRAM,
        lambda s: change(
            "Program",
            "program_a",
            input={"managerIds": [gid("Employee", s.ids["pm_a"]), gid("Employee", s.ids["pm_b"])]},
        )(s),
        ("updateProgram",),
    ),
    "PATCH /programs/{draft_a}": Ask(
        UPDATE_PROGRAM,
        change("Program", "draft_a", input={"description": "Still being planned."}),
        ("updateProgram",),
    ),
    "POST /programs/{program_a}/transitions": Ask(
        """mutation($id: ID!, $v: Int!) {
          transitionProgram(id: $id, expectedVersion: $v, to: MATCHING) { id } }""",
        change("Program", "program_a"),
        ("transitionProgram",),
    ),
    "GET /programs/{program_a}/enrollments": Ask(
        nested_list("Program", "enrollments"),
        node("Program", "program_a"),
        ("node", "enrollments"),
        items=True,
    ),
    "GET /programs/{draft_a}/enrollments": Ask(
        nested_list("Program", "enrollments"),
        node("Program", "draft_a"),
        ("node", "enrollments"),
        items=True,
    ),
    "POST /programs/{program_a}/enrollments": Ask(
        """mutation($id: ID!, $input: EnrollInput!) {
          enroll(program: $id, input: $input) { id } }""",
        lambda s: {
            "id": gid("Program", s.ids["program_a"]),
            "input": {
                "role": "MENTEE",
                "acceptedGroundRulesVersion": s.ground_rules_version,
                "wantsToLearn": ["AI tools"],
            },
        },
        ("enroll",),
    ),
    "GET /enrollments/{subject_enrollment}": Ask(
        NODE, node("Enrollment", "subject_enrollment"), ("node",)
    ),
    "PATCH /enrollments/{subject_enrollment}": Ask(
        """mutation($id: ID!, $v: Int!, $input: UpdateEnrollmentInput!) {
          updateEnrollment(id: $id, expectedVersion: $v, input: $input) { id } }""",
        change(
            "Enrollment",
            "subject_enrollment",
            input={"motivation": "I want to understand how my team uses AI tools."},
        ),
        ("updateEnrollment",),
    ),
    "POST /enrollments/{subject_enrollment}/withdraw": Ask(
        """mutation($id: ID!, $v: Int!) {
          withdrawEnrollment(id: $id, expectedVersion: $v) { id } }""",
        change("Enrollment", "subject_enrollment"),
        ("withdrawEnrollment",),
    ),
    "GET /me": Ask("{ viewer { kind } }", lambda s: {}, ("viewer",)),
    "GET /audit-events": Ask(
        "{ auditEvents(first: 100) { nodes { action } } }", lambda s: {}, ("auditEvents",)
    ),
}

PAIRINGS: dict[str, Ask] = {
    "GET /pairings": Ask(LIST % "pairings", lambda s: {}, ("pairings",), items=True),
    "POST /pairings": Ask(
        """mutation($input: CreatePairingInput!) { createPairing(input: $input) { id } }""",
        lambda s: {
            "input": {
                "program": gid("Program", s.ids["program_a"]),
                "mentorEnrollment": gid("Enrollment", s.ids["other_enrollment"]),
                "menteeEnrollment": gid("Enrollment", s.ids["senior_enrollment"]),
                "justification": pairings.JUSTIFICATION,
            }
        },
        ("createPairing",),
    ),
    "GET /pairings/{pairing}": Ask(NODE, node("Pairing", "pairing"), ("node",)),
    "GET /pairings/{declined}": Ask(NODE, node("Pairing", "declined"), ("node",)),
    **{
        f"POST /pairings/{{pairing}}/{action}": Ask(
            PAIRING_CHANGE % action, change("Pairing", "pairing"), (f"{action}Pairing",)
        )
        for action in ("accept", "pause", "resume", "complete")
    },
    "POST /pairings/{pairing}/decline": Ask(
        """mutation($id: ID!, $v: Int!, $reason: String) {
          declinePairing(id: $id, expectedVersion: $v, reason: $reason) { id } }""",
        change("Pairing", "pairing", reason=pairings.DECLINE_REASON),
        ("declinePairing",),
    ),
    "POST /pairings/{pairing}/end": Ask(
        """mutation($id: ID!, $v: Int!, $note: String) {
          endPairing(id: $id, expectedVersion: $v, reason: NOT_A_GOOD_FIT, note: $note) { id } }""",
        change("Pairing", "pairing", note=pairings.END_NOTE),
        ("endPairing",),
    ),
    "GET /programs/{program_a}/matching-runs": Ask(
        nested_list("Program", "matchingRuns"),
        node("Program", "program_a"),
        ("node", "matchingRuns"),
        items=True,
    ),
    "GET /programs/{draft_a}/matching-runs": Ask(
        nested_list("Program", "matchingRuns"),
        node("Program", "draft_a"),
        ("node", "matchingRuns"),
        items=True,
    ),
    "POST /programs/{program_a}/matching-runs": Ask(
        START_RUN, node("Program", "program_a"), ("startMatchingRun",)
    ),
    "POST /programs/{draft_a}/matching-runs": Ask(
        START_RUN, node("Program", "draft_a"), ("startMatchingRun",)
    ),
    "GET /matching-runs/{run}": Ask(NODE, node("MatchingRun", "run"), ("node",)),
    "GET /pairing-requests": Ask(
        LIST % "pairingRequests", lambda s: {}, ("pairingRequests",), items=True
    ),
    "POST /pairing-requests": Ask(
        """mutation($id: ID!, $message: String) {
          createPairingRequest(requestedEnrollment: $id, message: $message) { id } }""",
        lambda s: {
            "id": gid("Enrollment", s.ids["senior_enrollment"]),
            "message": "Could you show me how your team uses Slack?",
        },
        ("createPairingRequest",),
    ),
    "GET /pairing-requests/{request}": Ask(NODE, node("PairingRequest", "request"), ("node",)),
    **{
        f"POST /pairing-requests/{{request}}/{action}": Ask(
            REQUEST_CHANGE.replace("ACTION", action),
            change("PairingRequest", "request"),
            (f"{action}PairingRequest",),
        )
        for action in ("accept", "decline", "withdraw")
    },
    "GET /blocks": Ask(LIST % "blocks", lambda s: {}, ("blocks",), items=True),
    "POST /blocks": Ask(
        "mutation($id: ID!) { blockEmployee(employee: $id) { id } }",
        node("Employee", "senior"),
        ("blockEmployee",),
    ),
    "DELETE /blocks/{block}": Ask(
        "mutation($id: ID!) { removeBlock(id: $id) { id } }",
        node("Block", "block"),
        ("removeBlock",),
    ),
}


def on_pairing(selection: str) -> str:
    return f"query($id: ID!) {{ node(id: $id) {{ ... on Pairing {{ {selection} }} }} }}"


def on(type_name: str, selection: str) -> str:
    return f"query($id: ID!) {{ node(id: $id) {{ ... on {type_name} {{ {selection} }} }} }}"


GOAL_FIELDS = "databaseId title milestones { title done }"
CHECK_IN_FIELDS = "databaseId sharedNotes privateNote"
FEEDBACK_FIELDS = "databaseId comment ratings { value } wouldTakePartAgain"
CONCERN_FIELDS = "databaseId description resolution status"
CONCERN_CHANGE = """mutation($id: ID!, $v: Int!) {
  ACTION(id: $id, expectedVersion: $v%s) { %s } }"""


def concern_change(action: str, extra: str = "") -> str:
    return CONCERN_CHANGE.replace("ACTION", action) % (extra, CONCERN_FIELDS)


def milestone(goal: str, step: str) -> Variables:
    return lambda s: {
        "goal": gid("Goal", s.ids[goal]),
        "m": gid("Milestone", s.ids[step]),
        "v": s.versions[goal],
    }


SET_MILESTONE = """mutation($goal: ID!, $m: ID!, $v: Int!) {
  setMilestone(goal: $goal, milestone: $m, expectedVersion: $v, done: true) { databaseId } }"""
ADD_COMMENT = """mutation($id: ID!) {
  addGoalComment(goal: $id, body: "Second prompt done, board pack next") { databaseId body } }"""

PROGRESS: dict[str, Ask] = {
    "GET /pairings/{pairing}/goals": Ask(
        on_pairing(f"goals(first: 100) {{ nodes {{ {GOAL_FIELDS} }} }}"),
        node("Pairing", "pairing"),
        ("node", "goals"),
        items=True,
    ),
    "POST /pairings/{pairing}/goals": Ask(
        """mutation($id: ID!) { createGoal(pairing: $id, input: {title: "Captions everywhere",
          milestones: [{title: "Switch captions on in the next town hall"}]}) { databaseId } }""",
        node("Pairing", "pairing"),
        ("createGoal",),
    ),
    "GET /goals/{goal}": Ask(on("Goal", GOAL_FIELDS), node("Goal", "goal"), ("node",)),
    "PATCH /goals/{goal}": Ask(
        """mutation($id: ID!, $v: Int!) { updateGoal(id: $id, expectedVersion: $v,
          input: {title: "Learn AI tools for planning", progress: 40}) { databaseId } }""",
        change("Goal", "goal"),
        ("updateGoal",),
    ),
    "PATCH /goals/{goal}/milestones/{milestone}": Ask(
        SET_MILESTONE, milestone("goal", "milestone"), ("setMilestone",)
    ),
    "PATCH /goals/{solo}/milestones/{solo_step}": Ask(
        SET_MILESTONE, milestone("solo", "solo_step"), ("setMilestone",)
    ),
    "GET /goals/{goal}/comments": Ask(
        on("Goal", "comments(first: 100) { nodes { databaseId body } }"),
        node("Goal", "goal"),
        ("node", "comments"),
        items=True,
    ),
    "POST /goals/{goal}/comments": Ask(ADD_COMMENT, node("Goal", "goal"), ("addGoalComment",)),
    "POST /goals/{solo}/comments": Ask(ADD_COMMENT, node("Goal", "solo"), ("addGoalComment",)),
    "GET /pairings/{pairing}/check-ins": Ask(
        on_pairing(f"checkIns(first: 100) {{ nodes {{ {CHECK_IN_FIELDS} }} }}"),
        node("Pairing", "pairing"),
        ("node", "checkIns"),
        items=True,
    ),
    "POST /pairings/{pairing}/check-ins": Ask(
        """mutation($id: ID!, $input: LogCheckInInput!) {
          logCheckIn(pairing: $id, input: $input) { databaseId sharedNotes privateNote } }""",
        lambda s: {
            "id": gid("Pairing", s.ids["pairing"]),
            "input": {
                "metOn": progress.days_ago(2),
                "durationMinutes": 45,
                "mode": "VIDEO",
                "topics": ["Slack"],
                "sharedNotes": progress.NEW_SHARED,
                "privateNote": progress.NEW_PRIVATE,
            },
        },
        ("logCheckIn",),
    ),
    "GET /check-ins/{check_in}": Ask(
        on("CheckIn", CHECK_IN_FIELDS), node("CheckIn", "check_in"), ("node",)
    ),
    "PATCH /check-ins/{check_in}": Ask(
        """mutation($id: ID!, $v: Int!) { updateCheckIn(id: $id, expectedVersion: $v,
          input: {durationMinutes: 50}) { databaseId sharedNotes privateNote } }""",
        change("CheckIn", "check_in"),
        ("updateCheckIn",),
    ),
    # REST's private-note resource is the check-in's ``privateNote`` field here: null for
    # anyone without a note of their own (where REST refuses the resource).
    "GET /check-ins/{check_in}/private-note": Ask(
        on("CheckIn", "privateNote"),
        node("CheckIn", "check_in"),
        ("node", "privateNote"),
        hidden=frozenset({403, 404}),
    ),
    "PUT /check-ins/{check_in}/private-note": Ask(
        f"""mutation($id: ID!) {{ putPrivateNote(checkIn: $id, body: "{progress.NEW_NOTE}") {{
          {CHECK_IN_FIELDS} }} }}""",
        node("CheckIn", "check_in"),
        ("putPrivateNote",),
    ),
    "DELETE /check-ins/{check_in}/private-note": Ask(
        f"mutation($id: ID!) {{ deletePrivateNote(checkIn: $id) {{ {CHECK_IN_FIELDS} }} }}",
        node("CheckIn", "check_in"),
        ("deletePrivateNote",),
    ),
    "GET /pairings/{pairing}/feedback": Ask(
        on_pairing(f"feedback(first: 100) {{ nodes {{ {FEEDBACK_FIELDS} }} }}"),
        node("Pairing", "pairing"),
        ("node", "feedback"),
        items=True,
    ),
    "POST /pairings/{pairing}/feedback": Ask(
        f"""mutation($id: ID!, $input: GiveFeedbackInput!) {{
          giveFeedback(pairing: $id, input: $input) {{ {FEEDBACK_FIELDS} }} }}""",
        lambda s: {
            "id": gid("Pairing", s.ids["pairing"]),
            "input": {
                "kind": "CHECK_IN",
                "checkIn": gid("CheckIn", s.ids["later_check_in"]),
                "ratings": {
                    "value": 4,
                    "mutualRespect": 5,
                    "psychologicalSafety": 4,
                    "clarity": 5,
                },
                "comment": "Good session, thank you",
                "commentVisibility": "PARTNER",
            },
        },
        ("giveFeedback",),
    ),
    # REST refuses a service client before it looks the pairing up (403); GraphQL reaches
    # the concerns through the pairing, which a client without `read` cannot see (null).
    "GET /pairings/{pairing}/concerns": Ask(
        on_pairing(f"concerns(first: 100) {{ nodes {{ {CONCERN_FIELDS} }} }}"),
        node("Pairing", "pairing"),
        ("node", "concerns"),
        items=True,
        differs=(("hris", 404),),
    ),
    "POST /pairings/{pairing}/concerns": Ask(
        f"""mutation($id: ID!) {{ raiseConcern(pairing: $id, input: {{category: NO_SHOWS,
          description: "{progress.NEW_CONCERN}"}}) {{ {CONCERN_FIELDS} }} }}""",
        node("Pairing", "pairing"),
        ("raiseConcern",),
    ),
    "GET /concerns": Ask(
        f"{{ concerns(first: 100) {{ nodes {{ {CONCERN_FIELDS} }} }} }}",
        lambda s: {},
        ("concerns",),
        items=True,
    ),
    "GET /concerns/{concern}": Ask(
        on("Concern", CONCERN_FIELDS), node("Concern", "concern"), ("node",)
    ),
    "POST /concerns/{concern}/acknowledge": Ask(
        concern_change("acknowledgeConcern"), change("Concern", "concern"), ("acknowledgeConcern",)
    ),
    "POST /concerns/{concern}/resolve": Ask(
        concern_change("resolveConcern", f', resolution: "{progress.NEW_RESOLUTION}"'),
        change("Concern", "concern"),
        ("resolveConcern",),
    ),
    "POST /concerns/{concern}/end-pairing": Ask(
        concern_change("endPairingOverConcern", f', resolution: "{progress.NEW_RESOLUTION}"'),
        change("Concern", "concern"),
        ("endPairingOverConcern",),
    ),
    "GET /pairings/{pairing}/health": Ask(
        on_pairing("health { status reasons { code } }"),
        node("Pairing", "pairing"),
        ("node", "health"),
    ),
    "GET /programs/{program_a}/pairing-health": Ask(
        on("Program", "pairingHealth(first: 100) { nodes { status reasons { code } } }"),
        node("Program", "program_a"),
        ("node", "pairingHealth"),
    ),
    "GET /programs/{program_a}/report": Ask(
        on("Program", "report { programName checkIns atRisk { status } }"),
        node("Program", "program_a"),
        ("node", "report"),
    ),
}

#: REST routes without a GraphQL twin, and why.
REST_ONLY = {
    "GET /programs/{program_a}/report.csv": "a file download; GraphQL reads the same report "
    "as data (`Program.report`)",
    "GET /tokens": "API tokens are credentials: issued and revoked over REST only",
    "POST /tokens": "API tokens are credentials: issued and revoked over REST only",
    "GET /tokens/{subject_token}": "API tokens are credentials: issued and revoked over REST only",
    "POST /tokens/{subject_token}/revoke": "API tokens are credentials: issued and revoked "
    "over REST only",
}

Build = Callable[[Database, Cell], Awaitable[Scenario]]


async def _core_scenario(db: Database, cell: Cell) -> Scenario:
    return await core.build_scenario(db)


async def _pairings_scenario(db: Database, cell: Cell) -> Scenario:
    return await pairings.build_scenario(db, pairings.setup_of(cell))


async def _progress_scenario(db: Database, cell: Cell) -> Scenario:
    return await progress.build_scenario(db)


MATRICES: list[tuple[str, list[Cell], dict[str, Ask], Build, dict[str, dict[str, set[str]]]]] = [
    ("core", core.CELLS, CORE, _core_scenario, core.LIST_CONTENTS),
    ("pairings", pairings.CELLS, PAIRINGS, _pairings_scenario, pairings.LIST_CONTENTS),
    ("progress", progress.CELLS, PROGRESS, _progress_scenario, progress.LIST_CONTENTS),
]


def _is_read(request: str) -> bool:
    return request.startswith("GET ")


# A read changes nothing, so one scenario serves every actor of its row; each write gets a
# scenario of its own, as in the REST matrices.
READ_ROWS = [
    pytest.param(
        [c for c in cells if c.request == request], asks, build, contents, id=f"{name}: {request}"
    )
    for name, cells, asks, build, contents in MATRICES
    for request in dict.fromkeys(c.request for c in cells)
    if request in asks and _is_read(request)
]
WRITE_ROWS = [
    pytest.param(
        [c for c in cells if c.request == request], asks, build, contents, id=f"{name}: {request}"
    )
    for name, cells, asks, build, contents in MATRICES
    for request in dict.fromkeys(c.request for c in cells)
    if request in asks and not _is_read(request)
]


def outcome(response: httpx.Response, ask: Ask) -> tuple[int, Any]:
    """The REST status class a GraphQL answer stands for, and the answer itself."""
    if response.status_code == 401:
        return 401, None
    assert response.status_code == 200, response.text
    body = response.json()
    if body.get("errors"):
        status: int = body["errors"][0]["extensions"]["status"]
        return status, None
    answer = body["data"]
    for step in ask.path:
        if answer is None:
            return 404, None  # a record the actor may not see reads as null
        answer = answer[step]
    return (HIDDEN if answer is None else 200), answer


#: What a ``null`` at the end of the path stands for (see ``Ask.hidden``).
HIDDEN = 0


async def _ask(
    client: httpx.AsyncClient,
    db: Database,
    scenario: Scenario,
    cell: Cell,
    ask: Ask,
    contents: dict[str, dict[str, set[str]]],
) -> None:
    before = await fingerprint(db)
    variables = ask.variables(scenario)
    response = await client.post(
        "/graphql",
        json={"query": ask.query, "variables": variables},
        headers=scenario.headers[cell.actor],
    )
    # No confidential text or secret record reaches anyone who may not read it, whatever the
    # outcome (the ids the request itself named may be echoed in a refusal).
    if set(progress.SECRET_RECORDS) <= set(scenario.ids):  # the progress scenario's secrets
        named = " ".join(str(v) for v in scenario.ids.values() if gid_in(v, variables))
        progress.check_confidential(cell, scenario, named, response)
    status, answer = outcome(response, ask)
    expected = 200 if 200 <= cell.expected < 300 else cell.expected
    expected = dict(ask.differs).get(cell.actor, expected)
    if status == HIDDEN:
        assert expected in ask.hidden, f"{cell}: REST gives {cell.expected}, GraphQL null"
        status = expected
    assert status == expected, f"{cell}: REST gives {cell.expected}, GraphQL {response.text}"
    if status != 200:
        assert await fingerprint(db) == before, f"{cell} was refused but changed stored data"
        return
    if ask.items and cell.request in contents:
        got = {scenario.name_of(n["databaseId"]) for n in answer["nodes"]}
        assert got == contents[cell.request][cell.actor], f"{cell}: got {sorted(got)}"


@pytest.mark.parametrize(("cells", "asks", "build", "contents"), READ_ROWS)
async def test_graphql_reads_give_the_rest_matrix_outcome(
    cells: list[Cell],
    asks: dict[str, Ask],
    build: Build,
    contents: dict[str, dict[str, set[str]]],
    client: httpx.AsyncClient,
    db: Database,
) -> None:
    scenario = await build(db, cells[0])
    for cell in cells:
        await _ask(client, db, scenario, cell, asks[cell.request], contents)


@pytest.mark.parametrize(("cells", "asks", "build", "contents"), WRITE_ROWS)
async def test_graphql_writes_give_the_rest_matrix_outcome(
    cells: list[Cell],
    asks: dict[str, Ask],
    build: Build,
    contents: dict[str, dict[str, set[str]]],
    client: httpx.AsyncClient,
    db: Database,
) -> None:
    """A refusal changes nothing (each is checked), so the refused cells of a row share one
    scenario; every allowed write gets a scenario of its own."""
    refused = [c for c in cells if not 200 <= c.expected < 300]
    allowed = [c for c in cells if 200 <= c.expected < 300]
    scenario = await build(db, cells[0])
    for cell in refused:
        await _ask(client, db, scenario, cell, asks[cell.request], contents)
    for i, cell in enumerate(allowed):
        if i:
            await _clean(db)
            scenario = await build(db, cell)
        await _ask(client, db, scenario, cell, asks[cell.request], contents)


async def _clean(db: Database) -> None:
    """Empty every table, as between tests (a scenario assumes an empty database)."""
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE employees SET manager_id = NULL"))
        for table in reversed(metadata.sorted_tables):
            await conn.execute(text(f"DELETE FROM {table.name}"))  # noqa: S608 - from metadata


def test_every_rest_matrix_row_has_a_graphql_twin_or_a_reason() -> None:
    """A REST route added to a matrix fails here until GraphQL asks it too (or it is listed
    as REST-only, with the reason)."""
    missing = {
        cell.request
        for _, cells, asks, _, _ in MATRICES
        for cell in cells
        if cell.request not in asks and cell.request not in REST_ONLY
    }
    assert missing == set(), f"REST rows without a GraphQL twin: {sorted(missing)}"
