"""The employee directory through its service functions: rules, updates, deactivation, lists."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import Employee, Enrollment
from app.domain import employees, enrollments
from app.domain.actors import Scope
from app.domain.employees import EmployeeCreate, EmployeeUpdate
from app.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    RuleViolation,
)
from tests.domain.support import SYSTEM, actor_for, audit_trail, enroll, reload, service
from tests.factories import Factory


def _new(n: int | str, **overrides: Any) -> EmployeeCreate:
    data: dict[str, Any] = {
        "email": f"user{n}@example.com",
        "given_name": f"Given{n}",
        "family_name": f"Family{n}",
        "job_level": 4,
    }
    data.update(overrides)
    return EmployeeCreate(**data)


async def _update(
    db: Database,
    employee_id: uuid.UUID,
    *,
    actor: Any = SYSTEM,
    expected_version: int | None = None,
    **fields: Any,
) -> Employee:
    async with db.session() as session:
        employee = await employees.update_employee(
            session,
            actor,
            employee_id,
            data=EmployeeUpdate(**fields),
            expected_version=expected_version,
        )
        await session.commit()
        return employee


async def _set_manager(db: Database, employee_id: uuid.UUID, manager_id: uuid.UUID) -> None:
    await _update(db, employee_id, manager_id=manager_id)


async def _chain_ids(db: Database, employee_id: uuid.UUID) -> list[uuid.UUID]:
    async with db.session() as session:
        return [e.id for e in await employees.management_chain(session, SYSTEM, employee_id)]


# --- create ---------------------------------------------------------------------------------


async def test_create_stores_the_record_and_defaults(db: Database, factory: Factory) -> None:
    boss = await factory.employee()
    async with db.session() as session:
        created = await employees.create_employee(
            session,
            SYSTEM,
            data=_new(
                1,
                external_id="W-1",
                manager_id=boss.id,
                hire_date="2021-03-01",
                skills=["Python", " python ", "Slack"],
            ),
        )
        await session.commit()

    stored = await reload(db, Employee, created.id)
    assert stored.email == "user1@example.com"
    assert stored.display_name == "Given1 Family1"
    assert stored.external_id == "W-1"
    assert stored.manager_id == boss.id
    assert stored.hire_date == date(2021, 3, 1)
    assert stored.skills == ["Python", "Slack"]
    assert stored.time_zone == "UTC"
    assert stored.active is True
    assert stored.deactivated_at is None
    assert stored.is_admin is False
    assert stored.version == 1


async def test_email_is_unique_case_insensitively(db: Database, factory: Factory) -> None:
    await factory.employee(email="Ada.Lovelace@Example.com")
    async with db.session() as session:
        with pytest.raises(Conflict) as info:
            await employees.create_employee(
                session, SYSTEM, data=_new(2, email="ada.lovelace@EXAMPLE.COM")
            )
    assert info.value.field == "email"
    assert info.value.rule == "unique_email"
    async with db.session() as session:
        found = await employees.find_by_email(session, "  ADA.lovelace@example.com ")
    assert found is not None
    assert found.email == "Ada.Lovelace@example.com"


async def test_email_change_to_a_taken_address_is_refused(db: Database, factory: Factory) -> None:
    await factory.employee(email="taken@example.com")
    other = await factory.employee()
    with pytest.raises(Conflict) as info:
        await _update(db, other.id, email="TAKEN@example.com")
    assert info.value.field == "email"
    # Changing one's own e-mail to another casing of itself is fine.
    updated = await _update(db, other.id, email=other.email.upper())
    assert updated.email.lower() == other.email.lower()


async def test_external_id_is_unique(db: Database, factory: Factory) -> None:
    await factory.employee(external_id="HR-42")
    async with db.session() as session:
        with pytest.raises(Conflict) as info:
            await employees.create_employee(session, SYSTEM, data=_new(3, external_id="HR-42"))
    assert info.value.field == "external_id"
    assert info.value.rule == "unique_external_id"
    other = await factory.employee(external_id="HR-43")
    with pytest.raises(Conflict) as info:
        await _update(db, other.id, external_id="HR-42")
    assert info.value.field == "external_id"


async def test_manager_must_exist(db: Database, factory: Factory) -> None:
    async with db.session() as session:
        with pytest.raises(RuleViolation) as info:
            await employees.create_employee(session, SYSTEM, data=_new(4, manager_id=uuid.uuid4()))
    assert info.value.rule == "manager_exists"
    assert info.value.field == "manager_id"
    employee = await factory.employee()
    with pytest.raises(RuleViolation) as info:
        await _update(db, employee.id, manager_id=uuid.uuid4())
    assert info.value.rule == "manager_exists"


async def test_creating_needs_a_writer(db: Database) -> None:
    for actor in (service(Scope.READ), service(Scope.HRIS_WRITE)):
        async with db.session() as session:
            with pytest.raises(Forbidden):
                await employees.create_employee(session, actor, data=_new(5))
    async with db.session() as session:
        created = await employees.create_employee(
            session, service(Scope.EMPLOYEES_WRITE), data=_new(5)
        )
        await session.commit()
    assert (await reload(db, Employee, created.id)).email == "user5@example.com"


async def test_participant_cannot_change_employees(db: Database, factory: Factory) -> None:
    me = await factory.employee()
    actor = await actor_for(db, me)
    with pytest.raises(Forbidden):
        await _update(db, me.id, actor=actor, job_title="Chief")
    assert (await reload(db, Employee, me.id)).job_title is None


# --- manager cycles and the management chain -------------------------------------------------


async def test_an_employee_cannot_manage_themselves(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    with pytest.raises(RuleViolation) as info:
        await _set_manager(db, employee.id, employee.id)
    assert info.value.rule == "manager_cycle"
    assert info.value.field == "manager_id"


@pytest.mark.parametrize("depth", [1, 2, 3, 6, 150])
async def test_manager_cycles_are_refused_at_any_depth(
    db: Database, factory: Factory, depth: int
) -> None:
    # top <- e1 <- e2 ... <- e_depth ; making e_depth the manager of top would close a loop.
    top = await factory.employee()
    chain = [top]
    for _ in range(depth):
        chain.append(await factory.employee(manager_id=chain[-1].id))
    with pytest.raises(RuleViolation) as info:
        await _set_manager(db, top.id, chain[-1].id)
    assert info.value.rule == "manager_cycle"
    assert (await reload(db, Employee, top.id)).manager_id is None


async def test_management_chain_nearest_first(db: Database, factory: Factory) -> None:
    levels = [await factory.employee(job_level=20)]
    for level in (15, 10, 7, 4):
        levels.append(await factory.employee(job_level=level, manager_id=levels[-1].id))
    bottom = levels[-1]
    assert await _chain_ids(db, bottom.id) == [e.id for e in reversed(levels[:-1])]
    assert await _chain_ids(db, levels[2].id) == [levels[1].id, levels[0].id]
    assert await _chain_ids(db, levels[0].id) == []


async def test_management_chain_of_a_hidden_employee_is_not_found(
    db: Database, factory: Factory
) -> None:
    boss = await factory.employee()
    worker = await factory.employee(manager_id=boss.id)
    stranger = await actor_for(db, await factory.employee())
    async with db.session() as session:
        with pytest.raises(NotFound):
            await employees.management_chain(session, stranger, worker.id)


async def test_moving_an_employee_under_another_branch_is_allowed(
    db: Database, factory: Factory
) -> None:
    root = await factory.employee()
    left = await factory.employee(manager_id=root.id)
    right = await factory.employee(manager_id=root.id)
    leaf = await factory.employee(manager_id=left.id)
    await _set_manager(db, leaf.id, right.id)
    assert await _chain_ids(db, leaf.id) == [right.id, root.id]
    # Moving a whole subtree under a sibling is no cycle either.
    await _set_manager(db, left.id, right.id)
    assert await _chain_ids(db, left.id) == [right.id, root.id]


# --- update ----------------------------------------------------------------------------------


async def test_update_changes_only_the_sent_fields(db: Database, factory: Factory) -> None:
    employee = await factory.employee(job_title="Analyst", location="Berlin", skills=["Excel"])
    before = await reload(db, Employee, employee.id)
    updated = await _update(db, employee.id, job_title="Senior Analyst", expected_version=1)
    stored = await reload(db, Employee, employee.id)
    assert updated.version == stored.version == 2
    assert stored.updated_at > before.updated_at
    assert stored.job_title == "Senior Analyst"
    assert stored.location == "Berlin"
    assert stored.skills == ["Excel"]
    assert stored.email == before.email
    assert stored.created_at == before.created_at


async def test_email_change_moves_the_lookup_key(db: Database, factory: Factory) -> None:
    employee = await factory.employee(email="old@example.com")
    await _update(db, employee.id, email="New.Name@Example.com")
    async with db.session() as session:
        assert await employees.find_by_email(session, "old@example.com") is None
        found = await employees.find_by_email(session, "new.name@example.com")
    assert found is not None
    assert found.id == employee.id


async def test_stale_version_is_refused_with_the_current_one(
    db: Database, factory: Factory
) -> None:
    employee = await factory.employee()
    await _update(db, employee.id, job_title="One", expected_version=1)
    with pytest.raises(PreconditionFailed) as info:
        await _update(db, employee.id, job_title="Two", expected_version=1)
    assert info.value.extra["current_version"] == 2
    assert (await reload(db, Employee, employee.id)).job_title == "One"


@pytest.mark.parametrize(
    "name", ["email", "given_name", "family_name", "display_name", "job_level", "time_zone"]
)
async def test_required_fields_cannot_be_nulled(db: Database, factory: Factory, name: str) -> None:
    employee = await factory.employee()
    with pytest.raises(RuleViolation) as info:
        await _update(db, employee.id, **{name: None})
    assert info.value.field == name
    assert info.value.rule == "required"
    assert (await reload(db, Employee, employee.id)).version == 1


@pytest.mark.parametrize("name", ["skills", "interests", "languages", "active", "is_admin"])
async def test_list_and_flag_fields_cannot_be_nulled(
    db: Database, factory: Factory, name: str
) -> None:
    # The stored columns are NOT NULL lists / booleans: a null must be refused as a named rule,
    # not stored as JSON null (which breaks every later read) or surfaced as a database error.
    employee = await factory.employee(skills=["Excel"])
    with pytest.raises(RuleViolation) as info:
        await _update(db, employee.id, **{name: None})
    assert info.value.field == name
    stored = await reload(db, Employee, employee.id)
    assert stored.version == 1
    assert isinstance(getattr(stored, name), list | bool)


async def test_optional_fields_can_be_cleared(db: Database, factory: Factory) -> None:
    boss = await factory.employee()
    employee = await factory.employee(manager_id=boss.id, job_title="Analyst", department="Ops")
    await _update(db, employee.id, manager_id=None, job_title=None, department=None)
    stored = await reload(db, Employee, employee.id)
    assert (stored.manager_id, stored.job_title, stored.department) == (None, None, None)


async def test_update_of_a_missing_employee_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        await _update(db, uuid.uuid4(), job_title="x")


async def test_update_is_audited_with_the_changed_fields(db: Database, factory: Factory) -> None:
    employee = await factory.employee(job_title="Analyst")
    await _update(db, employee.id, job_title="Lead")
    events = await audit_trail(db, employee.id)
    assert [e.action for e in events] == ["employee.created", "employee.updated"]
    changes = events[-1].details["changes"]
    assert changes["job_title"] == ["Analyst", "Lead"]
    assert "email" not in changes
    assert events[-1].request_id == "req-1"
    assert events[-1].actor_kind == "system"


# --- admin rights ----------------------------------------------------------------------------


async def test_only_admins_grant_admin_rights(db: Database, factory: Factory) -> None:
    writer = service(Scope.EMPLOYEES_WRITE)
    async with db.session() as session:
        with pytest.raises(Forbidden) as info:
            await employees.create_employee(session, writer, data=_new(7, is_admin=True))
    assert info.value.field == "is_admin"
    assert info.value.rule == "admin_only"

    employee = await factory.employee()
    with pytest.raises(Forbidden) as info:
        await _update(db, employee.id, actor=writer, is_admin=True)
    assert info.value.field == "is_admin"
    assert (await reload(db, Employee, employee.id)).is_admin is False

    admin = await actor_for(db, await factory.employee(is_admin=True))
    await _update(db, employee.id, actor=admin, is_admin=True)
    assert (await reload(db, Employee, employee.id)).is_admin is True
    await _update(db, employee.id, actor=admin, is_admin=False)
    assert (await reload(db, Employee, employee.id)).is_admin is False


async def test_a_sync_client_cannot_take_over_an_admin_record(
    db: Database, factory: Factory
) -> None:
    # Whoever controls an admin's e-mail, or brings a deactivated admin back, holds admin
    # rights: admins only.
    admin = await factory.employee(is_admin=True, email="hr.admin@example.com")
    writer = service(Scope.EMPLOYEES_WRITE)
    with pytest.raises(Forbidden) as info:
        await _update(db, admin.id, actor=writer, email="attacker@example.com")
    assert (info.value.rule, info.value.field) == ("admin_record", "email")
    await _update(db, admin.id, actor=writer, termination_date=date(2099, 1, 31))
    for moved in (date(2099, 6, 30), None):
        with pytest.raises(Forbidden) as info:
            await _update(db, admin.id, actor=writer, termination_date=moved)
        assert info.value.field == "termination_date"
    stored = await reload(db, Employee, admin.id)
    assert (stored.email, stored.active) == ("hr.admin@example.com", True)
    assert stored.termination_date == date(2099, 1, 31)


async def test_a_sync_client_deprovisions_an_admin_who_left_but_cannot_bring_them_back(
    db: Database, factory: Factory
) -> None:
    """An identity provider must be able to deactivate an admin who left (their tokens stop
    working); reactivating an admin is an admin's decision."""
    admin = await factory.employee(is_admin=True, email="hr.admin@example.com")
    writer = service(Scope.EMPLOYEES_WRITE)
    async with db.session() as session:
        await employees.deactivate_employee(session, writer, admin.id, expected_version=None)
        await session.commit()
    assert (await reload(db, Employee, admin.id)).active is False
    with pytest.raises(Forbidden) as info:
        await _update(db, admin.id, actor=writer, active=True)
    assert (info.value.rule, info.value.field) == ("admin_record", "active")
    assert (await reload(db, Employee, admin.id)).active is False
    # An admin may.
    by_admin = await actor_for(db, await factory.employee(is_admin=True))
    await _update(db, admin.id, actor=by_admin, active=True)
    assert (await reload(db, Employee, admin.id)).active is True


