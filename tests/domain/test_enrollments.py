"""Enrollments through their service functions: opt-in, eligibility, changes, withdrawal, lists."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.db.engine import Database
from app.db.models import Employee, Enrollment, Program
from app.domain import employees, enrollments, programs
from app.domain.actors import Actor, Scope
from app.domain.enrollments import (
    EnrollmentCreate,
    EnrollmentRole,
    EnrollmentStatus,
    EnrollmentUpdate,
)
from app.domain.errors import Conflict, Forbidden, NotFound, PreconditionFailed, RuleViolation
from app.domain.programs import ProgramStatus, ProgramUpdate
from tests.domain.support import SYSTEM, actor_for, audit_trail, enroll, reload, service
from tests.factories import Factory


def _mentor(**overrides: Any) -> dict[str, Any]:
    return {"role": "mentor", "can_teach": ["ChatGPT", "TikTok"]} | overrides


def _mentee(**overrides: Any) -> dict[str, Any]:
    return {"role": "mentee", "wants_to_learn": ["ChatGPT"]} | overrides


async def _try_enroll(db: Database, actor: Actor, program: Program, **fields: Any) -> Enrollment:
    data = {"accepted_ground_rules_version": program.ground_rules_version} | fields
    async with db.session() as session:
        enrollment = await enrollments.enroll(
            session, actor, program_id=program.id, data=EnrollmentCreate(**data)
        )
        await session.commit()
        return enrollment


async def _change(
    db: Database,
    actor: Actor,
    enrollment_id: uuid.UUID,
    *,
    expected_version: int | None = None,
    **fields: Any,
) -> Enrollment:
    async with db.session() as session:
        enrollment = await enrollments.update_enrollment(
            session,
            actor,
            enrollment_id,
            data=EnrollmentUpdate(**fields),
            expected_version=expected_version,
        )
        await session.commit()
        return enrollment


async def _withdraw(
    db: Database,
    actor: Actor,
    enrollment_id: uuid.UUID,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Enrollment:
    async with db.session() as session:
        enrollment = await enrollments.withdraw_enrollment(
            session, actor, enrollment_id, reason=reason, expected_version=expected_version
        )
        await session.commit()
        return enrollment


async def _new_rules(db: Database, program: Program) -> Program:
    async with db.session() as session:
        updated = await programs.update_program(
            session,
            SYSTEM,
            program.id,
            data=ProgramUpdate(ground_rules="New rules: cameras on."),
            expected_version=None,
        )
        await session.commit()
        return updated


async def _stored_count(db: Database, program_id: uuid.UUID) -> int:
    async with db.session() as session:
        page = await enrollments.list_enrollments(session, SYSTEM, program_id=program_id)
    return len(page.items)


# --- the happy path --------------------------------------------------------------------------


async def test_a_mentor_enrolls_with_consent(db: Database, factory: Factory) -> None:
    program = await factory.program(matching={"default_mentor_capacity": 2})
    junior = await factory.employee(job_level=2)
    actor = await actor_for(db, junior, request_id="req-1")
    enrollment = await _try_enroll(
        db,
        actor,
        program,
        **_mentor(
            can_teach=["ChatGPT", " chatgpt ", "TikTok"],
            availability=[{"day": "wed", "start": "14:00", "end": "15:30"}],
            motivation="I like explaining things.",
        ),
    )
    stored = await reload(db, Enrollment, enrollment.id)
    assert stored.employee_id == junior.id
    assert stored.program_id == program.id
    assert (stored.role, stored.status) == ("mentor", "active")
    assert stored.consent_version == 1
    assert stored.consent_at is not None
    assert stored.can_teach == ["ChatGPT", "TikTok"]
    assert stored.capacity == 2  # the program's default
    assert stored.availability == [{"day": "wed", "start": "14:00:00", "end": "15:30:00"}]
    (event,) = await audit_trail(db, enrollment.id)
    assert event.action == "enrollment.created"
    assert event.actor_employee_id == junior.id
    assert event.request_id == "req-1"
    assert event.details["role"] == "mentor"
    assert event.details["consent_version"] == 1


async def test_a_mentee_enrolls_with_consent(db: Database, factory: Factory) -> None:
    program = await factory.program()
    program = await _new_rules(db, program)
    senior = await factory.employee(job_level=12)
    enrollment = await _try_enroll(db, await actor_for(db, senior), program, **_mentee())
    stored = await reload(db, Enrollment, enrollment.id)
    assert (stored.role, stored.status) == ("mentee", "active")
    assert stored.consent_version == 2
    assert stored.consent_at is not None
    assert stored.capacity is None
    assert stored.wants_to_learn == ["ChatGPT"]


async def test_a_mentor_can_ask_for_a_capacity_up_to_the_max(
    db: Database, factory: Factory
) -> None:
    program = await factory.program(matching={"max_mentor_capacity": 3})
    actor = await actor_for(db, await factory.employee())
    enrollment = await _try_enroll(db, actor, program, **_mentor(capacity=3))
    assert (await reload(db, Enrollment, enrollment.id)).capacity == 3


# --- eligibility -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [
        ProgramStatus.MATCHING,
        ProgramStatus.ACTIVE,
        ProgramStatus.COMPLETED,
        ProgramStatus.ARCHIVED,
    ],
)
async def test_only_enrolling_programs_take_enrollments(
    db: Database, factory: Factory, status: ProgramStatus
) -> None:
    program = await factory.program(status=status)
    actor = await actor_for(db, await factory.employee())
    with pytest.raises(RuleViolation) as info:
        await _try_enroll(db, actor, program, **_mentee())
    assert info.value.rule == "program_enrolling"
    assert await _stored_count(db, program.id) == 0


async def test_a_draft_is_not_found_by_a_participant(db: Database, factory: Factory) -> None:
    program = await factory.program(status=ProgramStatus.DRAFT)
    actor = await actor_for(db, await factory.employee())
    with pytest.raises(NotFound):
        await _try_enroll(db, actor, program, **_mentee())


@pytest.mark.parametrize("accepted", [1, 3], ids=["outdated", "future"])
async def test_consent_must_be_to_the_current_ground_rules(
    db: Database, factory: Factory, accepted: int
) -> None:
    program = await _new_rules(db, await factory.program())  # now version 2
    actor = await actor_for(db, await factory.employee())
    with pytest.raises(RuleViolation) as info:
        await _try_enroll(db, actor, program, accepted_ground_rules_version=accepted, **_mentee())
    assert info.value.rule == "ground_rules_current_version"
    assert info.value.field == "accepted_ground_rules_version"
    assert await _stored_count(db, program.id) == 0


@pytest.mark.parametrize(
    ("fields", "rule", "field"),
    [
        ({"role": "mentor"}, "mentor_topics_required", "can_teach"),
        ({"role": "mentor", "wants_to_learn": ["x"]}, "mentor_topics_required", "can_teach"),
        ({"role": "mentee"}, "mentee_topics_required", "wants_to_learn"),
        ({"role": "mentee", "can_teach": ["x"]}, "mentee_topics_required", "wants_to_learn"),
        (_mentor(capacity=4), "capacity_above_program_max", "capacity"),
        (_mentee(capacity=1), "capacity_mentors_only", "capacity"),
    ],
)
async def test_eligibility_rules(
    db: Database, factory: Factory, fields: dict[str, Any], rule: str, field: str
) -> None:
    program = await factory.program(matching={"max_mentor_capacity": 3})
    actor = await actor_for(db, await factory.employee())
    with pytest.raises(RuleViolation) as info:
        await _try_enroll(db, actor, program, **fields)
    assert (info.value.rule, info.value.field) == (rule, field)
    assert await _stored_count(db, program.id) == 0


async def test_the_default_capacity_may_equal_the_max(db: Database, factory: Factory) -> None:
    program = await factory.program(
        matching={"default_mentor_capacity": 3, "max_mentor_capacity": 3}
    )
    actor = await actor_for(db, await factory.employee())
    enrollment = await _try_enroll(db, actor, program, **_mentor())
    assert enrollment.capacity == 3


async def test_program_managers_cannot_take_part(db: Database, factory: Factory) -> None:
    pm = await factory.employee()
    program = await factory.program(managers=[pm])
    other = await factory.program()
    actor = await actor_for(db, pm)
    with pytest.raises(RuleViolation) as info:
        await _try_enroll(db, actor, program, **_mentor())
    assert info.value.rule == "managers_not_participants"
    # They may still join a program they do not manage.
    await _try_enroll(db, actor, other, **_mentor())


async def test_enrolling_twice_is_a_conflict(db: Database, factory: Factory) -> None:
    program = await factory.program()
    actor = await actor_for(db, await factory.employee())
    first = await _try_enroll(db, actor, program, **_mentee())
    for again in (_mentee(), _mentor()):
        with pytest.raises(Conflict) as info:
            await _try_enroll(db, actor, program, **again)
        assert info.value.rule == "already_enrolled"
        assert info.value.extra["enrollment_id"] == str(first.id)
    stored = await reload(db, Enrollment, first.id)
    assert (stored.role, stored.version) == ("mentee", 1)


@pytest.mark.parametrize(
    "actor", [SYSTEM, service(Scope.READ), service(*Scope)], ids=["system", "read", "all"]
)
async def test_only_a_person_can_enroll(db: Database, factory: Factory, actor: Actor) -> None:
    program = await factory.program()
    with pytest.raises(Forbidden) as info:
        await _try_enroll(db, actor, program, **_mentee())
    assert info.value.rule == "person_only"
    assert await _stored_count(db, program.id) == 0


async def test_an_inactive_employee_cannot_enroll(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    actor = await actor_for(db, employee)  # a session built before the deactivation
    async with db.session() as session:
        await employees.deactivate_employee(session, SYSTEM, employee.id, expected_version=None)
        await session.commit()
    program = await factory.program()
    with pytest.raises(RuleViolation) as info:
        await _try_enroll(db, actor, program, **_mentee())
    assert info.value.rule == "employee_active"


async def test_re_enrolling_after_withdrawal_reuses_the_record(
    db: Database, factory: Factory
) -> None:
    program = await factory.program()
    actor = await actor_for(db, await factory.employee())
    first = await _try_enroll(db, actor, program, **_mentee())
    await _withdraw(db, actor, first.id, reason="Busy quarter")
    program = await _new_rules(db, program)

    again = await _try_enroll(db, actor, program, **_mentor(capacity=2))
    assert again.id == first.id
    stored = await reload(db, Enrollment, first.id)
    assert (stored.role, stored.status) == ("mentor", "active")
    assert stored.consent_version == 2
    assert stored.consent_at > first.consent_at
    assert stored.withdrawn_at is None
    assert stored.withdrawal_reason is None
    assert stored.wants_to_learn == []
    assert stored.capacity == 2
    assert stored.version == 3
    assert [e.action for e in await audit_trail(db, first.id)] == [
        "enrollment.created",
        "enrollment.withdrawn",
        "enrollment.created",
    ]


# --- changes ---------------------------------------------------------------------------------


async def test_the_participant_updates_their_enrollment(db: Database, factory: Factory) -> None:
    program = await factory.program(matching={"max_mentor_capacity": 3})
    employee = await factory.employee()
    actor = await actor_for(db, employee, request_id="req-1")
    enrollment = await enroll(db, employee, program, role="mentor")
    await _change(
        db,
        actor,
        enrollment.id,
        expected_version=1,
        can_teach=["Teams", "teams", "Notion"],
        capacity=3,
        availability=[{"day": "fri", "start": "08:00", "end": "09:00"}],
    )
    stored = await reload(db, Enrollment, enrollment.id)
    assert stored.can_teach == ["Teams", "Notion"]
    assert stored.capacity == 3
    assert stored.availability == [{"day": "fri", "start": "08:00:00", "end": "09:00:00"}]
    assert stored.motivation == enrollment.motivation
    assert stored.consent_version == 1
    assert stored.version == 2
    event = (await audit_trail(db, enrollment.id))[-1]
    assert event.action == "enrollment.updated"
    assert {"can_teach", "capacity", "availability"} <= set(event.details["fields"])
    assert event.request_id == "req-1"


async def test_update_with_a_stale_version(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    enrollment = await enroll(db, employee, await factory.program())
    actor = await actor_for(db, employee)
    await _change(db, actor, enrollment.id, motivation="one", expected_version=1)
    with pytest.raises(PreconditionFailed) as info:
        await _change(db, actor, enrollment.id, motivation="two", expected_version=1)
    assert info.value.extra == {"current_version": 2}


@pytest.mark.parametrize(
    ("role", "fields", "rule", "field"),
    [
        ("mentor", {"can_teach": []}, "mentor_topics_required", "can_teach"),
        ("mentee", {"wants_to_learn": []}, "mentee_topics_required", "wants_to_learn"),
        ("mentee", {"capacity": 2}, "capacity_mentors_only", "capacity"),
        ("mentor", {"capacity": 9}, "capacity_above_program_max", "capacity"),
        ("mentor", {"can_teach": None}, "required", "can_teach"),
        ("mentor", {"motivation": None}, "required", "motivation"),
    ],
)
async def test_updates_obey_the_enrollment_rules(
    db: Database,
    factory: Factory,
    role: str,
    fields: dict[str, Any],
    rule: str,
    field: str,
) -> None:
    employee = await factory.employee()
    enrollment = await enroll(db, employee, await factory.program(), role=role)
    actor = await actor_for(db, employee)
    with pytest.raises(RuleViolation) as info:
        await _change(db, actor, enrollment.id, **fields)
    assert (info.value.rule, info.value.field) == (rule, field)
    assert (await reload(db, Enrollment, enrollment.id)).version == 1


async def test_only_the_owner_updates(db: Database, factory: Factory) -> None:
    pm = await factory.employee()
    program = await factory.program(managers=[pm])
    owner = await factory.employee()
    enrollment = await enroll(db, owner, program)
    manager = await actor_for(db, pm)
    with pytest.raises(Forbidden) as info:
        await _change(db, manager, enrollment.id, motivation="PM edit")
    assert info.value.rule == "owner_only"
    with pytest.raises(Forbidden):
        await _change(db, SYSTEM, enrollment.id, motivation="Admin edit")
    stranger = await actor_for(db, await factory.employee())
    with pytest.raises(NotFound):  # another participant does not even see it
        await _change(db, stranger, enrollment.id, motivation="Stranger edit")
    assert (await reload(db, Enrollment, enrollment.id)).motivation == ""


async def test_re_consent_after_the_ground_rules_change(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    program = await factory.program()
    enrollment = await enroll(db, employee, program)
    await _new_rules(db, program)
    actor = await actor_for(db, employee)

    with pytest.raises(RuleViolation) as info:
        await _change(db, actor, enrollment.id, accepted_ground_rules_version=1)
    assert info.value.rule == "ground_rules_current_version"
    assert (await reload(db, Enrollment, enrollment.id)).consent_version == 1

    await _change(db, actor, enrollment.id, accepted_ground_rules_version=2)
    stored = await reload(db, Enrollment, enrollment.id)
    assert stored.consent_version == 2
    assert stored.consent_at > enrollment.consent_at


async def test_a_withdrawn_enrollment_cannot_change(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    enrollment = await enroll(db, employee, await factory.program())
    actor = await actor_for(db, employee)
    await _withdraw(db, actor, enrollment.id)
    with pytest.raises(Conflict) as info:
        await _change(db, actor, enrollment.id, motivation="Back?")
    assert info.value.rule == "enrollment_active"
    assert info.value.extra["current_status"] == "withdrawn"


@pytest.mark.parametrize("status", [ProgramStatus.COMPLETED, ProgramStatus.ARCHIVED])
async def test_enrollments_freeze_when_the_program_ends(
    db: Database, factory: Factory, status: ProgramStatus
) -> None:
    employee = await factory.employee()
    program = await factory.program()
    enrollment = await enroll(db, employee, program)
    path = {
        ProgramStatus.COMPLETED: [ProgramStatus.MATCHING, ProgramStatus.ACTIVE, status],
        ProgramStatus.ARCHIVED: [
            ProgramStatus.MATCHING,
            ProgramStatus.ACTIVE,
            ProgramStatus.COMPLETED,
            status,
        ],
    }[status]
    async with db.session() as session:
        for step in path:
            await programs.transition_program(
                session, SYSTEM, program.id, to=step, expected_version=None
            )
        await session.commit()
    actor = await actor_for(db, employee)
    with pytest.raises(Conflict) as info:
        await _change(db, actor, enrollment.id, motivation="Late")
    assert info.value.rule == "program_open"
    assert info.value.extra["current_status"] == status.value


# --- withdrawal ------------------------------------------------------------------------------


async def test_the_participant_withdraws(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    enrollment = await enroll(db, employee, await factory.program())
    actor = await actor_for(db, employee, request_id="req-1")
    await _withdraw(db, actor, enrollment.id, reason="New role", expected_version=1)
    stored = await reload(db, Enrollment, enrollment.id)
    assert stored.status == "withdrawn"
    assert stored.withdrawn_at is not None
    assert stored.withdrawal_reason == "New role"
    assert stored.version == 2
    event = (await audit_trail(db, enrollment.id))[-1]
    assert event.action == "enrollment.withdrawn"
    assert event.details["by_participant"] is True
    assert (event.actor_employee_id, event.request_id) == (employee.id, "req-1")


async def test_the_program_manager_withdraws_a_participant(db: Database, factory: Factory) -> None:
    pm = await factory.employee()
    program = await factory.program(managers=[pm])
    enrollment = await enroll(db, await factory.employee(), program)
    await _withdraw(db, await actor_for(db, pm), enrollment.id, reason="Left the company")
    stored = await reload(db, Enrollment, enrollment.id)
    assert (stored.status, stored.withdrawal_reason) == ("withdrawn", "Left the company")
    event = (await audit_trail(db, enrollment.id))[-1]
    assert event.details["by_participant"] is False
    assert event.actor_employee_id == pm.id


async def test_others_cannot_withdraw_someone(db: Database, factory: Factory) -> None:
    program = await factory.program()
    mentee = await factory.employee()
    enrollment = await enroll(db, mentee, program)
    fellow = await factory.employee()
    await enroll(db, fellow, program, role="mentor")
    other_pm = await factory.employee()
    await factory.program(managers=[other_pm])

    fellow_actor = await actor_for(db, fellow)
    other_pm_actor = await actor_for(db, other_pm)
    with pytest.raises(NotFound):  # a fellow participant cannot see it
        await _withdraw(db, fellow_actor, enrollment.id)
    with pytest.raises(NotFound):  # neither can the manager of another program
        await _withdraw(db, other_pm_actor, enrollment.id)
    with pytest.raises(Forbidden) as info:  # a reader sees it but may not change it
        await _withdraw(db, service(Scope.READ), enrollment.id)
    assert info.value.rule == "owner_or_manager"
    assert (await reload(db, Enrollment, enrollment.id)).status == "active"


async def test_withdrawing_twice_is_a_conflict(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    enrollment = await enroll(db, employee, await factory.program())
    actor = await actor_for(db, employee)
    await _withdraw(db, actor, enrollment.id, reason="first")
    with pytest.raises(Conflict) as info:
        await _withdraw(db, actor, enrollment.id, reason="second")
    assert info.value.rule == "enrollment_active"
    assert info.value.extra["current_status"] == "withdrawn"
    stored = await reload(db, Enrollment, enrollment.id)
    assert (stored.withdrawal_reason, stored.version) == ("first", 2)


# --- lists and visibility --------------------------------------------------------------------


async def _listed(db: Database, actor: Actor, program: Program, **filters: Any) -> set[uuid.UUID]:
    async with db.session() as session:
        page = await enrollments.list_enrollments(
            session, actor, program_id=program.id, limit=100, **filters
        )
    return {e.id for e in page.items}


async def test_list_filters_and_visibility(db: Database, factory: Factory) -> None:
    pm = await factory.employee()
    program = await factory.program(managers=[pm])
    other_pm = await factory.employee()
    await factory.program(managers=[other_pm])
    people: list[Employee] = [await factory.employee() for _ in range(4)]
    mentor1 = await enroll(db, people[0], program, role="mentor")
    mentor2 = await enroll(db, people[1], program, role="mentor")
    mentee1 = await enroll(db, people[2], program, role="mentee")
    mentee2 = await enroll(db, people[3], program, role="mentee")
    await _withdraw(db, await actor_for(db, people[3]), mentee2.id)
    everyone = {mentor1.id, mentor2.id, mentee1.id, mentee2.id}

    assert await _listed(db, SYSTEM, program) == everyone
    assert await _listed(db, SYSTEM, program, role=EnrollmentRole.MENTOR) == {
        mentor1.id,
        mentor2.id,
    }
    assert await _listed(db, SYSTEM, program, status=EnrollmentStatus.WITHDRAWN) == {mentee2.id}
    assert await _listed(
        db, SYSTEM, program, role=EnrollmentRole.MENTEE, status=EnrollmentStatus.ACTIVE
    ) == {mentee1.id}
    assert await _listed(db, SYSTEM, program, employee_id=people[1].id) == {mentor2.id}

    assert await _listed(db, await actor_for(db, pm), program) == everyone
    assert await _listed(db, await actor_for(db, other_pm), program) == set()
    assert await _listed(db, await actor_for(db, people[0]), program) == {mentor1.id}
    assert await _listed(db, service(Scope.READ), program) == everyone

    async with db.session() as session:
        participant = await actor_for(db, people[0])
        with pytest.raises(NotFound):
            await enrollments.get_enrollment(session, participant, mentee1.id)
        own = await enrollments.get_enrollment(session, participant, mentor1.id)
        assert own.id == mentor1.id


async def test_listing_a_hidden_program_is_not_found(db: Database, factory: Factory) -> None:
    draft = await factory.program(status=ProgramStatus.DRAFT)
    actor = await actor_for(db, await factory.employee())
    async with db.session() as session:
        with pytest.raises(NotFound):
            await enrollments.list_enrollments(session, actor, program_id=draft.id)
        with pytest.raises(NotFound):
            await enrollments.list_enrollments(
                session, service(Scope.HRIS_WRITE), program_id=draft.id
            )
