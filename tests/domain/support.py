"""Helpers shared by the domain tests: actors, reloading rows and reading the audit log."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import select
from sqlmodel import col

from app.db.engine import Database
from app.db.models import AuditEvent, Employee, Enrollment, Program
from app.domain.actors import Actor, ActorKind, Scope
from app.domain.tokens import person_actor
from tests.factories import Factory

T = TypeVar("T")

SYSTEM = Actor.system(request_id="req-1")


def service(*scopes: Scope | str, name: str = "hris-job", request_id: str | None = None) -> Actor:
    """A service client holding exactly these scopes."""
    return Actor(
        kind=ActorKind.SERVICE,
        service_name=name,
        scopes=frozenset(str(s) for s in scopes),
        request_id=request_id,
    )


async def actor_for(db: Database, employee: Employee, *, request_id: str | None = None) -> Actor:
    """The actor of a signed-in employee, as the auth layer would build it."""
    async with db.session() as session:
        return await person_actor(session, employee, request_id=request_id)


async def reload(db: Database, model: type[T], row_id: uuid.UUID) -> T:
    """The row as stored now (a fresh session, nothing cached)."""
    async with db.session() as session:
        row = await session.get(model, row_id)
        assert row is not None, f"{model.__name__} {row_id} is gone"
        return row


async def audit_trail(db: Database, entity_id: uuid.UUID) -> list[AuditEvent]:
    """The audit events about one entity, in the order they were written."""
    async with db.session() as session:
        stmt = (
            select(AuditEvent)
            .where(col(AuditEvent.entity_id) == entity_id)
            .order_by(col(AuditEvent.occurred_at))
        )
        return list((await session.execute(stmt)).scalars().all())


async def actions(db: Database, entity_id: uuid.UUID) -> list[str]:
    return [event.action for event in await audit_trail(db, entity_id)]


async def enroll(
    db: Database,
    employee: Employee,
    program: Program,
    *,
    role: str = "mentee",
    **overrides: Any,
) -> Enrollment:
    """Enroll ``employee`` themselves in ``program`` with sensible defaults."""
    return await Factory(db).enrollment(employee, program, role=role, **overrides)
