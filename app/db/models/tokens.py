"""Opaque API tokens issued by Revmentor (stored as hashes only)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field

from app.db.models.base import Resource
from app.db.types import JSONType, UTCDateTime


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
