"""Feedback given in a pairing, as the domain shapes it for the caller: the author and the
program team read it whole; the partner reads a comment only when it was shared with them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from app.api.graphql.context import Info
from app.api.graphql.types import related
from app.api.graphql.types.common import CommentVisibility, FeedbackKind
from app.domain.feedback import FeedbackView

if TYPE_CHECKING:
    from app.api.graphql.types.checkins import CheckIn
    from app.api.graphql.types.pairings import Pairing


@strawberry.type(description="Ratings from 1 (poor) to 5 (excellent) on each dimension.")
class Ratings:
    value: int
    mutual_respect: int
    psychological_safety: int
    clarity: int


@strawberry.type(
    description="One member's feedback on a check-in or on the pairing's end. Ratings and the "
    "answer to 'would take part again' are for the author and the program team only."
)
class Feedback:
    id: relay.GlobalID
    view: strawberry.Private[FeedbackView]
    author_role: str
    kind: FeedbackKind
    ratings: Ratings | None = strawberry.field(description="The author and the program team only.")
    would_take_part_again: bool | None = strawberry.field(
        description="The author and the program team only."
    )
    comment: str | None = strawberry.field(
        description="The partner reads it only when it was shared with them."
    )
    comment_visibility: CommentVisibility | None = strawberry.field(
        description="The author and the program team only."
    )
    created_at: datetime

    @classmethod
    def of(cls, view: FeedbackView) -> Self:
        ratings = view.ratings
        return cls(
            id=relay.GlobalID("Feedback", str(view.id)),
            view=view,
            author_role=view.author_role,
            kind=FeedbackKind(view.kind),
            ratings=None
            if ratings is None
            else Ratings(
                value=ratings.value,
                mutual_respect=ratings.mutual_respect,
                psychological_safety=ratings.psychological_safety,
                clarity=ratings.clarity,
            ),
            would_take_part_again=view.would_take_part_again,
            comment=view.comment,
            comment_visibility=None
            if view.comment_visibility is None
            else CommentVisibility(view.comment_visibility),
            created_at=view.created_at,
        )

    @strawberry.field(description="The id REST uses for this entry.")
    def database_id(self) -> uuid.UUID:
        return self.view.id

    @strawberry.field
    def author_id(self) -> relay.GlobalID:
        return relay.GlobalID("Employee", str(self.view.author_employee_id))

    @strawberry.field(description="The check-in it is about (feedback on a check-in only).")
    def check_in_id(self) -> relay.GlobalID | None:
        found = self.view.check_in_id
        return None if found is None else relay.GlobalID("CheckIn", str(found))

    @strawberry.field(description="The check-in it is about, as the caller may read it.")
    async def check_in(
        self, info: Info
    ) -> Annotated[CheckIn, strawberry.lazy("app.api.graphql.types.checkins")] | None:
        from app.api.graphql.types.checkins import CheckIn

        if self.view.check_in_id is None:
            return None
        view = await info.context.loaders.check_in.load(self.view.check_in_id)
        return None if view is None else CheckIn.of(view)

    @strawberry.field
    async def pairing(
        self, info: Info
    ) -> Annotated[Pairing, strawberry.lazy("app.api.graphql.types.pairings")] | None:
        return await related.pairing(info, self.view.pairing_id)
