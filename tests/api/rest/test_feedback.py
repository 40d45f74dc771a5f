"""Feedback over REST: giving it, the rules it follows, and what each actor reads of it.

A member rates a check-in, or the pairing once it is over. The author reads their feedback
whole; the partner learns that it was given and reads its comment only when it was shared
with them, never the ratings; the program's managers and admins read everything; readers
(service clients) read no individual feedback. An admin who takes part in a pairing reads it
as a member. The audit log records that feedback was given, never what it said.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db.models import Feedback
from app.db.types import utcnow
from tests.factories import Paired, Person

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
RATINGS = {"value": 5, "mutual_respect": 4, "psychological_safety": 3, "clarity": 2}
SECRET_COMMENT = "She explained Slack threads with saintly patience"


async def log_check_in(
    client: httpx.AsyncClient, member: Person, pairing_id: uuid.UUID, *, days_ago: int = 7
) -> str:
    """A member logs a meeting; the check-in's id."""
    met_on = (utcnow() - timedelta(days=days_ago)).date().isoformat()
    response = await client.post(
        f"{API}/pairings/{pairing_id}/check-ins",
        headers=member.headers,
        json={"met_on": met_on, "duration_minutes": 45, "mode": "video"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def check_in_body(check_in_id: str, **overrides: Any) -> dict[str, Any]:
    return {"kind": "check_in", "check_in_id": check_in_id, "ratings": RATINGS, **overrides}


def end_body(**overrides: Any) -> dict[str, Any]:
    return {"kind": "end", "ratings": RATINGS, "would_take_part_again": True, **overrides}


async def give(
    client: httpx.AsyncClient, person: Any, pairing_id: uuid.UUID, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"{API}/pairings/{pairing_id}/feedback", headers=person.headers, json=body
    )


async def read(
    client: httpx.AsyncClient, person: Any, pairing_id: uuid.UUID, **params: Any
) -> httpx.Response:
    return await client.get(
        f"{API}/pairings/{pairing_id}/feedback", headers=person.headers, params=params
    )


async def stored_feedback(db) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Feedback)) or 0)


