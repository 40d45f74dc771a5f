"""An employee's opt-in to a program as mentor or mentee."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Relationship

from app.db.models.base import Resource
from app.db.models.employees import Employee
from app.db.models.programs import Program
from app.db.types import JSONType, UTCDateTime


class Enrollment(Resource, table=True):
    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("program_id", "employee_id"),)

    program_id: uuid.UUID = Field(foreign_key="programs.id", ondelete="RESTRICT", index=True)
    employee_id: uuid.UUID = Field(foreign_key="employees.id", ondelete="RESTRICT", index=True)
    role: str = Field(max_length=10)
    status: str = Field(default="active", max_length=12, index=True)
    consent_at: datetime = Field(sa_type=UTCDateTime)
    consent_version: int
    can_teach: list[str] = Field(default_factory=list, sa_type=JSONType)
    wants_to_learn: list[str] = Field(default_factory=list, sa_type=JSONType)
    availability: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    capacity: int | None = None
    motivation: str = Field(default="")
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawal_reason: str | None = Field(default=None, max_length=500)

    employee: Employee = Relationship(sa_relationship_kwargs={"lazy": "raise"})
    program: Program = Relationship(sa_relationship_kwargs={"lazy": "raise"})
