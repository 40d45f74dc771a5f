"""Scenarios built once per test process, then replayed from their rows.

The security matrices give every cell a fresh scenario. Building one through the domain
services costs far more than the cell's request, so each scenario is built once, its rows are
kept, and later cells get the same rows inserted into their empty tables (and a copy of what
the builder returned: ids, versions, tokens). A kept scenario older than ``MAX_AGE`` is built
again, so times relative to now (a pairing live for 30 days, today's date) stay true.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, exists, insert, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.engine import Database
from app.db.models import metadata

T = TypeVar("T")

#: Seconds a kept scenario is replayed before it is built again.
MAX_AGE = 120.0

Rows = dict[str, list[dict[str, Any]]]
_kept: dict[str, tuple[float, Rows, Any]] = {}


def _self_references(table: Table) -> list[str]:
    """The columns by which a row names another row of its own table (a manager)."""
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


#: Empties every table, dependants first, as one script: links within a table cut, then DELETE.
#: Not TRUNCATE: the tables hold a few rows, and PostgreSQL's TRUNCATE makes new files for every
#: table it empties (half a second a test). One script, not a statement per table: it runs after
#: every test.
EMPTY_TABLES = " ".join(
    [
        "BEGIN;",
        *(
            f"UPDATE {t.name} SET {column} = NULL;"  # noqa: S608 - names from metadata
            for t in metadata.sorted_tables
            for column in _self_references(t)
        ),
        *(f"DELETE FROM {t.name};" for t in reversed(metadata.sorted_tables)),  # noqa: S608
        "COMMIT;",
    ]
)


async def empty_tables(db: Database) -> None:
    """Delete every row of every table (the schema stays)."""
    async with db.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        if db.settings.is_sqlite:
            await driver.executescript(EMPTY_TABLES)
        else:
            await driver.execute(EMPTY_TABLES)  # asyncpg runs a script without parameters


async def built_once(db: Database, key: str, build: Callable[[], Awaitable[T]]) -> T:
    """What ``build()`` returns, with its rows in the database: built the first time (and when
    the kept one is too old), replayed from the kept rows after that. Only an empty database
    is replayed into or kept: rows a test wrote first would otherwise leak into other tests."""
    async with db.engine.connect() as conn:
        empty = await _is_empty(conn)
    kept = _kept.get(key)
    if empty and kept is not None and time.monotonic() - kept[0] < MAX_AGE:
        async with db.engine.begin() as conn:
            await _insert(conn, kept[1])
        return copy.deepcopy(kept[2])  # type: ignore[no-any-return]
    result = await build()
    if empty:
        async with db.engine.connect() as conn:
            _kept[key] = (time.monotonic(), await _rows(conn), copy.deepcopy(result))
    return result


async def _is_empty(conn: AsyncConnection) -> bool:
    anything = or_(
        *(exists(select(literal_column("1")).select_from(t)) for t in metadata.sorted_tables)
    )
    return not (await conn.execute(select(anything))).scalar_one()


async def _rows(conn: AsyncConnection) -> Rows:
    rows: Rows = {}
    for table in metadata.sorted_tables:
        found = [dict(r) for r in (await conn.execute(select(table))).mappings()]
        if found:
            rows[table.name] = found
    return rows


async def _insert(conn: AsyncConnection, rows: Rows) -> None:
    for table in metadata.sorted_tables:
        found = rows.get(table.name)
        if not found:
            continue
        # A row may name another of its table (a manager): insert all, then link them.
        later = _self_references(table)
        await conn.execute(insert(table), [{**r, **dict.fromkeys(later, None)} for r in found])
        for name in later:
            links = [{"k": r["id"], "v": r[name]} for r in found if r[name] is not None]
            if links:
                by_id = update(table).where(table.c.id == bindparam("k"))
                await conn.execute(by_id.values({name: bindparam("v")}), links)
