"""The async engine and session factory, built from settings."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_

from app.config import Settings

log = logging.getLogger("revmentor.db")


def _unicode_lower(value: object) -> object:
    """SQL ``lower()`` as PostgreSQL has it in a UTF-8 database: every letter's lower case."""
    return value.lower() if isinstance(value, str) else value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; foreign keys are off in SQLite unless asked for.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # SQLite's own lower() folds ASCII letters only, so case-insensitive comparisons (SCIM
    # filters) missed "ZOË" for "zoë". No index or constraint is built on lower(): one would
    # hold values another SQLite client, without this function, computes differently.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def database_failure(exc: BaseException) -> str | None:
    """One line on a failure to use the database: it cannot be reached, refused the login,
    went away or answered with an error (in the driver's own words, not SQLAlchemy's page
    of statement and parameters). ``None`` for any other exception."""
    if isinstance(exc, DBAPIError):
        return str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return str(exc) or type(exc).__name__
    return None


def shown_url(url: str) -> str:
    """A database URL as it may be printed: its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


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
        # The same pool, without transactions: each statement commits on its own.
        self._autocommit = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self, *, autocommit: bool = False) -> AsyncIterator[AsyncSession]:
        """A session whose uncommitted work is rolled back when the block ends.

        ``autocommit``: no transaction, each statement commits on its own; for work that needs
        none (authenticating a request: a read of the token, now and then a write of when it
        was last used), sparing the round trips of a BEGIN and a COMMIT.

        If the server ended the connection after the block's work (a restart, a failover),
        the rollback cannot reach it; the server has already discarded whatever was not
        committed, so the connection is dropped from the pool and the block ends normally.
        A request answered from the session's reads must not then fail as it ends, and an
        error raised in the block is not replaced by the failed rollback.
        """
        session = (self._autocommit if autocommit else self.sessionmaker)()
        raised: BaseException | None = None
        try:
            async with session:  # closes even if the awaiting task is cancelled
                try:
                    yield session
                except BaseException as exc:
                    raised = exc
                    raise
        except DBAPIError as exc:
            if exc is raised or not exc.connection_invalidated:
                raise
            log.warning("database connection lost as a session ended: %s", type(exc.orig).__name__)
            await session.invalidate()
            if raised is not None:
                raise raised from None
        finally:
            raised = None  # no reference cycle through the traceback

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
