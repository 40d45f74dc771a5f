"""HRIS sync through its service functions: who may push, the circuit breaker's bounds, and
what the audit log keeps of each run."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from app.db.engine import Database
from app.db.models import Employee, HrisRun
from app.domain import hris
from app.domain.actors import Actor, Scope
from app.domain.errors import Forbidden, InvalidInput
from tests.api.rest.test_hris_push import record
from tests.domain.support import SYSTEM, actor_for, audit_trail, reload, service
from tests.factories import Factory


async def delta(
    db: Database, actor: Actor, records: list[Any], source: str = "workday", **options: Any
) -> Any:
    async with db.session() as session:
        run, results = await hris.push_delta(
            session, actor, source=source, records=records, **options
        )
        await session.commit()
        return run, results


async def snapshot(db: Database, actor: Actor, records: list[Any], *, max_share: float) -> HrisRun:
    """Open, push one page and commit a snapshot of workday."""
    async with db.session() as session:
        run = await hris.open_snapshot(session, actor, source="workday")
        await hris.push_snapshot_page(session, actor, run.id, records=records)
        run = await hris.commit_snapshot(session, actor, run.id, max_share=max_share)
        await session.commit()
        return run


def people(count: int) -> list[dict[str, Any]]:
    return [record(f"w-{n}") for n in range(count)]


async def test_only_hris_clients_and_admins_may_push(db: Database, factory: Factory) -> None:
    participant = await actor_for(db, await factory.employee())
    for actor in (
        participant,
        service(Scope.EMPLOYEES_WRITE),
        service(Scope.SCIM),
        service(Scope.READ),
    ):
        async with db.session() as session:
            with pytest.raises(Forbidden):
                await hris.push_delta(session, actor, source="workday", records=[record("e-1")])
            with pytest.raises(Forbidden):
                await hris.open_snapshot(session, actor, source="workday")
    admin = await actor_for(db, await factory.employee(is_admin=True))
    for actor in (admin, service(Scope.HRIS_WRITE)):
        run, results = await delta(db, actor, [record(f"e-{actor.kind}")])
        assert [r.outcome for r in results] == ["created"]
        assert run.status == "committed"


@pytest.mark.parametrize(
    ("max_share", "left_out", "status"),
    [
        (0.0, 1, "held"),  # no deactivation without an admin
        (0.0, 0, "committed"),  # nothing to deactivate: nothing to hold
        (0.25, 1, "committed"),
        (0.25, 2, "held"),  # two of four is over a quarter
        (1.0, 4, "committed"),  # the breaker switched off
    ],
)
async def test_the_breakers_bounds(
    db: Database, max_share: float, left_out: int, status: str
) -> None:
    sync = service(Scope.HRIS_WRITE)
    await delta(db, sync, people(4))
    run = await snapshot(db, sync, people(4 - left_out), max_share=max_share)
    assert (run.status, run.to_deactivate, run.active_before) == (status, left_out, 4)
    assert run.deactivated == (left_out if status == "committed" else 0)


async def test_pushes_and_decisions_leave_an_audit_trail(db: Database, factory: Factory) -> None:
    sync = service(Scope.HRIS_WRITE, name="workday-sync")
    first, results = await delta(db, sync, [*people(10), record("quits")])
    quitter = results[-1].employee_id
    assert quitter is not None
    _, later = await delta(
        db, sync, [record("w-0", at=1, job_title="Lead"), record("quits", at=1, active=False)]
    )
    assert [r.outcome for r in later] == ["updated", "updated"]

    [pushed] = await audit_trail(db, first.id)
    assert (pushed.action, pushed.actor_service) == ("hris.pushed", "workday-sync")
    assert pushed.details["source"] == "workday"
    assert sorted(pushed.details["created"]) == sorted(str(r.employee_id) for r in results)
    assert pushed.details["updated"] == []
    left = await audit_trail(db, quitter)
    assert [(e.action, e.details.get("reason")) for e in left][-1] == (
        "employee.deactivated",
        "left (HRIS)",
    )

    run = await snapshot(db, sync, people(9), max_share=0.1)
    assert run.status == "committed"
    trail = [(e.action, e.details) for e in await audit_trail(db, run.id)]
    assert [a for a, _ in trail] == [
        "hris.snapshot_opened",
        "hris.pushed",
        "hris.snapshot_committed",
    ]
    assert trail[-1][1] == {"source": "workday", "to_deactivate": 1, "deactivated": 1}
    missing = await audit_trail(db, (await employee_with(db, "w-9")).id)
    assert missing[-1].action == "employee.deactivated"
    assert missing[-1].details == {"reason": "missing from the source's snapshot"}


async def test_a_decision_is_audited_with_the_admin_who_made_it(
    db: Database, factory: Factory
) -> None:
    sync = service(Scope.HRIS_WRITE)
    await delta(db, sync, people(4))
    held = await snapshot(db, sync, people(1), max_share=0.1)
    admin_row = await factory.employee(is_admin=True)
    admin = await actor_for(db, admin_row)
    async with db.session() as session:
        run = await hris.reject_run(session, admin, held.id)
        await session.commit()
    assert (run.status, run.decided_by) == ("rejected", f"employee {admin_row.id}")
    events = await audit_trail(db, held.id)
    assert [e.action for e in events][-2:] == ["hris.snapshot_held", "hris.snapshot_rejected"]
    assert events[-1].actor_employee_id == admin_row.id
    for n in range(4):
        assert (await employee_with(db, f"w-{n}")).active
    assert (await reload(db, HrisRun, held.id)).finished_at is not None


async def test_the_system_is_named_in_its_runs(db: Database) -> None:
    run, _ = await delta(db, SYSTEM, [record("e-1")])
    assert run.pushed_by == "service system"


async def employee_with(db: Database, external_id: str) -> Employee:
    async with db.session() as session:
        found = await session.scalar(
            select(Employee).where(col(Employee.external_id) == external_id)
        )
        assert found is not None
        return found


async def test_a_push_carries_the_apis_thousand_records_unless_its_caller_allows_more(
    db: Database,
) -> None:
    sync = service(Scope.HRIS_WRITE)
    many = people(1001)
    async with db.session() as session:
        with pytest.raises(InvalidInput, match="at most 1000 records, this one has 1001"):
            await hris.push_delta(session, sync, source="workday", records=many)
        run = await hris.open_snapshot(session, sync, source="workday")
        with pytest.raises(InvalidInput, match="at most 1000 records"):
            await hris.push_snapshot_page(session, sync, run.id, records=many)

    # The CSV import pushes larger batches: it says how large.
    _, results = await delta(db, sync, many, max_records=2500)
    assert [r.outcome for r in results] == ["created"] * 1001
