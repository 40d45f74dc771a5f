"""Set-based bulk writes: a thousand rows in one statement.

On PostgreSQL the rows travel as one JSON document, which the statement reads back with
``json_to_recordset`` into typed columns: one round trip and one parameter, whatever the number
of rows, where an ``executemany`` would bind and send every row on its own. (One array per
column read back with ``unnest`` does the same, but the driver checks and encodes every element
of every array in Python: three times the client's time of encoding the rows as JSON.) SQLite,
in process and without round trips, takes the rows through the driver's ``executemany``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Table, bindparam, insert, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.types import json_default


def _sql_type(table: Table, name: str) -> str:
    column_type = table.c[name].type
    impl = getattr(column_type, "impl", column_type)  # a TypeDecorator's storage type
    return str(impl.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]


@lru_cache(maxsize=64)
def _recordset(table: Table, names: tuple[str, ...]) -> str:
    """``json_to_recordset`` over the ``:rows`` parameter, typed as the table's columns (made
    once per table and set of columns: a page writes its slices with the same ones)."""
    typed = ", ".join(f"{n} {_sql_type(table, n)}" for n in names)
    return f"json_to_recordset(CAST(:rows AS json)) AS v({typed})"


def _as_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as one JSON array (UUIDs, times and dates in the text forms PostgreSQL reads)."""
    return orjson.dumps(rows, default=json_default).decode()


def _columns(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(rows[0].keys())


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    constants: Mapping[str, str] | None = None,
) -> None:
    """Insert ``rows`` (all with the same keys); ``constants`` are SQL literals for columns
    every row shares (e.g. ``'[]'`` for an empty JSON list)."""
    if not rows:
        return
    constants = dict(constants or {})
    if session.get_bind().dialect.name != "postgresql":
        values = {name: text(sql) for name, sql in constants.items()}
        await session.execute(insert(table).values(values), list(rows))
        return
    names = _columns(rows)
    selected = [*names, *(sql for sql in constants.values())]
    statement = text(
        f"INSERT INTO {table.name} ({', '.join([*names, *constants])}) "  # noqa: S608 - names from metadata
        f"SELECT {', '.join(selected)} FROM {_recordset(table, names)}"
    )
    await session.execute(statement, {"rows": _as_json(rows)})


async def update_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], *, key: str = "id"
) -> None:
    """Update rows by primary key: each row gives ``key`` and the new values of its columns
    (all rows the same columns)."""
    if not rows:
        return
    names = _columns(rows)
    if session.get_bind().dialect.name != "postgresql":
        changed: dict[str, Any] = {n: bindparam(f"v_{n}") for n in names if n != key}
        by_key = update(table).where(table.c[key] == bindparam(f"v_{key}")).values(changed)
        await session.execute(by_key, [{f"v_{n}": row[n] for n in names} for row in rows])
        return
    assignments = ", ".join(f"{n} = v.{n}" for n in names if n != key)
    statement = text(
        f"UPDATE {table.name} SET {assignments} "  # noqa: S608 - names from metadata
        f"FROM {_recordset(table, names)} WHERE {table.name}.{key} = v.{key}"
    )
    await session.execute(statement, {"rows": _as_json(rows)})
