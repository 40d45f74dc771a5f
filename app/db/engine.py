"""The async engine and session factory, built from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_

from app.config import Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; foreign keys are off in SQLite unless asked for.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a file-based SQLite database."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def build_engine(settings: Settings) -> AsyncEngine:
    """An engine for the configured database (SQLite file or PostgreSQL)."""
    url = settings.database_url
    if settings.is_sqlite:
        ensure_sqlite_directory(url)
        engine = create_async_engine(url, echo=settings.db_echo, pool_pre_ping=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        url,
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=10,
        connect_args={"timeout": 5, "command_timeout": 30},
    )
    event.listen(engine.sync_engine.pool, "checkout", _ping_postgres)
    return engine


#: How long a pooled connection may take to answer its ping before it is replaced.
PING_TIMEOUT_SECONDS = 5


def _ping_postgres(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Check a pooled PostgreSQL connection as it is taken, so one the server dropped (a
    restart, a failover, an idle timeout) is replaced instead of failing the request.

    This is SQLAlchemy's ``pool_pre_ping`` in one round trip: the driver adapter's own ping
    wraps its query in a transaction of its own (three round trips, on every checkout,
    two checkouts a request). A simple query needs no transaction, even behind a
    pooler in transaction mode. Raising ``DisconnectionError`` makes the pool discard the
    connection and take another.
    """
    try:
        await_(dbapi_connection.driver_connection.execute("SELECT 1", timeout=PING_TIMEOUT_SECONDS))
    except Exception as exc:
        raise DisconnectionError(f"the pooled connection does not answer: {exc}") from exc


class Database:
    """An engine and its session factory; one per application instance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = build_engine(settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose uncommitted work is rolled back when the block ends."""
        async with self.sessionmaker() as session:
            yield session

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