# --- deactivation ----------------------------------------------------------------------------


async def _enrolled_twice(factory: Factory, db: Database) -> tuple[Employee, list[Enrollment]]:
    employee = await factory.employee()
    first = await enroll(db, employee, await factory.program(), role="mentee")
    second = await enroll(db, employee, await factory.program(), role="mentor")
    return employee, [first, second]


async def _enrollment_count(db: Database, employee_id: uuid.UUID) -> int:
    async with db.session() as session:
        stmt = select(func.count()).where(Enrollment.employee_id == employee_id)
        return int(await session.scalar(stmt) or 0)


async def test_deactivate_employee_withdraws_enrollments(db: Database, factory: Factory) -> None:
    employee, enrolled = await _enrolled_twice(factory, db)
    bystander = await factory.employee()
    bystander_enrollment = await enroll(db, bystander, await factory.program())

    async with db.session() as session:
        result = await employees.deactivate_employee(
            session, SYSTEM, employee.id, expected_version=1
        )
        await session.commit()

    assert result.active is False
    stored = await reload(db, Employee, employee.id)
    assert stored.active is False
    assert stored.deactivated_at is not None
    assert stored.version == 2
    for enrollment in enrolled:
        row = await reload(db, Enrollment, enrollment.id)
        assert row.status == "withdrawn"
        assert row.withdrawal_reason == "employee deactivated"
        assert row.withdrawn_at is not None
        assert row.version == enrollment.version + 1
        trail = await audit_trail(db, enrollment.id)
        assert trail[-1].action == "enrollment.withdrawn"
        assert trail[-1].details == {"reason": "employee deactivated"}
        assert trail[-1].request_id == "req-1"
    assert (await reload(db, Enrollment, bystander_enrollment.id)).status == "active"
    assert [e.action for e in await audit_trail(db, employee.id)][-1] == "employee.deactivated"
    # Never deleted: the row and its enrollments stay.
    assert await _enrollment_count(db, employee.id) == 2


