"""Matching benchmark: a whole-cohort run end to end (API call → proposals stored) against the
bare solver on the same matrix, on SQLite and PostgreSQL.

Run: ``python -m bench.matching`` (see bench/README.md). The cohort: 1,500 mentors with capacity 2
and 3,000 mentees in an organisation of 6,000 people with manager chains, levels, departments,
topics, languages and time zones.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import insert

from app.config import Settings
from app.db.engine import Database
from app.db.migrations import upgrade
from app.db.models import Employee, Enrollment, Program, ProgramManager
from app.db.types import uuid7
from app.domain import tokens
from app.domain.actors import Actor
from app.domain.matching import engine
from app.domain.matching.candidates import ancestors_from_tree, engine_settings, to_candidate
from bench.rest import prepare_database
from tests.live_server import live_server, peak_rss_mib

DEPARTMENTS = [
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "People",
    "Operations",
    "Product",
    "Customer Success",
]
PLACES = [
    ("Berlin", "Europe/Berlin"),
    ("London", "Europe/London"),
    ("New York", "America/New_York"),
    ("Bangalore", "Asia/Kolkata"),
    ("Singapore", "Asia/Singapore"),
]
TOPICS = [
    "AI tools",
    "ChatGPT",
    "Slack",
    "Teams",
    "TikTok",
    "social media",
    "Figma",
    "Python",
    "inclusive language",
    "hybrid work",
    "data literacy",
    "LinkedIn",
    "automation",
    "prompt writing",
    "accessibility",
    "Gen Z perspectives",
]
LANGUAGES = ["English", "German", "Hindi", "Mandarin", "Spanish", "French"]
DAYS = ["mon", "tue", "wed", "thu", "fri"]


def generate(
    seed: int, mentors: int, mentees: int
) -> tuple[list[dict[str, Any]], list[uuid.UUID], list[uuid.UUID]]:
    """Employee rows (managers first) and the ids of the mentors and mentees."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []

    def person(level: int, manager: uuid.UUID | None, department: str) -> uuid.UUID:
        n = len(rows)
        place, zone = rng.choice(PLACES)
        employee_id = uuid7()
        rows.append(
            {
                "id": employee_id,
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "external_id": f"B-{n:06d}",
                "email": f"p{n}@bench.example",
                "email_key": f"p{n}@bench.example",
                "given_name": "P",
                "family_name": str(n),
                "display_name": f"Person {n}",
                "job_title": f"Level {level}",
                "job_level": level,
                "department": department,
                "division": None,
                "location": place,
                "time_zone": zone,
                "manager_id": manager,
                "hire_date": None,
                "active": True,
                "deactivated_at": None,
                "skills": rng.sample(TOPICS, 3),
                "interests": rng.sample(TOPICS, 3),
                "languages": ["English", *rng.sample(LANGUAGES[1:], rng.randint(0, 1))],
                "is_admin": False,
            }
        )
        return employee_id

    ceo = person(12, None, "Board")
    seniors: list[uuid.UUID] = []
    managers = [(person(11, ceo, d), d) for d in DEPARTMENTS]
    for level in (10, 9, 8):
        managers = [(person(level, m, d), d) for m, d in managers for _ in range(3)]
        seniors += [m for m, _ in managers]
    while len(seniors) < mentees:
        manager, department = rng.choice(managers)
        seniors.append(person(rng.randint(5, 7), manager, department))
    juniors = [person(rng.randint(1, 4), *rng.choice(managers)) for _ in range(mentors)]
    return rows, juniors, seniors[:mentees]


