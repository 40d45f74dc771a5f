"""Browser sessions: a person signed in through the identity provider holds a session cookie.

The cookie's value and the session's CSRF token are random, shown once and stored as hashes. A
session works until it expires or its person signs out (or is deactivated); a change made with
the cookie (any method but GET, HEAD and OPTIONS) must also carry the CSRF token in a header,
which another site cannot read, so it cannot forge the change.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Employee, WebSession
from app.db.types import utcnow
from app.domain import audit
from app.domain.actors import Actor
from app.domain.errors import Forbidden, Unauthenticated
from app.domain.tokens import hash_token, person_actor

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def open_session(
    session: AsyncSession, actor: Actor, *, ttl: timedelta
) -> tuple[WebSession, str, str]:
    """A new session for a signed-in person: the row, the cookie value and the CSRF token."""
    employee_id = actor.require_person("sign in")
    employee = await session.get(Employee, employee_id)
    assert employee is not None  # the actor was made from it
    value, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=hash_token(value),
        csrf_hash=hash_token(csrf),
        employee_id=employee_id,
        # Admin by the provider's groups (not by Revmentor's own record): kept for the session.
        admin_by_groups=actor.is_admin and not employee.is_admin,
        programs_by_groups=sorted(str(p) for p in actor.managed_program_ids),
        expires_at=utcnow() + ttl,
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor,
        action="session.opened",
        entity_type="employee",
        entity_id=employee_id,
        details={"session_id": str(row.id), "expires_at": row.expires_at.isoformat()},
    )
    return row, value, csrf


async def _live(session: AsyncSession, value: str) -> WebSession | None:
    row = (
        await session.execute(
            select(WebSession).where(col(WebSession.token_hash) == hash_token(value))
        )
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


async def session_actor(
    session: AsyncSession,
    value: str,
    *,
    method: str,
    csrf: str | None,
    request_id: str | None = None,
) -> Actor:
    """The person a session cookie stands for (401 when it does not work; 403 for a change
    without the session's CSRF token)."""
    row = await _live(session, value) if len(value) <= 200 else None
    if row is None:
        raise Unauthenticated("the session has ended; sign in again", rule="session_ended")
    employee = await session.get(Employee, row.employee_id)
    if employee is None or not employee.active:
        raise Unauthenticated("the session has ended; sign in again", rule="session_ended")
    if method.upper() not in SAFE_METHODS and not (
        csrf is not None and hmac.compare_digest(hash_token(csrf), row.csrf_hash)
    ):
        raise Forbidden(
            "a change made with the session cookie needs its CSRF token in the X-CSRF-Token header",
            rule="csrf",
        )
    actor = await person_actor(session, employee, request_id=request_id)
    granted = frozenset(uuid.UUID(p) for p in row.programs_by_groups)
    return replace(
        actor,
        is_admin=actor.is_admin or row.admin_by_groups,
        managed_program_ids=actor.managed_program_ids | granted,
    )


async def close_session(session: AsyncSession, value: str) -> bool:
    """End the session behind a cookie (sign-out); whether there was one to end."""
    row = await _live(session, value)
    if row is None:
        return False
    await session.execute(
        update(WebSession).where(col(WebSession.id) == row.id).values(revoked_at=utcnow())
    )
    return True
