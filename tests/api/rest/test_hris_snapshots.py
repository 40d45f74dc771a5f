"""HRIS snapshot runs: a full sync in pages, then a commit that deactivates the source's people
the snapshot left out, guarded by a circuit breaker that holds the run for an admin."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlmodel import col

from app.db.engine import Database
from app.db.models import Employee
from tests.api.rest.test_hris_push import (
    API,
    count_rows,
    hris_client,
    outcomes,
    push,
    read_employee,
    record,
)
from tests.factories import Factory, Person, Service


async def open_run(
    client: httpx.AsyncClient, who: Person | Service, source: str = "workday", expected: int = 201
) -> Any:
    response = await client.post(f"{API}/hris/runs", headers=who.headers, json={"source": source})
    assert response.status_code == expected, response.text
    return response.json()


async def push_page(
    client: httpx.AsyncClient,
    who: Person | Service,
    run_id: str,
    records: list[Any],
    expected: int = 200,
) -> Any:
    response = await client.post(
        f"{API}/hris/runs/{run_id}/employees:batch", headers=who.headers, json={"records": records}
    )
    assert response.status_code == expected, response.text
    return response.json()


async def act(
    client: httpx.AsyncClient, who: Person | Service, run_id: str, action: str, expected: int = 200
) -> Any:
    """``commit``, ``approve``, ``reject`` or ``abort`` a run."""
    response = await client.post(f"{API}/hris/runs/{run_id}/{action}", headers=who.headers)
    assert response.status_code == expected, response.text
    return response.json()


async def get_run(client: httpx.AsyncClient, who: Person | Service, run_id: str) -> Any:
    response = await client.get(f"{API}/hris/runs/{run_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def active_by_external_id(db: Database) -> dict[str | None, bool]:
    """Every stored employee's active flag by external id (hand-made people under None)."""
    async with db.session() as session:
        rows = (
            await session.execute(select(col(Employee.external_id), col(Employee.active)))
        ).all()
    return {external_id: active for external_id, active in rows if external_id is not None}


def people(count: int, prefix: str = "w") -> list[dict[str, Any]]:
    return [record(f"{prefix}-{n}") for n in range(count)]


@pytest.fixture
def share(app: FastAPI) -> Iterator[Callable[[float], None]]:
    """Set the circuit breaker's share for one test."""
    original = app.state.settings

    def set_share(value: float) -> None:
        app.state.settings = original.model_copy(update={"hris_max_deactivation_share": value})

    yield set_share
    app.state.settings = original


# ---------------------------------------------------------------------------------------------
# The happy path
# ---------------------------------------------------------------------------------------------


async def test_a_snapshot_deactivates_only_the_sources_people_it_left_out(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    await push(client, hris, people(10))
    [sap] = (await push(client, hris, [record("s-1")], source="sap"))["results"]
    hand_made = await factory.employee()
    sap_before = await read_employee(client, admin, sap["employee_id"])
    hand_made_before = await read_employee(client, admin, hand_made.id)

    run = await open_run(client, hris)
    assert (run["kind"], run["status"], run["source"]) == ("snapshot", "open", "workday")
    page_1 = await push_page(client, hris, run["id"], people(5))
    assert page_1["run_id"] == run["id"]
    assert outcomes(page_1) == ["unchanged"] * 5
    page_2 = await push_page(
        client,
        hris,
        run["id"],
        [
            record("w-5", job_title="Promoted"),
            record("w-6"),
            record("w-7"),
            record("w-8", email="no longer valid"),  # still works here: not deactivated
            record("w-10"),  # a new hire
        ],
    )
    assert outcomes(page_2) == ["updated", "unchanged", "unchanged", "invalid", "created"]
    # The pages apply at once; nobody is deactivated before the commit.
    assert all((await active_by_external_id(db)).values())
    assert (await get_run(client, hris, run["id"]))["status"] == "open"

    committed = await act(client, hris, run["id"], "commit")
    assert committed["status"] == "committed"
    assert (committed["active_before"], committed["to_deactivate"]) == (11, 1)
    assert committed["deactivated"] == 1
    assert committed["max_deactivation_share"] == pytest.approx(0.10)

    active = await active_by_external_id(db)
    assert active.pop("w-9") is False  # left out: deactivated, never deleted
    assert all(active.values()), active
    assert await count_rows(db, Employee) == 14  # admin, hand-made, sap, w-0…w-10
    # Other sources and people added by hand are not the snapshot's business.
    assert await read_employee(client, admin, sap["employee_id"]) == sap_before
    assert await read_employee(client, admin, hand_made.id) == hand_made_before


async def test_a_snapshot_leaving_nobody_out_deactivates_nobody(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    await push(client, hris, people(3))
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], people(3))
    committed = await act(client, hris, run["id"], "commit")
    assert (committed["status"], committed["to_deactivate"], committed["deactivated"]) == (
        "committed",
        0,
        0,
    )
    assert all((await active_by_external_id(db)).values())


