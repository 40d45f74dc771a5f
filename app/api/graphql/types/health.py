"""Pairing health: how a live pairing is going and why (the program team and readers; readers
never see the concern reason)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from app.api.graphql.context import Info
from app.api.graphql.types import related
from app.api.graphql.types.common import HealthStatus, ReasonCode
from app.domain.health import PairingHealth as PairingHealthView

if TYPE_CHECKING:
    from app.api.graphql.types.pairings import Pairing


@strawberry.type(description="One reason a pairing is not healthy.")
class HealthReason:
    code: ReasonCode
    detail: str


@strawberry.type(description="How an active pairing is going, with the reasons.")
class PairingHealth:
    view: strawberry.Private[PairingHealthView]
    status: HealthStatus
    reasons: list[HealthReason]
    activated_at: datetime | None
    ends_on: date | None
    check_ins: int
    last_check_in_on: date | None
    next_check_in_due_on: date | None
    goals: int
    goals_achieved: int

    @classmethod
    def of(cls, view: PairingHealthView) -> Self:
        return cls(
            view=view,
            status=HealthStatus(view.status),
            reasons=[HealthReason(code=ReasonCode(r.code), detail=r.detail) for r in view.reasons],
            activated_at=view.activated_at,
            ends_on=view.ends_on,
            check_ins=view.check_ins,
            last_check_in_on=view.last_check_in_on,
            next_check_in_due_on=view.next_check_in_due_on,
            goals=view.goals,
            goals_achieved=view.goals_achieved,
        )

    @strawberry.field
    def pairing_id(self) -> relay.GlobalID:
        return relay.GlobalID("Pairing", str(self.view.pairing_id))

    @strawberry.field
    def program_id(self) -> relay.GlobalID:
        return relay.GlobalID("Program", str(self.view.program_id))

    @strawberry.field
    def mentor_employee_id(self) -> relay.GlobalID:
        return relay.GlobalID("Employee", str(self.view.mentor_employee_id))

    @strawberry.field
    def mentee_employee_id(self) -> relay.GlobalID:
        return relay.GlobalID("Employee", str(self.view.mentee_employee_id))

    @strawberry.field
    async def pairing(
        self, info: Info
    ) -> Annotated[Pairing, strawberry.lazy("app.api.graphql.types.pairings")] | None:
        return await related.pairing(info, self.view.pairing_id)
