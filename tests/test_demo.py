"""The demo organisation: a realistic company with two programs open for enrolment and one
ten weeks under way."""

from __future__ import annotations

from collections import defaultdict
from statistics import mean
from typing import Any

from sqlalchemy import func, select, text

from app.config import Settings
from app.db.engine import Database
from app.db.models import (
    AuditEvent,
    CheckIn,
    CheckInPrivateNote,
    Concern,
    Employee,
    Enrollment,
    Feedback,
    Goal,
    GoalMilestone,
    MatchingRun,
    Pairing,
    Program,
    ProgramManager,
    metadata,
)
from app.db.types import utcnow
from app.demo import ADMIN_EMAIL, load_demo
from app.domain.actors import Actor
from app.domain.reports import program_report

ENROLLING = {"AI tools for leaders", "Inclusive leadership"}
RUNNING = "Digital workplace circle"
PROGRAM_NAMES = ENROLLING | {RUNNING}
#: How many mentors and mentees opt in to each program (inclusive ranges).
COHORTS = {
    "AI tools for leaders": ((25, 35), (20, 30)),
    "Inclusive leadership": ((25, 35), (20, 30)),
    RUNNING: ((16, 20), (12, 15)),
}
RATINGS = ("rating_value", "rating_mutual_respect", "rating_psychological_safety", "rating_clarity")


async def _all(db: Database, model: Any) -> list[Any]:
    async with db.session() as session:
        return list((await session.execute(select(model))).scalars().all())


async def _counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model))
            for model in (
                Employee,
                Program,
                Enrollment,
                ProgramManager,
                MatchingRun,
                Pairing,
                Goal,
                CheckIn,
                Feedback,
                Concern,
                AuditEvent,
            )
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


