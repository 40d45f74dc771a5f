"""Keeping CPython's cycle collector out of the way of bulk work.

A page of 1,000 HRIS records, or a batch of a CSV import, makes and keeps tens of thousands of
objects for a moment. With the collector's defaults (a young collection every 700 new objects,
an older one every tenth) that work sets off collection after collection, and the older ones
walk everything loaded at start-up (modules, mappers, schemas, routes) again each time: a
fifth of a 100,000-row import's time went to it.
"""

from __future__ import annotations

import gc

#: New container objects between young collections (CPython's default is 700): a batch's
#: worth, so a batch is walked about once, not dozens of times, before it is freed.
YOUNG_THRESHOLD = 50_000
#: Young collections per middle one, and middle ones per full one (CPython's default: 10, 10).
OLDER_THRESHOLD = 20

_settled = False


def pause_collection() -> None:
    """Keep the collector off while start-up loads the code (``settle_startup_heap`` turns
    it back on). Loading makes hundreds of thousands of objects that live as long as the
    process; collecting while they are made walks them again and again and frees nothing
    (a tenth of the import command's start-up)."""
    gc.disable()


def resume_collection() -> None:
    """Turn the collector back on after ``pause_collection``."""
    gc.enable()


def settle_startup_heap(*, collect: bool = True) -> None:
    """Once start-up has loaded what the process keeps for its lifetime: collect what start-up
    left, put the rest out of the collector's reach (``gc.freeze``), and collect less often.

    Done once per process; reference counting frees nearly everything a request or a batch
    makes, and the collector still finds cycles, only in larger steps. A short-lived command
    may skip the collection (``collect=False``): what start-up left is then kept until it
    exits, a few dozen objects, instead of walking every object loaded to find them. A
    collector paused for start-up (``pause_collection``) is turned back on.
    """
    global _settled
    if not _settled:
        _settled = True
        if collect:
            gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, OLDER_THRESHOLD, OLDER_THRESHOLD)
    resume_collection()