def assert_problem(response: httpx.Response, status: int, rule: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status
    assert body["detail"]
    if rule is not None:
        assert body["rule"] == rule, body


async def rated_check_in(
    client: httpx.AsyncClient, paired: Paired, *, visibility: str = "partner"
) -> tuple[str, dict[str, Any]]:
    """The mentee rates a check-in with a comment; the check-in's id and the answer."""
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    given = await give(
        client,
        paired.mentee,
        paired.id,
        check_in_body(check_in_id, comment=SECRET_COMMENT, comment_visibility=visibility),
    )
    assert given.status_code == 201, given.text
    return check_in_id, given.json()


# ---------------------------------------------------------------------------------------------
# Giving feedback
# ---------------------------------------------------------------------------------------------


async def test_a_member_rates_a_check_in(client, factory, db) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    response = await give(
        client,
        paired.mentee,
        paired.id,
        check_in_body(check_in_id, comment="  Very useful  ", comment_visibility="partner"),
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"].endswith(f"{API}/pairings/{paired.id}/feedback")
    body = response.json()
    assert body["pairing_id"] == str(paired.id)
    assert body["author_employee_id"] == str(paired.mentee.id)
    assert body["author_role"] == "mentee"
    assert body["kind"] == "check_in"
    assert body["check_in_id"] == check_in_id
    assert body["ratings"] == RATINGS
    assert body["comment"] == "Very useful"
    assert body["comment_visibility"] == "partner"
    assert body["would_take_part_again"] is None
    listed = await read(client, paired.mentee, paired.id)
    assert listed.status_code == 200
    assert listed.json()["items"] == [body]


async def test_both_members_may_rate_the_same_check_in(client, factory) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    mentor = await give(client, paired.mentor, paired.id, check_in_body(check_in_id))
    mentee = await give(client, paired.mentee, paired.id, check_in_body(check_in_id))
    assert mentor.status_code == 201, mentor.text
    assert mentee.status_code == 201, mentee.text
    assert mentor.json()["author_role"] == "mentor"
    # The comment's visibility defaults to the program team only.
    assert mentor.json()["comment_visibility"] == "program_team"
    assert mentor.json()["comment"] is None
    listed = (await read(client, paired.manager, paired.id)).json()["items"]
    assert {f["author_role"] for f in listed} == {"mentor", "mentee"}


CHECK_IN = "<the check-in>"  # replaced by a real check-in of the pairing


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(
            {"kind": "check_in", "ratings": RATINGS}, "check_in_id", id="check_in-without-id"
        ),
        pytest.param(
            {
                "kind": "check_in",
                "check_in_id": CHECK_IN,
                "ratings": RATINGS,
                "would_take_part_again": True,
            },
            "would_take_part_again",
            id="check_in-with-would_take_part_again",
        ),
        pytest.param(
            {
                "kind": "check_in",
                "check_in_id": CHECK_IN,
                "ratings": RATINGS,
                "would_take_part_again": False,
            },
            "would_take_part_again",
            id="check_in-with-would_take_part_again-false",
        ),
        pytest.param(
            {"kind": "end", "ratings": RATINGS}, "would_take_part_again", id="end-without-would"
        ),
        pytest.param(
            {"kind": "end", "ratings": RATINGS, "would_take_part_again": None},
            "would_take_part_again",
            id="end-with-null-would",
        ),
        pytest.param(
            {
                "kind": "end",
                "check_in_id": CHECK_IN,
                "ratings": RATINGS,
                "would_take_part_again": True,
            },
            "check_in_id",
            id="end-with-check_in_id",
        ),
        pytest.param(
            {"kind": "halfway", "check_in_id": CHECK_IN, "ratings": RATINGS},
            "body.kind",
            id="unknown-kind",
        ),
        pytest.param({"check_in_id": CHECK_IN, "ratings": RATINGS}, "body.kind", id="no-kind"),
        pytest.param(
            {"kind": "end", "would_take_part_again": True}, "body.ratings", id="no-ratings"
        ),
        pytest.param(
            {"kind": "check_in", "check_in_id": "not-a-uuid", "ratings": RATINGS},
            "body.check_in_id",
            id="check_in_id-not-a-uuid",
        ),
        pytest.param(
            {"kind": "end", "ratings": RATINGS, "would_take_part_again": "yes"},
            "body.would_take_part_again",
            id="would-as-string",
        ),
        pytest.param(
            {"kind": "end", "ratings": RATINGS, "would_take_part_again": True, "stars": 5},
            "body.stars",
            id="unknown-field",
        ),
        pytest.param(
            {
                "kind": "end",
                "ratings": RATINGS,
                "would_take_part_again": True,
                "comment_visibility": "everyone",
            },
            "body.comment_visibility",
            id="unknown-visibility",
        ),
        pytest.param(
            {
                "kind": "end",
                "ratings": RATINGS,
                "would_take_part_again": True,
                "comment": "x" * 4001,
            },
            "body.comment",
            id="comment-too-long",
        ),
    ],
)
async def test_feedback_must_fit_its_kind(client, factory, db, body, field) -> None:
    # The pairing is over, so both kinds would be welcome if only the body were right.
    paired = await factory.paired(state="completed", activated_days_ago=30)
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    body = {k: check_in_id if v == CHECK_IN else v for k, v in body.items()}
    response = await give(client, paired.mentee, paired.id, body)
    assert_problem(response, 422)
    problem = response.json()
    if field.startswith("body."):
        assert field in {e["field"] for e in problem["errors"]}, problem
    else:
        # A rule across fields: the message names the field at fault.
        assert field in problem["detail"], problem
    assert await stored_feedback(db) == 0


@pytest.mark.parametrize(
    "rating",
    [0, 6, -1, 100, "5", "five", 4.5, True, None, [5]],
    ids=lambda r: repr(r),
)
async def test_ratings_are_whole_numbers_from_one_to_five(client, factory, db, rating) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    body = check_in_body(check_in_id, ratings={**RATINGS, "clarity": rating})
    response = await give(client, paired.mentee, paired.id, body)
    assert_problem(response, 422)
    assert "body.ratings.clarity" in {e["field"] for e in response.json()["errors"]}
    assert await stored_feedback(db) == 0


async def test_every_dimension_is_rated(client, factory, db) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    missing = {k: v for k, v in RATINGS.items() if k != "psychological_safety"}
    response = await give(
        client, paired.mentee, paired.id, check_in_body(check_in_id, ratings=missing)
    )
    assert_problem(response, 422)
    assert "body.ratings.psychological_safety" in {e["field"] for e in response.json()["errors"]}
    extra = await give(
        client, paired.mentee, paired.id, check_in_body(check_in_id, ratings={**RATINGS, "fun": 5})
    )
    assert_problem(extra, 422)
    assert await stored_feedback(db) == 0


@pytest.mark.parametrize("rating", [1, 5])
async def test_the_ends_of_the_scale_are_accepted(client, factory, rating) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    ratings = dict.fromkeys(RATINGS, rating)
    response = await give(
        client, paired.mentee, paired.id, check_in_body(check_in_id, ratings=ratings)
    )
    assert response.status_code == 201, response.text
    assert response.json()["ratings"] == ratings


