"""Keyset (cursor) pagination over time-ordered UUID keys."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.domain.errors import InvalidInput

T = TypeVar("T")

MAX_LIMIT = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(key: uuid.UUID) -> str:
    raw = json.dumps({"after": str(key)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return uuid.UUID(data["after"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput("the cursor is not one this API issued", field="cursor") from exc


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    key: Any,
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> Page[Any]:
    """One page of ``stmt`` ordered by ``key`` (a time-ordered UUID), after ``cursor``."""
    check_limit(limit)
    if cursor:
        after = decode_cursor(cursor)
        stmt = stmt.where(key < after if descending else key > after)
    stmt = stmt.order_by(key.desc() if descending else key.asc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars().all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = key_cursor(getattr(rows[-1], str(key.key)))
    return Page(items=rows, next_cursor=next_cursor)


def _encode(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _decode_dated(cursor: str) -> tuple[date, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return date.fromisoformat(data["on"]), uuid.UUID(data["after"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput("the cursor is not one this API issued", field="cursor") from exc


async def paginate_newest(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    on: Any,
    key: Any,
    limit: int,
    cursor: str | None,
) -> Page[Any]:
    """One page of ``stmt``, latest ``on`` (a date column) first and, on the same day, latest
    ``key`` (a time-ordered UUID) first; the cursor carries both."""
    check_limit(limit)
    if cursor:
        stmt = stmt.where(newest_after(cursor, on=on, key=key))
    stmt = stmt.order_by(on.desc(), key.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars().all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = dated_cursor(getattr(last, str(on.key)), getattr(last, str(key.key)))
    return Page(items=rows, next_cursor=next_cursor)


def newest_after(cursor: str, *, on: Any, key: Any) -> ColumnElement[bool]:
    """The rows a ``paginate_newest`` listing shows after ``cursor`` (for statements paged
    elsewhere, e.g. by ``paginate_each``)."""
    day, after = _decode_dated(cursor)
    return or_(on < day, and_(on == day, key < after))


def key_cursor(key: uuid.UUID) -> str:
    """The cursor that resumes a ``paginate`` listing after the row with this key."""
    return encode_cursor(key)


def dated_cursor(on: date, key: uuid.UUID) -> str:
    """The cursor that resumes a ``paginate_newest`` listing after this row."""
    return _encode({"on": on.isoformat(), "after": str(key)})


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")


async def paginate_each(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    parent: Any,
    parents: Collection[Any],
    order_by: Sequence[Any],
    limit: int,
    cursor_of: Callable[[Any], str],
) -> dict[Any, Page[Any]]:
    """The first page of ``stmt`` for each of many ``parents`` in one statement: rows are
    numbered within their parent (a window function) and each parent keeps ``limit`` of them.
    ``stmt`` selects one entity and already applies any cursor; ``order_by`` orders rows
    within a parent; ``cursor_of`` gives the cursor resuming after a row."""
    check_limit(limit)
    pages: dict[Any, Page[Any]] = {}
    if not parents:
        return pages
    entity = stmt.column_descriptions[0]["entity"]
    number = func.row_number().over(partition_by=parent, order_by=list(order_by)).label("rn")
    numbered = stmt.where(parent.in_(list(parents))).add_columns(number).subquery()
    row = aliased(entity, numbered)
    outer = (
        select(row)
        .where(numbered.c.rn <= limit + 1)
        .order_by(numbered.c[parent.key], numbered.c.rn)
    )
    grouped: dict[Any, list[Any]] = {p: [] for p in parents}
    for item in (await session.execute(outer)).scalars():
        grouped[getattr(item, parent.key)].append(item)
    for key, rows in grouped.items():
        next_cursor = cursor_of(rows[limit - 1]) if len(rows) > limit else None
        pages[key] = Page(items=rows[:limit], next_cursor=next_cursor)
    return pages
