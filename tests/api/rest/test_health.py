"""Pairing health over REST: each reason fires exactly when its rule says, and who reads it.

The rules (app/domain/health.py): a check-in is overdue after twice the program's cadence
without one; ratings are low when the 10% trimmed mean of the last 3 feedback entries is at
most 2.5; an open concern is shown to the program team only; goals past their target date and
a pairing ending within 14 days with nothing achieved need attention. The first three make a
pairing at risk. Readers (``read`` service clients) never see the concern reason, and their
status is computed without it.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from scipy import stats
from sqlalchemy import update
from sqlmodel import col

from app.db.engine import Database
from app.db.models import Feedback, Pairing
from app.db.types import utcnow
from tests.factories import Factory, Paired, Person

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def today() -> date:
    return utcnow().date()


def days_ago(n: int) -> str:
    return (today() - timedelta(days=n)).isoformat()


async def health(client: httpx.AsyncClient, who: Any, pairing_id: uuid.UUID) -> dict[str, Any]:
    response = await client.get(f"{API}/pairings/{pairing_id}/health", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> set[str]:
    return {r["code"] for r in body["reasons"]}


async def activate_days_ago(db: Database, pairing_id: uuid.UUID, n: int) -> None:
    async with db.session() as session:
        await session.execute(
            update(Pairing)
            .where(col(Pairing.id) == pairing_id)
            .values(activated_at=utcnow() - timedelta(days=n))
        )
        await session.commit()


async def log_check_in(
    client: httpx.AsyncClient, member: Person, pairing_id: uuid.UUID, ago: int
) -> str:
    response = await client.post(
        f"{API}/pairings/{pairing_id}/check-ins",
        headers=member.headers,
        json={"met_on": days_ago(ago), "duration_minutes": 45, "mode": "video"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def give_feedback(
    client: httpx.AsyncClient,
    db: Database,
    member: Person,
    pairing_id: uuid.UUID,
    check_in_id: str,
    ratings: tuple[int, int, int, int],
    *,
    created_days_ago: int,
) -> None:
    """A member rates a check-in; the entry is then dated ``created_days_ago`` days back."""
    value, respect, safety, clarity = ratings
    response = await client.post(
        f"{API}/pairings/{pairing_id}/feedback",
        headers=member.headers,
        json={
            "kind": "check_in",
            "check_in_id": check_in_id,
            "ratings": {
                "value": value,
                "mutual_respect": respect,
                "psychological_safety": safety,
                "clarity": clarity,
            },
        },
    )
    assert response.status_code == 201, response.text
    async with db.session() as session:
        await session.execute(
            update(Feedback)
            .where(col(Feedback.id) == uuid.UUID(response.json()["id"]))
            .values(created_at=utcnow() - timedelta(days=created_days_ago))
        )
        await session.commit()


async def rate(
    client: httpx.AsyncClient,
    db: Database,
    paired: Paired,
    entries: list[tuple[int, int, int, int]],
) -> None:
    """Feedback entries, oldest first (one per member per check-in, all recent meetings)."""
    check_ins = [
        await log_check_in(client, paired.mentor, paired.id, 1)
        for _ in range((len(entries) + 1) // 2)
    ]
    for i, ratings in enumerate(entries):
        member = paired.mentor if i % 2 == 0 else paired.mentee
        await give_feedback(
            client,
            db,
            member,
            paired.id,
            check_ins[i // 2],
            ratings,
            created_days_ago=len(entries) - i,
        )


async def add_goal(
    client: httpx.AsyncClient, member: Person, pairing_id: uuid.UUID, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/pairings/{pairing_id}/goals",
        headers=member.headers,
        json={"title": f"Goal {uuid.uuid4().hex[:6]}", **body},
    )
    assert response.status_code == 201, response.text
    goal: dict[str, Any] = response.json()
    return goal


async def raise_concern(
    client: httpx.AsyncClient, member: Person, pairing_id: uuid.UUID
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/pairings/{pairing_id}/concerns",
        headers=member.headers,
        json={"category": "conflict", "description": "We keep talking past each other."},
    )
    assert response.status_code == 201, response.text
    concern: dict[str, Any] = response.json()
    return concern


def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["status"] == status


# ---------------------------------------------------------------------------------------------
# A healthy pairing
# ---------------------------------------------------------------------------------------------


async def test_a_new_pairing_is_healthy_with_its_facts(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=3, meeting_cadence_days=14)
    body = await health(client, paired.manager, paired.id)
    started = today() - timedelta(days=3)
    assert body["status"] == "healthy"
    assert body["reasons"] == []
    assert body["pairing_id"] == str(paired.id)
    assert body["program_id"] == str(paired.program.id)
    assert body["mentor_employee_id"] == str(paired.mentor.id)
    assert body["mentee_employee_id"] == str(paired.mentee.id)
    assert body["check_ins"] == 0
    assert body["last_check_in_on"] is None
    assert body["next_check_in_due_on"] == (started + timedelta(days=14)).isoformat()
    assert body["ends_on"] == (started + timedelta(weeks=26)).isoformat()
    assert (body["goals"], body["goals_achieved"]) == (0, 0)


# ---------------------------------------------------------------------------------------------
# overdue_check_in
# ---------------------------------------------------------------------------------------------


async def test_overdue_fires_the_day_after_twice_the_cadence_since_going_live(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    paired = await factory.paired(activated_days_ago=14, meeting_cadence_days=7)
    body = await health(client, paired.manager, paired.id)
    assert "overdue_check_in" not in codes(body)  # the boundary day itself is not overdue
    assert body["status"] == "healthy"

    await activate_days_ago(db, paired.id, 15)
    body = await health(client, paired.manager, paired.id)
    assert codes(body) == {"overdue_check_in"}
    assert body["status"] == "at_risk"
    reason = body["reasons"][0]
    assert "every 7 days" in reason["detail"]
    assert days_ago(15) in reason["detail"]


async def test_overdue_counts_from_the_latest_meeting(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    cadence = 10
    on_the_day = await factory.paired(activated_days_ago=60, meeting_cadence_days=cadence)
    await log_check_in(client, on_the_day.mentor, on_the_day.id, 2 * cadence)
    body = await health(client, on_the_day.manager, on_the_day.id)
    assert "overdue_check_in" not in codes(body)
    assert body["last_check_in_on"] == days_ago(2 * cadence)
    assert body["next_check_in_due_on"] == days_ago(cadence)
    assert body["check_ins"] == 1

    a_day_late = await factory.paired(
        program=on_the_day.program, manager=on_the_day.manager, activated_days_ago=60
    )
    await log_check_in(client, a_day_late.mentee, a_day_late.id, 2 * cadence + 1)
    body = await health(client, a_day_late.manager, a_day_late.id)
    assert codes(body) == {"overdue_check_in"}
    assert days_ago(2 * cadence + 1) in body["reasons"][0]["detail"]

    # Meeting again clears it; an older meeting logged later does not bring it back.
    await log_check_in(client, a_day_late.mentee, a_day_late.id, 1)
    await log_check_in(client, a_day_late.mentor, a_day_late.id, 50)
    body = await health(client, a_day_late.manager, a_day_late.id)
    assert codes(body) == set()
    assert body["last_check_in_on"] == days_ago(1)
    assert body["check_ins"] == 3


# ---------------------------------------------------------------------------------------------
# low_ratings
# ---------------------------------------------------------------------------------------------


async def test_low_ratings_fire_at_a_trimmed_mean_of_2_5(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # 12 ratings, one cut from each end: five 2s and five 3s remain, mean 2.5.
    at_threshold = await factory.paired(activated_days_ago=5)
    await rate(client, db, at_threshold, [(2, 3, 2, 3)] * 3)
    body = await health(client, at_threshold.manager, at_threshold.id)
    assert codes(body) == {"low_ratings"}
    assert body["status"] == "at_risk"
    assert "2.50" in body["reasons"][0]["detail"]

    # One 2 more becomes a 3: four 2s and six 3s remain, mean 2.6.
    above = await factory.paired(
        program=at_threshold.program, manager=at_threshold.manager, activated_days_ago=5
    )
    await rate(client, db, above, [(2, 3, 2, 3), (2, 3, 2, 3), (2, 3, 3, 3)])
    body = await health(client, above.manager, above.id)
    assert codes(body) == set()
    assert body["status"] == "healthy"


async def test_low_ratings_trim_the_extremes(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # Ratings 1, 2 x 4, 3 x 7: the plain mean is 2.5 (it would be low), but the 10% trimmed
    # mean drops the 1 and one 3 and is 2.6: not low.
    entries = [(1, 2, 2, 2), (2, 3, 3, 3), (3, 3, 3, 3)]
    values = [v for e in entries for v in e]
    assert sum(values) / len(values) == 2.5
    assert stats.trim_mean(values, 0.1) == pytest.approx(2.6)
    paired = await factory.paired(activated_days_ago=5)
    await rate(client, db, paired, entries)
    body = await health(client, paired.manager, paired.id)
    assert codes(body) == set()

    # Many 1s are not trimmed away: 1 x 4, 3 x 8 -> trimmed (3 + 21) / 10 = 2.4.
    low = await factory.paired(program=paired.program, manager=paired.manager)
    await rate(client, db, low, [(1, 1, 1, 1), (3, 3, 3, 3), (3, 3, 3, 3)])
    body = await health(client, low.manager, low.id)
    assert codes(body) == {"low_ratings"}


async def test_low_ratings_look_at_the_last_three_entries_only(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # Three old poor entries, three recent good ones: recovered (all six would average 2.0).
    recovered = await factory.paired(activated_days_ago=5)
    await rate(client, db, recovered, [(1, 1, 1, 1)] * 3 + [(3, 3, 3, 3)] * 3)
    body = await health(client, recovered.manager, recovered.id)
    assert codes(body) == set()
    assert body["status"] == "healthy"

    # Three old good entries, three recent poor ones: at risk (all six would average 3.0).
    declining = await factory.paired(program=recovered.program, manager=recovered.manager)
    await rate(client, db, declining, [(4, 4, 4, 4)] * 3 + [(2, 2, 2, 2)] * 3)
    body = await health(client, declining.manager, declining.id)
    assert codes(body) == {"low_ratings"}
    assert "last 3 feedback entries" in body["reasons"][0]["detail"]


async def test_one_poor_entry_is_enough_when_it_is_the_only_one(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    paired = await factory.paired(activated_days_ago=5)
    await rate(client, db, paired, [(3, 3, 3, 3)])
    assert codes(await health(client, paired.manager, paired.id)) == set()

    other = await factory.paired(program=paired.program, manager=paired.manager)
    await rate(client, db, other, [(2, 3, 2, 3)])
    body = await health(client, other.manager, other.id)
    assert codes(body) == {"low_ratings"}


# ---------------------------------------------------------------------------------------------
# open_concern
# ---------------------------------------------------------------------------------------------


async def test_an_open_concern_makes_a_pairing_at_risk_until_resolved(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=5)
    admin = await factory.admin()
    assert (await health(client, paired.manager, paired.id))["status"] == "healthy"

    concern = await raise_concern(client, paired.mentee, paired.id)
    for who in (paired.manager, admin):
        body = await health(client, who, paired.id)
        assert codes(body) == {"open_concern"}
        assert body["status"] == "at_risk"
        assert "We keep talking" not in str(body)  # the reason never quotes the concern

    acknowledged = await client.post(
        f"{API}/concerns/{concern['id']}/acknowledge",
        headers={**paired.manager.headers, "If-Match": '"v1"'},
    )
    assert acknowledged.status_code == 200, acknowledged.text
    body = await health(client, paired.manager, paired.id)
    assert codes(body) == {"open_concern"}  # acknowledged is still open

    resolved = await client.post(
        f"{API}/concerns/{concern['id']}/resolve",
        headers={**paired.manager.headers, "If-Match": acknowledged.headers["etag"]},
        json={"resolution": "Talked to both; agreed on a fresh start."},
    )
    assert resolved.status_code == 200, resolved.text
    for who in (paired.manager, admin):
        body = await health(client, who, paired.id)
        assert codes(body) == set()
        assert body["status"] == "healthy"


async def test_two_open_concerns_are_counted(client: httpx.AsyncClient, factory: Factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    await raise_concern(client, paired.mentee, paired.id)
    await raise_concern(client, paired.mentor, paired.id)
    body = await health(client, paired.manager, paired.id)
    assert [r["detail"] for r in body["reasons"]] == ["2 concern(s) not yet resolved"]


# ---------------------------------------------------------------------------------------------
# goals_past_target
# ---------------------------------------------------------------------------------------------


async def test_goals_past_target_need_attention(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=5)
    # Due today, achieved or dropped late: none of these is past its target.
    await add_goal(client, paired.mentee, paired.id, target_date=days_ago(0))
    await add_goal(client, paired.mentee, paired.id, target_date=days_ago(3), status="achieved")
    await add_goal(client, paired.mentor, paired.id, target_date=days_ago(3), status="dropped")
    await add_goal(client, paired.mentor, paired.id)  # no target date
    body = await health(client, paired.manager, paired.id)
    assert codes(body) == set()
    assert body["status"] == "healthy"
    assert (body["goals"], body["goals_achieved"]) == (4, 1)

    await add_goal(client, paired.mentor, paired.id, target_date=days_ago(1))
    await add_goal(client, paired.mentee, paired.id, target_date=days_ago(9), status="in_progress")
    body = await health(client, paired.manager, paired.id)
    assert codes(body) == {"goals_past_target"}
    assert body["status"] == "needs_attention"
    assert body["reasons"][0]["detail"] == "2 goal(s) past their target date"


async def test_achieving_a_late_goal_clears_the_reason(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await add_goal(client, paired.mentee, paired.id, target_date=days_ago(2))
    assert codes(await health(client, paired.manager, paired.id)) == {"goals_past_target"}
    changed = await client.patch(
        f"{API}/goals/{goal['id']}",
        headers={**paired.mentee.headers, "If-Match": f'"v{goal["version"]}"'},
        json={"status": "achieved"},
    )
    assert changed.status_code == 200, changed.text
    body = await health(client, paired.manager, paired.id)
    assert codes(body) == set()
    assert body["goals_achieved"] == 1


# ---------------------------------------------------------------------------------------------
# ending_without_achievement
# ---------------------------------------------------------------------------------------------


async def test_ending_without_achievement_fires_14_days_before_the_end(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # Four weeks long: live 13 days ago -> ends in 15 days; 14 days ago -> ends in 14.
    paired = await factory.paired(
        activated_days_ago=13, pairing_length_weeks=4, meeting_cadence_days=14
    )
    body = await health(client, paired.manager, paired.id)
    assert body["ends_on"] == (today() + timedelta(days=15)).isoformat()
    assert codes(body) == set()

    await activate_days_ago(db, paired.id, 14)
    body = await health(client, paired.manager, paired.id)
    assert body["ends_on"] == (today() + timedelta(days=14)).isoformat()
    assert codes(body) == {"ending_without_achievement"}
    assert body["status"] == "needs_attention"
    assert body["ends_on"] in body["reasons"][0]["detail"]

    # A dropped goal is no achievement; an achieved one is.
    await add_goal(client, paired.mentee, paired.id, status="dropped")
    assert codes(await health(client, paired.manager, paired.id)) == {"ending_without_achievement"}
    await add_goal(client, paired.mentor, paired.id, status="achieved")
    body = await health(client, paired.manager, paired.id)
    assert codes(body) == set()
    assert body["status"] == "healthy"


async def test_a_pairing_past_its_end_with_nothing_achieved_still_needs_attention(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(
        activated_days_ago=30, pairing_length_weeks=4, meeting_cadence_days=30
    )
    await log_check_in(client, paired.mentor, paired.id, 1)
    body = await health(client, paired.manager, paired.id)
    assert body["ends_on"] == days_ago(2)
    assert codes(body) == {"ending_without_achievement"}


# ---------------------------------------------------------------------------------------------
# Status: at risk outweighs needs attention
# ---------------------------------------------------------------------------------------------


async def test_status_is_at_risk_when_any_risk_reason_is_present(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(
        activated_days_ago=20, pairing_length_weeks=4, meeting_cadence_days=7
    )
    await add_goal(client, paired.mentee, paired.id, target_date=days_ago(1))
    body = await health(client, paired.manager, paired.id)
    assert codes(body) == {"overdue_check_in", "goals_past_target", "ending_without_achievement"}
    assert body["status"] == "at_risk"
    # The reasons come in the documented order (risks first).
    assert [r["code"] for r in body["reasons"]] == [
        "overdue_check_in",
        "goals_past_target",
        "ending_without_achievement",
    ]

    await log_check_in(client, paired.mentor, paired.id, 0)
    body = await health(client, paired.manager, paired.id)
    assert codes(body) == {"goals_past_target", "ending_without_achievement"}
    assert body["status"] == "needs_attention"


# ---------------------------------------------------------------------------------------------
# Readers never see concerns
# ---------------------------------------------------------------------------------------------


async def test_readers_do_not_see_concerns_and_their_status_ignores_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=5)
    reader = await factory.service("read")
    await raise_concern(client, paired.mentor, paired.id)

    team_view = await health(client, paired.manager, paired.id)
    assert team_view["status"] == "at_risk"
    assert codes(team_view) == {"open_concern"}

    reader_view = await health(client, reader, paired.id)
    assert reader_view["status"] == "healthy"
    assert reader_view["reasons"] == []
    assert "concern" not in str(reader_view).lower()

    listed = await client.get(
        f"{API}/programs/{paired.program.id}/pairing-health", headers=reader.headers
    )
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item == reader_view
    at_risk = await client.get(
        f"{API}/programs/{paired.program.id}/pairing-health",
        headers=reader.headers,
        params={"status": "at_risk"},
    )
    assert at_risk.json()["items"] == []
    healthy = await client.get(
        f"{API}/programs/{paired.program.id}/pairing-health",
        headers=reader.headers,
        params={"status": "healthy"},
    )
    assert [h["pairing_id"] for h in healthy.json()["items"]] == [str(paired.id)]


async def test_readers_still_see_the_other_reasons_beside_a_concern(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=5)
    reader = await factory.service("read")
    await raise_concern(client, paired.mentor, paired.id)
    await add_goal(client, paired.mentee, paired.id, target_date=days_ago(1))
    assert (await health(client, paired.manager, paired.id))["status"] == "at_risk"
    body = await health(client, reader, paired.id)
    assert codes(body) == {"goals_past_target"}
    assert body["status"] == "needs_attention"


async def test_an_admin_in_a_pairing_of_their_own_is_a_member_not_the_team(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """An admin taking part reads their own pairing as a member: no health, so no concern."""
    admin_mentee = await factory.admin(job_level=9, department="Finance")
    paired = await factory.paired(activated_days_ago=5, mentee=admin_mentee)
    await raise_concern(client, paired.mentor, paired.id)
    assert_problem(
        await client.get(f"{API}/pairings/{paired.id}/health", headers=admin_mentee.headers), 403
    )
    listed = await client.get(
        f"{API}/programs/{paired.program.id}/pairing-health", headers=admin_mentee.headers
    )
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["status"] == "healthy"
    assert item["reasons"] == []


# ---------------------------------------------------------------------------------------------
# Who may read health
# ---------------------------------------------------------------------------------------------


async def test_members_are_refused_health(client: httpx.AsyncClient, factory: Factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    for member in (paired.mentor, paired.mentee):
        response = await client.get(f"{API}/pairings/{paired.id}/health", headers=member.headers)
        assert_problem(response, 403)
        assert response.json()["rule"] == "program_team"
        listed = await client.get(
            f"{API}/programs/{paired.program.id}/pairing-health", headers=member.headers
        )
        assert_problem(listed, 403)


async def test_unrelated_people_do_not_learn_the_pairing_exists(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=5)
    stranger = await factory.person()
    other_manager = (await factory.paired()).manager
    for who in (stranger, other_manager):
        response = await client.get(f"{API}/pairings/{paired.id}/health", headers=who.headers)
        assert_problem(response, 404)
        # The program is public to them, its health is not.
        listed = await client.get(
            f"{API}/programs/{paired.program.id}/pairing-health", headers=who.headers
        )
        assert_problem(listed, 403)
    missing = await client.get(
        f"{API}/pairings/{uuid.uuid4()}/health", headers=paired.manager.headers
    )
    assert_problem(missing, 404)
    missing_program = await client.get(
        f"{API}/programs/{uuid.uuid4()}/pairing-health", headers=paired.manager.headers
    )
    assert_problem(missing_program, 404)


async def test_services_without_read_are_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=5)
    for scope in ("audit:read", "hris:write"):
        service = await factory.service(scope)
        response = await client.get(f"{API}/pairings/{paired.id}/health", headers=service.headers)
        assert_problem(response, 404)


@pytest.mark.parametrize("state", ["proposed", "paused", "completed", "ended"])
async def test_health_is_for_active_pairings(
    client: httpx.AsyncClient, factory: Factory, state: str
) -> None:
    paired = await factory.paired(state=state, activated_days_ago=5)
    response = await client.get(
        f"{API}/pairings/{paired.id}/health", headers=paired.manager.headers
    )
    assert_problem(response, 409)
    assert response.json()["current_status"] == state
    listed = await client.get(
        f"{API}/programs/{paired.program.id}/pairing-health", headers=paired.manager.headers
    )
    assert listed.status_code == 200
    assert listed.json()["items"] == []


# ---------------------------------------------------------------------------------------------
# The program's list: filter and pages
# ---------------------------------------------------------------------------------------------


async def test_the_program_list_filters_by_status(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    first = await factory.paired(activated_days_ago=5, meeting_cadence_days=7)
    program, manager = first.program, first.manager
    overdue = await factory.paired(program=program, manager=manager, activated_days_ago=30)
    late_goal = await factory.paired(program=program, manager=manager, activated_days_ago=2)
    await add_goal(client, late_goal.mentee, late_goal.id, target_date=days_ago(1))
    paused = await factory.paired(program=program, manager=manager, state="paused")
    other_program = await factory.paired(activated_days_ago=30)

    url = f"{API}/programs/{program.id}/pairing-health"
    everything = (await client.get(url, headers=manager.headers)).json()
    assert {h["pairing_id"] for h in everything["items"]} == {
        str(first.id),
        str(overdue.id),
        str(late_goal.id),
    }
    assert str(paused.id) not in str(everything)
    assert str(other_program.id) not in str(everything)
    assert [h["pairing_id"] for h in everything["items"]] == sorted(
        h["pairing_id"] for h in everything["items"]
    )
    expected = {
        "healthy": [str(first.id)],
        "at_risk": [str(overdue.id)],
        "needs_attention": [str(late_goal.id)],
    }
    for status, ids in expected.items():
        response = await client.get(url, headers=manager.headers, params={"status": status})
        assert response.status_code == 200, response.text
        assert [h["pairing_id"] for h in response.json()["items"]] == ids
        assert all(h["status"] == status for h in response.json()["items"])

    bad = await client.get(url, headers=manager.headers, params={"status": "fine"})
    assert_problem(bad, 422)


async def test_the_program_list_pages_with_a_cursor_and_a_link_header(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    first = await factory.paired(activated_days_ago=30, meeting_cadence_days=7)
    program, manager = first.program, first.manager
    at_risk = [first.id]
    healthy = []
    for i in range(6):
        p = await factory.paired(
            program=program, manager=manager, activated_days_ago=30 if i % 2 else 1
        )
        (at_risk if i % 2 else healthy).append(p.id)
    url = f"{API}/programs/{program.id}/pairing-health"

    async def walk(params: dict[str, Any]) -> list[list[str]]:
        pages: list[list[str]] = []
        cursor: str | None = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            response = await client.get(url, headers=manager.headers, params=query)
            assert response.status_code == 200, response.text
            body = response.json()
            pages.append([h["pairing_id"] for h in body["items"]])
            cursor = body["next_cursor"]
            if cursor is None:
                assert "link" not in response.headers
                return pages
            link = response.headers["link"]
            assert link.endswith('>; rel="next"')
            assert f"cursor={cursor}" in link
            assert len(pages) < 10

    pages = await walk({"limit": 3})
    assert [len(p) for p in pages] == [3, 3, 1]
    flat = [i for p in pages for i in p]
    assert flat == sorted(str(i) for i in at_risk + healthy)
    assert len(set(flat)) == len(flat)

    pages = await walk({"limit": 2, "status": "at_risk"})
    assert [len(p) for p in pages] == [2, 2]
    assert [i for p in pages for i in p] == sorted(str(i) for i in at_risk)

    pages = await walk({"limit": 3, "status": "healthy"})
    assert [len(p) for p in pages] == [3]
    assert pages[0] == sorted(str(i) for i in healthy)


async def test_the_program_list_refuses_bad_paging(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired()
    url = f"{API}/programs/{paired.program.id}/pairing-health"
    for params in ({"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}):
        assert_problem(await client.get(url, headers=paired.manager.headers, params=params), 422)
