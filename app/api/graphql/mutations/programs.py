"""Program mutations: create, change, move through the lifecycle."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import UNSET, relay
from strawberry.scalars import JSON

from app.api.graphql.context import Info
from app.api.graphql.mutations import ids_of, to_domain, unit_of_work
from app.api.graphql.relay import node_uuid
from app.api.graphql.types.common import ProgramStatus
from app.api.graphql.types.programs import Program
from app.domain import programs as service


@strawberry.input(description="How matching runs pair people (every field optional).")
class MatchingSettingsInput:
    min_level_gap: int | None = UNSET
    default_mentor_capacity: int | None = UNSET
    max_mentor_capacity: int | None = UNSET
    priority: str | None = strawberry.field(default=UNSET, description="participation or quality")
    min_score: float | None = UNSET
    acceptance_window_days: int | None = UNSET
    weights: JSON | None = strawberry.field(
        default=UNSET, description="Weight (0-10) per soft criterion, by criterion name."
    )


@strawberry.input(description="A new program (a draft until it is moved on).")
class CreateProgramInput:
    name: str
    description: str | None = UNSET
    focus_areas: list[str] | None = UNSET
    starts_on: date | None = UNSET
    ends_on: date | None = UNSET
    meeting_cadence_days: int | None = UNSET
    pairing_length_weeks: int | None = UNSET
    ground_rules: str | None = UNSET
    matching: MatchingSettingsInput | None = UNSET
    manager_ids: list[relay.GlobalID] | None = UNSET


@strawberry.input(description="A partial change: fields left out keep their value.")
class UpdateProgramInput:
    name: str | None = UNSET
    description: str | None = UNSET
    focus_areas: list[str] | None = UNSET
    starts_on: date | None = UNSET
    ends_on: date | None = UNSET
    meeting_cadence_days: int | None = UNSET
    pairing_length_weeks: int | None = UNSET
    ground_rules: str | None = UNSET
    matching: MatchingSettingsInput | None = UNSET
    manager_ids: list[relay.GlobalID] | None = UNSET


@strawberry.type
class ProgramMutations:
    @strawberry.mutation(description="Create a program (admins), as `POST /programs`.")
    async def create_program(self, info: Info, input: CreateProgramInput) -> Program:
        data = to_domain(
            service.ProgramCreate, input, manager_ids=ids_of(input.manager_ids, "Employee")
        )
        row = await unit_of_work(info, lambda s, actor: service.create_program(s, actor, data=data))
        return Program.of(row)

    @strawberry.mutation(description="Change a program (its managers and admins).")
    async def update_program(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
        input: UpdateProgramInput,
    ) -> Program:
        program_id = node_uuid(id, "Program")
        data = to_domain(
            service.ProgramUpdate, input, manager_ids=ids_of(input.manager_ids, "Employee")
        )
        row = await unit_of_work(
            info,
            lambda s, actor: service.update_program(
                s, actor, program_id, data=data, expected_version=expected_version
            ),
        )
        return Program.of(row)

    @strawberry.mutation(
        description="Move a program along draft → enrolling → matching → active → completed "
        "→ archived (its managers and admins)."
    )
    async def transition_program(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
        to: ProgramStatus,
    ) -> Program:
        program_id = node_uuid(id, "Program")
        row = await unit_of_work(
            info,
            lambda s, actor: service.transition_program(
                s, actor, program_id, to=to, expected_version=expected_version
            ),
        )
        return Program.of(row)
