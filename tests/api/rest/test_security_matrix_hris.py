"""Security matrix, part four: the HRIS sync API (delta pushes, snapshot runs, run reports).

Read it like ``test_security_matrix`` and it works the same way: every cell gets a fresh
scenario built through the domain services (once per test process, then replayed from its rows:
``tests/replay.py``), a refusal changes nothing, and an allowed request shows its effect.

The actors: ``participant`` (a signed-in employee), ``pm`` (manages a program), ``admin``;
service clients holding one scope each: ``hris`` (``hris:write``, the scope of this API),
``read``, ``emp`` (``employees:write``: the REST directory, not the bulk sync), ``scim`` and
``audit``; ``anon`` sends nothing.

The scenario: ``workday`` has ten people (``w-0`` … ``w-9``) and ``sap`` ten (``s-0`` …
``s-9``), each pushed in a delta run (``{workday_delta}``, ``{sap_delta}``). ``{open_run}`` is an
open snapshot of workday whose one page holds ``w-0`` … ``w-8`` (committing it deactivates
``w-9``, within the allowed share); ``{held_run}`` is a snapshot of sap with ``s-0`` and
``s-1`` only, committed and held by the circuit breaker (approving it deactivates eight).

The order of the checks, which the table documents: every route needs ``hris:write`` or an
admin before it looks anything up (so a 403 for any run id reveals nothing); approving and
rejecting a held run need an admin (the sync client that pushed it gets 403: it may not lift
its own circuit breaker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.db.engine import Database
from app.db.models import Employee
from app.domain import employees, hris, programs, tokens
from app.domain.actors import Actor, Scope
from tests.api.rest.test_hris_push import record
from tests.api.rest.test_security_matrix import (
    API,
    Cell,
    Scenario,
    fingerprint,
    parse_matrix,
    placeholders,
)
from tests.factories import Factory
from tests.replay import built_once

SYSTEM = Actor.system()

# fmt: off
MATRIX = """
request                                       anon participant pm admin hris read emp scim audit
POST   /hris/employees:batch                   401         403 403   200  200  403 403  403   403
POST   /hris/runs                              401         403 403   201  201  403 403  403   403
GET    /hris/runs                              401         403 403   200  200  403 403  403   403
GET    /hris/runs/{open_run}                   401         403 403   200  200  403 403  403   403
GET    /hris/runs/{held_run}                   401         403 403   200  200  403 403  403   403
POST   /hris/runs/{open_run}/employees:batch   401         403 403   200  200  403 403  403   403
POST   /hris/runs/{open_run}/commit            401         403 403   200  200  403 403  403   403
POST   /hris/runs/{held_run}/approve           401         403 403   200  403  403 403  403   403
POST   /hris/runs/{held_run}/reject            401         403 403   200  403  403 403  403   403
POST   /hris/runs/{open_run}/abort             401         403 403   200  200  403 403  403   403
POST   /hris/runs/{held_run}/abort             401         403 403   200  200  403 403  403   403
"""
# fmt: on

ACTORS, CELLS = parse_matrix(MATRIX)

SERVICE_SCOPES = {
    "hris": Scope.HRIS_WRITE,
    "read": Scope.READ,
    "emp": Scope.EMPLOYEES_WRITE,
    "scim": Scope.SCIM,
    "audit": Scope.AUDIT_READ,
}
RUNS = {"workday_delta", "sap_delta", "open_run", "held_run"}

Body = Callable[[Scenario], dict[str, Any]]

#: Valid bodies, so a refusal is about who asks, not about what they sent.
BODIES: dict[str, Body] = {
    "POST /hris/employees:batch": lambda s: {
        "source": "workday",
        "records": [record("new-hire", at=1, job_title="Analyst")],
    },
    "POST /hris/runs": lambda s: {"source": "bamboo"},
    "POST /hris/runs/{open_run}/employees:batch": lambda s: {
        "records": [record("w-9", at=1), record("new-hire", at=1)]
    },
}


# ---------------------------------------------------------------------------------------------
# The scenario
# ---------------------------------------------------------------------------------------------


def people(prefix: str) -> list[dict[str, Any]]:
    return [record(f"{prefix}-{n}") for n in range(10)]


async def build_scenario(db: Database) -> Scenario:
    """The scenario in the database: built once per test process, replayed after that."""
    return await built_once(db, "security_matrix_hris", lambda: _build_scenario(db))


async def _build_scenario(db: Database) -> Scenario:
    s = Scenario()
    async with db.session() as session:
        made: dict[str, Employee] = {}
        for name, is_admin in (("participant", False), ("pm", False), ("admin", True)):
            made[name] = await employees.create_employee(
                session,
                SYSTEM,
                data=employees.EmployeeCreate(
                    email=f"{name}@example.com",
                    given_name=name.title(),
                    family_name="Example",
                    job_level=6,
                    is_admin=is_admin,
                ),
            )
            s.ids[name] = made[name].id
            _, value = await tokens.create_token(
                session,
                SYSTEM,
                data=tokens.TokenCreate(name="laptop", employee_id=made[name].id),
                default_ttl_days=30,
            )
            s.headers[name] = {"Authorization": f"Bearer {value}"}
        await programs.create_program(
            session,
            SYSTEM,
            data=programs.ProgramCreate(name="Reverse mentoring", manager_ids=[made["pm"].id]),
        )
        for name, scope in SERVICE_SCOPES.items():
            _, value = await tokens.create_token(
                session,
                SYSTEM,
                data=tokens.TokenCreate(name=name, service=f"{name}-client", scopes=[scope]),
                default_ttl_days=30,
            )
            s.headers[name] = {"Authorization": f"Bearer {value}"}

        for source, prefix in (("workday", "w"), ("sap", "s")):
            run, _ = await hris.push_delta(session, SYSTEM, source=source, records=people(prefix))
            s.ids[f"{source}_delta"] = run.id
        open_run = await hris.open_snapshot(session, SYSTEM, source="workday")
        await hris.push_snapshot_page(session, SYSTEM, open_run.id, records=people("w")[:9])
        held_run = await hris.open_snapshot(session, SYSTEM, source="sap")
        await hris.push_snapshot_page(session, SYSTEM, held_run.id, records=people("s")[:2])
        held_run = await hris.commit_snapshot(session, SYSTEM, held_run.id, max_share=0.1)
        assert held_run.status == "held"
        s.ids["open_run"], s.ids["held_run"] = open_run.id, held_run.id
        s.versions = {"open_run": open_run.version, "held_run": held_run.version}
        await session.commit()
    return s


# ---------------------------------------------------------------------------------------------
# Requests and what an allowed one must show
# ---------------------------------------------------------------------------------------------


def build_request(cell: Cell, s: Scenario) -> tuple[str, str, dict[str, Any]]:
    path = cell.template
    for name in placeholders(cell.template):
        path = path.replace("{" + name + "}", str(s.ids[name]))
    kwargs: dict[str, Any] = {"headers": dict(s.headers[cell.actor])}
    if cell.request in BODIES:
        kwargs["json"] = BODIES[cell.request](s)
    return cell.method, API + path, kwargs


def pusher(s: Scenario, actor: str) -> str:
    if actor in SERVICE_SCOPES:
        return f"service {actor}-client"
    return f"employee {s.ids[actor]}"


async def active_of(db: Database, prefix: str) -> dict[str, bool]:
    async with db.session() as session:
        rows = await session.execute(
            select(col(Employee.external_id), col(Employee.active)).where(
                col(Employee.external_id).startswith(prefix)
            )
        )
        return {str(e): a for e, a in rows.all()}


async def check_success(cell: Cell, s: Scenario, response: httpx.Response, db: Database) -> None:
    body = response.json()
    request, actor = cell.request, cell.actor
    workday, sap = await active_of(db, "w-"), await active_of(db, "s-")
    # Only commit and approve deactivate anybody, and only the snapshot's own source.
    if request == "POST /hris/runs/{open_run}/commit":
        assert (body["status"], body["deactivated"]) == ("committed", 1)
        assert [e for e, on in workday.items() if not on] == ["w-9"]
    elif request == "POST /hris/runs/{held_run}/approve":
        assert (body["status"], body["deactivated"]) == ("committed", 8)
        assert body["decided_by"] == pusher(s, actor)
        assert sorted(e for e, on in sap.items() if not on) == [f"s-{n}" for n in range(2, 10)]
    else:
        assert all(workday.values()), request
        assert all(sap.values()), request
    if request in ("POST /hris/employees:batch", "POST /hris/runs/{open_run}/employees:batch"):
        assert body["results"][-1]["outcome"] == "created"
        async with db.session() as session:
            new_hire = await session.scalar(
                select(Employee).where(col(Employee.external_id) == "new-hire")
            )
        assert new_hire is not None
        assert new_hire.source == "workday"
    elif request == "POST /hris/runs":
        assert (body["source"], body["kind"], body["status"]) == ("bamboo", "snapshot", "open")
        assert body["pushed_by"] == pusher(s, actor)
        assert response.headers["location"].endswith(f"/hris/runs/{body['id']}")
    elif request == "GET /hris/runs":
        got = {s.name_of(item["id"]) for item in body["items"]}
        assert got == RUNS
    elif cell.method == "GET":
        target = placeholders(cell.template)[-1]
        assert body["id"] == str(s.ids[target])
        assert response.headers["etag"] == f'"v{body["version"]}"'
    elif request == "POST /hris/runs/{held_run}/reject":
        assert (body["status"], body["decided_by"]) == ("rejected", pusher(s, actor))
    elif request.endswith("/abort"):
        assert (body["status"], body["deactivated"]) == ("aborted", 0)
    elif request not in (
        "POST /hris/runs/{open_run}/commit",
        "POST /hris/runs/{held_run}/approve",
    ):  # pragma: no cover - a new row needs a check here
        raise AssertionError(f"no success check for {request}")
    if "{" in cell.template and cell.method == "POST" and "employees:batch" not in request:
        target = placeholders(cell.template)[0]
        assert body["version"] > s.versions[target], "a change makes a new version"
        assert response.headers["etag"] == f'"v{body["version"]}"'


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------


def test_the_table_is_complete() -> None:
    assert ["anon", "participant", "pm", "admin", *SERVICE_SCOPES] == ACTORS
    assert set(BODIES) <= {c.request for c in CELLS}


@pytest.mark.parametrize("cell", CELLS, ids=str)
async def test_security_matrix(cell: Cell, client: httpx.AsyncClient, db: Database) -> None:
    scenario = await build_scenario(db)
    method, url, kwargs = build_request(cell, scenario)
    before = await fingerprint(db)
    response = await client.request(method, url, **kwargs)

    assert response.status_code == cell.expected, (
        f"{cell}: expected {cell.expected}, got {response.status_code}: {response.text}"
    )
    if response.is_success:
        await check_success(cell, scenario, response, db)
        return
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == cell.expected
    if cell.expected == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert await fingerprint(db) == before, f"{cell} was refused but changed stored data"


# ---------------------------------------------------------------------------------------------
# Admins' records: whoever controls an admin's e-mail, or brings one back, holds admin rights
# ---------------------------------------------------------------------------------------------


async def adopt_admin(
    client: httpx.AsyncClient, factory: Factory, sync: Any
) -> tuple[Any, dict[str, Any]]:
    """An admin added by hand, then adopted by the sync (same e-mail, nothing else at stake)."""
    admin = await factory.admin()
    mine = record("adm-1", email=admin.employee.email, job_level=7, job_title="HR Director")
    response = await client.post(
        f"{API}/hris/employees:batch",
        headers=sync.headers,
        json={"source": "workday", "records": [mine]},
    )
    assert [r["outcome"] for r in response.json()["results"]] == ["updated"], response.text
    return admin, mine


async def sync_push(client: httpx.AsyncClient, who: Any, records: list[Any]) -> dict[str, Any]:
    response = await client.post(
        f"{API}/hris/employees:batch",
        headers=who.headers,
        json={"source": "workday", "records": records},
    )
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    return result


@pytest.mark.parametrize(
    ("before", "change", "field"),
    [
        (None, {"email": "someone.else@example.com"}, "email"),
        ({"active": False}, {"active": True}, "active"),
        ({"termination_date": "2020-01-31"}, {"termination_date": None}, "active"),
        (
            {"termination_date": "2099-01-31"},
            {"termination_date": "2099-06-30"},
            "termination_date",
        ),
        ({"termination_date": "2099-01-31"}, {"termination_date": None}, "termination_date"),
    ],
)
async def test_a_sync_client_cannot_take_an_admins_account(
    client: httpx.AsyncClient,
    factory: Factory,
    before: dict[str, Any] | None,
    change: dict[str, Any],
    field: str,
) -> None:
    """Whoever controls an admin's e-mail, or brings a deactivated admin back (or keeps them
    past their leaving date), holds admin rights: an admin must."""
    sync = await factory.service("hris:write", name="workday-sync")
    admin, mine = await adopt_admin(client, factory, sync)
    if before is not None:
        mine = {**mine, **before, "modified_at": "2025-06-01T00:00:00Z"}
        assert (await sync_push(client, sync, [mine]))["outcome"] == "updated"
    attempt = {**mine, **change, "modified_at": "2026-01-01T00:00:00Z"}
    result = await sync_push(client, sync, [attempt])
    assert (result["outcome"], result["field"]) == ("invalid", field)
    assert "only admins" in result["reason"]
    if before is None:
        me = await client.get(f"{API}/me", headers=admin.headers)
        assert me.status_code == 200
        assert me.json()["role"] == "admin"
        assert me.json()["employee"]["email"] == admin.employee.email

    # An admin pushing the same record may.
    by_admin = await sync_push(client, await factory.admin(), [attempt])
    assert by_admin["outcome"] == "updated"


@pytest.mark.parametrize(
    "change",
    [{"active": False}, {"termination_date": "2020-01-31"}, {"termination_date": "2099-01-31"}],
)
async def test_a_sync_client_deprovisions_an_admin_who_left(
    client: httpx.AsyncClient, factory: Factory, change: dict[str, Any]
) -> None:
    """The source says the admin left (or will on a day): deprovisioning must work for admins
    too, or a departed admin keeps their access."""
    sync = await factory.service("hris:write", name="workday-sync")
    admin, mine = await adopt_admin(client, factory, sync)
    result = await sync_push(
        client, sync, [{**mine, **change, "modified_at": "2026-01-01T00:00:00Z"}]
    )
    assert result["outcome"] == "updated"
    me = await client.get(f"{API}/me", headers=admin.headers)
    if change.get("termination_date") == "2099-01-31":
        assert me.status_code == 200  # until that day
    else:
        assert me.status_code == 401  # deactivated: their token no longer works


async def test_a_sync_clients_snapshot_leaving_out_an_admin_waits_for_an_admin(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """A record saying an admin left deprovisions them; an admin merely absent from a snapshot
    is weaker evidence (a truncated export): the run is held until an admin decides, whatever
    the share."""
    sync = await factory.service("hris:write", name="workday-sync")
    admin, _ = await adopt_admin(client, factory, sync)
    others = people("w")
    others += [record(f"w-{n}") for n in range(10, 20)]
    await client.post(
        f"{API}/hris/employees:batch",
        headers=sync.headers,
        json={"source": "workday", "records": others},
    )
    run = (
        await client.post(f"{API}/hris/runs", headers=sync.headers, json={"source": "workday"})
    ).json()
    page = await client.post(
        f"{API}/hris/runs/{run['id']}/employees:batch",
        headers=sync.headers,
        json={"records": others},
    )
    assert page.status_code == 200
    held = (await client.post(f"{API}/hris/runs/{run['id']}/commit", headers=sync.headers)).json()
    assert (held["status"], held["to_deactivate"], held["deactivated"]) == ("held", 1, 0)
    assert "admin" in held["hold_reason"]
    assert (await client.get(f"{API}/me", headers=admin.headers)).json()["role"] == "admin"

    decider = await factory.admin()
    approved = await client.post(f"{API}/hris/runs/{run['id']}/approve", headers=decider.headers)
    assert (approved.json()["status"], approved.json()["deactivated"]) == ("committed", 1)
    async with db.session() as session:
        stored = await session.get(Employee, admin.id)
        assert stored is not None
        assert stored.active is False


async def test_a_sync_client_cannot_bring_back_a_deactivated_admin(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    sync = await factory.service("hris:write", name="workday-sync")
    admin, mine = await adopt_admin(client, factory, sync)
    other_admin = await factory.admin()
    etag = (await client.get(f"{API}/employees/{admin.id}", headers=other_admin.headers)).headers[
        "etag"
    ]
    response = await client.post(
        f"{API}/employees/{admin.id}/deactivate",
        headers={**other_admin.headers, "If-Match": etag},
    )
    assert response.status_code == 200, response.text

    later = {**mine, "job_title": "Chief People Officer", "modified_at": "2026-01-01T00:00:00Z"}
    refused = await client.post(
        f"{API}/hris/employees:batch",
        headers=sync.headers,
        json={"source": "workday", "records": [later]},
    )
    [result] = refused.json()["results"]
    assert (result["outcome"], result["field"]) == ("invalid", "active")
    assert (await client.get(f"{API}/me", headers=admin.headers)).status_code == 401
