"""REST: the check-ins (meetings) of a pairing, and each member's private note on one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from app.api.deps import ActorDep, SessionDep
from app.api.rest.conditional import ExpectedVersion, set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import CHANGE_ERRORS, CREATE_ERRORS, READ_ERRORS, error_responses
from app.domain import checkins as service
from app.domain.checkins import CheckInView, PrivateNoteView

router = APIRouter(tags=["check-ins"])


def _no_store_if_private(response: Response, *views: CheckInView) -> None:
    """An answer holding a private note is stored nowhere: not by a cache, and not as the
    replay of a retried ``POST`` (its author may delete the note, and the copy would outlive it)."""
    if any(v.private_note is not None for v in views):
        response.headers["Cache-Control"] = "no-store"


@router.get(
    "/pairings/{pairing_id}/check-ins", response_model=PageOut[CheckInView], responses=READ_ERRORS
)
async def list_check_ins(
    pairing_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[CheckInView]:
    """The meetings of a pairing, latest meeting first. Shared notes are shown to the two
    members only; your own private notes to you only."""
    page = await service.list_check_ins(session, actor, pairing_id, limit=limit, cursor=cursor)
    link_next(request, response, page.next_cursor)
    _no_store_if_private(response, *page.items)
    return PageOut(items=page.items, next_cursor=page.next_cursor)


@router.post(
    "/pairings/{pairing_id}/check-ins",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckInView,
    responses=CREATE_ERRORS,
)
async def log_check_in(
    pairing_id: uuid.UUID,
    data: service.CheckInCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> CheckInView:
    """Log a meeting (either member), with an optional private note only you will read."""
    check_in = await service.log_check_in(session, actor, pairing_id, data=data)
    await session.commit()
    response.headers["Location"] = str(request.url_for("get_check_in", check_in_id=check_in.id))
    set_etag(response, check_in.version)
    view = await service.check_in_view(session, actor, check_in)
    _no_store_if_private(response, view)
    return view


@router.get("/check-ins/{check_in_id}", response_model=CheckInView, responses=READ_ERRORS)
async def get_check_in(
    check_in_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> CheckInView:
    """Read one check-in."""
    check_in = await service.get_check_in(session, actor, check_in_id)
    set_etag(response, check_in.version)
    view = await service.check_in_view(session, actor, check_in)
    _no_store_if_private(response, view)
    return view


@router.patch("/check-ins/{check_in_id}", response_model=CheckInView, responses=CHANGE_ERRORS)
async def update_check_in(
    check_in_id: uuid.UUID,
    data: service.CheckInUpdate,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> CheckInView:
    """Correct the shared record of a meeting (either member)."""
    check_in = await service.update_check_in(
        session, actor, check_in_id, data=data, expected_version=version
    )
    await session.commit()
    set_etag(response, check_in.version)
    view = await service.check_in_view(session, actor, check_in)
    _no_store_if_private(response, view)
    return view


@router.get(
    "/check-ins/{check_in_id}/private-note",
    response_model=PrivateNoteView,
    responses=READ_ERRORS,
)
async def get_private_note(
    check_in_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> PrivateNoteView:
    """Your own private note on a check-in (404 when you wrote none)."""
    note = await service.get_private_note(session, actor, check_in_id)
    response.headers["Cache-Control"] = "no-store"
    return PrivateNoteView.model_validate(note, from_attributes=True)


@router.put(
    "/check-ins/{check_in_id}/private-note",
    response_model=PrivateNoteView,
    responses=error_responses(401, 403, 404, 413, 422, 503),
)
async def put_private_note(
    check_in_id: uuid.UUID,
    data: service.PrivateNoteIn,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> PrivateNoteView:
    """Write your private note on a check-in. Nobody else reads it (your partner, the
    program's managers and admins included), and the check-in shows no trace of it."""
    note = await service.put_private_note(session, actor, check_in_id, data=data)
    await session.commit()
    response.headers["Cache-Control"] = "no-store"
    return PrivateNoteView.model_validate(note, from_attributes=True)


@router.delete(
    "/check-ins/{check_in_id}/private-note",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404, 503),
)
async def delete_private_note(check_in_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> None:
    """Delete your private note on a check-in."""
    await service.delete_private_note(session, actor, check_in_id)
    await session.commit()
