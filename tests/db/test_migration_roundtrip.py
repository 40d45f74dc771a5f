"""Every migration can be undone and redone on a fresh database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import inspect, text

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


async def test_open_snapshot_runs_keep_who_they_have_seen_across_0005(tmp_path) -> None:
    """0005 moves the people a snapshot run has seen from one row each to one row per page:
    a run left open across the upgrade (or the downgrade) still knows everyone it saw."""
    name = "revmentor_0005"
    if TEST_DATABASE == "postgresql":
        url = await _create_postgres_database(name)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / '0005.db'}"
    db = Database(Settings(database_url=url))
    run_id = uuid.uuid4()
    run_key = run_id if TEST_DATABASE == "postgresql" else run_id.hex
    try:
        await upgrade(db.engine, "0004")
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO hris_runs (id, created_at, updated_at, version, source, kind, "
                    "status, pushed_by, pages, records, counts, error_count, errors, deactivated) "
                    "VALUES (:id, :now, :now, 1, 'workday', 'snapshot', 'open', 'job', 2, 3, "
                    "'{}', 0, '[]', 0)"
                ),
                {"id": run_key, "now": datetime.now(UTC)},
            )
            for external_id in ("w-1", "w-2", "w-3"):
                await conn.execute(
                    text("INSERT INTO hris_run_entries (run_id, external_id) VALUES (:r, :e)"),
                    {"r": run_key, "e": external_id},
                )
        await upgrade(db.engine, "0005")
        async with db.engine.connect() as conn:
            pages = (await conn.execute(text("SELECT external_ids FROM hris_run_pages"))).all()
        ids = pages[0][0] if isinstance(pages[0][0], list) else json.loads(pages[0][0])
        assert len(pages) == 1
        assert sorted(ids) == ["w-1", "w-2", "w-3"]

        async with db.engine.begin() as conn:
            await conn.run_sync(_downgrade, "0004")
        async with db.engine.connect() as conn:
            entries = await conn.execute(text("SELECT external_id FROM hris_run_entries"))
            assert sorted(e[0] for e in entries) == ["w-1", "w-2", "w-3"]
    finally:
        await db.dispose()
        if TEST_DATABASE == "postgresql":
            await _drop_postgres_database(name)
