"""Goals over REST: either member sets their own, the partner helps when invited, the program
team and readers only read, and the members' words never reach the audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.db.models import AuditEvent, Goal, GoalMilestone
from app.db.types import utcnow

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"


def goals_url(paired: Any) -> str:
    return f"{API}/pairings/{paired.id}/goals"


async def create_goal(client, person, paired, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "Use AI tools in my weekly reporting")
    response = await client.post(goals_url(paired), headers=person.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def patch_goal(client, person, goal: dict[str, Any], body: Any, *, version: int = 0):
    """PATCH a goal with If-Match naming ``version`` (default: the version in ``goal``)."""
    tag = f'"v{version or goal["version"]}"'
    return await client.patch(
        f"{API}/goals/{goal['id']}", headers={**person.headers, "If-Match": tag}, json=body
    )


async def tick(client, person, goal: dict[str, Any], milestone_id: str, done: bool = True):
    return await client.patch(
        f"{API}/goals/{goal['id']}/milestones/{milestone_id}",
        headers={**person.headers, "If-Match": f'"v{goal["version"]}"'},
        json={"done": done},
    )


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
    """The fields a validation problem names (body.x -> x)."""
    return {e["field"].removeprefix("body.") for e in response.json()["errors"]}


# --- creating -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["mentor", "mentee"])
async def test_either_member_sets_a_goal_they_own(client, factory, role) -> None:
    paired = await factory.paired(activated_days_ago=30)
    owner = getattr(paired, role)
    response = await client.post(
        goals_url(paired),
        headers=owner.headers,
        json={
            "title": "  Learn to prompt well  ",
            "description": "Draft board summaries with an assistant",
            "focus_area": "AI tools",
            "target_date": (utcnow().date() + timedelta(days=60)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    goal = response.json()
    assert goal["owner_role"] == role
    assert goal["owner_employee_id"] == str(owner.id)
    assert goal["pairing_id"] == str(paired.id)
    assert goal["program_id"] == str(paired.program.id)
    assert goal["title"] == "Learn to prompt well"
    assert goal["status"] == "not_started"
    assert goal["progress"] == 0
    assert goal["partner_may_contribute"] is True
    assert goal["overdue"] is False
    assert goal["achieved_at"] is None
    assert goal["milestones"] == []
    assert goal["version"] == 1
    assert response.headers["etag"] == '"v1"'
    assert response.headers["location"].endswith(f"{API}/goals/{goal['id']}")
    fetched = await client.get(response.headers["location"], headers=owner.headers)
    assert fetched.status_code == 200
    assert fetched.headers["etag"] == '"v1"'
    assert fetched.json() == goal


async def test_a_paused_pairing_still_takes_goals(client, factory) -> None:
    paired = await factory.paired(state="paused", activated_days_ago=10)
    goal = await create_goal(client, paired.mentee, paired)
    assert goal["owner_role"] == "mentee"


@pytest.mark.parametrize("state", ["proposed", "completed", "ended"])
async def test_goals_are_set_only_in_live_pairings(client, factory, db, state) -> None:
    paired = await factory.paired(state=state)
    response = await client.post(
        goals_url(paired), headers=paired.mentor.headers, json={"title": "Anything"}
    )
    problem = assert_problem(response, 409, rule="pairing_live")
    assert problem["current_status"] == state
    async with db.session() as session:
        assert (await session.execute(select(Goal))).first() is None


async def test_achieved_at_creation_is_stamped_and_complete(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    done = await create_goal(client, paired.mentee, paired, status="achieved")
    assert done["achieved_at"] is not None
    assert done["progress"] == 100
    partly = await create_goal(client, paired.mentee, paired, status="achieved", progress=80)
    assert partly["achieved_at"] is not None
    assert partly["progress"] == 80


async def test_a_goal_is_created_with_ordered_milestones(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(
        client,
        paired.mentor,
        paired,
        milestones=[{"title": "Pick a tool"}, {"title": "Try it for a week", "done": True}],
    )
    milestones = goal["milestones"]
    assert [m["title"] for m in milestones] == ["Pick a tool", "Try it for a week"]
    assert [m["position"] for m in milestones] == [0, 1]
    assert [m["done"] for m in milestones] == [False, True]
    assert milestones[0]["done_at"] is None
    assert milestones[0]["done_by_id"] is None
    assert milestones[1]["done_at"] is not None
    assert milestones[1]["done_by_id"] == str(paired.mentor.id)


async def test_a_new_goals_milestones_cannot_name_ids(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=5)
    response = await client.post(
        goals_url(paired),
        headers=paired.mentor.headers,
        json={"title": "Goal", "milestones": [{"id": str(uuid.uuid4()), "title": "Step"}]},
    )
    assert_problem(response, 422, field="milestones")
    async with db.session() as session:
        assert (await session.execute(select(Goal))).first() is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "Goal", "progress": 101}, "progress"),
        ({"title": "Goal", "progress": -1}, "progress"),
        ({"title": "Goal", "progress": "50"}, "progress"),
        ({"title": "Goal", "progress": 50.5}, "progress"),
        ({"title": "Goal", "status": "finished"}, "status"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({}, "title"),
        ({"title": "Goal", "target_date": "next week"}, "target_date"),
        ({"title": "Goal", "partner_may_contribute": "yes"}, "partner_may_contribute"),
        ({"title": "Goal", "milestones": [{"title": f"m{i}"} for i in range(21)]}, "milestones"),
        ({"title": "Goal", "owner_role": "mentee"}, "owner_role"),
        ({"title": "Goal", "priority": "high"}, "priority"),
    ],
)
async def test_invalid_new_goals_are_refused_naming_the_field(
    client, factory, db, body, field
) -> None:
    paired = await factory.paired(activated_days_ago=5)
    response = await client.post(goals_url(paired), headers=paired.mentor.headers, json=body)
    assert_problem(response, 422)
    assert field in error_fields(response)
    async with db.session() as session:
        assert (await session.execute(select(Goal))).first() is None


async def test_only_members_set_goals(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    admin = await factory.admin()
    reader = await factory.service("read")
    for outsider in (paired.manager, admin, reader):
        response = await client.post(
            goals_url(paired), headers=outsider.headers, json={"title": "Not mine to set"}
        )
        assert_problem(response, 403, rule="member_only")
    stranger = await factory.person()
    hidden = await client.post(
        goals_url(paired), headers=stranger.headers, json={"title": "Not mine to set"}
    )
    assert_problem(hidden, 404)


# --- the owner edits ------------------------------------------------------------------------


async def test_the_owner_edits_title_status_and_progress(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    response = await patch_goal(
        client,
        paired.mentee,
        goal,
        {"title": "Run a meeting with AI notes", "status": "in_progress", "progress": 40},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["title"] == "Run a meeting with AI notes"
    assert changed["status"] == "in_progress"
    assert changed["progress"] == 40
    assert changed["version"] == 2
    assert response.headers["etag"] == '"v2"'
    assert changed["updated_at"] > goal["updated_at"]
    async with db.session() as session:
        stored = await session.get(Goal, uuid.UUID(goal["id"]))
        assert stored is not None
        assert (stored.title, stored.status, stored.progress, stored.version) == (
            "Run a meeting with AI notes",
            "in_progress",
            40,
            2,
        )


async def test_the_owner_clears_optional_fields(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(
        client, paired.mentee, paired, focus_area="AI tools", target_date="2999-01-01"
    )
    response = await patch_goal(
        client, paired.mentee, goal, {"focus_area": None, "target_date": None}
    )
    assert response.status_code == 200, response.text
    assert response.json()["focus_area"] is None
    assert response.json()["target_date"] is None


@pytest.mark.parametrize("field", ["title", "description", "status", "progress"])
async def test_required_fields_cannot_be_nulled(client, factory, field) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    response = await patch_goal(client, paired.mentee, goal, {field: None})
    assert response.status_code == 422, response.text
    after = (await client.get(f"{API}/goals/{goal['id']}", headers=paired.mentee.headers)).json()
    assert after == goal


async def test_a_patch_that_changes_nothing_keeps_the_version(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    response = await patch_goal(client, paired.mentee, goal, {"title": goal["title"]})
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert response.headers["etag"] == '"v1"'


async def test_achieving_a_goal_stamps_it_and_completes_progress(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, status="in_progress", progress=30)
    achieved = await patch_goal(client, paired.mentee, goal, {"status": "achieved"})
    assert achieved.status_code == 200, achieved.text
    body = achieved.json()
    assert body["status"] == "achieved"
    assert body["progress"] == 100
    assert body["achieved_at"] is not None


async def test_achieving_keeps_the_progress_sent_with_it(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, status="in_progress", progress=30)
    achieved = await patch_goal(client, paired.mentee, goal, {"status": "achieved", "progress": 90})
    assert achieved.status_code == 200, achieved.text
    assert achieved.json()["progress"] == 90
    assert achieved.json()["achieved_at"] is not None


@pytest.mark.parametrize("to", ["in_progress", "not_started", "dropped"])
async def test_moving_away_from_achieved_clears_the_stamp(client, factory, db, to) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, status="achieved")
    assert goal["achieved_at"] is not None
    reopened = await patch_goal(client, paired.mentee, goal, {"status": to})
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == to
    assert reopened.json()["achieved_at"] is None
    async with db.session() as session:
        stored = await session.get(Goal, uuid.UUID(goal["id"]))
        assert stored is not None
        assert stored.achieved_at is None


async def test_achieving_again_gives_a_new_stamp(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, status="achieved")
    reopened = (await patch_goal(client, paired.mentee, goal, {"status": "in_progress"})).json()
    again = await patch_goal(client, paired.mentee, reopened, {"status": "achieved"})
    assert again.json()["achieved_at"] is not None
    assert again.json()["achieved_at"] >= goal["achieved_at"]


@pytest.mark.parametrize("progress", [-1, 101, 1000])
async def test_progress_outside_0_to_100_is_refused(client, factory, progress) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, progress=10)
    response = await patch_goal(client, paired.mentee, goal, {"progress": progress})
    assert_problem(response, 422)
    assert "progress" in error_fields(response)
    after = (await client.get(f"{API}/goals/{goal['id']}", headers=paired.mentee.headers)).json()
    assert after["progress"] == 10
    assert after["version"] == 1


@pytest.mark.parametrize("progress", [0, 100])
async def test_progress_bounds_are_accepted(client, factory, progress) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, progress=50)
    response = await patch_goal(client, paired.mentee, goal, {"progress": progress})
    assert response.status_code == 200, response.text
    assert response.json()["progress"] == progress


@pytest.mark.parametrize("body", [{"owner_role": "mentor"}, {"version": 7}, {"colour": "red"}])
async def test_unknown_or_read_only_fields_are_refused(client, factory, body) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    response = await patch_goal(client, paired.mentee, goal, body)
    assert_problem(response, 422)
    assert set(body) <= error_fields(response)
    after = (await client.get(f"{API}/goals/{goal['id']}", headers=paired.mentee.headers)).json()
    assert after == goal


# --- If-Match -------------------------------------------------------------------------------


async def test_a_change_without_if_match_is_428(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "Step"}])
    patched = await client.patch(
        f"{API}/goals/{goal['id']}", headers=paired.mentee.headers, json={"title": "New"}
    )
    assert_problem(patched, 428)
    ticked = await client.patch(
        f"{API}/goals/{goal['id']}/milestones/{goal['milestones'][0]['id']}",
        headers=paired.mentee.headers,
        json={"done": True},
    )
    assert_problem(ticked, 428)
    after = (await client.get(f"{API}/goals/{goal['id']}", headers=paired.mentee.headers)).json()
    assert after == goal


async def test_a_change_against_a_stale_version_is_412(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "Step"}])
    first = await patch_goal(client, paired.mentee, goal, {"progress": 20})
    assert first.status_code == 200
    stale = await patch_goal(client, paired.mentee, goal, {"title": "Lost update"})
    problem = assert_problem(stale, 412)
    assert problem["current_version"] == 2
    stale_tick = await tick(client, paired.mentee, goal, goal["milestones"][0]["id"])
    assert_problem(stale_tick, 412)
    after = (await client.get(f"{API}/goals/{goal['id']}", headers=paired.mentee.headers)).json()
    assert after["title"] == goal["title"]
    assert after["milestones"][0]["done"] is False
    assert after["version"] == 2


async def test_a_malformed_if_match_is_refused(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    response = await client.patch(
        f"{API}/goals/{goal['id']}",
        headers={**paired.mentee.headers, "If-Match": "v1"},
        json={"title": "New"},
    )
    assert_problem(response, 422, field="If-Match")


# --- milestones through the goal ------------------------------------------------------------


async def test_milestones_are_reordered_renamed_removed_and_added(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(
        client,
        paired.mentee,
        paired,
        milestones=[{"title": "One"}, {"title": "Two", "done": True}, {"title": "Three"}],
    )
    one, two, three = goal["milestones"]
    response = await patch_goal(
        client,
        paired.mentee,
        goal,
        {
            "milestones": [
                {"id": three["id"], "title": "Three, renamed"},
                {"title": "Four"},
                {"id": two["id"], "title": "Two"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["version"] == 2
    milestones = changed["milestones"]
    assert [m["title"] for m in milestones] == ["Three, renamed", "Four", "Two"]
    assert [m["position"] for m in milestones] == [0, 1, 2]
    assert milestones[0]["id"] == three["id"]
    assert milestones[2]["id"] == two["id"]
    assert milestones[1]["id"] not in {one["id"], two["id"], three["id"]}
    # The done flag (and who ticked it, when) stays when not sent.
    assert milestones[2]["done"] is True
    assert milestones[2]["done_at"] == two["done_at"]
    assert milestones[2]["done_by_id"] == two["done_by_id"]
    assert milestones[0]["done"] is False
    assert milestones[1]["done"] is False
    async with db.session() as session:
        stored = (
            (
                await session.execute(
                    select(GoalMilestone)
                    .where(GoalMilestone.goal_id == uuid.UUID(goal["id"]))
                    .order_by(GoalMilestone.position)
                )
            )
            .scalars()
            .all()
        )
        assert [m.title for m in stored] == ["Three, renamed", "Four", "Two"]
        assert uuid.UUID(one["id"]) not in {m.id for m in stored}


async def test_milestones_can_be_reversed_in_one_change(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(
        client, paired.mentee, paired, milestones=[{"title": t} for t in ("a", "b", "c", "d")]
    )
    reversed_items = [{"id": m["id"], "title": m["title"]} for m in reversed(goal["milestones"])]
    response = await patch_goal(client, paired.mentee, goal, {"milestones": reversed_items})
    assert response.status_code == 200, response.text
    assert [m["title"] for m in response.json()["milestones"]] == ["d", "c", "b", "a"]
    assert [m["id"] for m in response.json()["milestones"]] == [
        m["id"] for m in reversed(goal["milestones"])
    ]


async def test_a_milestones_done_flag_changes_when_sent(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(
        client, paired.mentee, paired, milestones=[{"title": "a"}, {"title": "b", "done": True}]
    )
    a, b = goal["milestones"]
    response = await patch_goal(
        client,
        paired.mentee,
        goal,
        {
            "milestones": [
                {"id": a["id"], "title": "a", "done": True},
                {"id": b["id"], "title": "b", "done": False},
            ]
        },
    )
    assert response.status_code == 200, response.text
    new_a, new_b = response.json()["milestones"]
    assert new_a["done"] is True
    assert new_a["done_at"] is not None
    assert new_a["done_by_id"] == str(paired.mentee.id)
    assert new_b["done"] is False
    assert new_b["done_at"] is None
    assert new_b["done_by_id"] is None


async def test_an_empty_list_removes_every_milestone(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "a"}])
    response = await patch_goal(client, paired.mentee, goal, {"milestones": []})
    assert response.status_code == 200, response.text
    assert response.json()["milestones"] == []


async def test_milestones_are_untouched_when_not_sent(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "a"}])
    response = await patch_goal(client, paired.mentee, goal, {"progress": 10})
    assert response.json()["milestones"] == goal["milestones"]


async def test_sending_the_same_milestones_back_changes_nothing(client, factory, db) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(
        client, paired.mentee, paired, milestones=[{"title": "a"}, {"title": "b", "done": True}]
    )
    same = [{"id": m["id"], "title": m["title"]} for m in goal["milestones"]]
    response = await patch_goal(
        client, paired.mentee, goal, {"title": goal["title"], "milestones": same}
    )
    assert response.status_code == 200, response.text
    assert response.json() == goal
    assert response.headers["etag"] == '"v1"'
    async with db.session() as session:
        actions = (
            (
                await session.execute(
                    select(AuditEvent.action).where(AuditEvent.entity_type == "goal")
                )
            )
            .scalars()
            .all()
        )
    assert actions == ["goal.created"]


async def test_an_unknown_milestone_id_is_refused(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "a"}])
    other = await create_goal(client, paired.mentee, paired, milestones=[{"title": "elsewhere"}])
    for foreign in (str(uuid.uuid4()), other["milestones"][0]["id"]):
        response = await patch_goal(
            client, paired.mentee, goal, {"milestones": [{"id": foreign, "title": "x"}]}
        )
        assert_problem(response, 422, field="milestones")
    after = (await client.get(f"{API}/goals/{goal['id']}", headers=paired.mentee.headers)).json()
    assert after == goal
    other_after = await client.get(f"{API}/goals/{other['id']}", headers=paired.mentee.headers)
    assert other_after.json() == other


async def test_a_milestone_listed_twice_is_refused(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "a"}])
    a = goal["milestones"][0]
    response = await patch_goal(
        client,
        paired.mentee,
        goal,
        {"milestones": [{"id": a["id"], "title": "a"}, {"id": a["id"], "title": "again"}]},
    )
    assert_problem(response, 422, field="milestones")
    after = (await client.get(f"{API}/goals/{goal['id']}", headers=paired.mentee.headers)).json()
    assert after == goal


async def test_at_most_twenty_milestones(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    twenty = await patch_goal(
        client, paired.mentee, goal, {"milestones": [{"title": f"m{i}"} for i in range(20)]}
    )
    assert twenty.status_code == 200, twenty.text
    assert len(twenty.json()["milestones"]) == 20
    more = await patch_goal(
        client,
        paired.mentee,
        twenty.json(),
        {"milestones": [{"title": f"m{i}"} for i in range(21)]},
    )
    assert_problem(more, 422)
    assert "milestones" in error_fields(more)


# --- the partner ----------------------------------------------------------------------------


async def test_the_partner_cannot_change_the_goal(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "a"}])
    for body in (
        {"title": "Mine now"},
        {"progress": 100},
        {"status": "dropped"},
        {"partner_may_contribute": False},
        {"milestones": []},
    ):
        response = await patch_goal(client, paired.mentor, goal, body)
        assert_problem(response, 403, rule="goal_owner")
    after = (await client.get(f"{API}/goals/{goal['id']}", headers=paired.mentee.headers)).json()
    assert after == goal


async def test_the_partner_ticks_a_milestone_when_invited(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "a"}])
    milestone = goal["milestones"][0]
    response = await tick(client, paired.mentor, goal, milestone["id"])
    assert response.status_code == 200, response.text
    ticked = response.json()
    assert ticked["version"] == 2
    assert response.headers["etag"] == '"v2"'
    assert ticked["milestones"][0]["done"] is True
    assert ticked["milestones"][0]["done_by_id"] == str(paired.mentor.id)
    assert ticked["milestones"][0]["done_at"] is not None
    # The text and progress remain the owner's.
    assert ticked["title"] == goal["title"]
    assert ticked["progress"] == goal["progress"]
    undone = await tick(client, paired.mentor, ticked, milestone["id"], done=False)
    assert undone.status_code == 200, undone.text
    assert undone.json()["milestones"][0]["done"] is False
    assert undone.json()["milestones"][0]["done_at"] is None
    assert undone.json()["milestones"][0]["done_by_id"] is None
    assert undone.json()["version"] == 3


async def test_ticking_a_ticked_milestone_changes_nothing(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(
        client, paired.mentee, paired, milestones=[{"title": "a", "done": True}]
    )
    response = await tick(client, paired.mentee, goal, goal["milestones"][0]["id"])
    assert response.status_code == 200
    assert response.json() == goal


async def test_the_owner_ticks_their_own_milestones(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(
        client,
        paired.mentor,
        paired,
        partner_may_contribute=False,
        milestones=[{"title": "a"}],
    )
    response = await tick(client, paired.mentor, goal, goal["milestones"][0]["id"])
    assert response.status_code == 200, response.text
    assert response.json()["milestones"][0]["done_by_id"] == str(paired.mentor.id)


async def test_ticking_an_unknown_milestone_is_404(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "a"}])
    other = await create_goal(client, paired.mentee, paired, milestones=[{"title": "b"}])
    for milestone_id in (str(uuid.uuid4()), other["milestones"][0]["id"]):
        response = await tick(client, paired.mentee, goal, milestone_id)
        assert_problem(response, 404)
    other_after = await client.get(f"{API}/goals/{other['id']}", headers=paired.mentee.headers)
    assert other_after.json()["milestones"][0]["done"] is False


async def test_the_partner_comments_when_invited(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    url = f"{API}/goals/{goal['id']}/comments"
    response = await client.post(
        url, headers=paired.mentor.headers, json={"body": "  Try it on Monday's minutes  "}
    )
    assert response.status_code == 201, response.text
    comment = response.json()
    assert comment["body"] == "Try it on Monday's minutes"
    assert comment["author_employee_id"] == str(paired.mentor.id)
    assert comment["goal_id"] == goal["id"]
    assert response.headers["location"].endswith(url)
    own = await client.post(url, headers=paired.mentee.headers, json={"body": "Will do"})
    assert own.status_code == 201
    listed = await client.get(url, headers=paired.mentee.headers)
    assert listed.status_code == 200
    assert [c["body"] for c in listed.json()["items"]] == ["Try it on Monday's minutes", "Will do"]


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "   "}, {"body": "x" * 4001}, {}])
async def test_empty_or_long_comments_are_refused(client, factory, body) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    url = f"{API}/goals/{goal['id']}/comments"
    response = await client.post(url, headers=paired.mentor.headers, json=body)
    assert_problem(response, 422)
    assert (await client.get(url, headers=paired.mentee.headers)).json()["items"] == []


async def test_the_owner_can_shut_the_partner_out(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "a"}])
    closed = await patch_goal(client, paired.mentee, goal, {"partner_may_contribute": False})
    assert closed.status_code == 200, closed.text
    goal = closed.json()
    assert goal["partner_may_contribute"] is False
    ticked = await tick(client, paired.mentor, goal, goal["milestones"][0]["id"])
    assert_problem(ticked, 403, rule="partner_not_invited")
    url = f"{API}/goals/{goal['id']}/comments"
    commented = await client.post(url, headers=paired.mentor.headers, json={"body": "Hi"})
    assert_problem(commented, 403, rule="partner_not_invited")
    # Reading stays open to the partner.
    assert (await client.get(url, headers=paired.mentor.headers)).status_code == 200
    read = await client.get(f"{API}/goals/{goal['id']}", headers=paired.mentor.headers)
    assert read.status_code == 200
    assert read.json()["milestones"][0]["done"] is False
    # And the owner may invite them back.
    opened = await patch_goal(client, paired.mentee, goal, {"partner_may_contribute": True})
    ticked = await tick(client, paired.mentor, opened.json(), goal["milestones"][0]["id"])
    assert ticked.status_code == 200, ticked.text


# --- the program team, readers and strangers ------------------------------------------------


async def test_the_program_team_and_readers_read_but_never_change(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "a"}])
    comments_url = f"{API}/goals/{goal['id']}/comments"
    await client.post(comments_url, headers=paired.mentor.headers, json={"body": "Go for it"})
    admin = await factory.admin()
    reader = await factory.service("read")
    for overseer in (paired.manager, admin, reader):
        read = await client.get(f"{API}/goals/{goal['id']}", headers=overseer.headers)
        assert read.status_code == 200, read.text
        assert read.json() == goal
        listed = await client.get(goals_url(paired), headers=overseer.headers)
        assert [g["id"] for g in listed.json()["items"]] == [goal["id"]]
        comments = await client.get(comments_url, headers=overseer.headers)
        assert [c["body"] for c in comments.json()["items"]] == ["Go for it"]
    for overseer in (paired.manager, admin):
        patched = await patch_goal(client, overseer, goal, {"title": "Overruled"})
        assert_problem(patched, 403, rule="goal_owner")
        ticked = await tick(client, overseer, goal, goal["milestones"][0]["id"])
        assert_problem(ticked, 403, rule="member_only")
        commented = await client.post(
            comments_url, headers=overseer.headers, json={"body": "Team note"}
        )
        assert_problem(commented, 403, rule="member_only")
    for change in (
        await patch_goal(client, reader, goal, {"title": "Overruled"}),
        await tick(client, reader, goal, goal["milestones"][0]["id"]),
        await client.post(comments_url, headers=reader.headers, json={"body": "Reader note"}),
    ):
        assert change.status_code == 403, change.text
    after = (await client.get(f"{API}/goals/{goal['id']}", headers=paired.mentee.headers)).json()
    assert after == goal
    comments = (await client.get(comments_url, headers=paired.mentee.headers)).json()
    assert [c["body"] for c in comments["items"]] == ["Go for it"]


async def test_a_manager_of_another_program_sees_nothing(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    other = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    response = await client.get(f"{API}/goals/{goal['id']}", headers=other.manager.headers)
    assert_problem(response, 404)
    listed = await client.get(goals_url(paired), headers=other.manager.headers)
    assert_problem(listed, 404)


async def test_someone_unrelated_gets_404_everywhere(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "a"}])
    stranger = await factory.person()
    goal_url = f"{API}/goals/{goal['id']}"
    responses = [
        await client.get(goal_url, headers=stranger.headers),
        await client.get(goals_url(paired), headers=stranger.headers),
        await client.get(f"{goal_url}/comments", headers=stranger.headers),
        await client.post(f"{goal_url}/comments", headers=stranger.headers, json={"body": "hi"}),
        await patch_goal(client, stranger, goal, {"title": "Mine"}),
        await tick(client, stranger, goal, goal["milestones"][0]["id"]),
    ]
    for response in responses:
        problem = assert_problem(response, 404)
        assert goal["title"] not in str(problem)
    # The same answer as for a goal that does not exist at all.
    missing = await client.get(f"{API}/goals/{uuid.uuid4()}", headers=paired.mentee.headers)
    assert_problem(missing, 404)


async def test_a_service_without_read_scope_sees_nothing(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    service = await factory.service("employees:write")
    response = await client.get(f"{API}/goals/{goal['id']}", headers=service.headers)
    assert_problem(response, 404)
    assert goal["title"] not in response.text


async def test_anonymous_callers_are_refused(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    assert_problem(await client.get(f"{API}/goals/{goal['id']}"), 401)
    assert_problem(await client.get(goals_url(paired)), 401)


# --- overdue --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "status", "overdue"),
    [
        (-1, "not_started", True),
        (-30, "in_progress", True),
        (-1, "achieved", False),
        (-1, "dropped", False),
        (0, "in_progress", False),
        (10, "in_progress", False),
        (None, "in_progress", False),
    ],
)
async def test_a_goal_is_overdue_past_its_target_date_while_open(
    client, factory, days, status, overdue
) -> None:
    paired = await factory.paired(activated_days_ago=40)
    body: dict[str, Any] = {"status": status}
    if days is not None:
        body["target_date"] = (utcnow().date() + timedelta(days=days)).isoformat()
    goal = await create_goal(client, paired.mentee, paired, **body)
    assert goal["overdue"] is overdue
    listed = (await client.get(goals_url(paired), headers=paired.manager.headers)).json()
    assert listed["items"][0]["overdue"] is overdue


async def test_closing_an_overdue_goal_clears_overdue(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=40)
    past = (utcnow().date() - timedelta(days=3)).isoformat()
    goal = await create_goal(client, paired.mentee, paired, target_date=past, status="in_progress")
    assert goal["overdue"] is True
    dropped = await patch_goal(client, paired.mentee, goal, {"status": "dropped"})
    assert dropped.json()["overdue"] is False
    reopened = await patch_goal(client, paired.mentee, dropped.json(), {"status": "in_progress"})
    assert reopened.json()["overdue"] is True
    moved = await patch_goal(client, paired.mentee, reopened.json(), {"target_date": None})
    assert moved.json()["overdue"] is False


# --- listing --------------------------------------------------------------------------------


async def test_the_list_holds_both_members_goals_oldest_first(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    other = await factory.paired(activated_days_ago=5)
    first = await create_goal(client, paired.mentee, paired, title="first")
    second = await create_goal(client, paired.mentor, paired, title="second")
    third = await create_goal(client, paired.mentee, paired, title="third")
    await create_goal(client, other.mentee, other, title="elsewhere")
    for member in (paired.mentor, paired.mentee):
        listed = await client.get(goals_url(paired), headers=member.headers)
        assert listed.status_code == 200
        assert [g["id"] for g in listed.json()["items"]] == [
            first["id"],
            second["id"],
            third["id"],
        ]
        assert listed.json()["next_cursor"] is None
        assert "link" not in listed.headers


async def test_the_list_filters_by_owner_role_and_status(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    mentee_new = await create_goal(client, paired.mentee, paired, title="a")
    mentee_done = await create_goal(client, paired.mentee, paired, title="b", status="achieved")
    mentor_new = await create_goal(client, paired.mentor, paired, title="c")
    mentor_busy = await create_goal(client, paired.mentor, paired, title="d", status="in_progress")

    async def ids(query: str) -> list[str]:
        response = await client.get(f"{goals_url(paired)}?{query}", headers=paired.mentor.headers)
        assert response.status_code == 200, response.text
        return [g["id"] for g in response.json()["items"]]

    assert await ids("owner_role=mentee") == [mentee_new["id"], mentee_done["id"]]
    assert await ids("owner_role=mentor") == [mentor_new["id"], mentor_busy["id"]]
    assert await ids("status=not_started") == [mentee_new["id"], mentor_new["id"]]
    assert await ids("status=achieved") == [mentee_done["id"]]
    assert await ids("owner_role=mentor&status=in_progress") == [mentor_busy["id"]]
    assert await ids("owner_role=mentor&status=achieved") == []


@pytest.mark.parametrize("query", ["owner_role=manager", "status=done", "limit=0", "limit=101"])
async def test_bad_list_filters_are_refused(client, factory, query) -> None:
    paired = await factory.paired(activated_days_ago=5)
    response = await client.get(f"{goals_url(paired)}?{query}", headers=paired.mentor.headers)
    assert_problem(response, 422)


async def test_the_list_pages_with_a_cursor_and_a_link_header(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    created = [
        (await create_goal(client, paired.mentee, paired, title=f"goal {i}"))["id"]
        for i in range(5)
    ]
    seen: list[str] = []
    url: str | None = f"{goals_url(paired)}?limit=2"
    pages = 0
    while url is not None:
        response = await client.get(url, headers=paired.mentee.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 2
        seen += [g["id"] for g in body["items"]]
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
    assert seen == created


async def test_filters_are_kept_across_pages(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    mentor_goals = []
    for i in range(3):
        await create_goal(client, paired.mentee, paired, title=f"mentee {i}")
        mentor_goals.append((await create_goal(client, paired.mentor, paired))["id"])
    first = await client.get(
        f"{goals_url(paired)}?owner_role=mentor&limit=2", headers=paired.mentee.headers
    )
    link = first.headers["link"]
    second = await client.get(link[1 : link.index(">")], headers=paired.mentee.headers)
    ids = [g["id"] for g in first.json()["items"] + second.json()["items"]]
    assert ids == mentor_goals
    assert second.json()["next_cursor"] is None


async def test_a_forged_cursor_is_refused(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    response = await client.get(
        f"{goals_url(paired)}?cursor=not-a-cursor", headers=paired.mentee.headers
    )
    assert_problem(response, 422, field="cursor")


async def test_comments_page_oldest_first(client, factory) -> None:
    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired)
    url = f"{API}/goals/{goal['id']}/comments"
    for i in range(3):
        author = paired.mentor if i % 2 else paired.mentee
        assert (await client.post(url, headers=author.headers, json={"body": f"c{i}"})).is_success
    first = await client.get(f"{url}?limit=2", headers=paired.manager.headers)
    assert [c["body"] for c in first.json()["items"]] == ["c0", "c1"]
    link = first.headers["link"]
    second = await client.get(link[1 : link.index(">")], headers=paired.manager.headers)
    assert [c["body"] for c in second.json()["items"]] == ["c2"]
    assert second.json()["next_cursor"] is None


# --- the audit log --------------------------------------------------------------------------


async def test_the_audit_log_records_changes_but_never_the_members_words(
    client, factory, db
) -> None:
    paired = await factory.paired(activated_days_ago=5)
    admin = await factory.admin()
    secret_title = "Stop feeling lost in Slack XYZZY-TITLE"
    secret_description = "My team laughs at my emoji PLUGH-DESCRIPTION"
    goal = await create_goal(
        client,
        paired.mentee,
        paired,
        title=secret_title,
        description=secret_description,
        milestones=[{"title": "Ask for help QUUX-MILESTONE"}],
    )
    changed = await patch_goal(
        client,
        paired.mentee,
        goal,
        {
            "title": secret_title + " again",
            "description": secret_description + " again",
            "status": "in_progress",
            "milestones": [
                {"id": goal["milestones"][0]["id"], "title": "Renamed FROBOZZ-MILESTONE"}
            ],
        },
    )
    assert changed.status_code == 200, changed.text
    ticked = await tick(client, paired.mentor, changed.json(), goal["milestones"][0]["id"])
    assert ticked.status_code == 200, ticked.text
    commented = await client.post(
        f"{API}/goals/{goal['id']}/comments",
        headers=paired.mentor.headers,
        json={"body": "Honestly, your emoji are fine GRUE-COMMENT"},
    )
    assert commented.status_code == 201

    response = await client.get(
        f"{API}/audit-events?entity_type=goal&entity_id={goal['id']}", headers=admin.headers
    )
    assert response.status_code == 200, response.text
    events = response.json()["items"]
    assert {e["action"] for e in events} == {
        "goal.created",
        "goal.updated",
        "goal.milestone_done",
        "goal.commented",
    }
    updated = next(e for e in events if e["action"] == "goal.updated")
    assert updated["details"]["fields"] == ["description", "milestones", "status", "title"]
    created = next(e for e in events if e["action"] == "goal.created")
    assert created["actor_employee_id"] == str(paired.mentee.id)
    assert created["details"]["owner_role"] == "mentee"

    words = ("XYZZY", "PLUGH", "QUUX", "FROBOZZ", "GRUE")
    async with db.session() as session:
        stored = (await session.execute(select(AuditEvent))).scalars().all()
    everything = response.text + " ".join(repr(e.details) for e in stored)
    for word in words:
        assert word not in everything


async def test_after_an_early_exit_only_the_owner_touches_the_goal(client, factory, db) -> None:
    from app.domain import pairings

    paired = await factory.paired(activated_days_ago=5)
    goal = await create_goal(client, paired.mentee, paired, milestones=[{"title": "a"}])
    ended = await client.post(
        f"{API}/pairings/{paired.id}/end",
        headers={**paired.mentor.headers, "If-Match": f'"v{paired.pairing.version}"'},
        json={"reason": pairings.EndReason.NOT_A_GOOD_FIT.value},
    )
    assert ended.status_code == 200, ended.text

    ticked = await tick(client, paired.mentor, goal, goal["milestones"][0]["id"])
    assert_problem(ticked, 409, rule="pairing_ended")
    commented = await client.post(
        f"{API}/goals/{goal['id']}/comments", headers=paired.mentor.headers, json={"body": "Hi"}
    )
    assert_problem(commented, 409, rule="pairing_ended")
    unchanged = await client.get(f"{API}/goals/{goal['id']}", headers=paired.mentee.headers)
    assert unchanged.json() == goal

    closed = await patch_goal(client, paired.mentee, goal, {"status": "dropped"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "dropped"
