"""The sweep that completes pairings at the end of their program's pairing length."""

from __future__ import annotations

from app.db.engine import Database
from app.db.models import Pairing
from app.domain.actors import Actor
from app.domain.pairings import complete_finished_pairings
from tests.factories import Factory

SYSTEM = Actor.system()


async def states(db: Database, pairings: list[object]) -> list[str]:
    async with db.session() as session:
        found = [await session.get(Pairing, p.id) for p in pairings]  # type: ignore[attr-defined]
    return [p.state for p in found if p is not None]


async def test_each_program_s_length_decides_and_work_is_done_in_batches(
    db: Database, factory: Factory
) -> None:
    short = await factory.paired(activated_days_ago=29, pairing_length_weeks=4)
    short_more = [
        await factory.paired(program=short.program, manager=short.manager, activated_days_ago=days)
        for days in (28, 27)  # exactly four weeks ago is due; a day less is not
    ]
    long = await factory.paired(activated_days_ago=29, pairing_length_weeks=12)
    paused = await factory.paired(
        program=short.program, manager=short.manager, state="paused", activated_days_ago=40
    )

    async with db.session() as session:
        first = await complete_finished_pairings(session, SYSTEM, batch=2)
        await session.commit()
    async with db.session() as session:
        second = await complete_finished_pairings(session, SYSTEM, batch=2)
        await session.commit()
    async with db.session() as session:
        third = await complete_finished_pairings(session, SYSTEM, batch=2)
        await session.commit()

    assert (first, second, third) == (2, 1, 0)
    assert await states(db, [short, *short_more, long, paused]) == [
        "completed",
        "completed",
        "active",
        "active",
        "completed",
    ]
