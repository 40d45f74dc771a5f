"""REST: blocks (never be paired with someone; they are not told)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from app.api.deps import ActorDep, SessionDep
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import error_responses
from app.api.rest.schemas import BlockOut
from app.domain import blocks as service

router = APIRouter(prefix="/blocks", tags=["blocks"])


@router.get("", response_model=PageOut[BlockOut], responses=error_responses(401, 403, 422, 503))
async def list_blocks(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[BlockOut]:
    """Your blocks."""
    page = await service.list_blocks(session, actor, limit=limit, cursor=cursor)
    link_next(request, response, page.next_cursor)
    return PageOut(
        items=[BlockOut.model_validate(b) for b in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=BlockOut,
    responses=error_responses(401, 403, 404, 409, 413, 422, 503),
)
async def create_block(data: service.BlockCreate, session: SessionDep, actor: ActorDep) -> BlockOut:
    """Never be paired with this person, in any program. They are not told."""
    entry = await service.block(session, actor, data=data)
    await session.commit()
    return BlockOut.model_validate(entry)


@router.delete(
    "/{block_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 404, 503)
)
async def delete_block(block_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    """Remove one of your blocks."""
    await service.unblock(session, actor, block_id)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
