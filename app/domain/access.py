"""Who an actor is to one pairing, and what that lets them read of the life inside it.

| record | author | partner | program team | readers |
| --- | --- | --- | --- | --- |
| goal, milestones, comments | edit (owner) | read; comment, tick if allowed | read | read |
| check-in: date, length, mode, topics | edit | edit | read | read |
| check-in: shared notes | edit | edit | - | - |
| check-in: private note | its author only | - | - | - |
| feedback: ratings, "would take part again" | read | - | read | aggregates only |
| feedback: comment | read | read when shared | read | - |
| concern | its raiser (not the team's resolution) | - (never learns it exists) | read, act | - |
| pairing health, report | - | - | read | read, without concern reasons |

The program team is the program's managers and admins; readers are service clients holding
the ``read`` scope (dashboards, integrators).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Pairing
from app.db.visibility import pairings_visible_to
from app.domain.actors import Actor, ActorKind, Scope
from app.domain.errors import Forbidden, NotFound
from app.domain.pairings import get_pairing, member_role


def is_reader(actor: Actor) -> bool:
    """A service client allowed to read everything but the confidential."""
    return actor.kind is ActorKind.SERVICE and Scope.READ.value in actor.scopes


@dataclass(frozen=True)
class PairingAccess:
    """One actor's relation to one pairing."""

    pairing: Pairing
    role: str | None  # "mentor" or "mentee" when the actor is a member
    team: bool  # the program's managers and admins
    reader: bool

    @property
    def is_member(self) -> bool:
        return self.role is not None

    @property
    def partner_id(self) -> uuid.UUID | None:
        """The other member's employee id (for a member)."""
        if self.role == "mentor":
            return self.pairing.mentee_employee_id
        if self.role == "mentee":
            return self.pairing.mentor_employee_id
        return None

    def require_member(self, what: str) -> str:
        if self.role is None:
            raise Forbidden(f"only the two members of a pairing can {what}", rule="member_only")
        return self.role

    def require_team(self, what: str) -> None:
        if not self.team:
            raise Forbidden(
                f"only the program's managers and admins can {what}", rule="program_team"
            )

    def require_overseer(self, what: str) -> None:
        """The program team, or a reader."""
        if not (self.team or self.reader):
            raise Forbidden(
                f"only the program's managers, admins and readers can {what}",
                rule="program_team",
            )


def access_to(actor: Actor, pairing: Pairing) -> PairingAccess:
    """In their own pairing a person is a member, whatever else they are (an admin who takes
    part reads their pairing as its members do, not as its program team)."""
    role = member_role(actor, pairing)
    return PairingAccess(
        pairing=pairing,
        role=role,
        team=role is None and actor.manages(pairing.program_id),
        reader=is_reader(actor),
    )


async def pairing_access(
    session: AsyncSession, actor: Actor, pairing_id: uuid.UUID
) -> PairingAccess:
    """The pairing (404 when the actor cannot see it) and the actor's relation to it."""
    return access_to(actor, await get_pairing(session, actor, pairing_id))


async def record_access(
    session: AsyncSession, actor: Actor, model: Any, record_id: uuid.UUID, what: str
) -> tuple[Any, PairingAccess]:
    """A record of a pairing (a goal, a check-in) found through a pairing the actor may see
    (404 otherwise, naming ``what``), and the actor's relation to that pairing."""
    stmt = (
        select(model, Pairing)
        .join(Pairing, col(Pairing.id) == model.pairing_id)
        .where(model.id == record_id, pairings_visible_to(actor))
    )
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        raise NotFound(f"{what} {record_id} not found")
    record, pairing = row
    return record, access_to(actor, pairing)
