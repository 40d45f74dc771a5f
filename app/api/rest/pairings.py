"""REST: pairings and their transitions."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.api.deps import ActorDep, SessionDep
from app.api.rest.conditional import ExpectedVersion, set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import CHANGE_ERRORS, error_responses
from app.api.rest.schemas import CadenceOut, CriterionOut, MemberOut, PairingOut
from app.db.models import Employee, Enrollment, Pairing, Program
from app.db.types import utcnow
from app.domain import pairings as service
from app.domain.actors import Actor
from app.domain.checkins import cadence_of, last_check_ins
from app.domain.pairings import EndReason, PairingState

router = APIRouter(prefix="/pairings", tags=["pairings"])
PairingChange = Callable[..., Awaitable[Pairing]]


async def pairing_views(
    session: AsyncSession, actor: Actor, pairings: Sequence[Pairing]
) -> list[PairingOut]:
    """Shape pairings for this actor, loading members in two queries whatever the page size."""
    enrollment_ids = {p.mentor_enrollment_id for p in pairings} | {
        p.mentee_enrollment_id for p in pairings
    }
    employee_ids = {p.mentor_employee_id for p in pairings} | {
        p.mentee_employee_id for p in pairings
    }
    enrollments = {
        e.id: e
        for e in (
            await session.execute(select(Enrollment).where(col(Enrollment.id).in_(enrollment_ids)))
        ).scalars()
    }
    employees = {
        e.id: e
        for e in (
            await session.execute(select(Employee).where(col(Employee.id).in_(employee_ids)))
        ).scalars()
    }

    programs = {
        p.id: p
        for p in (
            await session.execute(
                select(Program).where(col(Program.id).in_({p.program_id for p in pairings}))
            )
        ).scalars()
    }
    live = [p.id for p in pairings if p.state == PairingState.ACTIVE.value]
    last_met = await last_check_ins(session, live)
    today = utcnow().date()

    def cadence(p: Pairing) -> CadenceOut | None:
        found = cadence_of(p, programs[p.program_id], last_met.get(p.id), today)
        return None if found is None else CadenceOut(**dataclasses.asdict(found))

    def member(enrollment_id: uuid.UUID, accepted_at: object) -> MemberOut:
        enrollment = enrollments[enrollment_id]
        employee = employees[enrollment.employee_id]
        return MemberOut(
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
        role = service.member_role(actor, p)
        # In their own pairing an admin is a member: the team's view is for others' pairings.
        team = role is None and actor.manages(p.program_id)
        views.append(
            PairingOut(
                id=p.id,
                program_id=p.program_id,
                state=p.state,
                origin=p.origin,
                score=p.score,
                explanation=[CriterionOut(**c) for c in p.explanation],
                mentor=member(p.mentor_enrollment_id, p.mentor_accepted_at),
                mentee=member(p.mentee_enrollment_id, p.mentee_accepted_at),
                expires_at=p.expires_at,
                activated_at=p.activated_at,
                paused_at=p.paused_at,
                resumed_at=p.resumed_at,
                closed_at=p.closed_at,
                matching_run_id=p.matching_run_id,
                cadence=cadence(p),
                justification=p.justification if team else None,
                declined_by=p.declined_by,
                # Reasons and notes stay with the program team (and whoever wrote a decline).
                decline_reason=p.decline_reason if team or role == p.declined_by else None,
                ended_by=p.ended_by if team else None,
                # Leaving the organisation is no one's fault and the partner needs to know.
                end_reason=p.end_reason if team or p.end_reason == EndReason.LEFT_COMPANY else None,
                end_note=p.end_note if team else None,
                created_at=p.created_at,
                updated_at=p.updated_at,
                version=p.version,
            )
        )
    return views


async def one_view(
    session: AsyncSession, actor: Actor, pairing: Pairing, response: Response
) -> PairingOut:
    set_etag(response, pairing.version)
    return (await pairing_views(session, actor, [pairing]))[0]


@router.get("", response_model=PageOut[PairingOut], responses=error_responses(401, 422, 503))
async def list_pairings(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    program_id: uuid.UUID | None = None,
    state: PairingState | None = None,
    member_id: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[PairingOut]:
    """Pairings you are in (program managers: their programs'; admins: all)."""
    page = await service.list_pairings(
        session,
        actor,
        program_id=program_id,
        state=state,
        member_id=member_id,
        limit=limit,
        cursor=cursor,
    )
    link_next(request, response, page.next_cursor)
    return PageOut(
        items=await pairing_views(session, actor, page.items), next_cursor=page.next_cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PairingOut,
    responses=error_responses(401, 403, 404, 409, 413, 422, 503),
)
async def create_pairing(
    data: service.ManualPairingCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> PairingOut:
    """Pair two participants by hand (program managers); both must still accept."""
    pairing = await service.pair_manually(session, actor, data=data)
    await session.commit()
    response.headers["Location"] = str(request.url_for("get_pairing", pairing_id=pairing.id))
    return await one_view(session, actor, pairing, response)


@router.get("/{pairing_id}", response_model=PairingOut, responses=error_responses(401, 404, 503))
async def get_pairing(
    pairing_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> PairingOut:
    """Read one pairing."""
    pairing = await service.get_pairing(session, actor, pairing_id)
    return await one_view(session, actor, pairing, response)


@router.post("/{pairing_id}/decline", response_model=PairingOut, responses=CHANGE_ERRORS)
async def decline_pairing(
    pairing_id: uuid.UUID,
    data: service.DeclineIn,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> PairingOut:
    """Decline a proposed pairing (either member); the pair is not proposed again."""
    pairing = await service.decline_pairing(
        session, actor, pairing_id, reason=data.reason, expected_version=version
    )
    await session.commit()
    return await one_view(session, actor, pairing, response)


@router.post("/{pairing_id}/end", response_model=PairingOut, responses=CHANGE_ERRORS)
async def end_pairing(
    pairing_id: uuid.UUID,
    data: service.EndIn,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> PairingOut:
    """End a pairing early, no fault assigned (a member or the program's managers). The note
    is read by the program team only; the partner sees only that it ended."""
    pairing = await service.end_pairing(
        session, actor, pairing_id, data=data, expected_version=version
    )
    await session.commit()
    return await one_view(session, actor, pairing, response)


def _member_action(action: str, doc: str, change: PairingChange) -> None:
    """Register ``POST /pairings/{id}/<action>``: a body-less transition needing If-Match."""

    async def endpoint(
        pairing_id: uuid.UUID,
        response: Response,
        session: SessionDep,
        actor: ActorDep,
        version: ExpectedVersion,
    ) -> PairingOut:
        pairing = await change(session, actor, pairing_id, expected_version=version)
        await session.commit()
        return await one_view(session, actor, pairing, response)

    endpoint.__name__ = f"{action}_pairing"
    endpoint.__doc__ = doc
    router.post(f"/{{pairing_id}}/{action}", response_model=PairingOut, responses=CHANGE_ERRORS)(
        endpoint
    )


_member_action(
    "accept",
    "Accept a proposed pairing; it goes live when both members have accepted.",
    service.accept_pairing,
)
_member_action(
    "pause", "Pause an active pairing (a member or the program's managers).", service.pause_pairing
)
_member_action("resume", "Resume a paused pairing.", service.resume_pairing)
_member_action("complete", "Complete a pairing (the program's managers).", service.complete_pairing)