async def test_a_check_in_of_another_pairing_is_refused(client, factory, db) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    other = await factory.paired(state="active", activated_days_ago=30)
    foreign = await log_check_in(client, other.mentor, other.id)
    response = await give(client, paired.mentee, paired.id, check_in_body(foreign))
    assert_problem(response, 422, "same_pairing")
    assert response.json()["field"] == "check_in_id"
    unknown = await give(client, paired.mentee, paired.id, check_in_body(str(uuid.uuid4())))
    assert_problem(unknown, 422, "same_pairing")
    # Nothing tells a check-in that exists elsewhere from one that does not.
    assert unknown.json()["detail"] == response.json()["detail"]
    assert await stored_feedback(db) == 0


async def test_a_check_in_is_rated_once_per_member(client, factory, db) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    first = await give(client, paired.mentee, paired.id, check_in_body(check_in_id))
    assert first.status_code == 201
    again = await give(
        client,
        paired.mentee,
        paired.id,
        check_in_body(check_in_id, ratings=dict.fromkeys(RATINGS, 1), comment="changed my mind"),
    )
    assert_problem(again, 409, "feedback_once")
    assert await stored_feedback(db) == 1
    listed = (await read(client, paired.mentee, paired.id)).json()["items"]
    assert [f["ratings"] for f in listed] == [RATINGS]
    # Another check-in is another occasion.
    second = await log_check_in(client, paired.mentor, paired.id, days_ago=3)
    assert (await give(client, paired.mentee, paired.id, check_in_body(second))).status_code == 201


async def test_a_double_submit_stores_one_feedback(client, factory, db) -> None:
    paired = await factory.paired(state="completed", activated_days_ago=30)
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    answers = await asyncio.gather(
        *(give(client, paired.mentee, paired.id, check_in_body(check_in_id)) for _ in range(4)),
        *(give(client, paired.mentor, paired.id, end_body()) for _ in range(4)),
    )
    assert sorted(a.status_code for a in answers) == [201, 201, 409, 409, 409, 409, 409, 409]
    for refused in (a for a in answers if a.status_code == 409):
        assert_problem(refused, 409, "feedback_once")
    assert await stored_feedback(db) == 2


@pytest.mark.parametrize("state", ["proposed", "active", "paused"])
async def test_end_feedback_waits_until_the_pairing_is_over(client, factory, db, state) -> None:
    paired = await factory.paired(state=state, activated_days_ago=30)
    response = await give(client, paired.mentee, paired.id, end_body())
    assert_problem(response, 409, "pairing_over")
    assert response.json()["current_status"] == state
    assert await stored_feedback(db) == 0


@pytest.mark.parametrize("state", ["completed", "ended"])
async def test_end_feedback_once_per_member_once_it_is_over(client, factory, db, state) -> None:
    paired = await factory.paired(state=state, activated_days_ago=30)
    mentee = await give(client, paired.mentee, paired.id, end_body(would_take_part_again=False))
    assert mentee.status_code == 201, mentee.text
    assert mentee.json()["kind"] == "end"
    assert mentee.json()["check_in_id"] is None
    assert mentee.json()["would_take_part_again"] is False
    again = await give(client, paired.mentee, paired.id, end_body())
    assert_problem(again, 409, "feedback_once")
    mentor = await give(client, paired.mentor, paired.id, end_body())
    assert mentor.status_code == 201, mentor.text
    assert await stored_feedback(db) == 2


async def test_end_feedback_and_check_in_feedback_are_separate(client, factory) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    assert (
        await give(client, paired.mentee, paired.id, check_in_body(check_in_id))
    ).status_code == 201
    tag = (await client.get(f"{API}/pairings/{paired.id}", headers=paired.manager.headers)).headers[
        "etag"
    ]
    completed = await client.post(
        f"{API}/pairings/{paired.id}/complete", headers={**paired.manager.headers, "If-Match": tag}
    )
    assert completed.status_code == 200, completed.text
    end = await give(client, paired.mentee, paired.id, end_body())
    assert end.status_code == 201, end.text


