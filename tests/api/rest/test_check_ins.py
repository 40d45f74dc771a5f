"""Check-ins over REST: either member logs and corrects a meeting; shared notes are for the two
members, a private note for its author alone; the audit log never holds what was said."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.db.models import AuditEvent, CheckIn, CheckInPrivateNote, IdempotencyRecord, Pairing
from app.db.types import utcnow

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"


def check_ins_url(paired: Any) -> str:
    return f"{API}/pairings/{paired.id}/check-ins"


def days_ago(n: int) -> str:
    return (utcnow().date() - timedelta(days=n)).isoformat()


def meeting(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"met_on": days_ago(1), "duration_minutes": 45, "mode": "video"}
    body.update(overrides)
    return body


async def log(client, person, paired, **overrides: Any) -> dict[str, Any]:
    response = await client.post(
        check_ins_url(paired), headers=person.headers, json=meeting(**overrides)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def patch_check_in(client, person, check_in: dict[str, Any], body: Any):
    return await client.patch(
        f"{API}/check-ins/{check_in['id']}",
        headers={**person.headers, "If-Match": f'"v{check_in["version"]}"'},
        json=body,
    )


def note_url(check_in: dict[str, Any]) -> str:
    return f"{API}/check-ins/{check_in['id']}/private-note"


def assert_problem(response, status: int, *, rule: str | None = None, field: str | None = None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["status"] == status
    assert problem["detail"]
    if rule is not None:
        assert problem["rule"] == rule, problem
    if field is not None:
        assert problem["field"] == field, problem
    return problem


def error_fields(response) -> set[str]:
    return {e["field"].removeprefix("body.") for e in response.json()["errors"]}


async def stored_check_ins(db) -> list[CheckIn]:
    async with db.session() as session:
        return list((await session.execute(select(CheckIn))).scalars().all())


async def stored_notes(db) -> list[CheckInPrivateNote]:
    async with db.session() as session:
        return list((await session.execute(select(CheckInPrivateNote))).scalars().all())


# --- logging --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["mentor", "mentee"])
async def test_either_member_logs_a_meeting(client, factory, db, role) -> None:
    paired = await factory.paired(activated_days_ago=30)
    member = getattr(paired, role)
    response = await client.post(
        check_ins_url(paired),
        headers=member.headers,
        json=meeting(
            met_on=days_ago(2),
            duration_minutes=60,
            mode="in_person",
            topics=["AI tools", " ai  tools ", "Slack"],
            shared_notes="We set up a prompt library together",
        ),
    )
    assert response.status_code == 201, response.text
    check_in = response.json()
    assert check_in["pairing_id"] == str(paired.id)
    assert check_in["program_id"] == str(paired.program.id)
    assert check_in["logged_by_id"] == str(member.id)
    assert check_in["met_on"] == days_ago(2)
    assert check_in["duration_minutes"] == 60
    assert check_in["mode"] == "in_person"
    assert check_in["topics"] == ["AI tools", "Slack"]
    assert check_in["shared_notes"] == "We set up a prompt library together"
    assert check_in["private_note"] is None
    assert check_in["version"] == 1
    assert response.headers["etag"] == '"v1"'
    assert response.headers["location"].endswith(f"{API}/check-ins/{check_in['id']}")
    fetched = await client.get(response.headers["location"], headers=member.headers)
    assert fetched.status_code == 200
    assert fetched.headers["etag"] == '"v1"'
    assert fetched.json() == check_in
    [stored] = await stored_check_ins(db)
    assert str(stored.id) == check_in["id"]
    assert stored.logged_by_id == member.id
    assert await stored_notes(db) == []


async def test_defaults_for_topics_and_notes(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentor, paired)
    assert check_in["topics"] == []
    assert check_in["shared_notes"] == ""
    assert check_in["private_note"] is None


@pytest.mark.parametrize("state", ["paused", "completed"])
async def test_meetings_are_logged_in_pairings_that_went_live(client, factory, state) -> None:
    paired = await factory.paired(state=state, activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired)
    assert check_in["met_on"] == days_ago(1)


async def test_a_proposed_pairing_takes_no_meetings(client, factory, db) -> None:
    paired = await factory.paired(state="proposed")
    response = await client.post(
        check_ins_url(paired), headers=paired.mentor.headers, json=meeting(met_on=days_ago(0))
    )
    problem = assert_problem(response, 409, rule="pairing_live")
    assert problem["current_status"] == "proposed"
    assert await stored_check_ins(db) == []


async def test_meetings_cannot_be_in_the_future(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=30)
    response = await client.post(
        check_ins_url(paired),
        headers=paired.mentor.headers,
        json=meeting(met_on=(utcnow().date() + timedelta(days=2)).isoformat()),
    )
    assert_problem(response, 422, rule="past_date", field="met_on")
    assert await stored_check_ins(db) == []


async def test_a_calendar_a_day_ahead_is_allowed(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=30)
    tomorrow = (utcnow().date() + timedelta(days=1)).isoformat()
    check_in = await log(client, paired.mentor, paired, met_on=tomorrow)
    assert check_in["met_on"] == tomorrow
    today = await log(client, paired.mentor, paired, met_on=days_ago(0))
    assert today["met_on"] == days_ago(0)


async def test_meetings_before_the_pairing_went_live_are_refused(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=30)
    assert paired.pairing.activated_at is not None
    live_on = paired.pairing.activated_at.date()
    too_early = (live_on - timedelta(days=2)).isoformat()
    response = await client.post(
        check_ins_url(paired), headers=paired.mentor.headers, json=meeting(met_on=too_early)
    )
    problem = assert_problem(response, 422, rule="during_pairing", field="met_on")
    assert live_on.isoformat() in problem["detail"]
    assert await stored_check_ins(db) == []
    # The day it went live (and, for time zones, the day before) are fine.
    for day in (live_on, live_on - timedelta(days=1)):
        await log(client, paired.mentor, paired, met_on=day.isoformat())


async def test_meetings_after_a_pairing_closed_are_refused(client, factory, db) -> None:
    paired = await factory.paired(state="completed", activated_days_ago=60)
    async with db.session() as session:
        await session.execute(
            update(Pairing)
            .where(Pairing.id == paired.id)
            .values(closed_at=utcnow() - timedelta(days=10))
        )
        await session.commit()
    response = await client.post(
        check_ins_url(paired), headers=paired.mentee.headers, json=meeting(met_on=days_ago(2))
    )
    assert_problem(response, 422, rule="during_pairing", field="met_on")
    await log(client, paired.mentee, paired, met_on=days_ago(20))


@pytest.mark.parametrize("minutes", [5, 600])
async def test_duration_bounds_are_accepted(client, factory, minutes) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentor, paired, duration_minutes=minutes)
    assert check_in["duration_minutes"] == minutes


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": 601}, "duration_minutes"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": "45"}, "duration_minutes"),
        ({"duration_minutes": 45.5}, "duration_minutes"),
        ({"duration_minutes": None}, "duration_minutes"),
        ({"mode": "phone"}, "mode"),
        ({"mode": "VIDEO"}, "mode"),
        ({"met_on": "yesterday"}, "met_on"),
        ({"met_on": "2024-02-30"}, "met_on"),
        ({"met_on": 0}, "met_on"),
        ({"topics": "AI tools"}, "topics"),
        ({"topics": ["x" * 65]}, "topics.0"),
        ({"shared_notes": "x" * 10001}, "shared_notes"),
        ({"private_note": "x" * 10001}, "private_note"),
        ({"logged_by_id": str(uuid.uuid4())}, "logged_by_id"),
        ({"notes": "typo of shared_notes"}, "notes"),
    ],
)
async def test_invalid_meetings_are_refused_naming_the_field(
    client, factory, db, override, field
) -> None:
    paired = await factory.paired(activated_days_ago=30)
    response = await client.post(
        check_ins_url(paired), headers=paired.mentor.headers, json=meeting(**override)
    )
    assert_problem(response, 422)
    assert field in error_fields(response)
    assert await stored_check_ins(db) == []


@pytest.mark.parametrize("missing", ["met_on", "duration_minutes", "mode"])
async def test_required_fields_must_be_sent(client, factory, missing) -> None:
    paired = await factory.paired(activated_days_ago=30)
    body = meeting()
    del body[missing]
    response = await client.post(check_ins_url(paired), headers=paired.mentor.headers, json=body)
    assert_problem(response, 422)
    assert missing in error_fields(response)


@pytest.mark.parametrize("mode", ["in_person", "video", "chat"])
async def test_every_meeting_mode_is_accepted(client, factory, mode) -> None:
    paired = await factory.paired(activated_days_ago=30)
    assert (await log(client, paired.mentor, paired, mode=mode))["mode"] == mode


async def test_only_members_log_meetings(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=30)
    admin = await factory.admin()
    reader = await factory.service("read")
    for outsider in (paired.manager, admin, reader):
        response = await client.post(
            check_ins_url(paired), headers=outsider.headers, json=meeting()
        )
        assert_problem(response, 403, rule="member_only")
    stranger = await factory.person()
    response = await client.post(check_ins_url(paired), headers=stranger.headers, json=meeting())
    assert_problem(response, 404)
    assert await stored_check_ins(db) == []


# --- who reads what -------------------------------------------------------------------------


async def test_shared_notes_are_for_the_two_members_only(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(
        client, paired.mentee, paired, shared_notes="We talked about my fear of Slack threads"
    )
    url = f"{API}/check-ins/{check_in['id']}"
    for member in (paired.mentor, paired.mentee):
        one = (await client.get(url, headers=member.headers)).json()
        assert one["shared_notes"] == "We talked about my fear of Slack threads"
        listed = (await client.get(check_ins_url(paired), headers=member.headers)).json()
        assert listed["items"][0]["shared_notes"] == "We talked about my fear of Slack threads"
    admin = await factory.admin()
    reader = await factory.service("read")
    for overseer in (paired.manager, admin, reader):
        response = await client.get(url, headers=overseer.headers)
        assert response.status_code == 200, response.text
        one = response.json()
        assert one["shared_notes"] is None
        # They still see that the meeting happened.
        assert one["met_on"] == check_in["met_on"]
        assert one["duration_minutes"] == check_in["duration_minutes"]
        assert one["mode"] == check_in["mode"]
        assert one["topics"] == check_in["topics"]
        listed = await client.get(check_ins_url(paired), headers=overseer.headers)
        assert listed.status_code == 200
        assert listed.json()["items"][0]["shared_notes"] is None
        assert "Slack threads" not in response.text + listed.text


async def test_a_private_note_is_read_by_its_author_alone(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=30)
    response = await client.post(
        check_ins_url(paired),
        headers=paired.mentee.headers,
        json=meeting(private_note="I felt talked down to today"),
    )
    assert response.status_code == 201, response.text
    check_in = response.json()
    assert check_in["private_note"] == "I felt talked down to today"
    url = f"{API}/check-ins/{check_in['id']}"
    # Answers holding a private note are kept by no cache.
    assert response.headers["cache-control"] == "no-store"
    mine = await client.get(url, headers=paired.mentee.headers)
    assert mine.json()["private_note"] == "I felt talked down to today"
    assert mine.headers["cache-control"] == "no-store"
    own_note = await client.get(note_url(check_in), headers=paired.mentee.headers)
    assert own_note.json()["body"] == "I felt talked down to today"
    assert own_note.headers["cache-control"] == "no-store"
    mine_listed = await client.get(check_ins_url(paired), headers=paired.mentee.headers)
    assert mine_listed.json()["items"][0]["private_note"] == "I felt talked down to today"
    admin = await factory.admin()
    reader = await factory.service("read")
    for other in (paired.mentor, paired.manager, admin, reader):
        one = await client.get(url, headers=other.headers)
        assert one.status_code == 200
        assert one.json()["private_note"] is None
        listed = await client.get(check_ins_url(paired), headers=other.headers)
        assert listed.json()["items"][0]["private_note"] is None
        assert "talked down" not in one.text + listed.text
    [note] = await stored_notes(db)
    assert note.author_employee_id == paired.mentee.id
    assert note.body == "I felt talked down to today"


async def test_an_empty_private_note_is_not_kept(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired, private_note="")
    assert check_in["private_note"] is None
    assert await stored_notes(db) == []
    assert_problem(await client.get(note_url(check_in), headers=paired.mentee.headers), 404)


async def test_strangers_and_other_programs_managers_see_no_check_ins(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=30)
    other = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired)
    stranger = await factory.person()
    for outsider in (stranger, other.manager, other.mentor):
        assert_problem(
            await client.get(f"{API}/check-ins/{check_in['id']}", headers=outsider.headers), 404
        )
        assert_problem(await client.get(check_ins_url(paired), headers=outsider.headers), 404)
        assert_problem(
            await patch_check_in(client, outsider, check_in, {"duration_minutes": 30}), 404
        )
    assert_problem(
        await client.get(f"{API}/check-ins/{uuid.uuid4()}", headers=paired.mentee.headers), 404
    )


# --- private notes --------------------------------------------------------------------------


async def test_a_member_writes_rewrites_reads_and_deletes_their_private_note(
    client, factory, db
) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentor, paired)
    url = note_url(check_in)
    assert_problem(await client.get(url, headers=paired.mentor.headers), 404)
    written = await client.put(url, headers=paired.mentor.headers, json={"body": "First try"})
    assert written.status_code == 200, written.text
    assert written.json()["check_in_id"] == check_in["id"]
    assert written.json()["body"] == "First try"
    read = await client.get(url, headers=paired.mentor.headers)
    assert read.status_code == 200
    assert read.json()["body"] == "First try"
    rewritten = await client.put(url, headers=paired.mentor.headers, json={"body": "Second try"})
    assert rewritten.status_code == 200
    assert rewritten.json()["body"] == "Second try"
    assert rewritten.json()["updated_at"] >= written.json()["updated_at"]
    [note] = await stored_notes(db)
    assert note.body == "Second try"
    shown = await client.get(f"{API}/check-ins/{check_in['id']}", headers=paired.mentor.headers)
    assert shown.json()["private_note"] == "Second try"
    deleted = await client.delete(url, headers=paired.mentor.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert await stored_notes(db) == []
    assert_problem(await client.get(url, headers=paired.mentor.headers), 404)
    assert_problem(await client.delete(url, headers=paired.mentor.headers), 404)
    shown = await client.get(f"{API}/check-ins/{check_in['id']}", headers=paired.mentor.headers)
    assert shown.json()["private_note"] is None


async def test_the_partners_note_is_their_own_and_separate(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=30)
    response = await client.post(
        check_ins_url(paired),
        headers=paired.mentee.headers,
        json=meeting(private_note="Mentee's thoughts"),
    )
    check_in = response.json()
    url = note_url(check_in)
    # The partner has no note yet: they do not get the author's.
    assert_problem(await client.get(url, headers=paired.mentor.headers), 404)
    partner = await client.put(url, headers=paired.mentor.headers, json={"body": "Mentor's own"})
    assert partner.status_code == 200, partner.text
    assert (await client.get(url, headers=paired.mentor.headers)).json()["body"] == "Mentor's own"
    assert (await client.get(url, headers=paired.mentee.headers)).json()["body"] == (
        "Mentee's thoughts"
    )
    mentor_view = await client.get(
        f"{API}/check-ins/{check_in['id']}", headers=paired.mentor.headers
    )
    assert mentor_view.json()["private_note"] == "Mentor's own"
    mentee_view = await client.get(
        f"{API}/check-ins/{check_in['id']}", headers=paired.mentee.headers
    )
    assert mentee_view.json()["private_note"] == "Mentee's thoughts"
    notes = {n.author_employee_id: n.body for n in await stored_notes(db)}
    assert notes == {paired.mentee.id: "Mentee's thoughts", paired.mentor.id: "Mentor's own"}
    # Deleting one's own note leaves the partner's alone.
    assert (await client.delete(url, headers=paired.mentor.headers)).status_code == 204
    assert (await client.get(url, headers=paired.mentee.headers)).json()["body"] == (
        "Mentee's thoughts"
    )


async def test_the_program_team_cannot_touch_private_notes(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = (
        await client.post(
            check_ins_url(paired),
            headers=paired.mentee.headers,
            json=meeting(private_note="Only mine"),
        )
    ).json()
    url = note_url(check_in)
    admin = await factory.admin()
    for overseer in (paired.manager, admin):
        assert_problem(await client.get(url, headers=overseer.headers), 403, rule="member_only")
        put = await client.put(url, headers=overseer.headers, json={"body": "Team note"})
        assert_problem(put, 403, rule="member_only")
        assert_problem(await client.delete(url, headers=overseer.headers), 403, rule="member_only")
    reader = await factory.service("read")
    for response in (
        await client.get(url, headers=reader.headers),
        await client.put(url, headers=reader.headers, json={"body": "Reader note"}),
        await client.delete(url, headers=reader.headers),
    ):
        assert response.status_code == 403, response.text
        assert "Only mine" not in response.text
    [note] = await stored_notes(db)
    assert (note.author_employee_id, note.body) == (paired.mentee.id, "Only mine")


async def test_unrelated_people_get_404_on_private_notes(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=30)
    other = await factory.paired(activated_days_ago=30)
    check_in = (
        await client.post(
            check_ins_url(paired),
            headers=paired.mentee.headers,
            json=meeting(private_note="Only mine"),
        )
    ).json()
    url = note_url(check_in)
    stranger = await factory.person()
    for outsider in (stranger, other.mentee, other.manager):
        assert_problem(await client.get(url, headers=outsider.headers), 404)
        assert_problem(await client.put(url, headers=outsider.headers, json={"body": "x"}), 404)
        assert_problem(await client.delete(url, headers=outsider.headers), 404)
    missing = f"{API}/check-ins/{uuid.uuid4()}/private-note"
    assert_problem(
        await client.put(missing, headers=paired.mentee.headers, json={"body": "x"}), 404
    )
    assert len(await stored_notes(db)) == 1


async def test_saving_a_private_note_twice_at_once_keeps_one(client, factory, db) -> None:
    """A double-clicked save: both writes are answered, and one note remains."""
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired)
    url = note_url(check_in)
    for attempt in range(3):
        responses = await asyncio.gather(
            *(
                client.put(url, headers=paired.mentee.headers, json={"body": f"{attempt}-{i}"})
                for i in range(4)
            )
        )
        assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
        [note] = await stored_notes(db)
        assert note.body in {r.json()["body"] for r in responses}
        read = await client.get(url, headers=paired.mentee.headers)
        assert read.json()["body"] == note.body
        assert (await client.delete(url, headers=paired.mentee.headers)).status_code == 204


async def test_deleting_a_private_note_twice_at_once(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired, private_note="gone soon")
    url = note_url(check_in)
    responses = await asyncio.gather(
        *(client.delete(url, headers=paired.mentee.headers) for _ in range(3))
    )
    assert sorted(r.status_code for r in responses) == [204, 404, 404]
    assert await stored_notes(db) == []


@pytest.mark.parametrize(
    "body", [{"body": ""}, {"body": "   "}, {"body": "x" * 10001}, {}, {"body": "a", "x": 1}]
)
async def test_invalid_private_notes_are_refused(client, factory, db, body) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired)
    response = await client.put(note_url(check_in), headers=paired.mentee.headers, json=body)
    assert_problem(response, 422)
    assert await stored_notes(db) == []


async def test_a_private_note_leaves_no_trace_on_the_check_in(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentor, paired)
    url = f"{API}/check-ins/{check_in['id']}"
    before = await client.get(url, headers=paired.mentee.headers)
    assert (
        await client.put(note_url(check_in), headers=paired.mentor.headers, json={"body": "hmm"})
    ).status_code == 200
    after = await client.get(url, headers=paired.mentee.headers)
    assert after.headers["etag"] == before.headers["etag"] == '"v1"'
    assert after.json() == before.json()
    assert after.json()["version"] == 1
    assert after.json()["updated_at"] == check_in["updated_at"]
    listed = await client.get(check_ins_url(paired), headers=paired.mentee.headers)
    assert listed.json()["items"] == [before.json()]
    # The partner's earlier ETag is still good: writing a note is no change of the record.
    patched = await patch_check_in(client, paired.mentee, before.json(), {"duration_minutes": 50})
    assert patched.status_code == 200, patched.text
    assert (await client.delete(note_url(check_in), headers=paired.mentor.headers)).is_success
    final = await client.get(url, headers=paired.mentee.headers)
    assert final.json()["version"] == 2


async def test_a_retried_log_never_replays_a_private_note(client, factory, db) -> None:
    """A private note is kept in one place: a stored answer to a retried request is not a
    second copy that outlives the note's deletion."""
    paired = await factory.paired(activated_days_ago=30)
    headers = {**paired.mentee.headers, "Idempotency-Key": "log-1"}
    body = meeting(private_note="Secret OCTARINE thoughts")
    first = await client.post(check_ins_url(paired), headers=headers, json=body)
    assert first.status_code == 201, first.text
    assert first.json()["private_note"] == "Secret OCTARINE thoughts"
    deleted = await client.delete(note_url(first.json()), headers=paired.mentee.headers)
    assert deleted.status_code == 204
    assert first.headers["cache-control"] == "no-store"
    retry = await client.post(check_ins_url(paired), headers=headers, json=body)
    assert "OCTARINE" not in retry.text
    # The retry learns that the meeting was logged, and where, but not the note.
    assert_problem(retry, 409)
    assert retry.headers["location"] == first.headers["location"]
    assert len(await stored_check_ins(db)) == 1
    async with db.session() as session:
        records = (await session.execute(select(IdempotencyRecord))).scalars().all()
    assert records
    assert all(b"OCTARINE" not in (r.response_body or b"") for r in records)


