"""Who a token from the company's identity provider stands for.

A token naming a person (``sub`` other than the client) is linked to their employee record by a
configurable claim — the e-mail by default, or an employee-id claim matched against the external
id or employee number. Admin rights come from Revmentor's own record or from the provider's
groups; program management from Revmentor's assignments or from groups naming a program. A
client-credentials token (no person) is a service client holding the token's scopes that
Revmentor knows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Employee
from app.domain.actors import Actor, ActorKind, Scope
from app.domain.errors import Forbidden, Unauthenticated
from app.domain.tokens import person_actor

KNOWN_SCOPES = frozenset(s.value for s in Scope)


@dataclass(frozen=True)
class ClaimMapping:
    """How the provider's claims map to Revmentor's people and rights."""

    employee_claim: str = "email"
    employee_field: str = "email"  # email, external_id or employee_number
    groups_claim: str = "groups"
    admin_groups: frozenset[str] = frozenset()
    #: Groups named ``<prefix><program id>`` make their members managers of that program.
    program_manager_prefix: str | None = None
    scope_claims: tuple[str, ...] = ("scope", "scp", "roles")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, Iterable):
        return [str(v) for v in value if isinstance(v, str | int)]
    return []


def is_client_token(claims: Mapping[str, Any]) -> bool:
    """A client-credentials token: no person, only the client (``sub`` absent or the client)."""
    client = claims.get("client_id") or claims.get("azp")
    subject = claims.get("sub")
    return subject is None or (client is not None and subject == client)


async def _employee(session: AsyncSession, field: str, value: str) -> Employee | None:
    column = {
        "email": col(Employee.email_key),
        "external_id": col(Employee.external_id),
        "employee_number": col(Employee.employee_number),
    }[field]
    wanted = value.strip().lower() if field == "email" else value.strip()
    return (await session.execute(select(Employee).where(column == wanted))).scalar_one_or_none()


async def actor_for_claims(
    session: AsyncSession,
    claims: Mapping[str, Any],
    mapping: ClaimMapping,
    *,
    request_id: str | None = None,
) -> Actor:
    """The actor a verified token stands for (403 for a person Revmentor does not know)."""
    if is_client_token(claims):
        client = str(claims.get("client_id") or claims.get("azp") or claims.get("sub") or "")
        if not client:
            raise Unauthenticated(
                "the token names neither a person nor a client", rule="token_subject"
            )
        granted: set[str] = set()
        for name in mapping.scope_claims:
            granted.update(_strings(claims.get(name)))
        return Actor(
            kind=ActorKind.SERVICE,
            service_name=client,
            scopes=frozenset(granted & KNOWN_SCOPES),
            request_id=request_id,
        )
    value = claims.get(mapping.employee_claim)
    if not isinstance(value, str) or not value.strip():
        raise Forbidden(
            f"the token has no '{mapping.employee_claim}' claim to find your employee record by",
            rule="unknown_employee",
        )
    employee = await _employee(session, mapping.employee_field, value)
    if employee is None:
        raise Forbidden(
            "you are signed in, but no employee record matches you in Revmentor: ask HR to "
            "check the directory",
            rule="unknown_employee",
        )
    if not employee.active:
        raise Forbidden("your employee record is inactive", rule="inactive_employee")
    actor = await person_actor(session, employee, request_id=request_id)
    groups = set(_strings(claims.get(mapping.groups_claim)))
    if groups & mapping.admin_groups:
        actor = replace(actor, is_admin=True)
    managed = programs_of_groups(groups, mapping.program_manager_prefix)
    if managed:
        actor = replace(actor, managed_program_ids=actor.managed_program_ids | managed)
    return actor


def programs_of_groups(groups: Iterable[str], prefix: str | None) -> frozenset[uuid.UUID]:
    """The programs a person's groups make them a manager of (``<prefix><program id>``)."""
    if not prefix:
        return frozenset()
    found = set()
    for group in groups:
        if group.startswith(prefix):
            try:
                found.add(uuid.UUID(group.removeprefix(prefix)))
            except ValueError:
                continue  # not a program id: not a grant
    return frozenset(found)
