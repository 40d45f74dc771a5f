"""Directory mutations (admins and `employees:write` clients), as the REST directory."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import UNSET, relay

from app.api.graphql.context import Info
from app.api.graphql.mutations import to_domain, unit_of_work
from app.api.graphql.relay import node_uuid
from app.api.graphql.types.employees import Employee
from app.domain import employees as service


def _manager(value: relay.GlobalID | None) -> object:
    if value is None or value is UNSET:
        return value
    return node_uuid(value, "Employee")


@strawberry.input(description="A new employee record.")
class CreateEmployeeInput:
    email: str
    given_name: str
    family_name: str
    job_level: int = strawberry.field(description="Seniority; higher is more senior.")
    display_name: str | None = UNSET
    external_id: str | None = UNSET
    job_title: str | None = UNSET
    department: str | None = UNSET
    division: str | None = UNSET
    location: str | None = UNSET
    time_zone: str | None = UNSET
    manager: relay.GlobalID | None = UNSET
    manager_external_id: str | None = UNSET
    hire_date: date | None = UNSET
    termination_date: date | None = UNSET
    employee_number: str | None = UNSET
    organization: str | None = UNSET
    cost_center: str | None = UNSET
    skills: list[str] | None = UNSET
    interests: list[str] | None = UNSET
    languages: list[str] | None = UNSET
    is_admin: bool | None = UNSET


@strawberry.input(description="A partial change: fields left out keep their value.")
class UpdateEmployeeInput:
    email: str | None = UNSET
    given_name: str | None = UNSET
    family_name: str | None = UNSET
    display_name: str | None = UNSET
    external_id: str | None = UNSET
    job_title: str | None = UNSET
    job_level: int | None = UNSET
    department: str | None = UNSET
    division: str | None = UNSET
    location: str | None = UNSET
    time_zone: str | None = UNSET
    manager: relay.GlobalID | None = UNSET
    manager_external_id: str | None = UNSET
    hire_date: date | None = UNSET
    termination_date: date | None = UNSET
    employee_number: str | None = UNSET
    organization: str | None = UNSET
    cost_center: str | None = UNSET
    skills: list[str] | None = UNSET
    interests: list[str] | None = UNSET
    languages: list[str] | None = UNSET
    active: bool | None = strawberry.field(default=UNSET, description="false deactivates.")
    is_admin: bool | None = UNSET


@strawberry.type
class EmployeeMutations:
    @strawberry.mutation(description="Add an employee to the directory.")
    async def create_employee(self, info: Info, input: CreateEmployeeInput) -> Employee:
        data = to_domain(
            service.EmployeeCreate, input, manager=UNSET, manager_id=_manager(input.manager)
        )
        row = await unit_of_work(
            info, lambda s, actor: service.create_employee(s, actor, data=data)
        )
        return Employee.of(row)

    @strawberry.mutation(description="Change an employee record; `active: false` deactivates.")
    async def update_employee(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
        input: UpdateEmployeeInput,
    ) -> Employee:
        employee_id = node_uuid(id, "Employee")
        data = to_domain(
            service.EmployeeUpdate, input, manager=UNSET, manager_id=_manager(input.manager)
        )
        row = await unit_of_work(
            info,
            lambda s, actor: service.update_employee(
                s, actor, employee_id, data=data, expected_version=expected_version
            ),
        )
        return Employee.of(row)

    @strawberry.mutation(
        description="Deactivate an employee (kept, never deleted; open enrollments withdrawn, "
        "open pairings ended)."
    )
    async def deactivate_employee(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
    ) -> Employee:
        employee_id = node_uuid(id, "Employee")
        row = await unit_of_work(
            info,
            lambda s, actor: service.deactivate_employee(
                s, actor, employee_id, expected_version=expected_version
            ),
        )
        return Employee.of(row)