async def test_a_retried_log_without_a_private_note_replays(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=30)
    headers = {**paired.mentee.headers, "Idempotency-Key": "log-2"}
    first = await client.post(check_ins_url(paired), headers=headers, json=meeting())
    assert "cache-control" not in first.headers
    retry = await client.post(check_ins_url(paired), headers=headers, json=meeting())
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert len(await stored_check_ins(db)) == 1


# --- correcting -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["mentor", "mentee"])
async def test_either_member_corrects_a_meeting(client, factory, db, role) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired, private_note="mine")
    member = getattr(paired, role)
    response = await patch_check_in(
        client,
        member,
        check_in,
        {
            "met_on": days_ago(3),
            "duration_minutes": 90,
            "mode": "chat",
            "topics": ["Slack"],
            "shared_notes": "Corrected",
        },
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["met_on"] == days_ago(3)
    assert changed["duration_minutes"] == 90
    assert changed["mode"] == "chat"
    assert changed["topics"] == ["Slack"]
    assert changed["shared_notes"] == "Corrected"
    assert changed["version"] == 2
    assert response.headers["etag"] == '"v2"'
    assert changed["updated_at"] > check_in["updated_at"]
    assert changed["logged_by_id"] == str(paired.mentee.id)
    assert changed["private_note"] == ("mine" if role == "mentee" else None)
    [stored] = await stored_check_ins(db)
    assert (stored.met_on, stored.duration_minutes, stored.mode, stored.shared_notes) == (
        date.fromisoformat(days_ago(3)),
        90,
        "chat",
        "Corrected",
    )


async def test_a_correction_that_changes_nothing_keeps_the_version(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired)
    response = await patch_check_in(
        client, paired.mentor, check_in, {"mode": check_in["mode"], "topics": []}
    )
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert response.headers["etag"] == '"v1"'


async def test_corrections_need_if_match(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired)
    url = f"{API}/check-ins/{check_in['id']}"
    missing = await client.patch(url, headers=paired.mentor.headers, json={"duration_minutes": 30})
    assert_problem(missing, 428)
    first = await patch_check_in(client, paired.mentor, check_in, {"duration_minutes": 30})
    assert first.status_code == 200
    stale = await patch_check_in(client, paired.mentee, check_in, {"duration_minutes": 20})
    problem = assert_problem(stale, 412)
    assert problem["current_version"] == 2
    after = (await client.get(url, headers=paired.mentee.headers)).json()
    assert after["duration_minutes"] == 30
    assert after["version"] == 2


async def test_only_members_correct_meetings(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired, shared_notes="ours")
    admin = await factory.admin()
    reader = await factory.service("read")
    for outsider in (paired.manager, admin):
        response = await patch_check_in(client, outsider, check_in, {"duration_minutes": 30})
        assert_problem(response, 403, rule="member_only")
    response = await patch_check_in(client, reader, check_in, {"shared_notes": "theirs"})
    assert response.status_code == 403
    after = await client.get(f"{API}/check-ins/{check_in['id']}", headers=paired.mentee.headers)
    assert after.json() == check_in


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": 601}, "duration_minutes"),
        ({"mode": "telepathy"}, "mode"),
        ({"met_on": "soon"}, "met_on"),
        ({"private_note": "belongs elsewhere"}, "private_note"),
        ({"logged_by_id": str(uuid.uuid4())}, "logged_by_id"),
        ({"version": 3}, "version"),
    ],
)
async def test_invalid_corrections_are_refused(client, factory, body, field) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired)
    response = await patch_check_in(client, paired.mentee, check_in, body)
    assert_problem(response, 422)
    assert field in error_fields(response)
    after = await client.get(f"{API}/check-ins/{check_in['id']}", headers=paired.mentee.headers)
    assert after.json() == check_in


