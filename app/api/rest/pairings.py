"""REST: pairings and their transitions."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import ActorDep, SessionDep
from app.api.rest.conditional import ExpectedVersion, set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import CHANGE_ERRORS, error_responses
from app.api.rest.schemas import PairingOut
from app.db.models import Pairing
from app.domain import pairings as service
from app.domain.actors import Actor
from app.domain.pairing_views import pairing_views as shape_pairings
from app.domain.pairings import PairingState

router = APIRouter(prefix="/pairings", tags=["pairings"])
PairingChange = Callable[..., Awaitable[Pairing]]


async def pairing_views(
    session: AsyncSession, actor: Actor, pairings: Sequence[Pairing]
) -> list[PairingOut]:
    """Shape pairings for this actor (the domain decides what each may read)."""
    views = await shape_pairings(session, actor, pairings)
    return [PairingOut.model_validate(dataclasses.asdict(v)) for v in views]


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
