"""Query helpers shared by services."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY


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