@pytest.mark.parametrize("field", ["met_on", "duration_minutes", "mode", "topics", "shared_notes"])
async def test_fields_cannot_be_nulled(client, factory, field) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired)
    response = await patch_check_in(client, paired.mentee, check_in, {field: None})
    assert_problem(response, 422, field=field)


async def test_a_correction_keeps_to_the_pairings_dates(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired)
    future = (utcnow().date() + timedelta(days=5)).isoformat()
    assert_problem(
        await patch_check_in(client, paired.mentee, check_in, {"met_on": future}),
        422,
        rule="past_date",
        field="met_on",
    )
    assert_problem(
        await patch_check_in(client, paired.mentee, check_in, {"met_on": days_ago(60)}),
        422,
        rule="during_pairing",
        field="met_on",
    )
    after = await client.get(f"{API}/check-ins/{check_in['id']}", headers=paired.mentee.headers)
    assert after.json() == check_in


# --- listing --------------------------------------------------------------------------------


async def test_the_list_is_latest_meeting_first_and_pages(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=30)
    other = await factory.paired(activated_days_ago=30)
    # Logged out of order (a meeting logged late), two on the same day.
    met = [3, 0, 9, 3, 1]
    logged = [
        (
            await log(
                client,
                paired.mentee if i % 2 else paired.mentor,
                paired,
                met_on=days_ago(days),
            )
        )["id"]
        for i, days in enumerate(met)
    ]
    await log(client, other.mentee, other)
    # Latest meeting first; on the same day, the one logged last first.
    newest_first = [logged[i] for i in (1, 4, 3, 0, 2)]
    seen: list[str] = []
    url: str | None = f"{check_ins_url(paired)}?limit=2"
    pages = 0
    while url is not None:
        response = await client.get(url, headers=paired.manager.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [c["id"] for c in body["items"]]
        pages += 1
        if body["next_cursor"]:
            link = response.headers["link"]
            assert link.endswith('>; rel="next"')
            assert f"cursor={body['next_cursor']}" in link
            url = link[1 : link.index(">")]
        else:
            assert "link" not in response.headers
            url = None
    assert pages == 3
    assert seen == newest_first
    whole = await client.get(check_ins_url(paired), headers=paired.mentor.headers)
    assert [c["id"] for c in whole.json()["items"]] == newest_first
    assert whole.json()["next_cursor"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "cursor=garbage"])
