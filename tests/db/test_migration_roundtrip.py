"""Every migration can be undone and redone on a fresh database."""

from __future__ import annotations

from sqlalchemy import inspect

from alembic import command
from app.config import Settings
from app.db.engine import Database
from app.db.migrations import alembic_config, revision_status, schema_drift, upgrade
from tests.conftest import TEST_DATABASE, _create_postgres_database, _drop_postgres_database


def _downgrade(connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


async def test_upgrade_downgrade_upgrade(tmp_path) -> None:
    name = "revmentor_roundtrip"
    if TEST_DATABASE == "postgresql":
        url = await _create_postgres_database(name)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}"
    db = Database(Settings(database_url=url))
    try:
        await upgrade(db.engine)
        async with db.engine.begin() as conn:
            await conn.run_sync(_downgrade, "base")
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await upgrade(db.engine)
        current, head = await revision_status(db.engine)
        assert current == head
        assert await schema_drift(db.engine) == []
    finally:
        await db.dispose()
        if TEST_DATABASE == "postgresql":
            await _drop_postgres_database(name)
