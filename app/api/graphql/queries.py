"""The root queries: each calls the same domain service as its REST twin."""

from __future__ import annotations

import asyncio
import inspect
from typing import Annotated

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
from app.api.graphql.types.common import PairingState, ProgramStatus
from app.api.graphql.types.employees import Employee, EmployeeSummary
from app.api.graphql.types.pairings import Pairing
from app.api.graphql.types.programs import Program
from app.db.pagination import key_cursor
from app.domain import employees, pairings, programs


async def _resolve(info: Info, value: relay.GlobalID) -> relay.Node | None:
    try:
        node_type = value.resolve_type(info)
    except (KeyError, relay.GlobalIDValueError):
        return None  # no such type: nothing to find
    if not (isinstance(node_type, type) and issubclass(node_type, relay.Node)):
        return None
    found = node_type.resolve_nodes(info=info, node_ids=[value.node_id], required=False)
    if inspect.isawaitable(found):
        found = await found
    return next(iter(found), None)


@strawberry.type(description="Who is asking: a person, a service client or the system.")
class Viewer:
    kind: str
    role: str
    is_admin: bool
    managed_program_ids: list[relay.GlobalID]
    scopes: list[str]
    service_name: str | None
    employee: Employee | None


@strawberry.type
class CoreQueries:
    @strawberry.field(
        description="Any object by its global id (null when it does not exist or is hidden)."
    )
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        return await _resolve(info, id)

    @strawberry.field(description="Objects by their global ids (null for those not found).")
    async def nodes(self, info: Info, ids: list[relay.GlobalID]) -> list[relay.Node | None]:
        check_first(len(ids))
        return list(await asyncio.gather(*(_resolve(info, i) for i in ids)))

    @strawberry.field(description="Who you are (as `GET /api/v1/me`).")
    async def viewer(self, info: Info) -> Viewer:
        actor = info.context.actor
        employee = await related.employee(info, actor.employee_id)
        return Viewer(
            kind=actor.kind.value,
            role=actor.role,
            is_admin=actor.is_admin,
            managed_program_ids=[
                relay.GlobalID("Program", str(p)) for p in sorted(actor.managed_program_ids)
            ],
            scopes=sorted(actor.scopes),
            service_name=actor.service_name,
            employee=employee,
        )

    @strawberry.field(description="Employees the caller may see (admins and readers: all).")
    async def employees(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        department: str | None = None,
        division: str | None = None,
        location: str | None = None,
        active: bool | None = None,
        manager: relay.GlobalID | None = None,
        job_level: int | None = None,
        email: str | None = None,
    ) -> Connection[Employee]:
        async with info.context.session() as session:
            page = await employees.list_employees(
                session,
                info.context.actor,
                department=department,
                division=division,
                location=location,
                active=active,
                manager_id=None if manager is None else node_uuid(manager, "Employee"),
                job_level=job_level,
                email=email,
                limit=check_first(first),
                cursor=after,
            )
        info.context.loaders.prime(info.context.loaders.employee, page.items)
        return connection(page, Employee.of, lambda e: key_cursor(e.id))

    @strawberry.field(description="The managers above an employee, nearest first.")
    async def management_chain(self, info: Info, employee: relay.GlobalID) -> list[EmployeeSummary]:
        async with info.context.session() as session:
            chain = await employees.management_chain(
                session, info.context.actor, node_uuid(employee, "Employee")
            )
        return [EmployeeSummary.of(e) for e in chain]

    @strawberry.field(description="Programs the caller may see.")
    async def programs(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        status: ProgramStatus | None = None,
        managed_by_me: bool = False,
    ) -> Connection[Program]:
        async with info.context.session() as session:
            page = await programs.list_programs(
                session,
                info.context.actor,
                status=status,
                managed_by_me=managed_by_me,
                limit=check_first(first),
                cursor=after,
            )
        info.context.loaders.prime(info.context.loaders.program, page.items)
        return connection(page, Program.of, lambda p: key_cursor(p.id))

    @strawberry.field(
        description="Pairings the caller may see: their own, their programs' or (admins) all."
    )
    async def pairings(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        program: relay.GlobalID | None = None,
        state: PairingState | None = None,
        member: relay.GlobalID | None = None,
    ) -> Connection[Pairing]:
        async with info.context.session() as session:
            page = await pairings.list_pairings(
                session,
                info.context.actor,
                program_id=None if program is None else node_uuid(program, "Program"),
                state=state,
                member_id=None if member is None else node_uuid(member, "Employee"),
                limit=check_first(first),
                cursor=after,
            )
        info.context.loaders.prime(info.context.loaders.pairing, page.items)
        return connection(page, Pairing.of, lambda p: key_cursor(p.id))
