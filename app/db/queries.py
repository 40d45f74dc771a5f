"""Query helpers shared by services."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import asyncpg
import orjson
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
    # The keys go as an array, never as JSON unpacked by the server: the driver's statements
    # are prepared, and PostgreSQL may plan one once for good. An array parameter of unknown
    # length is taken for a few keys, so that plan reads them through the index; a JSON
    # document is taken for a hundred, and a plan made while the table was small (the first
    # pages of a first sync) scans it, as it grows, for every page after.
    array = ARRAY(table.c[key].type).compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    return (
        f"SELECT {', '.join(columns)} FROM {table.name} "  # noqa: S608 - names from metadata
        f"WHERE {key} IN (SELECT unnest($1::{array}))"
    )


#: How a pushed fingerprint compares with the stored one (``compare_fingerprints``).
SAME = "same"  # the stored fingerprint, at the stored time
OLDER = "older"  # the stored fingerprint, at an older time
OTHER = "other"  # another fingerprint, at a time not newer (it may be of another scheme)
CHECK = "check"  # newer, without a time, or not one of the source's fingerprinted rows


async def compare_fingerprints(
    session: AsyncSession, table: Table, source: str, entries: Sequence[Fingerprinted]
) -> Sequence[Any]:
    """On PostgreSQL, compare pushed fingerprints with the stored ones in the database.

    ``entries``: for each pushed record, its position in the push, its key (``external_id``)
    and its fingerprint and time, compared with the row of ``table`` with that key, if its
    ``source`` is ``source``: its ``source_digest`` and ``source_modified_at``. Each row found
    comes back as (position, id, verdict, stored time, stored fingerprint); the stored time
    and fingerprint only where the verdict needs them (``OLDER``, ``OTHER``). Most records of
    a full sync are the ``SAME``, and a thousand of them come back as little more than ids.
    """
    if not entries:
        return []
    driver = await driver_connection(session)
    # The keys as an array (see ``_rows_among_sql``), the rest beside them as one JSON text,
    # which costs a fraction of arrays of fingerprints and times to send.
    keys = [key for _, key, _, _ in entries]
    rest = orjson.dumps([(position, digest, at) for position, _, digest, at in entries])
    return await driver.fetch(_compare_sql(table), keys, rest.decode(), source)


#: A pushed record to compare: position, key, fingerprint, time (aware).
Fingerprinted = tuple[int, str, str, datetime | None]


@lru_cache(maxsize=4)
def _compare_sql(table: Table) -> str:
    array = ARRAY(table.c.external_id.type).compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    verdict = (
        "CASE WHEN t.source IS DISTINCT FROM $3 OR t.source_digest IS NULL "
        "OR t.source_modified_at IS NULL "
        "OR p.at IS NULL OR p.at > t.source_modified_at "
        f"THEN '{CHECK}' "
        f"WHEN t.source_digest <> p.fingerprint THEN '{OTHER}' "
        f"WHEN p.at = t.source_modified_at THEN '{SAME}' ELSE '{OLDER}' END"
    )
    return (
        f"SELECT p.position, t.id, v.verdict, "  # noqa: S608 - names from metadata
        f"CASE WHEN v.verdict IN ('{OLDER}', '{OTHER}') THEN t.source_modified_at END, "
        f"CASE WHEN v.verdict = '{OTHER}' THEN t.source_digest END "
        f"FROM {table.name} AS t "
        "JOIN (SELECT k.key, (e->>0)::int AS position, e->>1 AS fingerprint, "
        "(e->>2)::timestamptz AS at "
        f"FROM unnest($1::{array}) WITH ORDINALITY AS k(key, n) "
        "CROSS JOIN LATERAL (SELECT $2::jsonb -> (k.n - 1)::int AS e) AS entry "
        # (OFFSET 0 keeps the entries a subquery, each read once: flattened into the join,
        # every use of a value would take it out of the JSON again)
        "OFFSET 0) AS p ON p.key = t.external_id "
        f"CROSS JOIN LATERAL (SELECT {verdict} AS verdict) AS v "
        # The rows are found as ``rows_among`` finds them (see there): through the index,
        # whatever the table's statistics say of its size.
        f"WHERE t.external_id IN (SELECT unnest($1::{array}))"
    )
