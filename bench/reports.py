"""Reports benchmark: the program report and its streamed CSV export over real HTTP, beside the
bare aggregate SQL of a report (the baseline), on SQLite and PostgreSQL.

Run: ``python -m bench.reports`` (see bench/README.md). The program: 5,000 pairings (mostly
active, the rest completed, ended, declined, expired or proposed), their 10,000 people in eight
departments (and one of two people) at levels 1-14, 60,000 check-ins, 40,000 feedback entries,
~2 goals per live pairing and some open concerns. A second program of 100,000 pairings (people,
enrollments and pairings only) measures whether the CSV export streams in constant memory; it
stays in the database while the report is measured, as another program would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from itertools import accumulate
from random import Random
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import and_, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from app.config import Settings
from app.db.engine import Database
from app.db.migrations import upgrade
from app.db.models import (
    CheckIn,
    Concern,
    Employee,
    Enrollment,
    Feedback,
    Goal,
    Pairing,
    Program,
    ProgramManager,
)
from app.db.types import uuid7
from app.domain import tokens
from app.domain.actors import Actor
from app.domain.health import facts_statement, recent_ratings_statement
from app.domain.reports import program_report, report_statements
from bench.matching import DEPARTMENTS, PLACES, TOPICS
from bench.rest import prepare_database, remove_sqlite_files
from tests.live_server import live_server, peak_rss_mib

#: Pairing states of the report program, by share.
STATE_MIX = {
    "active": 0.70,
    "completed": 0.08,
    "ended": 0.05,
    "declined": 0.06,
    "expired": 0.04,
    "proposed": 0.07,
}
GOAL_STATUSES = ["not_started", "in_progress", "achieved", "dropped"]
GOALS_OPEN = [2.5, 4.5, 2, 1]  # weights of the statuses in live pairings
GOALS_CLOSED = [1, 2, 3, 0.5]  # … and in finished ones
CADENCE_DAYS = 14
LENGTH_WEEKS = 26
INSERT_CHUNK = 2000
#: The goal for the report: at most this many times the bare aggregate queries (p50).
REPORT_GOAL = 3.0
#: The goal for the CSV export's memory: a flat stream, at most a few MB whatever its size.
CSV_RSS_GOAL_MIB = 5.0


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


@dataclass
class Live:
    """A pairing that went live, with what its check-ins, feedback and goals need."""

    pairing_id: uuid.UUID
    state: str
    mentor: uuid.UUID
    mentee: uuid.UUID
    activated_at: datetime
    closed_at: datetime | None
    met_until: datetime  # the last day the pair could have met (earlier for lapsed pairings)
    quality: float  # the pairing's typical rating


def _employee(n: int, prefix: str, level: int, department: str | None, now: datetime) -> dict:
    place, zone = PLACES[n % len(PLACES)]
    return {
        "id": uuid7(),
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "external_id": f"{prefix}-{n:07d}",
        "email": f"{prefix}{n}@bench.example",
        "email_key": f"{prefix}{n}@bench.example",
        "given_name": "P",
        "family_name": str(n),
        "display_name": f"Person {prefix}{n}",
        "job_title": f"Level {level}",
        "job_level": level,
        "department": department,
        "division": None,
        "location": place,
        "time_zone": zone,
        "manager_id": None,
        "hire_date": None,
        "active": True,
        "deactivated_at": None,
        "skills": [TOPICS[n % len(TOPICS)]],
        "interests": [],
        "languages": ["English"],
        "is_admin": False,
    }


def _enrollment(
    program_id: uuid.UUID, employee_id: uuid.UUID, role: str, created: datetime, withdrawn: bool
) -> dict:
    return {
        "id": uuid7(),
        "created_at": created,
        "updated_at": created,
        "version": 1,
        "program_id": program_id,
        "employee_id": employee_id,
        "role": role,
        "status": "withdrawn" if withdrawn else "active",
        "consent_at": created,
        "consent_version": 1,
        "can_teach": ["AI tools"] if role == "mentor" else [],
        "wants_to_learn": ["AI tools"] if role == "mentee" else [],
        "availability": [],
        "capacity": 1 if role == "mentor" else None,
        "motivation": "",
        "withdrawn_at": created + timedelta(days=20) if withdrawn else None,
        "withdrawal_reason": "workload" if withdrawn else None,
    }


def _program(program_id: uuid.UUID, name: str, now: datetime) -> dict:
    return {
        "id": program_id,
        "created_at": now - timedelta(days=400),
        "updated_at": now,
        "version": 1,
        "name": name,
        "description": "",
        "focus_areas": ["technology_adoption", "AI tools"],
        "status": "active",
        "meeting_cadence_days": CADENCE_DAYS,
        "pairing_length_weeks": LENGTH_WEEKS,
        "ground_rules": "Be kind.",
        "ground_rules_version": 1,
        "min_level_gap": 2,
        "default_mentor_capacity": 1,
        "max_mentor_capacity": 2,
        "matching_weights": {"topic_overlap": 5, "different_department": 2},
        "matching_priority": "participation",
        "min_match_score": 0,
        "acceptance_window_days": 7,
    }


def _department(rng: Random) -> str | None:
    if rng.random() < 0.02:
        return None  # "(none)" in the report
    return rng.choice(DEPARTMENTS)


def pairings_chunk(
    rng: Random,
    now: datetime,
    program_id: uuid.UUID,
    prefix: str,
    first: int,
    count: int,
    lives: list[Live] | None,
    per_mentor: int = 1,
) -> tuple[list[dict], list[dict], list[dict]]:
    """People, enrollments and pairings for pairings ``first`` … ``first + count - 1``, each
    mentor in ``per_mentor`` of them; the pairings that went live are appended to ``lives``
    (when given)."""
    people: list[dict] = []
    enrollments: list[dict] = []
    pairings: list[dict] = []
    states = list(STATE_MIX)
    cumulative = list(accumulate(STATE_MIX.values()))
    mentor: dict = {}
    mentor_enrollment: dict = {}
    for n in range(first, first + count):
        state = rng.choices(states, cum_weights=cumulative)[0]
        # Reverse mentoring: the mentor is the junior one.
        if not mentor or n % per_mentor == 0:
            mentor = _employee(n, f"{prefix}m", rng.randint(1, 6), _department(rng), now)
            people.append(mentor)
        mentee = _employee(n, f"{prefix}e", rng.randint(6, 14), _department(rng), now)
        if prefix == "a" and n < 2:
            mentee["department"] = "Legal"  # a department of two: suppressed in the report
        people.append(mentee)
        activated = closed = expires = None
        met_until = now
        declined_by = ended_by = end_reason = None
        if state == "active":
            activated = now - timedelta(days=rng.uniform(1, 7 * LENGTH_WEEKS - 2))
            if rng.random() < 0.10:  # lapsed: nobody has logged a meeting for a while
                met_until = now - timedelta(days=rng.uniform(30, 90))
            created = activated - timedelta(days=rng.uniform(0.5, 7))
        elif state == "completed":
            activated = now - timedelta(days=rng.uniform(7 * LENGTH_WEEKS + 1, 330))
            closed = met_until = activated + timedelta(weeks=LENGTH_WEEKS)
            created = activated - timedelta(days=rng.uniform(0.5, 7))
        elif state == "ended":
            activated = now - timedelta(days=rng.uniform(30, 330))
            closed = met_until = min(now, activated + timedelta(days=rng.uniform(14, 120)))
            ended_by = rng.choice(["mentor", "mentee", "program_manager"])
            end_reason = rng.choice(["schedule", "workload", "not_a_good_fit", "role_change"])
            created = activated - timedelta(days=rng.uniform(0.5, 7))
        elif state == "proposed":
            created = now - timedelta(days=rng.uniform(0, 6))
            expires = created + timedelta(days=7)
        else:  # declined or expired
            created = now - timedelta(days=rng.uniform(10, 330))
            expires = created + timedelta(days=7)
            closed = expires if state == "expired" else created + timedelta(days=rng.uniform(0, 7))
            declined_by = rng.choice(["mentor", "mentee"]) if state == "declined" else None
        if per_mentor == 1:
            mentor_enrollment = _enrollment(
                program_id,
                mentor["id"],
                "mentor",
                created - timedelta(days=rng.uniform(1, 40)),
                withdrawn=state in ("declined", "expired") and rng.random() < 0.3,
            )
            enrollments.append(mentor_enrollment)
        elif mentor_enrollment.get("employee_id") != mentor["id"]:
            mentor_enrollment = _enrollment(
                program_id, mentor["id"], "mentor", now - timedelta(days=340), withdrawn=False
            )
            enrollments.append(mentor_enrollment)
        mentee_enrollment = _enrollment(
            program_id,
            mentee["id"],
            "mentee",
            created - timedelta(days=rng.uniform(1, 40)),
            withdrawn=state in ("declined", "expired") and rng.random() < 0.3,
        )
        enrollments.append(mentee_enrollment)
        pairing_id = uuid7()
        pairings.append(
            {
                "id": pairing_id,
                "created_at": created,
                "updated_at": closed or activated or created,
                "version": 3,
                "program_id": program_id,
                "mentor_enrollment_id": mentor_enrollment["id"],
                "mentee_enrollment_id": mentee_enrollment["id"],
                "mentor_employee_id": mentor["id"],
                "mentee_employee_id": mentee["id"],
                "state": state,
                "origin": "matching" if rng.random() < 0.9 else "request",
                "matching_run_id": None,
                "score": round(rng.uniform(3, 10), 2),
                "explanation": [],
                "justification": None,
                "mentor_accepted_at": activated,
                "mentee_accepted_at": activated,
                "expires_at": expires,
                "activated_at": activated,
                "paused_at": None,
                "closed_at": closed,
                "declined_by": declined_by,
                "decline_reason": None,
                "ended_by": ended_by,
                "end_reason": end_reason,
                "end_note": None,
            }
        )
        if lives is not None and activated is not None:
            low = rng.random() < 0.05
            lives.append(
                Live(
                    pairing_id,
                    state,
                    mentor["id"],
                    mentee["id"],
                    activated,
                    closed,
                    met_until,
                    rng.uniform(1.5, 2.6) if low else rng.gauss(4.1, 0.4),
                )
            )
    return people, enrollments, pairings


def _at(day: date, rng: Random) -> datetime:
    return datetime.combine(day, dtime(9), tzinfo=UTC) + timedelta(minutes=rng.randint(0, 600))


def _rating(rng: Random, quality: float) -> int:
    return max(1, min(5, round(rng.gauss(quality, 0.7))))


def progress_rows(
    rng: Random,
    now: datetime,
    program_id: uuid.UUID,
    lives: list[Live],
    n_check_ins: int,
    n_feedback: int,
) -> dict[Any, list[dict]]:
    """Check-ins, feedback, goals and concerns of the live pairings."""
    # Spread the check-ins by how long each pair could meet and how engaged it is; about one
    # active pairing in twelve has never met.
    weights = []
    for live in lives:
        days = max(0.0, (live.met_until - live.activated_at).total_seconds() / 86400)
        engaged = 0.0 if live.state == "active" and rng.random() < 0.08 else rng.uniform(0.3, 1.7)
        weights.append(days * engaged)
    total = sum(weights)
    counts = [int(n_check_ins * w / total) for w in weights]
    for i in rng.choices(range(len(lives)), weights, k=n_check_ins - sum(counts)):
        counts[i] += 1

    check_ins: list[dict] = []
    slots: list[tuple[int, int, int]] = []  # (check-in index, live index, 0 mentor / 1 mentee)
    for li, (live, count) in enumerate(zip(lives, counts, strict=True)):
        start = live.activated_at.date()
        span = max(0, (live.met_until.date() - start).days)
        for _ in range(count):
            met_on = start + timedelta(days=rng.randint(0, span))
            slots += [(len(check_ins), li, 0), (len(check_ins), li, 1)]
            check_ins.append(
                {
                    "id": uuid7(),
                    "created_at": _at(met_on, rng),
                    "updated_at": _at(met_on, rng),
                    "version": 1,
                    "pairing_id": live.pairing_id,
                    "program_id": program_id,
                    "logged_by_id": live.mentor if rng.random() < 0.5 else live.mentee,
                    "met_on": met_on,
                    "duration_minutes": rng.choice([30, 45, 60]),
                    "mode": rng.choice(["in_person", "video", "chat"]),
                    "topics": rng.sample(TOPICS, 2),
                    "shared_notes": "",
                }
            )

    def feedback(live: Live, author: int, kind: str, at: datetime, check_in: Any) -> dict:
        q = live.quality
        return {
            "id": uuid7(),
            "pairing_id": live.pairing_id,
            "program_id": program_id,
            "author_employee_id": live.mentee if author else live.mentor,
            "author_role": "mentee" if author else "mentor",
            "kind": kind,
            "check_in_id": check_in,
            "rating_value": _rating(rng, q),
            "rating_mutual_respect": _rating(rng, q + 0.3),
            "rating_psychological_safety": _rating(rng, q),
            "rating_clarity": _rating(rng, q - 0.3),
            "comment": "Helpful." if rng.random() < 0.2 else None,
            "comment_visibility": "program_team",
            "would_take_part_again": (q >= 3 or rng.random() < 0.3) if kind == "end" else None,
            "created_at": at,
        }

    # One end entry per member of a finished pairing (most answer), one entry per (check-in,
    # author) for the rest: the two unique indexes hold.
    entries = [
        feedback(live, author, "end", live.closed_at + timedelta(days=rng.uniform(0, 5)), None)
        for live in lives
        if live.closed_at is not None
        for author in (0, 1)
        if rng.random() < 0.85
    ]
    for ci, li, author in rng.sample(slots, min(len(slots), n_feedback - len(entries))):
        row = check_ins[ci]
        at = row["created_at"] + timedelta(hours=rng.uniform(1, 72))
        entries.append(feedback(lives[li], author, "check_in", at, row["id"]))

    goals: list[dict] = []
    concerns: list[dict] = []
    today = now.date()
    for live in lives:
        for _ in range(rng.choice([1, 2, 2, 2, 3])):
            target = live.activated_at.date() + timedelta(days=rng.randint(30, 200))
            status = rng.choices(GOAL_STATUSES, GOALS_CLOSED if live.closed_at else GOALS_OPEN)[0]
            achieved_at = min(now, _at(min(target, today), rng)) if status == "achieved" else None
            owner_is_mentee = rng.random() < 0.6
            goals.append(
                {
                    "id": uuid7(),
                    "created_at": live.activated_at + timedelta(days=rng.uniform(0, 10)),
                    "updated_at": now,
                    "version": 2,
                    "pairing_id": live.pairing_id,
                    "program_id": program_id,
                    "owner_employee_id": live.mentee if owner_is_mentee else live.mentor,
                    "owner_role": "mentee" if owner_is_mentee else "mentor",
                    "title": "Use AI tools in weekly reporting",
                    "description": "",
                    "focus_area": "AI tools",
                    "target_date": target,
                    "status": status,
                    "progress": {"not_started": 0, "achieved": 100}.get(
                        status, rng.randint(10, 90)
                    ),
                    "partner_may_contribute": True,
                    "achieved_at": achieved_at,
                }
            )
        if live.state == "active" and rng.random() < 0.04:
            status = rng.choices(["open", "acknowledged", "resolved"], [5, 2, 3])[0]
            raised = now - timedelta(days=rng.uniform(1, 40))
            concerns.append(
                {
                    "id": uuid7(),
                    "created_at": raised,
                    "updated_at": raised,
                    "version": 1,
                    "pairing_id": live.pairing_id,
                    "program_id": program_id,
                    "raised_by_id": live.mentor if rng.random() < 0.6 else live.mentee,
                    "category": rng.choice(["conflict", "patronised", "no_shows", "other"]),
                    "description": "Meetings keep being moved.",
                    "status": status,
                    "acknowledged_at": None if status == "open" else raised + timedelta(days=1),
                    "acknowledged_by_id": None,
                    "resolution": "Talked it through." if status == "resolved" else None,
                    "resolved_at": raised + timedelta(days=3) if status == "resolved" else None,
                    "resolved_by_id": None,
                    "rematch_recommended": False,
                    "pairing_ended": False,
                }
            )
    return {CheckIn: check_ins, Feedback: entries, Goal: goals, Concern: concerns}


async def insert_rows(conn: AsyncConnection, model: Any, rows: list[dict]) -> None:
    for i in range(0, len(rows), INSERT_CHUNK):
        await conn.execute(insert(model), rows[i : i + INSERT_CHUNK])


@dataclass
class Loaded:
    token: str
    report_program: uuid.UUID
    csv_program: uuid.UUID | None
    counts: dict[str, int]
    build_s: float


async def load(
    url: str, seed: int, n_pairings: int, n_check_ins: int, n_feedback: int, csv_rows: int
) -> Loaded:
    """A fresh database with the report program (and the large CSV program, when asked)."""
    started = time.perf_counter()
    await prepare_database(url)
    db = Database(Settings(database_url=url))
    await upgrade(db.engine)
    rng = Random(seed)
    now = datetime.now(UTC)
    report_id, csv_id = uuid7(), uuid7() if csv_rows else None
    counts: dict[str, int] = {}
    async with db.engine.begin() as conn:
        admin = _employee(0, "admin", 12, "People", now)
        admin["is_admin"] = True
        await insert_rows(conn, Employee, [admin])
        await insert_rows(conn, Program, [_program(report_id, "Benchmark report cohort", now)])
        await conn.execute(
            insert(ProgramManager).values(
                program_id=report_id, employee_id=admin["id"], created_at=now
            )
        )
        lives: list[Live] = []
        people, enrollments, pairings = pairings_chunk(
            rng, now, report_id, "a", 0, n_pairings, lives
        )
        for model, rows in ((Employee, people), (Enrollment, enrollments), (Pairing, pairings)):
            await insert_rows(conn, model, rows)
        counts.update(employees=len(people), pairings=len(pairings), live=len(lives))
        counts["active"] = sum(1 for p in pairings if p["state"] == "active")
        del people, enrollments, pairings
        progress = progress_rows(rng, now, report_id, lives, n_check_ins, n_feedback)
        for model, rows in progress.items():
            await insert_rows(conn, model, rows)
            counts[model.__tablename__] = len(rows)
        counts["open_concerns"] = sum(
            1 for c in progress[Concern] if c["status"] in ("open", "acknowledged")
        )
        del progress
        if csv_id is not None:
            await insert_rows(conn, Program, [_program(csv_id, "Benchmark CSV cohort", now)])
            step = 10_000
            counts["csv_people"] = 0
            for first in range(0, csv_rows, step):
                chunk = pairings_chunk(
                    rng, now, csv_id, "b", first, min(step, csv_rows - first), None, per_mentor=2
                )
                for model, rows in zip((Employee, Enrollment, Pairing), chunk, strict=True):
                    await insert_rows(conn, model, rows)
                counts["csv_people"] += len(chunk[0])
    async with db.session() as session:
        _, token = await tokens.create_token(
            session,
            Actor.system(),
            data=tokens.TokenCreate(name="bench", employee_id=admin["id"]),
            default_ttl_days=1,
        )
        await session.commit()
    # SQLite is left without ANALYZE statistics, as the app leaves it.
    if url.startswith("postgresql"):
        # What autovacuum does shortly after a bulk load; done now so the plans are stable.
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE"))
    await db.dispose()
    return Loaded(token, report_id, csv_id, counts, time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------


def p50_p99(seconds: list[float]) -> dict[str, float]:
    """Milliseconds (with 30 runs the p99 is the slowest)."""
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": statistics.median(ordered) * 1000, "p99": p99 * 1000}


def report_baseline(program_id: uuid.UUID) -> dict[str, Any]:
    """Every aggregate statement a report runs, by name: ``report_statements`` and the two
    health statements over the program's active pairings."""
    today = datetime.now(UTC).date()
    scope = and_(col(Pairing.program_id) == program_id, col(Pairing.state) == "active")
    return {
        **report_statements([program_id]),
        "health_facts": facts_statement(scope, today),
        "recent_ratings": recent_ratings_statement(scope),
    }


