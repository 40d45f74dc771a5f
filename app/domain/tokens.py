"""Revmentor's own API tokens: issued once, stored hashed, scoped, expiring and revocable."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from pydantic import EmailStr, Field, model_validator
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import ApiToken, Employee, ProgramManager
from app.db.pagination import Page, paginate
from app.db.types import utcnow
from app.domain import audit
from app.domain.actors import Actor, ActorKind, Scope
from app.domain.common import check_version
from app.domain.errors import Conflict, NotFound, RuleViolation, Unauthenticated
from app.domain.values import Int, Name, StrictInput

TOKEN_PREFIX = "rvm_"  # noqa: S105 - a public marker, not a secret


class TokenCreate(StrictInput):
    """A token for a person (``employee_id`` or ``email``) or for a service client (``service``)."""

    name: Name = Field(description="What the token is for, e.g. 'Workday sync'.")
    employee_id: uuid.UUID | None = None
    email: EmailStr | None = None
    service: Name | None = Field(default=None, description="Service client name.")
    scopes: list[Scope] = Field(default_factory=list, description="Service clients only.")
    expires_in_days: Int | None = Field(default=None, ge=1, le=3650)

    @model_validator(mode="after")
    def _one_subject(self) -> TokenCreate:
        subjects = [self.employee_id is not None, self.email is not None, self.service is not None]
        if sum(subjects) != 1:
            raise ValueError("give exactly one of employee_id, email or service")
        if self.service is None and self.scopes:
            raise ValueError("scopes are for service clients; people act with their own rights")
        return self


def hash_token(token: str) -> str:
    """The stored form of a token (tokens are random, so a plain SHA-256 suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token_value() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def create_token(
    session: AsyncSession,
    actor: Actor,
    *,
    data: TokenCreate,
    default_ttl_days: int,
) -> tuple[ApiToken, str]:
    """Issue a token; the plain value is returned once and never stored."""
    actor.require_admin("issue API tokens")
    employee_id = data.employee_id
    if data.email is not None:
        employee = (
            await session.execute(
                select(Employee).where(col(Employee.email_key) == str(data.email).lower())
            )
        ).scalar_one_or_none()
        if employee is None:
            raise NotFound(f"no employee with e-mail {data.email}", field="email")
        employee_id = employee.id
    if employee_id is not None:
        employee = await session.get(Employee, employee_id)
        if employee is None:
            raise NotFound(f"employee {employee_id} not found", field="employee_id")
        if not employee.active:
            raise RuleViolation(
                "tokens are issued to active employees only",
                field="employee_id",
                rule="employee_active",
            )
    value = new_token_value()
    days = data.expires_in_days or default_ttl_days
    token = ApiToken(
        name=data.name,
        token_hash=hash_token(value),
        prefix=value[:12],
        employee_id=employee_id,
        service_name=data.service,
        scopes=sorted({s.value for s in data.scopes}),
        expires_at=utcnow() + timedelta(days=days),
        created_by_id=actor.employee_id,
    )
    session.add(token)
    await session.flush()
    audit.record(
        session,
        actor,
        action="token.created",
        entity_type="api_token",
        entity_id=token.id,
        details={
            "name": token.name,
            "employee_id": str(employee_id) if employee_id else None,
            "service": data.service,
            "scopes": token.scopes,
        },
    )
    return token, value


async def list_tokens(
    session: AsyncSession,
    actor: Actor,
    *,
    employee_id: uuid.UUID | None = None,
    include_revoked: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ApiToken]:
    """Issued tokens (never their values), for admins."""
    actor.require_admin("list API tokens")
    stmt = select(ApiToken)
    if employee_id is not None:
        stmt = stmt.where(col(ApiToken.employee_id) == employee_id)
    if not include_revoked:
        stmt = stmt.where(col(ApiToken.revoked_at).is_(None))
    return await paginate(session, stmt, key=col(ApiToken.id), limit=limit, cursor=cursor)


async def get_token(session: AsyncSession, actor: Actor, token_id: uuid.UUID) -> ApiToken:
    """One issued token, for admins."""
    actor.require_admin("read API tokens")
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id} not found")
    return token


async def revoke_token(
    session: AsyncSession, actor: Actor, token_id: uuid.UUID, *, expected_version: int | None = None
) -> ApiToken:
    """Revoke a token at once; later requests with it are refused."""
    token = await get_token(session, actor, token_id)
    check_version(token.version, expected_version)
    if token.revoked_at is not None:
        raise Conflict("the token is already revoked", rule="token_active")
    token.revoked_at = utcnow()
    token.version += 1
    token.updated_at = token.revoked_at
    await session.flush()
    audit.record(
        session, actor, action="token.revoked", entity_type="api_token", entity_id=token.id
    )
    return token


async def revoke_by_prefix(session: AsyncSession, actor: Actor, *, prefix: str) -> ApiToken:
    """Revoke the token whose shown prefix (``rvm_…``, its first 12 characters) is given."""
    stmt = select(ApiToken).where(col(ApiToken.prefix) == prefix[:12])
    matches = list((await session.execute(stmt)).scalars().all())
    if len(matches) != 1:
        raise NotFound(f"no single token matches '{prefix}'")
    return await revoke_token(session, actor, matches[0].id)


async def managed_programs(session: AsyncSession, employee_id: uuid.UUID) -> frozenset[uuid.UUID]:
    stmt = select(col(ProgramManager.program_id)).where(
        col(ProgramManager.employee_id) == employee_id
    )
    return frozenset((await session.execute(stmt)).scalars().all())


async def person_actor(
    session: AsyncSession,
    employee: Employee,
    *,
    token_id: uuid.UUID | None = None,
    request_id: str | None = None,
) -> Actor:
    """The actor for a signed-in employee, with their admin flag and managed programs."""
    return Actor(
        kind=ActorKind.PERSON,
        employee_id=employee.id,
        is_admin=employee.is_admin,
        managed_program_ids=await managed_programs(session, employee.id),
        token_id=token_id,
        request_id=request_id,
    )


async def authenticate_token(
    session: AsyncSession,
    value: str,
    *,
    request_id: str | None = None,
    touch_interval_seconds: int = 60,
) -> Actor:
    """The actor an API token stands for; any fault is the same vague 401.

    It may record the token's use (``last_used_at``); the caller commits that.
    """
    refused = Unauthenticated("the token is invalid, expired or revoked", rule="invalid_token")
    if not value.startswith(TOKEN_PREFIX) or len(value) > 200:
        raise refused
    token = (
        await session.execute(select(ApiToken).where(col(ApiToken.token_hash) == hash_token(value)))
    ).scalar_one_or_none()
    now = utcnow()
    if token is None or token.revoked_at is not None:
        raise refused
    if token.expires_at is not None and token.expires_at <= now:
        raise refused
    if _stale(token.last_used_at, now, touch_interval_seconds):
        # Throttled, so a busy client does not turn every read into a write.
        await session.execute(
            update(ApiToken).where(col(ApiToken.id) == token.id).values(last_used_at=now)
        )
    if token.employee_id is not None:
        employee = await session.get(Employee, token.employee_id)
        if employee is None or not employee.active:
            raise refused  # the same answer: a leaked token reveals nothing
        return await person_actor(session, employee, token_id=token.id, request_id=request_id)
    return Actor(
        kind=ActorKind.SERVICE,
        service_name=token.service_name,
        scopes=frozenset(token.scopes),
        token_id=token.id,
        request_id=request_id,
    )


def _stale(last: datetime | None, now: datetime, interval: int) -> bool:
    return last is None or (now - last).total_seconds() >= interval
