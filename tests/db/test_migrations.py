"""Migrations are the only way schemas are made; they must match the models exactly."""

from __future__ import annotations

from app.db.migrations import revision_status, schema_drift


async def test_the_migrated_schema_matches_the_models(db) -> None:
    drift = await schema_drift(db.engine)
    assert drift == [], f"models and migrations differ; add a migration: {drift}"


async def test_the_database_is_at_the_head_revision(db) -> None:
    current, head = await revision_status(db.engine)
    assert current == head is not None
