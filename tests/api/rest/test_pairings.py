"""Pairings end to end over REST: matching runs, acceptance, exits, requests, blocks, expiry."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.db.models import Employee, MatchingRun, Pairing
from app.db.types import utcnow
from app.domain import programs
from app.domain.actors import Actor
from app.domain.programs import ProgramStatus
from app.main import maintain

SYSTEM = Actor.system()


async def to_matching(db, program) -> None:
    async with db.session() as session:
        await programs.transition_program(
            session, SYSTEM, program.id, to=ProgramStatus.MATCHING, expected_version=None
        )
        await session.commit()


async def cohort(factory, db, *, mentors: int = 2, mentees: int = 2, **program_kw: Any):
    """A program in 'matching' with juniors as mentors and seniors as mentees."""
    pm = await factory.person(department="People", job_level=8)
    admin = await factory.admin(department="People")
    program = await factory.program(managers=[pm.employee], **program_kw)
    boss = await factory.employee(job_level=12, department="Board")
    junior = [
        await factory.person(
            job_level=2,
            department="Engineering",
            manager_id=boss.id,
            languages=["English"],
            location="Berlin",
        )
        for _ in range(mentors)
    ]
    senior = [
        await factory.person(
            job_level=9,
            department="Finance",
            manager_id=boss.id,
            languages=["English"],
            location="Berlin",
        )
        for _ in range(mentees)
    ]
    for person in junior:
        await factory.enrollment(
            person,
            program,
            role="mentor",
            capacity=1,
            can_teach=["AI tools", "Slack", "social media"],
        )
    for person in senior:
        await factory.enrollment(
            person, program, role="mentee", wants_to_learn=["AI tools", "Slack"]
        )
    await to_matching(db, program)
    return {"pm": pm, "admin": admin, "program": program, "mentors": junior, "mentees": senior}


async def run_matching(client, headers, program_id, **body: Any) -> dict[str, Any]:
    started = await client.post(
        f"/api/v1/programs/{program_id}/matching-runs", headers=headers, json=body
    )
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    for _ in range(200):  # bounded: a small cohort solves in milliseconds
        run = (await client.get(location, headers=headers)).json()
        if run["status"] in ("succeeded", "failed"):
            return run
        await asyncio.sleep(0.02)
    raise AssertionError("the matching run did not finish")


async def etag(client, headers, url) -> str:
    return (await client.get(url, headers=headers)).headers["etag"]


async def act(client, person, pairing_id: str, action: str, body: Any = None):
    url = f"/api/v1/pairings/{pairing_id}"
    tag = await etag(client, person.headers, url)
    return await client.post(
        f"{url}/{action}", headers={**person.headers, "If-Match": tag}, json=body
    )


async def test_a_matching_run_proposes_explained_pairings(client, factory, db) -> None:
    c = await cohort(factory, db)
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    assert run["status"] == "succeeded", run
    assert len(run["proposals"]) == 2
    assert run["unmatched"] == []
    assert {"load_ms", "solve_ms", "store_ms", "total_ms"} <= run["timings_ms"].keys()
    proposal = run["proposals"][0]
    texts = " | ".join(e["text"] for e in proposal["explanation"])
    assert "2 shared topics" in texts
    assert "different departments" in texts
    assert 0 < proposal["score"] <= 100
    listed = await client.get(
        f"/api/v1/pairings?program_id={c['program'].id}&state=proposed", headers=c["pm"].headers
    )
    assert {p["id"] for p in listed.json()["items"]} == {p["pairing_id"] for p in run["proposals"]}


async def test_a_dry_run_creates_no_pairings(client, factory, db) -> None:
    c = await cohort(factory, db)
    run = await run_matching(client, c["pm"].headers, c["program"].id, dry_run=True)
    assert run["status"] == "succeeded"
    assert len(run["proposals"]) == 2
    assert all(p["pairing_id"] is None for p in run["proposals"])
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Pairing)) == 0


async def test_unmatched_people_are_told_why(client, factory, db) -> None:
    c = await cohort(factory, db, mentors=1, mentees=1)
    # A senior who manages the only mentor cannot be matched with them (reporting line).
    boss = await factory.person(job_level=10, department="Sales")
    async with db.session() as session:
        await session.execute(
            update(type(c["mentors"][0].employee))
            .where(type(c["mentors"][0].employee).id == c["mentors"][0].id)
            .values(manager_id=boss.id)
        )
        await session.commit()
    async with db.session() as session:
        await programs.transition_program(
            session, SYSTEM, c["program"].id, to=ProgramStatus.ENROLLING, expected_version=None
        )
        await session.commit()
    await factory.enrollment(boss, c["program"], role="mentee", wants_to_learn=["AI tools"])
    await to_matching(db, c["program"])
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    unmatched = {u["employee_id"]: u["reason"] for u in run["unmatched"]}
    assert str(boss.id) in unmatched
    assert "reporting line" in unmatched[str(boss.id)]


async def test_both_must_accept_before_a_pairing_goes_live(client, factory, db) -> None:
    c = await cohort(factory, db, mentors=1, mentees=1)
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    pairing_id = run["proposals"][0]["pairing_id"]
    mentor, mentee = c["mentors"][0], c["mentees"][0]
    first = await act(client, mentor, pairing_id, "accept")
    assert first.status_code == 200
    assert first.json()["state"] == "proposed"
    assert first.json()["mentor"]["accepted_at"] is not None
    second = await act(client, mentee, pairing_id, "accept")
    assert second.json()["state"] == "active"
    assert second.json()["activated_at"] is not None
    again = await act(client, mentee, pairing_id, "accept")
    assert again.status_code == 409
    assert again.json()["current_status"] == "active"


async def test_partners_see_limited_details_and_strangers_nothing(client, factory, db) -> None:
    c = await cohort(factory, db, mentors=1, mentees=1)
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    pairing_id = run["proposals"][0]["pairing_id"]
    view = await client.get(f"/api/v1/pairings/{pairing_id}", headers=c["mentors"][0].headers)
    assert view.status_code == 200
    partner = view.json()["mentee"]
    assert partner["display_name"] == c["mentees"][0].employee.display_name
    assert "job_level" not in partner
    assert "manager_id" not in partner
    stranger = await factory.person()
    hidden = await client.get(f"/api/v1/pairings/{pairing_id}", headers=stranger.headers)
    assert hidden.status_code == 404


async def test_an_early_exit_note_is_for_the_program_team_only(client, factory, db) -> None:
    c = await cohort(factory, db, mentors=1, mentees=1)
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    pairing_id = run["proposals"][0]["pairing_id"]
    mentor, mentee = c["mentors"][0], c["mentees"][0]
    await act(client, mentor, pairing_id, "accept")
    await act(client, mentee, pairing_id, "accept")
    ended = await act(
        client,
        mentee,
        pairing_id,
        "end",
        {"reason": "not_a_good_fit", "note": "felt patronised in meetings"},
    )
    assert ended.status_code == 200
    partner_view = (
        await client.get(f"/api/v1/pairings/{pairing_id}", headers=mentor.headers)
    ).json()
    assert partner_view["state"] == "ended"
    assert partner_view["end_note"] is None
    assert partner_view["end_reason"] is None
    assert partner_view["ended_by"] is None
    assert "patronised" not in str(partner_view)
    team_view = (await client.get(f"/api/v1/pairings/{pairing_id}", headers=c["pm"].headers)).json()
    assert team_view["end_note"] == "felt patronised in meetings"
    assert team_view["end_reason"] == "not_a_good_fit"
    audit = await client.get(
        f"/api/v1/audit-events?entity_id={pairing_id}", headers=c["admin"].headers
    )
    assert "patronised" not in audit.text


async def test_declined_pairs_are_never_proposed_again(client, factory, db) -> None:
    c = await cohort(factory, db, mentors=1, mentees=1)
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    pairing_id = run["proposals"][0]["pairing_id"]
    declined = await act(client, c["mentees"][0], pairing_id, "decline", {"reason": "busy"})
    assert declined.json()["state"] == "declined"
    rerun = await run_matching(client, c["pm"].headers, c["program"].id, only_unmatched=True)
    assert rerun["proposals"] == []
    assert len(rerun["unmatched"]) == 2


async def test_full_rerun_is_refused_once_pairings_exist(client, factory, db) -> None:
    c = await cohort(factory, db)
    await run_matching(client, c["pm"].headers, c["program"].id)
    again = await client.post(
        f"/api/v1/programs/{c['program'].id}/matching-runs", headers=c["pm"].headers, json={}
    )
    assert again.status_code == 409
    assert again.json()["rule"] == "rematch_only_unmatched"


async def test_only_managers_run_matching(client, factory, db) -> None:
    c = await cohort(factory, db)
    refused = await client.post(
        f"/api/v1/programs/{c['program'].id}/matching-runs",
        headers=c["mentors"][0].headers,
        json={},
    )
    assert refused.status_code == 403


async def test_unanswered_proposals_expire_by_themselves(client, factory, db) -> None:
    c = await cohort(factory, db, mentors=1, mentees=1)
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    pairing_id = run["proposals"][0]["pairing_id"]
    async with db.session() as session:
        await session.execute(update(Pairing).values(expires_at=utcnow() - timedelta(minutes=1)))
        await session.commit()
    done = await maintain(db)
    assert done["pairings_expired"] == 1
    view = await client.get(f"/api/v1/pairings/{pairing_id}", headers=c["pm"].headers)
    assert view.json()["state"] == "expired"
    assert (await maintain(db))["pairings_expired"] == 0


async def test_pairings_complete_at_the_end_of_their_length(client, factory, db) -> None:
    c = await cohort(factory, db, mentors=1, mentees=1, pairing_length_weeks=4)
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    pairing_id = run["proposals"][0]["pairing_id"]
    await act(client, c["mentors"][0], pairing_id, "accept")
    await act(client, c["mentees"][0], pairing_id, "accept")
    async with db.session() as session:
        await session.execute(
            update(Pairing).values(activated_at=utcnow() - timedelta(weeks=4, minutes=1))
        )
        await session.commit()
    assert (await maintain(db))["pairings_completed"] == 1
    view = await client.get(f"/api/v1/pairings/{pairing_id}", headers=c["pm"].headers)
    assert view.json()["state"] == "completed"


async def test_pause_resume_and_complete(client, factory, db) -> None:
    c = await cohort(factory, db, mentors=1, mentees=1)
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    pairing_id = run["proposals"][0]["pairing_id"]
    await act(client, c["mentors"][0], pairing_id, "accept")
    await act(client, c["mentees"][0], pairing_id, "accept")
    assert (await act(client, c["mentors"][0], pairing_id, "pause")).json()["state"] == "paused"
    assert (await act(client, c["pm"], pairing_id, "resume")).json()["state"] == "active"
    not_member = await act(client, c["mentors"][0], pairing_id, "complete")
    assert not_member.status_code == 403
    assert (await act(client, c["pm"], pairing_id, "complete")).json()["state"] == "completed"


async def test_manual_pairing_checks_hard_rules_and_needs_a_reason_below_min_score(
    client, factory, db
) -> None:
    c = await cohort(factory, db, mentors=1, mentees=2)
    enrollments = (
        await client.get(f"/api/v1/programs/{c['program'].id}/enrollments", headers=c["pm"].headers)
    ).json()["items"]
    mentor = next(e for e in enrollments if e["role"] == "mentor")
    mentees = [e for e in enrollments if e["role"] == "mentee"]
    body = {
        "program_id": str(c["program"].id),
        "mentor_enrollment_id": mentor["id"],
        "mentee_enrollment_id": mentees[0]["id"],
    }
    wrong_roles = await client.post(
        "/api/v1/pairings",
        headers=c["pm"].headers,
        json={**body, "mentor_enrollment_id": mentees[1]["id"]},
    )
    assert wrong_roles.status_code == 422
    async with db.session() as session:
        await programs.update_program(
            session,
            SYSTEM,
            c["program"].id,
            data=programs.ProgramUpdate(matching=programs.MatchingSettings(min_score=99)),
            expected_version=None,
        )
        # Different cities: a good pair, but not a perfect one.
        await session.execute(
            update(Employee)
            .where(Employee.id == uuid.UUID(mentees[0]["employee_id"]))
            .values(location="London")
        )
        await session.commit()
    low = await client.post("/api/v1/pairings", headers=c["pm"].headers, json=body)
    assert low.status_code == 422
    assert low.json()["rule"] == "justification_required"
    ok = await client.post(
        "/api/v1/pairings",
        headers=c["pm"].headers,
        json={**body, "justification": "they asked us at the kick-off"},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["state"] == "proposed"
    assert ok.json()["justification"] == "they asked us at the kick-off"
    twice = await client.post(
        "/api/v1/pairings", headers=c["pm"].headers, json={**body, "justification": "again"}
    )
    assert twice.status_code == 409


async def test_a_request_accepted_makes_an_active_pairing(client, factory, db) -> None:
    c = await cohort(factory, db, mentors=2, mentees=1)
    mentee = c["mentees"][0]
    enrollments = (
        await client.get(f"/api/v1/programs/{c['program'].id}/enrollments", headers=c["pm"].headers)
    ).json()["items"]
    mentor_enrollments = [e for e in enrollments if e["role"] == "mentor"]
    first = await client.post(
        "/api/v1/pairing-requests",
        headers=mentee.headers,
        json={
            "requested_enrollment_id": mentor_enrollments[0]["id"],
            "message": "I would love to learn Slack from you",
        },
    )
    assert first.status_code == 201, first.text
    second = await client.post(
        "/api/v1/pairing-requests",
        headers=mentee.headers,
        json={"requested_enrollment_id": mentor_enrollments[1]["id"]},
    )
    assert second.status_code == 409
    assert second.json()["rule"] == "one_pending_request"
    requested = next(p for p in c["mentors"] if str(p.id) == mentor_enrollments[0]["employee_id"])
    inbox = await client.get("/api/v1/pairing-requests?status=pending", headers=requested.headers)
    assert [r["id"] for r in inbox.json()["items"]] == [first.json()["id"]]
    accepted = await client.post(
        f"/api/v1/pairing-requests/{first.json()['id']}/accept",
        headers={**requested.headers, "If-Match": first.headers["etag"]},
    )
    assert accepted.status_code == 200, accepted.text
    pairing = await client.get(
        f"/api/v1/pairings/{accepted.json()['pairing_id']}", headers=mentee.headers
    )
    assert pairing.json()["state"] == "active"
    assert pairing.json()["origin"] == "request"


async def test_blocks_are_respected_and_never_revealed(client, factory, db) -> None:
    c = await cohort(factory, db, mentors=1, mentees=1)
    mentor, mentee = c["mentors"][0], c["mentees"][0]
    blocked = await client.post(
        "/api/v1/blocks", headers=mentee.headers, json={"employee_id": str(mentor.id)}
    )
    assert blocked.status_code == 201
    run = await run_matching(client, c["pm"].headers, c["program"].id, dry_run=True)
    assert run["proposals"] == []
    enrollments = (
        await client.get(f"/api/v1/programs/{c['program'].id}/enrollments", headers=c["pm"].headers)
    ).json()["items"]
    mentee_enrollment = next(e for e in enrollments if e["role"] == "mentee")
    request = await client.post(
        "/api/v1/pairing-requests",
        headers=mentor.headers,
        json={"requested_enrollment_id": mentee_enrollment["id"]},
    )
    assert request.status_code == 422
    assert request.json()["rule"] == "not_eligible"
    assert "block" not in request.text.lower()
    mine = await client.get("/api/v1/blocks", headers=mentor.headers)
    assert mine.json()["items"] == []
    unblock = await client.delete(f"/api/v1/blocks/{blocked.json()['id']}", headers=mentee.headers)
    assert unblock.status_code == 204


@pytest.mark.parametrize("action", ["accept", "decline"])
async def test_only_members_accept_or_decline(client, factory, db, action) -> None:
    c = await cohort(factory, db, mentors=1, mentees=1)
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    pairing_id = run["proposals"][0]["pairing_id"]
    response = await act(client, c["pm"], pairing_id, action, {} if action == "decline" else None)
    assert response.status_code == 403


async def test_runs_are_recorded(client, factory, db) -> None:
    c = await cohort(factory, db)
    await run_matching(client, c["pm"].headers, c["program"].id, dry_run=True)
    listed = await client.get(
        f"/api/v1/programs/{c['program'].id}/matching-runs", headers=c["pm"].headers
    )
    assert [r["status"] for r in listed.json()["items"]] == ["succeeded"]
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(MatchingRun)) == 1


async def test_expiry_needs_no_request_the_running_app_does_it(client, factory, db, settings):
    from app.main import create_app

    c = await cohort(factory, db, mentors=1, mentees=1)
    run = await run_matching(client, c["pm"].headers, c["program"].id)
    pairing_id = uuid.UUID(run["proposals"][0]["pairing_id"])
    async with db.session() as session:
        await session.execute(update(Pairing).values(expires_at=utcnow() - timedelta(minutes=1)))
        await session.commit()
    app = create_app(settings.model_copy(update={"maintenance_interval_seconds": 1}))
    async with app.router.lifespan_context(app):
        for _ in range(50):  # bounded: the loop runs every second
            async with db.session() as session:
                pairing = await session.get(Pairing, pairing_id)
                assert pairing is not None
                if pairing.state == "expired":
                    break
            await asyncio.sleep(0.1)
    assert pairing.state == "expired"
