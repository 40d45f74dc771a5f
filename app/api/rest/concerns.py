"""REST: confidential concerns about a pairing, and the program team's handling of them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from app.api.deps import ActorDep, SessionDep
from app.api.rest.conditional import ExpectedVersion, set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import CHANGE_ERRORS, CREATE_ERRORS, READ_ERRORS
from app.db.models import Concern
from app.db.pagination import Page
from app.domain import concerns as service
from app.domain.actors import Actor
from app.domain.concerns import ConcernStatus, ConcernView, concern_view

router = APIRouter(tags=["concerns"])


def _page_out(
    request: Request, response: Response, actor: Actor, page: Page[Concern]
) -> PageOut[ConcernView]:
    link_next(request, response, page.next_cursor)
    return PageOut(items=[concern_view(actor, c) for c in page.items], next_cursor=page.next_cursor)


def _one(response: Response, actor: Actor, concern: Concern) -> ConcernView:
    set_etag(response, concern.version)
    return concern_view(actor, concern)


@router.get(
    "/pairings/{pairing_id}/concerns", response_model=PageOut[ConcernView], responses=READ_ERRORS
)
async def list_pairing_concerns(
    pairing_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    status: ConcernStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[ConcernView]:
    """Concerns about a pairing: all of them for the program's managers and admins; for a
    member, only those they raised themselves."""
    page = await service.list_concerns(
        session, actor, pairing_id=pairing_id, status=status, limit=limit, cursor=cursor
    )
    return _page_out(request, response, actor, page)


@router.post(
    "/pairings/{pairing_id}/concerns",
    status_code=status.HTTP_201_CREATED,
    response_model=ConcernView,
    responses=CREATE_ERRORS,
)
async def raise_concern(
    pairing_id: uuid.UUID,
    data: service.ConcernCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> ConcernView:
    """Raise a confidential concern (either member). The program's managers and admins read
    it; your partner never learns that it exists."""
    concern = await service.raise_concern(session, actor, pairing_id, data=data)
    await session.commit()
    response.headers["Location"] = str(request.url_for("get_concern", concern_id=concern.id))
    return _one(response, actor, concern)


@router.get("/concerns", response_model=PageOut[ConcernView], responses=READ_ERRORS)
async def list_concerns(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    program_id: uuid.UUID | None = None,
    status: ConcernStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[ConcernView]:
    """The concerns you may read, newest first: the program team's inbox (filter by program
    and status), or the ones you raised."""
    page = await service.list_concerns(
        session, actor, program_id=program_id, status=status, limit=limit, cursor=cursor
    )
    return _page_out(request, response, actor, page)


@router.get("/concerns/{concern_id}", response_model=ConcernView, responses=READ_ERRORS)
async def get_concern(
    concern_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> ConcernView:
    """Read one concern (the program team, or its raiser)."""
    return _one(response, actor, await service.get_concern(session, actor, concern_id))


@router.post(
    "/concerns/{concern_id}/acknowledge", response_model=ConcernView, responses=CHANGE_ERRORS
)
async def acknowledge_concern(
    concern_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> ConcernView:
    """Acknowledge a concern: its raiser sees that it was read (the program team)."""
    concern = await service.acknowledge_concern(
        session, actor, concern_id, expected_version=version
    )
    await session.commit()
    return _one(response, actor, concern)


@router.post("/concerns/{concern_id}/resolve", response_model=ConcernView, responses=CHANGE_ERRORS)
async def resolve_concern(
    concern_id: uuid.UUID,
    data: service.ResolveIn,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> ConcernView:
    """Resolve a concern with what was done, optionally recommending a rematch."""
    concern = await service.resolve_concern(
        session, actor, concern_id, data=data, expected_version=version
    )
    await session.commit()
    return _one(response, actor, concern)


@router.post(
    "/concerns/{concern_id}/end-pairing", response_model=ConcernView, responses=CHANGE_ERRORS
)
async def end_pairing_over_concern(
    concern_id: uuid.UUID,
    data: service.EndPairingIn,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> ConcernView:
    """End the pairing as a no-fault exit and resolve the concern. The partner sees the
    pairing end like any other exit, never why."""
    concern = await service.end_pairing_over_concern(
        session, actor, concern_id, data=data, expected_version=version
    )
    await session.commit()
    return _one(response, actor, concern)
