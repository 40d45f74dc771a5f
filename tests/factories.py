"""Factories that build realistic records through the domain services (as the system)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from app.db.engine import Database
from app.db.models import Employee, Enrollment, Program
from app.domain import employees, enrollments, programs, tokens
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
