"""The employee directory: create, update, deactivate, look up, and the management chain."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import EmailStr, Field
from sqlalchemy import func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Employee, Enrollment
from app.db.pagination import Page, paginate
from app.db.types import utcnow
from app.db.visibility import employees_visible_to
from app.domain import audit
from app.domain.actors import Actor, Scope
from app.domain.common import check_version, touch
from app.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.domain.values import Bool, Date, Int, Name, ShortText, StrictInput, Tags, TimeZone

JobLevel = Field(ge=0, le=30, description="Seniority; higher is more senior.")


class EmployeeCreate(StrictInput):
    """A new employee record."""

    email: EmailStr
    given_name: Name
    family_name: Name
    display_name: Name | None = None
    external_id: Name | None = None
    job_title: ShortText | None = None
    job_level: Int = JobLevel
    department: ShortText | None = None
    division: ShortText | None = None
    location: ShortText | None = None
    time_zone: TimeZone = "UTC"
    manager_id: uuid.UUID | None = None
    hire_date: Date | None = None
    skills: Tags = Field(default_factory=list)
    interests: Tags = Field(default_factory=list)
    languages: Tags = Field(default_factory=list)
    is_admin: Bool = False


class EmployeeUpdate(StrictInput):
    """A partial update: only the fields sent are changed."""

    email: EmailStr | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    display_name: Name | None = None
    external_id: Name | None = None
    job_title: ShortText | None = None
    job_level: Int | None = Field(default=None, ge=0, le=30)
    department: ShortText | None = None
    division: ShortText | None = None
    location: ShortText | None = None
    time_zone: TimeZone | None = None
    manager_id: uuid.UUID | None = None
    hire_date: Date | None = None
    skills: Tags | None = None
    interests: Tags | None = None
    languages: Tags | None = None
    active: Bool | None = None
    is_admin: Bool | None = None


NOT_NULLABLE = {
    "email",
    "given_name",
    "family_name",
    "display_name",
    "job_level",
    "time_zone",
    "skills",
    "interests",
    "languages",
    "active",
    "is_admin",
}


def _guard_admin_record(actor: Actor, employee: Employee) -> None:
    # An admin's e-mail and status decide who holds admin rights; a sync client must not.
    if employee.is_admin and not actor.is_admin:
        raise Forbidden("only admins may change an admin's record", rule="admin_record")


def _require_writer(actor: Actor) -> None:
    actor.require_scope(Scope.EMPLOYEES_WRITE, "changing employee records")


async def get_employee(session: AsyncSession, actor: Actor, employee_id: uuid.UUID) -> Employee:
    """One employee the actor may see (404 otherwise, so existence is not revealed)."""
    stmt = select(Employee).where(col(Employee.id) == employee_id, employees_visible_to(actor))
    employee = (await session.execute(stmt)).scalar_one_or_none()
    if employee is None:
        raise NotFound(f"employee {employee_id} not found")
    return employee


async def _load_for_update(session: AsyncSession, employee_id: uuid.UUID) -> Employee:
    stmt = select(Employee).where(col(Employee.id) == employee_id).with_for_update()
    employee = (await session.execute(stmt)).scalar_one_or_none()
    if employee is None:
        raise NotFound(f"employee {employee_id} not found")
    return employee


async def find_by_email(session: AsyncSession, email: str) -> Employee | None:
    """The employee with this work e-mail, compared case-insensitively."""
    stmt = select(Employee).where(col(Employee.email_key) == email.strip().lower())
    return (await session.execute(stmt)).scalar_one_or_none()


async def management_chain_ids(session: AsyncSession, employee_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of the managers above an employee, nearest first (one recursive query)."""
    chain = (
        select(col(Employee.manager_id).label("id"), literal(1).label("depth"))
        .where(col(Employee.id) == employee_id)
        .cte("chain", recursive=True)
    )
    parent = select(col(Employee.manager_id), chain.c.depth + 1).join(
        chain, col(Employee.id) == chain.c.id
    )
    # The depth bound stops a corrupt cycle from looping forever.
    chain = chain.union_all(parent.where(chain.c.depth < 100))
    stmt = select(chain.c.id).where(chain.c.id.is_not(None)).order_by(chain.c.depth)
    return list((await session.execute(stmt)).scalars().all())


async def management_chain(
    session: AsyncSession, actor: Actor, employee_id: uuid.UUID
) -> list[Employee]:
    """The managers above a visible employee, nearest first."""
    await get_employee(session, actor, employee_id)
    ids = await management_chain_ids(session, employee_id)
    if not ids:
        return []
    rows = (await session.execute(select(Employee).where(col(Employee.id).in_(ids)))).scalars()
    by_id = {e.id: e for e in rows}
    return [by_id[i] for i in ids if i in by_id]


async def _check_manager(
    session: AsyncSession, employee_id: uuid.UUID | None, manager_id: uuid.UUID
) -> None:
    if employee_id is not None and manager_id == employee_id:
        raise RuleViolation(
            "an employee cannot be their own manager", field="manager_id", rule="manager_cycle"
        )
    exists = await session.scalar(select(func.count()).where(col(Employee.id) == manager_id))
    if not exists:
        raise RuleViolation(
            f"manager {manager_id} does not exist", field="manager_id", rule="manager_exists"
        )
    if employee_id is not None and employee_id in await management_chain_ids(session, manager_id):
        raise RuleViolation(
            "the manager reports to this employee (directly or indirectly): that makes a cycle",
            field="manager_id",
            rule="manager_cycle",
        )


