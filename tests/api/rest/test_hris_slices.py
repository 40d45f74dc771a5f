"""A page written in slices: while the database writes one slice, the next is checked and
planned. What a page does must not depend on where its slices fall, so these tests cut pages
into slices of two records (``SLICE``) and check what crosses from one slice to the next."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.db.engine import Database
from app.db.models import Employee
from app.domain import hris
from app.domain.actors import Scope
from app.domain.hris import push as push_module
from tests.api.rest.test_hris_managers import CYCLE, ids_of, manager_of
from tests.api.rest.test_hris_push import hris_client, outcomes, push, record, stored
from tests.domain.support import service
from tests.factories import Factory


@pytest.fixture(autouse=True)
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(push_module, "SLICE", 2)


async def test_a_report_in_an_early_slice_is_linked_to_a_manager_arriving_in_a_later_one(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris_, admin = await hris_client(factory), await factory.admin()
    body = await push(
        client,
        hris_,
        [
            record("report", manager_external_id="middle"),  # slice 1
            record("other"),
            record("middle", manager_external_id="top"),  # slice 2
            record("filler"),
            record("top", job_level=10),  # slice 3
        ],
    )
    assert outcomes(body) == ["created"] * 5
    ids = ids_of(body)
    assert await manager_of(client, admin, ids["report"]) == (ids["middle"], "middle")
    assert await manager_of(client, admin, ids["middle"]) == (ids["top"], "top")
    chain = await client.get(
        f"/api/v1/employees/{ids['report']}/management-chain", headers=admin.headers
    )
    assert [m["id"] for m in chain.json()] == [ids["middle"], ids["top"]]
    # Linked in the same push: nobody is left waiting for a manager who is here.
    async with db.session() as session:
        waiting = select(col(Employee.external_id)).where(
            col(Employee.manager_external_id).is_not(None), col(Employee.manager_id).is_(None)
        )
        assert (await session.execute(waiting)).scalars().all() == []


async def test_a_cycle_of_newcomers_in_different_slices_is_refused_and_the_rest_kept(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris_, admin = await hris_client(factory), await factory.admin()
    body = await push(
        client,
        hris_,
        [
            record("a", manager_external_id="c"),  # slice 1
            record("fine", manager_external_id="boss"),
            record("b", manager_external_id="a"),  # slice 2
            record("boss"),
            record("c", manager_external_id="b"),  # slice 3
        ],
    )
    results = {r["external_id"]: r for r in body["results"]}
    refused = [x for x in "abc" if results[x]["outcome"] == "invalid"]
    assert refused, body
    for external_id in refused:
        assert results[external_id]["field"] == "manager_external_id"
        assert CYCLE in results[external_id]["reason"]
        assert await stored(db, external_id) is None
    assert results["fine"]["outcome"] == results["boss"]["outcome"] == "created"
    ids = ids_of(body)
    assert await manager_of(client, admin, ids["fine"]) == (ids["boss"], "boss")
    # Whoever of the loop was kept is not in a loop: following managers up ends.
    for external_id in set("abc") - set(refused):
        person = await stored(db, external_id)
        assert person is not None
        seen: set[Any] = set()
        while person is not None and person.manager_id is not None:
            assert person.id not in seen, "a cycle was stored"
            seen.add(person.id)
            async with db.session() as session:
                person = await session.get(Employee, person.manager_id)


async def test_an_email_taken_by_a_record_of_an_earlier_slice_is_refused_as_the_pages_own(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris_ = await hris_client(factory)
    body = await push(
        client,
        hris_,
        [
            record("first", email="shared@example.com"),  # slice 1
            record("x"),
            record("y"),  # slice 2
            record("second", email="Shared@Example.com"),
        ],
    )
    assert outcomes(body) == ["created", "created", "created", "invalid"]
    refused = body["results"][3]
    assert refused["field"] == "email"
    assert refused["reason"] == "e-mail Shared@example.com is also used by record 0"
    person = await stored(db, "first")
    assert person is not None
    assert person.email == "shared@example.com"


async def test_an_email_written_differently_from_its_stored_form_still_finds_its_owner(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """The page looks people up by the e-mails as sent; a validator that normalises one
    (here: an accent sent as a separate combining mark) is looked up again, and the address
    is refused as someone else's rather than colliding in the database."""
    hris_ = await hris_client(factory)
    composed = "jos\u00e9@example.com"
    await push(client, hris_, [record("owner", email=composed)])
    body = await push(
        client,
        hris_,
        [record("x"), record("y"), record("newcomer", email="jose\u0301@example.com")],
    )
    assert outcomes(body) == ["created", "created", "invalid"]
    result = body["results"][2]
    assert result["field"] == "email"
    assert result["reason"] == f"e-mail {composed} already belongs to employee owner"
    assert await stored(db, "newcomer") is None


async def test_someone_created_after_the_page_was_sorted_is_updated_not_duplicated(
    db: Database,
) -> None:
    """Between the unlocked look-up that settles unchanged records and the locked write, a
    concurrent push may create a person the look-up did not find: the write collides, and the
    page is written again with everyone looked up."""
    actor = service(Scope.HRIS_WRITE, name="workday-sync")
    async with db.session() as session:
        await hris.push_delta(session, actor, source="workday", records=[record("late")])
        await session.commit()
    records = [record("a"), record("b"), record("late", at=5, job_title="Lead"), record("c")]
    async with db.session() as session:
        run, _ = await hris.push_delta(session, actor, source="workday", records=[])
        raw = push_module.keyed(records)
        # As if "late" had not been there when the page was sorted.
        unsettled = push_module.Unsettled(raw, unknown={"a", "b", "late", "c"})
        applied, _ = await push_module.apply_records(session, actor, run, unsettled)
        await session.commit()
    assert [(r.external_id, r.outcome) for r in applied] == [
        ("a", "created"),
        ("b", "created"),
        ("late", "updated"),
        ("c", "created"),
    ]
    async with db.session() as session:
        count = select(col(Employee.id)).where(col(Employee.external_id) == "late")
        assert len((await session.execute(count)).all()) == 1
    late = await stored(db, "late")
    assert late is not None
    assert late.job_title == "Lead"


@pytest.mark.parametrize("failing_slice", [1, 2, 3])
async def test_a_slice_that_fails_to_write_leaves_nothing_of_the_page(
    client: httpx.AsyncClient,
    crashing_client: httpx.AsyncClient,
    factory: Factory,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    failing_slice: int,
) -> None:
    hris_ = await hris_client(factory)
    await push(client, hris_, [record("kept", job_title="Analyst")])
    original: Callable[..., Any] = push_module._Writer._send
    sent: list[int] = []

    async def failing(self: Any, inserts: list[Any], updates: list[Any]) -> None:
        sent.append(len(inserts) + len(updates))
        if len(sent) == failing_slice:
            raise RuntimeError("the database went away")
        await original(self, inserts, updates)

    monkeypatch.setattr(push_module._Writer, "_send", failing)
    page = [record("kept", at=5, job_title="Lead"), *(record(f"new-{n}") for n in range(5))]
    response = await crashing_client.post(
        "/api/v1/hris/employees:batch",
        headers=hris_.headers,
        json={"source": "workday", "records": page},
    )
    assert response.status_code == 500
    assert len(sent) == failing_slice  # the slices after it were never sent
    kept = await stored(db, "kept")
    assert kept is not None
    assert kept.job_title == "Analyst"
    for n in range(5):
        assert await stored(db, f"new-{n}") is None
