"""Goal mutations: set a goal, change it, tick its milestones."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import UNSET, relay

from app.api.graphql.context import Info
from app.api.graphql.mutations import plain, to_domain, unit_of_work
from app.api.graphql.relay import node_uuid
from app.api.graphql.types.common import GoalStatus
from app.api.graphql.types.goals import Goal
from app.domain import goals as service


@strawberry.input(description="A milestone; give `id` to keep an existing one.")
class MilestoneInput:
    id: relay.GlobalID | None = None
    title: str
    done: bool | None = UNSET


@strawberry.input(description="A new goal, owned by the member who sets it.")
class CreateGoalInput:
    title: str
    description: str | None = UNSET
    focus_area: str | None = UNSET
    target_date: date | None = UNSET
    status: GoalStatus | None = UNSET
    progress: int | None = strawberry.field(default=UNSET, description="Per cent, 0-100.")
    partner_may_contribute: bool | None = UNSET
    milestones: list[MilestoneInput] | None = UNSET


@strawberry.input(
    description="A partial change by the owner. `milestones`, when sent, is the new ordered "
    "list: milestones left out are removed."
)
class UpdateGoalInput:
    title: str | None = UNSET
    description: str | None = UNSET
    focus_area: str | None = UNSET
    target_date: date | None = UNSET
    status: GoalStatus | None = UNSET
    progress: int | None = UNSET
    partner_may_contribute: bool | None = UNSET
    milestones: list[MilestoneInput] | None = UNSET


def _milestones(items: list[MilestoneInput] | None) -> object:
    if items is None or items is UNSET:
        return items
    out = []
    for item in items:
        data = plain(item)
        data["id"] = None if item.id is None else node_uuid(item.id, "Milestone")
        out.append(data)
    return out


@strawberry.type
class GoalMutations:
    @strawberry.mutation(description="Set a learning goal in a pairing (either member).")
    async def create_goal(
        self,
        info: Info,
        pairing: relay.GlobalID,
        input: CreateGoalInput,
    ) -> Goal:
        pairing_id = node_uuid(pairing, "Pairing")
        data = to_domain(service.GoalCreate, input, milestones=_milestones(input.milestones))
        row = await unit_of_work(
            info, lambda s, actor: service.create_goal(s, actor, pairing_id, data=data)
        )
        return Goal.of(row)

    @strawberry.mutation(description="Change your goal.")
    async def update_goal(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
        input: UpdateGoalInput,
    ) -> Goal:
        goal_id = node_uuid(id, "Goal")
        data = to_domain(service.GoalUpdate, input, milestones=_milestones(input.milestones))
        row = await unit_of_work(
            info,
            lambda s, actor: service.update_goal(
                s, actor, goal_id, data=data, expected_version=expected_version
            ),
        )
        return Goal.of(row)

    @strawberry.mutation(
        description="Tick or untick a milestone (the owner, or the partner when allowed); "
        "`expectedVersion` is the goal's."
    )
    async def set_milestone(
        self,
        info: Info,
        goal: relay.GlobalID,
        milestone: relay.GlobalID,
        expected_version: int,
        done: bool,
    ) -> Goal:
        goal_id = node_uuid(goal, "Goal")
        milestone_id = node_uuid(milestone, "Milestone")
        change = to_domain(service.MilestoneChange, None, done=done)
        row = await unit_of_work(
            info,
            lambda s, actor: service.set_milestone(
                s,
                actor,
                goal_id,
                milestone_id,
                done=change.done,
                expected_version=expected_version,
            ),
        )
        return Goal.of(row)
