"""Matching runs: whole-cohort matching of a program, with each proposal's score and
explanation and the people left unmatched, with reasons (the program's managers and admins)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from app.api.graphql.context import Info
from app.api.graphql.types import related
from app.api.graphql.types.common import nodes_through
from app.api.graphql.types.pairings import Criterion
from app.db.models import MatchingRun as MatchingRunRow

if TYPE_CHECKING:
    from app.api.graphql.types.pairings import Pairing
    from app.api.graphql.types.programs import Program


def _id(type_name: str, value: Any) -> relay.GlobalID:
    return relay.GlobalID(type_name, str(uuid.UUID(str(value))))


@strawberry.type(description="A proposed pair, its score (0-100) and why, criterion by criterion.")
class Proposal:
    mentor_enrollment_id: relay.GlobalID
    mentee_enrollment_id: relay.GlobalID
    mentor_employee_id: relay.GlobalID
    mentee_employee_id: relay.GlobalID
    score: float
    explanation: list[Criterion]
    pairing_database_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(cls, data: dict[str, Any]) -> Self:
        pairing = data.get("pairing_id")
        return cls(
            mentor_enrollment_id=_id("Enrollment", data["mentor_enrollment_id"]),
            mentee_enrollment_id=_id("Enrollment", data["mentee_enrollment_id"]),
            mentor_employee_id=_id("Employee", data["mentor_employee_id"]),
            mentee_employee_id=_id("Employee", data["mentee_employee_id"]),
            score=float(data["score"]),
            explanation=[
                Criterion(
                    criterion=str(c["criterion"]),
                    value=float(c["value"]),
                    weight=float(c["weight"]),
                    text=str(c["text"]),
                )
                for c in data.get("explanation", [])
            ],
            pairing_database_id=None if pairing is None else uuid.UUID(str(pairing)),
        )

    @strawberry.field(description="The pairing it created (null for a dry run).")
    def pairing_id(self) -> relay.GlobalID | None:
        found = self.pairing_database_id
        return None if found is None else relay.GlobalID("Pairing", str(found))

    @strawberry.field(description="The pairing it created, when the caller may see it.")
    async def pairing(
        self, info: Info
    ) -> Annotated[Pairing, strawberry.lazy("app.api.graphql.types.pairings")] | None:

        if self.pairing_database_id is None:
            return None
        return await related.pairing(info, self.pairing_database_id)


@strawberry.type(description="Someone the run could not pair, and why.")
class Unmatched:
    enrollment_id: relay.GlobalID
    employee_id: relay.GlobalID
    role: str
    reason: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> Self:
        return cls(
            enrollment_id=_id("Enrollment", data["enrollment_id"]),
            employee_id=_id("Employee", data["employee_id"]),
            role=str(data["role"]),
            reason=str(data["reason"]),
        )


@strawberry.type(description="A matching run of a program: its status, timings and results.")
class MatchingRun(relay.Node):
    id: relay.NodeID[uuid.UUID]
    row: strawberry.Private[MatchingRunRow]
    status: str = strawberry.field(description="queued, running, succeeded or failed")
    dry_run: bool
    only_unmatched: bool
    priority: str
    min_score: float
    started_at: datetime | None
    finished_at: datetime | None
    timings_ms: JSON
    total_score: float | None
    proposals: list[Proposal]
    unmatched: list[Unmatched]
    error: str | None
    created_at: datetime
    version: int

    @classmethod
    def of(cls, row: MatchingRunRow) -> Self:
        return cls(
            id=row.id,
            row=row,
            status=row.status,
            dry_run=row.dry_run,
            only_unmatched=row.only_unmatched,
            priority=row.priority,
            min_score=row.min_score,
            started_at=row.started_at,
            finished_at=row.finished_at,
            timings_ms=JSON(dict(row.timings_ms)),
            total_score=row.total_score,
            proposals=[Proposal.of(p) for p in row.proposals],
            unmatched=[Unmatched.of(u) for u in row.unmatched],
            error=row.error,
            created_at=row.created_at,
            version=row.version,
        )

    @strawberry.field(description="The id REST uses for this run.")
    def database_id(self) -> uuid.UUID:
        return self.id

    @strawberry.field
    async def program(
        self, info: Info
    ) -> Annotated[Program, strawberry.lazy("app.api.graphql.types.programs")] | None:
        return await related.program(info, self.row.program_id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await nodes_through(
            info.context.loaders.matching_run, cls.of, node_ids, required=required
        )
