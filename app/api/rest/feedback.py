"""REST: feedback given in a pairing."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from app.api.deps import ActorDep, SessionDep
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import CREATE_ERRORS, READ_ERRORS
from app.domain import feedback as service
from app.domain.feedback import FeedbackView

router = APIRouter(tags=["feedback"])


@router.get(
    "/pairings/{pairing_id}/feedback", response_model=PageOut[FeedbackView], responses=READ_ERRORS
)
async def list_feedback(
    pairing_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[FeedbackView]:
    """Feedback given in a pairing: yours whole; your partner's comment only when they shared
    it (never their ratings); everything for the program's managers and admins."""
    page = await service.list_feedback(session, actor, pairing_id, limit=limit, cursor=cursor)
    link_next(request, response, page.next_cursor)
    return PageOut(items=page.items, next_cursor=page.next_cursor)


@router.post(
    "/pairings/{pairing_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackView,
    responses=CREATE_ERRORS,
)
async def give_feedback(
    pairing_id: uuid.UUID,
    data: service.FeedbackCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> FeedbackView:
    """Rate a check-in, or the pairing once it is over (each member once per check-in and
    once at the end)."""
    view = await service.give_feedback(session, actor, pairing_id, data=data)
    await session.commit()
    response.headers["Location"] = str(request.url_for("list_feedback", pairing_id=pairing_id))
    return view
