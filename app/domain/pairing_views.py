"""What an actor may read of a pairing: one shaping for every adapter (REST and GraphQL).

Members see each other through a narrow window (name, title, department, time zone and the
topics they bring), never HR fields. Justifications, the ended-by side and end notes stay with
the program team; a decline reason with the team and whoever declined; leaving the
organisation is no one's fault, so the partner sees that reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Employee, Enrollment, Pairing, Program
from app.db.types import utcnow
from app.domain.actors import Actor
from app.domain.checkins import Cadence, cadence_of, last_check_ins
from app.domain.pairings import EndReason, PairingState, member_role


@dataclass(frozen=True)
class Criterion:
    """One criterion of a proposal's score, with the sentence that explains it."""

    criterion: str
    value: float
    weight: float
    text: str


@dataclass(frozen=True)
class MemberView:
    """What a partner may know of the other member."""

    enrollment_id: uuid.UUID
    employee_id: uuid.UUID
    display_name: str
    job_title: str | None
    department: str | None
    time_zone: str
    topics: list[str]
    accepted_at: datetime | None


@dataclass(frozen=True)
class PairingView:
    """A pairing as one actor may read it (confidential fields are ``None`` for others)."""

    id: uuid.UUID
    program_id: uuid.UUID
    state: str
    origin: str
    score: float | None
    explanation: list[Criterion]
    mentor: MemberView
    mentee: MemberView
    expires_at: datetime | None
    activated_at: datetime | None
    paused_at: datetime | None
    resumed_at: datetime | None
    closed_at: datetime | None
    matching_run_id: uuid.UUID | None
    cadence: Cadence | None
    justification: str | None
    declined_by: str | None
    decline_reason: str | None
    ended_by: str | None
    end_reason: str | None
    end_note: str | None
    created_at: datetime
    updated_at: datetime
    version: int


async def pairing_views(
    session: AsyncSession, actor: Actor, pairings: Sequence[Pairing]
) -> list[PairingView]:
    """Shape pairings for this actor, loading members in a fixed number of queries whatever
    the number of pairings."""
    if not pairings:
        return []
    enrollment_ids = {p.mentor_enrollment_id for p in pairings} | {
        p.mentee_enrollment_id for p in pairings
    }
    employee_ids = {p.mentor_employee_id for p in pairings} | {
        p.mentee_employee_id for p in pairings
    }
    enrollments = {
        e.id: e
        for e in await session.scalars(
            select(Enrollment).where(col(Enrollment.id).in_(enrollment_ids))
        )
    }
    employees = {
        e.id: e
        for e in await session.scalars(select(Employee).where(col(Employee.id).in_(employee_ids)))
    }
    programs = {
        p.id: p
        for p in await session.scalars(
            select(Program).where(col(Program.id).in_({p.program_id for p in pairings}))
        )
    }
    last_met = await last_check_ins(
        session, [p.id for p in pairings if p.state == PairingState.ACTIVE.value]
    )
    today = utcnow().date()

    def member(enrollment_id: uuid.UUID, accepted_at: datetime | None) -> MemberView:
        enrollment = enrollments[enrollment_id]
        employee = employees[enrollment.employee_id]
        return MemberView(
            enrollment_id=enrollment.id,
            employee_id=employee.id,
            display_name=employee.display_name,
            job_title=employee.job_title,
            department=employee.department,
            time_zone=employee.time_zone,
            topics=enrollment.can_teach
            if enrollment.role == "mentor"
            else enrollment.wants_to_learn,
            accepted_at=accepted_at,
        )

    views = []
    for p in pairings:
        role = member_role(actor, p)
        # In their own pairing an admin is a member: the team's view is for others' pairings.
        team = role is None and actor.manages(p.program_id)
        views.append(
            PairingView(
                id=p.id,
                program_id=p.program_id,
                state=p.state,
                origin=p.origin,
                score=p.score,
                explanation=[Criterion(**c) for c in p.explanation],
                mentor=member(p.mentor_enrollment_id, p.mentor_accepted_at),
                mentee=member(p.mentee_enrollment_id, p.mentee_accepted_at),
                expires_at=p.expires_at,
                activated_at=p.activated_at,
                paused_at=p.paused_at,
                resumed_at=p.resumed_at,
                closed_at=p.closed_at,
                matching_run_id=p.matching_run_id,
                cadence=cadence_of(p, programs[p.program_id], last_met.get(p.id), today),
                justification=p.justification if team else None,
                declined_by=p.declined_by,
                decline_reason=p.decline_reason if team or role == p.declined_by else None,
                ended_by=p.ended_by if team else None,
                end_reason=p.end_reason if team or p.end_reason == EndReason.LEFT_COMPANY else None,
                end_note=p.end_note if team else None,
                created_at=p.created_at,
                updated_at=p.updated_at,
                version=p.version,
            )
        )
    return views
