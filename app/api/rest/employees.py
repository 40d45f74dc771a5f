"""REST: the employee directory."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.api.deps import ActorDep, SessionDep
from app.api.rest.conditional import expected_version, set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import error_responses
from app.api.rest.schemas import EmployeeOut, EmployeeSummary
from app.domain import employees as service

router = APIRouter(prefix="/employees", tags=["employees"])
ExpectedVersion = Annotated[int | None, Depends(expected_version)]


@router.get("", response_model=PageOut[EmployeeOut], responses=error_responses(401, 422, 503))
async def list_employees(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    department: Annotated[str | None, Query(max_length=200)] = None,
    division: Annotated[str | None, Query(max_length=200)] = None,
    location: Annotated[str | None, Query(max_length=200)] = None,
    active: bool | None = None,
    manager_id: uuid.UUID | None = None,
    job_level: Annotated[int | None, Query(ge=0, le=30)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[EmployeeOut]:
    """List the employees the caller may see (admins and readers: everyone)."""
    page = await service.list_employees(
        session,
        actor,
        department=department,
        division=division,
        location=location,
        active=active,
        manager_id=manager_id,
        job_level=job_level,
        email=email,
        limit=limit,
        cursor=cursor,
    )
    link_next(request, response, page.next_cursor)
    return PageOut(
        items=[EmployeeOut.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EmployeeOut,
    responses=error_responses(401, 403, 409, 413, 422, 503),
)
async def create_employee(
    data: service.EmployeeCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> EmployeeOut:
    """Add an employee to the directory (admins and `employees:write` clients)."""
    employee = await service.create_employee(session, actor, data=data)
    await session.commit()
    response.headers["Location"] = str(request.url_for("get_employee", employee_id=employee.id))
    set_etag(response, employee.version)
    return EmployeeOut.model_validate(employee)


@router.get("/{employee_id}", response_model=EmployeeOut, responses=error_responses(401, 404, 503))
async def get_employee(
    employee_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> EmployeeOut:
    """Read one employee record (yourself, or anyone if you are an admin)."""
    employee = await service.get_employee(session, actor, employee_id)
    set_etag(response, employee.version)
    return EmployeeOut.model_validate(employee)


@router.patch(
    "/{employee_id}",
    response_model=EmployeeOut,
    responses=error_responses(401, 403, 404, 409, 412, 413, 422, 428, 503),
)
async def update_employee(
    employee_id: uuid.UUID,
    data: service.EmployeeUpdate,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> EmployeeOut:
    """Change an employee record; `active: false` deactivates it."""
    employee = await service.update_employee(
        session, actor, employee_id, data=data, expected_version=version
    )
    await session.commit()
    set_etag(response, employee.version)
    return EmployeeOut.model_validate(employee)


@router.post(
    "/{employee_id}/deactivate",
    response_model=EmployeeOut,
    responses=error_responses(401, 403, 404, 412, 428, 503),
)
async def deactivate_employee(
    employee_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> EmployeeOut:
    """Deactivate an employee (the record is kept, never deleted; open enrollments are
    withdrawn)."""
    employee = await service.deactivate_employee(
        session, actor, employee_id, expected_version=version
    )
    await session.commit()
    set_etag(response, employee.version)
    return EmployeeOut.model_validate(employee)


@router.get(
    "/{employee_id}/management-chain",
    response_model=list[EmployeeSummary],
    responses=error_responses(401, 404, 503),
)
async def get_management_chain(
    employee_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> list[EmployeeSummary]:
    """The managers above an employee, nearest first (name, title, level and department only;
    full records stay behind their own visibility rules)."""
    chain = await service.management_chain(session, actor, employee_id)
    return [EmployeeSummary.model_validate(e) for e in chain]
