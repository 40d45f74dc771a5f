"""REST: enrollments (opt-in to a program as mentor or mentee)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from app.api.deps import ActorDep, SessionDep
from app.api.rest.conditional import expected_version, set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import error_responses
from app.api.rest.schemas import EnrollmentOut
from app.domain import enrollments as service
from app.domain.enrollments import EnrollmentRole, EnrollmentStatus, WithdrawalIn

router = APIRouter(tags=["enrollments"])
ExpectedVersion = Annotated[int | None, Depends(expected_version)]


@router.get(
    "/programs/{program_id}/enrollments",
    response_model=PageOut[EnrollmentOut],
    responses=error_responses(401, 404, 422, 503),
)
async def list_enrollments(
    program_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    role: EnrollmentRole | None = None,
    status: EnrollmentStatus | None = None,
    employee_id: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[EnrollmentOut]:
    """A program's enrollments: all for its managers and admins, your own for participants."""
    page = await service.list_enrollments(
        session,
        actor,
        program_id=program_id,
        role=role,
        status=status,
        employee_id=employee_id,
        limit=limit,
        cursor=cursor,
    )
    link_next(request, response, page.next_cursor)
    return PageOut(
        items=[EnrollmentOut.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/programs/{program_id}/enrollments",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrollmentOut,
    responses=error_responses(401, 403, 404, 409, 413, 422, 503),
)
async def create_enrollment(
    program_id: uuid.UUID,
    data: service.EnrollmentCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> EnrollmentOut:
    """Join a program yourself, accepting its current ground rules."""
    enrollment = await service.enroll(session, actor, program_id=program_id, data=data)
    await session.commit()
    response.headers["Location"] = str(
        request.url_for("get_enrollment", enrollment_id=enrollment.id)
    )
    set_etag(response, enrollment.version)
    return EnrollmentOut.model_validate(enrollment)


@router.get(
    "/enrollments/{enrollment_id}",
    response_model=EnrollmentOut,
    responses=error_responses(401, 404, 503),
)
async def get_enrollment(
    enrollment_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> EnrollmentOut:
    """Read one enrollment (your own, or one in a program you manage)."""
    enrollment = await service.get_enrollment(session, actor, enrollment_id)
    set_etag(response, enrollment.version)
    return EnrollmentOut.model_validate(enrollment)


@router.patch(
    "/enrollments/{enrollment_id}",
    response_model=EnrollmentOut,
    responses=error_responses(401, 403, 404, 409, 412, 413, 422, 428, 503),
)
async def update_enrollment(
    enrollment_id: uuid.UUID,
    data: service.EnrollmentUpdate,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> EnrollmentOut:
    """Change your enrollment: topics, availability, capacity, motivation, consent."""
    enrollment = await service.update_enrollment(
        session, actor, enrollment_id, data=data, expected_version=version
    )
    await session.commit()
    set_etag(response, enrollment.version)
    return EnrollmentOut.model_validate(enrollment)


@router.post(
    "/enrollments/{enrollment_id}/withdraw",
    response_model=EnrollmentOut,
    responses=error_responses(401, 403, 404, 409, 412, 413, 422, 428, 503),
)
async def withdraw_enrollment(
    enrollment_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
    data: WithdrawalIn | None = None,
) -> EnrollmentOut:
    """Withdraw from a program (yourself at any time; managers may remove a participant)."""
    enrollment = await service.withdraw_enrollment(
        session,
        actor,
        enrollment_id,
        reason=data.reason if data else None,
        expected_version=version,
    )
    await session.commit()
    set_etag(response, enrollment.version)
    return EnrollmentOut.model_validate(enrollment)
