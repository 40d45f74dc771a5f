"""Opaque API tokens issued by Revmentor (stored as hashes only)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.db.models.base import Resource
from app.db.types import JSONType, UTCDateTime, utcnow, uuid7


class ApiToken(Resource, table=True):
    __tablename__ = "api_tokens"

    name: str = Field(max_length=200)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    employee_id: uuid.UUID | None = Field(
        default=None, foreign_key="employees.id", ondelete="RESTRICT", index=True
    )
    service_name: str | None = Field(default=None, max_length=200)
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="employees.id")


class WebSession(SQLModel, table=True):
    """A browser's sign-in through the identity provider: the cookie's value and the CSRF
    token are stored only as hashes; the session ends when it expires or at logout."""

    __tablename__ = "web_sessions"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    csrf_hash: str = Field(max_length=64)
    employee_id: uuid.UUID = Field(foreign_key="employees.id", ondelete="RESTRICT", index=True)
    # Admin rights the identity provider's groups granted at sign-in (for this session).
    admin_by_groups: bool = False
    # Programs the provider's groups made this person a manager of, at sign-in.
    programs_by_groups: list[str] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