async def test_deactivation_keeps_an_earlier_withdrawal_reason(
    db: Database, factory: Factory
) -> None:
    employee, (first, _) = await _enrolled_twice(factory, db)
    actor = await actor_for(db, employee)
    async with db.session() as session:
        await enrollments.withdraw_enrollment(
            session, actor, first.id, reason="too busy", expected_version=None
        )
        await session.commit()
    async with db.session() as session:
        await employees.deactivate_employee(session, SYSTEM, employee.id, expected_version=None)
        await session.commit()
    assert (await reload(db, Enrollment, first.id)).withdrawal_reason == "too busy"


async def test_deactivating_twice_changes_nothing(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    for _ in range(2):
        async with db.session() as session:
            await employees.deactivate_employee(session, SYSTEM, employee.id, expected_version=None)
            await session.commit()
    assert (await reload(db, Employee, employee.id)).version == 2
    actions = [e.action for e in await audit_trail(db, employee.id)]
    assert actions.count("employee.deactivated") == 1


async def test_deactivate_with_a_stale_version_changes_nothing(
    db: Database, factory: Factory
) -> None:
    employee = await factory.employee()
    async with db.session() as session:
        with pytest.raises(PreconditionFailed) as info:
            await employees.deactivate_employee(session, SYSTEM, employee.id, expected_version=7)
    assert info.value.extra == {"current_version": 1}
    assert (await reload(db, Employee, employee.id)).active is True


async def test_deactivation_through_update(db: Database, factory: Factory) -> None:
    employee, enrolled = await _enrolled_twice(factory, db)
    await _update(db, employee.id, active=False, job_title="Leaver")
    stored = await reload(db, Employee, employee.id)
    assert stored.active is False
    assert stored.deactivated_at is not None
    assert stored.job_title == "Leaver"
    assert stored.version == 2
    for enrollment in enrolled:
        row = await reload(db, Enrollment, enrollment.id)
        assert (row.status, row.withdrawal_reason) == ("withdrawn", "employee deactivated")
        assert (await audit_trail(db, enrollment.id))[-1].action == "enrollment.withdrawn"
    last = (await audit_trail(db, employee.id))[-1]
    assert last.action == "employee.updated"
    assert last.details["changes"]["active"] == [True, False]
    assert await _enrollment_count(db, employee.id) == 2


async def test_reactivation(db: Database, factory: Factory) -> None:
    employee, enrolled = await _enrolled_twice(factory, db)
    async with db.session() as session:
        await employees.deactivate_employee(session, SYSTEM, employee.id, expected_version=None)
        await session.commit()
    await _update(db, employee.id, active=True)
    stored = await reload(db, Employee, employee.id)
    assert stored.active is True
    assert stored.deactivated_at is None
    assert stored.version == 3
    # Consent is personal: coming back does not silently re-enroll anyone.
    for enrollment in enrolled:
        assert (await reload(db, Enrollment, enrollment.id)).status == "withdrawn"


# --- lists and visibility --------------------------------------------------------------------


async def _list_ids(db: Database, actor: Any = SYSTEM, **filters: Any) -> set[uuid.UUID]:
    async with db.session() as session:
        page = await employees.list_employees(session, actor, limit=100, **filters)
    return {e.id for e in page.items}


async def test_list_filters(db: Database, factory: Factory) -> None:
    boss = await factory.employee(department="Sales", job_level=9)
    a = await factory.employee(department="Sales", job_level=2, manager_id=boss.id)
    b = await factory.employee(department="Engineering", job_level=2, manager_id=boss.id)
    c = await factory.employee(department="Engineering", job_level=5, email="Cee@Example.com")
    async with db.session() as session:
        await employees.deactivate_employee(session, SYSTEM, c.id, expected_version=None)
        await session.commit()

    assert await _list_ids(db, department="Sales") == {boss.id, a.id}
    assert await _list_ids(db, department="Engineering") == {b.id, c.id}
    assert await _list_ids(db, active=False) == {c.id}
    assert await _list_ids(db, active=True) == {boss.id, a.id, b.id}
    assert await _list_ids(db, manager_id=boss.id) == {a.id, b.id}
    assert await _list_ids(db, job_level=2) == {a.id, b.id}
    assert await _list_ids(db, email="cee@EXAMPLE.com") == {c.id}
    assert await _list_ids(db, department="Engineering", job_level=2) == {b.id}
    assert await _list_ids(db, department="Nowhere") == set()


async def test_keyset_pagination_walks_every_employee_once(db: Database) -> None:
    async with db.session() as session:
        created = [
            (await employees.create_employee(session, SYSTEM, data=_new(f"p{i}"))).id
            for i in range(120)
        ]
        await session.commit()

    seen: list[uuid.UUID] = []
    cursor: str | None = None
    sizes: list[int] = []
    while True:
        async with db.session() as session:
            page = await employees.list_employees(session, SYSTEM, limit=50, cursor=cursor)
        sizes.append(len(page.items))
        seen.extend(e.id for e in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sizes == [50, 50, 20]
    assert len(seen) == len(set(seen)) == 120
    assert set(seen) == set(created)
    assert seen == sorted(seen)  # one stable order across pages

    # Walking again gives the same order.
    async with db.session() as session:
        first = await employees.list_employees(session, SYSTEM, limit=50)
    assert [e.id for e in first.items] == seen[:50]


async def test_list_refuses_bad_limits_and_cursors(db: Database) -> None:
    async with db.session() as session:
        for limit in (0, 101):
            with pytest.raises(InvalidInput) as info:
                await employees.list_employees(session, SYSTEM, limit=limit)
            assert info.value.field == "limit"
        with pytest.raises(InvalidInput) as info:
            await employees.list_employees(session, SYSTEM, cursor="not-a-cursor")
        assert info.value.field == "cursor"


async def test_visibility_of_the_directory(db: Database, factory: Factory) -> None:
    pm = await factory.employee()
    participant = await factory.employee()
    outsider = await factory.employee()
    mine = await factory.program(managers=[pm])
    theirs = await factory.program()
    await enroll(db, participant, mine)
    await enroll(db, outsider, theirs)
    everyone = {pm.id, participant.id, outsider.id}

    assert await _list_ids(db, await actor_for(db, participant)) == {participant.id}
    assert await _list_ids(db, await actor_for(db, pm)) == {pm.id, participant.id}
    assert await _list_ids(db, service(Scope.READ)) == everyone
    assert await _list_ids(db, service(Scope.HRIS_WRITE)) == set()
    assert await _list_ids(db, SYSTEM) == everyone

    async with db.session() as session:
        participant_actor = await actor_for(db, participant)
        with pytest.raises(NotFound):
            await employees.get_employee(session, participant_actor, outsider.id)
        assert (await employees.get_employee(session, participant_actor, participant.id)).id == (
            participant.id
        )
        with pytest.raises(NotFound):
            await employees.get_employee(session, service(Scope.HRIS_WRITE), participant.id)
