"""Blocks: a participant never wants to be paired with a particular person, anywhere.

The blocked person is never told: refusals caused by a block look like any other refusal.
"""

from __future__ import annotations

import uuid

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Block, Employee
from app.db.pagination import Page, paginate
from app.domain import audit
from app.domain.actors import Actor
from app.domain.errors import Conflict, NotFound, RuleViolation
from app.domain.values import StrictInput


class BlockCreate(StrictInput):
    employee_id: uuid.UUID = Field(description="The person you never want to be paired with.")


async def block(session: AsyncSession, actor: Actor, *, data: BlockCreate) -> Block:
    """Block someone (only for yourself)."""
    me = actor.require_person("block someone")
    if data.employee_id == me:
        raise RuleViolation("you cannot block yourself", field="employee_id", rule="not_self")
    if await session.get(Employee, data.employee_id) is None:
        raise NotFound(f"employee {data.employee_id} not found", field="employee_id")
    existing = await session.scalar(
        select(col(Block.id)).where(
            col(Block.blocker_employee_id) == me, col(Block.blocked_employee_id) == data.employee_id
        )
    )
    if existing is not None:
        raise Conflict(
            "you have already blocked this person",
            rule="already_blocked",
            extra={"block_id": str(existing)},
        )
    entry = Block(blocker_employee_id=me, blocked_employee_id=data.employee_id)
    session.add(entry)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("you have already blocked this person", rule="already_blocked") from exc
    # The audit log is for admins; the blocked person never sees it.
    audit.record(session, actor, action="block.created", entity_type="block", entity_id=entry.id)
    return entry


async def list_blocks(
    session: AsyncSession, actor: Actor, *, limit: int = 50, cursor: str | None = None
) -> Page[Block]:
    """Your blocks (admins: everyone's)."""
    if not actor.is_admin:
        actor.require_person("list blocks")
    stmt = select(Block)
    if not actor.is_admin:
        stmt = stmt.where(col(Block.blocker_employee_id) == actor.employee_id)
    return await paginate(session, stmt, key=col(Block.id), limit=limit, cursor=cursor)


async def unblock(session: AsyncSession, actor: Actor, block_id: uuid.UUID) -> Block:
    """Remove one of your blocks."""
    entry = await session.get(Block, block_id)
    if entry is None or not (actor.is_admin or actor.is_employee(entry.blocker_employee_id)):
        raise NotFound(f"block {block_id} not found")
    await session.delete(entry)
    await session.flush()
    audit.record(session, actor, action="block.removed", entity_type="block", entity_id=entry.id)
    return entry