async def _life(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """The running program's history, by who and what (ids and load-time stamps left out)."""
    email = {e.id: e.email for e in await _all(db, Employee)}
    pairs = {
        p.id: (email[p.mentor_employee_id], email[p.mentee_employee_id])
        for p in await _all(db, Pairing)
    }
    check_ins: list[CheckIn] = await _all(db, CheckIn)
    meeting = {c.id: (pairs[c.pairing_id], c.met_on) for c in check_ins}
    milestones: dict[Any, list[tuple[str, bool]]] = defaultdict(list)
    for m in sorted(await _all(db, GoalMilestone), key=lambda m: m.position):
        milestones[m.goal_id].append((m.title, m.done))
    return {
        "pairings": sorted(
            (*pairs[p.id], p.state, p.score, p.activated_at) for p in await _all(db, Pairing)
        ),
        "check_ins": sorted(
            (
                *meeting[c.id],
                email[c.logged_by_id],
                c.mode,
                c.duration_minutes,
                tuple(c.topics),
                c.shared_notes,
            )
            for c in check_ins
        ),
        "private_notes": sorted(
            (*meeting[n.check_in_id], email[n.author_employee_id], n.body)
            for n in await _all(db, CheckInPrivateNote)
        ),
        "goals": sorted(
            (
                pairs[g.pairing_id],
                email[g.owner_employee_id],
                g.title,
                g.status,
                g.progress,
                g.target_date,
                tuple(milestones[g.id]),
            )
            for g in await _all(db, Goal)
        ),
        "feedback": sorted(
            (
                meeting[f.check_in_id],
                email[f.author_employee_id],
                *(getattr(f, r) for r in RATINGS),
                f.comment or "",
                f.comment_visibility,
            )
            for f in await _all(db, Feedback)
        ),
        "concerns": sorted(
            (pairs[c.pairing_id], email[c.raised_by_id], c.category, c.description, c.status)
            for c in await _all(db, Concern)
        ),
    }


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


async def test_demo_has_three_programs_with_juniors_teaching_seniors(
    settings: Settings, db: Database
) -> None:
    await load_demo(settings)

    people = {e.id: e for e in await _all(db, Employee)}
    programs: list[Program] = await _all(db, Program)
    managers: list[ProgramManager] = await _all(db, ProgramManager)
    enrollments: list[Enrollment] = await _all(db, Enrollment)

    assert {p.name for p in programs} == PROGRAM_NAMES
    assert {p.name: p.status for p in programs} == {
        "AI tools for leaders": "enrolling",
        "Inclusive leadership": "enrolling",
        RUNNING: "active",
    }
    assert all(p.description and p.ground_rules and p.starts_on and p.ends_on for p in programs)
    focus = {p.name: p.focus_areas for p in programs}
    assert focus["AI tools for leaders"] == [
        "technology_adoption",
        "workplace_communication",
        "AI tools",
    ]
    assert focus["Inclusive leadership"] == ["diversity_inclusion", "leadership_development"]
    assert focus[RUNNING] == ["workplace_communication", "technology_adoption"]
    today = utcnow().date()
    for program in programs:
        assert program.starts_on is not None
        assert (program.starts_on > today) is (program.name in ENROLLING)

    for program in programs:
        managed_by = [people[m.employee_id] for m in managers if m.program_id == program.id]
        assert len(managed_by) == 1
        assert managed_by[0].department == "People"
        assert not managed_by[0].is_admin

        members = [e for e in enrollments if e.program_id == program.id]
        assert managed_by[0].id not in {e.employee_id for e in members}
        mentors = [people[e.employee_id] for e in members if e.role == "mentor"]
        mentees = [people[e.employee_id] for e in members if e.role == "mentee"]
        (low_mentors, high_mentors), (low_mentees, high_mentees) = COHORTS[program.name]
        assert low_mentors <= len(mentors) <= high_mentors, program.name
        assert low_mentees <= len(mentees) <= high_mentees, program.name
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


async def test_the_running_program_has_ten_weeks_of_life_in_it(
    settings: Settings, db: Database
) -> None:
    summary = await load_demo(settings)
    now = utcnow()
    today = now.date()

    people = {e.id: e for e in await _all(db, Employee)}
    program = next(p for p in await _all(db, Program) if p.name == RUNNING)
    manager_ids = {
        m.employee_id for m in await _all(db, ProgramManager) if m.program_id == program.id
    }
    enrolled = [e for e in await _all(db, Enrollment) if e.program_id == program.id]
    runs = [r for r in await _all(db, MatchingRun) if r.program_id == program.id]
    pairings = [p for p in await _all(db, Pairing) if p.program_id == program.id]
    check_ins = [c for c in await _all(db, CheckIn) if c.program_id == program.id]
    goals = [g for g in await _all(db, Goal) if g.program_id == program.id]
    feedback = [f for f in await _all(db, Feedback) if f.program_id == program.id]
    concerns = [c for c in await _all(db, Concern) if c.program_id == program.id]
    notes = await _all(db, CheckInPrivateNote)

    # Matched by one run its manager started, accepted by both members, live for ten weeks.
    assert program.status == "active"
    assert [(r.status, r.dry_run, r.requested_by_id in manager_ids) for r in runs] == [
        ("succeeded", False, True)
    ]
    assert len(pairings) >= 10
    mentees = [e for e in enrolled if e.role == "mentee"]
    assert {p.mentee_enrollment_id for p in pairings} == {e.id for e in mentees}
    for p in pairings:
        assert (p.state, p.origin, p.matching_run_id) == ("active", "matching", runs[0].id)
        assert p.mentor_accepted_at is not None
        assert p.mentee_accepted_at is not None
        assert p.activated_at == max(p.mentor_accepted_at, p.mentee_accepted_at)
        assert runs[0].created_at <= p.created_at < p.activated_at
        assert 68 <= (today - p.activated_at.date()).days <= 75
        assert people[p.mentee_employee_id].job_level - people[p.mentor_employee_id].job_level >= 3
    assert max(e.created_at for e in enrolled) < runs[0].created_at
    assert program.created_at < min(e.created_at for e in enrolled)

    # Meetings about a fortnight apart, never before going live or in the future; all but one
    # or two pairings have met in the last four weeks.
    live_on = {p.id: p.activated_at.date() for p in pairings if p.activated_at}
    met: dict[Any, list[Any]] = defaultdict(list)
    for c in check_ins:
        assert live_on[c.pairing_id] <= c.met_on <= today
        assert c.created_at <= now
        assert c.shared_notes
        assert c.topics
        met[c.pairing_id].append(c.met_on)
    assert set(met) == set(live_on)
    assert all(len(days) >= 2 for days in met.values())
    quiet = [p for p, days in met.items() if (today - max(days)).days > 28]
    assert 1 <= len(quiet) <= 2
    assert 3.5 <= len(check_ins) / len(pairings) <= 6
    logged_by = {c.id: c.logged_by_id for c in check_ins}
    mine = [n for n in notes if n.check_in_id in logged_by]
    assert len(mine) >= 5
    assert all(n.author_employee_id == logged_by[n.check_in_id] for n in mine)
    assert all("lorem" not in c.shared_notes.lower() for c in check_ins)

    # Goals of both members, one to three a pairing: achieved, under way, one or two late.
    per_pairing = defaultdict(int)
    for g in goals:
        per_pairing[g.pairing_id] += 1
        assert g.created_at <= now
        assert (g.achieved_at is not None) is (g.status == "achieved")
    assert set(per_pairing) == set(live_on)
    assert all(1 <= n <= 3 for n in per_pairing.values())
    assert {g.owner_role for g in goals} == {"mentor", "mentee"}
    assert {g.status for g in goals} >= {"achieved", "in_progress"}
    late = [g for g in goals if g.target_date and g.target_date < today and g.status != "achieved"]
    assert 1 <= len(late) <= 2

    # Feedback on many check-ins, mostly 4 and 5, a few pairings rating low.
    assert len(feedback) >= len(check_ins)
    assert all(f.kind == "check_in" and f.check_in_id in logged_by for f in feedback)
    ratings = [getattr(f, r) for f in feedback for r in RATINGS]
    assert sum(r >= 4 for r in ratings) / len(ratings) >= 0.6
    assert min(ratings) <= 2

    # One confidential concern, seen by the program manager.
    assert len(concerns) == 1
    concern = concerns[0]
    assert concern.status == "acknowledged"
    assert concern.acknowledged_by_id in manager_ids
    pairing = next(p for p in pairings if p.id == concern.pairing_id)
    assert concern.raised_by_id in {pairing.mentor_employee_id, pairing.mentee_employee_id}
    assert concern.created_at <= concern.acknowledged_at <= now

    async with db.session() as session:
        report = await program_report(session, Actor.system(), program.id)
    assert report.program_status == "active"
    assert report.pairings.active == len(pairings) > 0
    assert report.check_ins == len(check_ins) > 0
    assert report.goals == len(goals)
    assert report.goals_achieved > 0
    assert report.median_days_to_active_pairing is not None
    assert report.median_days_to_active_pairing > 0
    assert all(s.score is not None and not s.suppressed for s in report.satisfaction)
    assert report.health.at_risk >= 1
    assert report.health.healthy > report.health.at_risk
    reasons = {r.code.value for h in report.at_risk for r in h.reasons}
    assert {"overdue_check_in", "low_ratings", "open_concern"} <= reasons

    assert f"{len(pairings)} pairings live for 10 weeks: {len(check_ins)} check-ins" in summary
    assert f"{report.health.at_risk} at risk" in summary


async def test_demo_loads_only_into_an_empty_database(settings: Settings, db: Database) -> None:
    await load_demo(settings)
    before = await _counts(db)

    message = await load_demo(settings)

    assert "skipped" in message
    assert "not empty" in message
    assert "\n" not in message
    assert await _counts(db) == before


async def test_the_same_seed_gives_the_same_organisation_and_history(
    settings: Settings, db: Database
) -> None:
    first_summary = await load_demo(settings, seed=7)
    first, first_life = await _roster(db), await _life(db)
    await _empty(db)

    again_summary = await load_demo(settings, seed=7)
    again, again_life = await _roster(db), await _life(db)
    await _empty(db)

    await load_demo(settings, seed=8)
    other, other_life = await _roster(db), await _life(db)

    assert first == again
    assert first_life == again_life
    assert first_summary == again_summary
    assert all(first_life.values())
    assert {name for _, name, _, _ in first} != {name for _, name, _, _ in other}
    assert first_life["check_ins"] != other_life["check_ins"]
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
    assert {p["name"]: p["status"] for p in listed} == {
        **dict.fromkeys(ENROLLING, "enrolling"),
        RUNNING: "active",
    }

    response = await client.get(
        "/api/v1/programs",
        params={"managed_by_me": "true"},
        headers={"Authorization": f"Bearer {await factory.token_for(manager)}"},
    )
    assert response.status_code == 200, response.text
    assert [p["name"] for p in response.json()["items"]] == ["AI tools for leaders"]

    # The running program's manager reads its health in the report.
    lead = people["weiling.tan@northwind.example"]
    headers = {"Authorization": f"Bearer {await factory.token_for(lead)}"}
    response = await client.get(
        "/api/v1/programs", params={"managed_by_me": "true"}, headers=headers
    )
    assert response.status_code == 200, response.text
    [running] = response.json()["items"]
    assert (running["name"], running["status"]) == (RUNNING, "active")
    response = await client.get(f"/api/v1/programs/{running['id']}/report", headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["pairings"]["active"] > 0
    assert report["check_ins"] > 0
    assert report["health"]["at_risk"] >= 1
    assert any(r["code"] == "open_concern" for h in report["at_risk"] for r in h["reasons"])


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
