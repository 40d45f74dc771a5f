"""Small rules every aggregate shares: optimistic concurrency and change stamps."""

from __future__ import annotations

from typing import Any

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
