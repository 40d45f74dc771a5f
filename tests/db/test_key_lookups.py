"""Bulk reads by key (``rows_among``, ``compare_fingerprints``) go through the external id's
index, on PostgreSQL even in a plan made for good early in a first sync: the driver prepares
its statements, and PostgreSQL may keep one plan for all later executions, made from the
statistics of the moment (none, for a table a first sync is still filling)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text, update
from sqlmodel import col

from app.db import bulk
from app.db.engine import Database
from app.db.models import Employee
from app.db.queries import (
    CHECK,
    OLDER,
    OTHER,
    SAME,
    _compare_sql,
    _rows_among_sql,
    compare_fingerprints,
)
from tests.conftest import TEST_DATABASE
from tests.db.test_bulk import EMPTY, _row
from tests.factories import Factory

EMPLOYEES = Employee.__table__  # type: ignore[attr-defined]

pytestmark = pytest.mark.skipif(TEST_DATABASE != "postgresql", reason="PostgreSQL's planner")


async def _generic_plan(db: Database, sql: str, *arguments: str) -> str:
    async with db.session() as session:
        await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        driver = await (await session.connection()).get_raw_connection()
        connection = driver.driver_connection
        assert connection is not None
        await connection.execute(f"PREPARE lookup AS {sql}")
        try:
            rows = await connection.fetch(f"EXPLAIN EXECUTE lookup({', '.join(arguments)})")
        finally:
            await connection.execute("DEALLOCATE lookup")
        await session.rollback()
        return "\n".join(row[0] for row in rows)


async def test_a_plan_made_once_for_good_reads_by_key_through_the_index(db: Database) -> None:
    # A first sync two pages in (the table never analysed), when the plan is made. (Keys sent
    # as JSON, a plan made now would scan the table: they are taken for a hundred.)
    rows = [_row(n) for n in range(5000)]
    async with db.session() as session:
        await bulk.insert_rows(session, EMPLOYEES, rows, constants=EMPTY)
        await session.commit()
    keys = "ARRAY['E1', 'E2']::varchar[]"
    rest = """'[[0, "csv1:a", "2026-11-01T08:00:00+00:00"], [1, "csv1:b", null]]'"""
    among = _rows_among_sql(EMPLOYEES, ("external_id", "id"), "external_id")
    plans = [
        await _generic_plan(db, among, keys),
        await _generic_plan(db, _compare_sql(EMPLOYEES), keys, rest, "'workday'"),
    ]

    for plan in plans:
        assert "uq_employees_external_id" in plan, plan
        assert "Seq Scan on employees" not in plan, plan


async def test_fingerprints_compare_with_the_stored_ones(db: Database, factory: Factory) -> None:
    at = datetime(2026, 11, 1, 8, tzinfo=UTC)
    stored = [("workday", "csv1:a"), ("workday", "csv1:b"), ("workday", "csv1:c"), ("bamboo", "")]
    for n, (source, digest) in enumerate(stored):
        await factory.employee(external_id=f"E{n}")
        async with db.session() as session:
            await session.execute(
                update(Employee)
                .where(col(Employee.external_id) == f"E{n}")
                .values(source=source, source_digest=digest, source_modified_at=at)
            )
            await session.commit()
    async with db.session() as session:
        rows = await compare_fingerprints(
            session,
            EMPLOYEES,
            "workday",
            [
                (10, "E0", "csv1:a", at),  # the same
                (11, "E1", "csv1:b", datetime(2026, 10, 1, tzinfo=UTC)),  # older
                (12, "E2", "csv1:x", at),  # another fingerprint
                (13, "E3", "csv1:d", at),  # another source's person
                (14, "E9", "csv1:e", at),  # nobody
                (15, "E0", "csv1:a", None),  # no time
            ],
        )
        await session.rollback()

    found = {row[0]: (row[2], row[3], row[4]) for row in rows}
    assert found == {
        10: (SAME, None, None),
        11: (OLDER, at, None),
        12: (OTHER, at, "csv1:c"),
        13: (CHECK, None, None),
        15: (CHECK, None, None),
    }
