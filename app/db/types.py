"""Column types and helpers shared by every table."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as naive UTC
    and given their zone back on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # asyncpg reads ``timestamptz`` as aware UTC already: no call per value (a bulk read
        # of a thousand rows would otherwise spend more on this than on the rows).
        if dialect.name == "postgresql" and dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


_last_ms = 0
_sequence = 0
_uuid_lock = threading.Lock()


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7) so keys sort by creation time.

    Within one millisecond a 12-bit counter (RFC 9562, method 1) keeps the ids this process makes
    strictly increasing, so "newest first" holds even for rows written together.
    """
    return uuid7s(1)[0]


def uuid7s(count: int) -> list[uuid.UUID]:
    """``count`` time-ordered UUIDs at once, in increasing order (one clock reading and one
    read of random bytes for all of them: bulk writes make a thousand at a time)."""
    global _last_ms, _sequence
    stamps: list[tuple[int, int]] = []
    with _uuid_lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _sequence = int.from_bytes(os.urandom(2), "big") & 0x7FF  # leave room to count up
        else:
            _sequence += 1
        for _ in range(count):
            if _sequence > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _sequence = 0
            stamps.append((_last_ms, _sequence))
            _sequence += 1
        _sequence -= 1  # the last one handed out
    noise = os.urandom(8 * count)
    ids = []
    for n, (ms, sequence) in enumerate(stamps):
        rand = int.from_bytes(noise[8 * n : 8 * n + 8], "big")
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= sequence << 64
        value |= 0b10 << 62
        value |= rand & ((1 << 62) - 1)
        ids.append(uuid.UUID(int=value))
    return ids


def json_default(value: Any) -> Any:
    """Fallback for values json cannot encode by itself."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
