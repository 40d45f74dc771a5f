"""Blocks: people a participant never wants to be paired with (the blocked are never told)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from app.api.graphql.context import Info
from app.api.graphql.relay import DEFAULT_FIRST, After, Connection, First, check_first, connection
from app.api.graphql.types import related
from app.db.models import Block as BlockRow
from app.db.pagination import key_cursor
from app.domain import blocks as service

if TYPE_CHECKING:
    from app.api.graphql.types.employees import Employee


@strawberry.type(description="Never be paired with this person, in any program.")
class Block:
    id: relay.GlobalID
    row: strawberry.Private[BlockRow]
    created_at: datetime

    @classmethod
    def of(cls, row: BlockRow) -> Self:
        return cls(id=relay.GlobalID("Block", str(row.id)), row=row, created_at=row.created_at)

    @strawberry.field(description="The id REST uses for this block.")
    def database_id(self) -> uuid.UUID:
        return self.row.id

    @strawberry.field
    def blocked_employee_id(self) -> relay.GlobalID:
        return relay.GlobalID("Employee", str(self.row.blocked_employee_id))

    @strawberry.field(description="The blocked person, when the caller may see their record.")
    async def blocked_employee(
        self, info: Info
    ) -> Annotated[Employee, strawberry.lazy("app.api.graphql.types.employees")] | None:
        return await related.employee(info, self.row.blocked_employee_id)


@strawberry.type
class BlockQueries:
    @strawberry.field(description="Your blocks, oldest first (admins: everyone's).")
    async def blocks(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
    ) -> Connection[Block]:
        async with info.context.session() as session:
            page = await service.list_blocks(
                session, info.context.actor, limit=check_first(first), cursor=after
            )
        return connection(page, Block.of, lambda b: key_cursor(b.id))
