"""The set-based bulk writer: rows land whole, in the session's transaction, and a broken key
is the same ``IntegrityError`` a statement raises (on PostgreSQL the rows go in by COPY)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.db import bulk
from app.db.engine import Database
from app.db.models import Employee, HrisRun
from app.db.queries import rows_among
from app.db.types import uuid7
from tests.conftest import TEST_DATABASE

EMPLOYEES = Employee.__table__  # type: ignore[attr-defined]
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _row(n: int, *, manager_id: uuid.UUID | None = None) -> dict[str, Any]:
    email = f"Person.{n}@Example.com"
    return {
        "id": uuid7(),
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
        "external_id": f"EXT{n}",
        "email": email,
        "email_key": email.lower(),
        "given_name": f"Given{n}",
        "family_name": "Ünal",
        "display_name": f"Given{n} Ünal",
        "job_level": 3,
        "time_zone": "Europe/Berlin",
        "hire_date": date(2021, 3, 1),
        "manager_id": manager_id,
        "active": True,
        "is_admin": False,
        "source": "workday",
        "source_modified_at": NOW,
    }


EMPTY = {"skills": [], "interests": [], "languages": ["en"]}


async def _stored(db: Database) -> dict[str, Any]:
    async with db.session() as session:
        rows = (await session.execute(select(EMPLOYEES).order_by(EMPLOYEES.c.external_id))).all()
    return {row.external_id: row for row in rows}


async def test_rows_land_with_their_values_and_the_shared_ones(db: Database) -> None:
    manager = _row(1)
    rows = [manager, _row(2, manager_id=manager["id"])]
    async with db.session() as session:
        await bulk.insert_rows(session, EMPLOYEES, rows, constants=EMPTY)
        await session.commit()

    stored = await _stored(db)
    assert list(stored) == ["EXT1", "EXT2"]
    report = stored["EXT2"]
    assert report.id == rows[1]["id"]
    assert report.manager_id == manager["id"]
    assert report.family_name == "Ünal"
    assert report.hire_date == date(2021, 3, 1)
    assert report.source_modified_at == NOW
    assert report.active is True
    assert (report.skills, report.interests, report.languages) == ([], [], ["en"])


async def test_rows_written_first_thing_in_a_session_roll_back_with_it(db: Database) -> None:
    async with db.session() as session:
        await bulk.insert_rows(session, EMPLOYEES, [_row(1)], constants=EMPTY)
        await session.rollback()

    assert await _stored(db) == {}


async def test_a_broken_key_is_an_integrity_error_and_a_savepoint_undoes_it(
    db: Database,
) -> None:
    async with db.session() as session:
        await bulk.insert_rows(session, EMPLOYEES, [_row(1)], constants=EMPTY)
        taken = {**_row(2), "email": "person.1@example.com", "email_key": "person.1@example.com"}
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await bulk.insert_rows(session, EMPLOYEES, [_row(3), taken], constants=EMPTY)
        await bulk.insert_rows(session, EMPLOYEES, [_row(4)], constants=EMPTY)
        await session.commit()

    assert list(await _stored(db)) == ["EXT1", "EXT4"]


async def test_a_manager_who_does_not_exist_is_refused(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(IntegrityError):
            await bulk.insert_rows(
                session, EMPLOYEES, [_row(1, manager_id=uuid7())], constants=EMPTY
            )
        await session.rollback()

    assert await _stored(db) == {}


async def test_rows_among_reads_the_columns_asked_of_the_keys_found(db: Database) -> None:
    rows = [_row(1), _row(2), _row(3)]
    async with db.session() as session:
        await bulk.insert_rows(session, EMPLOYEES, rows, constants=EMPTY)
        await session.commit()

    async with db.session() as session:
        found = await rows_among(
            session,
            EMPLOYEES,
            ("external_id", "id", "source_modified_at"),
            "external_id",
            {"EXT3", "EXT1", "NOBODY"},
        )
        assert await rows_among(session, EMPLOYEES, ("id",), "external_id", set()) == []
    assert sorted((row[0], row[1], row[2]) for row in found) == [
        ("EXT1", rows[0]["id"], NOW),
        ("EXT3", rows[2]["id"], NOW),
    ]


async def test_rows_among_sees_the_sessions_own_uncommitted_rows(db: Database) -> None:
    async with db.session() as session:
        await bulk.insert_rows(session, EMPLOYEES, [_row(1)], constants=EMPTY)
        found = await rows_among(session, EMPLOYEES, ("email_key",), "external_id", ["EXT1"])
        await session.rollback()
    assert [row[0] for row in found] == ["person.1@example.com"]


if TEST_DATABASE == "postgresql":  # the check below is PostgreSQL's own

    @pytest.mark.postgres_only
    async def test_a_value_its_column_cannot_hold_is_a_database_error(db: Database) -> None:
        # PostgreSQL checks a column's length (SQLite stores any text): COPY's refusal surfaces as
        # the same DBAPIError a statement's would, and nothing of the rows is kept.
        async with db.session() as session:
            with pytest.raises(DBAPIError):
                await bulk.insert_rows(
                    session,
                    EMPLOYEES,
                    [_row(1), {**_row(2), "external_id": "x" * 300}],
                    constants=EMPTY,
                )
            await session.rollback()
        assert await _stored(db) == {}


async def test_rows_may_give_their_columns_in_any_order(db: Database) -> None:
    first = _row(1)
    second = dict(reversed(list(_row(2).items())))
    async with db.session() as session:
        await bulk.insert_rows(session, EMPLOYEES, [first, second], constants=EMPTY)
        await session.commit()

    stored = await _stored(db)
    assert (stored["EXT2"].email, stored["EXT2"].given_name) == ("Person.2@Example.com", "Given2")


async def test_a_single_column_of_rows_is_written(db: Database) -> None:
    async with db.session() as session:
        await bulk.insert_rows(session, EMPLOYEES, [_row(1)], constants=EMPTY)
        await session.commit()
    runs = HrisRun.__table__  # type: ignore[attr-defined]
    async with db.session() as session:
        await bulk.insert_rows(
            session,
            runs,
            [{"id": uuid7()}],
            constants={
                "created_at": NOW,
                "updated_at": NOW,
                "version": 1,
                "source": "workday",
                "kind": "delta",
                "status": "committed",
                "pushed_by": "test",
                "pages": 0,
                "records": 0,
                "counts": {},
                "error_count": 0,
                "errors": [],
                "deactivated": 0,
            },
        )
        await session.commit()
        assert await session.scalar(select(runs.c.pushed_by)) == "test"
