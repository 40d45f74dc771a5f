"""Program reports over REST: the figures, the privacy rules they follow, and the CSV export.

Every figure about fewer than 3 people is suppressed (``null`` with ``suppressed: true``, never
a number). In breakdowns, when the suppressed groups add up to 1 or 2 people the next smallest
groups are hidden too, so that the programme total minus the shown groups cannot reveal a small
group. Satisfaction is the 10% trimmed mean of the 1-5 ratings (what
``scipy.stats.trim_mean(ratings, 0.1)`` computes).
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from scipy import stats
from sqlalchemy import select, update
from sqlmodel import col

from app.db.engine import Database
from app.db.models import Enrollment, Pairing, Program
from app.db.types import utcnow
from app.domain import pairings, reports
from app.domain.actors import Actor
from app.domain.programs import ProgramStatus
from tests.api.rest.test_health import (
    add_goal,
    assert_problem,
    days_ago,
    log_check_in,
    raise_concern,
)
from tests.factories import Factory, Paired, Person

API = "/api/v1"
SYSTEM = Actor.system()
DIMENSIONS = ("value", "mutual_respect", "psychological_safety", "clarity")
INJECTION = "=cmd|' /C calc'!A0"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


async def report(client: httpx.AsyncClient, who: Any, program_id: uuid.UUID) -> dict[str, Any]:
    response = await client.get(f"{API}/programs/{program_id}/report", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def csv_rows(
    client: httpx.AsyncClient, who: Any, program_id: uuid.UUID
) -> tuple[list[str], list[dict[str, str]]]:
    response = await client.get(f"{API}/programs/{program_id}/report.csv", headers=who.headers)
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text)))
    header, data = rows[0], rows[1:]
    return header, [dict(zip(header, r, strict=True)) for r in data]


def ratings(values: tuple[int, int, int, int]) -> dict[str, int]:
    return dict(zip(DIMENSIONS, values, strict=True))


async def rate_check_in(
    client: httpx.AsyncClient,
    member: Person,
    pairing_id: uuid.UUID,
    values: tuple[int, int, int, int],
    *,
    check_in_id: str | None = None,
) -> str:
    """A member rates a check-in (a new one unless given); the check-in's id."""
    check_in_id = check_in_id or await log_check_in(client, member, pairing_id, 1)
    response = await client.post(
        f"{API}/pairings/{pairing_id}/feedback",
        headers=member.headers,
        json={"kind": "check_in", "check_in_id": check_in_id, "ratings": ratings(values)},
    )
    assert response.status_code == 201, response.text
    return check_in_id


async def rate_the_end(
    client: httpx.AsyncClient,
    member: Person,
    pairing_id: uuid.UUID,
    values: tuple[int, int, int, int],
    *,
    again: bool,
) -> None:
    response = await client.post(
        f"{API}/pairings/{pairing_id}/feedback",
        headers=member.headers,
        json={"kind": "end", "ratings": ratings(values), "would_take_part_again": again},
    )
    assert response.status_code == 201, response.text


async def pair(
    factory: Factory,
    base: Paired,
    *,
    mentor_dept: str = "Engineering",
    mentee_dept: str = "Finance",
    mentor_level: int = 2,
    mentee_level: int = 9,
    **kw: Any,
) -> Paired:
    """Another pairing in ``base``'s program, with members in the given departments."""
    mentor = await factory.person(department=mentor_dept, job_level=mentor_level)
    mentee = await factory.person(department=mentee_dept, job_level=mentee_level)
    return await factory.paired(
        program=base.program, manager=base.manager, mentor=mentor, mentee=mentee, **kw
    )


async def set_status(db: Database, program_id: uuid.UUID, status: ProgramStatus) -> None:
    async with db.session() as session:
        await session.execute(
            update(Program).where(col(Program.id) == program_id).values(status=status.value)
        )
        await session.commit()


async def enroll(
    factory: Factory, program: Program, department: str, *, level: int = 5, role: str = "mentee"
) -> Person:
    """Someone enrolled in ``program`` (reopened for them) without a pairing."""
    person = await factory.person(department=department, job_level=level)
    await set_status(factory.db, program.id, ProgramStatus.ENROLLING)
    await factory.enrollment(person, program, role=role)
    await set_status(factory.db, program.id, ProgramStatus.MATCHING)
    return person


