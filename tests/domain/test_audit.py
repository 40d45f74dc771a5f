"""The audit log: every write leaves an entry; reading it is for admins and ``audit:read``."""

from __future__ import annotations

import uuid

import pytest

from app.db.engine import Database
from app.db.models import AuditEvent
from app.domain import audit, employees, enrollments, programs, tokens
from app.domain.actors import Actor, Scope
from app.domain.employees import EmployeeCreate, EmployeeUpdate
from app.domain.enrollments import EnrollmentCreate, EnrollmentUpdate
from app.domain.errors import Forbidden
from app.domain.programs import ProgramCreate, ProgramStatus, ProgramUpdate
from app.domain.tokens import TokenCreate
from tests.domain.support import actor_for, audit_trail, service
from tests.factories import Factory

REQUEST = "req-1"


def _check(event: AuditEvent, action: str, entity_type: str, actor: Actor) -> None:
    assert event.action == action
    assert event.entity_type == entity_type
    assert event.actor_kind == actor.kind.value
    assert event.actor_employee_id == actor.employee_id
    assert event.actor_service == actor.service_name
    assert event.request_id == REQUEST
    assert event.occurred_at is not None


async def test_every_write_is_audited(db: Database, factory: Factory) -> None:
    admin_row = await factory.employee(is_admin=True)
    admin = await actor_for(db, admin_row, request_id=REQUEST)
    hris = service(Scope.EMPLOYEES_WRITE, name="workday", request_id=REQUEST)

    # Employees: created by a service, updated and deactivated by an admin.
    async with db.session() as session:
        person = await employees.create_employee(
            session,
            hris,
            data=EmployeeCreate(
                email="junior@example.com", given_name="Jo", family_name="Junior", job_level=2
            ),
        )
        await session.commit()
    async with db.session() as session:
        await employees.update_employee(
            session,
            admin,
            person.id,
            data=EmployeeUpdate(job_title="Analyst"),
            expected_version=None,
        )
        await session.commit()

    # A program: created, changed, opened.
    async with db.session() as session:
        program = await programs.create_program(
            session,
            admin,
            data=ProgramCreate(
                name="Reverse mentoring 2025",
                focus_areas=["technology_adoption"],
                ground_rules="Be kind.",
            ),
        )
        await programs.update_program(
            session,
            admin,
            program.id,
            data=ProgramUpdate(description="For everyone"),
            expected_version=None,
        )
        await programs.transition_program(
            session, admin, program.id, to=ProgramStatus.ENROLLING, expected_version=None
        )
        await session.commit()

    # An enrollment: joined, changed and withdrawn by the participant.
    participant = await actor_for(db, person, request_id=REQUEST)
    async with db.session() as session:
        enrollment = await enrollments.enroll(
            session,
            participant,
            program_id=program.id,
            data=EnrollmentCreate(role="mentor", accepted_ground_rules_version=1, can_teach=["AI"]),
        )
        await enrollments.update_enrollment(
            session,
            participant,
            enrollment.id,
            data=EnrollmentUpdate(motivation="Keen"),
            expected_version=None,
        )
        await enrollments.withdraw_enrollment(
            session, participant, enrollment.id, reason="Busy", expected_version=None
        )
        await session.commit()

    # A token: issued and revoked.
    async with db.session() as session:
        token, _ = await tokens.create_token(
            session, admin, data=TokenCreate(name="t", employee_id=person.id), default_ttl_days=1
        )
        await tokens.revoke_token(session, admin, token.id)
        await session.commit()

    async with db.session() as session:
        await employees.deactivate_employee(session, admin, person.id, expected_version=None)
        await session.commit()

    person_events = await audit_trail(db, person.id)
    _check(person_events[0], "employee.created", "employee", hris)
    assert person_events[0].actor_service == "workday"
    assert person_events[0].details == {"email": "junior@example.com"}
    _check(person_events[1], "employee.updated", "employee", admin)
    assert person_events[1].details["changes"]["job_title"] == [None, "Analyst"]
    _check(person_events[2], "employee.deactivated", "employee", admin)
    assert len(person_events) == 3

    program_events = await audit_trail(db, program.id)
    for event, action in zip(
        program_events,
        ["program.created", "program.updated", "program.status_changed"],
        strict=True,
    ):
        _check(event, action, "program", admin)
        assert event.entity_id == program.id
    assert program_events[2].details == {"from": "draft", "to": "enrolling"}

    enrollment_events = await audit_trail(db, enrollment.id)
    for event, action in zip(
        enrollment_events,
        ["enrollment.created", "enrollment.updated", "enrollment.withdrawn"],
        strict=True,
    ):
        _check(event, action, "enrollment", participant)

    token_events = await audit_trail(db, token.id)
    for event, action in zip(token_events, ["token.created", "token.revoked"], strict=True):
        _check(event, action, "api_token", admin)


