"""Weekly availability as quarter-hour masks over one fixed week in UTC.

Each local window ``(day, "HH:MM", "HH:MM")`` is placed in the reference week starting Monday
2026-01-05 and moved to UTC with the person's time zone as it stood then, so the result never
depends on the day a run happens (DST). The week wraps around: Sunday evening in Los Angeles is
Monday morning in UTC. Window boundaries are rounded to the nearest quarter hour, which keeps
half- and three-quarter-hour time zones (India, Nepal) right. Nobody's availability given means
Mon-Fri 09:00-17:00 local time. Windows that cannot be read are skipped (inputs are validated
before they reach the engine); an unknown time zone counts as UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from app.domain.matching.model import Window

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
QUARTER = 15  # minutes
QUARTERS_PER_WEEK = 7 * 24 * 60 // QUARTER
REFERENCE_MONDAY = date(2026, 1, 5)
DEFAULT_AVAILABILITY: tuple[Window, ...] = tuple((d, "09:00", "17:00") for d in DAYS[:5])


def _minutes(text: str) -> int | None:
    parts = text.strip().split(":")
    if len(parts) < 2 or not (parts[0].isdigit() and parts[1][:2].isdigit()):
        return None
    value = int(parts[0]) * 60 + int(parts[1][:2])
    return value if 0 <= value <= 24 * 60 else None


@lru_cache(maxsize=1024)
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ValueError, LookupError):  # ZoneInfoNotFoundError is a LookupError
        return UTC


@lru_cache(maxsize=65536)
def _utc_offset_minutes(time_zone: str, day: int, minute: int) -> int:
    local = datetime(
        REFERENCE_MONDAY.year, REFERENCE_MONDAY.month, REFERENCE_MONDAY.day
    ) + timedelta(days=day, minutes=minute)
    offset = local.replace(tzinfo=_zone(time_zone)).utcoffset()
    return 0 if offset is None else int(offset.total_seconds()) // 60


def _nearest_quarter(minute: int) -> int:
    return (minute + QUARTER // 2) // QUARTER


@lru_cache(maxsize=16384)
def weekly_mask(time_zone: str, availability: tuple[Window, ...]) -> NDArray[np.bool_]:
    """The UTC quarter hours of the reference week a person is available (read-only)."""
    mask = np.zeros(QUARTERS_PER_WEEK, dtype=np.bool_)
    for day_name, start_text, end_text in availability or DEFAULT_AVAILABILITY:
        day = DAYS.index(day_name.lower()) if day_name.lower() in DAYS else -1
        start, end = _minutes(start_text), _minutes(end_text)
        if day < 0 or start is None or end is None or end <= start:
            continue
        utc_start = day * 24 * 60 + start - _utc_offset_minutes(time_zone, day, start)
        first = _nearest_quarter(utc_start)
        last = _nearest_quarter(utc_start + end - start)
        if last > first:
            mask[np.arange(first, last) % QUARTERS_PER_WEEK] = True
    mask.flags.writeable = False
    return mask


def overlap_quarters(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> int:
    """Quarter hours of the week in which both masks are set."""
    return int(np.count_nonzero(a & b))
