"""Loading the demo into a database."""

from __future__ import annotations

import random

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import Database
from app.db.models import Employee
from app.db.types import utcnow
from app.demo.organisation import (
    ADMIN_EMAIL,
    ORGANISATION,
    PROGRAMS,
    _create_program,
    _enroll_cohort,
    _plan_organisation,
    _save_people,
)
from app.demo.running import _run_program
from app.domain.actors import Actor


async def load_demo(settings: Settings, *, seed: int = 7, force: bool = False) -> str:
    """Load the demo organisation into an empty database (or any, forced); say what was done."""
    db = Database(settings)
    try:
        async with db.session() as session:
            count = await session.scalar(select(func.count()).select_from(Employee)) or 0
            if count and not force:
                return (
                    f"demo skipped: the database is not empty ({count} employees); "
                    "use --force to load it anyway"
                )
            return await _load(session, seed=seed, reuse=bool(count))
    finally:
        await db.dispose()


async def _load(session: AsyncSession, *, seed: int, reuse: bool) -> str:
    now = utcnow()
    today = now.date()
    people, program_managers = _plan_organisation(seed, today)
    # Enrolments draw from their own generator, so the people do not depend on them; the
    # running program's history from another, so the enrolments do not depend on it.
    rng = random.Random(f"{seed}-enrollments")
    history_rng = random.Random(f"{seed}-history")
    system = Actor.system()
    saved, updated = await _save_people(session, system, people, reuse=reuse)
    employees_by_id = {e.id: e for e in saved.values()}
    people_by_id = {saved[p.email].id: p for p in people}
    running = [p for p in PROGRAMS if p.running_weeks is not None]
    lines = [
        f"Loaded the demo organisation {ORGANISATION} (seed {seed}):",
        f"  employees:   {len(people)} in {len({p.department.name for p in people})} "
        f"departments and {len({p.city.name for p in people})} locations"
        + (f" ({updated} already on file, updated)" if updated else ""),
        f"  programs:    {len(PROGRAMS)}: {len(PROGRAMS) - len(running)} open for enrolment, "
        f"{len(running)} running",
    ]
    for plan in PROGRAMS:
        manager = program_managers[plan.name]
        program = await _create_program(
            session, system, plan, manager=saved[manager.email], today=today
        )
        mentors, mentees = await _enroll_cohort(
            session, rng, plan, program, people=people, saved=saved, manager=manager
        )
        lines.append(
            f"    {plan.name}: {mentors} mentors, {mentees} mentees "
            f"(managed by {manager.given} {manager.family})"
        )
        if plan.running_weeks is None:
            continue
        history, health = await _run_program(
            session,
            history_rng,
            plan,
            program,
            manager=saved[manager.email],
            employees_by_id=employees_by_id,
            people_by_id=people_by_id,
            now=now,
        )
        lines += [
            f"      {history.pairings} pairings live for {plan.running_weeks} weeks: "
            f"{history.check_ins} check-ins ({history.private_notes} with a private note), "
            f"{history.feedback} feedback entries, {history.goals} goals "
            f"({history.goals_achieved} achieved), {history.concerns} confidential concern"
            + ("s" if history.concerns != 1 else ""),
            f"      health: {health.healthy} healthy, {health.needs_attention} needing attention, "
            f"{health.at_risk} at risk",
        ]
    await session.commit()
    lines.append(f"  admin:       {ADMIN_EMAIL}")
    return "\n".join(lines)