def group(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [found] = [r for r in rows if r["group"] == name]
    return found


def assert_suppressed_group(row: dict[str, Any]) -> None:
    assert row["suppressed"] is True
    assert row["participants"] is None
    assert row["matched"] is None
    assert row["satisfaction"] is None
    assert row["would_take_part_again"] is None


def assert_suppressed_scores(scores: list[dict[str, Any]]) -> None:
    assert [s["dimension"] for s in scores] == list(DIMENSIONS)
    for s in scores:
        assert s == {
            "dimension": s["dimension"],
            "score": None,
            "respondents": None,
            "suppressed": True,
        }


# ---------------------------------------------------------------------------------------------
# Counts, rates and times
# ---------------------------------------------------------------------------------------------


async def test_participation_and_pairings_by_state(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    base = await factory.paired(activated_days_ago=3)  # active
    await pair(factory, base, activated_days_ago=3)  # active
    await pair(factory, base, state="paused")
    await pair(factory, base, state="completed")
    await pair(factory, base, state="ended")
    await pair(factory, base, state="proposed")
    declined = await pair(factory, base, state="proposed")
    expired = await pair(factory, base, state="proposed")

    response = await client.post(
        f"{API}/pairings/{declined.id}/decline",
        headers={**declined.mentee.headers, "If-Match": f'"v{declined.pairing.version}"'},
        json={"reason": "Not the right time"},
    )
    assert response.status_code == 200, response.text
    async with db.session() as session:
        await session.execute(
            update(Pairing)
            .where(col(Pairing.id) == expired.id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        assert await pairings.expire_overdue_pairings(session, SYSTEM) == 1
        await session.commit()
    # One more mentor who is not paired, and one who withdrew.
    await enroll(factory, base.program, "Engineering", level=2, role="mentor")
    leaver = await enroll(factory, base.program, "Engineering", level=2, role="mentor")
    async with db.session() as session:
        enrollment = (
            await session.execute(
                select(Enrollment).where(col(Enrollment.employee_id) == leaver.id)
            )
        ).scalar_one()
    withdrawn = await client.post(
        f"{API}/enrollments/{enrollment.id}/withdraw",
        headers={**leaver.headers, "If-Match": f'"v{enrollment.version}"'},
        json={},
    )
    assert withdrawn.status_code == 200, withdrawn.text

    body = await report(client, base.manager, base.program.id)
    assert body["program_id"] == str(base.program.id)
    assert body["program_name"] == base.program.name
    assert body["min_group_size"] == 3
    assert body["trim"] == 0.1
    # 8 pairings x 2 people + 2 mentors on their own, one of whom left.
    assert body["participation"] == {
        "enrolled": 17,
        "withdrawn": 1,
        "mentors": 9,
        "mentees": 8,
        "matched": 10,  # members of the 5 pairings that went live
    }
    assert body["pairings"] == {
        "proposed": 1,
        "active": 2,
        "paused": 1,
        "completed": 1,
        "ended": 1,
        "declined": 1,
        "expired": 1,
    }
    # Went live: active, paused, completed, ended (5); decided: those + declined + expired.
    assert body["acceptance_rate"] == pytest.approx(5 / 7)


async def test_nothing_decided_yet_has_no_rates(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    base = await factory.paired(state="proposed")
    body = await report(client, base.manager, base.program.id)
    assert body["acceptance_rate"] is None
    assert body["median_days_to_active_pairing"] is None
    assert body["median_days_suppressed"] is False  # nobody went live: nothing to hide
    assert body["check_ins_per_pairing"] is None
    assert body["goal_completion_rate"] is None
    assert body["check_ins"] == body["goals"] == body["goals_achieved"] == 0
    assert body["at_risk"] == []
    assert body["health"] == {"healthy": 0, "needs_attention": 0, "at_risk": 0}


async def backdate(db: Database, paired: Paired, *, mentor: int, mentee: int, live: int) -> None:
    """Mentor and mentee enrolled ``mentor``/``mentee`` days ago; live ``live`` days ago."""
    now = utcnow()
    async with db.session() as session:
        await session.execute(
            update(Pairing)
            .where(col(Pairing.id) == paired.id)
            .values(activated_at=now - timedelta(days=live))
        )
        for enrollment_id, ago in (
            (paired.pairing.mentor_enrollment_id, mentor),
            (paired.pairing.mentee_enrollment_id, mentee),
        ):
            await session.execute(
                update(Enrollment)
                .where(col(Enrollment.id) == enrollment_id)
                .values(created_at=now - timedelta(days=ago))
            )
        await session.commit()


async def test_median_days_to_active_is_suppressed_below_three_people(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    first = await factory.paired()
    await backdate(db, first, mentor=30, mentee=20, live=10)  # waits 20 and 10 days
    body = await report(client, first.manager, first.program.id)
    assert body["median_days_to_active_pairing"] is None  # 2 matched people
    assert body["median_days_suppressed"] is True

    second = await pair(factory, first)
    await backdate(db, second, mentor=9, mentee=11, live=5)  # waits 4 and 6 days
    proposed = await pair(factory, first, state="proposed")  # never live: not counted
    await backdate(db, proposed, mentor=100, mentee=100, live=0)
    async with db.session() as session:
        await session.execute(
            update(Pairing).where(col(Pairing.id) == proposed.id).values(activated_at=None)
        )
        await session.commit()
    body = await report(client, first.manager, first.program.id)
    assert body["median_days_to_active_pairing"] == pytest.approx(8.0)  # median of 4, 6, 10, 20
    assert body["median_days_suppressed"] is False


async def test_check_ins_and_goals(client: httpx.AsyncClient, factory: Factory) -> None:
    first = await factory.paired(activated_days_ago=10)
    second = await pair(factory, first, activated_days_ago=10)
    await pair(factory, first, state="proposed")  # not live: not a denominator
    for days in (1, 3, 5):
        await log_check_in(client, first.mentor, first.id, days)
    await log_check_in(client, second.mentee, second.id, 2)
    await add_goal(client, first.mentee, first.id, status="achieved")
    await add_goal(client, first.mentor, first.id)
    await add_goal(client, second.mentee, second.id, status="dropped")
    await add_goal(client, second.mentee, second.id, status="achieved")
    await add_goal(client, second.mentor, second.id, status="in_progress")
    other_program = await factory.paired(activated_days_ago=10)
    await log_check_in(client, other_program.mentor, other_program.id, 1)
    await add_goal(client, other_program.mentee, other_program.id, status="achieved")

    body = await report(client, first.manager, first.program.id)
    assert body["check_ins"] == 4
    assert body["check_ins_per_pairing"] == pytest.approx(2.0)
    assert (body["goals"], body["goals_achieved"]) == (5, 2)
    assert body["goal_completion_rate"] == pytest.approx(0.4)


# ---------------------------------------------------------------------------------------------
# Satisfaction and "would take part again"
# ---------------------------------------------------------------------------------------------

#: Twelve entries, so that the trimmed mean cuts one rating from each end.
ENTRIES: list[tuple[int, int, int, int]] = [
    (1, 5, 2, 3),
    (5, 4, 3, 3),
    (4, 4, 1, 5),
    (3, 2, 5, 4),
    (5, 5, 4, 1),
    (2, 3, 3, 2),
    (4, 1, 5, 5),
    (5, 4, 2, 3),
    (1, 3, 4, 4),
    (4, 5, 3, 2),
    (3, 4, 5, 5),
    (5, 2, 1, 4),
]


async def test_satisfaction_is_suppressed_with_two_respondents_and_shown_with_three(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    first = await factory.paired(activated_days_ago=10)
    second = await pair(factory, first, activated_days_ago=10)
    # Two respondents, eight entries between them (both rate the same four check-ins).
    for mine, theirs in zip(ENTRIES[:4], ENTRIES[4:8], strict=True):
        check_in = await rate_check_in(client, first.mentor, first.id, mine)
        await rate_check_in(client, first.mentee, first.id, theirs, check_in_id=check_in)
    given = list(ENTRIES[:8])
    body = await report(client, first.manager, first.program.id)
    assert_suppressed_scores(body["satisfaction"])

    # A third respondent: the aggregate appears.
    for values in ENTRIES[8:]:
        await rate_check_in(client, second.mentee, second.id, values)
        given.append(values)
    assert len(given) == 12
    body = await report(client, first.manager, first.program.id)
    for i, score in enumerate(body["satisfaction"]):
        assert score["dimension"] == DIMENSIONS[i]
        assert score["suppressed"] is False
        assert score["respondents"] == 3
        column = [g[i] for g in given]
        expected = stats.trim_mean(column, 0.1)
        assert expected != pytest.approx(sum(column) / len(column))  # the trim matters here
        assert score["score"] == pytest.approx(expected)


async def test_would_take_part_again_is_suppressed_below_three(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    first = await factory.paired(state="completed")
    second = await pair(factory, first, state="completed")
    await rate_the_end(client, first.mentor, first.id, (4, 4, 4, 4), again=True)
    await rate_the_end(client, first.mentee, first.id, (2, 2, 2, 2), again=False)
    body = await report(client, first.manager, first.program.id)
    assert body["would_take_part_again"] == {"rate": None, "respondents": None, "suppressed": True}
    assert_suppressed_scores(body["satisfaction"])  # end feedback counts as ratings too

    await rate_the_end(client, second.mentee, second.id, (5, 5, 5, 5), again=True)
    body = await report(client, first.manager, first.program.id)
    assert body["would_take_part_again"]["suppressed"] is False
    assert body["would_take_part_again"]["respondents"] == 3
    assert body["would_take_part_again"]["rate"] == pytest.approx(2 / 3)
    assert [s["score"] for s in body["satisfaction"]] == [pytest.approx(11 / 3)] * 4


async def test_check_in_feedback_does_not_count_as_would_take_part_again(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    first = await factory.paired(activated_days_ago=5)
    second = await pair(factory, first, activated_days_ago=5)
    await rate_check_in(client, first.mentor, first.id, (3, 3, 3, 3))
    await rate_check_in(client, first.mentee, first.id, (3, 3, 3, 3))
    await rate_check_in(client, second.mentor, second.id, (3, 3, 3, 3))
    body = await report(client, first.manager, first.program.id)
    assert [s["score"] for s in body["satisfaction"]] == [3.0] * 4
    assert body["would_take_part_again"]["rate"] is None
    assert body["would_take_part_again"]["suppressed"] is True


# ---------------------------------------------------------------------------------------------
# Breakdowns: small groups and complementary suppression
# ---------------------------------------------------------------------------------------------


async def test_a_small_department_is_suppressed_with_the_next_smallest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """{Alpha: 5, Beta: 4, Gamma: 1}: Gamma alone would be recovered as total - 5 - 4."""
    base = await factory.paired(
        state="proposed",
        mentor=await factory.person(department="Alpha", job_level=2),
        mentee=await factory.person(department="Alpha", job_level=9),
    )
    for _ in range(3):
        await enroll(factory, base.program, "Alpha")
    for _ in range(4):
        await enroll(factory, base.program, "Beta")
    await enroll(factory, base.program, "Gamma")

    body = await report(client, base.manager, base.program.id)
    rows = body["by_department"]
    assert [r["group"] for r in rows] == ["Alpha", "Beta", "Gamma"]
    alpha = group(rows, "Alpha")
    assert alpha["suppressed"] is False
    assert (alpha["participants"], alpha["matched"]) == (5, 0)
    assert_suppressed_group(group(rows, "Beta"))
    assert_suppressed_group(group(rows, "Gamma"))
    assert body["participation"]["enrolled"] == 10


@pytest.mark.parametrize(
    ("sizes", "hidden"),
    [
        ({"Alpha": 5, "Beta": 4, "Gamma": 2}, {"Beta", "Gamma"}),
        ({"Alpha": 5, "Beta": 4, "Gamma": 3, "Delta": 1}, {"Gamma", "Delta"}),
        ({"Alpha": 4, "Beta": 1, "Gamma": 1}, {"Alpha", "Beta", "Gamma"}),
        ({"Alpha": 3, "Beta": 3, "Gamma": 3}, set()),
        ({"Alpha": 4, "Beta": 1, "Gamma": 2}, {"Beta", "Gamma"}),
    ],
)
async def test_suppression_by_department(
    client: httpx.AsyncClient, factory: Factory, sizes: dict[str, int], hidden: set[str]
) -> None:
    manager = await factory.person(department="People", job_level=8)
    program = await factory.program(managers=[manager.employee])
    for department, n in sizes.items():
        for _ in range(n):
            await enroll(factory, program, department)
    rows = (await report(client, manager, program.id))["by_department"]
    assert [r["group"] for r in rows] == sorted(sizes)
    for name, n in sizes.items():
        row = group(rows, name)
        if name in hidden:
            assert_suppressed_group(row)
        else:
            assert row["suppressed"] is False
            assert row["participants"] == n
    shown = sum(r["participants"] for r in rows if not r["suppressed"])
    hidden_total = sum(sizes.values()) - shown
    assert hidden_total == 0 or hidden_total >= 3


async def test_level_bands_follow_the_same_rules(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    manager = await factory.person(department="People", job_level=8)
    program = await factory.program(managers=[manager.employee])
    # 0-2: 5 people, 3-5: 4, 9-11: 1, 12+: 3.
    for level, n in ((1, 2), (2, 3), (4, 4), (10, 1), (12, 2), (14, 1)):
        for _ in range(n):
            await enroll(factory, program, "Ops", level=level)
    rows = (await report(client, manager, program.id))["by_level_band"]
    assert [r["group"] for r in rows] == sorted(["0-2", "3-5", "9-11", "12+"])
    assert group(rows, "0-2")["participants"] == 5
    assert group(rows, "3-5")["participants"] == 4
    # 9-11 has one person; the next smallest band (12+, 3 people) is hidden with it.
    assert_suppressed_group(group(rows, "9-11"))
    assert_suppressed_group(group(rows, "12+"))
    dept = (await report(client, manager, program.id))["by_department"]
    assert group(dept, "Ops")["participants"] == 13


async def test_group_satisfaction_needs_three_respondents_and_protects_the_small(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """Every department has at least 3 people, but Gamma only 2 respondents: Gamma's scores
    are hidden, and so are those of the next smallest (Alpha, 3 respondents)."""
    base = await factory.paired(
        activated_days_ago=5,
        mentor=await factory.person(department="Alpha", job_level=2),
        mentee=await factory.person(department="Alpha", job_level=9),
    )
    p2 = await pair(factory, base, mentor_dept="Alpha", mentee_dept="Beta", activated_days_ago=5)
    p3 = await pair(factory, base, mentor_dept="Beta", mentee_dept="Beta", activated_days_ago=5)
    p4 = await pair(factory, base, mentor_dept="Beta", mentee_dept="Gamma", activated_days_ago=5)
    p5 = await pair(factory, base, mentor_dept="Gamma", mentee_dept="Gamma", activated_days_ago=5)
    beta_ratings = [(1, 2, 3, 4), (5, 5, 5, 5), (2, 2, 2, 2), (4, 3, 2, 1)]
    await rate_check_in(client, base.mentor, base.id, (1, 1, 1, 1))  # Alpha
    await rate_check_in(client, base.mentee, base.id, (1, 1, 1, 1))  # Alpha
    await rate_check_in(client, p2.mentor, p2.id, (1, 1, 1, 1))  # Alpha
    await rate_check_in(client, p2.mentee, p2.id, beta_ratings[0])  # Beta
    await rate_check_in(client, p3.mentor, p3.id, beta_ratings[1])  # Beta
    await rate_check_in(client, p3.mentee, p3.id, beta_ratings[2])  # Beta
    await rate_check_in(client, p4.mentor, p4.id, beta_ratings[3])  # Beta
    await rate_check_in(client, p4.mentee, p4.id, (5, 5, 5, 5))  # Gamma
    await rate_check_in(client, p5.mentor, p5.id, (5, 5, 5, 5))  # Gamma

    body = await report(client, base.manager, base.program.id)
    rows = body["by_department"]
    for name, people in (("Alpha", 3), ("Beta", 4), ("Gamma", 3)):
        row = group(rows, name)
        assert row["suppressed"] is False
        assert (row["participants"], row["matched"]) == (people, people)
    assert_suppressed_scores(group(rows, "Gamma")["satisfaction"])
    assert_suppressed_scores(group(rows, "Alpha")["satisfaction"])
    beta = group(rows, "Beta")["satisfaction"]
    for i, score in enumerate(beta):
        assert score["suppressed"] is False
        assert score["respondents"] == 4
        assert score["score"] == pytest.approx(stats.trim_mean([r[i] for r in beta_ratings], 0.1))
    assert all(s["respondents"] == 9 for s in body["satisfaction"])


# ---------------------------------------------------------------------------------------------
# At-risk pairings
# ---------------------------------------------------------------------------------------------


async def test_at_risk_lists_unhealthy_live_pairings_at_risk_first(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    healthy = await factory.paired(activated_days_ago=2, meeting_cadence_days=7)
    late_goal = await pair(factory, healthy, activated_days_ago=2)
    await add_goal(client, late_goal.mentee, late_goal.id, target_date=days_ago(1))
    overdue = await pair(factory, healthy, activated_days_ago=30)
    concerned = await pair(factory, healthy, activated_days_ago=2)
    await raise_concern(client, concerned.mentor, concerned.id)
    await pair(factory, healthy, state="paused", activated_days_ago=30)  # not live: left out

    body = await report(client, healthy.manager, healthy.program.id)
    assert body["health"] == {"healthy": 1, "needs_attention": 1, "at_risk": 2}
    listed = [(h["pairing_id"], h["status"]) for h in body["at_risk"]]
    assert listed == [
        *sorted((str(p.id), "at_risk") for p in (overdue, concerned)),
        (str(late_goal.id), "needs_attention"),
    ]
    by_id = {h["pairing_id"]: h for h in body["at_risk"]}
    assert [r["code"] for r in by_id[str(concerned.id)]["reasons"]] == ["open_concern"]

    reader = await factory.service("read")
    body = await report(client, reader, healthy.program.id)
    assert body["health"] == {"healthy": 2, "needs_attention": 1, "at_risk": 1}
    assert [h["pairing_id"] for h in body["at_risk"]] == [str(overdue.id), str(late_goal.id)]
    assert "open_concern" not in str(body)


# ---------------------------------------------------------------------------------------------
# Who may read the report
# ---------------------------------------------------------------------------------------------


async def access_scenario(factory: Factory) -> dict[str, Any]:
    paired = await factory.paired(activated_days_ago=5)
    other = await factory.paired()
    draft_manager = await factory.person(department="People", job_level=8)
    draft = await factory.program(status=ProgramStatus.DRAFT, managers=[draft_manager.employee])
    return {
        "paired": paired,
        "admin": await factory.admin(),
        "reader": await factory.service("read"),
        "auditor": await factory.service("audit:read"),
        "stranger": await factory.person(),
        "other_manager": other.manager,
        "draft": draft,
        "draft_manager": draft_manager,
    }


@pytest.mark.parametrize("suffix", ["report", "report.csv"])
async def test_who_may_read_the_report(
    client: httpx.AsyncClient, factory: Factory, suffix: str
) -> None:
    s = await access_scenario(factory)
    paired: Paired = s["paired"]
    await raise_concern(client, paired.mentee, paired.id)
    url = f"{API}/programs/{paired.program.id}/{suffix}"
    expected = {
        "manager": (paired.manager, 200),
        "admin": (s["admin"], 200),
        "reader": (s["reader"], 200),
        "mentor": (paired.mentor, 403),
        "mentee": (paired.mentee, 403),
        "stranger": (s["stranger"], 403),
        "other_manager": (s["other_manager"], 403),
        "auditor": (s["auditor"], 404),
    }
    for name, (who, status) in expected.items():
        response = await client.get(url, headers=who.headers)
        assert response.status_code == status, f"{name}: {response.status_code} {response.text}"
        if status != 200:
            assert_problem(response, status)
        elif name == "reader":
            assert "open_concern" not in response.text
        else:
            assert "open_concern" in response.text

    draft_url = f"{API}/programs/{s['draft'].id}/{suffix}"
    for name in ("stranger", "other_manager", "reader", "auditor"):
        response = await client.get(draft_url, headers=s[name].headers)
        assert_problem(response, 404)
    for who in (s["draft_manager"], s["admin"]):
        assert (await client.get(draft_url, headers=who.headers)).status_code == 200
    missing = await client.get(
        f"{API}/programs/{uuid.uuid4()}/{suffix}", headers=s["admin"].headers
    )
    assert_problem(missing, 404)


# ---------------------------------------------------------------------------------------------
# The CSV export
# ---------------------------------------------------------------------------------------------


async def test_the_csv_is_a_download_with_one_row_per_pairing(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    mentor = await factory.person(
        department=INJECTION, job_level=2, given_name="+Ada", family_name="Lovelace"
    )
    live = await factory.paired(activated_days_ago=30, meeting_cadence_days=7, mentor=mentor)
    await log_check_in(client, live.mentor, live.id, 20)
    await log_check_in(client, live.mentee, live.id, 18)
    await add_goal(client, live.mentee, live.id, status="achieved")
    await add_goal(client, live.mentor, live.id, target_date=days_ago(2))
    await raise_concern(client, live.mentee, live.id)
    proposed = await pair(factory, live, state="proposed")
    async with db.session() as session:
        created = utcnow() - timedelta(days=40)
        await session.execute(
            update(Pairing)
            .where(col(Pairing.id) == live.id)
            .values(created_at=created, activated_at=created + timedelta(days=3, hours=12))
        )
        await session.commit()

    response = await client.get(
        f"{API}/programs/{live.program.id}/report.csv", headers=live.manager.headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="' in disposition
    assert disposition.endswith('.csv"')
    assert response.headers["cache-control"] == "no-store"

    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == reports.CSV_COLUMNS
    assert len(rows) == 3
    by_id = {r[0]: dict(zip(reports.CSV_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert list(by_id) == sorted(by_id)
    row = by_id[str(live.id)]
    assert row["state"] == "active"
    assert row["origin"] == "manual"
    assert row["mentor_employee_id"] == str(live.mentor.id)
    assert row["mentee_employee_id"] == str(live.mentee.id)
    assert row["mentor_department"] == "'" + INJECTION  # never run as a formula
    assert row["mentor_name"] == "'+Ada Lovelace"
    assert row["mentee_department"] == "Finance"
    assert row["mentor_level_band"] == "0-2"
    assert row["mentee_level_band"] == "9-11"
    assert float(row["days_to_active"]) == pytest.approx(3.5)
    assert row["check_ins"] == "2"
    assert row["last_check_in_on"] == days_ago(18)
    assert (row["goals"], row["goals_achieved"]) == ("2", "1")
    assert row["health_status"] == "at_risk"
    assert set(row["health_reasons"].split(";")) == {
        "overdue_check_in",
        "open_concern",
        "goals_past_target",
    }
    other = by_id[str(proposed.id)]
    assert other["state"] == "proposed"
    assert other["activated_at"] == other["days_to_active"] == ""
    assert other["health_status"] == other["health_reasons"] == ""
    assert (other["check_ins"], other["goals"]) == ("0", "0")

    reader = await factory.service("read")
    _, reader_rows = await csv_rows(client, reader, live.program.id)
    [seen] = [r for r in reader_rows if r["pairing_id"] == str(live.id)]
    assert set(seen["health_reasons"].split(";")) == {"overdue_check_in", "goals_past_target"}
    assert "open_concern" not in str(reader_rows)


@pytest.mark.parametrize("pairs", [1, 4, 5])
async def test_the_csv_is_written_in_batches(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch, pairs: int
) -> None:
    monkeypatch.setattr(reports, "CSV_BATCH", 2)
    calls = 0
    gather = reports.gather_facts

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await gather(*args, **kwargs)

    monkeypatch.setattr(reports, "gather_facts", counting)
    base = await factory.paired(activated_days_ago=1)
    made = [base.id]
    for i in range(pairs - 1):
        made.append((await pair(factory, base, state="proposed" if i % 2 else "active")).id)
    await factory.paired(activated_days_ago=1)  # another program's: never in this file

    header, rows = await csv_rows(client, base.manager, base.program.id)
    assert tuple(header) == reports.CSV_COLUMNS
    ids = [r["pairing_id"] for r in rows]
    assert len(ids) == pairs
    assert len(set(ids)) == pairs
    assert ids == sorted(str(i) for i in made)
    assert calls == -(-pairs // 2)  # one round trip per batch of 2


async def test_an_empty_program_has_a_header_only_csv(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    manager = await factory.person(department="People", job_level=8)
    program = await factory.program(managers=[manager.employee])
    header, rows = await csv_rows(client, manager, program.id)
    assert tuple(header) == reports.CSV_COLUMNS
    assert rows == []