async def test_only_members_give_feedback(client, factory, db) -> None:
    paired = await factory.paired(state="completed", activated_days_ago=30)
    admin = await factory.admin()
    manager = await give(client, paired.manager, paired.id, end_body())
    assert_problem(manager, 403, "member_only")
    assert_problem(await give(client, admin, paired.id, end_body()), 403, "member_only")
    reader = await factory.service("read")
    assert_problem(await give(client, reader, paired.id, end_body()), 403, "member_only")
    stranger = await factory.person()
    assert_problem(await give(client, stranger, paired.id, end_body()), 404)
    other_pm = (await factory.paired()).manager
    assert_problem(await give(client, other_pm, paired.id, end_body()), 404)
    assert_problem(await give(client, paired.mentee, uuid.uuid4(), end_body()), 404)
    assert await stored_feedback(db) == 0


async def test_a_strangers_check_in_gets_no_feedback_from_them(client, factory, db) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    other = await factory.paired(state="active", activated_days_ago=30)
    # A member of another pairing names this pairing's check-in on their own pairing.
    response = await give(client, other.mentee, other.id, check_in_body(check_in_id))
    assert_problem(response, 422, "same_pairing")
    assert await stored_feedback(db) == 0


# ---------------------------------------------------------------------------------------------
# Reading feedback
# ---------------------------------------------------------------------------------------------


async def test_the_author_reads_their_feedback_whole(client, factory) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    _, given = await rated_check_in(client, paired, visibility="program_team")
    items = (await read(client, paired.mentee, paired.id)).json()["items"]
    assert items == [given]
    assert items[0]["ratings"] == RATINGS
    assert items[0]["comment"] == SECRET_COMMENT
    assert items[0]["comment_visibility"] == "program_team"


async def test_the_partner_never_reads_ratings_and_reads_a_shared_comment(client, factory) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    check_in_id, given = await rated_check_in(client, paired, visibility="partner")
    response = await read(client, paired.mentor, paired.id)
    assert response.status_code == 200
    (item,) = response.json()["items"]
    assert item == {
        **given,
        "ratings": None,
        "would_take_part_again": None,
        "comment_visibility": None,
        "comment": SECRET_COMMENT,
    }
    assert item["check_in_id"] == check_in_id


async def test_the_partner_does_not_read_a_comment_kept_for_the_team(client, factory) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    _, given = await rated_check_in(client, paired, visibility="program_team")
    response = await read(client, paired.mentor, paired.id)
    (item,) = response.json()["items"]
    assert item == {
        **given,
        "ratings": None,
        "would_take_part_again": None,
        "comment_visibility": None,
        "comment": None,
    }
    assert SECRET_COMMENT not in response.text


async def test_the_partner_does_not_learn_whether_they_would_take_part_again(
    client, factory
) -> None:
    paired = await factory.paired(state="completed", activated_days_ago=30)
    given = await give(
        client,
        paired.mentee,
        paired.id,
        end_body(would_take_part_again=False, comment="Thanks!", comment_visibility="partner"),
    )
    assert given.status_code == 201
    (item,) = (await read(client, paired.mentor, paired.id)).json()["items"]
    assert item["would_take_part_again"] is None
    assert item["ratings"] is None
    assert item["comment_visibility"] is None
    assert item["comment"] == "Thanks!"
    (team,) = (await read(client, paired.manager, paired.id)).json()["items"]
    assert team["would_take_part_again"] is False


@pytest.mark.parametrize("visibility", ["partner", "program_team"])
async def test_the_program_team_reads_everything(client, factory, visibility) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    _, given = await rated_check_in(client, paired, visibility=visibility)
    admin = await factory.admin()
    for overseer in (paired.manager, admin):
        response = await read(client, overseer, paired.id)
        assert response.status_code == 200, response.text
        assert response.json()["items"] == [given]


async def test_a_reader_service_gets_no_individual_feedback(client, factory) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    await rated_check_in(client, paired)
    reader = await factory.service("read")
    response = await read(client, reader, paired.id)
    assert_problem(response, 403, "member_or_program_team")
    assert SECRET_COMMENT not in response.text


async def test_people_outside_the_pairing_do_not_find_it(client, factory) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    await rated_check_in(client, paired)
    stranger = await factory.person()
    other_manager = (await factory.paired()).manager
    unscoped = await factory.service("employees:write")
    for outsider in (stranger, other_manager, unscoped):
        response = await read(client, outsider, paired.id)
        assert_problem(response, 404)
        assert SECRET_COMMENT not in response.text
    # Hidden looks like missing.
    assert_problem(await read(client, paired.mentee, uuid.uuid4()), 404)
    anonymous = await client.get(f"{API}/pairings/{paired.id}/feedback")
    assert anonymous.status_code == 401


