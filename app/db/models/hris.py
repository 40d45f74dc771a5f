"""HRIS sync runs: every push of employee records, with its report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from app.db.models.base import Resource
from app.db.types import JSONType, UTCDateTime, uuid7


class HrisRun(Resource, table=True):
    """A delta batch (one page, finished at once) or a snapshot run (pages, then a commit that
    deactivates the source's people missing from the snapshot)."""

    __tablename__ = "hris_runs"
    __table_args__ = (
        # One snapshot at a time per source: two overlapping full syncs would each deactivate
        # the people only the other one has seen.
        Index(
            "ix_hris_runs_open_snapshot",
            "source",
            unique=True,
            sqlite_where=text("kind = 'snapshot' AND status IN ('open', 'held')"),
            postgresql_where=text("kind = 'snapshot' AND status IN ('open', 'held')"),
        ),
    )

    source: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=10)  # delta, snapshot
    status: str = Field(max_length=10, index=True)  # open, held, committed, rejected, aborted
    pushed_by: str = Field(max_length=200)
    token_id: uuid.UUID | None = None
    employee_id: uuid.UUID | None = None
    pages: int = 0
    records: int = 0
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSONType)
    error_count: int = 0
    # The first errors, each {"index", "external_id", "page", "reason"}; the count has them all.
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    max_deactivation_share: float | None = None
    active_before: int | None = None
    to_deactivate: int | None = None
    deactivated: int = 0
    hold_reason: str | None = Field(default=None, max_length=500)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class HrisRunPage(SQLModel, table=True):
    """The external ids one page of a snapshot run contained (one row per page: a page of a
    thousand people is one write, not a thousand)."""

    __tablename__ = "hris_run_pages"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    run_id: uuid.UUID = Field(foreign_key="hris_runs.id", ondelete="CASCADE", index=True)
    external_ids: list[str] = Field(default_factory=list, sa_type=JSONType)
    # The people the page's records say have left, deactivated only when the run commits (or
    # an admin approves it), with the termination date to store then: {"id", "external_id",
    # "modified_at", "termination_date"}.
    leaving: list[dict[str, str | None]] = Field(
        default_factory=list, sa_type=JSONType, sa_column_kwargs={"server_default": "[]"}
    )
    # A held run's people left out of it, as the hold counted them (ids): an approval
    # deactivates only these, not whoever a later look would find.
    missing: list[str] = Field(
        default_factory=list, sa_type=JSONType, sa_column_kwargs={"server_default": "[]"}
    )
