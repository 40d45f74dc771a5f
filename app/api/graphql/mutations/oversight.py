"""Mutations of the program team and of participants choosing partners: matching runs,
concerns, pairing requests and blocks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import UNSET, relay

from app.api.graphql.context import Info
from app.api.graphql.mutations import to_domain, unit_of_work
from app.api.graphql.relay import node_uuid
from app.api.graphql.types.blocks import Block
from app.api.graphql.types.common import ConcernCategory
from app.api.graphql.types.concerns import Concern
from app.api.graphql.types.matching import MatchingRun
from app.api.graphql.types.requests import PairingRequest
from app.db.models import Concern as ConcernRow
from app.db.models import PairingRequest as PairingRequestRow
from app.domain import blocks, concerns, pairing_requests
from app.domain.actors import Actor
from app.domain.matching import runs
from app.jobs.matching import launch_run


@strawberry.input(description="A matching run of a program's cohort.")
class StartMatchingRunInput:
    dry_run: bool | None = strawberry.field(
        default=UNSET, description="Compute proposals without creating pairings."
    )
    only_unmatched: bool | None = UNSET


@strawberry.input(description="A confidential concern: the partner never learns of it.")
class RaiseConcernInput:
    category: ConcernCategory
    description: str


@strawberry.type
class OversightMutations:
    @strawberry.mutation(
        description="Match the program's cohort (its managers and admins). Answers at once "
        "with the queued run; read it again (`node`) until it has succeeded."
    )
    async def start_matching_run(
        self,
        info: Info,
        program: relay.GlobalID,
        input: StartMatchingRunInput | None = None,
    ) -> MatchingRun:
        program_id = node_uuid(program, "Program")
        data = to_domain(runs.MatchingRunCreate, input)
        row = await unit_of_work(
            info, lambda s, actor: runs.start_run(s, actor, program_id=program_id, data=data)
        )
        request = info.context.request
        assert request is not None
        launch_run(request.app.state.background_tasks, info.context.db, row.id)
        return MatchingRun.of(row)

    @strawberry.mutation(
        description="Raise a confidential concern about your pairing (a member); only the "
        "program team reads it."
    )
    async def raise_concern(
        self,
        info: Info,
        pairing: relay.GlobalID,
        input: RaiseConcernInput,
    ) -> Concern:
        pairing_id = node_uuid(pairing, "Pairing")
        data = to_domain(concerns.ConcernCreate, input)
        row = await unit_of_work(
            info, lambda s, actor: concerns.raise_concern(s, actor, pairing_id, data=data)
        )
        return _concern(info, row)

    @strawberry.mutation(description="Acknowledge a concern (the program team).")
    async def acknowledge_concern(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
    ) -> Concern:
        concern_id = node_uuid(id, "Concern")
        row = await unit_of_work(
            info,
            lambda s, actor: concerns.acknowledge_concern(
                s, actor, concern_id, expected_version=expected_version
            ),
        )
        return _concern(info, row)

    @strawberry.mutation(description="Resolve a concern (the program team).")
    async def resolve_concern(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
        resolution: str,
        rematch_recommended: bool | None = UNSET,
    ) -> Concern:
        concern_id = node_uuid(id, "Concern")
        data = to_domain(
            concerns.ResolveIn,
            None,
            resolution=resolution,
            rematch_recommended=rematch_recommended,
        )
        row = await unit_of_work(
            info,
            lambda s, actor: concerns.resolve_concern(
                s, actor, concern_id, data=data, expected_version=expected_version
            ),
        )
        return _concern(info, row)

    @strawberry.mutation(
        description="End the pairing over a concern as a no-fault exit, resolving the concern "
        "(the program team)."
    )
    async def end_pairing_over_concern(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
        resolution: str | None = UNSET,
        rematch_recommended: bool | None = UNSET,
    ) -> Concern:
        concern_id = node_uuid(id, "Concern")
        data = to_domain(
            concerns.EndPairingIn,
            None,
            resolution=resolution,
            rematch_recommended=rematch_recommended,
        )
        row = await unit_of_work(
            info,
            lambda s, actor: concerns.end_pairing_over_concern(
                s, actor, concern_id, data=data, expected_version=expected_version
            ),
        )
        return _concern(info, row)

    @strawberry.mutation(description="Ask a participant of your program to pair with you.")
    async def create_pairing_request(
        self,
        info: Info,
        requested_enrollment: relay.GlobalID,
        message: str | None = UNSET,
    ) -> PairingRequest:
        data = to_domain(
            pairing_requests.PairingRequestCreate,
            None,
            requested_enrollment_id=node_uuid(requested_enrollment, "Enrollment"),
            message=message,
        )
        row = await unit_of_work(
            info, lambda s, actor: pairing_requests.create_request(s, actor, data=data)
        )
        return PairingRequest.of(row)

    @strawberry.mutation(description="Accept a request you received: the pairing is proposed.")
    async def accept_pairing_request(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
    ) -> PairingRequest:
        return await _decide(info, id, expected_version, pairing_requests.accept_request)

    @strawberry.mutation(description="Decline a request you received.")
    async def decline_pairing_request(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
    ) -> PairingRequest:
        return await _decide(info, id, expected_version, pairing_requests.decline_request)

    @strawberry.mutation(description="Withdraw a request you sent.")
    async def withdraw_pairing_request(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
    ) -> PairingRequest:
        return await _decide(info, id, expected_version, pairing_requests.withdraw_request)

    @strawberry.mutation(description="Never be paired with this person, in any program.")
    async def block_employee(self, info: Info, employee: relay.GlobalID) -> Block:
        data = to_domain(blocks.BlockCreate, None, employee_id=node_uuid(employee, "Employee"))
        row = await unit_of_work(info, lambda s, actor: blocks.block(s, actor, data=data))
        return Block.of(row)

    @strawberry.mutation(description="Lift one of your blocks; answers the block removed.")
    async def remove_block(self, info: Info, id: relay.GlobalID) -> Block:
        block_id = node_uuid(id, "Block")
        row = await unit_of_work(info, lambda s, actor: blocks.unblock(s, actor, block_id))
        return Block.of(row)


def _concern(info: Info, row: ConcernRow) -> Concern:
    return Concern.of(concerns.concern_view(info.context.actor, row))


async def _decide(
    info: Info,
    id: relay.GlobalID,
    expected_version: int,
    change: Callable[..., Awaitable[PairingRequestRow]],
) -> PairingRequest:
    request_id = node_uuid(id, "PairingRequest")

    async def work(session: AsyncSession, actor: Actor) -> PairingRequestRow:
        return await change(session, actor, request_id, expected_version=expected_version)

    return PairingRequest.of(await unit_of_work(info, work))
