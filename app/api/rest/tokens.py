"""REST: API tokens (admins)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from app.api.deps import ActorDep, SessionDep, SettingsDep
from app.api.rest.conditional import expected_version, set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import error_responses
from app.api.rest.schemas import TokenCreated, TokenOut
from app.domain import tokens as service

router = APIRouter(prefix="/tokens", tags=["tokens"])
ExpectedVersion = Annotated[int | None, Depends(expected_version)]


@router.get("", response_model=PageOut[TokenOut], responses=error_responses(401, 403, 422, 503))
async def list_tokens(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    employee_id: uuid.UUID | None = None,
    include_revoked: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[TokenOut]:
    """List issued API tokens (their values are never shown again)."""
    page = await service.list_tokens(
        session,
        actor,
        employee_id=employee_id,
        include_revoked=include_revoked,
        limit=limit,
        cursor=cursor,
    )
    link_next(request, response, page.next_cursor)
    return PageOut(
        items=[TokenOut.model_validate(t) for t in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    responses=error_responses(401, 403, 404, 413, 422, 503),
)
async def create_token(
    data: service.TokenCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
) -> TokenCreated:
    """Issue a token for a person or a service client; the value is in this response only."""
    token, value = await service.create_token(
        session, actor, data=data, default_ttl_days=settings.token_default_ttl_days
    )
    await session.commit()
    response.headers["Location"] = str(request.url_for("get_token", token_id=token.id))
    response.headers["Cache-Control"] = "no-store"
    set_etag(response, token.version)
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=value)


@router.get("/{token_id}", response_model=TokenOut, responses=error_responses(401, 403, 404, 503))
async def get_token(
    token_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> TokenOut:
    """Read one token's metadata."""
    token = await service.get_token(session, actor, token_id)
    set_etag(response, token.version)
    return TokenOut.model_validate(token)


@router.post(
    "/{token_id}/revoke",
    response_model=TokenOut,
    responses=error_responses(401, 403, 404, 409, 412, 428, 503),
)
async def revoke_token(
    token_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    version: ExpectedVersion,
) -> TokenOut:
    """Revoke a token; it stops working at once."""
    token = await service.revoke_token(session, actor, token_id, expected_version=version)
    await session.commit()
    set_etag(response, token.version)
    return TokenOut.model_validate(token)
