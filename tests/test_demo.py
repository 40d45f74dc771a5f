"""The demo organisation: a realistic company with two programs open for enrolment."""

from __future__ import annotations

from statistics import mean
from typing import Any

from sqlalchemy import func, select, text

from app.config import Settings
from app.db.engine import Database
from app.db.models import AuditEvent, Employee, Enrollment, Program, ProgramManager, metadata
from app.demo import ADMIN_EMAIL, load_demo

PROGRAM_NAMES = {"AI tools for leaders", "Inclusive leadership"}


async def _all(db: Database, model: Any) -> list[Any]:
    async with db.session() as session:
        return list((await session.execute(select(model))).scalars().all())


async def _counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model))
            for model in (Employee, Program, Enrollment, ProgramManager, AuditEvent)
        }


async def _empty(db: Database) -> None:
    """Empty every table, as a fresh installation would be."""
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE employees SET manager_id = NULL"))
        for table in tables:
            await conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - names from metadata


async def _roster(db: Database) -> list[tuple[str, str, int, str | None]]:
    return sorted(
        (e.email, e.display_name, e.job_level, e.job_title) for e in await _all(db, Employee)
    )


async def test_demo_is_a_company_with_a_real_management_tree(
    settings: Settings, db: Database
) -> None:
    summary = await load_demo(settings)

    people: list[Employee] = await _all(db, Employee)
    by_id = {e.id: e for e in people}
    assert 180 <= len(people) <= 220
    assert f"{len(people)} " in summary
    assert ADMIN_EMAIL in summary

    tops = [e for e in people if e.manager_id is None]
    assert len(tops) == 1
    assert tops[0].job_title == "Chief Executive Officer"
    assert tops[0].job_level == max(e.job_level for e in people) >= 11
    for employee in people:
        if employee.manager_id is not None:
            boss = by_id[employee.manager_id]
            assert boss.job_level > employee.job_level, (employee.display_name, boss.display_name)

    assert {e.department for e in people} >= {
        "Engineering",
        "Sales",
        "Marketing",
        "Finance",
        "People",
        "Operations",
        "Product",
        "Customer Success",
    }
    assert len({e.division for e in people}) >= 3
    assert {e.time_zone for e in people} >= {"Europe/Berlin", "America/New_York", "Asia/Kolkata"}
    assert min(e.job_level for e in people) == 1
    assert len({e.email.lower() for e in people}) == len(people)
    assert all(e.email.endswith("@northwind.example") for e in people)
    assert len({e.display_name for e in people}) == len(people)
    assert all(e.job_title and e.hire_date and e.languages and e.skills for e in people)
    assert all("English" in e.languages for e in people)
    graduates = [e for e in people if e.job_level == 1]
    assert graduates
    assert all(e.job_title and e.job_title.startswith("Graduate") for e in graduates)

    admins = [e for e in people if e.is_admin]
    assert [(a.email, a.display_name, a.job_title) for a in admins] == [
        (ADMIN_EMAIL, "Amara Okafor", "Chief People Officer")
    ]


