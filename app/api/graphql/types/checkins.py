"""Check-ins: the meetings of a pairing, as the domain shapes them for the caller (shared notes
for the two members, a private note for its author alone)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from app.api.graphql.context import Info
from app.api.graphql.types import related
from app.api.graphql.types.common import MeetingMode, nodes_through
from app.domain.checkins import CheckInView

if TYPE_CHECKING:
    from app.api.graphql.types.employees import Employee
    from app.api.graphql.types.pairings import Pairing


@strawberry.type(
    description="A meeting of a pairing's two members. Its shared notes are theirs alone; a "
    "private note is read by its author and nobody else, admins included."
)
class CheckIn(relay.Node):
    id: relay.NodeID[uuid.UUID]
    view: strawberry.Private[CheckInView]
    met_on: date
    duration_minutes: int
    mode: MeetingMode
    topics: list[str]
    shared_notes: str | None = strawberry.field(
        description="The two members only; null for anyone else."
    )
    private_note: str | None = strawberry.field(
        description="Your own private note, if you wrote one (never anyone else's)."
    )
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, view: CheckInView) -> Self:
        return cls(
            id=view.id,
            view=view,
            met_on=view.met_on,
            duration_minutes=view.duration_minutes,
            mode=MeetingMode(view.mode),
            topics=list(view.topics),
            shared_notes=view.shared_notes,
            private_note=view.private_note,
            created_at=view.created_at,
            updated_at=view.updated_at,
            version=view.version,
        )

    @strawberry.field(description="The id REST uses for this check-in.")
    def database_id(self) -> uuid.UUID:
        return self.id

    @strawberry.field(description="The member who logged the meeting.")
    def logged_by_id(self) -> relay.GlobalID:
        return relay.GlobalID("Employee", str(self.view.logged_by_id))

    @strawberry.field(description="The member who logged it, when the caller may see their record.")
    async def logged_by(
        self, info: Info
    ) -> Annotated[Employee, strawberry.lazy("app.api.graphql.types.employees")] | None:
        return await related.employee(info, self.view.logged_by_id)

    @strawberry.field
    async def pairing(
        self, info: Info
    ) -> Annotated[Pairing, strawberry.lazy("app.api.graphql.types.pairings")] | None:
        return await related.pairing(info, self.view.pairing_id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await nodes_through(
            info.context.loaders.check_in, cls.of, node_ids, required=required
        )