async def bare_round(conn: AsyncConnection, statements: dict[str, Any]) -> dict[str, float]:
    """One execution of every statement, all rows fetched; seconds by statement."""
    took: dict[str, float] = {}
    for name, statement in statements.items():
        started = time.perf_counter()
        (await conn.execute(statement)).all()
        took[name] = time.perf_counter() - started
    return took


async def measure_reports(
    url: str, client: httpx.AsyncClient, program_id: uuid.UUID, n: int, n_direct: int
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The bare statements (on one connection of this process), ``program_report`` in process
    and GET …/report over HTTP, interleaved round by round so that all three see the same
    machine; two warm-up rounds first."""
    db = Database(Settings(database_url=url))
    statements = report_baseline(program_id)
    bare: list[float] = []
    each: dict[str, list[float]] = {name: [] for name in statements}
    direct: list[float] = []
    http: list[float] = []
    size = at_risk = 0
    async with db.engine.connect() as conn:
        for i in range(n + 2):
            took = await bare_round(conn, statements)
            if i < n_direct + 2:
                async with db.session() as session:
                    started = time.perf_counter()
                    await program_report(session, Actor.system(), program_id)
                    if i >= 2:
                        direct.append(time.perf_counter() - started)
            started = time.perf_counter()
            response = await client.get(f"/api/v1/programs/{program_id}/report")
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text[:500]
            if i == 0:
                size, at_risk = len(response.content), len(response.json()["at_risk"])
            if i >= 2:
                bare.append(sum(took.values()))
                for name, seconds in took.items():
                    each[name].append(seconds)
                http.append(elapsed)
    await db.dispose()
    return (
        {
            **p50_p99(bare),
            "runs": n,
            "statements": len(statements),
            "each": {name: statistics.median(v) * 1000 for name, v in each.items()},
        },
        {**p50_p99(direct), "runs": n_direct},
        {**p50_p99(http), "runs": n, "bytes": size, "at_risk": at_risk},
    )


def vm_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class RssSampler:
    """Samples a process's resident memory every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid, self.interval = pid, interval
        self.before = self.peak = vm_rss_mib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, vm_rss_mib(self.pid))

    def __enter__(self) -> RssSampler:
        self.before = self.peak = vm_rss_mib(self.pid)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, vm_rss_mib(self.pid))

    @property
    def growth(self) -> float:
        return self.peak - self.before


