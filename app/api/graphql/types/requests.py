"""Pairing requests: a participant asks a specific person in their program to be their partner
(read by both of them, the program's managers and admins)."""

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
from app.api.graphql.types.common import RequestStatus, nodes_through
from app.db.models import PairingRequest as PairingRequestRow
from app.db.pagination import key_cursor
from app.domain import pairing_requests as service

if TYPE_CHECKING:
    from app.api.graphql.types.employees import Employee
    from app.api.graphql.types.pairings import Pairing
    from app.api.graphql.types.programs import Program

EMPLOYEES = "app.api.graphql.types.employees"


@strawberry.type(description="A participant's request to pair with a specific person.")
class PairingRequest(relay.Node):
    id: relay.NodeID[uuid.UUID]
    row: strawberry.Private[PairingRequestRow]
    status: RequestStatus
    message: str
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, row: PairingRequestRow) -> Self:
        return cls(
            id=row.id,
            row=row,
            status=RequestStatus(row.status),
            message=row.message,
            decided_at=row.decided_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
        )

    @strawberry.field(description="The id REST uses for this request.")
    def database_id(self) -> uuid.UUID:
        return self.id

    @strawberry.field
    def requester_enrollment_id(self) -> relay.GlobalID:
        return relay.GlobalID("Enrollment", str(self.row.requester_enrollment_id))

    @strawberry.field
    def requested_enrollment_id(self) -> relay.GlobalID:
        return relay.GlobalID("Enrollment", str(self.row.requested_enrollment_id))

    @strawberry.field
    def requester_employee_id(self) -> relay.GlobalID:
        return relay.GlobalID("Employee", str(self.row.requester_employee_id))

    @strawberry.field
    def requested_employee_id(self) -> relay.GlobalID:
        return relay.GlobalID("Employee", str(self.row.requested_employee_id))

    @strawberry.field(description="Who asked, when the caller may see their record.")
    async def requester(self, info: Info) -> Annotated[Employee, strawberry.lazy(EMPLOYEES)] | None:
        return await related.employee(info, self.row.requester_employee_id)

    @strawberry.field(description="Who was asked, when the caller may see their record.")
    async def requested(self, info: Info) -> Annotated[Employee, strawberry.lazy(EMPLOYEES)] | None:
        return await related.employee(info, self.row.requested_employee_id)

    @strawberry.field
    async def program(
        self, info: Info
    ) -> Annotated[Program, strawberry.lazy("app.api.graphql.types.programs")] | None:
        return await related.program(info, self.row.program_id)

    @strawberry.field(description="The pairing made when the request was accepted.")
    def pairing_id(self) -> relay.GlobalID | None:
        found = self.row.pairing_id
        return None if found is None else relay.GlobalID("Pairing", str(found))

    @strawberry.field(description="The pairing made when it was accepted, if the caller sees it.")
    async def pairing(
        self, info: Info
    ) -> Annotated[Pairing, strawberry.lazy("app.api.graphql.types.pairings")] | None:

        if self.row.pairing_id is None:
            return None
        return await related.pairing(info, self.row.pairing_id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await nodes_through(
            info.context.loaders.pairing_request, cls.of, node_ids, required=required
        )


@strawberry.type
class PairingRequestQueries:
    @strawberry.field(
        description="Requests you sent or received (program managers: their programs'; admins: "
        "all), oldest first, as `GET /api/v1/pairing-requests`."
    )
    async def pairing_requests(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        program: relay.GlobalID | None = None,
        status: RequestStatus | None = None,
    ) -> Connection[PairingRequest]:
        async with info.context.session() as session:
            page = await service.list_requests(
                session,
                info.context.actor,
                program_id=None if program is None else node_uuid(program, "Program"),
                status=status,
                limit=check_first(first),
                cursor=after,
            )
        info.context.loaders.prime(info.context.loaders.pairing_request, page.items)
        return connection(page, PairingRequest.of, lambda r: key_cursor(r.id))
