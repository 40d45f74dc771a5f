"""Self-service pairing requests: a participant asks for a specific partner in their program."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from enum import StrEnum
from typing import Any

from pydantic import Field
from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Enrollment, PairingRequest, Program
from app.db.pagination import Page, paginate
from app.db.types import utcnow
from app.domain import audit
from app.domain.actors import Actor
from app.domain.common import check_version, lock_for_update, touch
from app.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.domain.pairings import (
    PAIRING_PROGRAM_STATUSES,
    check_pair,
    ensure_free,
    explanation_json,
    flush_pairing,
    open_pairing,
)
from app.domain.values import StrictInput


class RequestStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class PairingRequestCreate(StrictInput):
    requested_enrollment_id: uuid.UUID = Field(
        description="The enrollment of the person you would like as your partner."
    )
    message: str = Field(default="", max_length=2000)


def _visible(actor: Actor) -> object:
    if actor.is_admin:
        return True
    clauses = [
        col(PairingRequest.requester_employee_id) == actor.employee_id,
        col(PairingRequest.requested_employee_id) == actor.employee_id,
    ]
    if actor.managed_program_ids:
        clauses.append(col(PairingRequest.program_id).in_(actor.managed_program_ids))
    return or_(*clauses)


def _requests_query(actor: Actor) -> Select[Any]:
    """Requests the actor may read; callers refuse service clients first (the query would
    match nothing for them)."""
    stmt = select(PairingRequest)
    if not actor.is_admin:
        stmt = stmt.where(_visible(actor))  # type: ignore[arg-type]
    return stmt


async def get_request(session: AsyncSession, actor: Actor, request_id: uuid.UUID) -> PairingRequest:
    """A request the actor is part of (or manages)."""
    if not actor.is_admin and actor.employee_id is None:
        raise NotFound(f"pairing request {request_id} not found")
    stmt = _requests_query(actor).where(col(PairingRequest.id) == request_id)
    found: PairingRequest | None = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"pairing request {request_id} not found")
    return found


async def list_requests(
    session: AsyncSession,
    actor: Actor,
    *,
    program_id: uuid.UUID | None = None,
    status: RequestStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[PairingRequest]:
    """Requests you sent or received (program managers: their programs'; admins: all)."""
    if not actor.is_admin and actor.employee_id is None:
        raise Forbidden("pairing requests belong to people", rule="person_only")
    stmt = _requests_query(actor)
    if program_id is not None:
        stmt = stmt.where(col(PairingRequest.program_id) == program_id)
    if status is not None:
        stmt = stmt.where(col(PairingRequest.status) == status.value)
    return await paginate(session, stmt, key=col(PairingRequest.id), limit=limit, cursor=cursor)


async def requests_by_id(
    session: AsyncSession, actor: Actor, request_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, PairingRequest]:
    """The requests among ``request_ids`` the actor may read (as ``get_request``), in one
    query."""
    if not actor.is_admin and actor.employee_id is None:
        return {}
    stmt = _requests_query(actor).where(col(PairingRequest.id).in_(list(request_ids)))
    return {r.id: r for r in await session.scalars(stmt)}


async def create_request(
    session: AsyncSession, actor: Actor, *, data: PairingRequestCreate
) -> PairingRequest:
    """Ask a specific person in your program to pair with you. One pending request at a time."""
    me = actor.require_person("request a partner")
    requested = await session.get(Enrollment, data.requested_enrollment_id)
    if requested is None or requested.status != "active":
        raise NotFound(
            f"enrollment {data.requested_enrollment_id} not found", field="requested_enrollment_id"
        )
    program = await session.get(Program, requested.program_id)
    assert program is not None
    mine = await session.scalar(
        select(Enrollment).where(
            col(Enrollment.program_id) == program.id,
            col(Enrollment.employee_id) == me,
            col(Enrollment.status) == "active",
        )
    )
    if mine is None:
        raise RuleViolation("you are not enrolled in this program", rule="requester_enrolled")
    if mine.id == requested.id or mine.role == requested.role:
        raise RuleViolation(
            "a pairing is one mentor and one mentee; ask someone in the other role",
            field="requested_enrollment_id",
            rule="pairing_roles",
        )
    if program.status not in PAIRING_PROGRAM_STATUSES:
        raise Conflict(
            f"the program is '{program.status}'; requests open once it is matching",
            rule="program_pairing",
            extra={"current_status": program.status},
        )
    pending = await session.scalar(
        select(col(PairingRequest.id)).where(
            col(PairingRequest.program_id) == program.id,
            col(PairingRequest.requester_enrollment_id) == mine.id,
            col(PairingRequest.status) == RequestStatus.PENDING.value,
        )
    )
    if pending is not None:
        raise Conflict(
            "you already have a pending request in this program; withdraw it first",
            rule="one_pending_request",
            extra={"pending_request_id": str(pending)},
        )
    mentor, mentee = (mine, requested) if mine.role == "mentor" else (requested, mine)
    await ensure_free(session, mentor, mentee)
    # Participants learn that a pair is not possible, never why (levels, reporting lines and
    # blocks stay private).
    await check_pair(session, program, mentor, mentee, reveal_reasons=False)
    request = PairingRequest(
        program_id=program.id,
        requester_enrollment_id=mine.id,
        requested_enrollment_id=requested.id,
        requester_employee_id=me,
        requested_employee_id=requested.employee_id,
        message=data.message,
    )
    session.add(request)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "you already have a pending request in this program", rule="one_pending_request"
        ) from exc
    audit.record(
        session,
        actor,
        action="pairing_request.created",
        entity_type="pairing_request",
        entity_id=request.id,
        details={"program_id": str(program.id)},
    )
    return request


