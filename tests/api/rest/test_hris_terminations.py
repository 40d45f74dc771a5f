"""HRIS terminations: inactive records and termination dates deactivate people, with the whole
cascade (enrollments withdrawn, open pairings ended as ``left_company``); ``active: true``
brings them back."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from app.db.engine import Database
from app.db.models import Employee
from app.db.types import utcnow
from app.main import maintain
from tests.api.rest.test_hris_push import (
    API,
    hris_client,
    outcomes,
    push,
    read_employee,
    record,
)
from tests.factories import Factory, Paired, Person, Service

LEFT = "left_company"


def today(days: int = 0) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


async def sync(
    client: httpx.AsyncClient, hris: Service, person: Person, external_id: str, **fields: Any
) -> dict[str, Any]:
    """Push a record for a person added by hand (the push adopts them by their e-mail)."""
    body = await push(
        client,
        hris,
        [record(external_id, email=person.employee.email, job_level=2, **fields)],
    )
    [result] = body["results"]
    assert result["employee_id"] == str(person.id), result
    return result  # type: ignore[no-any-return]


async def pairing_as(client: httpx.AsyncClient, who: Person, paired: Paired) -> Any:
    response = await client.get(f"{API}/pairings/{paired.id}", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def enrollment_status(client: httpx.AsyncClient, admin: Person, enrollment_id: Any) -> str:
    response = await client.get(f"{API}/enrollments/{enrollment_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def check_left(
    client: httpx.AsyncClient, admin: Person, paired: Paired, *, leaver: Person
) -> None:
    """The pairing ended because ``leaver`` left: the partner and the team see why."""
    partner = paired.mentee if leaver is paired.mentor else paired.mentor
    for who in (partner, paired.manager, admin):
        view = await pairing_as(client, who, paired)
        assert (view["state"], view["end_reason"]) == ("ended", LEFT), who
    team_view = await pairing_as(client, paired.manager, paired)
    assert team_view["ended_by"] == "system"
    leaving = paired.pairing.mentor_enrollment_id
    if leaver is paired.mentee:
        leaving = paired.pairing.mentee_enrollment_id
    assert await enrollment_status(client, admin, leaving) == "withdrawn"


async def test_an_inactive_record_deactivates_with_the_whole_cascade(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    paired = await factory.paired()
    leaver = paired.mentor
    await sync(client, hris, leaver, "e-1")
    other_program = await factory.program()
    waiting = await factory.enrollment(leaver, other_program, role="mentor")

    result = await sync(client, hris, leaver, "e-1", at=1, active=False)
    assert result["outcome"] == "updated"

    view = await read_employee(client, admin, leaver.id)
    assert view["active"] is False
    assert view["deactivated_at"] is not None
    await check_left(client, admin, paired, leaver=leaver)
    assert await enrollment_status(client, admin, waiting.id) == "withdrawn"
    # The partner stays in the program, free to be paired again.
    assert await enrollment_status(client, admin, paired.pairing.mentee_enrollment_id) == "active"


async def test_every_open_pairing_ends_and_finished_ones_stay_as_they_were(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    mentor = await factory.person(job_level=2)
    pairings = {
        state: await factory.paired(mentor=mentor, state=state)
        for state in ("active", "paused", "proposed", "completed", "ended")
    }
    await sync(client, hris, mentor, "e-1", active=False)

    for state in ("active", "paused", "proposed"):
        await check_left(client, admin, pairings[state], leaver=mentor)
    completed = await pairing_as(client, pairings["completed"].mentee, pairings["completed"])
    assert (completed["state"], completed["end_reason"]) == ("completed", None)
    # Ended before, for another reason: the partner still does not learn that reason.
    ended = pairings["ended"]
    assert (await pairing_as(client, ended.mentee, ended))["end_reason"] is None
    team_view = await pairing_as(client, ended.manager, ended)
    assert (team_view["state"], team_view["end_reason"]) == ("ended", "schedule")


async def test_a_past_termination_date_deactivates(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    paired = await factory.paired()
    leaver = paired.mentee
    result = await sync(client, hris, leaver, "e-1", termination_date=today(-1))
    assert result["outcome"] == "updated"
    view = await read_employee(client, admin, leaver.id)
    assert (view["active"], view["termination_date"]) == (False, today(-1))
    await check_left(client, admin, paired, leaver=leaver)

    # A new person whose record already has them gone is stored inactive.
    body = await push(client, hris, [record("e-2", termination_date=today(-30))])
    assert outcomes(body) == ["created"]
    created = await read_employee(client, admin, body["results"][0]["employee_id"])
    assert created["active"] is False
    assert created["deactivated_at"] is not None


async def test_a_termination_date_of_today_deactivates_now(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    paired = await factory.paired()
    await sync(client, hris, paired.mentor, "e-1", termination_date=today())
    assert (await read_employee(client, admin, paired.mentor.id))["active"] is False
    await check_left(client, admin, paired, leaver=paired.mentor)


async def test_a_future_termination_date_takes_effect_on_the_day(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    paired = await factory.paired()
    leaver = paired.mentor
    await sync(client, hris, leaver, "e-1", termination_date=today(14))

    view = await read_employee(client, admin, leaver.id)
    assert (view["active"], view["termination_date"]) == (True, today(14))
    assert (await maintain(db))["employees_terminated"] == 0
    assert (await read_employee(client, admin, leaver.id))["active"] is True
    assert (await pairing_as(client, paired.mentee, paired))["state"] == "active"

    # Two weeks later (the stored date moved back instead of the clock forward).
    async with db.session() as session:
        await session.execute(
            update(Employee)
            .where(col(Employee.id) == leaver.id)
            .values(termination_date=utcnow().date() - timedelta(days=1))
        )
        await session.commit()
    assert (await maintain(db))["employees_terminated"] == 1
    assert (await read_employee(client, admin, leaver.id))["active"] is False
    await check_left(client, admin, paired, leaver=leaver)
    assert (await maintain(db))["employees_terminated"] == 0  # done once


async def test_a_moved_termination_date_is_followed(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """The source postpones a leaving date: the sweep goes by the new one."""
    hris, admin = await hris_client(factory), await factory.admin()
    body = await push(client, hris, [record("e-1", termination_date=today(3))])
    employee_id = uuid.UUID(body["results"][0]["employee_id"])
    await push(client, hris, [record("e-1", at=1, termination_date=today(60))])
    async with db.session() as session:  # three days later
        await session.execute(
            update(Employee)
            .where(col(Employee.id) == employee_id)
            .values(termination_date=utcnow().date() + timedelta(days=57))
        )
        await session.commit()
    assert (await maintain(db))["employees_terminated"] == 0
    assert (await read_employee(client, admin, employee_id))["active"] is True


async def test_an_active_record_reactivates(client: httpx.AsyncClient, factory: Factory) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    paired = await factory.paired()
    leaver = paired.mentor
    await sync(client, hris, leaver, "e-1", active=False)
    assert (await read_employee(client, admin, leaver.id))["active"] is False

    result = await sync(client, hris, leaver, "e-1", at=1, active=True)
    assert result["outcome"] == "updated"
    view = await read_employee(client, admin, leaver.id)
    assert (view["active"], view["deactivated_at"]) == (True, None)
    # Coming back does not reopen what ended: they enroll and are paired anew.
    await check_left(client, admin, paired, leaver=leaver)
    me = await client.get(f"{API}/me", headers=leaver.headers)
    assert me.status_code == 200  # they can sign in again


async def test_a_rehire_clears_a_past_termination_date(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    body = await push(client, hris, [record("e-1", termination_date=today(-10))])
    employee_id = body["results"][0]["employee_id"]
    assert (await read_employee(client, admin, employee_id))["active"] is False

    rehired = await push(client, hris, [record("e-1", at=1, hire_date=today())])
    assert outcomes(rehired) == ["updated"]
    view = await read_employee(client, admin, employee_id)
    assert (view["active"], view["termination_date"], view["hire_date"]) == (True, None, today())


async def test_an_old_inactive_record_does_not_deactivate(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """A termination that the source has since taken back arrives late: it is stale."""
    hris, admin = await hris_client(factory), await factory.admin()
    body = await push(client, hris, [record("e-1", at=10)])
    late = await push(client, hris, [record("e-1", at=5, active=False)])
    assert outcomes(late) == ["stale"]
    assert (await read_employee(client, admin, body["results"][0]["employee_id"]))["active"]
