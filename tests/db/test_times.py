"""Times go in with any offset and come out as the same instant, aware and in UTC, on both
databases (and whatever time zone the database session runs in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from app.db.engine import Database
from app.db.models import Employee
from tests.factories import Factory


async def test_a_time_written_with_an_offset_is_read_back_in_utc(
    db: Database, factory: Factory
) -> None:
    person = await factory.employee()
    tokyo = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=timezone(timedelta(hours=9)))
    async with db.session() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SET TIME ZONE 'America/New_York'"))
        stored = await session.get(Employee, person.id)
        assert stored is not None
        stored.source_modified_at = tokyo
        await session.commit()
    async with db.session() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SET TIME ZONE 'Asia/Kolkata'"))
        read = await session.scalar(
            select(Employee.source_modified_at).where(Employee.id == person.id)  # type: ignore[arg-type]
        )
    assert read == tokyo
    assert read is not None
    assert read.tzinfo is not None
    assert read.utcoffset() == timedelta(0)
    assert read.replace(tzinfo=None) == datetime(2026, 3, 1, 0, 30, 15, 250000)
    assert read.astimezone(UTC) == read


async def test_a_naive_time_is_refused(db: Database, factory: Factory) -> None:
    person = await factory.employee()
    async with db.session() as session:
        stored = await session.get(Employee, person.id)
        assert stored is not None
        stored.source_modified_at = datetime(2026, 3, 1, 9, 30)
        with pytest.raises(StatementError, match="naive datetimes"):
            await session.commit()
