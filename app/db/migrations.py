"""Schema migrations: the only way a Revmentor schema is made (app, CLI and tests alike)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from alembic import command
from app.db.models import metadata

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"


def alembic_config() -> Config:
    """An Alembic config pointing at the project's migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision``."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


def _current(connection: Connection) -> tuple[str | None, str | None]:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = MigrationContext.configure(connection).get_current_revision()
    return current, head


async def revision_status(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """The database's current revision and the scripts' head."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


def _diff(connection: Connection) -> list[Any]:
    ctx = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": True},
    )
    return list(compare_metadata(ctx, metadata))


async def schema_drift(engine: AsyncEngine) -> list[Any]:
    """Differences between the migrated database and the table models (empty when in step)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_diff)


__all__ = ["ALEMBIC_DIR", "EnvironmentContext", "revision_status", "schema_drift", "upgrade"]
