"""The employee directory, written by admins and (later) HRIS sync."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlmodel import Field

from app.db.models.base import Resource
from app.db.types import JSONType, UTCDateTime


class Employee(Resource, table=True):
    __tablename__ = "employees"

    external_id: str | None = Field(default=None, max_length=255, unique=True)
    email: str = Field(max_length=320)
    # Lower-cased e-mail: the case-insensitive uniqueness key (a functional index would hide
    # from Alembic's comparison, a plain column does not).
    email_key: str = Field(max_length=320, unique=True)
    given_name: str = Field(max_length=200)
    family_name: str = Field(max_length=200)
    display_name: str = Field(max_length=400)
    job_title: str | None = Field(default=None, max_length=200)
    job_level: int = Field(index=True)
    department: str | None = Field(default=None, max_length=200, index=True)
    division: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=200)
    time_zone: str = Field(default="UTC", max_length=64)
    manager_id: uuid.UUID | None = Field(
        default=None, foreign_key="employees.id", ondelete="RESTRICT", index=True
    )
    hire_date: date | None = None
    employee_number: str | None = Field(default=None, max_length=64, index=True)
    organization: str | None = Field(default=None, max_length=200)
    cost_center: str | None = Field(default=None, max_length=100)
    # A future termination date takes effect on that day (the maintenance sweep applies it).
    termination_date: date | None = Field(default=None, index=True)
    active: bool = Field(default=True, index=True)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The source's reference to the manager. It is kept when the manager has not arrived yet,
    # and the link is made when they do.
    manager_external_id: str | None = Field(default=None, max_length=255, index=True)
    # Which HRIS source owns the record (a snapshot run deactivates only its own people), the
    # source's last-modified time of what is stored (older pushes are stale) and a digest of
    # the stored source record (an unchanged push writes nothing).
    source: str | None = Field(default=None, max_length=64, index=True)
    source_modified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source_digest: str | None = Field(default=None, max_length=64)
    # Deleted through SCIM: deactivated and hidden from the SCIM view, never removed.
    scim_removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    skills: list[str] = Field(default_factory=list, sa_type=JSONType)
    interests: list[str] = Field(default_factory=list, sa_type=JSONType)
    languages: list[str] = Field(default_factory=list, sa_type=JSONType)
    is_admin: bool = Field(default=False)

    def snapshot(self) -> dict[str, Any]:
        """The fields an audit entry records when this employee changes."""
        return self.model_dump(
            mode="json", exclude={"email_key", "created_at", "updated_at", "source_digest"}
        )
