"""Programs: create, change, move through their lifecycle, and assign their managers."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Employee, Enrollment, Program, ProgramManager
from app.db.pagination import Page, paginate
from app.db.visibility import programs_visible_to
from app.domain import audit
from app.domain.actors import Actor
from app.domain.common import check_version, lock_for_update, touch
from app.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.domain.values import Date, Int, Name, Number, StrictInput, Tag


class FocusArea(StrEnum):
    """The standard focus areas; programs may add custom labels beside them."""

    TECHNOLOGY_ADOPTION = "technology_adoption"
    DIVERSITY_INCLUSION = "diversity_inclusion"
    LEADERSHIP_DEVELOPMENT = "leadership_development"
    WORKPLACE_COMMUNICATION = "workplace_communication"


class ProgramStatus(StrEnum):
    DRAFT = "draft"
    ENROLLING = "enrolling"
    MATCHING = "matching"
    ACTIVE = "active"
    COMPLETED = "completed"
    ARCHIVED = "archived"


#: Allowed lifecycle moves. Matching may reopen enrolment; an unused draft may be archived.
TRANSITIONS: dict[ProgramStatus, frozenset[ProgramStatus]] = {
    ProgramStatus.DRAFT: frozenset({ProgramStatus.ENROLLING, ProgramStatus.ARCHIVED}),
    ProgramStatus.ENROLLING: frozenset({ProgramStatus.MATCHING}),
    ProgramStatus.MATCHING: frozenset({ProgramStatus.ACTIVE, ProgramStatus.ENROLLING}),
    ProgramStatus.ACTIVE: frozenset({ProgramStatus.COMPLETED}),
    ProgramStatus.COMPLETED: frozenset({ProgramStatus.ARCHIVED}),
    ProgramStatus.ARCHIVED: frozenset(),
}


class SoftCriterion(StrEnum):
    TOPIC_OVERLAP = "topic_overlap"
    DIFFERENT_DEPARTMENT = "different_department"
    WORKING_HOURS_OVERLAP = "working_hours_overlap"
    SHARED_LANGUAGE = "shared_language"
    LOCATION = "location"


DEFAULT_WEIGHTS: dict[str, float] = {
    SoftCriterion.TOPIC_OVERLAP: 5.0,
    SoftCriterion.DIFFERENT_DEPARTMENT: 2.0,
    SoftCriterion.WORKING_HOURS_OVERLAP: 2.0,
    SoftCriterion.SHARED_LANGUAGE: 1.0,
    SoftCriterion.LOCATION: 0.5,
}

Weight = Annotated[Number, Field(ge=0, le=10)]


MatchingPriority = Literal["participation", "quality"]


class MatchingSettings(StrictInput):
    """How the program's cohort is matched."""

    min_level_gap: Int = Field(
        default=1, ge=1, le=20, description="Mentee level minus mentor level, at least."
    )
    default_mentor_capacity: Int = Field(default=1, ge=1, le=10)
    max_mentor_capacity: Int = Field(default=3, ge=1, le=10)
    priority: MatchingPriority = Field(
        default="participation",
        description="participation: most mentees matched, then the best total score; "
        "quality: best total score, leaving pairs below min_score unmatched.",
    )
    min_score: Number = Field(default=0.0, ge=0, le=100)
    acceptance_window_days: Int = Field(
        default=7, ge=1, le=60, description="Days both members have to accept a proposal."
    )
    weights: dict[SoftCriterion, Weight] = Field(
        default_factory=lambda: {SoftCriterion(k): v for k, v in DEFAULT_WEIGHTS.items()}
    )

    @model_validator(mode="after")
    def _capacity_order(self) -> MatchingSettings:
        if self.default_mentor_capacity > self.max_mentor_capacity:
            raise ValueError("default_mentor_capacity cannot exceed max_mentor_capacity")
        return self


FocusAreas = Annotated[list[Tag], Field(max_length=20)]


class ProgramCreate(StrictInput):
    """A new program (created as a draft)."""

    name: Name
    description: str = Field(default="", max_length=10_000)
    focus_areas: FocusAreas = Field(default_factory=list)
    starts_on: Date | None = None
    ends_on: Date | None = None
    meeting_cadence_days: Int = Field(default=14, ge=1, le=90)
    pairing_length_weeks: Int = Field(default=26, ge=1, le=104)
    ground_rules: str = Field(default="", max_length=20_000)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    manager_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _dates(self) -> ProgramCreate:
        if self.starts_on and self.ends_on and self.ends_on <= self.starts_on:
            raise ValueError("ends_on must be after starts_on")
        return self


