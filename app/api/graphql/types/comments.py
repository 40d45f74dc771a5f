"""Comments on a goal (read by whoever may read the goal)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from app.api.graphql.context import Info
from app.api.graphql.types import related
from app.db.models import GoalComment as GoalCommentRow

if TYPE_CHECKING:
    from app.api.graphql.types.employees import Employee


@strawberry.type(description="A comment on a goal, by its owner or their partner.")
class GoalComment:
    id: relay.GlobalID
    row: strawberry.Private[GoalCommentRow]
    body: str
    created_at: datetime

    @classmethod
    def of(cls, row: GoalCommentRow) -> Self:
        return cls(
            id=relay.GlobalID("GoalComment", str(row.id)),
            row=row,
            body=row.body,
            created_at=row.created_at,
        )

    @strawberry.field(description="The id REST uses for this comment.")
    def database_id(self) -> uuid.UUID:
        return self.row.id

    @strawberry.field
    def goal_id(self) -> relay.GlobalID:
        return relay.GlobalID("Goal", str(self.row.goal_id))

    @strawberry.field
    def author_id(self) -> relay.GlobalID:
        return relay.GlobalID("Employee", str(self.row.author_employee_id))

    @strawberry.field(description="The author, when the caller may see their record.")
    async def author(
        self, info: Info
    ) -> Annotated[Employee, strawberry.lazy("app.api.graphql.types.employees")] | None:
        return await related.employee(info, self.row.author_employee_id)
