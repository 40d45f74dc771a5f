"""REST: the audit log (admins and `audit:read` clients)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import ActorDep, SessionDep
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import error_responses
from app.api.rest.schemas import AuditEventOut
from app.domain import audit as service

router = APIRouter(prefix="/audit-events", tags=["audit"])


@router.get(
    "", response_model=PageOut[AuditEventOut], responses=error_responses(401, 403, 422, 503)
)
async def list_audit_events(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    entity_type: Annotated[str | None, Query(max_length=40)] = None,
    entity_id: uuid.UUID | None = None,
    actor_employee_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[AuditEventOut]:
    """Who did what, when and from which request, newest first."""
    page = await service.list_audit_events(
        session,
        actor,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_employee_id=actor_employee_id,
        action=action,
        limit=limit,
        cursor=cursor,
    )
    link_next(request, response, page.next_cursor)
    return PageOut(
        items=[AuditEventOut.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )
