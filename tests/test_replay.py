"""The matrices' scenarios, built once and replayed: a replay must leave exactly the rows the
build left, and must never carry one test's rows into another."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.db.models import metadata
from tests import replay
from tests.factories import Factory


async def every_row(db: Database) -> dict[str, list[dict[str, Any]]]:
    async with db.engine.connect() as conn:
        return {
            t.name: sorted(
                (dict(r) for r in (await conn.execute(select(t))).mappings()),
                key=lambda r: str(r.get("id")),
            )
            for t in metadata.sorted_tables
        }


@pytest.fixture
def key() -> str:
    return f"test-{uuid.uuid4()}"


async def test_a_replay_leaves_the_rows_the_build_left(
    db: Database, factory: Factory, key: str
) -> None:
    async def build() -> dict[str, Any]:
        boss = await factory.employee()
        report = await factory.employee(manager_id=boss.id)  # a row naming another of its table
        program = await factory.program(managers=[boss])
        return {"ids": [boss.id, report.id, program.id]}

    built = await replay.built_once(db, key, build)
    rows = await every_row(db)
    assert rows["employees"]
    assert rows["programs"]

    await replay.empty_tables(db)
    assert not any((await every_row(db)).values())

    async def must_not_build() -> dict[str, Any]:
        raise AssertionError("the kept scenario should have been replayed")

    replayed = await replay.built_once(db, key, must_not_build)
    assert await every_row(db) == rows
    assert replayed == built
    assert replayed is not built  # a copy: a test changing it changes no other test's


@pytest.fixture
def build(factory: Factory) -> Callable[[], Awaitable[int]]:
    """A builder that writes one employee and returns how many times it has been called."""
    calls: list[int] = []

    async def build() -> int:
        calls.append(1)
        await factory.employee()
        return len(calls)

    return build


async def test_rows_a_test_wrote_first_are_neither_kept_nor_replayed_into(
    db: Database, factory: Factory, key: str, build: Callable[[], Awaitable[int]]
) -> None:
    await factory.employee()  # this test's own row, before the scenario
    assert await replay.built_once(db, key, build) == 1
    await replay.empty_tables(db)

    assert await replay.built_once(db, key, build) == 2  # built: nothing was kept
    await replay.empty_tables(db)
    await factory.employee()
    assert await replay.built_once(db, key, build) == 3  # built: the tables were not empty
    assert len((await every_row(db))["employees"]) == 2


async def test_a_kept_scenario_is_built_again_once_it_is_old(
    db: Database,
    key: str,
    build: Callable[[], Awaitable[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await replay.built_once(db, key, build) == 1
    await replay.empty_tables(db)
    monkeypatch.setattr(replay, "MAX_AGE", 0.0)
    assert await replay.built_once(db, key, build) == 2