async def test_demo_opens_two_programs_with_juniors_teaching_seniors(
    settings: Settings, db: Database
) -> None:
    await load_demo(settings)

    people = {e.id: e for e in await _all(db, Employee)}
    programs: list[Program] = await _all(db, Program)
    managers: list[ProgramManager] = await _all(db, ProgramManager)
    enrollments: list[Enrollment] = await _all(db, Enrollment)

    assert {p.name for p in programs} == PROGRAM_NAMES
    assert all(p.status == "enrolling" for p in programs)
    assert all(p.description and p.ground_rules and p.starts_on and p.ends_on for p in programs)
    focus = {p.name: p.focus_areas for p in programs}
    assert focus["AI tools for leaders"] == [
        "technology_adoption",
        "workplace_communication",
        "AI tools",
    ]
    assert focus["Inclusive leadership"] == ["diversity_inclusion", "leadership_development"]

    for program in programs:
        managed_by = [people[m.employee_id] for m in managers if m.program_id == program.id]
        assert len(managed_by) == 1
        assert managed_by[0].department == "People"
        assert not managed_by[0].is_admin

        members = [e for e in enrollments if e.program_id == program.id]
        assert managed_by[0].id not in {e.employee_id for e in members}
        mentors = [people[e.employee_id] for e in members if e.role == "mentor"]
        mentees = [people[e.employee_id] for e in members if e.role == "mentee"]
        assert 25 <= len(mentors) <= 35, program.name
        assert 20 <= len(mentees) <= 30, program.name
        assert all(1 <= m.job_level <= 4 for m in mentors)
        assert all(m.job_level >= 7 for m in mentees)
        assert mean(m.job_level for m in mentors) < mean(m.job_level for m in mentees)
        for enrollment in members:
            assert enrollment.status == "active"
            assert enrollment.consent_version == program.ground_rules_version
            assert enrollment.availability
            if enrollment.role == "mentor":
                assert enrollment.can_teach
            else:
                assert enrollment.wants_to_learn


async def test_demo_loads_only_into_an_empty_database(settings: Settings, db: Database) -> None:
    await load_demo(settings)
    before = await _counts(db)

    message = await load_demo(settings)

    assert "skipped" in message
    assert "not empty" in message
    assert "\n" not in message
    assert await _counts(db) == before


async def test_the_same_seed_gives_the_same_organisation(settings: Settings, db: Database) -> None:
    await load_demo(settings, seed=7)
    first = await _roster(db)
    await _empty(db)

    await load_demo(settings, seed=7)
    again = await _roster(db)
    await _empty(db)

    await load_demo(settings, seed=8)
    other = await _roster(db)

    assert first == again
    assert {name for _, name, _, _ in first} != {name for _, name, _, _ in other}
    assert ADMIN_EMAIL in {email for email, _, _, _ in other}


async def test_the_demo_admin_and_a_program_manager_use_the_api(
    settings: Settings, db: Database, client: Any, factory: Any
) -> None:
    await load_demo(settings)
    people = {e.email: e for e in await _all(db, Employee)}
    admin = people[ADMIN_EMAIL]
    manager = people["daniel.mensah@northwind.example"]

    response = await client.get(
        "/api/v1/programs",
        headers={"Authorization": f"Bearer {await factory.token_for(admin)}"},
    )
    assert response.status_code == 200, response.text
    listed = response.json()["items"]
    assert {p["name"] for p in listed} == PROGRAM_NAMES
    assert {p["status"] for p in listed} == {"enrolling"}

    response = await client.get(
        "/api/v1/programs",
        params={"managed_by_me": "true"},
        headers={"Authorization": f"Bearer {await factory.token_for(manager)}"},
    )
    assert response.status_code == 200, response.text
    assert [p["name"] for p in response.json()["items"]] == ["AI tools for leaders"]


async def test_force_loads_beside_existing_people_and_completes_the_bootstrapped_admin(
    settings: Settings, db: Database, factory: Any
) -> None:
    # What `revmentor token create --email ... --role admin` leaves behind on a fresh install.
    await factory.employee(
        email=ADMIN_EMAIL, given_name="Amara", family_name="Okafor", job_level=1, is_admin=True
    )
    outsider = await factory.employee(email="contractor@example.com")

    skipped = await load_demo(settings)
    summary = await load_demo(settings, force=True)

    assert "skipped" in skipped
    assert "1 already on file" in summary
    people = {e.email: e for e in await _all(db, Employee)}
    assert outsider.email in people
    northwind = [e for e in people.values() if e.email.endswith("@northwind.example")]
    assert 180 <= len(northwind) == len(people) - 1 <= 220
    amara = people[ADMIN_EMAIL]
    assert (amara.job_title, amara.job_level, amara.is_admin) == ("Chief People Officer", 11, True)
    assert amara.manager_id is not None
    assert {p.name for p in await _all(db, Program)} == PROGRAM_NAMES
