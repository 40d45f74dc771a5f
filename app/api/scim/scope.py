"""Who may use SCIM: a caller holding the ``scim`` scope (admins hold every scope)."""

from __future__ import annotations

from app.api.deps import ActorDep
from app.domain.actors import Actor, Scope


async def require_scim_actor(actor: ActorDep) -> Actor:
    """The authenticated caller, if it may provision users (403 otherwise)."""
    actor.require_scope(Scope.SCIM, "provisioning over SCIM")
    return actor
