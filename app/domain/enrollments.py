"""Enrollments: an employee's explicit opt-in to a program as mentor or mentee."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Employee, Enrollment, Program
from app.db.pagination import Page, decode_cursor, key_cursor, paginate, paginate_each
from app.db.types import utcnow
from app.db.visibility import enrollments_visible_to
from app.domain import audit
from app.domain.actors import Actor
from app.domain.common import check_version, lock_for_update, touch
from app.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.domain.programs import ProgramStatus, get_program
from app.domain.values import Int, StrictInput, Tags, Time


class EnrollmentRole(StrEnum):
    MENTOR = "mentor"  # the junior employee who teaches
    MENTEE = "mentee"  # the senior employee who learns


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class TimeWindow(StrictInput):
    """A weekly window of availability, in the employee's own time zone."""

    day: Weekday
    start: Time
    end: Time

    @model_validator(mode="after")
    def _order(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


Availability = list[TimeWindow]

#: Programs whose participants may still change their enrollment details.
EDITABLE_STATUSES = {ProgramStatus.ENROLLING, ProgramStatus.MATCHING, ProgramStatus.ACTIVE}


class EnrollmentCreate(StrictInput):
    """Joining a program; ``accepted_ground_rules_version`` records the participant's consent."""

    role: EnrollmentRole
    accepted_ground_rules_version: Int = Field(
        ge=1, description="The version of the program's ground rules the participant accepts."
    )
    can_teach: Tags = Field(default_factory=list)
    wants_to_learn: Tags = Field(default_factory=list)
    availability: Availability = Field(default_factory=list, max_length=50)
    capacity: Int | None = Field(default=None, ge=1, le=10, description="Mentors only.")
    motivation: str = Field(default="", max_length=2000)


class WithdrawalIn(BaseModel):
    """Why one withdraws (optional; read by the program's managers)."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=500)


class EnrollmentUpdate(StrictInput):
    """Changing one's own enrollment (the role cannot change: withdraw and enroll again)."""

    can_teach: Tags | None = None
    wants_to_learn: Tags | None = None
    availability: Availability | None = Field(default=None, max_length=50)
    capacity: Int | None = Field(default=None, ge=1, le=10)
    motivation: str | None = Field(default=None, max_length=2000)
    accepted_ground_rules_version: Int | None = Field(default=None, ge=1)


def _eligibility(detail: str, rule: str, field: str | None = None) -> RuleViolation:
    return RuleViolation(detail, rule=rule, field=field)


def _check_topics(role: EnrollmentRole, can_teach: list[str], wants_to_learn: list[str]) -> None:
    if role is EnrollmentRole.MENTOR and not can_teach:
        raise _eligibility(
            "a mentor must name at least one topic they can teach",
            "mentor_topics_required",
            "can_teach",
        )
    if role is EnrollmentRole.MENTEE and not wants_to_learn:
        raise _eligibility(
            "a mentee must name at least one topic they want to learn",
            "mentee_topics_required",
            "wants_to_learn",
        )


def _check_capacity(role: EnrollmentRole, capacity: int | None, program: Program) -> int | None:
    if role is EnrollmentRole.MENTEE:
        if capacity is not None:
            raise _eligibility("only mentors have a capacity", "capacity_mentors_only", "capacity")
        return None
    value = capacity if capacity is not None else program.default_mentor_capacity
    if value > program.max_mentor_capacity:
        raise _eligibility(
            f"capacity {value} is above this program's maximum of {program.max_mentor_capacity}",
            "capacity_above_program_max",
            "capacity",
        )
    return value


def _check_consent(program: Program, accepted: int) -> None:
    if accepted != program.ground_rules_version:
        raise _eligibility(
            f"you must accept the program's current ground rules (version "
            f"{program.ground_rules_version}); you accepted version {accepted}",
            "ground_rules_current_version",
            "accepted_ground_rules_version",
        )


async def enroll(
    session: AsyncSession, actor: Actor, *, program_id: uuid.UUID, data: EnrollmentCreate
) -> Enrollment:
    """Join a program. Only the employee themselves can opt in: consent is personal."""
    employee_id = actor.require_person("enroll in a program")
    program = await get_program(session, actor, program_id)
    await lock_for_update(session, program)
    employee = await session.get(Employee, employee_id)
    if employee is None or not employee.active:
        raise _eligibility("only active employees can enroll", "employee_active")
    if program.status != ProgramStatus.ENROLLING:
        raise _eligibility(
            f"the program is '{program.status}', not open for enrolment",
            "program_enrolling",
        )
    if program.id in actor.managed_program_ids:
        raise _eligibility(
            "a program's managers cannot take part in it (they read its confidential reports)",
            "managers_not_participants",
        )
    _check_consent(program, data.accepted_ground_rules_version)
    _check_topics(data.role, data.can_teach, data.wants_to_learn)
    capacity = _check_capacity(data.role, data.capacity, program)

    existing = (
        await session.execute(
            select(Enrollment)
            .where(
                col(Enrollment.program_id) == program.id, col(Enrollment.employee_id) == employee_id
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    now = utcnow()
    values: dict[str, Any] = {
        "role": data.role.value,
        "status": EnrollmentStatus.ACTIVE.value,
        "consent_at": now,
        "consent_version": program.ground_rules_version,
        "can_teach": data.can_teach,
        "wants_to_learn": data.wants_to_learn,
        "availability": [w.model_dump(mode="json") for w in data.availability],
        "capacity": capacity,
        "motivation": data.motivation,
        "withdrawn_at": None,
        "withdrawal_reason": None,
    }
    if existing is not None:
        if existing.status == EnrollmentStatus.ACTIVE:
            raise Conflict(
                f"you are already enrolled in this program as {existing.role}",
                rule="already_enrolled",
                extra={"enrollment_id": str(existing.id)},
            )
        # Re-joining after a withdrawal reuses the record; the audit log keeps the history.
        for name, value in values.items():
            setattr(existing, name, value)
        touch(existing)
        enrollment = existing
    else:
        enrollment = Enrollment(program_id=program.id, employee_id=employee_id, **values)
        session.add(enrollment)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("you are already enrolled in this program", rule="already_enrolled") from exc
    audit.record(
        session,
        actor,
        action="enrollment.created",
        entity_type="enrollment",
        entity_id=enrollment.id,
        details={
            "program_id": str(program.id),
            "role": data.role.value,
            "consent_version": program.ground_rules_version,
        },
    )
    return enrollment


async def get_enrollment(
    session: AsyncSession, actor: Actor, enrollment_id: uuid.UUID
) -> Enrollment:
    """An enrollment the actor may see: their own, or one in a program they manage."""
    stmt = select(Enrollment).where(
        col(Enrollment.id) == enrollment_id, enrollments_visible_to(actor)
    )
    enrollment = (await session.execute(stmt)).scalar_one_or_none()
    if enrollment is None:
        raise NotFound(f"enrollment {enrollment_id} not found")
    return enrollment


def _enrollments_query(
    actor: Actor,
    *,
    role: EnrollmentRole | None = None,
    status: EnrollmentStatus | None = None,
    employee_id: uuid.UUID | None = None,
    cursor: str | None = None,
) -> Select[Any]:
    stmt = select(Enrollment).where(enrollments_visible_to(actor))
    if role is not None:
        stmt = stmt.where(col(Enrollment.role) == role.value)
    if status is not None:
        stmt = stmt.where(col(Enrollment.status) == status.value)
    if employee_id is not None:
        stmt = stmt.where(col(Enrollment.employee_id) == employee_id)
    if cursor:
        stmt = stmt.where(col(Enrollment.id) > decode_cursor(cursor))
    return stmt


async def list_enrollments(
    session: AsyncSession,
    actor: Actor,
    *,
    program_id: uuid.UUID,
    role: EnrollmentRole | None = None,
    status: EnrollmentStatus | None = None,
    employee_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Enrollment]:
    """A program's enrollments as far as the actor may see them."""
    await get_program(session, actor, program_id)
    stmt = _enrollments_query(actor, role=role, status=status, employee_id=employee_id)
    stmt = stmt.where(col(Enrollment.program_id) == program_id)
    return await paginate(session, stmt, key=col(Enrollment.id), limit=limit, cursor=cursor)


async def enrollments_by_id(
    session: AsyncSession, actor: Actor, enrollment_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Enrollment]:
    """The enrollments among ``enrollment_ids`` the actor may see, in one query."""
    stmt = select(Enrollment).where(
        col(Enrollment.id).in_(list(enrollment_ids)), enrollments_visible_to(actor)
    )
    return {e.id: e for e in await session.scalars(stmt)}


async def enrollments_of_programs(
    session: AsyncSession,
    actor: Actor,
    program_ids: Collection[uuid.UUID],
    *,
    role: EnrollmentRole | None = None,
    status: EnrollmentStatus | None = None,
    employee_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[uuid.UUID, Page[Enrollment]]:
    """The first page of each (visible) program's enrollments, in one query."""
    return await paginate_each(
        session,
        _enrollments_query(actor, role=role, status=status, employee_id=employee_id, cursor=cursor),
        parent=col(Enrollment.program_id),
        parents=program_ids,
        order_by=[col(Enrollment.id)],
        limit=limit,
        cursor_of=lambda e: key_cursor(e.id),
    )


async def _load_for_change(
    session: AsyncSession, actor: Actor, enrollment_id: uuid.UUID
) -> tuple[Enrollment, Program]:
    enrollment = await get_enrollment(session, actor, enrollment_id)
    await lock_for_update(session, enrollment)
    program = await session.get(Program, enrollment.program_id)
    assert program is not None  # foreign key
    return enrollment, program


async def update_enrollment(
    session: AsyncSession,
    actor: Actor,
    enrollment_id: uuid.UUID,
    *,
    data: EnrollmentUpdate,
    expected_version: int | None,
) -> Enrollment:
    """Change one's own enrollment details while the program runs."""
    enrollment, program = await _load_for_change(session, actor, enrollment_id)
    if not actor.is_employee(enrollment.employee_id):
        raise Forbidden("only the participant may change their enrollment", rule="owner_only")
    check_version(enrollment.version, expected_version)
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise Conflict(
            "a withdrawn enrollment cannot be changed; enroll again",
            rule="enrollment_active",
            extra={"current_status": enrollment.status},
        )
    if program.status not in EDITABLE_STATUSES:
        raise Conflict(
            f"the program is '{program.status}'; enrollments can no longer change",
            rule="program_open",
            extra={"current_status": program.status},
        )
    changes = data.model_dump(exclude_unset=True)
    for name in (
        "can_teach",
        "wants_to_learn",
        "availability",
        "motivation",
        "accepted_ground_rules_version",
    ):
        if name in changes and changes[name] is None:
            raise RuleViolation(f"{name} cannot be null", field=name, rule="required")
    role = EnrollmentRole(enrollment.role)
    before = enrollment.model_dump(mode="json")
    if data.accepted_ground_rules_version is not None:
        _check_consent(program, data.accepted_ground_rules_version)
        enrollment.consent_version = program.ground_rules_version
        enrollment.consent_at = utcnow()
    if data.can_teach is not None:
        enrollment.can_teach = data.can_teach
    if data.wants_to_learn is not None:
        enrollment.wants_to_learn = data.wants_to_learn
    _check_topics(role, enrollment.can_teach, enrollment.wants_to_learn)
    if "capacity" in changes:
        enrollment.capacity = _check_capacity(role, data.capacity, program)
    if data.availability is not None:
        enrollment.availability = [w.model_dump(mode="json") for w in data.availability]
    if data.motivation is not None:
        enrollment.motivation = data.motivation
    touch(enrollment)
    await session.flush()
    audit.record(
        session,
        actor,
        action="enrollment.updated",
        entity_type="enrollment",
        entity_id=enrollment.id,
        details={
            "fields": sorted(audit.changed_fields(before, enrollment.model_dump(mode="json")))
        },
    )
    return enrollment


async def withdraw_enrollment(
    session: AsyncSession,
    actor: Actor,
    enrollment_id: uuid.UUID,
    *,
    reason: str | None = None,
    expected_version: int | None,
) -> Enrollment:
    """Leave a program (the participant, at any time) or remove someone (admins, its managers)."""
    enrollment, program = await _load_for_change(session, actor, enrollment_id)
    if not (actor.is_employee(enrollment.employee_id) or actor.manages(program.id)):
        raise Forbidden(
            "only the participant or the program's managers may withdraw this",
            rule="owner_or_manager",
        )
    check_version(enrollment.version, expected_version)
    if enrollment.status == EnrollmentStatus.WITHDRAWN:
        raise Conflict(
            "the enrollment is already withdrawn",
            rule="enrollment_active",
            extra={"current_status": enrollment.status},
        )
    enrollment.status = EnrollmentStatus.WITHDRAWN.value
    enrollment.withdrawn_at = utcnow()
    enrollment.withdrawal_reason = reason
    touch(enrollment)
    await session.flush()
    audit.record(
        session,
        actor,
        action="enrollment.withdrawn",
        entity_type="enrollment",
        entity_id=enrollment.id,
        details={"by_participant": actor.is_employee(enrollment.employee_id)},
    )
    return enrollment