class ProgramUpdate(StrictInput):
    """A partial update; changing the ground rules makes a new version participants must accept."""

    name: Name | None = None
    description: str | None = Field(default=None, max_length=10_000)
    focus_areas: FocusAreas | None = None
    starts_on: Date | None = None
    ends_on: Date | None = None
    meeting_cadence_days: Int | None = Field(default=None, ge=1, le=90)
    pairing_length_weeks: Int | None = Field(default=None, ge=1, le=104)
    ground_rules: str | None = Field(default=None, max_length=20_000)
    matching: MatchingSettings | None = None
    manager_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)


def normalise_focus_areas(values: list[str]) -> list[str]:
    """Standard areas by their slug, custom labels as written, without duplicates."""
    out: dict[str, str] = {}
    slugs = {a.value for a in FocusArea}
    for value in values:
        slug = "_".join(value.lower().replace("&", " ").replace("-", " ").split())
        label = slug if slug in slugs else " ".join(value.split())
        out.setdefault(label.casefold(), label)
    return list(out.values())


async def get_program(session: AsyncSession, actor: Actor, program_id: uuid.UUID) -> Program:
    """A program the actor may see."""
    stmt = select(Program).where(col(Program.id) == program_id, programs_visible_to(actor))
    program = (await session.execute(stmt)).scalar_one_or_none()
    if program is None:
        raise NotFound(f"program {program_id} not found")
    return program


async def _load_for_update(session: AsyncSession, actor: Actor, program_id: uuid.UUID) -> Program:
    program = await get_program(session, actor, program_id)
    await lock_for_update(session, program)
    if not actor.manages(program.id):
        raise Forbidden(
            "only admins and this program's managers may change it", rule="program_manager"
        )
    return program


async def manager_ids(session: AsyncSession, program_id: uuid.UUID) -> list[uuid.UUID]:
    """The employees managing a program."""
    stmt = (
        select(col(ProgramManager.employee_id))
        .where(col(ProgramManager.program_id) == program_id)
        .order_by(col(ProgramManager.employee_id))
    )
    return list((await session.execute(stmt)).scalars().all())


