"""Writing and reading the audit log."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.db.models import AuditEvent, Concern, Pairing
from app.db.pagination import Page, paginate
from app.domain.actors import Actor, Scope


def record(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit entry to the current unit of work (it commits with the change it records)."""
    event = AuditEvent(
        actor_kind=actor.kind.value,
        actor_employee_id=actor.employee_id,
        actor_service=actor.service_name,
        actor_token_id=actor.token_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        request_id=actor.request_id,
        details=details or {},
    )
    session.add(event)
    return event


async def list_audit_events(
    session: AsyncSession,
    actor: Actor,
    *,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    actor_employee_id: uuid.UUID | None = None,
    action: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[AuditEvent]:
    """Audit entries, newest first, for admins (and service clients with ``audit:read``)."""
    actor.require_scope(Scope.AUDIT_READ, "reading the audit log")
    stmt = select(AuditEvent)
    if not actor.is_admin:
        # Concerns are for the program team and admins; an audit:read service (a log shipper,
        # a compliance tool) gets the rest of the trail, not who raised what about whom.
        stmt = stmt.where(col(AuditEvent.entity_type) != "concern")
    elif actor.employee_id is not None:
        # An admin who takes part in a pairing must not learn, here either, that their partner
        # raised a concern about it.
        about_their_pairing = (
            select(col(Concern.id))
            .join(Pairing, col(Pairing.id) == col(Concern.pairing_id))
            .where(
                or_(
                    col(Pairing.mentor_employee_id) == actor.employee_id,
                    col(Pairing.mentee_employee_id) == actor.employee_id,
                ),
                col(Concern.raised_by_id) != actor.employee_id,
            )
        )
        stmt = stmt.where(
            ~and_(
                col(AuditEvent.entity_type) == "concern",
                col(AuditEvent.entity_id).in_(about_their_pairing),
            )
        )
    if entity_type is not None:
        stmt = stmt.where(col(AuditEvent.entity_type) == entity_type)
    if entity_id is not None:
        stmt = stmt.where(col(AuditEvent.entity_id) == entity_id)
    if actor_employee_id is not None:
        stmt = stmt.where(col(AuditEvent.actor_employee_id) == actor_employee_id)
    if action is not None:
        stmt = stmt.where(col(AuditEvent.action) == action)
    return await paginate(
        session, stmt, key=col(AuditEvent.id), limit=limit, cursor=cursor, descending=True
    )


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{field: [old, new]}`` for the fields that differ (bookkeeping columns left out)."""
    return {
        k: [before.get(k), v]
        for k, v in after.items()
        if before.get(k) != v and k not in ("version", "updated_at")
    }