async def http_csv(client: httpx.AsyncClient, pid: int, program_id: uuid.UUID) -> dict[str, float]:
    """Stream the CSV without keeping it; the server's RSS is sampled meanwhile."""
    lines = size = 0
    with RssSampler(pid) as rss:
        started = time.perf_counter()
        async with client.stream("GET", f"/api/v1/programs/{program_id}/report.csv") as response:
            assert response.status_code == 200, (await response.aread())[:500]
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
    rows = lines - 1  # the header
    return {
        "rows": rows,
        "seconds": elapsed,
        "rows_s": rows / elapsed,
        "mb_s": size / elapsed / 1e6,
        "mb": size / 1e6,
        "before_mib": rss.before,
        "growth_mib": rss.growth,
    }


async def over_http(
    url: str, base: str, pid: int, loaded: Loaded, n: int, n_direct: int
) -> tuple[dict[str, Any], ...]:
    headers = {"Authorization": f"Bearer {loaded.token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as client:
        memory = {"start_mib": vm_rss_mib(pid)}
        bare, direct, report = await measure_reports(
            url, client, loaded.report_program, n, n_direct
        )
        memory["after_reports_mib"] = vm_rss_mib(pid)
        downloads = {
            f"report.csv ({loaded.counts['pairings']:,} pairings)": await http_csv(
                client, pid, loaded.report_program
            )
        }
        if loaded.csv_program is not None:
            label = f"report.csv ({loaded.counts['csv_pairings']:,} pairings)"
            downloads[label] = await http_csv(client, pid, loaded.csv_program)
        memory["peak_mib"] = peak_rss_mib(pid)
    return bare, direct, report, downloads, memory


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def print_results(
    name: str,
    loaded: Loaded,
    bare: dict[str, Any],
    direct: dict[str, Any],
    report: dict[str, Any],
    downloads: dict[str, dict[str, float]],
    memory: dict[str, float],
) -> None:
    c = loaded.counts
    print(f"\n[{name}]")
    print(
        f"  data build {loaded.build_s:.1f} s (bulk inserts): report program {c['pairings']:,} "
        f"pairings ({c['active']:,} active), {c['employees']:,} people, "
        f"{c['check_ins']:,} check-ins, {c['feedback']:,} feedback, {c['goals']:,} goals, "
        f"{c['concerns']} concerns ({c['open_concerns']} open)"
        + (
            f"; CSV program {c['csv_pairings']:,} pairings, {c['csv_people']:,} people"
            if loaded.csv_program
            else ""
        )
    )
    print(f"  {'report':<50} {'runs':>5} {'p50 ms':>8} {'p99 ms':>8} {'x bare p50':>11}")
    rows = [
        (f"bare aggregate SQL, {bare['statements']} statements (baseline)", bare, ""),
        ("program_report() in process (no HTTP, no JSON)", direct, ""),
        (
            "GET /api/v1/programs/{id}/report",
            report,
            f"   goal <= {REPORT_GOAL:.0f}x",
        ),
    ]
    for label, d, goal in rows:
        print(
            f"  {label:<50} {d['runs']:>5} {d['p50']:>8.1f} {d['p99']:>8.1f} "
            f"{d['p50'] / bare['p50']:>10.2f}x{goal}"
        )
    print(
        f"    response {report['bytes'] / 1000:.0f} kB, {report['at_risk']:,} pairings listed "
        "at risk or needing attention"
    )
    print(
        "    bare statements, p50 ms: " + ", ".join(f"{k} {v:.1f}" for k, v in bare["each"].items())
    )
    print(
        f"  {'CSV export (streamed)':<36} {'rows':>8} {'s':>6} {'rows/s':>7} {'MB/s':>6} "
        f"{'MB':>6} {'server RSS growth':>18}"
    )
    for i, (label, d) in enumerate(downloads.items()):
        note = (
            f"goal <= {CSV_RSS_GOAL_MIB:.0f} MiB"
            if i == len(downloads) - 1
            else "first download: warm-up included"
        )
        print(
            f"  {label:<36} {d['rows']:>8,.0f} {d['seconds']:>6.2f} {d['rows_s']:>7,.0f} "
            f"{d['mb_s']:>6.2f} {d['mb']:>6.1f} {d['growth_mib']:>14.1f} MiB"
            f"   {note} (RSS before {d['before_mib']:.0f} MiB)"
        )
    print(
        f"  server RSS: {memory['start_mib']:.0f} MiB at start, "
        f"{memory['after_reports_mib']:.0f} MiB after the reports, "
        f"peak (VmHWM) {memory['peak_mib']:.0f} MiB"
    )


def in_process_runs(args: argparse.Namespace) -> int:
    """``program_report`` in process only splits the overhead: a third of the runs suffice."""
    return max(5, args.requests // 3)


def run_database(name: str, url: str, args: argparse.Namespace) -> None:
    loaded = asyncio.run(
        load(url, args.seed, args.pairings, args.check_ins, args.feedback, args.csv_rows)
    )
    loaded.counts["csv_pairings"] = args.csv_rows
    # The hourly maintenance keeps out of the measurement: its sweep of the live pairings
    # (every 60 s by default) loads all of them, the CSV program's 70,000 included.
    with live_server(
        url,
        REVMENTOR_TOKEN_TOUCH_INTERVAL_SECONDS="60",
        REVMENTOR_MAINTENANCE_INTERVAL_SECONDS="3600",
    ) as server:
        bare, direct, report, downloads, memory = asyncio.run(
            over_http(url, server, server.pid, loaded, args.requests, in_process_runs(args))
        )
    print_results(name, loaded, bare, direct, report, downloads, memory)
    if not args.keep:
        drop_database(url)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        remove_sqlite_files(url)
        return

    async def drop() -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        base, db_name = url.rsplit("/", 1)
        admin = create_async_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        await admin.dispose()

    asyncio.run(drop())


def databases(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    yield "SQLite", args.sqlite_url
    if not args.skip_postgres:
        yield "PostgreSQL", args.postgres_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairings", type=int, default=5000)
    parser.add_argument("--check-ins", type=int, default=60_000)
    parser.add_argument("--feedback", type=int, default=40_000)
    parser.add_argument(
        "--csv-rows",
        type=int,
        default=100_000,
        help="pairings of the second program, for the CSV memory test (0: skip it)",
    )
    parser.add_argument("--requests", type=int, default=30, help="runs of each report")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sqlite-url", default="sqlite+aiosqlite:///./var/bench-reports.db")
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/revmentor_bench_reports",
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args()
    os.makedirs("var", exist_ok=True)
    print(
        f"Revmentor reports benchmark — {args.pairings:,} pairings, {args.check_ins:,} check-ins, "
        f"{args.feedback:,} feedback entries; CSV memory on {args.csv_rows:,} pairings; "
        f"{args.requests} runs per report"
    )
    started = time.perf_counter()
    for name, url in databases(args):
        run_database(name, url, args)
    print(f"\nwhole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
