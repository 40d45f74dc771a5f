"""Query helpers shared by services."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY


def among(column: Any, values: Collection[str | uuid.UUID], dialect: str) -> ColumnElement[bool]:
    """``column IN values`` as one bound parameter, however many values there are.

    A plain ``IN`` with a thousand values compiles a thousand placeholders on every call; bulk
    writes look up a thousand keys per page, so the list travels as one array (PostgreSQL) or
    one JSON text unpacked by ``json_each`` (SQLite).
    """
    if dialect == "postgresql":
        array = bindparam(None, list(values), type_=ARRAY(column.type))
        return column == any_(array)  # type: ignore[no-any-return]
    # SQLite keeps UUIDs as 32 hex digits.
    plain = [v.hex if isinstance(v, uuid.UUID) else v for v in values]
    unpacked: Any = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(plain), type_=String))
    )
    return column.in_(unpacked)  # type: ignore[no-any-return]


def among_rows(
    column: Any, values: Collection[str | uuid.UUID], dialect: str
) -> ColumnElement[bool]:
    """``column IN values`` for filtering many rows: on PostgreSQL a semi-join over the unnested
    array, which the planner hashes or drives an index from. ``= ANY(array)`` compares every
    row against the whole array in turn, which a scan of thousands of rows against a thousand
    values turns into millions of comparisons (a planner with stale statistics picks such a
    scan right after a bulk load)."""
    if dialect != "postgresql":
        return among(column, values, dialect)
    array = bindparam(None, list(values), type_=ARRAY(column.type))
    return column.in_(select(func.unnest(array)))  # type: ignore[no-any-return]
