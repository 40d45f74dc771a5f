"""A crash in the middle of an HRIS write leaves nothing half-applied: the unit of work is the
request, and whatever it had written is rolled back; the run can be carried on afterwards."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.models import Employee, HrisRun
from app.domain import employees
from app.domain.hris import push as push_module
from tests.api.rest.test_hris_push import (
    API,
    count_rows,
    hris_client,
    push,
    read_employee,
    record,
)
from tests.api.rest.test_hris_snapshots import (
    act,
    active_by_external_id,
    get_run,
    open_run,
    people,
    push_page,
)
from tests.factories import Factory


class Crash(RuntimeError):
    """The failure the tests inject."""


def crash_on_second_deactivation(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Deactivate the first person for real, then fail; returns who was deactivated."""
    original = employees._deactivate
    done: list[str] = []

    async def failing(session: AsyncSession, actor: Any, employee: Employee) -> None:
        if done:
            raise Crash("the database went away half-way")
        await original(session, actor, employee)
        done.append(str(employee.external_id))

    monkeypatch.setattr(employees, "_deactivate", failing)
    return done


def check_crash_answer(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Crash" not in response.text
    assert "Traceback" not in response.text


async def test_a_commit_that_fails_half_way_deactivates_nobody_and_can_be_retried(
    client: httpx.AsyncClient,
    crashing_client: httpx.AsyncClient,
    factory: Factory,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hris = await hris_client(factory)
    paired = await factory.paired()
    await push(client, hris, [*people(18), record("leaver", email=paired.mentor.employee.email)])
    await push(client, hris, [record("also-leaving")])
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], people(18))

    done = crash_on_second_deactivation(monkeypatch)
    response = await crashing_client.post(
        f"{API}/hris/runs/{run['id']}/commit", headers=hris.headers
    )
    check_crash_answer(response)
    assert len(done) == 1  # one person had been deactivated when it failed

    assert all((await active_by_external_id(db)).values())
    pairing = await client.get(f"{API}/pairings/{paired.id}", headers=paired.mentee.headers)
    assert pairing.json()["state"] == "active"  # the cascade was rolled back too
    report = await get_run(client, hris, run["id"])
    assert (report["status"], report["deactivated"], report["finished_at"]) == ("open", 0, None)

    monkeypatch.undo()
    committed = await act(client, hris, run["id"], "commit")
    assert (committed["status"], committed["deactivated"]) == ("committed", 2)
    active = await active_by_external_id(db)
    assert (active["leaver"], active["also-leaving"]) == (False, False)
    pairing = await client.get(f"{API}/pairings/{paired.id}", headers=paired.mentee.headers)
    assert (pairing.json()["state"], pairing.json()["end_reason"]) == ("ended", "left_company")


async def test_an_approval_that_fails_half_way_leaves_the_run_held(
    client: httpx.AsyncClient,
    crashing_client: httpx.AsyncClient,
    factory: Factory,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    await push(client, hris, people(10))
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], people(5))
    assert (await act(client, hris, run["id"], "commit"))["status"] == "held"

    crash_on_second_deactivation(monkeypatch)
    response = await crashing_client.post(
        f"{API}/hris/runs/{run['id']}/approve", headers=admin.headers
    )
    check_crash_answer(response)
    assert all((await active_by_external_id(db)).values())
    report = await get_run(client, admin, run["id"])
    assert (report["status"], report["decided_by"]) == ("held", None)

    monkeypatch.undo()
    approved = await act(client, admin, run["id"], "approve")
    assert (approved["status"], approved["deactivated"]) == ("committed", 5)


async def test_a_delta_push_that_fails_after_its_writes_stores_nothing(
    client: httpx.AsyncClient,
    crashing_client: httpx.AsyncClient,
    factory: Factory,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    [kept] = (await push(client, hris, [record("e-0", job_title="Analyst")]))["results"]
    seen_before_crash: list[int] = []
    original = push_module._cycles

    async def failing(session: AsyncSession, changed: Any) -> Any:
        await original(session, changed)
        # The page's rows are written (inside the request's transaction) when it fails.
        seen_before_crash.append(
            await session.scalar(select(func.count()).select_from(Employee)) or 0
        )
        raise Crash("the process was killed")

    monkeypatch.setattr(push_module, "_cycles", failing)
    response = await crashing_client.post(
        f"{API}/hris/employees:batch",
        headers=hris.headers,
        json={
            "source": "workday",
            "records": [
                record("e-0", at=1, job_title="Lead"),
                record("e-1"),
                record("e-2", manager_external_id="e-0"),
            ],
        },
    )
    check_crash_answer(response)
    assert seen_before_crash == [4]  # admin, e-0 and the two new ones

    assert await count_rows(db, Employee) == 2
    assert (await read_employee(client, admin, kept["employee_id"]))["job_title"] == "Analyst"
    assert await count_rows(db, HrisRun) == 1  # the first push's; the failed one left none

    monkeypatch.undo()
    retried = await push(
        client,
        hris,
        [
            record("e-0", at=1, job_title="Lead"),
            record("e-1"),
            record("e-2", manager_external_id="e-0"),
        ],
    )
    assert [r["outcome"] for r in retried["results"]] == ["updated", "created", "created"]


@pytest.mark.parametrize("then", ["resend", "commit"])
async def test_a_snapshot_page_that_fails_stores_none_of_its_records(
    client: httpx.AsyncClient,
    crashing_client: httpx.AsyncClient,
    factory: Factory,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    then: str,
) -> None:
    hris = await hris_client(factory)
    await push(client, hris, people(10))
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], people(9))  # w-9 is left out so far
    failed_page = [record("w-9", job_title="Lead"), record("new-1")]

    original = push_module._cycles

    async def failing(session: AsyncSession, changed: Any) -> Any:
        await original(session, changed)
        raise Crash("the process was killed")

    monkeypatch.setattr(push_module, "_cycles", failing)
    response = await crashing_client.post(
        f"{API}/hris/runs/{run['id']}/employees:batch",
        headers=hris.headers,
        json={"records": failed_page},
    )
    check_crash_answer(response)
    assert "new-1" not in await active_by_external_id(db)
    report = await get_run(client, hris, run["id"])
    assert (report["status"], report["pages"], report["records"]) == ("open", 1, 9)
    assert report["counts"] == {"unchanged": 9}
    monkeypatch.undo()

    if then == "commit":
        # The failed page did not count as seen: w-9 is still missing from the snapshot.
        committed = await act(client, hris, run["id"], "commit")
        assert (committed["status"], committed["deactivated"]) == ("committed", 1)
        assert (await active_by_external_id(db))["w-9"] is False
        return
    # The job sends the page again and the run goes on as if nothing had happened.
    page = await push_page(client, hris, run["id"], failed_page)
    assert [r["outcome"] for r in page["results"]] == ["updated", "created"]
    committed = await act(client, hris, run["id"], "commit")
    assert (committed["status"], committed["deactivated"], committed["pages"]) == (
        "committed",
        0,
        2,
    )
    assert all((await active_by_external_id(db)).values())