async def test_bad_list_parameters_are_refused(client, factory, query) -> None:
    paired = await factory.paired(activated_days_ago=30)
    response = await client.get(f"{check_ins_url(paired)}?{query}", headers=paired.mentor.headers)
    assert_problem(response, 422)


async def test_an_empty_pairing_lists_nothing(client, factory) -> None:
    paired = await factory.paired(state="proposed")
    response = await client.get(check_ins_url(paired), headers=paired.mentee.headers)
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_anonymous_callers_are_refused(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=30)
    check_in = await log(client, paired.mentee, paired)
    assert_problem(await client.get(check_ins_url(paired)), 401)
    assert_problem(await client.get(f"{API}/check-ins/{check_in['id']}"), 401)
    assert_problem(await client.get(note_url(check_in)), 401)


# --- the audit log --------------------------------------------------------------------------


async def test_the_audit_log_never_holds_notes(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=30)
    admin = await factory.admin()
    created = await client.post(
        check_ins_url(paired),
        headers=paired.mentee.headers,
        json=meeting(shared_notes="Shared XYZZY-SHARED", private_note="Private PLUGH-PRIVATE"),
    )
    assert created.status_code == 201, created.text
    check_in = created.json()
    changed = await patch_check_in(
        client, paired.mentor, check_in, {"shared_notes": "Shared QUUX-CHANGED", "mode": "chat"}
    )
    assert changed.status_code == 200, changed.text
    put = await client.put(
        note_url(check_in), headers=paired.mentor.headers, json={"body": "Mentor FROBOZZ-NOTE"}
    )
    assert put.status_code == 200
    rewritten = await client.put(
        note_url(check_in), headers=paired.mentee.headers, json={"body": "Mentee GRUE-NOTE"}
    )
    assert rewritten.status_code == 200

    response = await client.get(
        f"{API}/audit-events?entity_type=check_in&entity_id={check_in['id']}",
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    events = response.json()["items"]
    assert [e["action"] for e in events] == ["check_in.updated", "check_in.logged"]
    assert events[0]["details"]["fields"] == ["mode", "shared_notes"]
    assert events[0]["actor_employee_id"] == str(paired.mentor.id)
    assert events[1]["actor_employee_id"] == str(paired.mentee.id)
    async with db.session() as session:
        stored = (await session.execute(select(AuditEvent))).scalars().all()
    everything = response.text + " ".join(repr(e.details) for e in stored)
    for word in ("XYZZY", "PLUGH", "QUUX", "FROBOZZ", "GRUE"):
        assert word not in everything
