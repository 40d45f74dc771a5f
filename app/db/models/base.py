"""The declarative base: naming convention and the columns every resource carries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer
from sqlmodel import Field, SQLModel

from app.db.types import UTCDateTime, utcnow, uuid7

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata


def created_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
    )


class Resource(SQLModel):
    """Columns of every client-updatable resource: id, timestamps and optimistic-lock version."""

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    version: int = Field(default=1, sa_column_kwargs={"nullable": False})


__all__ = ["NAMING_CONVENTION", "Column", "Integer", "Resource", "metadata"]
