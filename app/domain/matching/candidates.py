"""Loading matching candidates (enrollment + employee + management chain) from the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import (
    OPEN_PAIRING_STATES,
    Block,
    Employee,
    Enrollment,
    Pairing,
    PairingRequest,
    Program,
)
from app.domain.matching.engine import Candidate, EngineSettings


def engine_settings(program: Program) -> EngineSettings:
    """The engine's view of a program's matching settings."""
    return EngineSettings(
        min_level_gap=program.min_level_gap,
        weights=dict(program.matching_weights),
        focus_areas=tuple(program.focus_areas),
        priority="quality" if program.matching_priority == "quality" else "participation",
        min_score=program.min_match_score,
    )


def ancestors_from_tree(
    parent_of: dict[uuid.UUID, uuid.UUID | None], employee_id: uuid.UUID
) -> frozenset[uuid.UUID]:
    """Every manager above ``employee_id`` in an id → manager-id map (cycle-safe)."""
    seen: list[uuid.UUID] = []
    current = parent_of.get(employee_id)
    while current is not None and current not in seen and current != employee_id:
        seen.append(current)
        current = parent_of.get(current)
    return frozenset(seen)


async def org_tree(session: AsyncSession) -> dict[uuid.UUID, uuid.UUID | None]:
    """The whole reporting structure as id → manager id (one query)."""
    rows = await session.execute(select(col(Employee.id), col(Employee.manager_id)))
    return {employee_id: manager_id for employee_id, manager_id in rows.all()}  # noqa: C416


async def open_pairing_counts(
    session: AsyncSession, enrollment_ids: Iterable[uuid.UUID], *, as_mentor: bool
) -> dict[uuid.UUID, int]:
    """How many open pairings each enrollment is in (as mentor or as mentee)."""
    ids = list(enrollment_ids)
    if not ids:
        return {}
    column = col(Pairing.mentor_enrollment_id if as_mentor else Pairing.mentee_enrollment_id)
    rows = await session.execute(
        select(column).where(column.in_(ids), col(Pairing.state).in_(OPEN_PAIRING_STATES))
    )
    counts: dict[uuid.UUID, int] = {}
    for (enrollment_id,) in rows.all():
        counts[enrollment_id] = counts.get(enrollment_id, 0) + 1
    return counts


def to_candidate(
    enrollment: Enrollment,
    employee: Employee,
    *,
    ancestors: frozenset[uuid.UUID],
    open_pairings: int,
) -> Candidate:
    """An enrollment as the engine sees it; mentors carry their free slots as capacity."""
    is_mentor = enrollment.role == "mentor"
    return Candidate(
        enrollment_id=enrollment.id,
        employee_id=employee.id,
        role="mentor" if is_mentor else "mentee",
        job_level=employee.job_level,
        department=employee.department,
        location=employee.location,
        time_zone=employee.time_zone,
        languages=tuple(employee.languages),
        topics=tuple(enrollment.can_teach if is_mentor else enrollment.wants_to_learn),
        availability=tuple(
            (w["day"], str(w["start"])[:5], str(w["end"])[:5]) for w in enrollment.availability
        ),
        capacity=max(0, (enrollment.capacity or 1) - open_pairings) if is_mentor else 1,
        ancestors=ancestors,
        active=employee.active and enrollment.status == "active",
    )


async def load_candidates(
    session: AsyncSession,
    enrollments: Sequence[Enrollment],
    *,
    respect_open_pairings: bool = True,
    tree: dict[uuid.UUID, uuid.UUID | None] | None = None,
) -> list[Candidate]:
    """Candidates for the given enrollments, with chains and remaining capacity (full capacity
    when ``respect_open_pairings`` is off, for a what-if run over the whole cohort)."""
    employee_ids = [e.employee_id for e in enrollments]
    employees = {
        e.id: e
        for e in (
            await session.execute(select(Employee).where(col(Employee.id).in_(employee_ids)))
        ).scalars()
    }
    tree = tree if tree is not None else await org_tree(session)
    mentor_counts = (
        await open_pairing_counts(
            session, [e.id for e in enrollments if e.role == "mentor"], as_mentor=True
        )
        if respect_open_pairings
        else {}
    )
    return [
        to_candidate(
            enrollment,
            employees[enrollment.employee_id],
            ancestors=ancestors_from_tree(tree, enrollment.employee_id),
            open_pairings=mentor_counts.get(enrollment.id, 0),
        )
        for enrollment in enrollments
    ]


async def excluded_pairs(
    session: AsyncSession, program_id: uuid.UUID, employee_ids: Iterable[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(mentor employee, mentee employee) pairs that must never be proposed: blocks in either
    direction (anywhere), and pairs declined or ended in this program before."""
    ids = list(set(employee_ids))
    excluded: set[tuple[uuid.UUID, uuid.UUID]] = set()
    if not ids:
        return excluded
    blocks = await session.execute(
        select(col(Block.blocker_employee_id), col(Block.blocked_employee_id)).where(
            or_(col(Block.blocker_employee_id).in_(ids), col(Block.blocked_employee_id).in_(ids))
        )
    )
    for a, b in blocks.all():
        excluded.add((a, b))
        excluded.add((b, a))
    past = await session.execute(
        select(col(Pairing.mentor_employee_id), col(Pairing.mentee_employee_id)).where(
            col(Pairing.program_id) == program_id,
            col(Pairing.state).in_(("declined", "ended")),
        )
    )
    excluded.update((mentor, mentee) for mentor, mentee in past.all())
    refused = await session.execute(
        select(
            col(PairingRequest.requester_employee_id), col(PairingRequest.requested_employee_id)
        ).where(
            col(PairingRequest.program_id) == program_id,
            col(PairingRequest.status) == "declined",
        )
    )
    for a, b in refused.all():
        excluded.add((a, b))
        excluded.add((b, a))
    return excluded


