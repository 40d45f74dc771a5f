"""Concurrent HRIS pushes about the same people: the newest record wins, whatever the order the
requests arrive in, and nobody is stored twice."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.db.engine import Database
from app.db.models import Employee
from tests.api.rest.test_hris_push import (
    API,
    count_rows,
    hris_client,
    record,
    stored,
)
from tests.factories import Factory, Service

ROUNDS = 4


async def post(client: httpx.AsyncClient, hris: Service, records: list[Any]) -> Any:
    response = await client.post(
        f"{API}/hris/employees:batch",
        headers=hris.headers,
        json={"source": "workday", "records": records},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def at_once(client: httpx.AsyncClient, hris: Service, *pushes: list[Any]) -> list[Any]:
    return list(await asyncio.gather(*(post(client, hris, records) for records in pushes)))


def outcome(body: dict[str, Any]) -> str:
    [result] = body["results"]
    return str(result["outcome"])


@pytest.mark.parametrize("newer_first", [True, False])
async def test_two_pushes_of_the_same_person_keep_the_newer(
    client: httpx.AsyncClient, factory: Factory, db: Database, newer_first: bool
) -> None:
    hris = await hris_client(factory)
    for n in range(ROUNDS):
        ext = f"e-{n}"
        await post(client, hris, [record(ext, at=0, job_title="Analyst")])
        newer = [record(ext, at=20, job_title="Director", job_level=8)]
        older = [record(ext, at=10, job_title="Manager", job_level=6)]
        pair = (newer, older) if newer_first else (older, newer)
        answers = await at_once(client, hris, *pair)

        got = {outcome(a) for a in answers}
        # Whichever went first: the newer applies; the older either applied before it or
        # arrived after it and was stale.
        assert got in ({"updated"}, {"updated", "stale"}), answers
        employee = await stored(db, ext)
        assert employee is not None
        assert (employee.job_title, employee.job_level) == ("Director", 8)
    assert await count_rows(db, Employee) == ROUNDS


@pytest.mark.parametrize("newer_first", [True, False])
async def test_two_pushes_creating_the_same_person_make_one_row(
    client: httpx.AsyncClient, factory: Factory, db: Database, newer_first: bool
) -> None:
    hris = await hris_client(factory)
    for n in range(ROUNDS):
        ext = f"new-{n}"
        newer = [record(ext, at=20, job_title="Director")]
        older = [record(ext, at=10, job_title="Manager")]
        pair = (newer, older) if newer_first else (older, newer)
        answers = await at_once(client, hris, *pair)

        got = sorted(outcome(a) for a in answers)
        assert got in (["created", "stale"], ["created", "updated"]), answers
        ids = {a["results"][0]["employee_id"] for a in answers}
        assert len(ids) == 1, "both answers name the one person"
        employee = await stored(db, ext)
        assert employee is not None
        assert employee.job_title == "Director"
        assert str(employee.id) in ids
    assert await count_rows(db, Employee) == ROUNDS


async def test_the_same_new_record_pushed_twice_at_once_is_created_once(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    for n in range(ROUNDS):
        ext = f"twin-{n}"
        answers = await at_once(client, hris, [record(ext)], [record(ext)])
        assert sorted(outcome(a) for a in answers) == ["created", "unchanged"], answers
    assert await count_rows(db, Employee) == ROUNDS


async def test_two_new_people_with_one_e_mail_at_once_make_one_row(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    for n in range(ROUNDS):
        email = f"shared-{n}@example.com"
        answers = await at_once(
            client, hris, [record(f"a-{n}", email=email)], [record(f"b-{n}", email=email)]
        )
        results = sorted((a["results"][0] for a in answers), key=lambda r: r["outcome"])
        assert [r["outcome"] for r in results] == ["created", "invalid"], answers
        assert results[1]["field"] == "email"
    assert await count_rows(db, Employee) == ROUNDS


async def test_overlapping_pages_of_many_people_all_land(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """Two pushes sharing half their people, in opposite orders (a deadlock would show)."""
    hris = await hris_client(factory)
    first = [record(f"p-{n}", at=1, job_title="First") for n in range(0, 60)]
    second = [record(f"p-{n}", at=2, job_title="Second") for n in reversed(range(30, 90))]
    answers = await at_once(client, hris, first, second)
    assert sum(a["counts"].get("invalid", 0) for a in answers) == 0
    assert await count_rows(db, Employee) == 90
    for n in (0, 29, 30, 59, 60, 89):
        employee = await stored(db, f"p-{n}")
        assert employee is not None
        assert employee.job_title == ("First" if n < 30 else "Second"), n


async def test_two_snapshots_of_one_source_opened_at_once_make_one_run(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris = await hris_client(factory)
    for source in ("workday", "sap", "bamboo"):
        answers = await asyncio.gather(
            *(
                client.post(f"{API}/hris/runs", headers=hris.headers, json={"source": source})
                for _ in range(2)
            )
        )
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    listed = await client.get(f"{API}/hris/runs", headers=hris.headers, params={"status": "open"})
    assert len(listed.json()["items"]) == 3


async def test_a_run_committed_twice_at_once_is_committed_once(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    await post(client, hris, [record(f"w-{n}") for n in range(10)])
    run = await client.post(f"{API}/hris/runs", headers=hris.headers, json={"source": "workday"})
    run_id = run.json()["id"]
    page = await client.post(
        f"{API}/hris/runs/{run_id}/employees:batch",
        headers=hris.headers,
        json={"records": [record(f"w-{n}") for n in range(9)]},
    )
    assert page.status_code == 200
    answers = await asyncio.gather(
        *(client.post(f"{API}/hris/runs/{run_id}/commit", headers=hris.headers) for _ in range(2))
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    [done] = [a.json() for a in answers if a.status_code == 200]
    assert (done["status"], done["deactivated"]) == ("committed", 1)
    employee = await stored(db, "w-9")
    assert employee is not None
    assert employee.active is False
