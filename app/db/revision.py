"""Which migration the database is at, asked without loading Alembic.

Every command that touches the database first brings it to the latest migration. Loading
Alembic and its scripts to learn that there is nothing to do took over half a second of each
command's start (an import of a large file included); this asks the database alone, and only
a database behind the scripts loads them.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

#: The revision of the latest script in ``alembic/versions``. A new migration changes it; a
#: test compares it with Alembic's own idea of the head, so the two cannot drift apart.
SCHEMA_HEAD = "0007"


async def stored_revision(engine: AsyncEngine) -> str | None:
    """The revision recorded in the database; ``None`` for a database never migrated, or one
    that cannot be asked (the full migration then runs, and reports any real problem)."""
    try:
        async with engine.connect() as conn:
            revisions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    except DBAPIError:
        return None
    return revisions[0][0] if len(revisions) == 1 else None


async def is_at_head(engine: AsyncEngine) -> bool:
    """Whether the database is at the latest migration (nothing to upgrade)."""
    return await stored_revision(engine) == SCHEMA_HEAD
