"""Enrollment mutations: opt in (with consent), change, withdraw."""

from __future__ import annotations

import strawberry
from strawberry import UNSET, relay

from app.api.graphql.context import Info
from app.api.graphql.mutations import to_domain, unit_of_work
from app.api.graphql.relay import node_uuid
from app.api.graphql.types.common import EnrollmentRole
from app.api.graphql.types.enrollments import Enrollment
from app.domain import enrollments as service


@strawberry.input(description="A weekly window of availability, in your own time zone.")
class TimeWindowInput:
    day: str = strawberry.field(description="mon, tue, wed, thu, fri, sat or sun")
    start: str = strawberry.field(description="HH:MM")
    end: str = strawberry.field(description="HH:MM")


@strawberry.input(description="Taking part in a program; consent to its ground rules is explicit.")
class EnrollInput:
    role: EnrollmentRole
    accepted_ground_rules_version: int = strawberry.field(
        description="The version of the ground rules you read and accept."
    )
    can_teach: list[str] | None = UNSET
    wants_to_learn: list[str] | None = UNSET
    availability: list[TimeWindowInput] | None = UNSET
    capacity: int | None = strawberry.field(default=UNSET, description="Mentors only.")
    motivation: str | None = UNSET


@strawberry.input(description="A partial change: fields left out keep their value.")
class UpdateEnrollmentInput:
    can_teach: list[str] | None = UNSET
    wants_to_learn: list[str] | None = UNSET
    availability: list[TimeWindowInput] | None = UNSET
    capacity: int | None = UNSET
    motivation: str | None = UNSET
    accepted_ground_rules_version: int | None = UNSET


@strawberry.type
class EnrollmentMutations:
    @strawberry.mutation(description="Enroll yourself in a program that is open for enrolment.")
    async def enroll(
        self,
        info: Info,
        program: relay.GlobalID,
        input: EnrollInput,
    ) -> Enrollment:
        program_id = node_uuid(program, "Program")
        data = to_domain(service.EnrollmentCreate, input)
        row = await unit_of_work(
            info, lambda s, actor: service.enroll(s, actor, program_id=program_id, data=data)
        )
        return Enrollment.of(row)

    @strawberry.mutation(description="Change your enrollment.")
    async def update_enrollment(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
        input: UpdateEnrollmentInput,
    ) -> Enrollment:
        enrollment_id = node_uuid(id, "Enrollment")
        data = to_domain(service.EnrollmentUpdate, input)
        row = await unit_of_work(
            info,
            lambda s, actor: service.update_enrollment(
                s, actor, enrollment_id, data=data, expected_version=expected_version
            ),
        )
        return Enrollment.of(row)

    @strawberry.mutation(
        description="Withdraw from a program at any time (you, or the program's managers)."
    )
    async def withdraw_enrollment(
        self,
        info: Info,
        id: relay.GlobalID,
        expected_version: int,
        reason: str | None = None,
    ) -> Enrollment:
        enrollment_id = node_uuid(id, "Enrollment")
        # The same input rules as REST's body (length, no NUL characters).
        checked = to_domain(service.WithdrawalIn, None, reason=reason)
        row = await unit_of_work(
            info,
            lambda s, actor: service.withdraw_enrollment(
                s,
                actor,
                enrollment_id,
                reason=checked.reason,
                expected_version=expected_version,
            ),
        )
        return Enrollment.of(row)
