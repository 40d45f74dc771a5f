"""A nested GraphQL query issues a bounded number of SQL statements, whatever the amount of data:
programs → pairings(first: 100) → mentor, mentee → employee → goals → milestones, one batch per
level (the DataLoaders), the same for a few pairings as for many."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from app.db.engine import Database
from app.domain import goals
from app.domain.tokens import person_actor
from tests.api.graphql.support import counting_statements, gql
from tests.factories import Factory, Person

MEMBER = "employee { displayName goals(first: 10) { nodes { title milestones { title } } } }"
QUERY = (
    "{ programs(first: 10) { nodes { name pairings(first: 100) { nodes { "
    f"mentor {{ {MEMBER} }} mentee {{ {MEMBER} }} }} }} }} }} }}"
)

#: The statements of one request, whatever the number of programs and pairings (as observed):
#:
#:  1. SELECT api_tokens          authentication: the bearer token
#:  2. UPDATE api_tokens          … its last use (the tests touch it on every request)
#:  3. SELECT employees           … the token's employee
#:  4. SELECT program_managers    … the programs the caller manages
#:  5. SELECT programs            the page of programs, through the visibility filter
#:  6. SELECT (windowed) pairings the first page of pairings of every program on the page
#:  7. SELECT enrollments         the pairings' views, all at once: the members' enrollments,
#:  8. SELECT employees           … the members' names and titles,
#:  9. SELECT programs            … the pairings' programs (their meeting cadence)
#: 10. SELECT check_ins           … and the latest check-in of every active pairing
#: 11. SELECT employees           the members' full records, through the visibility filter
#: 12. SELECT (windowed) goals    the first page of goals of every member
#: 13. SELECT goal_milestones     the milestones of every goal
#:
#: (8 and 9 read rows that 5 and 11 read too: the pairing views are the domain's, shared with
#: REST, and take no rows from the loaders.)
STATEMENTS = 13


@dataclass
class Cohorts:
    manager: Person
    pairings: int


async def cohorts(factory: Factory, db: Database, *, programs: int, pairings: int) -> Cohorts:
    """``programs`` programs of ``pairings`` live pairings each, one manager for all, and a
    goal with two milestones for each member."""
    manager = await factory.person(job_level=8, department="People")
    for _ in range(programs):
        program = await factory.program(managers=[manager.employee])
        for _ in range(pairings):
            paired = await factory.paired(program=program, manager=manager)
            program = paired.program
            async with db.session() as session:
                for member in (paired.mentor, paired.mentee):
                    actor = await person_actor(session, member.employee)
                    await goals.create_goal(
                        session,
                        actor,
                        paired.id,
                        data=goals.GoalCreate(
                            title=f"Goal of {member.employee.display_name}",
                            milestones=[
                                goals.MilestoneIn(title="First step"),
                                goals.MilestoneIn(title="Second step"),
                            ],
                        ),
                    )
                await session.commit()
    return Cohorts(manager=manager, pairings=programs * pairings)


async def run(client: httpx.AsyncClient, db: Database, who: Person) -> tuple[int, dict]:
    with counting_statements(db) as counter:
        response = await gql(client, who, QUERY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return counter.count, body["data"]


def shape(data: dict) -> tuple[int, int, int, int]:
    """Programs, pairings, goals and milestones in an answer."""
    programs = data["programs"]["nodes"]
    pairings = [p for program in programs for p in program["pairings"]["nodes"]]
    members = [p[role]["employee"] for p in pairings for role in ("mentor", "mentee")]
    found_goals = [g for m in members for g in m["goals"]["nodes"]]
    milestones = [s for g in found_goals for s in g["milestones"]]
    return len(programs), len(pairings), len(found_goals), len(milestones)


@pytest.mark.parametrize("who", ["admin", "manager"])
@pytest.mark.parametrize(("programs", "pairings"), [(2, 2), (3, 8)], ids=["small", "larger"])
async def test_the_nested_query_issues_the_same_few_statements_whatever_the_data(
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    who: str,
    programs: int,
    pairings: int,
) -> None:
    data = await cohorts(factory, db, programs=programs, pairings=pairings)
    caller = data.manager if who == "manager" else await factory.admin()

    count, answer = await run(client, db, caller)

    total = programs * pairings
    assert shape(answer) == (programs, total, 2 * total, 4 * total)
    assert count == STATEMENTS