async def test_a_refused_write_leaves_no_entry(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    actor = await actor_for(db, employee, request_id=REQUEST)
    async with db.session() as session:
        with pytest.raises(Forbidden):
            await employees.update_employee(
                session,
                actor,
                employee.id,
                data=EmployeeUpdate(job_title="CEO"),
                expected_version=None,
            )
        await session.commit()
    assert [e.action for e in await audit_trail(db, employee.id)] == ["employee.created"]


async def test_list_is_newest_first_and_filters(db: Database, factory: Factory) -> None:
    first = await factory.employee()
    second = await factory.employee()
    program = await factory.program(status=ProgramStatus.DRAFT)
    async with db.session() as session:
        page = await audit.list_audit_events(session, service(Scope.AUDIT_READ), limit=100)
        by_entity = await audit.list_audit_events(
            session, service(Scope.AUDIT_READ), entity_type="employee", entity_id=first.id
        )
        by_type = await audit.list_audit_events(
            session, service(Scope.AUDIT_READ), entity_type="program"
        )
        by_action = await audit.list_audit_events(
            session, service(Scope.AUDIT_READ), action="employee.created"
        )
    assert [(e.action, e.entity_id) for e in page.items] == [
        ("program.created", program.id),
        ("employee.created", second.id),
        ("employee.created", first.id),
    ]
    assert [e.entity_id for e in by_entity.items] == [first.id]
    assert [e.entity_id for e in by_type.items] == [program.id]
    assert [e.entity_id for e in by_action.items] == [second.id, first.id]


async def test_newest_first_holds_for_entries_written_together(db: Database) -> None:
    # One request often writes several entries within the same millisecond (deactivating an
    # employee withdraws each of their enrollments); the log must still list them newest first.
    system = Actor.system()
    async with db.session() as session:
        written = [
            audit.record(
                session, system, action="test.event", entity_type="test", entity_id=uuid.uuid4()
            ).entity_id
            for _ in range(50)
        ]
        await session.commit()
    seen: list[uuid.UUID] = []
    stamps = []
    cursor: str | None = None
    while True:
        async with db.session() as session:
            page = await audit.list_audit_events(session, system, limit=20, cursor=cursor)
        seen.extend(e.entity_id for e in page.items)
        stamps.extend(e.occurred_at for e in page.items)
        if (cursor := page.next_cursor) is None:
            break
    assert len(seen) == len(set(seen)) == 50
    assert stamps == sorted(stamps, reverse=True)
    assert seen == list(reversed(written))


@pytest.mark.parametrize("who", ["participant", "program_manager", "read", "writer"])
async def test_others_may_not_read_the_log(db: Database, factory: Factory, who: str) -> None:
    employee = await factory.employee()
    if who == "program_manager":
        await factory.program(managers=[employee])
    if who == "read":
        actor = service(Scope.READ)
    elif who == "writer":
        actor = service(Scope.EMPLOYEES_WRITE, Scope.HRIS_WRITE, Scope.SCIM)
    else:
        actor = await actor_for(db, employee)
    async with db.session() as session:
        with pytest.raises(Forbidden) as info:
            await audit.list_audit_events(session, actor)
    assert info.value.rule == "scope"


async def test_admins_and_auditors_read_the_log(db: Database, factory: Factory) -> None:
    admin = await actor_for(db, await factory.employee(is_admin=True))
    async with db.session() as session:
        for actor in (admin, service(Scope.AUDIT_READ), Actor.system()):
            page = await audit.list_audit_events(session, actor)
            assert [e.action for e in page.items] == ["employee.created"]
