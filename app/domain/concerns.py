"""Concerns: a member's confidential report about their pairing.

A concern is read by the program's managers and admins, who act on it; its raiser sees that
it was received and where it stands. The partner never learns that it exists: nothing the
partner can read changes when a concern is raised or handled (the pairing's version
included), and when the team ends the pairing over it, the partner sees a no-fault exit like
any other. The audit log records every step, never the description or the resolution.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Concern, Pairing
from app.db.pagination import Page, decode_cursor, key_cursor, paginate, paginate_each
from app.db.types import utcnow
from app.domain import audit, pairings
from app.domain.access import pairing_access
from app.domain.actors import Actor
from app.domain.common import check_version, lock_for_update, touch
from app.domain.errors import Conflict, Forbidden, NotFound
from app.domain.values import Bool, StrictInput

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10000)]


class ConcernCategory(StrEnum):
    CONFLICT = "conflict"
    PATRONISED = "patronised"  # feeling patronised or disrespected
    NO_SHOWS = "no_shows"
    OTHER = "other"


class ConcernStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


#: Concerns the program team still has to act on.
OPEN_CONCERN_STATUSES = (ConcernStatus.OPEN.value, ConcernStatus.ACKNOWLEDGED.value)


class ConcernCreate(StrictInput):
    """A confidential concern about the pairing."""

    category: ConcernCategory
    description: Text


class ResolveIn(StrictInput):
    resolution: Text
    rematch_recommended: Bool = Field(
        default=False, description="Recommend matching both members with someone else."
    )


class EndPairingIn(StrictInput):
    resolution: Text | None = None
    rematch_recommended: Bool = True


class ConcernView(BaseModel):
    id: uuid.UUID
    pairing_id: uuid.UUID
    program_id: uuid.UUID
    raised_by_id: uuid.UUID
    category: ConcernCategory
    description: str
    status: ConcernStatus
    acknowledged_at: datetime | None
    acknowledged_by_id: uuid.UUID | None = Field(description="The program team only.")
    resolution: str | None = Field(description="The program team only.")
    resolved_at: datetime | None
    resolved_by_id: uuid.UUID | None = Field(description="The program team only.")
    rematch_recommended: bool | None = Field(description="The program team only.")
    pairing_ended: bool
    created_at: datetime
    updated_at: datetime
    version: int


def concern_view(actor: Actor, concern: Concern) -> ConcernView:
    """A concern as this actor may read it (the program team, or its raiser)."""
    team = actor.manages(concern.program_id) and not actor.is_employee(concern.raised_by_id)
    data: dict[str, Any] = concern.model_dump()
    if not team:
        for name in ("acknowledged_by_id", "resolution", "resolved_by_id", "rematch_recommended"):
            data[name] = None
    return ConcernView.model_validate(data)


def concerns_visible_to(actor: Actor) -> ColumnElement[bool]:
    """A member sees the concerns they raised. The program's managers and admins see the
    program's concerns, except about a pairing they are in themselves: in their own pairing
    they are a member like any other."""
    if actor.employee_id is None:
        return true() if actor.is_admin else false()
    raised = col(Concern.raised_by_id) == actor.employee_id
    if not (actor.is_admin or actor.managed_program_ids):
        return raised
    mine = select(col(Pairing.id)).where(
        or_(
            col(Pairing.mentor_employee_id) == actor.employee_id,
            col(Pairing.mentee_employee_id) == actor.employee_id,
        )
    )
    team = true() if actor.is_admin else col(Concern.program_id).in_(actor.managed_program_ids)
    return or_(raised, and_(team, col(Concern.pairing_id).not_in(mine)))


def _refuse_services(actor: Actor) -> None:
    if actor.employee_id is None and not actor.is_admin:
        raise Forbidden("concerns are read by people, never by service clients", rule="person_only")


async def get_concern(session: AsyncSession, actor: Actor, concern_id: uuid.UUID) -> Concern:
    """A concern the actor may read."""
    _refuse_services(actor)
    stmt = select(Concern).where(col(Concern.id) == concern_id, concerns_visible_to(actor))
    concern = (await session.execute(stmt)).scalar_one_or_none()
    if concern is None:
        raise NotFound(f"concern {concern_id} not found")
    return concern


async def list_concerns(
    session: AsyncSession,
    actor: Actor,
    *,
    pairing_id: uuid.UUID | None = None,
    program_id: uuid.UUID | None = None,
    status: ConcernStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Concern]:
    """Concerns the actor may read, newest first: the program team's inbox, or a member's own.
    For a member, the list of a pairing looks the same whether or not their partner raised
    one."""
    _refuse_services(actor)
    if pairing_id is not None:
        await pairing_access(session, actor, pairing_id)
    stmt = _concerns_query(actor, status=status)
    if pairing_id is not None:
        stmt = stmt.where(col(Concern.pairing_id) == pairing_id)
    if program_id is not None:
        stmt = stmt.where(col(Concern.program_id) == program_id)
    return await paginate(
        session, stmt, key=col(Concern.id), limit=limit, cursor=cursor, descending=True
    )


def _concerns_query(
    actor: Actor, *, status: ConcernStatus | None = None, cursor: str | None = None
) -> Select[Any]:
    stmt = select(Concern).where(concerns_visible_to(actor))
    if status is not None:
        stmt = stmt.where(col(Concern.status) == status.value)
    if cursor:
        # Newest first: the page after a cursor holds older (smaller) keys.
        stmt = stmt.where(col(Concern.id) < decode_cursor(cursor))
    return stmt


async def concerns_by_id(
    session: AsyncSession, actor: Actor, concern_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Concern]:
    """The concerns among ``concern_ids`` the actor may read (as ``get_concern``), in one
    query."""
    _refuse_services(actor)
    stmt = _concerns_query(actor).where(col(Concern.id).in_(list(concern_ids)))
    return {c.id: c for c in await session.scalars(stmt)}


async def concerns_of_pairings(
    session: AsyncSession,
    actor: Actor,
    pairing_ids: Collection[uuid.UUID],
    *,
    status: ConcernStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[uuid.UUID, Page[Concern]]:
    """The first page of the concerns about each pairing (as ``list_concerns``: newest first,
    a member's own only), in one query whatever the number of pairings. Callers pass
    pairings the actor may see."""
    _refuse_services(actor)
    return await paginate_each(
        session,
        _concerns_query(actor, status=status, cursor=cursor),
        parent=col(Concern.pairing_id),
        parents=pairing_ids,
        order_by=[col(Concern.id).desc()],
        limit=limit,
        cursor_of=lambda c: key_cursor(c.id),
    )


def _audit(
    session: AsyncSession, actor: Actor, concern: Concern, action: str, **details: Any
) -> None:
    audit.record(
        session,
        actor,
        action=f"concern.{action}",
        entity_type="concern",
        entity_id=concern.id,
        details={
            "pairing_id": str(concern.pairing_id),
            "category": concern.category,
            "status": concern.status,
            **details,
        },
    )


async def raise_concern(
    session: AsyncSession, actor: Actor, pairing_id: uuid.UUID, *, data: ConcernCreate
) -> Concern:
    """A member raises a confidential concern; the pairing itself is left untouched."""
    _refuse_services(actor)
    access = await pairing_access(session, actor, pairing_id)
    access.require_member("raise a concern about it")
    assert actor.employee_id is not None
    concern = Concern(
        pairing_id=access.pairing.id,
        program_id=access.pairing.program_id,
        raised_by_id=actor.employee_id,
        category=data.category.value,
        description=data.description,
    )
    session.add(concern)
    await session.flush()
    _audit(session, actor, concern, "raised")
    return concern


async def _load_for_team(
    session: AsyncSession, actor: Actor, concern_id: uuid.UUID, expected_version: int | None
) -> Concern:
    concern = await get_concern(session, actor, concern_id)
    if not actor.manages(concern.program_id) or actor.is_employee(concern.raised_by_id):
        raise Forbidden(
            "only the program's managers and admins act on concerns", rule="program_team"
        )
    await lock_for_update(session, concern)
    check_version(concern.version, expected_version)
    return concern


def _require_status(concern: Concern, allowed: tuple[str, ...], action: str) -> None:
    if concern.status not in allowed:
        raise Conflict(
            f"cannot {action} a concern that is '{concern.status}'",
            rule="concern_transition",
            extra={"current_status": concern.status},
        )


async def acknowledge_concern(
    session: AsyncSession, actor: Actor, concern_id: uuid.UUID, *, expected_version: int | None
) -> Concern:
    """The program team tells the raiser the concern was seen."""
    concern = await _load_for_team(session, actor, concern_id, expected_version)
    _require_status(concern, (ConcernStatus.OPEN.value,), "acknowledge")
    concern.status = ConcernStatus.ACKNOWLEDGED.value
    concern.acknowledged_at = utcnow()
    concern.acknowledged_by_id = actor.employee_id
    touch(concern)
    await session.flush()
    _audit(session, actor, concern, "acknowledged")
    return concern


def _resolve(concern: Concern, actor: Actor, resolution: str | None, rematch: bool) -> None:
    now = utcnow()
    if concern.acknowledged_at is None:
        concern.acknowledged_at = now
        concern.acknowledged_by_id = actor.employee_id
    concern.status = ConcernStatus.RESOLVED.value
    concern.resolution = resolution
    concern.resolved_at = now
    concern.resolved_by_id = actor.employee_id
    concern.rematch_recommended = rematch
    touch(concern)


async def resolve_concern(
    session: AsyncSession,
    actor: Actor,
    concern_id: uuid.UUID,
    *,
    data: ResolveIn,
    expected_version: int | None,
) -> Concern:
    """Close a concern with what was done (and, if so, a recommendation to rematch)."""
    concern = await _load_for_team(session, actor, concern_id, expected_version)
    _require_status(concern, OPEN_CONCERN_STATUSES, "resolve")
    _resolve(concern, actor, data.resolution, data.rematch_recommended)
    await session.flush()
    _audit(session, actor, concern, "resolved", rematch_recommended=data.rematch_recommended)
    return concern


async def end_pairing_over_concern(
    session: AsyncSession,
    actor: Actor,
    concern_id: uuid.UUID,
    *,
    data: EndPairingIn,
    expected_version: int | None,
) -> Concern:
    """End the pairing as a no-fault exit and resolve the concern. The partner sees the
    pairing end, as with any other exit; both members are free to be matched again (never
    with each other in this program)."""
    concern = await _load_for_team(session, actor, concern_id, expected_version)
    _require_status(concern, OPEN_CONCERN_STATUSES, "end the pairing over")
    pairing = await session.get(Pairing, concern.pairing_id)
    assert pairing is not None
    await pairings.end_pairing(
        session,
        actor,
        pairing.id,
        data=pairings.EndIn(
            reason=pairings.EndReason.NOT_A_GOOD_FIT,
            note=f"Ended by the program team after concern {concern.id}.",
        ),
        expected_version=None,
    )
    _resolve(concern, actor, data.resolution, data.rematch_recommended)
    concern.pairing_ended = True
    await session.flush()
    _audit(
        session,
        actor,
        concern,
        "pairing_ended",
        rematch_recommended=data.rematch_recommended,
    )
    return concern
