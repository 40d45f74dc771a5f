"""A pooled PostgreSQL connection the server dropped is replaced as it is taken, so the request
that takes it does not fail."""

from __future__ import annotations

from sqlalchemy import text

from app.config import Settings
from tests.conftest import TEST_DATABASE

if TEST_DATABASE == "postgresql":
    from app.db.engine import Database

    async def test_a_connection_the_server_dropped_is_replaced_unnoticed(
        settings: Settings,
    ) -> None:
        db = Database(settings.model_copy(update={"db_pool_size": 1}))
        admin = Database(settings)
        try:
            async with db.engine.connect() as conn:
                first = await conn.scalar(text("SELECT pg_backend_pid()"))
            # The server ends the pooled connection (a restart, a failover, an idle timeout).
            async with admin.engine.connect() as other:
                await other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})

            for _ in range(3):
                async with db.engine.connect() as conn:
                    assert await conn.scalar(text("SELECT 1")) == 1
                    assert await conn.scalar(text("SELECT pg_backend_pid()")) != first
        finally:
            await db.dispose()
            await admin.dispose()
