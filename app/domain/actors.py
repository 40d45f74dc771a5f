"""Who is acting: one ``Actor`` type for every adapter (REST, GraphQL, SCIM, CLI)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from app.domain.errors import Forbidden


class ActorKind(StrEnum):
    PERSON = "person"
    SERVICE = "service"
    SYSTEM = "system"


class Scope(StrEnum):
    """What a service client's token may do."""

    READ = "read"
    EMPLOYEES_WRITE = "employees:write"
    AUDIT_READ = "audit:read"
    HRIS_WRITE = "hris:write"
    SCIM = "scim"


@dataclass(frozen=True)
class Actor:
    """An authenticated caller.

    A person is always a participant (an employee); they may also be an admin and manage some
    programs. A service client acts only through its scopes. The system actor is the CLI and
    scheduled work.
    """

    kind: ActorKind
    employee_id: uuid.UUID | None = None
    is_admin: bool = False
    managed_program_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    service_name: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: uuid.UUID | None = None
    request_id: str | None = None

    @classmethod
    def system(cls, *, request_id: str | None = None) -> Actor:
        return cls(
            kind=ActorKind.SYSTEM, is_admin=True, service_name="system", request_id=request_id
        )

    @property
    def is_person(self) -> bool:
        return self.kind is ActorKind.PERSON

    @property
    def role(self) -> str:
        """The broadest role, for display: admin, program_manager, participant or service."""
        if self.is_admin:
            return "admin"
        if self.kind is ActorKind.SERVICE:
            return "service"
        if self.managed_program_ids:
            return "program_manager"
        return "participant"

    def has_scope(self, scope: Scope) -> bool:
        return self.is_admin or (self.kind is ActorKind.SERVICE and scope.value in self.scopes)

    def manages(self, program_id: uuid.UUID) -> bool:
        return self.is_admin or program_id in self.managed_program_ids

    def is_employee(self, employee_id: uuid.UUID) -> bool:
        return self.employee_id is not None and self.employee_id == employee_id

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise Forbidden(f"only admins may {what}", rule="admin_only")

    def require_scope(self, scope: Scope, what: str) -> None:
        if not self.has_scope(scope):
            raise Forbidden(f"{what} requires an admin or the '{scope.value}' scope", rule="scope")

    def require_person(self, what: str) -> uuid.UUID:
        if self.employee_id is None:
            raise Forbidden(f"only a signed-in employee may {what}", rule="person_only")
        return self.employee_id