async def _check_unique(
    session: AsyncSession,
    *,
    email: str | None,
    external_id: str | None,
    exclude: uuid.UUID | None,
) -> None:
    if email is not None:
        stmt = select(col(Employee.id)).where(col(Employee.email_key) == email.lower())
        if exclude is not None:
            stmt = stmt.where(col(Employee.id) != exclude)
        if await session.scalar(stmt):
            raise Conflict(
                f"an employee with e-mail {email} already exists",
                field="email",
                rule="unique_email",
            )
    if external_id is not None:
        stmt = select(col(Employee.id)).where(col(Employee.external_id) == external_id)
        if exclude is not None:
            stmt = stmt.where(col(Employee.id) != exclude)
        if await session.scalar(stmt):
            raise Conflict(
                f"an employee with external id {external_id} already exists",
                field="external_id",
                rule="unique_external_id",
            )


async def _flush(session: AsyncSession) -> None:
    # Two concurrent writers can both pass the uniqueness checks; the constraint decides.
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "the e-mail or external id is already taken", rule="unique_employee"
        ) from exc


async def create_employee(session: AsyncSession, actor: Actor, *, data: EmployeeCreate) -> Employee:
    """Add an employee to the directory (admins and ``employees:write`` clients)."""
    _require_writer(actor)
    if data.is_admin and not actor.is_admin:
        raise Forbidden("only admins may grant admin rights", field="is_admin", rule="admin_only")
    email = str(data.email)
    await _check_unique(session, email=email, external_id=data.external_id, exclude=None)
    if data.manager_id is not None:
        await _check_manager(session, None, data.manager_id)
    values = data.model_dump(exclude={"email", "display_name"})
    employee = Employee(
        **values,
        email=email,
        email_key=email.lower(),
        display_name=data.display_name or f"{data.given_name} {data.family_name}",
    )
    session.add(employee)
    await _flush(session)
    audit.record(
        session,
        actor,
        action="employee.created",
        entity_type="employee",
        entity_id=employee.id,
        details={"email": email},
    )
    return employee


async def update_employee(
    session: AsyncSession,
    actor: Actor,
    employee_id: uuid.UUID,
    *,
    data: EmployeeUpdate,
    expected_version: int | None,
) -> Employee:
    """Change the fields sent; ``active: false`` deactivates (see ``deactivate_employee``)."""
    _require_writer(actor)
    changes = data.model_dump(exclude_unset=True)
    for name in NOT_NULLABLE & changes.keys():
        if changes[name] is None:
            raise RuleViolation(f"{name} cannot be null", field=name, rule="required")
    if "is_admin" in changes and not actor.is_admin:
        raise Forbidden("only admins may change admin rights", field="is_admin", rule="admin_only")
    employee = await _load_for_update(session, employee_id)
    _guard_admin_record(actor, employee)
    check_version(employee.version, expected_version)
    if "email" in changes:
        changes["email"] = str(changes["email"])
    await _check_unique(
        session,
        email=changes.get("email"),
        external_id=changes.get("external_id"),
        exclude=employee.id,
    )
    if changes.get("manager_id") is not None:
        await _check_manager(session, employee.id, changes["manager_id"])
    deactivate = changes.pop("active", None)
    before = employee.snapshot()
    for name, value in changes.items():
        setattr(employee, name, value)
    if "email" in changes:
        employee.email_key = changes["email"].lower()
    if deactivate is False and employee.active:
        await _deactivate(session, actor, employee)
    elif deactivate is True and not employee.active:
        employee.active = True
        employee.deactivated_at = None
    touch(employee)
    await _flush(session)
    audit.record(
        session,
        actor,
        action="employee.updated",
        entity_type="employee",
        entity_id=employee.id,
        details={"changes": audit.changed_fields(before, employee.snapshot())},
    )
    return employee


async def deactivate_employee(
    session: AsyncSession, actor: Actor, employee_id: uuid.UUID, *, expected_version: int | None
) -> Employee:
    """Mark an employee inactive (never deleted) and withdraw their open enrollments."""
    _require_writer(actor)
    employee = await _load_for_update(session, employee_id)
    _guard_admin_record(actor, employee)
    check_version(employee.version, expected_version)
    if employee.active:
        await _deactivate(session, actor, employee)
        touch(employee)
        await session.flush()
        audit.record(
            session,
            actor,
            action="employee.deactivated",
            entity_type="employee",
            entity_id=employee.id,
        )
    return employee


async def _deactivate(session: AsyncSession, actor: Actor, employee: Employee) -> None:
    now = utcnow()
    employee.active = False
    employee.deactivated_at = now
    withdrawn = await session.execute(
        update(Enrollment)
        .where(col(Enrollment.employee_id) == employee.id, col(Enrollment.status) == "active")
        .values(
            status="withdrawn",
            withdrawn_at=now,
            withdrawal_reason="employee deactivated",
            updated_at=now,
            version=col(Enrollment.version) + 1,
        )
        .returning(col(Enrollment.id))
    )
    for enrollment_id in withdrawn.scalars():
        audit.record(
            session,
            actor,
            action="enrollment.withdrawn",
            entity_type="enrollment",
            entity_id=enrollment_id,
            details={"reason": "employee deactivated"},
        )


async def list_employees(
    session: AsyncSession,
    actor: Actor,
    *,
    department: str | None = None,
    division: str | None = None,
    location: str | None = None,
    active: bool | None = None,
    manager_id: uuid.UUID | None = None,
    job_level: int | None = None,
    email: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Employee]:
    """Employees the actor may see, filtered, oldest first."""
    stmt = select(Employee).where(employees_visible_to(actor))
    filters: dict[str, Any] = {
        "department": department,
        "division": division,
        "location": location,
        "active": active,
        "manager_id": manager_id,
        "job_level": job_level,
    }
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(Employee, name) == value)
    if email is not None:
        stmt = stmt.where(col(Employee.email_key) == email.strip().lower())
    return await paginate(session, stmt, key=col(Employee.id), limit=limit, cursor=cursor)