async def managers_of(
    session: AsyncSession, program_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Managers of several programs in one query."""
    out: dict[uuid.UUID, list[uuid.UUID]] = {pid: [] for pid in program_ids}
    if not program_ids:
        return out
    stmt = (
        select(ProgramManager)
        .where(col(ProgramManager.program_id).in_(program_ids))
        .order_by(col(ProgramManager.employee_id))
    )
    for link in (await session.execute(stmt)).scalars():
        out[link.program_id].append(link.employee_id)
    return out


async def _set_managers(
    session: AsyncSession, program: Program, employee_ids: list[uuid.UUID]
) -> None:
    wanted = list(dict.fromkeys(employee_ids))
    if wanted:
        stmt = select(col(Employee.id)).where(col(Employee.id).in_(wanted), col(Employee.active))
        found = set((await session.execute(stmt)).scalars().all())
        missing = [str(e) for e in wanted if e not in found]
        if missing:
            raise RuleViolation(
                "program managers must be active employees; not found or inactive: "
                + ", ".join(missing),
                field="manager_ids",
                rule="manager_active_employee",
            )
        participants = await session.scalars(
            select(col(Enrollment.employee_id)).where(
                col(Enrollment.program_id) == program.id,
                col(Enrollment.employee_id).in_(wanted),
                col(Enrollment.status) == "active",
            )
        )
        taking_part = [str(e) for e in participants]
        if taking_part:
            raise RuleViolation(
                "a program's managers cannot take part in it; enrolled: " + ", ".join(taking_part),
                field="manager_ids",
                rule="managers_not_participants",
            )
    await session.execute(
        delete(ProgramManager).where(col(ProgramManager.program_id) == program.id)
    )
    for employee_id in wanted:
        session.add(ProgramManager(program_id=program.id, employee_id=employee_id))


def _matching_columns(matching: MatchingSettings) -> dict[str, Any]:
    return {
        "min_level_gap": matching.min_level_gap,
        "default_mentor_capacity": matching.default_mentor_capacity,
        "max_mentor_capacity": matching.max_mentor_capacity,
        "matching_weights": {k.value: v for k, v in matching.weights.items()},
        "matching_priority": matching.priority,
        "min_match_score": matching.min_score,
        "acceptance_window_days": matching.acceptance_window_days,
    }


async def create_program(session: AsyncSession, actor: Actor, *, data: ProgramCreate) -> Program:
    """Create a program as a draft (admins only)."""
    actor.require_admin("create programs")
    program = Program(
        name=data.name,
        description=data.description,
        focus_areas=normalise_focus_areas(data.focus_areas),
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        meeting_cadence_days=data.meeting_cadence_days,
        pairing_length_weeks=data.pairing_length_weeks,
        ground_rules=data.ground_rules,
        created_by_id=actor.employee_id,
        **_matching_columns(data.matching),
    )
    session.add(program)
    await session.flush()
    await _set_managers(session, program, data.manager_ids)
    await session.flush()
    audit.record(
        session,
        actor,
        action="program.created",
        entity_type="program",
        entity_id=program.id,
        details={
            "name": program.name,
            "manager_ids": [str(m) for m in dict.fromkeys(data.manager_ids)],
        },
    )
    return program


async def update_program(
    session: AsyncSession,
    actor: Actor,
    program_id: uuid.UUID,
    *,
    data: ProgramUpdate,
    expected_version: int | None,
) -> Program:
    """Change a program (admins and its managers; managers are changed by admins only)."""
    program = await _load_for_update(session, actor, program_id)
    check_version(program.version, expected_version)
    if program.status == ProgramStatus.ARCHIVED:
        raise Conflict(
            "an archived program cannot be changed",
            rule="program_archived",
            extra={"current_status": program.status},
        )
    changes = data.model_dump(exclude_unset=True)
    for name in (
        "name",
        "meeting_cadence_days",
        "pairing_length_weeks",
        "matching",
        "description",
        "focus_areas",
        "ground_rules",
        "manager_ids",
    ):
        if name in changes and changes[name] is None:
            raise RuleViolation(f"{name} cannot be null", field=name, rule="required")
    before = program.model_dump(mode="json")
    if "manager_ids" in changes:
        actor.require_admin("change a program's managers")
        await _set_managers(session, program, data.manager_ids or [])
    if data.matching is not None:
        for name, value in _matching_columns(data.matching).items():
            setattr(program, name, value)
    if data.focus_areas is not None:
        program.focus_areas = normalise_focus_areas(data.focus_areas)
    if data.ground_rules is not None and data.ground_rules != program.ground_rules:
        program.ground_rules = data.ground_rules
        program.ground_rules_version += 1
    for name in (
        "name",
        "description",
        "starts_on",
        "ends_on",
        "meeting_cadence_days",
        "pairing_length_weeks",
    ):
        if name in changes:
            setattr(program, name, changes[name])
    if program.starts_on and program.ends_on and program.ends_on <= program.starts_on:
        raise RuleViolation("ends_on must be after starts_on", field="ends_on", rule="date_order")
    touch(program)
    await session.flush()
    audit.record(
        session,
        actor,
        action="program.updated",
        entity_type="program",
        entity_id=program.id,
        details={"changes": audit.changed_fields(before, program.model_dump(mode="json"))},
    )
    return program


async def transition_program(
    session: AsyncSession,
    actor: Actor,
    program_id: uuid.UUID,
    *,
    to: ProgramStatus,
    expected_version: int | None,
) -> Program:
    """Move a program along its lifecycle; an illegal move is a conflict naming the status."""
    program = await _load_for_update(session, actor, program_id)
    check_version(program.version, expected_version)
    current = ProgramStatus(program.status)
    if to not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        raise Conflict(
            f"a program cannot go from '{current}' to '{to}' (allowed from '{current}': {allowed})",
            rule="program_transition",
            extra={"current_status": current.value},
        )
    if to is ProgramStatus.ENROLLING and current is ProgramStatus.DRAFT:
        if not program.ground_rules.strip():
            raise RuleViolation(
                "a program needs ground rules before it opens for enrolment "
                "(participants consent to them)",
                field="ground_rules",
                rule="ground_rules_required",
            )
        if not program.focus_areas:
            raise RuleViolation(
                "a program needs at least one focus area before it opens for enrolment",
                field="focus_areas",
                rule="focus_areas_required",
            )
    program.status = to.value
    touch(program)
    await session.flush()
    audit.record(
        session,
        actor,
        action="program.status_changed",
        entity_type="program",
        entity_id=program.id,
        details={"from": current.value, "to": to.value},
    )
    return program


async def programs_by_id(
    session: AsyncSession, actor: Actor, program_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Program]:
    """The programs among ``program_ids`` the actor may see (as ``get_program``), in one
    query."""
    stmt = select(Program).where(col(Program.id).in_(list(program_ids)), programs_visible_to(actor))
    return {p.id: p for p in await session.scalars(stmt)}


async def list_programs(
    session: AsyncSession,
    actor: Actor,
    *,
    status: ProgramStatus | None = None,
    managed_by_me: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Program]:
    """Programs the actor may see."""
    stmt = select(Program).where(programs_visible_to(actor))
    if status is not None:
        stmt = stmt.where(col(Program.status) == status.value)
    if managed_by_me:
        stmt = stmt.where(col(Program.id).in_(actor.managed_program_ids))
    return await paginate(session, stmt, key=col(Program.id), limit=limit, cursor=cursor)
