"""What happens inside a pairing: goals and milestones, check-ins, feedback and concerns."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, SmallInteger, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.db.models.base import Resource, created_at_field
from app.db.types import JSONType, UTCDateTime, uuid7


class Goal(Resource, table=True):
    """A learning goal of one member of a pairing (either member: two-way learning)."""

    __tablename__ = "goals"
    __table_args__ = (CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),)

    pairing_id: uuid.UUID = Field(foreign_key="pairings.id", ondelete="RESTRICT", index=True)
    program_id: uuid.UUID = Field(foreign_key="programs.id", ondelete="RESTRICT", index=True)
    owner_employee_id: uuid.UUID = Field(foreign_key="employees.id", ondelete="RESTRICT")
    owner_role: str = Field(max_length=10)  # mentor or mentee
    title: str = Field(max_length=200)
    description: str = Field(default="")
    focus_area: str | None = Field(default=None, max_length=64)
    target_date: date | None = None
    status: str = Field(default="not_started", max_length=12)
    progress: int = Field(default=0)
    partner_may_contribute: bool = True
    achieved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class GoalMilestone(SQLModel, table=True):
    """One step towards a goal; the goal's version guards changes to its milestones."""

    __tablename__ = "goal_milestones"
    __table_args__ = (UniqueConstraint("goal_id", "position"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    goal_id: uuid.UUID = Field(foreign_key="goals.id", ondelete="CASCADE", index=True)
    position: int
    title: str = Field(max_length=200)
    done: bool = False
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by_id: uuid.UUID | None = Field(default=None, foreign_key="employees.id")


class GoalComment(SQLModel, table=True):
    __tablename__ = "goal_comments"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    goal_id: uuid.UUID = Field(foreign_key="goals.id", ondelete="CASCADE", index=True)
    author_employee_id: uuid.UUID = Field(foreign_key="employees.id", ondelete="RESTRICT")
    body: str = Field(max_length=4000)
    created_at: datetime = created_at_field()


class CheckIn(Resource, table=True):
    """A meeting of the two members. Its notes here are shared by both; private notes live in
    their own table, read only by their author."""

    __tablename__ = "check_ins"
    __table_args__ = (Index("ix_check_ins_pairing_met_on", "pairing_id", "met_on"),)

    pairing_id: uuid.UUID = Field(foreign_key="pairings.id", ondelete="RESTRICT")
    program_id: uuid.UUID = Field(foreign_key="programs.id", ondelete="RESTRICT", index=True)
    logged_by_id: uuid.UUID = Field(foreign_key="employees.id", ondelete="RESTRICT")
    met_on: date
    duration_minutes: int
    mode: str = Field(max_length=10)  # in_person, video, chat
    topics: list[str] = Field(default_factory=list, sa_type=JSONType)
    shared_notes: str = Field(default="")


class CheckInPrivateNote(SQLModel, table=True):
    """A member's private note on a check-in: read by its author and nobody else."""

    __tablename__ = "check_in_private_notes"

    check_in_id: uuid.UUID = Field(foreign_key="check_ins.id", primary_key=True, ondelete="CASCADE")
    author_employee_id: uuid.UUID = Field(
        foreign_key="employees.id", primary_key=True, ondelete="RESTRICT"
    )
    body: str = Field(max_length=10000)
    updated_at: datetime = created_at_field()


class Feedback(SQLModel, table=True):
    """A member's ratings (1-5) and comment, after a check-in or at the end of the pairing."""

    __tablename__ = "feedback"
    __table_args__ = (
        Index(
            "ix_feedback_one_per_check_in",
            "check_in_id",
            "author_employee_id",
            unique=True,
            sqlite_where=text("check_in_id IS NOT NULL"),
            postgresql_where=text("check_in_id IS NOT NULL"),
        ),
        Index(
            "ix_feedback_one_end_per_member",
            "pairing_id",
            "author_employee_id",
            unique=True,
            sqlite_where=text("kind = 'end'"),
            postgresql_where=text("kind = 'end'"),
        ),
        Index("ix_feedback_pairing_created", "pairing_id", "created_at"),
        CheckConstraint(
            "rating_value BETWEEN 1 AND 5 AND rating_mutual_respect BETWEEN 1 AND 5 "
            "AND rating_psychological_safety BETWEEN 1 AND 5 AND rating_clarity BETWEEN 1 AND 5",
            name="ratings_range",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    pairing_id: uuid.UUID = Field(foreign_key="pairings.id", ondelete="RESTRICT")
    program_id: uuid.UUID = Field(foreign_key="programs.id", ondelete="RESTRICT", index=True)
    author_employee_id: uuid.UUID = Field(foreign_key="employees.id", ondelete="RESTRICT")
    author_role: str = Field(max_length=10)
    kind: str = Field(max_length=10)  # check_in or end
    check_in_id: uuid.UUID | None = Field(
        default=None, foreign_key="check_ins.id", ondelete="RESTRICT"
    )
    rating_value: int = Field(sa_type=SmallInteger)
    rating_mutual_respect: int = Field(sa_type=SmallInteger)
    rating_psychological_safety: int = Field(sa_type=SmallInteger)
    rating_clarity: int = Field(sa_type=SmallInteger)
    comment: str | None = Field(default=None, max_length=4000)
    comment_visibility: str = Field(default="program_team", max_length=12)
    would_take_part_again: bool | None = None
    created_at: datetime = created_at_field()


class Concern(Resource, table=True):
    """A confidential report about a pairing, for the program's managers and admins only."""

    __tablename__ = "concerns"

    pairing_id: uuid.UUID = Field(foreign_key="pairings.id", ondelete="RESTRICT", index=True)
    program_id: uuid.UUID = Field(foreign_key="programs.id", ondelete="RESTRICT", index=True)
    raised_by_id: uuid.UUID = Field(foreign_key="employees.id", ondelete="RESTRICT", index=True)
    category: str = Field(max_length=20)
    description: str = Field(max_length=10000)
    status: str = Field(default="open", max_length=12, index=True)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by_id: uuid.UUID | None = Field(default=None, foreign_key="employees.id")
    resolution: str | None = Field(default=None, max_length=10000)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by_id: uuid.UUID | None = Field(default=None, foreign_key="employees.id")
    rematch_recommended: bool = False
    pairing_ended: bool = False
