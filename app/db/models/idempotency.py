"""Stored first responses of POSTs sent with an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_field
from app.db.types import JSONType, UTCDateTime


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"

    # Keys are scoped to the credential that sent them, so two clients never collide.
    principal: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=255)
    method: str = Field(max_length=10)
    path: str = Field(max_length=2048)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None
    response_headers: list[list[str]] = Field(default_factory=list, sa_type=JSONType)
    response_body: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
