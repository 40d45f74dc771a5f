"""Query helpers shared by services."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

import asyncpg
from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    bindparam,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession


def among(column: Any, values: Collection[str | uuid.UUID], dialect: str) -> ColumnElement[bool]:
    """``column IN values`` as one bound parameter, however many values there are.

    A plain ``IN`` with a thousand values compiles a thousand placeholders on every call; bulk
    writes look up a thousand keys per page, so the list travels as one array (PostgreSQL) or
    one JSON text unpacked by ``json_each`` (SQLite).

    On PostgreSQL the array is unnested into a semi-join, which the planner hashes or drives
    an index from. ``column = ANY(array)`` would do as an index condition, but wherever the
    planner scans instead (a table of a few thousand rows, or statistics that lag a bulk
    load) it compares every row against the whole array: a million comparisons for a
    thousand keys, tens of milliseconds a page.
    """
    if dialect == "postgresql":
        array = bindparam(None, list(values), type_=ARRAY(column.type))
        return column.in_(select(func.unnest(array)))  # type: ignore[no-any-return]
    # SQLite keeps UUIDs as 32 hex digits.
    plain = [v.hex if isinstance(v, uuid.UUID) else v for v in values]
    unpacked: Any = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(plain), type_=String))
    )
    return column.in_(unpacked)  # type: ignore[no-any-return]


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The PostgreSQL driver's own connection under ``session``, inside the session's
    transaction (begun here if no statement has begun it yet: work done through the driver
    before it would commit on its own, whatever became of the session's)."""
    connection = await session.connection()
    driver: asyncpg.Connection | None = (await connection.get_raw_connection()).driver_connection
    if driver is None:
        raise RuntimeError("the database connection was closed")
    if not driver.is_in_transaction():
        await session.execute(text("SELECT 1"))
    return driver


async def rows_among(
    session: AsyncSession, table: Table, columns: Sequence[str], key: str, values: Collection[str]
) -> Sequence[Any]:
    """``columns`` of the rows of ``table`` whose ``key`` is among ``values``, as tuples in the
    order asked.

    On PostgreSQL the query goes straight through the driver: bulk writes read a thousand
    rows a page, and building SQLAlchemy's rows of them costs more than the query itself."""
    if not values:
        return []
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        stmt = select(*(table.c[name] for name in columns)).where(
            among(table.c[key], values, dialect)
        )
        return (await session.execute(stmt)).all()
    driver = await driver_connection(session)
    return await driver.fetch(_rows_among_sql(table, tuple(columns), key), list(values))


@lru_cache(maxsize=32)
def _rows_among_sql(table: Table, columns: tuple[str, ...], key: str) -> str:
    array = ARRAY(table.c[key].type).compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    return (
        f"SELECT {', '.join(columns)} FROM {table.name} "  # noqa: S608 - names from metadata
        f"WHERE {key} IN (SELECT unnest($1::{array}))"
    )