async def test_an_admin_in_a_pairing_reads_it_as_a_member(client, factory) -> None:
    admin = await factory.admin(job_level=2, department="Engineering")
    paired = await factory.paired(state="active", activated_days_ago=30, mentor=admin)
    _, given = await rated_check_in(client, paired, visibility="program_team")
    (item,) = (await read(client, admin, paired.id)).json()["items"]
    assert item["ratings"] is None
    assert item["comment"] is None
    assert item["comment_visibility"] is None
    # Another admin is the program team here.
    other_admin = await factory.admin()
    assert (await read(client, other_admin, paired.id)).json()["items"] == [given]


async def test_an_admin_in_a_pairing_reads_their_own_feedback_whole(client, factory) -> None:
    admin = await factory.admin(job_level=9, department="Finance")
    paired = await factory.paired(state="completed", activated_days_ago=30, mentee=admin)
    given = await give(client, admin, paired.id, end_body(comment="mine"))
    assert given.status_code == 201
    assert given.json()["ratings"] == RATINGS
    assert (await read(client, admin, paired.id)).json()["items"] == [given.json()]
    (partner_view,) = (await read(client, paired.mentor, paired.id)).json()["items"]
    assert partner_view["ratings"] is None
    assert partner_view["comment"] is None


async def test_each_member_reads_their_own_whole_and_the_others_partly(client, factory) -> None:
    paired = await factory.paired(state="completed", activated_days_ago=30)
    mentor_given = (
        await give(
            client, paired.mentor, paired.id, end_body(comment="m", comment_visibility="partner")
        )
    ).json()
    mentee_given = (await give(client, paired.mentee, paired.id, end_body(comment="e"))).json()
    by_author = {
        f["author_role"]: f for f in (await read(client, paired.mentor, paired.id)).json()["items"]
    }
    assert by_author["mentor"] == mentor_given
    assert by_author["mentee"]["ratings"] is None
    assert by_author["mentee"]["comment"] is None
    by_author = {
        f["author_role"]: f for f in (await read(client, paired.mentee, paired.id)).json()["items"]
    }
    assert by_author["mentee"] == mentee_given
    assert by_author["mentor"]["ratings"] is None
    assert by_author["mentor"]["comment"] == "m"


async def test_feedback_lists_are_paginated(client, factory) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    for days_ago in (9, 8, 7):
        check_in_id = await log_check_in(client, paired.mentor, paired.id, days_ago=days_ago)
        assert (
            await give(client, paired.mentee, paired.id, check_in_body(check_in_id))
        ).status_code == 201
    first = await read(client, paired.manager, paired.id, limit=2)
    assert len(first.json()["items"]) == 2
    cursor = first.json()["next_cursor"]
    assert cursor
    assert "link" in first.headers
    rest = await read(client, paired.manager, paired.id, limit=2, cursor=cursor)
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    ids = [f["id"] for f in first.json()["items"] + rest.json()["items"]]
    assert len(set(ids)) == 3


# ---------------------------------------------------------------------------------------------
# The audit log
# ---------------------------------------------------------------------------------------------


async def test_the_audit_log_notes_feedback_but_never_what_it_said(client, factory) -> None:
    paired = await factory.paired(state="completed", activated_days_ago=30)
    check_in_id = await log_check_in(client, paired.mentor, paired.id)
    odd = {"value": 1, "mutual_respect": 2, "psychological_safety": 4, "clarity": 5}
    on_check_in = await give(
        client,
        paired.mentee,
        paired.id,
        check_in_body(check_in_id, ratings=odd, comment=SECRET_COMMENT),
    )
    at_end = await give(
        client,
        paired.mentor,
        paired.id,
        end_body(ratings=odd, comment="A confidential farewell", would_take_part_again=False),
    )
    assert on_check_in.status_code == at_end.status_code == 201
    admin = await factory.admin()
    events = await client.get(
        f"{API}/audit-events", headers=admin.headers, params={"action": "feedback.given"}
    )
    assert events.status_code == 200
    items = events.json()["items"]
    assert {e["entity_id"] for e in items} == {on_check_in.json()["id"], at_end.json()["id"]}
    for event in items:
        assert event["entity_type"] == "feedback"
        assert event["details"]["pairing_id"] == str(paired.id)
        assert event["details"]["kind"] in ("check_in", "end")
        assert not {"ratings", "comment", "would_take_part_again"} & event["details"].keys()
        assert not any(k.startswith("rating") for k in event["details"])
    everything = await client.get(
        f"{API}/audit-events", headers=admin.headers, params={"limit": 100}
    )
    assert SECRET_COMMENT not in everything.text
    assert "confidential farewell" not in everything.text
    assert "would_take_part_again" not in everything.text
