"""Programs (cohorts) and the people who manage them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlmodel import Field, SQLModel

from app.db.models.base import Resource, created_at_field
from app.db.types import JSONType


class Program(Resource, table=True):
    __tablename__ = "programs"

    name: str = Field(max_length=200)
    description: str = Field(default="")
    focus_areas: list[str] = Field(default_factory=list, sa_type=JSONType)
    status: str = Field(default="draft", max_length=20, index=True)
    starts_on: date | None = None
    ends_on: date | None = None
    meeting_cadence_days: int = Field(default=14)
    pairing_length_weeks: int = Field(default=26)
    ground_rules: str = Field(default="")
    ground_rules_version: int = Field(default=1)
    min_level_gap: int = Field(default=1)
    default_mentor_capacity: int = Field(default=1)
    max_mentor_capacity: int = Field(default=3)
    matching_weights: dict[str, float] = Field(default_factory=dict, sa_type=JSONType)
    matching_priority: str = Field(default="participation", max_length=15)
    min_match_score: float = Field(default=0.0)
    acceptance_window_days: int = Field(default=7)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="employees.id")


class ProgramManager(SQLModel, table=True):
    """An employee who manages a program."""

    __tablename__ = "program_managers"

    program_id: uuid.UUID = Field(foreign_key="programs.id", primary_key=True, ondelete="CASCADE")
    employee_id: uuid.UUID = Field(
        foreign_key="employees.id", primary_key=True, ondelete="RESTRICT", index=True
    )
    created_at: datetime = created_at_field()