async def test_the_snapshot_ends_the_pairings_of_the_people_it_deactivates(
    client: httpx.AsyncClient, factory: Factory, share: Callable[[float], None]
) -> None:
    share(0.5)
    hris = await hris_client(factory)
    paired = await factory.paired()
    await push(client, hris, [record("leaver", email=paired.mentor.employee.email, job_level=2)])
    await push(client, hris, people(2))
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], people(2))
    assert (await act(client, hris, run["id"], "commit"))["deactivated"] == 1

    view = await client.get(f"{API}/pairings/{paired.id}", headers=paired.mentee.headers)
    assert (view.json()["state"], view.json()["end_reason"]) == ("ended", "left_company")


async def test_someone_back_in_the_next_snapshot_is_reactivated(
    client: httpx.AsyncClient, factory: Factory, db: Database, share: Callable[[float], None]
) -> None:
    """Left out of one snapshot by mistake, sent again unchanged in the next one: the source
    says they are active, so they are."""
    share(0.5)
    hris = await hris_client(factory)
    await push(client, hris, people(4))
    first = await open_run(client, hris)
    await push_page(client, hris, first["id"], people(3))
    await act(client, hris, first["id"], "commit")
    assert (await active_by_external_id(db))["w-3"] is False

    second = await open_run(client, hris)
    page = await push_page(client, hris, second["id"], people(4))
    assert outcomes(page) == ["unchanged"] * 3 + ["updated"]
    await act(client, hris, second["id"], "commit")
    assert all((await active_by_external_id(db)).values())


async def test_a_stale_record_in_the_snapshot_still_counts_as_seen(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """The source sent an old copy of someone: old news, but they are still there."""
    hris = await hris_client(factory)
    await push(client, hris, [record(f"w-{n}", at=10) for n in range(3)])
    run = await open_run(client, hris)
    page = await push_page(
        client, hris, run["id"], [record("w-0", at=10), record("w-1", at=10), record("w-2", at=5)]
    )
    assert outcomes(page) == ["unchanged", "unchanged", "stale"]
    committed = await act(client, hris, run["id"], "commit")
    assert (committed["status"], committed["to_deactivate"]) == ("committed", 0)
    assert all((await active_by_external_id(db)).values())


async def test_a_record_refused_for_a_numeric_external_id_still_counts_as_seen(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """A source that writes its ids as numbers gets the record refused, and the person stays:
    a bad record is not a departure."""
    hris = await hris_client(factory)
    await push(client, hris, [record("1000"), record("1001")])
    run = await open_run(client, hris)
    page = await push_page(
        client,
        hris,
        run["id"],
        [record("1000", at=5), {**record("1001", at=5), "external_id": 1001}],
    )
    assert outcomes(page) == ["unchanged", "invalid"]
    assert (page["results"][1]["external_id"], page["results"][1]["field"]) == (
        "1001",
        "external_id",
    )
    committed = await act(client, hris, run["id"], "commit")
    assert (committed["status"], committed["to_deactivate"]) == ("committed", 0)
    assert await active_by_external_id(db) == {"1000": True, "1001": True}


async def test_a_retried_page_with_the_same_idempotency_key_counts_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris = await hris_client(factory)
    run = await open_run(client, hris)
    answers = []
    for _ in range(2):
        response = await client.post(
            f"{API}/hris/runs/{run['id']}/employees:batch",
            headers={**hris.headers, "Idempotency-Key": f"{run['id']}-page-1"},
            json={"records": people(3)},
        )
        assert response.status_code == 200
        answers.append(response)
    assert answers[1].headers["idempotent-replayed"] == "true"
    assert answers[1].json() == answers[0].json()
    assert outcomes(answers[0].json()) == ["created"] * 3
    report = await get_run(client, hris, run["id"])
    assert (report["pages"], report["records"], report["counts"]) == (1, 3, {"created": 3})


# ---------------------------------------------------------------------------------------------
# The circuit breaker
# ---------------------------------------------------------------------------------------------


async def held_run(client: httpx.AsyncClient, hris: Service) -> Any:
    """Ten people of workday; a snapshot with only four of them, committed: held."""
    await push(client, hris, people(10))
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], people(4))
    held = await act(client, hris, run["id"], "commit")
    return held


