"""The employee directory: create, update, deactivate, look up, and the management chain."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date
from typing import Annotated, Any

from pydantic import EmailStr, Field, StringConstraints
from sqlalchemy import ColumnElement, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import OPEN_PAIRING_STATES, Employee, Enrollment, Pairing
from app.db.pagination import Page, paginate
from app.db.types import utcnow
from app.db.visibility import employees_visible_to
from app.domain import audit
from app.domain.actors import Actor, Scope
from app.domain.common import check_version, lock_for_update, touch
from app.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.domain.values import Bool, Date, Int, Name, ShortText, StrictInput, Tags, TimeZone

#: The end reason of pairings closed because a member left; their partner may see it.
LEFT_ORGANISATION = "left_company"

JobLevel = Field(ge=0, le=30, description="Seniority; higher is more senior.")
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


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
    manager_external_id: Name | None = Field(
        default=None,
        description="The manager's external id: linked now if they exist, else when they arrive.",
    )
    hire_date: Date | None = None
    termination_date: Date | None = None
    employee_number: Code | None = None
    organization: ShortText | None = None
    cost_center: Code | None = None
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
    manager_external_id: Name | None = None
    hire_date: Date | None = None
    termination_date: Date | None = None
    employee_number: Code | None = None
    organization: ShortText | None = None
    cost_center: Code | None = None
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


def _guard_admin_record(actor: Actor, employee: Employee, changes: dict[str, Any]) -> None:
    """Who controls an admin's e-mail, or brings a deactivated admin back, holds admin rights:
    only admins may. A sync client keeps the rest of an admin's record current (title,
    department, manager…) and may deprovision an admin who left (deactivate them, or set a
    termination date where none was), as an identity provider must be able to; it may not
    move or clear a termination date already set."""
    if not employee.is_admin or actor.is_admin:
        return
    refused: str | None = None
    if "email" in changes and str(changes["email"]).lower() != employee.email.lower():
        refused = "email"
    elif "active" in changes and str(changes["active"]).lower() == "true" and not employee.active:
        refused = "active"
    elif (
        "termination_date" in changes
        and employee.termination_date is not None
        and changes["termination_date"] != employee.termination_date
    ):
        refused = "termination_date"
    if refused is not None:
        raise Forbidden(ADMIN_RECORD, field=refused, rule="admin_record")


#: Why a sync client's change to an admin's record is refused.
ADMIN_RECORD = (
    "only admins may change an admin's e-mail or termination date, or reactivate an admin"
)


def _require_writer(actor: Actor, via: Scope) -> None:
    # Each channel has its scope: an HRIS job's token does not open SCIM or the REST directory.
    actor.require_scope(via, "changing employee records")


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


async def _reports_to(session: AsyncSession, employee_id: uuid.UUID, boss: uuid.UUID) -> bool:
    """Whether ``boss`` is anywhere above ``employee_id``, however long the chain: the walk is a
    set of ids built with ``UNION``, so it ends at the top or where a (corrupt) loop repeats."""
    above = (
        select(col(Employee.manager_id).label("id"))
        .where(col(Employee.id) == employee_id)
        .cte("above", recursive=True)
    )
    above = above.union(
        select(col(Employee.manager_id)).join(above, col(Employee.id) == above.c.id)
    )
    found = await session.scalar(select(func.count()).where(above.c.id == boss))
    return bool(found)


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
    if employee_id is not None and await _reports_to(session, manager_id, employee_id):
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
        by_email = select(col(Employee.id), col(Employee.scim_removed_at)).where(
            col(Employee.email_key) == email.lower()
        )
        if exclude is not None:
            by_email = by_email.where(col(Employee.id) != exclude)
        holder = (await session.execute(by_email)).first()
        if holder is not None:
            # Whoever is told "taken" (an identity provider) cannot see a removed user: say
            # whose it was and what frees it.
            former = await session.get(Employee, holder[0]) if holder[1] is not None else None
            if former is not None:
                raise FormerEmployeeEmail(email, former)
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


def _terminated_on(termination_date: date | None) -> bool:
    return termination_date is not None and termination_date <= utcnow().date()


def _terminated(employee: Employee) -> bool:
    return employee.active and _terminated_on(employee.termination_date)


async def _employee_with_external_id(session: AsyncSession, external_id: str) -> uuid.UUID | None:
    stmt = select(col(Employee.id)).where(col(Employee.external_id) == external_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _link_waiting_reports(session: AsyncSession, employee: Employee) -> None:
    """Link the people whose source named this employee as manager before they existed.

    A report who is already above this employee stays unlinked: linking them would close a
    cycle in the management chain.
    """
    if employee.external_id is None:
        return
    above = [employee.id, *await management_chain_ids(session, employee.id)]
    await session.execute(
        update(Employee)
        .where(
            col(Employee.manager_external_id) == employee.external_id,
            col(Employee.manager_id).is_(None),
            col(Employee.id).not_in(above),
        )
        .values(manager_id=employee.id)
        .execution_options(synchronize_session=False)
    )


async def create_employee(
    session: AsyncSession,
    actor: Actor,
    *,
    data: EmployeeCreate,
    via: Scope = Scope.EMPLOYEES_WRITE,
) -> Employee:
    """Add an employee to the directory (admins and clients holding the channel's scope)."""
    _require_writer(actor, via)
    if data.is_admin and not actor.is_admin:
        raise Forbidden("only admins may grant admin rights", field="is_admin", rule="admin_only")
    email = str(data.email)
    await _check_unique(session, email=email, external_id=data.external_id, exclude=None)
    values = data.model_dump(exclude={"email", "display_name"})
    if data.manager_id is None and data.manager_external_id is not None:
        values["manager_id"] = await _employee_with_external_id(session, data.manager_external_id)
    if values["manager_id"] is not None:
        await _check_manager(session, None, values["manager_id"])
    employee = Employee(
        **values,
        email=email,
        email_key=email.lower(),
        display_name=data.display_name or f"{data.given_name} {data.family_name}",
    )
    session.add(employee)
    await _flush(session)
    await _link_waiting_reports(session, employee)
    if _terminated(employee):
        await _deactivate(session, actor, employee)
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
    via: Scope = Scope.EMPLOYEES_WRITE,
) -> Employee:
    """Change the fields sent; ``active: false`` deactivates (see ``deactivate_employee``)."""
    _require_writer(actor, via)
    changes = data.model_dump(exclude_unset=True)
    for name in NOT_NULLABLE & changes.keys():
        if changes[name] is None:
            raise RuleViolation(f"{name} cannot be null", field=name, rule="required")
    if "is_admin" in changes and not actor.is_admin:
        raise Forbidden("only admins may change admin rights", field="is_admin", rule="admin_only")
    employee = await _load_for_update(session, employee_id)
    _guard_admin_record(actor, employee, changes)
    check_version(employee.version, expected_version)
    if "email" in changes:
        changes["email"] = str(changes["email"])
    await _check_unique(
        session,
        email=changes.get("email"),
        external_id=changes.get("external_id"),
        exclude=employee.id,
    )
    if changes.get("manager_external_id") is not None and "manager_id" not in changes:
        changes["manager_id"] = await _employee_with_external_id(
            session, changes["manager_external_id"]
        )
    if changes.get("manager_id") is not None:
        await _check_manager(session, employee.id, changes["manager_id"])
    deactivate = changes.pop("active", None)
    if "termination_date" in changes and _terminated_on(changes["termination_date"]):
        deactivate = False
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
    # A hand edit differs from what the source last sent: its next push applies again.
    employee.source_digest = None
    touch(employee)
    await _flush(session)
    if "external_id" in changes:
        await _link_waiting_reports(session, employee)
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
    session: AsyncSession,
    actor: Actor,
    employee_id: uuid.UUID,
    *,
    expected_version: int | None,
    via: Scope = Scope.EMPLOYEES_WRITE,
) -> Employee:
    """Mark an employee inactive (never deleted): open enrollments are withdrawn and open
    pairings end (the partner sees that the member left the organisation)."""
    _require_writer(actor, via)
    # Any writer may deactivate, an admin too: deprovisioning someone who left must work.
    employee = await _load_for_update(session, employee_id)
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
    # Their pairings that are still open end: the partner and the program team see why.
    ended = await session.execute(
        update(Pairing)
        .where(
            or_(
                col(Pairing.mentor_employee_id) == employee.id,
                col(Pairing.mentee_employee_id) == employee.id,
            ),
            col(Pairing.state).in_(OPEN_PAIRING_STATES),
        )
        .values(
            state="ended",
            ended_by="system",
            end_reason=LEFT_ORGANISATION,
            closed_at=now,
            updated_at=now,
            version=col(Pairing.version) + 1,
        )
        .returning(col(Pairing.id), col(Pairing.program_id))
        .execution_options(synchronize_session="fetch")
    )
    for pairing_id, program_id in ended.all():
        audit.record(
            session,
            actor,
            action="pairing.ended",
            entity_type="pairing",
            entity_id=pairing_id,
            details={
                "program_id": str(program_id),
                "state": "ended",
                "by": "system",
                "reason": LEFT_ORGANISATION,
            },
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


async def employees_by_id(
    session: AsyncSession, actor: Actor, employee_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Employee]:
    """The employees among ``employee_ids`` the actor may see (as ``get_employee``), in one
    query."""
    stmt = select(Employee).where(
        col(Employee.id).in_(list(employee_ids)), employees_visible_to(actor)
    )
    return {e.id: e for e in await session.scalars(stmt)}


async def search_directory(
    session: AsyncSession,
    actor: Actor,
    *,
    where: ColumnElement[bool] | None = None,
    order_by: Sequence[ColumnElement[Any]] = (),
    offset: int = 0,
    limit: int = 100,
) -> tuple[int, list[Employee]]:
    """The provisioned directory for sync clients: the total matching ``where`` and one page,
    in a stable order (the given keys, then id). People removed by SCIM are not in it."""
    _require_writer(actor, Scope.SCIM)
    stmt = select(Employee).where(col(Employee.scim_removed_at).is_(None))
    if where is not None:
        stmt = stmt.where(where)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if limit <= 0:
        return total, []
    page = stmt.order_by(*order_by, col(Employee.id)).offset(offset).limit(limit)
    return total, list((await session.execute(page)).scalars().all())


async def provisioned_employee(
    session: AsyncSession, actor: Actor, employee_id: uuid.UUID
) -> Employee:
    """One employee of the provisioned directory (404 once removed by SCIM)."""
    _require_writer(actor, Scope.SCIM)
    stmt = select(Employee).where(
        col(Employee.id) == employee_id, col(Employee.scim_removed_at).is_(None)
    )
    employee = (await session.execute(stmt)).scalar_one_or_none()
    if employee is None:
        raise NotFound(f"employee {employee_id} not found")
    return employee


class FormerEmployeeEmail(Conflict):
    """A new person offered the e-mail of someone SCIM removed: reviving that record would hand
    the former employee's history to someone else, and creating a second record cannot take an
    e-mail the kept record still holds. Only renaming the former employee frees it."""

    def __init__(self, email: str, former: Employee) -> None:
        known_as = f"external id {former.external_id}" if former.external_id else "no external id"
        super().__init__(
            f"e-mail {email} belonged to employee {former.id}, removed with {known_as}; an admin "
            "must change that former employee's e-mail before it can be given to someone else",
            field="email",
            rule="unique_email_of_former_employee",
        )
        self.email = email
        self.former = former


async def _holders(
    session: AsyncSession, email_key: str, external_id: str | None
) -> list[Employee]:
    """The employees holding this e-mail or external id, removed or not, each locked and read
    afresh: who comes back is decided on what no concurrent request can change meanwhile."""
    held = col(Employee.email_key) == email_key
    if external_id is not None:
        held = or_(held, col(Employee.external_id) == external_id)
    # In id order: two requests locking the same pair of records cannot deadlock.
    stmt = select(Employee).where(held).order_by(col(Employee.id))
    holders = list((await session.execute(stmt)).scalars().all())
    for employee in holders:
        await lock_for_update(session, employee)
    return holders


def _live(employee: Employee | None) -> bool:
    return employee is not None and employee.scim_removed_at is None


def _someone_else(holder: Employee, returning: Employee | None, external_id: str | None) -> bool:
    """Whether the removed holder of the e-mail is another person than the one coming back:
    another record, or one the identity provider knew under another external id."""
    if holder is not returning:
        return True
    return external_id is not None and holder.external_id not in (None, external_id)


async def reprovision_returning_employee(
    session: AsyncSession, actor: Actor, *, email: str, external_id: str | None
) -> Employee | None:
    """SCIM create for someone SCIM removed: bring back the record that is theirs (locked until
    the unit of work ends, for the caller to apply what was posted), or ``None`` when no
    removed record is concerned (create them).

    The external id is the identity provider's identity of a person, the e-mail only their
    current address, which a company may give to a new hire once its holder left. So a removed
    record holding the external id comes back (under the e-mail sent, once the caller applies
    it); one holding only the e-mail comes back when no external id tells the two apart (a
    person provisioned again keeps their history). A removed record holding the e-mail of
    another person is never revived (:class:`FormerEmployeeEmail`). A live holder of either
    value is the usual uniqueness conflict; a removed record is a conflict only that way, as
    RFC 7644 3.6 leaves deleted resources out of it.
    """
    _require_writer(actor, Scope.SCIM)
    email_key = email.strip().lower()
    holders = await _holders(session, email_key, external_id)
    by_email = next((e for e in holders if e.email_key == email_key), None)
    by_external_id = next(
        (e for e in holders if external_id is not None and e.external_id == external_id), None
    )
    # A live holder: the conflict every write reports, worded as it words it.
    await _check_unique(
        session,
        email=email if _live(by_email) else None,
        external_id=external_id if _live(by_external_id) else None,
        exclude=None,
    )
    returning = by_external_id or by_email
    if by_email is not None and _someone_else(by_email, returning, external_id):
        raise FormerEmployeeEmail(email, by_email)
    if returning is None:
        return None
    return await reprovision_employee(session, actor, returning.id)


async def deprovision_employee(
    session: AsyncSession, actor: Actor, employee_id: uuid.UUID, *, expected_version: int | None
) -> Employee:
    """SCIM DELETE: deactivate (enrollments withdrawn, open pairings ended) and leave the
    provisioned directory. The record stays: pairings, feedback and reports refer to it."""
    employee = await deactivate_employee(
        session, actor, employee_id, expected_version=expected_version, via=Scope.SCIM
    )
    if employee.scim_removed_at is None:
        employee.scim_removed_at = utcnow()
        touch(employee)
        await session.flush()
        audit.record(
            session,
            actor,
            action="employee.deprovisioned",
            entity_type="employee",
            entity_id=employee.id,
        )
    return employee


async def reprovision_employee(
    session: AsyncSession, actor: Actor, employee_id: uuid.UUID
) -> Employee:
    """Bring an employee SCIM removed back into the provisioned directory (still inactive
    until an update reactivates them)."""
    _require_writer(actor, Scope.SCIM)
    employee = await _load_for_update(session, employee_id)
    if employee.scim_removed_at is not None:
        employee.scim_removed_at = None
        touch(employee)
        await session.flush()
        audit.record(
            session,
            actor,
            action="employee.reprovisioned",
            entity_type="employee",
            entity_id=employee.id,
        )
    return employee


async def deactivate_people(
    session: AsyncSession, actor: Actor, employee_ids: Sequence[uuid.UUID], *, reason: str
) -> int:
    """Deactivate these employees with the whole cascade (HRIS terminations, snapshot runs,
    due termination dates); the ones already inactive are left alone."""
    if not employee_ids:
        return 0
    stmt = (
        select(Employee)
        .where(col(Employee.id).in_(employee_ids), col(Employee.active).is_(True))
        .order_by(col(Employee.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    people = list((await session.execute(stmt)).scalars().all())
    for employee in people:
        await _deactivate(session, actor, employee)
        touch(employee)
        audit.record(
            session,
            actor,
            action="employee.deactivated",
            entity_type="employee",
            entity_id=employee.id,
            details={"reason": reason},
        )
    await session.flush()
    return len(people)


async def apply_due_terminations(session: AsyncSession, actor: Actor) -> int:
    """Deactivate the people whose termination date has come (a scheduled sweep; safe to run
    on several instances at once: rows another instance holds are skipped)."""
    stmt = (
        select(col(Employee.id))
        .where(
            col(Employee.active).is_(True),
            col(Employee.termination_date) <= utcnow().date(),
        )
        .order_by(col(Employee.id))
        .limit(500)
        .with_for_update(skip_locked=True)
    )
    due = list((await session.execute(stmt)).scalars().all())
    return await deactivate_people(session, actor, due, reason="termination date reached")