async def load_cohort(
    session: AsyncSession, program_id: uuid.UUID, *, respect_open_pairings: bool
) -> list[Candidate]:
    """Every active enrollment of a program as a candidate, read with plain column queries
    (no ORM objects: a cohort has thousands of rows and the run is timed end to end)."""
    rows = (
        await session.execute(
            select(
                col(Enrollment.id),
                col(Enrollment.employee_id),
                col(Enrollment.role),
                col(Enrollment.can_teach),
                col(Enrollment.wants_to_learn),
                col(Enrollment.availability),
                col(Enrollment.capacity),
                col(Employee.job_level),
                col(Employee.department),
                col(Employee.location),
                col(Employee.time_zone),
                col(Employee.languages),
                col(Employee.active),
            )
            .join(Employee, col(Employee.id) == col(Enrollment.employee_id))
            .where(col(Enrollment.program_id) == program_id, col(Enrollment.status) == "active")
            .order_by(col(Enrollment.id))
        )
    ).all()
    open_as_mentor: dict[uuid.UUID, int] = {}
    open_as_mentee: set[uuid.UUID] = set()
    if respect_open_pairings:
        pairs = await session.execute(
            select(col(Pairing.mentor_enrollment_id), col(Pairing.mentee_enrollment_id)).where(
                col(Pairing.program_id) == program_id,
                col(Pairing.state).in_(OPEN_PAIRING_STATES),
            )
        )
        for mentor_id, mentee_id in pairs.all():
            open_as_mentor[mentor_id] = open_as_mentor.get(mentor_id, 0) + 1
            open_as_mentee.add(mentee_id)
    tree = await org_tree(session)
    cohort = []
    for (
        enrollment_id,
        employee_id,
        role,
        can_teach,
        wants,
        availability,
        capacity,
        level,
        department,
        location,
        time_zone,
        languages,
        active,
    ) in rows:
        if role == "mentee" and enrollment_id in open_as_mentee:
            continue  # already paired: not part of this run
        is_mentor = role == "mentor"
        cohort.append(
            Candidate(
                enrollment_id=enrollment_id,
                employee_id=employee_id,
                role="mentor" if is_mentor else "mentee",
                job_level=level,
                department=department,
                location=location,
                time_zone=time_zone,
                languages=tuple(languages),
                topics=tuple(can_teach if is_mentor else wants),
                availability=tuple(
                    (w["day"], str(w["start"])[:5], str(w["end"])[:5]) for w in availability
                ),
                capacity=max(0, (capacity or 1) - open_as_mentor.get(enrollment_id, 0))
                if is_mentor
                else 1,
                ancestors=ancestors_from_tree(tree, employee_id),
                active=active,
            )
        )
    return cohort
