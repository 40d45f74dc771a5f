"""Security matrix: every REST route by every kind of actor, with the expected status per cell.

The scenario (fresh for each cell: built through the domain services once per test process,
then replayed from its rows, see ``tests/replay.py``):

- ``admin``: an HR admin.
- ``pm_a`` manages ``program_a`` (enrolling) and ``draft_a`` (a draft); ``pm_b`` manages
  ``program_b`` (enrolling).
- ``subject``: the participant the requests are about; enrolled in ``program_a`` as a mentee
  (``subject_enrollment``), reporting to ``boss`` (an employee without a token).
- ``other``: another participant, enrolled in ``program_a`` as a mentor.
- service clients: ``hris`` holds only ``hris:write`` (never the scope a route of this table
  needs: the HRIS routes have their own table, ``test_security_matrix_hris``),
  ``read`` holds ``read``, ``emp`` holds ``employees:write``, ``audit`` holds ``audit:read``.
- ``anon`` sends no credentials.

Reading the table: 404 means the target is hidden from the actor (its existence is not
revealed); 403 means the actor can see it (or the route is not about one visible record) but
may not do this. Where both could apply the domain checks in this order, which the table
documents:

- employee writes check the writer's rights first: every non-writer gets 403, whether or not
  they could see the record (a 403 for any id reveals nothing);
- program, enrollment changes look the target up first: hidden → 404, visible but not allowed
  → 403;
- enrolling checks that the caller is a person first (service clients 403); an allowed person
  may still meet a business rule: already enrolled (409), managers cannot take part (422).

Writes are sent with valid bodies and the right ``If-Match`` so that a cell measures the
authorisation, not the validation. A refused request must change nothing (checked per cell).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from app.db.engine import Database
from app.db.models import ApiToken, Employee, Enrollment, Program, metadata
from app.domain import employees, enrollments, programs, tokens
from app.domain.actors import Actor, Scope
from app.domain.enrollments import EnrollmentRole
from app.domain.programs import ProgramStatus
from app.domain.tokens import person_actor
from tests.api.rest.test_route_protection import endpoints
from tests.replay import built_once

SYSTEM = Actor.system()

API = "/api/v1"

# fmt: off
MATRIX = """
request                                       anon subject other pm_a pm_b admin hris read emp audit
GET    /employees                              401     200   200  200  200   200  200  200 200   200
POST   /employees                              401     403   403  403  403   201  403  403 201   403
POST   /employees +is_admin                    401     403   403  403  403   201  403  403 403   403
GET    /employees/{subject}                    401     200   404  200  404   200  404  200 200   404
PATCH  /employees/{subject}                    401     403   403  403  403   200  403  403 200   403
PATCH  /employees/{subject} +is_admin          401     403   403  403  403   200  403  403 403   403
POST   /employees/{subject}/deactivate         401     403   403  403  403   200  403  403 200   403
GET    /employees/{subject}/management-chain   401     200   404  200  404   200  404  200 200   404
GET    /programs                               401     200   200  200  200   200  200  200 200   200
POST   /programs                               401     403   403  403  403   201  403  403 403   403
GET    /programs/{program_a}                   401     200   200  200  200   200  404  200 404   404
GET    /programs/{draft_a}                     401     404   404  200  404   200  404  404 404   404
PATCH  /programs/{program_a}                   401     403   403  200  403   200  404  403 404   404
PATCH  /programs/{program_a} +manager_ids      401     403   403  403  403   200  404  403 404   404
PATCH  /programs/{draft_a}                     401     404   404  200  404   200  404  404 404   404
POST   /programs/{program_a}/transitions       401     403   403  200  403   200  404  403 404   404
GET    /programs/{program_a}/enrollments       401     200   200  200  200   200  404  200 404   404
GET    /programs/{draft_a}/enrollments         401     404   404  200  404   200  404  404 404   404
POST   /programs/{program_a}/enrollments       401     409   409  422  201   201  403  403 403   403
GET    /enrollments/{subject_enrollment}       401     200   404  200  404   200  404  200 404   404
PATCH  /enrollments/{subject_enrollment}       401     200   404  403  404   403  404  403 404   404
POST   /enrollments/{subject_enrollment}/withdraw 401 200 404  200  404   200  404  403 404   404
GET    /tokens                                 401     403   403  403  403   200  403  403 403   403
POST   /tokens                                 401     403   403  403  403   201  403  403 403   403
GET    /tokens/{subject_token}                 401     403   403  403  403   200  403  403 403   403
POST   /tokens/{subject_token}/revoke         401     403   403  403  403   200  403  403 403   403
GET    /audit-events                           401     403   403  403  403   200  403  403 403   200
GET    /me                                     401     200   200  200  200   200  200  200 200   200
"""
# fmt: on

EVERY_EMPLOYEE = {"admin", "pm_a", "pm_b", "boss", "subject", "other"}
ENROLLMENTS_IN_A = {"subject_enrollment", "other_enrollment"}
OPEN_PROGRAMS = {"program_a", "program_b"}
EVERY_PROGRAM = {"program_a", "program_b", "draft_a"}

#: What a successful list returns, per actor (names of scenario records).
LIST_CONTENTS: dict[str, dict[str, set[str]]] = {
    "GET /employees": {
        "subject": {"subject"},
        "other": {"other"},
        "pm_a": {"pm_a", "subject", "other"},  # themselves and the people in their programs
        "pm_b": {"pm_b"},
        "admin": EVERY_EMPLOYEE,
        "hris": set(),
        "read": EVERY_EMPLOYEE,
        "emp": EVERY_EMPLOYEE,
        "audit": set(),
    },
    "GET /programs": {
        "subject": OPEN_PROGRAMS,
        "other": OPEN_PROGRAMS,
        "pm_a": EVERY_PROGRAM,  # including the draft they manage
        "pm_b": OPEN_PROGRAMS,
        "admin": EVERY_PROGRAM,
        "hris": set(),
        "read": OPEN_PROGRAMS,  # drafts are for admins and their managers only
        "emp": set(),
        "audit": set(),
    },
    "GET /programs/{program_a}/enrollments": {
        "subject": {"subject_enrollment"},
        "other": {"other_enrollment"},  # not the subject's
        "pm_a": ENROLLMENTS_IN_A,
        "pm_b": set(),  # managing another program shows nothing of this one
        "admin": ENROLLMENTS_IN_A,
        "read": ENROLLMENTS_IN_A,
    },
    "GET /programs/{draft_a}/enrollments": {"pm_a": set(), "admin": set()},
}

ME = {
    "subject": ("person", "participant"),
    "other": ("person", "participant"),
    "pm_a": ("person", "program_manager"),
    "pm_b": ("person", "program_manager"),
    "admin": ("person", "admin"),
    "hris": ("service", "service"),
    "read": ("service", "service"),
    "emp": ("service", "service"),
    "audit": ("service", "service"),
}

SERVICE_SCOPES = {
    "hris": Scope.HRIS_WRITE,  # a service client that never holds the scope a route needs
    "read": Scope.READ,
    "emp": Scope.EMPLOYEES_WRITE,
    "audit": Scope.AUDIT_READ,
}


# ---------------------------------------------------------------------------------------------
# The scenario
# ---------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=lambda: {"anon": {}})
    ground_rules_version: int = 1

    def name_of(self, value: str) -> str:
        """The scenario name of an id (or the id itself when it is not one of ours)."""
        by_id = {str(v): k for k, v in self.ids.items()}
        return by_id.get(value, value)


PEOPLE = {  # name: (job level, is admin)
    "admin": (6, True),
    "pm_a": (8, False),
    "pm_b": (8, False),
    "boss": (9, False),
    "subject": (7, False),
    "other": (2, False),
}


async def build_scenario(db: Database) -> Scenario:
    """The scenario in the database: built once per test process, replayed after that."""
    return await built_once(db, "security_matrix", lambda: _build_scenario(db))


async def _build_scenario(db: Database) -> Scenario:
    """The scenario, made through the domain services as the system in one unit of work (one
    commit instead of dozens keeps the matrix fast on both databases)."""
    s = Scenario()
    versioned: dict[str, Employee | Program | Enrollment | ApiToken] = {}
    async with db.session() as session:
        people: dict[str, Employee] = {}
        for name, (level, is_admin) in PEOPLE.items():
            people[name] = await employees.create_employee(
                session,
                SYSTEM,
                data=employees.EmployeeCreate(
                    email=f"{name}@example.com",
                    given_name=name.title(),
                    family_name="Example",
                    job_level=level,
                    department="Engineering",
                    manager_id=people["boss"].id if name == "subject" else None,
                    is_admin=is_admin,
                ),
            )
            s.ids[name] = people[name].id
            versioned[name] = people[name]
        for name, employee in people.items():
            if name != "boss":  # the boss never signs in
                token, value = await tokens.create_token(
                    session,
                    SYSTEM,
                    data=tokens.TokenCreate(name="laptop", employee_id=employee.id),
                    default_ttl_days=30,
                )
                s.headers[name] = {"Authorization": f"Bearer {value}"}
                if name == "subject":
                    s.ids["subject_token"] = token.id
                    versioned["subject_token"] = token
        for name, scope in SERVICE_SCOPES.items():
            _, value = await tokens.create_token(
                session,
                SYSTEM,
                data=tokens.TokenCreate(name=name, service=f"{name}-client", scopes=[scope]),
                default_ttl_days=30,
            )
            s.headers[name] = {"Authorization": f"Bearer {value}"}

        for name, manager, opened in (
            ("program_a", "pm_a", True),
            ("program_b", "pm_b", True),
            ("draft_a", "pm_a", False),
        ):
            program = await programs.create_program(
                session,
                SYSTEM,
                data=programs.ProgramCreate(
                    name=f"Reverse mentoring {name}",
                    focus_areas=["technology_adoption", "AI tools"],
                    ground_rules="Meet every two weeks. What is said stays between you.",
                    manager_ids=[people[manager].id],
                ),
            )
            if opened:
                program = await programs.transition_program(
                    session, SYSTEM, program.id, to=ProgramStatus.ENROLLING, expected_version=None
                )
            s.ids[name] = program.id
            versioned[name] = program
            if name == "program_a":
                s.ground_rules_version = program.ground_rules_version

        for name, role, topics in (
            ("subject", EnrollmentRole.MENTEE, {"wants_to_learn": ["AI tools"]}),
            ("other", EnrollmentRole.MENTOR, {"can_teach": ["AI tools", "Slack"]}),
        ):
            enrollment = await enrollments.enroll(
                session,
                await person_actor(session, people[name]),
                program_id=s.ids["program_a"],
                data=enrollments.EnrollmentCreate(
                    role=role, accepted_ground_rules_version=s.ground_rules_version, **topics
                ),
            )
            s.ids[f"{name}_enrollment"] = enrollment.id
            versioned[f"{name}_enrollment"] = enrollment
        await session.commit()
    s.versions = {name: record.version for name, record in versioned.items()}
    return s


@pytest.fixture
async def scenario(db: Database) -> Scenario:
    return await build_scenario(db)


# ---------------------------------------------------------------------------------------------
# The table, parsed
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    request: str  # e.g. "PATCH /programs/{program_a} +manager_ids"
    actor: str
    expected: int

    @property
    def method(self) -> str:
        return self.request.split()[0]

    @property
    def template(self) -> str:
        return self.request.split()[1]

    def __str__(self) -> str:
        return f"{self.request} as {self.actor}"


def parse_matrix(table: str) -> tuple[list[str], list[Cell]]:
    lines = [line for line in table.strip().splitlines() if line.strip()]
    actors = lines[0].split()[1:]
    cells: list[Cell] = []
    for line in lines[1:]:
        words = line.split()
        request, statuses = " ".join(words[: -len(actors)]), words[-len(actors) :]
        assert len(statuses) == len(actors), line
        cells += [Cell(request, a, int(code)) for a, code in zip(actors, statuses, strict=True)]
    return actors, cells


ACTORS, CELLS = parse_matrix(MATRIX)

Body = Callable[[Scenario], dict[str, Any]]

#: Valid bodies, so a refusal is about who asks, not about what they sent.
BODIES: dict[str, Body] = {
    "POST /employees": lambda s: {
        "email": "new.hire@example.com",
        "given_name": "Ada",
        "family_name": "Newhire",
        "job_level": 2,
    },
    "POST /employees +is_admin": lambda s: {
        "email": "new.admin@example.com",
        "given_name": "Ida",
        "family_name": "Admin",
        "job_level": 6,
        "is_admin": True,
    },
    "PATCH /employees/{subject}": lambda s: {"job_title": "Staff Engineer"},
    "PATCH /employees/{subject} +is_admin": lambda s: {"is_admin": True},
    "POST /programs": lambda s: {"name": "Leadership perspectives 2026"},
    "PATCH /programs/{program_a}": lambda s: {"description": "Now with Teams etiquette."},
    "PATCH /programs/{program_a} +manager_ids": lambda s: {
        "manager_ids": [str(s.ids["pm_a"]), str(s.ids["pm_b"])]
    },
    "PATCH /programs/{draft_a}": lambda s: {"description": "Still being planned."},
    "POST /programs/{program_a}/transitions": lambda s: {"to": "matching"},
    "POST /programs/{program_a}/enrollments": lambda s: {
        "role": "mentee",
        "accepted_ground_rules_version": s.ground_rules_version,
        "wants_to_learn": ["AI tools"],
    },
    "PATCH /enrollments/{subject_enrollment}": lambda s: {
        "motivation": "I want to understand how my team uses AI tools."
    },
    "POST /tokens": lambda s: {"name": "BI export", "service": "bi-export", "scopes": ["read"]},
}


def placeholders(template: str) -> list[str]:
    return [part[1:-1] for part in template.split("/") if part.startswith("{")]


def needs_if_match(cell: Cell) -> bool:
    return cell.method in {"PATCH", "DELETE"} or cell.template.endswith(
        ("/transitions", "/deactivate", "/withdraw", "/revoke")
    )


def build_request(cell: Cell, s: Scenario) -> tuple[str, str, dict[str, Any]]:
    path = cell.template
    for name in placeholders(cell.template):
        path = path.replace("{" + name + "}", str(s.ids[name]))
    headers = dict(s.headers[cell.actor])
    if needs_if_match(cell):
        target = placeholders(cell.template)[0]
        headers["If-Match"] = f'"v{s.versions[target]}"'
    kwargs: dict[str, Any] = {"headers": headers}
    if cell.request in BODIES:
        kwargs["json"] = BODIES[cell.request](s)
    return cell.method, API + path, kwargs


# ---------------------------------------------------------------------------------------------
# What a cell must also show besides its status
# ---------------------------------------------------------------------------------------------


async def fingerprint(db: Database) -> dict[str, tuple[int, int]]:
    """Row counts and version sums of every table: any stored change moves them."""
    out: dict[str, tuple[int, int]] = {}
    async with db.session() as session:
        for table in metadata.sorted_tables:
            versions = "coalesce(sum(version), 0)" if "version" in table.c else "0"
            sql = f"SELECT count(*), {versions} FROM {table.name}"  # noqa: S608 - from metadata
            row = (await session.execute(text(sql))).one()
            out[table.name] = (int(row[0]), int(row[1]))
    return out


def check_success(cell: Cell, s: Scenario, response: httpx.Response) -> None:
    """The body of an allowed request shows the actor what the rules allow, and the change."""
    body = response.json()
    request, actor = cell.request, cell.actor
    if request in LIST_CONTENTS:
        got = {s.name_of(item["id"]) for item in body["items"]}
        assert got == LIST_CONTENTS[request][actor], f"{cell}: got {sorted(got)}"
    elif request == "GET /me":
        assert (body["kind"], body["role"]) == ME[actor]
        if actor in s.ids:
            assert body["employee"]["id"] == str(s.ids[actor])
        else:
            assert body["scopes"] == [SERVICE_SCOPES[actor].value]
    elif request == "GET /employees/{subject}/management-chain":
        assert [e["id"] for e in body] == [str(s.ids["boss"])]
    elif request == "GET /tokens":
        assert str(s.ids["subject_token"]) in {t["id"] for t in body["items"]}
        assert all("token" not in t for t in body["items"])
    elif request == "GET /audit-events":
        assert {"program.created", "enrollment.created"} <= {e["action"] for e in body["items"]}
    elif cell.method == "GET":
        target = placeholders(cell.template)[-1]
        assert body["id"] == str(s.ids[target])
        assert response.headers["etag"] == f'"v{body["version"]}"'
    else:
        check_write(cell, s, response, body)


def check_write(cell: Cell, s: Scenario, response: httpx.Response, body: dict[str, Any]) -> None:
    expectations: dict[str, Callable[[], bool]] = {
        "POST /employees": lambda: body["email"] == "new.hire@example.com",
        "POST /employees +is_admin": lambda: body["is_admin"] is True,
        "PATCH /employees/{subject}": lambda: body["job_title"] == "Staff Engineer",
        "PATCH /employees/{subject} +is_admin": lambda: body["is_admin"] is True,
        "POST /employees/{subject}/deactivate": lambda: body["active"] is False,
        "POST /programs": lambda: body["status"] == "draft",
        "PATCH /programs/{program_a}": lambda: body["description"].startswith("Now with"),
        "PATCH /programs/{program_a} +manager_ids": lambda: (
            set(body["manager_ids"]) == {str(s.ids["pm_a"]), str(s.ids["pm_b"])}
        ),
        "PATCH /programs/{draft_a}": lambda: body["description"] == "Still being planned.",
        "POST /programs/{program_a}/transitions": lambda: body["status"] == "matching",
        "POST /programs/{program_a}/enrollments": lambda: (
            body["employee_id"] == str(s.ids[cell.actor]) and body["role"] == "mentee"
        ),
        "PATCH /enrollments/{subject_enrollment}": lambda: body["motivation"].startswith("I want"),
        "POST /enrollments/{subject_enrollment}/withdraw": lambda: body["status"] == "withdrawn",
        "POST /tokens": lambda: body["token"].startswith("rvm_"),
        "POST /tokens/{subject_token}/revoke": lambda: body["revoked_at"] is not None,
    }
    assert cell.request in expectations, f"no success check for {cell.request}"
    assert expectations[cell.request](), f"{cell}: {body}"
    if cell.method == "POST" and response.status_code == 201:
        assert response.headers["location"]
    if needs_if_match(cell):
        target = placeholders(cell.template)[0]
        assert body["version"] == s.versions[target] + 1, "a change makes a new version"


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------


def test_the_matrix_covers_every_api_route_and_actor(app: FastAPI) -> None:
    """A new /api/v1 route fails here until it has rows in the matrix (this table, the one
    for pairings, matching runs, pairing requests and blocks, the one for goals, check-ins,
    feedback and concerns, or the one for the HRIS sync)."""
    # Imported here: those modules build on this one.
    from tests.api.rest import test_security_matrix_hris as hris_matrix
    from tests.api.rest import test_security_matrix_pairings as pairings_matrix
    from tests.api.rest import test_security_matrix_progress as progress_matrix

    def shape(method: str, template: str) -> str:
        return (
            method + " " + "/".join("{}" if p.startswith("{") else p for p in template.split("/"))
        )

    live = {
        shape(e.method, e.path.removeprefix(API))
        for e in endpoints(app)
        if e.path.startswith(API + "/")
    }
    covered = {
        shape(c.method, c.template)
        for c in [*CELLS, *pairings_matrix.CELLS, *progress_matrix.CELLS, *hris_matrix.CELLS]
    }
    assert live - covered == set(), "routes without rows in the security matrix"
    assert covered - live == set(), "rows for routes that do not exist"
    assert ["anon", *ME] == ACTORS
    assert set(LIST_CONTENTS) | set(BODIES) <= {c.request for c in CELLS}


@pytest.mark.parametrize("cell", CELLS, ids=str)
async def test_security_matrix(
    cell: Cell, client: httpx.AsyncClient, db: Database, scenario: Scenario
) -> None:
    method, url, kwargs = build_request(cell, scenario)
    before = await fingerprint(db)
    response = await client.request(method, url, **kwargs)

    assert response.status_code == cell.expected, (
        f"{cell}: expected {cell.expected}, got {response.status_code}: {response.text}"
    )
    if response.is_success:
        check_success(cell, scenario, response)
        return
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == cell.expected
    if cell.expected == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert await fingerprint(db) == before, f"{cell} was refused but changed stored data"


async def test_only_people_can_enroll_and_only_themselves(
    client: httpx.AsyncClient, db: Database, scenario: Scenario
) -> None:
    """There is no way to enroll someone else: the body cannot name another employee."""
    body = BODIES["POST /programs/{program_a}/enrollments"](scenario)
    before = await fingerprint(db)
    for actor in ("admin", "pm_a"):
        response = await client.post(
            f"{API}/programs/{scenario.ids['program_b']}/enrollments",
            headers=scenario.headers[actor],
            json={**body, "employee_id": str(scenario.ids["other"])},
        )
        assert response.status_code == 422, response.text
    assert await fingerprint(db) == before


async def test_a_withdrawal_by_the_manager_is_recorded_as_not_by_the_participant(
    client: httpx.AsyncClient, db: Database, scenario: Scenario
) -> None:
    enrollment_id = scenario.ids["subject_enrollment"]
    etag = f'"v{scenario.versions["subject_enrollment"]}"'
    response = await client.post(
        f"{API}/enrollments/{enrollment_id}/withdraw",
        headers={**scenario.headers["pm_a"], "If-Match": etag},
    )
    assert response.status_code == 200
    events = await client.get(
        f"{API}/audit-events",
        params={"entity_id": str(enrollment_id), "action": "enrollment.withdrawn"},
        headers=scenario.headers["admin"],
    )
    [event] = events.json()["items"]
    assert event["actor_employee_id"] == str(scenario.ids["pm_a"])
    assert event["details"] == {"by_participant": False}


async def test_the_scenario_is_what_the_matrix_assumes(db: Database, scenario: Scenario) -> None:
    async with db.session() as session:
        for table in ("employees", "programs", "enrollments"):
            count = await session.scalar(select(func.count()).select_from(text(table)))
            assert count == {"employees": 6, "programs": 3, "enrollments": 2}[table]