async def load(url: str, seed: int, n_mentors: int, n_mentees: int) -> tuple[str, uuid.UUID]:
    """A fresh database with the organisation, one program in 'matching' and its enrollments;
    returns a program manager's token and the program id."""
    await prepare_database(url)
    db = Database(Settings(database_url=url))
    await upgrade(db.engine)
    rows, juniors, seniors = generate(seed, n_mentors, n_mentees)
    rng = random.Random(seed + 1)
    now = datetime.now(UTC)
    program_id = uuid7()
    pm = rows[0]["id"]  # the CEO manages the benchmark program and takes no part in it
    enrollments: list[dict[str, Any]] = []
    for employee_id, role in [(j, "mentor") for j in juniors] + [(s, "mentee") for s in seniors]:
        day = rng.choice(DAYS)
        start = rng.randint(8, 15)
        enrollments.append(
            {
                "id": uuid7(),
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "program_id": program_id,
                "employee_id": employee_id,
                "role": role,
                "status": "active",
                "consent_at": now,
                "consent_version": 1,
                "can_teach": rng.sample(TOPICS, 4) if role == "mentor" else [],
                "wants_to_learn": rng.sample(TOPICS, 3) if role == "mentee" else [],
                "availability": [
                    {"day": day, "start": f"{start:02d}:00", "end": f"{start + 2:02d}:00"}
                ],
                "capacity": 2 if role == "mentor" else None,
                "motivation": "",
                "withdrawn_at": None,
                "withdrawal_reason": None,
            }
        )
    async with db.session() as session:
        for chunk in range(0, len(rows), 1000):
            await session.execute(insert(Employee), rows[chunk : chunk + 1000])
        await session.execute(
            insert(Program).values(
                id=program_id,
                created_at=now,
                updated_at=now,
                version=1,
                name="Benchmark cohort",
                description="",
                focus_areas=["technology_adoption", "AI tools"],
                status="matching",
                meeting_cadence_days=14,
                pairing_length_weeks=26,
                ground_rules="Be kind.",
                ground_rules_version=1,
                min_level_gap=2,
                default_mentor_capacity=2,
                max_mentor_capacity=3,
                matching_weights={
                    "topic_overlap": 5,
                    "different_department": 2,
                    "working_hours_overlap": 2,
                    "shared_language": 1,
                    "location": 0.5,
                },
                matching_priority="participation",
                min_match_score=0,
                acceptance_window_days=7,
            )
        )
        await session.execute(
            insert(ProgramManager).values(program_id=program_id, employee_id=pm, created_at=now)
        )
        for chunk in range(0, len(enrollments), 1000):
            await session.execute(insert(Enrollment), enrollments[chunk : chunk + 1000])
        _, token = await tokens.create_token(
            session,
            Actor.system(),
            data=tokens.TokenCreate(name="bench", employee_id=pm),
            default_ttl_days=1,
        )
        await session.commit()
    await db.dispose()
    return token, program_id


async def bare_solver(url: str, program_id: uuid.UUID) -> dict[str, float]:
    """The solver alone on the same matrix the run builds (the baseline)."""
    from sqlalchemy import select

    db = Database(Settings(database_url=url))
    async with db.session() as session:
        program = await session.get(Program, program_id)
        assert program is not None
        enrollment_rows = list(
            (
                await session.execute(
                    select(Enrollment).where(Enrollment.program_id == program_id)  # type: ignore[arg-type]
                )
            ).scalars()
        )
        employees = {e.id: e for e in (await session.execute(select(Employee))).scalars()}
    await db.dispose()
    tree = {e.id: e.manager_id for e in employees.values()}
    candidates = [
        to_candidate(
            e,
            employees[e.employee_id],
            ancestors=ancestors_from_tree(tree, e.employee_id),
            open_pairings=0,
        )
        for e in enrollment_rows
    ]
    settings = engine_settings(program)
    mentors = sorted((c for c in candidates if c.role == "mentor"), key=lambda c: c.enrollment_id)
    mentees = sorted((c for c in candidates if c.role == "mentee"), key=lambda c: c.enrollment_id)
    tracemalloc.start()
    started = time.perf_counter()
    matrix = engine.solver_weights(mentors, mentees, settings)  # what match() solves
    built = time.perf_counter()
    rows, _ = engine.solve_matrix(matrix)
    solved = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "matrix_ms": (built - started) * 1000,
        "solve_ms": (solved - built) * 1000,
        "pairs": float(len(rows)),
        "peak_mib": peak / 2**20,
        "shape": float(matrix.shape[0] * 10_000 + matrix.shape[1]),
    }


