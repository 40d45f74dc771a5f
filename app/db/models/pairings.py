"""Pairings (one mentor and one mentee in a program), self-service requests, blocks and
matching runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.db.models.base import Resource, created_at_field
from app.db.types import JSONType, UTCDateTime, uuid7

#: States a pairing can still leave; the others are final.
OPEN_PAIRING_STATES = ("proposed", "active", "paused")


class Pairing(Resource, table=True):
    __tablename__ = "pairings"
    __table_args__ = (
        # A mentee is in at most one open pairing per program, whatever the race.
        Index(
            "ix_pairings_open_mentee",
            "mentee_enrollment_id",
            unique=True,
            sqlite_where=text("state IN ('proposed', 'active', 'paused')"),
            postgresql_where=text("state IN ('proposed', 'active', 'paused')"),
        ),
    )

    program_id: uuid.UUID = Field(foreign_key="programs.id", ondelete="RESTRICT", index=True)
    mentor_enrollment_id: uuid.UUID = Field(
        foreign_key="enrollments.id", ondelete="RESTRICT", index=True
    )
    mentee_enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", ondelete="RESTRICT")
    mentor_employee_id: uuid.UUID = Field(
        foreign_key="employees.id", ondelete="RESTRICT", index=True
    )
    mentee_employee_id: uuid.UUID = Field(
        foreign_key="employees.id", ondelete="RESTRICT", index=True
    )
    state: str = Field(default="proposed", max_length=12, index=True)
    origin: str = Field(max_length=12)  # matching, manual, request
    matching_run_id: uuid.UUID | None = Field(
        default=None, foreign_key="matching_runs.id", ondelete="SET NULL", index=True
    )
    score: float | None = None
    explanation: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    justification: str | None = Field(default=None, max_length=2000)
    mentor_accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    mentee_accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The cadence starts again from a resume: a pause is not a missed meeting.
    resumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    declined_by: str | None = Field(default=None, max_length=10)
    decline_reason: str | None = Field(default=None, max_length=2000)
    ended_by: str | None = Field(default=None, max_length=20)
    end_reason: str | None = Field(default=None, max_length=30)
    # Readable by program managers and admins only; the partner learns only that it ended.
    end_note: str | None = Field(default=None, max_length=4000)


class PairingRequest(Resource, table=True):
    __tablename__ = "pairing_requests"
    __table_args__ = (
        Index(
            "ix_pairing_requests_pending_requester",
            "program_id",
            "requester_enrollment_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    program_id: uuid.UUID = Field(foreign_key="programs.id", ondelete="RESTRICT", index=True)
    requester_enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", ondelete="RESTRICT")
    requested_enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", ondelete="RESTRICT")
    requester_employee_id: uuid.UUID = Field(
        foreign_key="employees.id", ondelete="RESTRICT", index=True
    )
    requested_employee_id: uuid.UUID = Field(
        foreign_key="employees.id", ondelete="RESTRICT", index=True
    )
    status: str = Field(default="pending", max_length=12, index=True)
    message: str = Field(default="", max_length=2000)
    pairing_id: uuid.UUID | None = Field(default=None, foreign_key="pairings.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Block(SQLModel, table=True):
    """A participant never wants to be matched with someone; the other person is never told."""

    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("blocker_employee_id", "blocked_employee_id"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    blocker_employee_id: uuid.UUID = Field(foreign_key="employees.id", ondelete="RESTRICT")
    blocked_employee_id: uuid.UUID = Field(
        foreign_key="employees.id", ondelete="RESTRICT", index=True
    )
    created_at: datetime = created_at_field()


class MatchingRun(Resource, table=True):
    __tablename__ = "matching_runs"

    program_id: uuid.UUID = Field(foreign_key="programs.id", ondelete="RESTRICT", index=True)
    status: str = Field(default="queued", max_length=12, index=True)
    dry_run: bool = False
    only_unmatched: bool = False
    priority: str = Field(max_length=15)
    min_score: float = 0.0
    requested_by_id: uuid.UUID | None = Field(default=None, foreign_key="employees.id")
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    timings_ms: dict[str, float] = Field(default_factory=dict, sa_type=JSONType)
    proposals: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    unmatched: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    total_score: float | None = None
    error: str | None = Field(default=None, max_length=2000)
