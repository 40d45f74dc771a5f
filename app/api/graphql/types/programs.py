"""Programs: reverse-mentoring cohorts, with their enrollments, pairings and matching runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from app.api.graphql.context import Info
from app.api.graphql.loaders import args_key
from app.api.graphql.relay import (
    DEFAULT_FIRST,
    After,
    Connection,
    First,
    check_first,
    connection,
    node_uuid,
)
from app.api.graphql.types.common import (
    EnrollmentRole,
    EnrollmentStatus,
    HealthStatus,
    PairingState,
    ProgramStatus,
    nodes_through,
)
from app.db.models import Program as ProgramRow
from app.db.pagination import key_cursor

if TYPE_CHECKING:
    from app.api.graphql.types.enrollments import Enrollment
    from app.api.graphql.types.health import PairingHealth
    from app.api.graphql.types.matching import MatchingRun
    from app.api.graphql.types.pairings import Pairing
    from app.api.graphql.types.reports import ProgramReport

ENROLLMENTS = "app.api.graphql.types.enrollments"
PAIRINGS = "app.api.graphql.types.pairings"
HEALTH = "app.api.graphql.types.health"
MATCHING = "app.api.graphql.types.matching"
REPORTS = "app.api.graphql.types.reports"


@strawberry.type(description="How a program's matching runs pair people.")
class MatchingSettings:
    min_level_gap: int
    default_mentor_capacity: int
    max_mentor_capacity: int
    priority: str
    min_score: float
    acceptance_window_days: int
    weights: JSON


@strawberry.type(description="One reverse-mentoring program (a cohort).")
class Program(relay.Node):
    id: relay.NodeID[uuid.UUID]
    row: strawberry.Private[ProgramRow]
    name: str
    description: str
    focus_areas: list[str]
    status: ProgramStatus
    starts_on: date | None
    ends_on: date | None
    meeting_cadence_days: int
    pairing_length_weeks: int
    ground_rules: str
    ground_rules_version: int
    matching: MatchingSettings
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, row: ProgramRow) -> Self:
        return cls(
            id=row.id,
            row=row,
            name=row.name,
            description=row.description,
            focus_areas=list(row.focus_areas),
            status=ProgramStatus(row.status),
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            meeting_cadence_days=row.meeting_cadence_days,
            pairing_length_weeks=row.pairing_length_weeks,
            ground_rules=row.ground_rules,
            ground_rules_version=row.ground_rules_version,
            matching=MatchingSettings(
                min_level_gap=row.min_level_gap,
                default_mentor_capacity=row.default_mentor_capacity,
                max_mentor_capacity=row.max_mentor_capacity,
                priority=row.matching_priority,
                min_score=row.min_match_score,
                acceptance_window_days=row.acceptance_window_days,
                weights=JSON(dict(row.matching_weights)),
            ),
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
        )

    @strawberry.field(description="The id REST uses for this program.")
    def database_id(self) -> uuid.UUID:
        return self.id

    @strawberry.field(description="The ids of the employees who manage the program.")
    async def manager_ids(self, info: Info) -> list[relay.GlobalID]:
        ids = await info.context.loaders.program_managers.load(self.id)
        return [relay.GlobalID("Employee", str(i)) for i in ids]

    @strawberry.field(description="Enrollments the caller may see, oldest first.")
    async def enrollments(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        role: EnrollmentRole | None = None,
        status: EnrollmentStatus | None = None,
        employee: relay.GlobalID | None = None,
    ) -> Connection[Annotated[Enrollment, strawberry.lazy(ENROLLMENTS)]]:
        from app.api.graphql.types.enrollments import Enrollment

        key = args_key(
            limit=check_first(first),
            cursor=after,
            role=role,
            status=status,
            employee_id=None if employee is None else node_uuid(employee, "Employee"),
        )
        page = await info.context.loaders.enrollments_of_program.load((self.id, key))
        return connection(page, Enrollment.of, lambda e: key_cursor(e.id))

    @strawberry.field(description="Pairings the caller may see, oldest first.")
    async def pairings(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        state: PairingState | None = None,
        member: relay.GlobalID | None = None,
    ) -> Connection[Annotated[Pairing, strawberry.lazy(PAIRINGS)]]:
        from app.api.graphql.types.pairings import Pairing

        key = args_key(
            limit=check_first(first),
            cursor=after,
            state=state,
            member_id=None if member is None else node_uuid(member, "Employee"),
        )
        page = await info.context.loaders.pairings_of_program.load((self.id, key))
        info.context.loaders.prime(info.context.loaders.pairing, page.items)
        return connection(page, Pairing.of, lambda p: key_cursor(p.id))

    @strawberry.field(
        description="The health of every active pairing, in pairing order, filtered by status "
        "(the program team and readers; readers do not see concerns)."
    )
    async def pairing_health(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        status: HealthStatus | None = None,
    ) -> Connection[Annotated[PairingHealth, strawberry.lazy(HEALTH)]] | None:
        from app.api.graphql.types.health import PairingHealth

        key = args_key(limit=check_first(first), cursor=after, status=status)
        page = await info.context.loaders.health_of_program.load((self.id, key))
        return connection(page, PairingHealth.of, lambda h: key_cursor(h.pairing_id))

    @strawberry.field(
        description="The program's report (the program team and readers). Every figure about "
        "fewer than 3 people is suppressed."
    )
    async def report(self, info: Info) -> Annotated[ProgramReport, strawberry.lazy(REPORTS)] | None:
        from app.api.graphql.types.reports import ProgramReport

        found = await info.context.loaders.program_report.load(self.id)
        return None if found is None else ProgramReport.of(found)

    @strawberry.field(description="The program's matching runs, newest first (its managers).")
    async def matching_runs(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
    ) -> Connection[Annotated[MatchingRun, strawberry.lazy(MATCHING)]] | None:
        from app.api.graphql.types.matching import MatchingRun

        key = args_key(limit=check_first(first), cursor=after)
        page = await info.context.loaders.runs_of_program.load((self.id, key))
        info.context.loaders.prime(info.context.loaders.matching_run, page.items)
        return connection(page, MatchingRun.of, lambda r: key_cursor(r.id))

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await nodes_through(
            info.context.loaders.program, cls.of, node_ids, required=required
        )
