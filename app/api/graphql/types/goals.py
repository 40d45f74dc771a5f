"""Goals of a pairing's members, with their milestones."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from app.api.graphql.context import Info
from app.api.graphql.loaders import args_key
from app.api.graphql.relay import (
    DEFAULT_FIRST,
    After,
    Connection,
    First,
    check_first,
    connection,
    node_uuids,
    ordered,
)
from app.api.graphql.types import related
from app.api.graphql.types.common import GoalStatus, OwnerRole
from app.db.models import Goal as GoalRow
from app.db.pagination import key_cursor
from app.domain import goals as service
from app.domain.goals import MilestoneView, is_overdue

if TYPE_CHECKING:
    from app.api.graphql.types.comments import GoalComment
    from app.api.graphql.types.pairings import Pairing


@strawberry.type(description="A step towards a goal.")
class Milestone:
    id: relay.GlobalID
    position: int
    title: str
    done: bool
    done_at: datetime | None

    @classmethod
    def of(cls, view: MilestoneView) -> Self:
        return cls(
            id=relay.GlobalID("Milestone", str(view.id)),
            position=view.position,
            title=view.title,
            done=view.done,
            done_at=view.done_at,
        )


@strawberry.type(description="A learning goal of one member of a pairing.")
class Goal(relay.Node):
    id: relay.NodeID[uuid.UUID]
    row: strawberry.Private[GoalRow]
    owner_role: OwnerRole
    title: str
    description: str
    focus_area: str | None
    target_date: date | None
    status: GoalStatus
    progress: int
    overdue: bool = strawberry.field(
        description="Past its target date and neither achieved nor dropped."
    )
    partner_may_contribute: bool
    achieved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, row: GoalRow) -> Self:
        return cls(
            id=row.id,
            row=row,
            owner_role=OwnerRole(row.owner_role),
            title=row.title,
            description=row.description,
            focus_area=row.focus_area,
            target_date=row.target_date,
            status=GoalStatus(row.status),
            progress=row.progress,
            overdue=is_overdue(row),
            partner_may_contribute=row.partner_may_contribute,
            achieved_at=row.achieved_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
        )

    @strawberry.field(description="The id REST uses for this goal.")
    def database_id(self) -> uuid.UUID:
        return self.id

    @strawberry.field
    def owner_id(self) -> relay.GlobalID:
        return relay.GlobalID("Employee", str(self.row.owner_employee_id))

    @strawberry.field
    async def milestones(self, info: Info) -> list[Milestone]:
        return [Milestone.of(m) for m in await info.context.loaders.milestones.load(self.id)]

    @strawberry.field
    async def pairing(
        self, info: Info
    ) -> Annotated[Pairing, strawberry.lazy("app.api.graphql.types.pairings")] | None:
        return await related.pairing(info, self.row.pairing_id)

    @strawberry.field(description="The comments on the goal, oldest first.")
    async def comments(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
    ) -> Connection[Annotated[GoalComment, strawberry.lazy("app.api.graphql.types.comments")]]:
        from app.api.graphql.types.comments import GoalComment

        key = args_key(limit=check_first(first), cursor=after)
        page = await info.context.loaders.comments_of_goal.load((self.id, key))
        return connection(page, GoalComment.of, lambda c: key_cursor(c.id))

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = list(node_ids)
        async with info.context.session() as session:
            found = await service.goals_by_id(session, info.context.actor, node_uuids(ids))
        return ordered({k: cls.of(v) for k, v in found.items()}, ids, required=required)