async def test_a_snapshot_leaving_out_too_many_is_held_and_deactivates_nobody(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    held = await held_run(client, hris)
    assert held["status"] == "held"
    assert (held["active_before"], held["to_deactivate"], held["deactivated"]) == (10, 6, 0)
    assert "6 of 10" in held["hold_reason"]
    assert "10%" in held["hold_reason"]
    assert held["finished_at"] is None
    assert all((await active_by_external_id(db)).values())
    assert (await get_run(client, hris, held["id"]))["status"] == "held"


async def test_exactly_the_allowed_share_commits(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    await push(client, hris, people(10))
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], people(9))
    committed = await act(client, hris, run["id"], "commit")
    assert (committed["status"], committed["deactivated"]) == ("committed", 1)


async def test_the_share_is_a_setting(
    client: httpx.AsyncClient, factory: Factory, db: Database, share: Callable[[float], None]
) -> None:
    share(0.7)
    hris = await hris_client(factory)
    committed = await held_run(client, hris)  # six of ten is below 70%
    assert (committed["status"], committed["deactivated"]) == ("committed", 6)
    assert committed["max_deactivation_share"] == pytest.approx(0.7)


async def test_an_admin_approves_a_held_run(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    held = await held_run(client, hris)
    approved = await act(client, admin, held["id"], "approve")
    assert (approved["status"], approved["deactivated"]) == ("committed", 6)
    assert approved["decided_by"] == f"employee {admin.id}"
    assert approved["decided_at"] is not None
    assert approved["finished_at"] is not None
    active = await active_by_external_id(db)
    assert [e for e, on in sorted(active.items()) if not on] == [f"w-{n}" for n in range(4, 10)]
    assert await count_rows(db, Employee) == 11
    # Decided once: no second decision.
    await act(client, admin, held["id"], "approve", expected=409)
    await act(client, admin, held["id"], "reject", expected=409)


async def stored_person(db: Database, external_id: str) -> Employee:
    async with db.session() as session:
        stmt = select(Employee).where(col(Employee.external_id) == external_id)
        return (await session.execute(stmt)).scalar_one()


async def test_a_record_saying_someone_left_deactivates_them_when_the_run_commits(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """In a full sync, deactivations wait for the commit and its circuit breaker, whether the
    snapshot leaves a person out or says they left."""
    hris = await hris_client(factory)
    await push(client, hris, people(20))
    run = await open_run(client, hris)
    leaver = record("w-3", at=5, job_title="Analyst", termination_date="2025-02-28")
    page = await push_page(client, hris, run["id"], [*people(3), leaver, *people(20)[4:]])
    assert outcomes(page)[3] == "updated"
    waiting = await stored_person(db, "w-3")
    assert (waiting.active, waiting.job_title, waiting.termination_date) == (True, "Analyst", None)

    committed = await act(client, hris, run["id"], "commit")
    assert (committed["status"], committed["to_deactivate"], committed["deactivated"]) == (
        "committed",
        1,
        1,
    )
    left = await stored_person(db, "w-3")
    assert (left.active, str(left.termination_date)) == (False, "2025-02-28")
    assert sum((await active_by_external_id(db)).values()) == 19


async def test_a_later_page_saying_the_person_stays_has_the_last_word(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    await push(client, hris, people(20))
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], [*people(20)[:3], record("w-3", at=5, active=False)])
    await push_page(client, hris, run["id"], [record("w-3", at=6), *people(20)[4:]])
    committed = await act(client, hris, run["id"], "commit")
    assert (committed["status"], committed["to_deactivate"], committed["deactivated"]) == (
        "committed",
        0,
        0,
    )
    assert all((await active_by_external_id(db)).values())


@pytest.mark.parametrize(
    "later",
    [
        {"at": 2},  # older than the leaving record: stale, not applied
        {"at": 9, "email": "not an e-mail"},  # invalid: not applied
    ],
)
async def test_a_later_record_that_was_not_applied_does_not_keep_a_leaver(
    client: httpx.AsyncClient, factory: Factory, db: Database, later: dict[str, Any]
) -> None:
    hris = await hris_client(factory)
    await push(client, hris, people(20))
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], [*people(20)[:3], record("w-3", at=5, active=False)])
    page = await push_page(client, hris, run["id"], [record("w-3", **later), *people(20)[4:]])
    assert outcomes(page)[0] in ("stale", "invalid")
    committed = await act(client, hris, run["id"], "commit")
    assert (committed["status"], committed["deactivated"]) == ("committed", 1)
    assert (await active_by_external_id(db))["w-3"] is False


