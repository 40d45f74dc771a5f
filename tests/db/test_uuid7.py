"""Time-ordered ids: what "newest first" and keyset pagination rely on."""

from __future__ import annotations

import time
import uuid

from app.db.types import uuid7, uuid7s


def test_ids_made_one_by_one_and_in_bulk_keep_increasing() -> None:
    ids = [uuid7(), *uuid7s(5000), uuid7(), *uuid7s(1), *uuid7s(3), uuid7()]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {i.version for i in ids} == {7}
    assert {i.variant for i in ids} == {uuid.RFC_4122}


def test_an_id_carries_the_millisecond_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid7s(10)
    after = time.time_ns() // 1_000_000
    for value in made:
        # Past 4,096 ids in one millisecond the counter borrows the next one.
        assert before <= value.int >> 80 <= after + 2


def test_bulk_ids_differ_in_their_random_part() -> None:
    made = uuid7s(1000)
    assert len({value.int & ((1 << 62) - 1) for value in made}) == 1000
    assert uuid7s(0) == []
