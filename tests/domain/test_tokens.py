"""Revmentor's API tokens: issuing, hashing, authenticating, expiring and revoking."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from app.db.engine import Database
from app.db.models import ApiToken
from app.db.types import utcnow
from app.domain import employees, tokens
from app.domain.actors import Actor, ActorKind, Scope
from app.domain.errors import Conflict, Forbidden, NotFound, RuleViolation, Unauthenticated
from app.domain.tokens import TokenCreate
from tests.domain.support import SYSTEM, actor_for, audit_trail, reload, service
from tests.factories import Factory


async def _issue(db: Database, actor: Actor = SYSTEM, **fields: Any) -> tuple[ApiToken, str]:
    data: dict[str, Any] = {"name": "test token"} | fields
    async with db.session() as session:
        token, value = await tokens.create_token(
            session, actor, data=TokenCreate(**data), default_ttl_days=30
        )
        await session.commit()
        return token, value


async def _authenticate(db: Database, value: str, **kwargs: Any) -> Actor:
    async with db.session() as session:
        actor = await tokens.authenticate_token(session, value, touch_interval_seconds=0, **kwargs)
        await session.commit()  # the caller (the edge) owns the transaction
        return actor


async def _revoke(db: Database, token_id: uuid.UUID) -> ApiToken:
    async with db.session() as session:
        token = await tokens.revoke_token(session, SYSTEM, token_id)
        await session.commit()
        return token


async def test_a_person_token_stands_for_that_person(db: Database, factory: Factory) -> None:
    pm = await factory.employee(is_admin=False)
    program = await factory.program(managers=[pm])
    token, value = await _issue(db, employee_id=pm.id, expires_in_days=7)
    assert value.startswith("rvm_")
    assert token.prefix == value[:12]
    assert token.employee_id == pm.id
    assert token.scopes == []
    remaining = token.expires_at - utcnow() if token.expires_at else None
    assert remaining is not None
    assert timedelta(days=6, hours=23) < remaining <= timedelta(days=7)

    actor = await _authenticate(db, value, request_id="req-9")
    assert actor.kind is ActorKind.PERSON
    assert actor.employee_id == pm.id
    assert actor.is_admin is False
    assert actor.managed_program_ids == frozenset({program.id})
    assert actor.token_id == token.id
    assert actor.request_id == "req-9"


async def test_a_token_by_email_finds_the_employee(db: Database, factory: Factory) -> None:
    employee = await factory.employee(email="Grace.Hopper@Example.com")
    token, _ = await _issue(db, email="grace.hopper@EXAMPLE.com")
    assert token.employee_id == employee.id
    with pytest.raises(NotFound) as info:
        await _issue(db, email="nobody@example.com")
    assert info.value.field == "email"


async def test_a_service_token_carries_its_scopes(db: Database) -> None:
    token, value = await _issue(
        db, service="workday", scopes=["employees:write", "read", "read"], expires_in_days=90
    )
    assert token.scopes == ["employees:write", "read"]
    assert token.service_name == "workday"
    actor = await _authenticate(db, value)
    assert actor.kind is ActorKind.SERVICE
    assert actor.service_name == "workday"
    assert actor.scopes == frozenset({"employees:write", "read"})
    assert actor.employee_id is None
    assert actor.has_scope(Scope.EMPLOYEES_WRITE)
    assert not actor.has_scope(Scope.AUDIT_READ)


async def test_the_default_lifetime_applies(db: Database) -> None:
    token, _ = await _issue(db, service="scim")
    assert token.expires_at is not None
    assert timedelta(days=29, hours=23) < token.expires_at - utcnow() <= timedelta(days=30)


async def test_only_the_hash_is_stored(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    token, value = await _issue(db, employee_id=employee.id)
    stored = await reload(db, ApiToken, token.id)
    assert stored.token_hash == hashlib.sha256(value.encode()).hexdigest()
    assert value not in stored.model_dump_json()
    trail = await audit_trail(db, token.id)
    assert [e.action for e in trail] == ["token.created"]
    assert value not in str(trail[0].details)
    assert trail[0].request_id == "req-1"


async def test_values_are_never_repeated(db: Database) -> None:
    values = {(await _issue(db, service=f"svc{i}"))[1] for i in range(5)}
    assert len(values) == 5


async def test_only_admins_issue_tokens(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    for actor in (await actor_for(db, employee), service(*Scope)):
        with pytest.raises(Forbidden):
            await _issue(db, actor, employee_id=employee.id)
    admin = await actor_for(db, await factory.employee(is_admin=True))
    token, _ = await _issue(db, admin, employee_id=employee.id)
    assert token.created_by_id == admin.employee_id


async def test_tokens_only_for_active_known_employees(db: Database, factory: Factory) -> None:
    with pytest.raises(NotFound) as info:
        await _issue(db, employee_id=uuid.uuid4())
    assert info.value.field == "employee_id"
    leaver = await factory.employee()
    async with db.session() as session:
        await employees.deactivate_employee(session, SYSTEM, leaver.id, expected_version=None)
        await session.commit()
    with pytest.raises(RuleViolation) as rule:
        await _issue(db, employee_id=leaver.id)
    assert rule.value.rule == "employee_active"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"employee_id": str(uuid.uuid4()), "service": "svc"},
        {"email": "a@example.com", "service": "svc"},
        {"employee_id": str(uuid.uuid4()), "email": "a@example.com"},
        {"employee_id": str(uuid.uuid4()), "scopes": ["read"]},
        {"email": "a@example.com", "scopes": ["read"]},
        {"service": "svc", "scopes": ["root"]},
        {"service": "svc", "expires_in_days": 0},
        {"service": "svc", "expires_in_days": "30"},
    ],
)
def test_token_create_needs_exactly_one_subject(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TokenCreate(name="t", **fields)


async def test_authentication_refuses_garbage(db: Database) -> None:
    _, value = await _issue(db, service="svc")
    for garbage in (
        "",
        "rvm_",
        "rvm_" + "x" * 43,
        value[:-1],
        value + "x",
        value.upper(),
        value[4:],
        "Bearer " + value,
        "rvm_" + "a" * 300,
    ):
        with pytest.raises(Unauthenticated) as info:
            await _authenticate(db, garbage)
        assert info.value.rule == "invalid_token"


async def test_revoked_tokens_stop_working(db: Database) -> None:
    token, value = await _issue(db, service="svc")
    await _authenticate(db, value)
    revoked = await _revoke(db, token.id)
    assert revoked.revoked_at is not None
    assert revoked.version == token.version + 1
    with pytest.raises(Unauthenticated) as refused:
        await _authenticate(db, value)
    assert refused.value.rule == "invalid_token"
    with pytest.raises(Conflict) as info:
        await _revoke(db, token.id)
    assert info.value.rule == "token_active"
    assert [e.action for e in await audit_trail(db, token.id)] == [
        "token.created",
        "token.revoked",
    ]


async def test_expired_tokens_stop_working(db: Database) -> None:
    token, value = await _issue(db, service="svc")
    async with db.session() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == token.id)  # type: ignore[arg-type]
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    with pytest.raises(Unauthenticated) as info:
        await _authenticate(db, value)
    assert info.value.rule == "invalid_token"


async def test_tokens_of_deactivated_employees_stop_working(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    _, value = await _issue(db, employee_id=employee.id)
    await _authenticate(db, value)
    async with db.session() as session:
        await employees.deactivate_employee(session, SYSTEM, employee.id, expected_version=None)
        await session.commit()
    with pytest.raises(Unauthenticated) as info:
        await _authenticate(db, value)
    # The same vague answer as for any other bad token: a leaked token reveals nothing.
    assert info.value.rule == "invalid_token"


async def test_authentication_records_the_last_use(db: Database) -> None:
    token, value = await _issue(db, service="svc")
    assert (await reload(db, ApiToken, token.id)).last_used_at is None
    before = utcnow()
    await _authenticate(db, value)
    first = (await reload(db, ApiToken, token.id)).last_used_at
    assert first is not None
    assert first >= before
    await _authenticate(db, value)
    second = (await reload(db, ApiToken, token.id)).last_used_at
    assert second is not None
    assert second >= first
    # Throttled: within the interval the stored time does not move.
    async with db.session() as session:
        await tokens.authenticate_token(session, value, touch_interval_seconds=3600)
    assert (await reload(db, ApiToken, token.id)).last_used_at == second


async def test_revoke_by_prefix(db: Database) -> None:
    token, value = await _issue(db, service="svc")
    other, other_value = await _issue(db, service="other")
    async with db.session() as session:
        revoked = await tokens.revoke_by_prefix(session, SYSTEM, prefix=value[:12])
        await session.commit()
    assert revoked.id == token.id
    with pytest.raises(Unauthenticated):
        await _authenticate(db, value)
    await _authenticate(db, other_value)  # the other one still works
    async with db.session() as session:
        with pytest.raises(NotFound):
            await tokens.revoke_by_prefix(session, SYSTEM, prefix="rvm_nomatch00")
        with pytest.raises(Forbidden):
            await tokens.revoke_by_prefix(session, service(*Scope), prefix=other_value[:12])
    assert (await reload(db, ApiToken, other.id)).revoked_at is None


async def test_list_tokens_hides_revoked_ones_by_default(db: Database, factory: Factory) -> None:
    employee = await factory.employee()
    kept, _ = await _issue(db, employee_id=employee.id)
    gone, _ = await _issue(db, employee_id=employee.id)
    await _issue(db, service="svc")
    await _revoke(db, gone.id)
    async with db.session() as session:
        active = await tokens.list_tokens(session, SYSTEM, employee_id=employee.id)
        every = await tokens.list_tokens(
            session, SYSTEM, employee_id=employee.id, include_revoked=True
        )
        participant = await actor_for(db, employee)
        with pytest.raises(Forbidden):
            await tokens.list_tokens(session, participant)
        stored = (await session.execute(select(ApiToken))).scalars().all()
    assert [t.id for t in active.items] == [kept.id]
    assert {t.id for t in every.items} == {kept.id, gone.id}
    assert len(stored) == 3
