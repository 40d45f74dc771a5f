"""A program's report over GraphQL holds what ``GET /programs/{id}/report`` holds, for the same
people (the program team and readers), with the same small-group suppression: no figure about
fewer than 3 people is ever shown."""

from __future__ import annotations

from typing import Any

import httpx

from app.db.engine import Database
from app.db.types import utcnow
from app.domain.programs import ProgramStatus
from tests.api.graphql.reads import (
    API,
    ask,
    camelized,
    codes,
    data,
    db_id,
    gid,
    rest,
    statements,
)
from tests.api.graphql.test_feedback_queries import rate
from tests.api.graphql.test_health_queries import FIELDS as HEALTH_FIELDS
from tests.api.graphql.test_health_queries import as_rest as health_as_rest
from tests.api.graphql.test_health_queries import rest_fields as health_rest_fields
from tests.factories import Factory, Paired

SCORE = "dimension score respondents suppressed"
RATE = "rate respondents suppressed"
GROUP = (
    f"group suppressed participants matched satisfaction {{ {SCORE} }} "
    f"wouldTakePartAgain {{ {RATE} }}"
)
REPORT = f"""
programId programDatabaseId programName programStatus generatedAt minGroupSize trim
participation {{ enrolled withdrawn mentors mentees matched }}
pairings {{ proposed active paused completed ended declined expired }}
acceptanceRate medianDaysToActivePairing medianDaysSuppressed checkIns checkInsPerPairing
goals goalsAchieved goalCompletionRate
satisfaction {{ {SCORE} }} wouldTakePartAgain {{ {RATE} }}
health {{ healthy needsAttention atRisk }}
atRisk {{ {HEALTH_FIELDS} }}
byDepartment {{ {GROUP} }} byLevelBand {{ {GROUP} }}
"""
OF_PROGRAM = f"query($id: ID!) {{ node(id: $id) {{ ... on Program {{ report {{ {REPORT} }} }} }} }}"


def normalized(report: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL report in REST's shape (camel-cased), its timestamp left out."""
    out = dict(report)
    out.pop("generatedAt")
    assert out.pop("programDatabaseId") == db_id(out["programId"])
    out["programId"] = db_id(out["programId"])
    out["atRisk"] = [camelized(health_as_rest(h)) for h in report["atRisk"]]
    return out


def rest_normalized(report: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = camelized(report)
    out.pop("generatedAt")
    out["atRisk"] = [camelized(health_rest_fields(h)) for h in report["at_risk"]]
    return out


async def both_rate(client: httpx.AsyncClient, paired: Paired, *members: str) -> None:
    logged = await client.post(
        f"{API}/pairings/{paired.id}/check-ins",
        headers=paired.mentor.headers,
        json={"met_on": utcnow().date().isoformat(), "duration_minutes": 30, "mode": "chat"},
    )
    assert logged.status_code == 201, logged.text
    check_in = str(logged.json()["id"])
    for role in members:
        member = getattr(paired, role)
        await rate(client, member, paired, check_in, 4, f"{role} says hi", "program_team")


async def same_report(client: httpx.AsyncClient, who: Any, program_id: Any) -> dict[str, Any]:
    """The report as ``who`` reads it over GraphQL, checked against REST's."""
    report = (await data(client, who, OF_PROGRAM, id=gid("Program", program_id)))["node"]["report"]
    answer = await rest(client, who, f"/programs/{program_id}/report")
    assert answer.status_code == 200, answer.text
    assert normalized(report) == rest_normalized(answer.json())
    return dict(report)


def assert_no_small_group_shown(report: dict[str, Any]) -> None:
    for row in report["byDepartment"] + report["byLevelBand"]:
        if row["suppressed"]:
            assert (row["participants"], row["matched"], row["satisfaction"]) == (None, None, None)
        else:
            assert row["participants"] >= 3


async def test_the_team_and_readers_read_the_report_rest_shows_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    first = await factory.paired(activated_days_ago=40)
    program, manager = first.program, first.manager
    await both_rate(client, first, "mentor", "mentee")
    readers = {
        "manager": manager,
        "admin": await factory.admin(),
        "reader": await factory.service("read"),
    }
    for who in readers.values():
        report = await same_report(client, who, program.id)
        # Two respondents: the satisfaction scores are suppressed, never approximated.
        assert all(s["suppressed"] and s["score"] is None for s in report["satisfaction"])
        assert_no_small_group_shown(report)
    second = await factory.paired(program=program, manager=manager, activated_days_ago=2)
    await both_rate(client, second, "mentor")
    for who in readers.values():
        report = await same_report(client, who, program.id)
        # A third respondent: now the scores are shown.
        assert all(not s["suppressed"] and s["respondents"] == 3 for s in report["satisfaction"])
        assert_no_small_group_shown(report)
        assert "says hi" not in str(report)


async def test_participants_and_other_managers_are_refused_as_in_rest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired()
    other = await factory.paired()
    for who in (paired.mentor, paired.mentee, other.manager, await factory.person()):
        assert (await rest(client, who, f"/programs/{paired.program.id}/report")).status_code == 403
        body = await ask(client, who, OF_PROGRAM, id=gid("Program", paired.program.id))
        assert body["data"]["node"] == {"report": None}
        assert codes(body) == ["forbidden"]


async def test_readers_do_not_see_draft_programs_or_their_reports(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    manager = await factory.person()
    draft = await factory.program(status=ProgramStatus.DRAFT, managers=[manager.employee])
    reader = await factory.service("read")
    assert (await rest(client, reader, f"/programs/{draft.id}/report")).status_code == 404
    assert await ask(client, reader, OF_PROGRAM, id=gid("Program", draft.id)) == {
        "data": {"node": None}
    }
    await same_report(client, manager, draft.id)


PROGRAMS = (
    "{ programs(first: 20) { nodes { report { participation { enrolled } "
    "satisfaction { score suppressed } atRisk { status } "
    "byDepartment { group participants } } } } }"
)


async def test_reports_of_many_programs_cost_the_statements_of_one(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    reader = await factory.service("read")
    await both_rate(client, await factory.paired(activated_days_ago=40), "mentor", "mentee")
    one = await statements(client, db, reader, PROGRAMS)
    for _ in range(3):
        await both_rate(client, await factory.paired(), "mentee")
    many = await statements(client, db, reader, PROGRAMS)
    programs = (await data(client, reader, PROGRAMS))["programs"]["nodes"]
    assert [p["report"]["participation"]["enrolled"] for p in programs] == [2, 2, 2, 2]
    assert many == one
