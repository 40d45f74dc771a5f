"""REST: self-service pairing requests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response, status

from app.api.deps import ActorDep, SessionDep
from app.api.rest.conditional import ExpectedVersion, set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import CHANGE_ERRORS, error_responses
from app.api.rest.schemas import PairingRequestOut
from app.db.models import PairingRequest
from app.domain import pairing_requests as service
from app.domain.pairing_requests import RequestStatus

router = APIRouter(prefix="/pairing-requests", tags=["pairing requests"])
RequestChange = Callable[..., Awaitable[PairingRequest]]


@router.get(
    "", response_model=PageOut[PairingRequestOut], responses=error_responses(401, 403, 422, 503)
)
async def list_pairing_requests(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    program_id: uuid.UUID | None = None,
    status: RequestStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[PairingRequestOut]:
    """Requests you sent or received (program managers: their programs')."""
    page = await service.list_requests(
        session, actor, program_id=program_id, status=status, limit=limit, cursor=cursor
    )
    link_next(request, response, page.next_cursor)
    return PageOut(
        items=[PairingRequestOut.model_validate(r) for r in page.items],
        next_cursor=page.next_cursor,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PairingRequestOut,
    responses=error_responses(401, 403, 404, 409, 413, 422, 503),
)
async def create_pairing_request(
    data: service.PairingRequestCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> PairingRequestOut:
    """Ask a specific person in your program to be your partner (one pending at a time)."""
    created = await service.create_request(session, actor, data=data)
    await session.commit()
    response.headers["Location"] = str(
        request.url_for("get_pairing_request", request_id=created.id)
    )
    set_etag(response, created.version)
    return PairingRequestOut.model_validate(created)


@router.get(
    "/{request_id}", response_model=PairingRequestOut, responses=error_responses(401, 404, 503)
)
async def get_pairing_request(
    request_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> PairingRequestOut:
    """Read one request."""
    found = await service.get_request(session, actor, request_id)
    set_etag(response, found.version)
    return PairingRequestOut.model_validate(found)


def _request_action(action: str, doc: str, change: RequestChange) -> None:
    """Register ``POST /pairing-requests/{id}/<action>`` (If-Match required)."""

    async def endpoint(
        request_id: uuid.UUID,
        response: Response,
        session: SessionDep,
        actor: ActorDep,
        version: ExpectedVersion,
    ) -> PairingRequestOut:
        found = await change(session, actor, request_id, expected_version=version)
        await session.commit()
        set_etag(response, found.version)
        return PairingRequestOut.model_validate(found)

    endpoint.__name__ = f"{action}_pairing_request"
    endpoint.__doc__ = doc
    router.post(
        f"/{{request_id}}/{action}", response_model=PairingRequestOut, responses=CHANGE_ERRORS
    )(endpoint)


_request_action(
    "accept",
    "Accept a request made to you: the pairing is active at once (both have said yes).",
    service.accept_request,
)
_request_action("decline", "Decline a request made to you.", service.decline_request)
_request_action("withdraw", "Withdraw a request you made.", service.withdraw_request)
