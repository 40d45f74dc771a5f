"""Small rules every aggregate shares: optimistic concurrency and change stamps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.types import utcnow
from app.domain.errors import PreconditionFailed


def check_version(current: int, expected: int | None) -> None:
    """Refuse a change made against a version other than the stored one.

    ``expected=None`` skips the check; adapters decide when a client must send a version
    (REST requires ``If-Match`` on every change of a versioned resource).
    """
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"the resource is at version {current}, not {expected}; fetch it again",
            extra={"current_version": current},
        )


def touch(resource: Any) -> None:
    """Mark a resource changed: next version, new timestamp."""
    resource.version += 1
    resource.updated_at = utcnow()


async def lock_for_update(session: AsyncSession, resource: Any) -> None:
    """Make this transaction the resource's only writer until it ends, then read it afresh.

    PostgreSQL locks the row (``SELECT … FOR UPDATE``). SQLite has no row locks: two requests
    would both pass a version or state check and the second would overwrite the first. A write
    that changes nothing takes SQLite's database write lock instead, so the second waits for
    the first to commit and then reads its change.
    """
    model = type(resource)
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(
            update(model)
            .where(model.id == resource.id)
            .values(version=model.version)
            .execution_options(synchronize_session=False)
        )
    await session.refresh(resource, with_for_update=True)
