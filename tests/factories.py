"""Factories that build realistic records through the domain services (as the system)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.db.engine import Database
from app.db.models import Employee, Enrollment, Pairing, Program
from app.db.types import utcnow
from app.domain import employees, enrollments, pairings, programs, tokens
from app.domain.actors import Actor, Scope
from app.domain.programs import ProgramStatus

_counter = itertools.count(1)
SYSTEM = Actor.system()


@dataclass
class Person:
    employee: Employee
    token: str

    @property
    def id(self) -> uuid.UUID:
        return self.employee.id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Service:
    token: str
    scopes: list[str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Paired:
    """A live pairing with everyone around it: its program's manager and its two members."""

    program: Program
    manager: Person
    mentor: Person
    mentee: Person
    pairing: Pairing

    @property
    def id(self) -> uuid.UUID:
        return self.pairing.id


class Factory:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def employee(self, **overrides: Any) -> Employee:
        n = next(_counter)
        data: dict[str, Any] = {
            "email": f"person{n}@example.com",
            "given_name": f"Given{n}",
            "family_name": f"Family{n}",
            "job_level": 3,
            "department": "Engineering",
            "time_zone": "Europe/Berlin",
        }
        data.update(overrides)
        async with self.db.session() as session:
            employee = await employees.create_employee(
                session, SYSTEM, data=employees.EmployeeCreate(**data)
            )
            await session.commit()
            return employee

    async def token_for(self, employee: Employee) -> str:
        async with self.db.session() as session:
            _, value = await tokens.create_token(
                session,
                SYSTEM,
                data=tokens.TokenCreate(name="test", employee_id=employee.id),
                default_ttl_days=30,
            )
            await session.commit()
            return value

    async def person(self, **overrides: Any) -> Person:
        employee = await self.employee(**overrides)
        return Person(employee=employee, token=await self.token_for(employee))

    async def admin(self, **overrides: Any) -> Person:
        return await self.person(is_admin=True, **overrides)

    async def service(self, *scopes: str, name: str = "hris-job") -> Service:
        async with self.db.session() as session:
            _, value = await tokens.create_token(
                session,
                SYSTEM,
                data=tokens.TokenCreate(name=name, service=name, scopes=[Scope(s) for s in scopes]),
                default_ttl_days=30,
            )
            await session.commit()
            return Service(token=value, scopes=list(scopes))

    async def program(
        self,
        *,
        status: ProgramStatus = ProgramStatus.ENROLLING,
        managers: list[Employee] | None = None,
        **overrides: Any,
    ) -> Program:
        data: dict[str, Any] = {
            "name": f"Program {next(_counter)}",
            "focus_areas": ["technology_adoption", "AI tools"],
            "ground_rules": "Meet every two weeks. What is said stays between you.",
            "manager_ids": [m.id for m in managers or []],
        }
        data.update(overrides)
        path = {
            ProgramStatus.DRAFT: [],
            ProgramStatus.ENROLLING: [ProgramStatus.ENROLLING],
            ProgramStatus.MATCHING: [ProgramStatus.ENROLLING, ProgramStatus.MATCHING],
            ProgramStatus.ACTIVE: [
                ProgramStatus.ENROLLING,
                ProgramStatus.MATCHING,
                ProgramStatus.ACTIVE,
            ],
            ProgramStatus.COMPLETED: [
                ProgramStatus.ENROLLING,
                ProgramStatus.MATCHING,
                ProgramStatus.ACTIVE,
                ProgramStatus.COMPLETED,
            ],
            ProgramStatus.ARCHIVED: [ProgramStatus.ARCHIVED],
        }[status]
        async with self.db.session() as session:
            program = await programs.create_program(
                session, SYSTEM, data=programs.ProgramCreate(**data)
            )
            for step in path:
                program = await programs.transition_program(
                    session, SYSTEM, program.id, to=step, expected_version=None
                )
            await session.commit()
            return program

    async def enrollment(
        self,
        person: Person | Employee,
        program: Program,
        *,
        role: str = "mentee",
        **overrides: Any,
    ) -> Enrollment:
        """The person enrolls themself (consent is personal) with sensible defaults."""
        employee = person.employee if isinstance(person, Person) else person
        from app.domain.tokens import person_actor

        data: dict[str, Any] = {
            "role": role,
            "accepted_ground_rules_version": program.ground_rules_version,
            "can_teach": ["AI tools", "Slack"] if role == "mentor" else [],
            "wants_to_learn": ["AI tools"] if role == "mentee" else [],
            "availability": [{"day": "tue", "start": "09:00", "end": "11:00"}],
        }
        data.update(overrides)
        async with self.db.session() as session:
            actor = await person_actor(session, employee)
            enrollment = await enrollments.enroll(
                session,
                actor,
                program_id=program.id,
                data=enrollments.EnrollmentCreate(**data),
            )
            await session.commit()
            return enrollment

    async def paired(
        self,
        *,
        program: Program | None = None,
        manager: Person | None = None,
        state: str = "active",
        activated_days_ago: int = 0,
        mentor: Person | None = None,
        mentee: Person | None = None,
        **program_overrides: Any,
    ) -> Paired:
        """A pairing of a junior mentor and a senior mentee, accepted by both (``state``
        ``active``), only proposed (``proposed``), or then ``paused``/``completed``/``ended``.
        ``activated_days_ago`` moves its start into the past."""
        if program is None:
            manager = manager or await self.person(job_level=8, department="People")
            program = await self.program(managers=[manager.employee], **program_overrides)
        assert manager is not None, "give the program's manager with the program"
        mentor = mentor or await self.person(job_level=2, department="Engineering")
        mentee = mentee or await self.person(job_level=9, department="Finance")
        status = program.status
        if status != ProgramStatus.ENROLLING:
            # Reusing a program past enrolment: reopen it for these two only (tests only).
            await self._set_program_status(program.id, ProgramStatus.ENROLLING)
        mentor_enrollment = await self.enrollment(mentor, program, role="mentor")
        mentee_enrollment = await self.enrollment(mentee, program, role="mentee")
        if status == ProgramStatus.ENROLLING:
            async with self.db.session() as session:
                program = await programs.transition_program(
                    session, SYSTEM, program.id, to=ProgramStatus.MATCHING, expected_version=None
                )
                await session.commit()
        else:
            await self._set_program_status(program.id, ProgramStatus(status))
        async with self.db.session() as session:
            pairing = await pairings.pair_manually(
                session,
                SYSTEM,
                data=pairings.ManualPairingCreate(
                    program_id=program.id,
                    mentor_enrollment_id=mentor_enrollment.id,
                    mentee_enrollment_id=mentee_enrollment.id,
                    justification="Paired by the test factory",
                ),
            )
            if state != "proposed":
                for member in (mentor, mentee):
                    actor = await tokens.person_actor(session, member.employee)
                    pairing = await pairings.accept_pairing(
                        session, actor, pairing.id, expected_version=None
                    )
                if activated_days_ago:
                    assert pairing.activated_at is not None
                    pairing.activated_at = utcnow() - timedelta(days=activated_days_ago)
            if state == "paused":
                pairing = await pairings.pause_pairing(
                    session, SYSTEM, pairing.id, expected_version=None
                )
            elif state == "completed":
                pairing = await pairings.complete_pairing(
                    session, SYSTEM, pairing.id, expected_version=None
                )
            elif state == "ended":
                pairing = await pairings.end_pairing(
                    session,
                    SYSTEM,
                    pairing.id,
                    data=pairings.EndIn(reason=pairings.EndReason.SCHEDULE),
                    expected_version=None,
                )
            await session.commit()
        return Paired(
            program=program, manager=manager, mentor=mentor, mentee=mentee, pairing=pairing
        )

    async def _set_program_status(self, program_id: uuid.UUID, status: ProgramStatus) -> None:
        async with self.db.session() as session:
            program = await session.get(Program, program_id)
            assert program is not None
            program.status = status.value
            await session.commit()