@pytest.mark.parametrize("decided_by", ["commit", "approve"])
async def test_a_newer_delta_push_saying_the_person_stays_overrules_the_run(
    client: httpx.AsyncClient, factory: Factory, db: Database, decided_by: str
) -> None:
    """The newest word about a person wins, whichever way it came: before the commit, or
    while the run waits for an admin."""
    hris, admin = await hris_client(factory), await factory.admin()
    await push(client, hris, people(20))
    run = await open_run(client, hris)
    leavers = 1 if decided_by == "commit" else 4
    snapshot = [record(f"w-{n}", at=5, active=n >= leavers) for n in range(20)]
    await push_page(client, hris, run["id"], snapshot)
    if decided_by == "approve":
        held = await act(client, hris, run["id"], "commit")
        assert (held["status"], held["to_deactivate"]) == ("held", 4)
    still_here = await push(client, hris, [record("w-0", at=9, job_title="Still here")])
    assert outcomes(still_here) == ["updated"]
    result = await act(client, hris if decided_by == "commit" else admin, run["id"], decided_by)
    assert (result["status"], result["deactivated"]) == ("committed", leavers - 1)
    assert (await active_by_external_id(db))["w-0"] is True


async def test_an_approval_deactivates_only_whom_the_hold_counted(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """Someone the source brought back while the run waited is not left out after all."""
    hris, admin = await hris_client(factory), await factory.admin()
    await push(client, hris, people(20))
    await push(client, hris, [record("w-19", at=2, active=False)])
    run = await open_run(client, hris)
    await push_page(
        client,
        hris,
        run["id"],
        [*[record(f"w-{n}", at=5, active=False) for n in range(3)], *people(19)[3:]],
    )
    held = await act(client, hris, run["id"], "commit")
    assert (held["status"], held["to_deactivate"]) == ("held", 3)
    assert outcomes(await push(client, hris, [record("w-19", at=9)])) == ["updated"]
    approved = await act(client, admin, run["id"], "approve")
    assert (approved["to_deactivate"], approved["deactivated"]) == (3, 3)
    assert (await active_by_external_id(db))["w-19"] is True


async def test_someone_adopted_by_a_delta_push_while_a_run_is_open_is_not_missing(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    await factory.employee(email="hand@example.com")  # added by hand, no source yet
    await push(client, hris, people(20))
    run = await open_run(client, hris)
    adopted = await push(client, hris, [record("j-new", email="hand@example.com")])
    assert outcomes(adopted) == ["updated"]
    await push_page(client, hris, run["id"], people(20))
    committed = await act(client, hris, run["id"], "commit")
    assert (committed["status"], committed["to_deactivate"]) == ("committed", 0)
    assert (await active_by_external_id(db))["j-new"] is True


async def test_records_saying_too_many_left_hold_the_run_and_deactivate_nobody(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """A mis-mapped termination column says a quarter of the company left: held, like a
    truncated export; rejected, nobody leaves, and the next snapshot says it again."""
    hris, admin = await hris_client(factory), await factory.admin()
    await push(client, hris, people(20))
    snapshot = [record(f"w-{n}", at=5, active=n >= 5) for n in range(20)]
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], snapshot)
    held = await act(client, hris, run["id"], "commit")
    assert (held["status"], held["to_deactivate"], held["deactivated"]) == ("held", 5, 0)
    assert "(0 left out of it, 5 whose records say they left)" in held["hold_reason"]
    assert all((await active_by_external_id(db)).values())

    await act(client, admin, run["id"], "reject")
    assert all((await active_by_external_id(db)).values())

    again = await open_run(client, hris)
    page = await push_page(client, hris, again["id"], snapshot)
    assert outcomes(page)[:5] == ["updated"] * 5  # not settled as unchanged: said again
    held = await act(client, hris, again["id"], "commit")
    assert (held["status"], held["to_deactivate"]) == ("held", 5)
    approved = await act(client, admin, again["id"], "approve")
    assert (approved["status"], approved["deactivated"]) == ("committed", 5)
    active = await active_by_external_id(db)
    assert sorted(e for e, on in active.items() if not on) == [f"w-{n}" for n in range(5)]


async def test_a_new_hire_pushed_while_a_run_is_held_is_not_deactivated_by_its_approval(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """The admin approves what the held run showed: someone who arrived after the run opened
    is not one of the people the snapshot left out."""
    hris, admin = await hris_client(factory), await factory.admin()
    held = await held_run(client, hris)
    assert outcomes(await push(client, hris, [record("new-hire")])) == ["created"]
    approved = await act(client, admin, held["id"], "approve")
    assert (approved["to_deactivate"], approved["deactivated"]) == (6, 6)
    assert (await active_by_external_id(db))["new-hire"] is True


async def test_a_new_hire_pushed_while_a_run_is_open_is_not_deactivated_by_its_commit(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    await push(client, hris, people(20))
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], people(20))
    assert outcomes(await push(client, hris, [record("new-hire")])) == ["created"]
    committed = await act(client, hris, run["id"], "commit")
    assert (committed["status"], committed["deactivated"]) == ("committed", 0)
    assert all((await active_by_external_id(db)).values())


async def test_an_admin_rejects_a_held_run(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    held = await held_run(client, hris)
    rejected = await act(client, admin, held["id"], "reject")
    assert (rejected["status"], rejected["deactivated"]) == ("rejected", 0)
    assert rejected["decided_by"] == f"employee {admin.id}"
    assert rejected["finished_at"] is not None
    assert all((await active_by_external_id(db)).values())
    await act(client, admin, held["id"], "approve", expected=409)
    # The source can sync again.
    await open_run(client, hris)


@pytest.mark.parametrize("action", ["approve", "reject"])
async def test_the_sync_client_cannot_decide_its_own_held_run(
    client: httpx.AsyncClient, factory: Factory, db: Database, action: str
) -> None:
    hris = await hris_client(factory)
    held = await held_run(client, hris)
    refused = await act(client, hris, held["id"], action, expected=403)
    assert refused["status"] == 403
    assert (await get_run(client, hris, held["id"]))["status"] == "held"
    assert all((await active_by_external_id(db)).values())
    # Nor can it commit it past the breaker.
    await act(client, hris, held["id"], "commit", expected=409)
    assert all((await active_by_external_id(db)).values())


async def test_a_held_run_can_be_aborted(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    held = await held_run(client, hris)
    aborted = await act(client, hris, held["id"], "abort")
    assert (aborted["status"], aborted["deactivated"]) == ("aborted", 0)
    assert all((await active_by_external_id(db)).values())


# ---------------------------------------------------------------------------------------------
# Run states
# ---------------------------------------------------------------------------------------------


async def test_one_open_snapshot_per_source(client: httpx.AsyncClient, factory: Factory) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    first = await open_run(client, hris)
    second = await open_run(client, admin, expected=409)
    assert first["id"] in second["detail"]
    other_source = await open_run(client, hris, source="sap")
    assert other_source["status"] == "open"
    await act(client, hris, first["id"], "commit")
    await open_run(client, hris)  # once committed, the next one may start


async def test_a_held_run_blocks_the_next_snapshot(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris = await hris_client(factory)
    held = await held_run(client, hris)
    await open_run(client, hris, expected=409)
    await act(client, hris, held["id"], "abort")
    await open_run(client, hris)


@pytest.mark.parametrize("finish", ["commit", "abort"])
async def test_a_finished_run_takes_no_more_pages_and_no_commit(
    client: httpx.AsyncClient, factory: Factory, db: Database, finish: str
) -> None:
    hris = await hris_client(factory)
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], people(2))
    finished = await act(client, hris, run["id"], finish)
    assert finished["status"] == {"commit": "committed", "abort": "aborted"}[finish]

    late = await push_page(client, hris, run["id"], [record("late")], expected=409)
    assert "snapshot" in late["detail"]
    assert await active_by_external_id(db) == {"w-0": True, "w-1": True}
    for action in ("commit", "abort", "approve", "reject"):
        admin_or_client = hris if action in ("commit", "abort") else await factory.admin()
        await act(client, admin_or_client, run["id"], action, expected=409)
    report = await get_run(client, hris, run["id"])
    assert (report["status"], report["pages"], report["records"]) == (finished["status"], 1, 2)


async def test_an_open_run_cannot_be_approved_or_rejected(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    run = await open_run(client, hris)
    for action in ("approve", "reject"):
        await act(client, admin, run["id"], action, expected=409)
    assert (await get_run(client, hris, run["id"]))["status"] == "open"


async def test_a_delta_run_is_not_a_snapshot(client: httpx.AsyncClient, factory: Factory) -> None:
    hris = await hris_client(factory)
    delta = await push(client, hris, [record("e-1")])
    await push_page(client, hris, delta["run_id"], [record("e-2")], expected=409)
    for action in ("commit", "abort"):
        await act(client, hris, delta["run_id"], action, expected=409)


async def test_an_unknown_run_is_a_404(client: httpx.AsyncClient, factory: Factory) -> None:
    hris = await hris_client(factory)
    missing = str(uuid.uuid4())
    await push_page(client, hris, missing, [record("e-1")], expected=404)
    for action in ("commit", "abort"):
        await act(client, hris, missing, action, expected=404)
    response = await client.get(f"{API}/hris/runs/{missing}", headers=hris.headers)
    assert response.status_code == 404


async def test_aborting_deactivates_nobody_and_keeps_the_pages(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    await push(client, hris, people(5))
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], [record("w-0", job_title="Lead"), record("new")])
    aborted = await act(client, hris, run["id"], "abort")
    assert (aborted["status"], aborted["to_deactivate"], aborted["deactivated"]) == (
        "aborted",
        None,
        0,
    )
    assert aborted["finished_at"] is not None
    active = await active_by_external_id(db)
    assert all(active.values())
    assert "new" in active


async def test_a_page_over_a_thousand_records_is_refused(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    run = await open_run(client, hris)
    await push_page(client, hris, run["id"], people(1001), expected=422)
    assert await count_rows(db, Employee) == 0
    assert (await get_run(client, hris, run["id"]))["pages"] == 0