async def _load_pending(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, expected_version: int | None
) -> PairingRequest:
    request = await get_request(session, actor, request_id)
    await lock_for_update(session, request)
    check_version(request.version, expected_version)
    if request.status != RequestStatus.PENDING:
        raise Conflict(
            f"the request is '{request.status}', no longer pending",
            rule="request_pending",
            extra={"current_status": request.status},
        )
    return request


def _close(
    session: AsyncSession, actor: Actor, request: PairingRequest, status: RequestStatus
) -> None:
    request.status = status.value
    request.decided_at = utcnow()
    touch(request)
    audit.record(
        session,
        actor,
        action=f"pairing_request.{status.value}",
        entity_type="pairing_request",
        entity_id=request.id,
    )


async def withdraw_request(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, *, expected_version: int | None
) -> PairingRequest:
    """The requester takes the request back."""
    request = await _load_pending(session, actor, request_id, expected_version)
    if not actor.is_employee(request.requester_employee_id):
        raise Forbidden("only the requester can withdraw a request", rule="requester_only")
    _close(session, actor, request, RequestStatus.WITHDRAWN)
    await session.flush()
    return request


async def decline_request(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, *, expected_version: int | None
) -> PairingRequest:
    """The requested person says no; the pair is not proposed again in this program."""
    request = await _load_pending(session, actor, request_id, expected_version)
    if not actor.is_employee(request.requested_employee_id):
        raise Forbidden("only the requested person can decline a request", rule="requested_only")
    _close(session, actor, request, RequestStatus.DECLINED)
    await session.flush()
    return request


async def accept_request(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, *, expected_version: int | None
) -> PairingRequest:
    """The requested person says yes: both have consented, so the pairing is active at once."""
    request = await _load_pending(session, actor, request_id, expected_version)
    if not actor.is_employee(request.requested_employee_id):
        raise Forbidden("only the requested person can accept a request", rule="requested_only")
    program = await session.get(Program, request.program_id)
    requester = await session.get(Enrollment, request.requester_enrollment_id)
    requested = await session.get(Enrollment, request.requested_enrollment_id)
    assert program is not None
    assert requester is not None
    assert requested is not None
    await lock_for_update(session, program)  # pairings in one program are made one at a time
    if requester.status != "active" or requested.status != "active":
        raise Conflict("one of you has left the program", rule="enrollment_active")
    if program.status not in PAIRING_PROGRAM_STATUSES:
        raise Conflict(
            f"the program is '{program.status}'",
            rule="program_pairing",
            extra={"current_status": program.status},
        )
    mentor, mentee = (
        (requester, requested) if requester.role == "mentor" else (requested, requester)
    )
    await ensure_free(session, mentor, mentee)
    score, explanation = await check_pair(session, program, mentor, mentee, reveal_reasons=False)
    pairing = await open_pairing(
        session,
        actor,
        program=program,
        mentor=mentor,
        mentee=mentee,
        origin="request",
        score=score,
        explanation=explanation_json(explanation),
        accepted_by=("mentor", "mentee"),
    )
    await flush_pairing(session)
    request.pairing_id = pairing.id
    _close(session, actor, request, RequestStatus.ACCEPTED)
    await session.flush()
    audit.record(
        session,
        actor,
        action="pairing.created",
        entity_type="pairing",
        entity_id=pairing.id,
        details={"origin": "request", "state": pairing.state},
    )
    return request
