"""Migrations are the only way schemas are made; they must match the models exactly."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from app.db.migrations import alembic_config, revision_status, schema_drift
from app.db.revision import SCHEMA_HEAD, is_at_head, stored_revision


async def test_the_migrated_schema_matches_the_models(db) -> None:
    drift = await schema_drift(db.engine)
    assert drift == [], f"models and migrations differ; add a migration: {drift}"


async def test_the_database_is_at_the_head_revision(db) -> None:
    current, head = await revision_status(db.engine)
    assert current == head is not None


def test_the_recorded_head_is_the_latest_script() -> None:
    """Commands skip Alembic when the database is at ``SCHEMA_HEAD``: a new migration must
    move it, or they would never apply that migration."""
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD


async def test_the_stored_revision_is_read_without_alembic(db) -> None:
    assert await stored_revision(db.engine) == SCHEMA_HEAD
    assert await is_at_head(db.engine)
