"""Test fixtures: a migrated database (SQLite or PostgreSQL), the app, clients and factories.

Choose the database with ``REVMENTOR_TEST_DATABASE=sqlite|postgresql`` (default sqlite). The
PostgreSQL leg creates a throw-away database on ``REVMENTOR_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.db.engine import Database
from app.db.migrations import upgrade
from app.main import create_app
from tests.factories import Factory
from tests.oidc_provider import oidc_provider  # noqa: F401  (session fixture for SSO tests)
from tests.replay import empty_tables

TEST_DATABASE = os.environ.get("REVMENTOR_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get(
    "REVMENTOR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def pytest_report_header() -> str:
    return f"revmentor test database: {TEST_DATABASE}"


async def _create_postgres_database(name: str) -> str:
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


async def _drop_postgres_database(name: str) -> None:
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A freshly migrated database for the whole session."""
    if TEST_DATABASE == "postgresql":
        name = f"revmentor_test_{os.getpid()}"
        url = await _create_postgres_database(name)
        yield url
        await _drop_postgres_database(name)
    else:
        path: Path = tmp_path_factory.mktemp("db") / "revmentor.db"
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        log_json=False,
        log_level="WARNING",
        token_touch_interval_seconds=0,
    )


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings)
    await upgrade(database.engine)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def app(settings: Settings, db: Database) -> Any:
    application = create_app(settings)
    await application.state.db.dispose()
    application.state.db = db
    return application


@pytest.fixture(autouse=True)
async def _clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Each test starts from empty tables (the schema stays migrated)."""
    yield
    if "db" in request.fixturenames:
        await empty_tables(request.getfixturevalue("db"))


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def crashing_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the 500 answer instead of the exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def factory(db: Database) -> Factory:
    return Factory(db)


@pytest.fixture
def new_id() -> Callable[[], uuid.UUID]:
    return uuid.uuid4


AsyncCall = Callable[..., Awaitable[Any]]
