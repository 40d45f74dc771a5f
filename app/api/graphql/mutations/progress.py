"""Mutations of life in a pairing: check-ins and private notes, feedback, goal comments."""

from __future__ import annotations

from datetime import date

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import UNSET, relay

from app.api.graphql.context import Info
from app.api.graphql.mutations import plain, to_domain, unit_of_work
from app.api.graphql.relay import node_uuid
from app.api.graphql.types.checkins import CheckIn
from app.api.graphql.types.comments import GoalComment
from app.api.graphql.types.common import CommentVisibility, FeedbackKind, MeetingMode
from app.api.graphql.types.feedback import Feedback
from app.domain import checkins, feedback, goals
from app.domain.actors import Actor
from app.domain.checkins import CheckInView


@strawberry.input(description="A meeting the two members had.")
class LogCheckInInput:
    met_on: date
    duration_minutes: int = strawberry.field(description="Minutes, 5-600.")
    mode: MeetingMode
    topics: list[str] | None = UNSET
    shared_notes: str | None = strawberry.field(
        default=UNSET, description="Read by the two members only."
    )
    private_note: str | None = strawberry.field(
        default=UNSET, description="Yours only: nobody else ever reads it, admins included."
    )


@strawberry.input(description="A partial change of the shared record (either member).")
class UpdateCheckInInput:
    met_on: date | None = UNSET
    duration_minutes: int | None = UNSET
    mode: MeetingMode | None = UNSET
    topics: list[str] | None = UNSET
    shared_notes: str | None = UNSET


@strawberry.input(description="Ratings from 1 (poor) to 5 (excellent).")
class RatingsInput:
    value: int
    mutual_respect: int
    psychological_safety: int
    clarity: int


@strawberry.input(description="A member's feedback on a check-in, or on the pairing once over.")
class GiveFeedbackInput:
    kind: FeedbackKind
    check_in: relay.GlobalID | None = strawberry.field(
        default=None, description="The check-in rated (check-in feedback)."
    )
    ratings: RatingsInput
    comment: str | None = UNSET
    comment_visibility: CommentVisibility | None = strawberry.field(
        default=UNSET,
        description="Who reads the comment besides you: the program team, or your partner as well.",
    )
    would_take_part_again: bool | None = UNSET


@strawberry.type
class ProgressMutations:
    @strawberry.mutation(
        description="Log a meeting (either member), with an optional private note only you "
        "will read."
    )
    async def log_check_in(
        self,
        info: Info,
        pairing: relay.GlobalID,
        input: LogCheckInInput,
    ) -> CheckIn:
        pairing_id = node_uuid(pairing, "Pairing")
        data = to_domain(checkins.CheckInCreate, input)

        async def work(session: AsyncSession, actor: Actor) -> CheckInView:
            row = await checkins.log_check_in(session, actor, pairing_id, data=data)
            return await checkins.check_in_view(session, actor, row)

        return CheckIn.of(await unit_of_work(info, work))

    @strawberry.mutation(description="Change the shared record of a meeting (either member).")
    async def update_check_in(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
        input: UpdateCheckInInput,
    ) -> CheckIn:
        check_in_id = node_uuid(id, "CheckIn")
        data = to_domain(checkins.CheckInUpdate, input)

        async def work(session: AsyncSession, actor: Actor) -> CheckInView:
            row = await checkins.update_check_in(
                session, actor, check_in_id, data=data, expected_version=expected_version
            )
            return await checkins.check_in_view(session, actor, row)

        return CheckIn.of(await unit_of_work(info, work))

    @strawberry.mutation(
        description="Write (or rewrite) your private note on a check-in: nobody else reads it."
    )
    async def put_private_note(self, info: Info, check_in: relay.GlobalID, body: str) -> CheckIn:
        check_in_id = node_uuid(check_in, "CheckIn")
        data = to_domain(checkins.PrivateNoteIn, None, body=body)

        async def work(session: AsyncSession, actor: Actor) -> CheckInView:
            await checkins.put_private_note(session, actor, check_in_id, data=data)
            row = await checkins.get_check_in(session, actor, check_in_id)
            return await checkins.check_in_view(session, actor, row)

        return CheckIn.of(await unit_of_work(info, work))

    @strawberry.mutation(description="Delete your private note on a check-in.")
    async def delete_private_note(self, info: Info, check_in: relay.GlobalID) -> CheckIn:
        check_in_id = node_uuid(check_in, "CheckIn")

        async def work(session: AsyncSession, actor: Actor) -> CheckInView:
            await checkins.delete_private_note(session, actor, check_in_id)
            row = await checkins.get_check_in(session, actor, check_in_id)
            return await checkins.check_in_view(session, actor, row)

        return CheckIn.of(await unit_of_work(info, work))

    @strawberry.mutation(description="Rate a check-in, or the pairing once it is over (a member).")
    async def give_feedback(
        self,
        info: Info,
        pairing: relay.GlobalID,
        input: GiveFeedbackInput,
    ) -> Feedback:
        pairing_id = node_uuid(pairing, "Pairing")
        data = to_domain(
            feedback.FeedbackCreate,
            input,
            check_in=UNSET,
            check_in_id=None if input.check_in is None else node_uuid(input.check_in, "CheckIn"),
            ratings=plain(input.ratings),
        )
        view = await unit_of_work(
            info, lambda s, actor: feedback.give_feedback(s, actor, pairing_id, data=data)
        )
        return Feedback.of(view)

    @strawberry.mutation(description="Comment on a goal (its owner or their partner).")
    async def add_goal_comment(self, info: Info, goal: relay.GlobalID, body: str) -> GoalComment:
        goal_id = node_uuid(goal, "Goal")
        data = to_domain(goals.CommentCreate, None, body=body)
        row = await unit_of_work(
            info, lambda s, actor: goals.add_comment(s, actor, goal_id, data=data)
        )
        return GoalComment.of(row)
