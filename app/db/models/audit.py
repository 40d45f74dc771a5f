"""The append-only audit log: who did what to which entity, when and from where."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_field
from app.db.types import JSONType, uuid7


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    occurred_at: datetime = created_at_field()
    actor_kind: str = Field(max_length=20)
    actor_employee_id: uuid.UUID | None = Field(default=None, index=True)
    actor_service: str | None = Field(default=None, max_length=200)
    actor_token_id: uuid.UUID | None = None
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=40)
    entity_id: uuid.UUID
    request_id: str | None = Field(default=None, max_length=128)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
