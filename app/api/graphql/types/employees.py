"""Employees: the directory records an actor may see (as ``GET /api/v1/employees/{id}``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from app.api.graphql.context import Info
from app.api.graphql.loaders import args_key
from app.api.graphql.relay import DEFAULT_FIRST, After, Connection, First, check_first, connection
from app.api.graphql.types import related
from app.api.graphql.types.common import GoalStatus, nodes_through
from app.db.models import Employee as EmployeeRow
from app.db.pagination import key_cursor

if TYPE_CHECKING:
    from app.api.graphql.types.goals import Goal


@strawberry.type(description="A person in the directory, as far as the caller may see them.")
class Employee(relay.Node):
    id: relay.NodeID[uuid.UUID]
    row: strawberry.Private[EmployeeRow]
    external_id: str | None
    email: str
    given_name: str
    family_name: str
    display_name: str
    job_title: str | None
    job_level: int = strawberry.field(description="Seniority; higher is more senior.")
    department: str | None
    division: str | None
    organization: str | None
    cost_center: str | None
    employee_number: str | None
    location: str | None
    time_zone: str
    manager_external_id: str | None = strawberry.field(
        description="The HRIS source's reference to the manager (kept until linked)."
    )
    hire_date: date | None
    termination_date: date | None
    active: bool
    deactivated_at: datetime | None
    source: str | None = strawberry.field(description="The HRIS source that owns the record.")
    skills: list[str]
    interests: list[str]
    languages: list[str]
    is_admin: bool
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, row: EmployeeRow) -> Self:
        return cls(
            id=row.id,
            row=row,
            external_id=row.external_id,
            email=row.email,
            given_name=row.given_name,
            family_name=row.family_name,
            display_name=row.display_name,
            job_title=row.job_title,
            job_level=row.job_level,
            department=row.department,
            division=row.division,
            organization=row.organization,
            cost_center=row.cost_center,
            employee_number=row.employee_number,
            location=row.location,
            time_zone=row.time_zone,
            manager_external_id=row.manager_external_id,
            hire_date=row.hire_date,
            termination_date=row.termination_date,
            active=row.active,
            deactivated_at=row.deactivated_at,
            source=row.source,
            skills=list(row.skills),
            interests=list(row.interests),
            languages=list(row.languages),
            is_admin=row.is_admin,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
        )

    @strawberry.field(description="The id REST uses for this employee.")
    def database_id(self) -> uuid.UUID:
        return self.id

    @strawberry.field(description="The manager, when the caller may see their record.")
    async def manager(self, info: Info) -> Employee | None:
        return await related.employee(info, self.row.manager_id)

    @strawberry.field(
        description="Goals this employee owns, in the pairings the caller may read, oldest first."
    )
    async def goals(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        status: GoalStatus | None = None,
    ) -> Connection[Annotated[Goal, strawberry.lazy("app.api.graphql.types.goals")]]:
        from app.api.graphql.types.goals import Goal

        key = args_key(limit=check_first(first), cursor=after, status=status)
        page = await info.context.loaders.goals_of_owner.load((self.id, key))
        return connection(page, Goal.of, lambda g: key_cursor(g.id))

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await nodes_through(
            info.context.loaders.employee, cls.of, node_ids, required=required
        )


@strawberry.type(description="A manager in someone's management chain (name and role only).")
class EmployeeSummary:
    id: relay.GlobalID
    display_name: str
    job_title: str | None
    job_level: int
    department: str | None

    @classmethod
    def of(cls, row: EmployeeRow) -> Self:
        return cls(
            id=relay.GlobalID("Employee", str(row.id)),
            display_name=row.display_name,
            job_title=row.job_title,
            job_level=row.job_level,
            department=row.department,
        )
