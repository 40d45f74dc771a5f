"""What deactivation through SCIM does to reverse mentoring: the person's open pairings end
("left_company", which the partner sees), their enrollments are withdrawn, and DELETE keeps the
record."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from app.db.engine import Database
from app.db.models import Employee, Enrollment, Pairing
from app.domain.employees import LEFT_ORGANISATION
from tests.api.scim.conftest import headers, patch_body, stored
from tests.factories import Factory, Service


async def _pairing(db: Database, pairing_id: uuid.UUID) -> Pairing:
    async with db.session() as session:
        row = await session.get(Pairing, pairing_id)
    assert row is not None
    return row


async def _enrollment_statuses(db: Database, employee_id: uuid.UUID) -> list[str]:
    async with db.session() as session:
        rows = await session.execute(
            select(Enrollment.status).where(col(Enrollment.employee_id) == employee_id)
        )
    return list(rows.scalars())


DEACTIVATIONS: dict[str, dict[str, Any]] = {
    "okta": {"op": "replace", "value": {"active": False}},
    "entra": {"op": "Replace", "path": "active", "value": "False"},
}


@pytest.mark.parametrize("operation", list(DEACTIVATIONS))
async def test_deactivation_ends_open_pairings_and_withdraws_enrollments(
    client: httpx.AsyncClient, idp: Service, factory: Factory, db: Database, operation: str
) -> None:
    paired = await factory.paired()
    mentor = paired.mentor.employee
    other_program = await factory.program()
    await factory.enrollment(paired.mentor, other_program, role="mentor")

    response = await client.patch(
        f"/scim/v2/Users/{mentor.id}",
        headers=headers(idp),
        json=patch_body(DEACTIVATIONS[operation]),
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False

    pairing = await _pairing(db, paired.id)
    assert pairing.state == "ended"
    assert pairing.end_reason == LEFT_ORGANISATION == "left_company"
    assert await _enrollment_statuses(db, mentor.id) == ["withdrawn", "withdrawn"]
    # The partner stays active and enrolled.
    assert (await stored(db, paired.mentee.id)).active is True
    assert await _enrollment_statuses(db, paired.mentee.id) == ["active"]


async def test_delete_deprovisions_and_keeps_the_row(
    client: httpx.AsyncClient, idp: Service, factory: Factory, db: Database
) -> None:
    paired = await factory.paired()
    mentee = paired.mentee.employee
    async with db.session() as session:
        before = await session.scalar(select(func.count()).select_from(Employee))

    response = await client.delete(f"/scim/v2/Users/{mentee.id}", headers=idp.headers)
    assert response.status_code == 204

    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Employee)) == before
    row = await stored(db, mentee.id)
    assert row.active is False
    assert row.scim_removed_at is not None
    assert row.email == mentee.email  # nothing about them is erased
    pairing = await _pairing(db, paired.id)
    assert (pairing.state, pairing.end_reason) == ("ended", "left_company")
    assert await _enrollment_statuses(db, mentee.id) == ["withdrawn"]
    assert (await client.get(f"/scim/v2/Users/{mentee.id}", headers=idp.headers)).status_code == 404


async def test_finished_pairings_are_left_alone(
    client: httpx.AsyncClient, idp: Service, factory: Factory, db: Database
) -> None:
    done = await factory.paired(state="completed")
    await client.patch(
        f"/scim/v2/Users/{done.mentor.id}",
        headers=headers(idp),
        json=patch_body(DEACTIVATIONS["okta"]),
    )
    pairing = await _pairing(db, done.id)
    assert pairing.state == "completed"
    assert pairing.end_reason is None


async def test_reactivation_does_not_revive_what_deactivation_ended(
    client: httpx.AsyncClient, idp: Service, factory: Factory, db: Database
) -> None:
    paired = await factory.paired()
    url = f"/scim/v2/Users/{paired.mentor.id}"
    await client.patch(url, headers=headers(idp), json=patch_body(DEACTIVATIONS["entra"]))
    back = await client.patch(
        url,
        headers=headers(idp),
        json=patch_body({"op": "Replace", "path": "active", "value": "True"}),
    )
    assert back.json()["active"] is True
    # Ending was the no-fault exit; coming back means enrolling again, by choice.
    assert (await _pairing(db, paired.id)).state == "ended"
    assert await _enrollment_statuses(db, paired.mentor.id) == ["withdrawn"]
