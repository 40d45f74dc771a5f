"""REST: programs and their lifecycle."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict

from app.api.deps import ActorDep, SessionDep
from app.api.rest.conditional import expected_version, set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import error_responses
from app.api.rest.schemas import ProgramOut
from app.domain import programs as service
from app.domain.programs import ProgramStatus

router = APIRouter(prefix="/programs", tags=["programs"])
ExpectedVersion = Annotated[int | None, Depends(expected_version)]


class TransitionIn(BaseModel):
    """The status to move the program to."""

    model_config = ConfigDict(extra="forbid")
    to: ProgramStatus


@router.get("", response_model=PageOut[ProgramOut], responses=error_responses(401, 422, 503))
async def list_programs(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    status: ProgramStatus | None = None,
    managed_by_me: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[ProgramOut]:
    """List programs: open ones for everyone, drafts for admins and their managers."""
    page = await service.list_programs(
        session, actor, status=status, managed_by_me=managed_by_me, limit=limit, cursor=cursor
    )
    managers = await service.managers_of(session, [p.id for p in page.items])
    link_next(request, response, page.next_cursor)
    return PageOut(
        items=[ProgramOut.build(p, managers[p.id]) for p in page.items],
        next_cursor=page.next_cursor,
    )


async def _program_out(session: SessionDep, program: object) -> ProgramOut:
    program_id: uuid.UUID = program.id  # type: ignore[attr-defined]
    return ProgramOut.build(program, await service.manager_ids(session, program_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProgramOut,
    responses=error_responses(401, 403, 413, 422, 503),
)
async def create_program(
    data: service.ProgramCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> ProgramOut:
    """Create a program as a draft (admins)."""
    program = await service.create_program(session, actor, data=data)
    await session.commit()
    response.headers["Location"] = str(request.url_for("get_program", program_id=program.id))
    set_etag(response, program.version)
    return await _program_out(session, program)


@router.get("/{program_id}", response_model=ProgramOut, responses=error_responses(401, 404, 503))
async def get_program(
    program_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> ProgramOut:
    """Read one program."""
    program = await service.get_program(session, actor, program_id)
    set_etag(response, program.version)
    return await _program_out(session, program)


@router.patch(
    "/{program_id}",
    response_model=ProgramOut,
    responses=error_responses(401, 403, 404, 409, 412, 413, 422, 428, 503),
)
async def update_program(
    program_id: uuid.UUID,
    data: service.ProgramUpdate,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> ProgramOut:
    """Change a program (admins and its managers). New ground rules need new consent."""
    program = await service.update_program(
        session, actor, program_id, data=data, expected_version=version
    )
    await session.commit()
    set_etag(response, program.version)
    return await _program_out(session, program)


@router.post(
    "/{program_id}/transitions",
    response_model=ProgramOut,
    responses=error_responses(401, 403, 404, 409, 412, 413, 422, 428, 503),
)
async def transition_program(
    program_id: uuid.UUID,
    data: TransitionIn,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> ProgramOut:
    """Move a program along `draft → enrolling → matching → active → completed → archived`."""
    program = await service.transition_program(
        session, actor, program_id, to=data.to, expected_version=version
    )
    await session.commit()
    set_etag(response, program.version)
    return await _program_out(session, program)
