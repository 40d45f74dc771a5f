"""Concerns: a member's confidential report about their pairing, read by the program team and
its raiser only (the partner never learns that one exists)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from app.api.graphql.context import Info
from app.api.graphql.relay import (
    DEFAULT_FIRST,
    After,
    Connection,
    First,
    check_first,
    connection,
    node_uuid,
)
from app.api.graphql.types import related
from app.api.graphql.types.common import ConcernCategory, ConcernStatus, nodes_through
from app.db.models import Concern as ConcernRow
from app.db.pagination import key_cursor
from app.domain import concerns as service
from app.domain.concerns import ConcernView, concern_view

if TYPE_CHECKING:
    from app.api.graphql.types.pairings import Pairing


def _employee(value: uuid.UUID | None) -> relay.GlobalID | None:
    return None if value is None else relay.GlobalID("Employee", str(value))


@strawberry.type(
    description="A confidential concern about a pairing. Who acted on it, the resolution and "
    "the rematch recommendation are for the program team only."
)
class Concern(relay.Node):
    id: relay.NodeID[uuid.UUID]
    view: strawberry.Private[ConcernView]
    category: ConcernCategory
    description: str
    status: ConcernStatus
    acknowledged_at: datetime | None
    resolution: str | None = strawberry.field(description="The program team only.")
    resolved_at: datetime | None
    rematch_recommended: bool | None = strawberry.field(description="The program team only.")
    pairing_ended: bool
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, view: ConcernView) -> Self:
        return cls(
            id=view.id,
            view=view,
            category=ConcernCategory(view.category),
            description=view.description,
            status=ConcernStatus(view.status),
            acknowledged_at=view.acknowledged_at,
            resolution=view.resolution,
            resolved_at=view.resolved_at,
            rematch_recommended=view.rematch_recommended,
            pairing_ended=view.pairing_ended,
            created_at=view.created_at,
            updated_at=view.updated_at,
            version=view.version,
        )

    @classmethod
    def shaped(cls, info: Info, row: ConcernRow) -> Self:
        """The concern as the caller may read it (the domain decides)."""
        return cls.of(concern_view(info.context.actor, row))

    @strawberry.field(description="The id REST uses for this concern.")
    def database_id(self) -> uuid.UUID:
        return self.id

    @strawberry.field
    def raised_by_id(self) -> relay.GlobalID:
        return relay.GlobalID("Employee", str(self.view.raised_by_id))

    @strawberry.field(description="The program team only.")
    def acknowledged_by_id(self) -> relay.GlobalID | None:
        return _employee(self.view.acknowledged_by_id)

    @strawberry.field(description="The program team only.")
    def resolved_by_id(self) -> relay.GlobalID | None:
        return _employee(self.view.resolved_by_id)

    @strawberry.field
    def program_id(self) -> relay.GlobalID:
        return relay.GlobalID("Program", str(self.view.program_id))

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
            info.context.loaders.concern,
            lambda row: cls.shaped(info, row),
            node_ids,
            required=required,
        )


@strawberry.type
class ConcernQueries:
    @strawberry.field(
        description="The concerns you may read, newest first (as `GET /api/v1/concerns`): the "
        "program team's inbox, or the ones you raised. Service clients are refused."
    )
    async def concerns(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        program: relay.GlobalID | None = None,
        pairing: relay.GlobalID | None = None,
        status: ConcernStatus | None = None,
    ) -> Connection[Concern]:
        async with info.context.session() as session:
            page = await service.list_concerns(
                session,
                info.context.actor,
                program_id=None if program is None else node_uuid(program, "Program"),
                pairing_id=None if pairing is None else node_uuid(pairing, "Pairing"),
                status=status,
                limit=check_first(first),
                cursor=after,
            )
        info.context.loaders.prime(info.context.loaders.concern, page.items)
        return connection(page, lambda c: Concern.shaped(info, c), lambda c: key_cursor(c.id))
