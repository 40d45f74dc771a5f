"""Enrollments: a person taking part in a program as mentor or mentee."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from app.api.graphql.context import Info
from app.api.graphql.types import related
from app.api.graphql.types.common import EnrollmentRole, EnrollmentStatus, nodes_through
from app.db.models import Enrollment as EnrollmentRow

if TYPE_CHECKING:
    from app.api.graphql.types.employees import Employee
    from app.api.graphql.types.programs import Program


@strawberry.type(description="A weekly window of availability, in the person's time zone.")
class TimeWindow:
    day: str
    start: str
    end: str


@strawberry.type(description="A person's enrollment in a program.")
class Enrollment(relay.Node):
    id: relay.NodeID[uuid.UUID]
    row: strawberry.Private[EnrollmentRow]
    role: EnrollmentRole
    status: EnrollmentStatus
    consent_at: datetime
    consent_version: int
    can_teach: list[str]
    wants_to_learn: list[str]
    availability: list[TimeWindow]
    capacity: int | None
    motivation: str
    withdrawn_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, row: EnrollmentRow) -> Self:
        return cls(
            id=row.id,
            row=row,
            role=EnrollmentRole(row.role),
            status=EnrollmentStatus(row.status),
            consent_at=row.consent_at,
            consent_version=row.consent_version,
            can_teach=list(row.can_teach),
            wants_to_learn=list(row.wants_to_learn),
            availability=[
                TimeWindow(day=str(w["day"]), start=str(w["start"]), end=str(w["end"]))
                for w in row.availability
            ],
            capacity=row.capacity,
            motivation=row.motivation,
            withdrawn_at=row.withdrawn_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
        )

    @strawberry.field(description="The id REST uses for this enrollment.")
    def database_id(self) -> uuid.UUID:
        return self.id

    @strawberry.field
    async def program(
        self, info: Info
    ) -> Annotated[Program, strawberry.lazy("app.api.graphql.types.programs")] | None:
        return await related.program(info, self.row.program_id)

    @strawberry.field(description="The enrolled person, when the caller may see their record.")
    async def employee(
        self, info: Info
    ) -> Annotated[Employee, strawberry.lazy("app.api.graphql.types.employees")] | None:
        return await related.employee(info, self.row.employee_id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await nodes_through(
            info.context.loaders.enrollment, cls.of, node_ids, required=required
        )
