"""The audit log: who did what, when and from which request (admins and ``audit:read``
service clients, as ``GET /api/v1/audit-events``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from app.api.graphql.context import Info
from app.api.graphql.relay import (
    DEFAULT_FIRST,
    After,
    Connection,
    First,
    check_first,
    connection,
    node_uuid,
)
from app.db.models import AuditEvent as AuditEventRow
from app.db.pagination import key_cursor
from app.domain import audit as service
from app.domain.errors import InvalidInput

#: The node types of the entities the log names, so a client can follow an entry to its object.
NODE_TYPE_BY_ENTITY = {
    "check_in": "CheckIn",
    "concern": "Concern",
    "employee": "Employee",
    "enrollment": "Enrollment",
    "goal": "Goal",
    "matching_run": "MatchingRun",
    "pairing": "Pairing",
    "pairing_request": "PairingRequest",
    "program": "Program",
}


def _any_node_uuid(value: relay.GlobalID) -> uuid.UUID:
    """The database id inside a global id of any type (the log names many kinds of entity)."""
    try:
        return uuid.UUID(value.node_id)
    except ValueError as exc:
        raise InvalidInput("the id is not one this API issued", field="entity") from exc


@strawberry.type(description="One entry of the audit log.")
class AuditEvent:
    id: relay.GlobalID
    row: strawberry.Private[AuditEventRow]
    occurred_at: datetime
    actor_kind: str
    actor_service: str | None
    actor_token_id: uuid.UUID | None
    action: str
    entity_type: str
    request_id: str | None
    details: JSON

    @classmethod
    def of(cls, row: AuditEventRow) -> Self:
        return cls(
            id=relay.GlobalID("AuditEvent", str(row.id)),
            row=row,
            occurred_at=row.occurred_at,
            actor_kind=row.actor_kind,
            actor_service=row.actor_service,
            actor_token_id=row.actor_token_id,
            action=row.action,
            entity_type=row.entity_type,
            request_id=row.request_id,
            details=JSON(dict(row.details)),
        )

    @strawberry.field(description="The id REST uses for this entry.")
    def database_id(self) -> uuid.UUID:
        return self.row.id

    @strawberry.field
    def actor_employee_id(self) -> relay.GlobalID | None:
        found = self.row.actor_employee_id
        return None if found is None else relay.GlobalID("Employee", str(found))

    @strawberry.field(description="The entity's global id, when it is a node of this API.")
    def entity_id(self) -> relay.GlobalID | None:
        type_name = NODE_TYPE_BY_ENTITY.get(self.row.entity_type)
        return None if type_name is None else relay.GlobalID(type_name, str(self.row.entity_id))

    @strawberry.field(description="The entity's id as REST uses it.")
    def entity_database_id(self) -> uuid.UUID:
        return self.row.entity_id


@strawberry.type
class AuditQueries:
    @strawberry.field(
        description="Audit entries, newest first (admins and `audit:read` service clients)."
    )
    async def audit_events(
        self,
        info: Info,
        first: Annotated[int, First] = DEFAULT_FIRST,
        after: Annotated[str | None, After] = None,
        entity_type: str | None = None,
        entity: Annotated[
            relay.GlobalID | None,
            strawberry.argument(description="The global id of the entity (any type)."),
        ] = None,
        actor_employee: relay.GlobalID | None = None,
        action: str | None = None,
    ) -> Connection[AuditEvent]:
        # The same bounds as REST's query parameters (the columns are no longer).
        for name, value, longest in (("entityType", entity_type, 40), ("action", action, 64)):
            if value is not None and len(value) > longest:
                raise InvalidInput(f"{name} is at most {longest} characters", field=name)
        async with info.context.session() as session:
            page = await service.list_audit_events(
                session,
                info.context.actor,
                entity_type=entity_type,
                entity_id=None if entity is None else _any_node_uuid(entity),
                actor_employee_id=None
                if actor_employee is None
                else node_uuid(actor_employee, "Employee"),
                action=action,
                limit=check_first(first),
                cursor=after,
            )
        return connection(page, AuditEvent.of, lambda e: key_cursor(e.id))