async def end_to_end(base: str, pid: int, token: str, program_id: uuid.UUID) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        rss_before = peak_rss_mib(pid)
        started = time.perf_counter()
        sent_at = datetime.now(UTC)
        response = await client.post(f"/api/v1/programs/{program_id}/matching-runs", json={})
        assert response.status_code == 202, response.text
        location = response.headers["location"]
        # Meanwhile the server keeps answering: measure a health check during the run.
        health: list[float] = []
        while True:
            t = time.perf_counter()
            await client.get("/healthz")
            health.append((time.perf_counter() - t) * 1000)
            run = (await client.get(location)).json()
            if run["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.05)  # light polling: the client shares the 2 cores
        elapsed = time.perf_counter() - started
        # "Stored" is the commit that finished the run (server and client share this clock).
        stored_s = (datetime.fromisoformat(run["finished_at"]) - sent_at).total_seconds()
        assert run["status"] == "succeeded", run
        t = time.perf_counter()
        await client.get(location)
        fetch_ms = (time.perf_counter() - t) * 1000
        return {
            "wall_s": elapsed,
            "timings": run["timings_ms"],
            "pairs": len(run["proposals"]),
            "unmatched": len(run["unmatched"]),
            "rss_peak_mib": peak_rss_mib(pid),
            "rss_before_mib": rss_before,
            "health_max_ms": max(health),
            "fetch_ms": fetch_ms,
            "stored_s": stored_s,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mentors", type=int, default=1500)
    parser.add_argument("--mentees", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--sqlite-url", default="sqlite+aiosqlite:///./var/bench-matching.db")
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/revmentor_bench"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    urls = [("SQLite", args.sqlite_url)]
    if not args.skip_postgres:
        urls.append(("PostgreSQL", args.postgres_url))
    print(
        f"Revmentor matching benchmark — {args.mentors} mentors (capacity 2), "
        f"{args.mentees} mentees"
    )
    for name, url in urls:
        token, program_id = asyncio.run(load(url, args.seed, args.mentors, args.mentees))
        baseline = asyncio.run(bare_solver(url, program_id))
        with live_server(url) as server:
            result = asyncio.run(end_to_end(server, server.pid, token, program_id))
        t = result["timings"]
        overhead = result["stored_s"] * 1000 - baseline["solve_ms"]
        print(f"\n[{name}]")
        print(
            f"  bare solver (baseline): {baseline['solve_ms']:8.0f} ms   "
            f"matrix build {baseline['matrix_ms']:.0f} ms, peak {baseline['peak_mib']:.0f} MiB"
        )
        print(
            f"  end to end (API call → proposals stored): {result['stored_s'] * 1000:5.0f} ms   "
            f"{result['pairs']} pairs, {result['unmatched']} unmatched "
            f"(client saw it {result['wall_s'] * 1000:.0f} ms after the call, polling)"
        )
        print("  run phases: " + ", ".join(f"{k} {v:.0f}" for k, v in t.items()))
        print(
            f"  reading the finished run ({result['pairs']} proposals): {result['fetch_ms']:.0f} ms"
        )
        print(
            f"  overhead over the bare solver: {overhead:.0f} ms "
            f"({overhead / baseline['solve_ms']:.1f}x the solver)"
        )
        print(
            f"  server peak RSS: {result['rss_peak_mib']:.0f} MiB "
            f"(before the run {result['rss_before_mib']:.0f} MiB); "
            f"slowest /healthz during the run {result['health_max_ms']:.0f} ms"
        )


if __name__ == "__main__":
    main()
