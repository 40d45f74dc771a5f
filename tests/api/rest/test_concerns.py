"""Concerns over REST: a member's confidential report, and the program team's handling of it.

The raiser sees that their concern was received and where it stands, never the team's
resolution. The program's managers and admins read it and act on it. The partner never learns
that it exists: everything the partner can read (the pairing, its ETag, every list) stays
exactly as it was while a concern is raised and handled, and when the team ends the pairing
over it, the partner sees a no-fault exit like any other. Service clients never read concerns.
The audit log records every step, never the description or the resolution.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db.models import Concern
from tests.factories import Paired, Person

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
DESCRIPTION = "He talks over me in every meeting and calls my ideas cute"
RESOLUTION = "Spoke to both separately; agreed ground rules for meetings"
HIDDEN_FIELDS = ("acknowledged_by_id", "resolution", "resolved_by_id", "rematch_recommended")


def assert_problem(response: httpx.Response, status: int, rule: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status
    assert body["detail"]
    if rule is not None:
        assert body["rule"] == rule, body


async def raise_concern(
    client: httpx.AsyncClient,
    member: Any,
    pairing_id: uuid.UUID,
    *,
    category: str = "patronised",
    description: str = DESCRIPTION,
) -> httpx.Response:
    return await client.post(
        f"{API}/pairings/{pairing_id}/concerns",
        headers=member.headers,
        json={"category": category, "description": description},
    )


async def raised(
    client: httpx.AsyncClient, member: Person, pairing_id: uuid.UUID, **kw: Any
) -> dict[str, Any]:
    response = await raise_concern(client, member, pairing_id, **kw)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def concern_etag(client: httpx.AsyncClient, person: Any, concern_id: str) -> str:
    response = await client.get(f"{API}/concerns/{concern_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    return str(response.headers["etag"])


async def act(
    client: httpx.AsyncClient,
    person: Any,
    concern_id: str,
    action: str,
    body: dict[str, Any] | None = None,
    *,
    if_match: str | None = None,
) -> httpx.Response:
    """The program team acts on a concern with its current ETag (or the one given)."""
    tag = if_match or await concern_etag(client, person, concern_id)
    return await client.post(
        f"{API}/concerns/{concern_id}/{action}",
        headers={**person.headers, "If-Match": tag},
        json=body,
    )


async def acknowledged(client, person, concern_id: str) -> dict[str, Any]:
    response = await act(client, person, concern_id, "acknowledge")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def resolved(client, person, concern_id: str, **body: Any) -> dict[str, Any]:
    response = await act(client, person, concern_id, "resolve", {"resolution": RESOLUTION, **body})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def stored_concerns(db) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Concern)) or 0)


async def snapshot(client: httpx.AsyncClient, person: Any, paired: Paired) -> dict[str, Any]:
    """Everything this person reads about the pairing and about concerns: status, body, ETag
    and next link of each answer."""
    urls = [
        f"{API}/pairings/{paired.id}",
        f"{API}/pairings?program_id={paired.program.id}",
        f"{API}/pairings?member_id={person.id}",
        f"{API}/pairings/{paired.id}/concerns",
        f"{API}/pairings/{paired.id}/concerns?status=open",
        f"{API}/pairings/{paired.id}/concerns?limit=1",
        f"{API}/concerns",
        f"{API}/concerns?status=open",
        f"{API}/concerns?program_id={paired.program.id}",
        f"{API}/pairings/{paired.id}/check-ins",
        f"{API}/pairings/{paired.id}/feedback",
        f"{API}/me",
    ]
    seen = {}
    for url in urls:
        response = await client.get(url, headers=person.headers)
        seen[url] = (
            response.status_code,
            response.json(),
            response.headers.get("etag"),
            response.headers.get("link"),
        )
    return seen


async def pairing_view(client: httpx.AsyncClient, person: Any, pairing_id: uuid.UUID) -> Any:
    response = await client.get(f"{API}/pairings/{pairing_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    return response.json(), response.headers["etag"]


# ---------------------------------------------------------------------------------------------
# Raising a concern
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raiser", ["mentor", "mentee"])
async def test_a_member_raises_a_concern(client, factory, raiser) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    member = getattr(paired, raiser)
    response = await raise_concern(client, member, paired.id, description=f"  {DESCRIPTION}  ")
    assert response.status_code == 201, response.text
    concern = response.json()
    assert response.headers["location"].endswith(f"{API}/concerns/{concern['id']}")
    assert response.headers["etag"] == '"v1"'
    assert concern["pairing_id"] == str(paired.id)
    assert concern["program_id"] == str(paired.program.id)
    assert concern["raised_by_id"] == str(member.id)
    assert concern["category"] == "patronised"
    assert concern["description"] == DESCRIPTION
    assert concern["status"] == "open"
    assert concern["pairing_ended"] is False
    assert concern["version"] == 1
    for name in (*HIDDEN_FIELDS, "acknowledged_at", "resolved_at"):
        assert concern[name] is None, name
    # The raiser finds it again wherever they look.
    one = await client.get(response.headers["location"], headers=member.headers)
    assert one.status_code == 200
    assert one.json() == concern
    assert one.headers["etag"] == '"v1"'
    for url in (f"{API}/concerns", f"{API}/pairings/{paired.id}/concerns"):
        listed = await client.get(url, headers=member.headers)
        assert listed.json()["items"] == [concern], url


@pytest.mark.parametrize("category", ["conflict", "patronised", "no_shows", "other"])
async def test_every_category_can_be_raised(client, factory, category) -> None:
    paired = await factory.paired(state="active")
    concern = await raised(client, paired.mentee, paired.id, category=category)
    assert concern["category"] == category


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "rudeness", "description": DESCRIPTION}, "body.category"),
        ({"description": DESCRIPTION}, "body.category"),
        ({"category": "conflict"}, "body.description"),
        ({"category": "conflict", "description": ""}, "body.description"),
        ({"category": "conflict", "description": "   "}, "body.description"),
        ({"category": "conflict", "description": "x" * 10001}, "body.description"),
        ({"category": "conflict", "description": 42}, "body.description"),
        ({"category": "conflict", "description": DESCRIPTION, "status": "resolved"}, "body.status"),
        (
            {"category": "conflict", "description": DESCRIPTION, "raised_by_id": str(uuid.uuid4())},
            "body.raised_by_id",
        ),
    ],
)
async def test_a_concern_needs_a_category_and_a_description(client, factory, db, body, field):
    paired = await factory.paired(state="active")
    response = await client.post(
        f"{API}/pairings/{paired.id}/concerns", headers=paired.mentee.headers, json=body
    )
    assert_problem(response, 422)
    assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert await stored_concerns(db) == 0


async def test_only_members_raise_concerns(client, factory, db) -> None:
    paired = await factory.paired(state="active")
    admin = await factory.admin()
    reader = await factory.service("read")
    for person in (paired.manager, admin):
        assert_problem(await raise_concern(client, person, paired.id), 403, "member_only")
    unscoped = await factory.service("employees:write")
    for service in (reader, unscoped):  # concerns are between people, whatever the pairing
        assert_problem(await raise_concern(client, service, paired.id), 403, "person_only")
    stranger = await factory.person()
    other_manager = (await factory.paired()).manager
    for person in (stranger, other_manager):
        assert_problem(await raise_concern(client, person, paired.id), 404)
    assert_problem(await raise_concern(client, paired.mentee, uuid.uuid4()), 404)
    assert (await client.post(f"{API}/pairings/{paired.id}/concerns", json={})).status_code == 401
    assert await stored_concerns(db) == 0


# ---------------------------------------------------------------------------------------------
# The partner never learns
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raiser", ["mentor", "mentee"])
async def test_nothing_the_partner_reads_changes_while_a_concern_is_handled(
    client, factory, raiser
) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    member = getattr(paired, raiser)
    partner = paired.mentee if raiser == "mentor" else paired.mentor
    before = await snapshot(client, partner, paired)
    assert before[f"{API}/pairings/{paired.id}/concerns"][:2] == (
        200,
        {"items": [], "next_cursor": None},
    )

    concern = await raised(client, member, paired.id)
    assert await snapshot(client, partner, paired) == before
    hidden = await client.get(f"{API}/concerns/{concern['id']}", headers=partner.headers)
    assert_problem(hidden, 404)
    missing_id = uuid.uuid4()
    missing = await client.get(f"{API}/concerns/{missing_id}", headers=partner.headers)
    # A hidden concern answers exactly as one that does not exist.
    assert hidden.json()["detail"].replace(concern["id"], "ID") == missing.json()["detail"].replace(
        str(missing_id), "ID"
    )
    assert hidden.json()["type"] == missing.json()["type"]
    assert DESCRIPTION not in hidden.text

    await acknowledged(client, paired.manager, concern["id"])
    assert await snapshot(client, partner, paired) == before
    await resolved(client, paired.manager, concern["id"], rematch_recommended=True)
    assert await snapshot(client, partner, paired) == before
    assert_problem(
        await client.get(f"{API}/concerns/{concern['id']}", headers=partner.headers), 404
    )


async def test_the_pairing_keeps_its_version_while_a_concern_is_handled(client, factory) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    views = {
        who: await pairing_view(client, person, paired.id)
        for who, person in (("mentor", paired.mentor), ("manager", paired.manager))
    }
    concern = await raised(client, paired.mentee, paired.id)
    await acknowledged(client, paired.manager, concern["id"])
    await resolved(client, paired.manager, concern["id"])
    for who, person in (("mentor", paired.mentor), ("manager", paired.manager)):
        assert await pairing_view(client, person, paired.id) == views[who], who
    # The partner's ETag from before still works: a pause sent with it is not stale.
    body, tag = views["mentor"]
    paused = await client.post(
        f"{API}/pairings/{paired.id}/pause", headers={**paired.mentor.headers, "If-Match": tag}
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["version"] == body["version"] + 1


async def test_an_admin_who_is_the_partner_never_sees_the_concern(client, factory) -> None:
    admin = await factory.admin(job_level=9, department="Finance")
    paired = await factory.paired(state="active", activated_days_ago=30, mentee=admin)
    before = await snapshot(client, admin, paired)
    concern = await raised(client, paired.mentor, paired.id)
    assert await snapshot(client, admin, paired) == before
    assert_problem(await client.get(f"{API}/concerns/{concern['id']}", headers=admin.headers), 404)
    listed = await client.get(f"{API}/concerns", headers=admin.headers)
    assert concern["id"] not in {c["id"] for c in listed.json()["items"]}
    for action, body in (
        ("acknowledge", None),
        ("resolve", {"resolution": RESOLUTION}),
        ("end-pairing", {}),
    ):
        refused = await act(client, admin, concern["id"], action, body, if_match='"v1"')
        assert_problem(refused, 404)
    # Another admin is the program team for this pairing.
    other_admin = await factory.admin()
    team_view = await client.get(f"{API}/concerns/{concern['id']}", headers=other_admin.headers)
    assert team_view.status_code == 200
    assert team_view.json()["description"] == DESCRIPTION
    await acknowledged(client, other_admin, concern["id"])
    assert await snapshot(client, admin, paired) == before


async def test_an_admin_who_raises_a_concern_reads_it_as_its_raiser(client, factory) -> None:
    admin = await factory.admin(job_level=2, department="Engineering")
    paired = await factory.paired(state="active", mentor=admin)
    concern = await raised(client, admin, paired.id)
    refused = await act(client, admin, concern["id"], "acknowledge")
    assert_problem(refused, 403, "program_team")
    await resolved(client, paired.manager, concern["id"], rematch_recommended=True)
    mine = (await client.get(f"{API}/concerns/{concern['id']}", headers=admin.headers)).json()
    assert mine["status"] == "resolved"
    for name in HIDDEN_FIELDS:
        assert mine[name] is None, name


# ---------------------------------------------------------------------------------------------
# What the raiser and the program team read
# ---------------------------------------------------------------------------------------------


async def test_the_raiser_sees_where_it_stands_but_not_the_resolution(client, factory) -> None:
    paired = await factory.paired(state="active")
    concern = await raised(client, paired.mentee, paired.id)
    await acknowledged(client, paired.manager, concern["id"])
    seen = (
        await client.get(f"{API}/concerns/{concern['id']}", headers=paired.mentee.headers)
    ).json()
    assert seen["status"] == "acknowledged"
    assert seen["acknowledged_at"] is not None
    assert seen["acknowledged_by_id"] is None
    await resolved(client, paired.manager, concern["id"], rematch_recommended=True)
    response = await client.get(f"{API}/concerns/{concern['id']}", headers=paired.mentee.headers)
    seen = response.json()
    assert seen["status"] == "resolved"
    assert seen["resolved_at"] is not None
    assert seen["description"] == DESCRIPTION
    for name in HIDDEN_FIELDS:
        assert seen[name] is None, name
    assert RESOLUTION not in response.text
    for url in (f"{API}/concerns", f"{API}/pairings/{paired.id}/concerns"):
        listed = await client.get(url, headers=paired.mentee.headers)
        assert listed.json()["items"] == [seen], url


async def test_the_program_team_reads_everything(client, factory) -> None:
    paired = await factory.paired(state="active")
    admin = await factory.admin()
    concern = await raised(client, paired.mentee, paired.id)
    await acknowledged(client, paired.manager, concern["id"])
    done = await resolved(client, admin, concern["id"], rematch_recommended=True)
    assert done["resolution"] == RESOLUTION
    assert done["rematch_recommended"] is True
    assert done["acknowledged_by_id"] == str(paired.manager.id)
    assert done["resolved_by_id"] == str(admin.id)
    for person in (paired.manager, admin):
        one = await client.get(f"{API}/concerns/{concern['id']}", headers=person.headers)
        assert one.json() == done
        for url in (f"{API}/concerns", f"{API}/pairings/{paired.id}/concerns"):
            assert (await client.get(url, headers=person.headers)).json()["items"] == [done]


async def test_the_program_teams_inbox(client, factory) -> None:
    manager = await factory.person(job_level=8, department="People")
    program = await factory.program(managers=[manager.employee])
    first = await factory.paired(program=program, manager=manager)
    second = await factory.paired(program=first.program, manager=manager)
    elsewhere = await factory.paired()
    admin = await factory.admin()

    older = await raised(client, first.mentee, first.id, category="no_shows")
    newer = await raised(client, second.mentor, second.id, category="conflict")
    foreign = await raised(client, elsewhere.mentee, elsewhere.id)

    async def ids(person: Any, url: str, **params: Any) -> list[str]:
        response = await client.get(url, headers=person.headers, params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    inbox = await ids(manager, f"{API}/concerns", program_id=program.id, status="open")
    assert inbox == [newer["id"], older["id"]]  # newest first
    assert await ids(manager, f"{API}/concerns") == [newer["id"], older["id"]]
    assert await ids(manager, f"{API}/concerns", program_id=elsewhere.program.id) == []
    assert await ids(manager, f"{API}/pairings/{first.id}/concerns") == [older["id"]]
    assert await ids(admin, f"{API}/concerns") == [foreign["id"], newer["id"], older["id"]]
    assert await ids(admin, f"{API}/concerns", program_id=elsewhere.program.id) == [foreign["id"]]

    await acknowledged(client, manager, older["id"])
    assert await ids(manager, f"{API}/concerns", program_id=program.id, status="open") == [
        newer["id"]
    ]
    assert await ids(manager, f"{API}/concerns", status="acknowledged") == [older["id"]]
    await resolved(client, manager, newer["id"])
    assert await ids(manager, f"{API}/concerns", program_id=program.id, status="open") == []
    assert await ids(manager, f"{API}/concerns", status="resolved") == [newer["id"]]

    paged = await client.get(f"{API}/concerns", headers=admin.headers, params={"limit": 2})
    assert len(paged.json()["items"]) == 2
    assert paged.json()["next_cursor"]
    assert "link" in paged.headers
    rest = await client.get(
        f"{API}/concerns",
        headers=admin.headers,
        params={"limit": 2, "cursor": paged.json()["next_cursor"]},
    )
    assert [c["id"] for c in rest.json()["items"]] == [older["id"]]
    bad = await client.get(f"{API}/concerns", headers=admin.headers, params={"status": "closed"})
    assert_problem(bad, 422)


async def test_a_manager_of_another_program_finds_nothing(client, factory) -> None:
    paired = await factory.paired(state="active")
    concern = await raised(client, paired.mentee, paired.id)
    other_manager = (await factory.paired()).manager
    stranger = await factory.person()
    for person in (other_manager, stranger):
        one = await client.get(f"{API}/concerns/{concern['id']}", headers=person.headers)
        assert_problem(one, 404)
        assert_problem(
            await client.get(f"{API}/pairings/{paired.id}/concerns", headers=person.headers), 404
        )
        listed = await client.get(f"{API}/concerns", headers=person.headers)
        assert listed.json()["items"] == []
        filtered = await client.get(
            f"{API}/concerns", headers=person.headers, params={"program_id": paired.program.id}
        )
        assert filtered.json()["items"] == []
        for action, body in (
            ("acknowledge", None),
            ("resolve", {"resolution": RESOLUTION}),
            ("end-pairing", {}),
        ):
            assert_problem(
                await act(client, person, concern["id"], action, body, if_match='"v1"'), 404
            )
    unchanged = await client.get(f"{API}/concerns/{concern['id']}", headers=paired.manager.headers)
    assert unchanged.json()["status"] == "open"
    assert unchanged.json()["version"] == 1


async def test_service_clients_never_read_or_handle_concerns(client, factory) -> None:
    paired = await factory.paired(state="active")
    concern = await raised(client, paired.mentee, paired.id)
    reader = await factory.service("read")
    headers = {**reader.headers, "If-Match": '"v1"'}
    requests = [
        ("GET", f"{API}/pairings/{paired.id}/concerns", None),
        ("POST", f"{API}/pairings/{paired.id}/concerns", {"category": "other", "description": "x"}),
        ("GET", f"{API}/concerns", None),
        ("GET", f"{API}/concerns?program_id={paired.program.id}&status=open", None),
        ("GET", f"{API}/concerns/{concern['id']}", None),
        ("POST", f"{API}/concerns/{concern['id']}/acknowledge", None),
        ("POST", f"{API}/concerns/{concern['id']}/resolve", {"resolution": "done"}),
        ("POST", f"{API}/concerns/{concern['id']}/end-pairing", {}),
    ]
    for method, url, body in requests:
        response = await client.request(method, url, headers=headers, json=body)
        assert_problem(response, 403)
        assert DESCRIPTION not in response.text
    still = await client.get(f"{API}/concerns/{concern['id']}", headers=paired.manager.headers)
    assert still.json()["status"] == "open"
    assert still.json()["version"] == 1


# ---------------------------------------------------------------------------------------------
# Acting on a concern
# ---------------------------------------------------------------------------------------------


async def test_acknowledging_tells_the_raiser_it_was_seen(client, factory) -> None:
    paired = await factory.paired(state="active")
    concern = await raised(client, paired.mentee, paired.id)
    response = await act(client, paired.manager, concern["id"], "acknowledge")
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"v2"'
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_at"] is not None
    assert body["acknowledged_by_id"] == str(paired.manager.id)
    assert body["resolved_at"] is None
    assert body["resolution"] is None
    assert body["version"] == 2


async def test_resolving_needs_what_was_done(client, factory) -> None:
    paired = await factory.paired(state="active")
    concern = await raised(client, paired.mentee, paired.id)
    for body, field in (
        ({}, "body.resolution"),
        ({"resolution": ""}, "body.resolution"),
        ({"resolution": "   "}, "body.resolution"),
        ({"resolution": "x" * 10001}, "body.resolution"),
        ({"resolution": RESOLUTION, "rematch_recommended": "yes"}, "body.rematch_recommended"),
        ({"resolution": RESOLUTION, "status": "resolved"}, "body.status"),
    ):
        response = await act(client, paired.manager, concern["id"], "resolve", body)
        assert_problem(response, 422)
        assert field in {e["field"] for e in response.json()["errors"]}, body
    unchanged = await client.get(f"{API}/concerns/{concern['id']}", headers=paired.manager.headers)
    assert unchanged.json()["status"] == "open"
    assert unchanged.json()["version"] == 1


@pytest.mark.parametrize("rematch", [True, False, None])
async def test_resolving_an_open_concern(client, factory, rematch) -> None:
    paired = await factory.paired(state="active")
    concern = await raised(client, paired.mentee, paired.id)
    body: dict[str, Any] = {"resolution": f"  {RESOLUTION}  "}
    if rematch is not None:
        body["rematch_recommended"] = rematch
    response = await act(client, paired.manager, concern["id"], "resolve", body)
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["status"] == "resolved"
    assert done["resolution"] == RESOLUTION
    assert done["rematch_recommended"] is bool(rematch)
    assert done["resolved_by_id"] == str(paired.manager.id)
    assert done["resolved_at"] is not None
    # Resolving straight away acknowledges too: the raiser sees it was read.
    assert done["acknowledged_at"] is not None
    assert done["acknowledged_by_id"] == str(paired.manager.id)
    assert done["pairing_ended"] is False
    pairing, _ = await pairing_view(client, paired.manager, paired.id)
    assert pairing["state"] == "active"


async def test_resolving_an_acknowledged_concern_keeps_who_acknowledged_it(client, factory):
    paired = await factory.paired(state="active")
    admin = await factory.admin()
    concern = await raised(client, paired.mentee, paired.id)
    ack = await acknowledged(client, admin, concern["id"])
    done = await resolved(client, paired.manager, concern["id"])
    assert done["acknowledged_by_id"] == str(admin.id)
    assert done["acknowledged_at"] == ack["acknowledged_at"]
    assert done["resolved_by_id"] == str(paired.manager.id)
    assert done["version"] == 3


@pytest.mark.parametrize("raiser", ["mentor", "mentee"])
async def test_ending_the_pairing_over_a_concern(client, factory, raiser) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    member = getattr(paired, raiser)
    partner = paired.mentee if raiser == "mentor" else paired.mentor
    concern = await raised(client, member, paired.id)
    partner_concerns = await snapshot(client, partner, paired)
    response = await act(client, paired.manager, concern["id"], "end-pairing", {})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"v2"'
    done = response.json()
    assert done["status"] == "resolved"
    assert done["pairing_ended"] is True
    assert done["rematch_recommended"] is True
    assert done["resolution"] is None
    assert done["resolved_by_id"] == str(paired.manager.id)

    for person in (partner, member):
        seen, _ = await pairing_view(client, person, paired.id)
        assert seen["state"] == "ended"
        assert seen["closed_at"] is not None
        assert seen["ended_by"] is None
        assert seen["end_reason"] is None
        assert seen["end_note"] is None
    team, _ = await pairing_view(client, paired.manager, paired.id)
    assert team["state"] == "ended"
    assert team["end_reason"] == "not_a_good_fit"
    assert team["ended_by"] == "program_manager"

    # Apart from the pairing having ended, the partner's world is as it was.
    after = await snapshot(client, partner, paired)
    for url in after:
        if "/concerns" in url:
            assert after[url] == partner_concerns[url], url
    pairing_text = str(after[f"{API}/pairings/{paired.id}"])
    assert "concern" not in pairing_text.lower()
    assert_problem(
        await client.get(f"{API}/concerns/{concern['id']}", headers=partner.headers), 404
    )
    # The raiser learns that the pairing ended over it, not how the team put it.
    mine = (await client.get(f"{API}/concerns/{concern['id']}", headers=member.headers)).json()
    assert mine["status"] == "resolved"
    assert mine["pairing_ended"] is True
    for name in HIDDEN_FIELDS:
        assert mine[name] is None, name
    # Both are free to be matched again, never with each other in this program.
    again = await client.post(
        f"{API}/pairings",
        headers=paired.manager.headers,
        json={
            "program_id": str(paired.program.id),
            "mentor_enrollment_id": team["mentor"]["enrollment_id"],
            "mentee_enrollment_id": team["mentee"]["enrollment_id"],
            "justification": "try again",
        },
    )
    assert_problem(again, 422, "not_eligible")
    assert "concern" not in again.text.lower()


async def test_ending_over_a_concern_looks_like_any_other_exit_to_the_partner(
    client, factory
) -> None:
    over_concern = await factory.paired(state="active", activated_days_ago=30)
    concern = await raised(client, over_concern.mentee, over_concern.id)
    ended = await act(
        client,
        over_concern.manager,
        concern["id"],
        "end-pairing",
        {"resolution": RESOLUTION, "rematch_recommended": False},
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["resolution"] == RESOLUTION
    assert ended.json()["rematch_recommended"] is False
    ordinary = await factory.paired(state="ended", activated_days_ago=30)

    def shape(view: dict[str, Any]) -> dict[str, Any]:
        volatile = {
            "id", "program_id", "mentor", "mentee", "score", "explanation", "created_at",
            "updated_at", "activated_at", "closed_at", "expires_at", "version",
        }  # fmt: skip
        return {k: v for k, v in view.items() if k not in volatile}

    partner_view, _ = await pairing_view(client, over_concern.mentor, over_concern.id)
    other_view, _ = await pairing_view(client, ordinary.mentor, ordinary.id)
    assert shape(partner_view) == shape(other_view)
    assert partner_view.keys() == other_view.keys()


async def test_ending_is_refused_when_the_pairing_is_already_over(client, factory) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    concern = await raised(client, paired.mentee, paired.id)
    _, tag = await pairing_view(client, paired.manager, paired.id)
    completed = await client.post(
        f"{API}/pairings/{paired.id}/complete", headers={**paired.manager.headers, "If-Match": tag}
    )
    assert completed.status_code == 200
    refused = await act(client, paired.manager, concern["id"], "end-pairing", {})
    assert_problem(refused, 409, "pairing_transition")
    assert refused.json()["current_status"] == "completed"
    still = (
        await client.get(f"{API}/concerns/{concern['id']}", headers=paired.manager.headers)
    ).json()
    assert still["status"] == "open"
    assert still["pairing_ended"] is False
    assert still["version"] == 1
    # The concern can still be resolved.
    assert (await resolved(client, paired.manager, concern["id"]))["status"] == "resolved"


async def test_ending_a_paused_pairing_over_a_concern(client, factory) -> None:
    paired = await factory.paired(state="paused", activated_days_ago=30)
    concern = await raised(client, paired.mentor, paired.id)
    await acknowledged(client, paired.manager, concern["id"])
    done = await act(client, paired.manager, concern["id"], "end-pairing", {})
    assert done.status_code == 200, done.text
    assert done.json()["pairing_ended"] is True
    seen, _ = await pairing_view(client, paired.mentee, paired.id)
    assert seen["state"] == "ended"


@pytest.mark.parametrize(
    ("steps", "action", "status"),
    [
        (["acknowledge"], "acknowledge", "acknowledged"),
        (["resolve"], "acknowledge", "resolved"),
        (["resolve"], "resolve", "resolved"),
        (["acknowledge", "resolve"], "resolve", "resolved"),
        (["resolve"], "end-pairing", "resolved"),
        (["end-pairing"], "acknowledge", "resolved"),
        (["end-pairing"], "resolve", "resolved"),
        (["end-pairing"], "end-pairing", "resolved"),
    ],
)
async def test_illegal_transitions_are_refused(client, factory, steps, action, status) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    concern = await raised(client, paired.mentee, paired.id)
    bodies = {"acknowledge": None, "resolve": {"resolution": RESOLUTION}, "end-pairing": {}}
    for step in steps:
        done = await act(client, paired.manager, concern["id"], step, bodies[step])
        assert done.status_code == 200, done.text
    before = (
        await client.get(f"{API}/concerns/{concern['id']}", headers=paired.manager.headers)
    ).json()
    refused = await act(client, paired.manager, concern["id"], action, bodies[action])
    assert_problem(refused, 409, "concern_transition")
    assert refused.json()["current_status"] == status
    after = (
        await client.get(f"{API}/concerns/{concern['id']}", headers=paired.manager.headers)
    ).json()
    assert after == before


@pytest.mark.parametrize(
    ("action", "body"),
    [("acknowledge", None), ("resolve", {"resolution": RESOLUTION}), ("end-pairing", {})],
)
async def test_members_cannot_act_on_concerns(client, factory, action, body) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    concern = await raised(client, paired.mentee, paired.id)
    # The raiser can see their concern, so they are told they may not act on it.
    raiser = await act(client, paired.mentee, concern["id"], action, body)
    assert_problem(raiser, 403, "program_team")
    # The partner cannot see it at all: it answers as if it did not exist.
    partner = await act(client, paired.mentor, concern["id"], action, body, if_match='"v1"')
    assert_problem(partner, 404)
    assert DESCRIPTION not in partner.text
    still = (
        await client.get(f"{API}/concerns/{concern['id']}", headers=paired.manager.headers)
    ).json()
    assert still["status"] == "open"
    assert still["version"] == 1
    pairing, _ = await pairing_view(client, paired.manager, paired.id)
    assert pairing["state"] == "active"


@pytest.mark.parametrize(
    ("action", "body"),
    [("acknowledge", None), ("resolve", {"resolution": RESOLUTION}), ("end-pairing", {})],
)
async def test_acting_needs_the_current_etag(client, factory, action, body) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    concern = await raised(client, paired.mentee, paired.id)
    url = f"{API}/concerns/{concern['id']}/{action}"
    missing = await client.post(url, headers=paired.manager.headers, json=body)
    assert_problem(missing, 428)
    assert missing.json()["field"] == "If-Match"
    stale = await client.post(
        url, headers={**paired.manager.headers, "If-Match": '"v7"'}, json=body
    )
    assert_problem(stale, 412)
    assert stale.json()["current_version"] == 1
    garbage = await client.post(
        url, headers={**paired.manager.headers, "If-Match": "v1"}, json=body
    )
    assert_problem(garbage, 422)
    still = (
        await client.get(f"{API}/concerns/{concern['id']}", headers=paired.manager.headers)
    ).json()
    assert still["status"] == "open"
    assert still["version"] == 1
    ok = await client.post(url, headers={**paired.manager.headers, "If-Match": '"v1"'}, json=body)
    assert ok.status_code == 200, ok.text


async def test_an_etag_goes_stale_once_someone_else_acted(client, factory) -> None:
    paired = await factory.paired(state="active")
    admin = await factory.admin()
    concern = await raised(client, paired.mentee, paired.id)
    tag = await concern_etag(client, paired.manager, concern["id"])
    assert tag == '"v1"'
    await acknowledged(client, admin, concern["id"])
    late = await act(
        client, paired.manager, concern["id"], "resolve", {"resolution": "x"}, if_match=tag
    )
    assert_problem(late, 412)
    assert await concern_etag(client, paired.manager, concern["id"]) == '"v2"'


# ---------------------------------------------------------------------------------------------
# The audit log
# ---------------------------------------------------------------------------------------------


async def audit_events(client, admin, **params: Any) -> httpx.Response:
    response = await client.get(
        f"{API}/audit-events", headers=admin.headers, params={"limit": 100, **params}
    )
    assert response.status_code == 200, response.text
    return response


async def test_every_step_is_audited_without_what_was_said(client, factory) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    admin = await factory.admin()
    first = await raised(client, paired.mentee, paired.id)
    await acknowledged(client, paired.manager, first["id"])
    await resolved(client, paired.manager, first["id"], rematch_recommended=True)
    second = await raised(client, paired.mentor, paired.id, category="no_shows")
    end_resolution = "Ended it; both asked for someone else"
    ended = await act(client, admin, second["id"], "end-pairing", {"resolution": end_resolution})
    assert ended.status_code == 200, ended.text

    events = (await audit_events(client, admin, entity_id=first["id"])).json()["items"]
    assert [e["action"] for e in events] == [
        "concern.resolved",
        "concern.acknowledged",
        "concern.raised",
    ]
    assert [e["actor_employee_id"] for e in events] == [
        str(paired.manager.id),
        str(paired.manager.id),
        str(paired.mentee.id),
    ]
    events += (await audit_events(client, admin, entity_id=second["id"])).json()["items"]
    assert [e["action"] for e in events[3:]] == ["concern.pairing_ended", "concern.raised"]
    for event in events:
        assert event["entity_type"] == "concern"
        assert event["details"]["pairing_id"] == str(paired.id)
        assert "description" not in event["details"]
        assert "resolution" not in event["details"]
    assert events[0]["details"]["rematch_recommended"] is True

    everything = await audit_events(client, admin)
    for secret in (DESCRIPTION, RESOLUTION, end_resolution):
        assert secret not in everything.text
    pairing_events = (await audit_events(client, admin, entity_id=paired.id)).json()["items"]
    assert pairing_events[0]["action"] == "pairing.ended"
    assert DESCRIPTION not in str(pairing_events)


# ---------------------------------------------------------------------------------------------
# Team members acting at once
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("if_match", ['"v1"', "*"])
async def test_when_two_team_members_act_at_once_one_wins(client, factory, if_match) -> None:
    paired = await factory.paired(state="active", activated_days_ago=30)
    admin = await factory.admin()
    concern = await raised(client, paired.mentee, paired.id)
    answers = await asyncio.gather(
        act(
            client, paired.manager, concern["id"], "resolve", {"resolution": "a"}, if_match=if_match
        ),
        act(client, admin, concern["id"], "end-pairing", {}, if_match=if_match),
        act(client, admin, concern["id"], "resolve", {"resolution": "b"}, if_match=if_match),
    )
    statuses = sorted(a.status_code for a in answers)
    loser = 412 if if_match != "*" else 409
    assert statuses == [200, loser, loser], [a.text for a in answers]
    (winner,) = [a.json() for a in answers if a.status_code == 200]
    for refused in (a for a in answers if a.status_code != 200):
        if loser == 409:
            assert refused.json()["rule"] == "concern_transition"
    # What is stored is exactly what the winner was told, and one ending was audited.
    stored = await client.get(f"{API}/concerns/{concern['id']}", headers=admin.headers)
    assert stored.json() == winner
    assert stored.json()["version"] == 2
    pairing, _ = await pairing_view(client, admin, paired.id)
    assert pairing["state"] == ("ended" if winner["pairing_ended"] else "active")
    events = (await audit_events(client, admin, entity_id=concern["id"])).json()["items"]
    assert [e["action"] for e in events][1:] == ["concern.raised"]
    assert events[0]["action"] in ("concern.resolved", "concern.pairing_ended")
