"""A pooled PostgreSQL connection the server dropped is replaced as it is taken, so the request
that takes it does not fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from app.config import Settings
from tests.conftest import TEST_DATABASE

if TEST_DATABASE == "postgresql":
    from app.db.engine import Database

    @pytest.fixture
    async def pools(settings: Settings) -> AsyncIterator[tuple[Database, Database]]:
        """The database under test (a pool of one connection) and an admin's line beside it."""
        db = Database(settings.model_copy(update={"db_pool_size": 1}))
        admin = Database(settings)
        try:
            yield db, admin
        finally:
            await db.dispose()
            await admin.dispose()

    async def end_backend(admin: Database, pid: object) -> None:
        """The server ends a connection (a restart, a failover, an idle timeout), and it is
        gone before this returns."""
        async with admin.engine.connect() as other:
            await other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):
            async with admin.engine.connect() as other:
                alive = await other.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                )
            if not alive:
                return
            await asyncio.sleep(0.02)
        pytest.fail(f"backend {pid} outlived pg_terminate_backend")

    async def test_a_connection_the_server_dropped_is_replaced_unnoticed(
        pools: tuple[Database, Database],
    ) -> None:
        db, admin = pools
        async with db.engine.connect() as conn:
            first = await conn.scalar(text("SELECT pg_backend_pid()"))
        await end_backend(admin, first)

        for _ in range(3):
            async with db.engine.connect() as conn:
                assert await conn.scalar(text("SELECT 1")) == 1
                assert await conn.scalar(text("SELECT pg_backend_pid()")) != first

    async def test_a_session_whose_connection_dies_after_its_work_ends_quietly(
        pools: tuple[Database, Database],
    ) -> None:
        """A request has read what it answers with; PostgreSQL then ends the connection (a
        fast shutdown). Ending the session must not fail the request, and the dead connection
        must leave the pool rather than be handed out again."""
        db, admin = pools
        async with db.session() as session:
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            await end_backend(admin, pid)
        assert db.engine.pool.checkedout() == 0
        async with db.session() as session:
            assert await session.scalar(text("SELECT pg_backend_pid()")) != pid

    async def test_an_error_in_the_session_is_not_hidden_by_the_lost_connection(
        pools: tuple[Database, Database],
    ) -> None:
        db, admin = pools

        async def fail_after_the_connection_died() -> None:
            async with db.session() as session:
                await end_backend(admin, await session.scalar(text("SELECT pg_backend_pid()")))
                raise LookupError("the block's own error")

        with pytest.raises(LookupError, match="the block's own error"):
            await fail_after_the_connection_died()
