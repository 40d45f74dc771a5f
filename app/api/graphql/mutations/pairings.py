"""Pairing mutations: pair by hand, accept, decline, pause, resume, complete, end."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from app.api.graphql.context import Info
from app.api.graphql.mutations import to_domain, unit_of_work
from app.api.graphql.relay import node_uuid
from app.api.graphql.types.common import EndReason
from app.api.graphql.types.pairings import Pairing
from app.db.models import Pairing as PairingRow
from app.domain import pairings as service
from app.domain.actors import Actor

Change = Callable[..., Awaitable[PairingRow]]


@strawberry.input(description="Two enrollments of one program, paired by its managers.")
class CreatePairingInput:
    program: relay.GlobalID
    mentor_enrollment: relay.GlobalID
    mentee_enrollment: relay.GlobalID
    justification: str | None = strawberry.field(
        default=None,
        description="Required when the pair scores below the program's minimum score.",
    )


async def _change(info: Info, id: relay.GlobalID, change: Change, **kwargs: object) -> Pairing:
    pairing_id: uuid.UUID = node_uuid(id, "Pairing")

    async def work(session: AsyncSession, actor: Actor) -> PairingRow:
        return await change(session, actor, pairing_id, **kwargs)

    return Pairing.of(await unit_of_work(info, work))


@strawberry.type
class PairingMutations:
    @strawberry.mutation(description="Pair two participants by hand (program managers).")
    async def create_pairing(self, info: Info, input: CreatePairingInput) -> Pairing:
        data = to_domain(
            service.ManualPairingCreate,
            None,
            program_id=node_uuid(input.program, "Program"),
            mentor_enrollment_id=node_uuid(input.mentor_enrollment, "Enrollment"),
            mentee_enrollment_id=node_uuid(input.mentee_enrollment, "Enrollment"),
            justification=input.justification,
        )
        row = await unit_of_work(info, lambda s, actor: service.pair_manually(s, actor, data=data))
        return Pairing.of(row)

    @strawberry.mutation(
        description="Accept a proposed pairing; it goes live when both members have accepted."
    )
    async def accept_pairing(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
    ) -> Pairing:
        return await _change(info, id, service.accept_pairing, expected_version=expected_version)

    @strawberry.mutation(description="Decline a proposed pairing (either member).")
    async def decline_pairing(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
        reason: str | None = None,
    ) -> Pairing:
        data = to_domain(service.DeclineIn, None, reason=reason)
        return await _change(
            info, id, service.decline_pairing, reason=data.reason, expected_version=expected_version
        )

    @strawberry.mutation(description="Pause an active pairing (a member or the program team).")
    async def pause_pairing(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
    ) -> Pairing:
        return await _change(info, id, service.pause_pairing, expected_version=expected_version)

    @strawberry.mutation(description="Resume a paused pairing.")
    async def resume_pairing(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
    ) -> Pairing:
        return await _change(info, id, service.resume_pairing, expected_version=expected_version)

    @strawberry.mutation(description="Complete a pairing (the program team).")
    async def complete_pairing(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
    ) -> Pairing:
        return await _change(info, id, service.complete_pairing, expected_version=expected_version)

    @strawberry.mutation(
        description="End a pairing early, no fault assigned. The note is read by the program "
        "team only; the partner sees only that it ended."
    )
    async def end_pairing(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
        reason: EndReason,
        note: str | None = None,
    ) -> Pairing:
        data = to_domain(service.EndIn, None, reason=reason.value, note=note)
        return await _change(
            info, id, service.end_pairing, data=data, expected_version=expected_version
        )
