"""Pairings: one mentor and one mentee in a program, as far as the caller may read them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from app.api.graphql.context import Info
from app.api.graphql.loaders import args_key
from app.api.graphql.relay import DEFAULT_FIRST, After, Connection, First, check_first, connection
from app.api.graphql.types import related
from app.api.graphql.types.common import (
    ConcernStatus,
    GoalStatus,
    OwnerRole,
    PairingState,
    nodes_through,
)
from app.db.models import Pairing as PairingRow
from app.db.pagination import dated_cursor, key_cursor
from app.domain.errors import NotFound
from app.domain.pairing_views import MemberView, PairingView

if TYPE_CHECKING:
    from app.api.graphql.types.checkins import CheckIn
    from app.api.graphql.types.concerns import Concern
    from app.api.graphql.types.employees import Employee
    from app.api.graphql.types.enrollments import Enrollment
    from app.api.graphql.types.feedback import Feedback
    from app.api.graphql.types.goals import Goal
    from app.api.graphql.types.health import PairingHealth
    from app.api.graphql.types.programs import Program

CHECK_INS = "app.api.graphql.types.checkins"
CONCERNS = "app.api.graphql.types.concerns"
FEEDBACK = "app.api.graphql.types.feedback"
HEALTH = "app.api.graphql.types.health"


@strawberry.type(description="One criterion of a proposal's score and why.")
class Criterion:
    criterion: str
    value: float
    weight: float
    text: str


@strawberry.type(description="Where a live pairing stands against its meeting cadence.")
class Cadence:
    cadence_days: int
    last_check_in_on: date | None
    next_check_in_due_on: date
    overdue: bool


@strawberry.type(
    description="A member of a pairing as the other member may know them: no HR fields."
)
class PairingMember:
    view: strawberry.Private[MemberView]
    display_name: str
    job_title: str | None
    department: str | None
    time_zone: str
    topics: list[str]
    accepted_at: datetime | None

    @classmethod
    def of(cls, view: MemberView) -> Self:
        return cls(
            view=view,
            display_name=view.display_name,
            job_title=view.job_title,
            department=view.department,
            time_zone=view.time_zone,
            topics=list(view.topics),
            accepted_at=view.accepted_at,
        )

    @strawberry.field
    def enrollment_id(self) -> relay.GlobalID:
        return relay.GlobalID("Enrollment", str(self.view.enrollment_id))

    @strawberry.field
    def employee_id(self) -> relay.GlobalID:
        return relay.GlobalID("Employee", str(self.view.employee_id))

    @strawberry.field(description="The full record, when the caller may see it.")
    async def employee(
        self, info: Info
    ) -> Annotated[Employee, strawberry.lazy("app.api.graphql.types.employees")] | None:
        return await related.employee(info, self.view.employee_id)

    @strawberry.field(description="The enrollment, when the caller may see it.")
    async def enrollment(
        self, info: Info
    ) -> Annotated[Enrollment, strawberry.lazy("app.api.graphql.types.enrollments")] | None:
        from app.api.graphql.types.enrollments import Enrollment

        row = await info.context.loaders.enrollment.load(self.view.enrollment_id)
        return None if row is None else Enrollment.of(row)


@strawberry.type(
    description="A mentor and a mentee in a program. Confidential fields (justification, "
    "who ended it and why, end notes) are null for anyone but the program team."
)
class Pairing(relay.Node):
    id: relay.NodeID[uuid.UUID]
    row: strawberry.Private[PairingRow]

    @classmethod
    def of(cls, row: PairingRow) -> Self:
        return cls(id=row.id, row=row)

    async def _view(self, info: Info) -> PairingView:
        view = await info.context.loaders.pairing_view.load(self.id)
        if view is None:  # pragma: no cover - the row was read through the same rules
            raise NotFound(f"pairing {self.id} not found")
        return view

    @strawberry.field(description="The id REST uses for this pairing.")
    def database_id(self) -> uuid.UUID:
        return self.id

    @strawberry.field
    async def program(
        self, info: Info
    ) -> Annotated[Program, strawberry.lazy("app.api.graphql.types.programs")] | None:
        return await related.program(info, self.row.program_id)

    @strawberry.field
    async def state(self, info: Info) -> PairingState:
        return PairingState((await self._view(info)).state)

    @strawberry.field(description="manual, matching or request")
    async def origin(self, info: Info) -> str:
        return (await self._view(info)).origin

    @strawberry.field(description="The match score, 0-100, when matched.")
    async def score(self, info: Info) -> float | None:
        return (await self._view(info)).score

    @strawberry.field(description="Why the pair was proposed, criterion by criterion.")
    async def explanation(self, info: Info) -> list[Criterion]:
        return [Criterion(**vars(c)) for c in (await self._view(info)).explanation]

    @strawberry.field
    async def mentor(self, info: Info) -> PairingMember:
        return PairingMember.of((await self._view(info)).mentor)

    @strawberry.field
    async def mentee(self, info: Info) -> PairingMember:
        return PairingMember.of((await self._view(info)).mentee)

    @strawberry.field
    async def expires_at(self, info: Info) -> datetime | None:
        return (await self._view(info)).expires_at

    @strawberry.field
    async def activated_at(self, info: Info) -> datetime | None:
        return (await self._view(info)).activated_at

    @strawberry.field
    async def paused_at(self, info: Info) -> datetime | None:
        return (await self._view(info)).paused_at

    @strawberry.field
    async def resumed_at(self, info: Info) -> datetime | None:
        return (await self._view(info)).resumed_at

    @strawberry.field
    async def closed_at(self, info: Info) -> datetime | None:
        return (await self._view(info)).closed_at

    @strawberry.field
    async def matching_run_id(self, info: Info) -> relay.GlobalID | None:
        run = (await self._view(info)).matching_run_id
        return None if run is None else relay.GlobalID("MatchingRun", str(run))

    @strawberry.field(description="Active pairings: when the next check-in is due.")
    async def cadence(self, info: Info) -> Cadence | None:
        found = (await self._view(info)).cadence
        return None if found is None else Cadence(**vars(found))

    @strawberry.field(description="Program team only.")
    async def justification(self, info: Info) -> str | None:
        return (await self._view(info)).justification

    @strawberry.field(description="mentor or mentee, when declined.")
    async def declined_by(self, info: Info) -> str | None:
        return (await self._view(info)).declined_by

    @strawberry.field(description="The program team and whoever declined.")
    async def decline_reason(self, info: Info) -> str | None:
        return (await self._view(info)).decline_reason

    @strawberry.field(description="Program team only.")
    async def ended_by(self, info: Info) -> str | None:
        return (await self._view(info)).ended_by

    @strawberry.field(
        description="Program team only, except `left_company`, which the partner sees too."
    )
    async def end_reason(self, info: Info) -> str | None:
        return (await self._view(info)).end_reason

    @strawberry.field(description="Program team only.")
    async def end_note(self, info: Info) -> str | None:
        return (await self._view(info)).end_note

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field
    def version(self) -> int:
        return self.row.version

    @strawberry.field(description="The pairing's goals, oldest first.")
    async def goals(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        owner_role: OwnerRole | None = None,
        status: GoalStatus | None = None,
    ) -> Connection[Annotated[Goal, strawberry.lazy("app.api.graphql.types.goals")]]:
        from app.api.graphql.types.goals import Goal

        key = args_key(limit=check_first(first), cursor=after, owner_role=owner_role, status=status)
        page = await info.context.loaders.goals_of_pairing.load((self.id, key))
        return connection(page, Goal.of, lambda g: key_cursor(g.id))

    @strawberry.field(
        description="The pairing's meetings, latest meeting first. Shared notes are shown to "
        "the two members only; your own private notes to you only."
    )
    async def check_ins(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
    ) -> Connection[Annotated[CheckIn, strawberry.lazy(CHECK_INS)]]:
        from app.api.graphql.types.checkins import CheckIn

        key = args_key(limit=check_first(first), cursor=after)
        page = await info.context.loaders.check_ins_of_pairing.load((self.id, key))
        info.context.loaders.prime(info.context.loaders.check_in, page.items)
        return connection(page, CheckIn.of, lambda c: dated_cursor(c.met_on, c.id))

    @strawberry.field(
        description="Feedback given in the pairing, oldest first: yours whole; your partner's "
        "comment only when they shared it (never their ratings); everything for the program "
        "team. Null with a `forbidden` error for anyone else (readers: see the report)."
    )
    async def feedback(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
    ) -> Connection[Annotated[Feedback, strawberry.lazy(FEEDBACK)]] | None:
        from app.api.graphql.types.feedback import Feedback

        key = args_key(limit=check_first(first), cursor=after)
        page = await info.context.loaders.feedback_of_pairing.load((self.id, key))
        return connection(page, Feedback.of, lambda f: key_cursor(f.id))

    @strawberry.field(
        description="Concerns about the pairing, newest first: all of them for the program "
        "team; for a member, only those they raised. Service clients are refused."
    )
    async def concerns(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        status: ConcernStatus | None = None,
    ) -> Connection[Annotated[Concern, strawberry.lazy(CONCERNS)]] | None:
        from app.api.graphql.types.concerns import Concern

        key = args_key(limit=check_first(first), cursor=after, status=status)
        page = await info.context.loaders.concerns_of_pairing.load((self.id, key))
        info.context.loaders.prime(info.context.loaders.concern, page.items)
        return connection(page, lambda c: Concern.shaped(info, c), lambda c: key_cursor(c.id))

    @strawberry.field(
        description="How the pairing is going (the program team and readers; readers do not "
        "see concerns). Null when the pairing is not active."
    )
    async def health(self, info: Info) -> Annotated[PairingHealth, strawberry.lazy(HEALTH)] | None:
        from app.api.graphql.types.health import PairingHealth

        found = await info.context.loaders.pairing_health.load(self.id)
        return None if found is None else PairingHealth.of(found)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await nodes_through(
            info.context.loaders.pairing, cls.of, node_ids, required=required
        )
