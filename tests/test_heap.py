"""Start-up settles the heap once; the cycle collector keeps working afterwards."""

from __future__ import annotations

import gc
import weakref

from app.heap import YOUNG_THRESHOLD, settle_startup_heap


class _Node:
    partner: object = None


def test_after_settling_the_collector_still_frees_cycles() -> None:
    settle_startup_heap()
    frozen = gc.get_freeze_count()
    made_since = [[index] for index in range(100)]
    settle_startup_heap()  # once per process: a second call freezes nothing more

    assert gc.get_freeze_count() == frozen
    assert len(made_since) == 100
    assert gc.isenabled()
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    first, second = _Node(), _Node()
    first.partner, second.partner = second, first
    gone = weakref.ref(first)
    del first, second
    gc.collect()
    assert gone() is None
