"""GraphQL benchmark: one nested query — programs → pairings → mentor, mentee → employee →
goals → milestones — over real HTTP against a uvicorn server, beside the same data fetched
through REST the way a front end would (the baseline, measured in the same run): list the
programs, then each program's pairings, then every member's employee record and every
pairing's goals (with their milestones), each step's requests a few at a time. On SQLite and
PostgreSQL, with 100 and then 1,000 pairings.

Run: ``python -m bench.graphql`` (see bench/README.md). Figures: latency p50/p99 of the whole
fetch after a warm-up, the HTTP requests it took, and the SQL statements it issued — counted in
this process, where the same app answers the same fetch through ``httpx.ASGITransport`` with a
statement listener on its engine (the app itself counts nothing).

Goal: the GraphQL query within 2x the latency (p50) of its REST equivalent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, text
from sqlmodel import SQLModel

from app.config import Settings
from app.db.engine import Database
from app.db.migrations import upgrade
from app.db.models import Employee, Enrollment, Goal, GoalMilestone, Pairing, Program
from app.domain import tokens
from app.domain.actors import Actor
from app.main import create_app
from bench.reports import insert_rows, p50_p99
from bench.rest import prepare_database, remove_sqlite_files
from tests.live_server import live_server

PROGRAMS = 10
GOALS_PER_MEMBER = 1
MILESTONES_PER_GOAL = 3
LATENCY_GOAL = 2.0

MEMBER = (
    "employee { id displayName jobTitle "
    "goals(first: 10) { nodes { id title status milestones { title done } } } }"
)
QUERY = f"""
query Cohorts {{
  programs(first: {PROGRAMS}) {{
    nodes {{
      id name status
      pairings(first: 100) {{
        nodes {{
          id state
          mentor {{ displayName {MEMBER} }}
          mentee {{ displayName {MEMBER} }}
        }}
      }}
    }}
  }}
}}
"""


# ---------------------------------------------------------------------------------------------
# Data


def _row(model: SQLModel) -> dict[str, Any]:
    return model.model_dump()


def _person(n: int, role: str, level: int) -> Employee:
    return Employee(
        email=f"{role}{n}@bench.example",
        email_key=f"{role}{n}@bench.example",
        given_name=role.title(),
        family_name=str(n),
        display_name=f"{role.title()} {n}",
        job_title=f"Level {level}",
        job_level=level,
        department="Engineering" if role == "mentor" else "Finance",
        skills=["AI tools"],
    )


def cohort_rows(
    programs: list[uuid.UUID], first: int, count: int
) -> dict[type[SQLModel], list[dict[str, Any]]]:
    """Live pairings ``first`` … ``first + count - 1``, spread over ``programs``; each member
    owns ``GOALS_PER_MEMBER`` goal(s) of ``MILESTONES_PER_GOAL`` milestones."""
    now = datetime.now(UTC)
    rows: dict[type[SQLModel], list[dict[str, Any]]] = {
        model: [] for model in (Employee, Enrollment, Pairing, Goal, GoalMilestone)
    }
    for n in range(first, first + count):
        program = programs[n % len(programs)]
        mentor, mentee = _person(n, "mentor", 2 + n % 3), _person(n, "mentee", 8 + n % 4)
        enrollments = {
            role: Enrollment(
                program_id=program,
                employee_id=person.id,
                role=role,
                consent_at=now - timedelta(days=60),
                consent_version=1,
                can_teach=["AI tools"] if role == "mentor" else [],
                wants_to_learn=["AI tools"] if role == "mentee" else [],
            )
            for role, person in (("mentor", mentor), ("mentee", mentee))
        }
        activated = now - timedelta(days=30)
        pairing = Pairing(
            program_id=program,
            mentor_enrollment_id=enrollments["mentor"].id,
            mentee_enrollment_id=enrollments["mentee"].id,
            mentor_employee_id=mentor.id,
            mentee_employee_id=mentee.id,
            state="active",
            origin="matching",
            score=7.5,
            mentor_accepted_at=activated,
            mentee_accepted_at=activated,
            activated_at=activated,
        )
        rows[Employee] += [_row(mentor), _row(mentee)]
        rows[Enrollment] += [_row(e) for e in enrollments.values()]
        rows[Pairing].append(_row(pairing))
        for role, person in (("mentor", mentor), ("mentee", mentee)):
            for g in range(GOALS_PER_MEMBER):
                goal = Goal(
                    pairing_id=pairing.id,
                    program_id=program,
                    owner_employee_id=person.id,
                    owner_role=role,
                    title=f"Goal {g + 1} of {person.display_name}",
                    status="in_progress",
                    progress=40,
                )
                rows[Goal].append(_row(goal))
                rows[GoalMilestone] += [
                    _row(GoalMilestone(goal_id=goal.id, position=m, title=f"Step {m + 1}"))
                    for m in range(MILESTONES_PER_GOAL)
                ]
    return rows


@dataclass
class Cohorts:
    url: str
    token: str = ""
    programs: list[uuid.UUID] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


async def create(url: str) -> Cohorts:
    """A fresh database with ``PROGRAMS`` active programs and an admin's API token."""
    await prepare_database(url)
    db = Database(Settings(database_url=url))
    await upgrade(db.engine)
    admin = _person(0, "admin", 12)
    admin.is_admin = True
    programs = [
        Program(name=f"Cohort {p + 1}", status="active", ground_rules="Be kind.")
        for p in range(PROGRAMS)
    ]
    async with db.engine.begin() as conn:
        await insert_rows(conn, Employee, [_row(admin)])
        await insert_rows(conn, Program, [_row(p) for p in programs])
    async with db.session() as session:
        _, token = await tokens.create_token(
            session,
            Actor.system(),
            data=tokens.TokenCreate(name="bench", employee_id=admin.id),
            default_ttl_days=1,
        )
        await session.commit()
    await db.dispose()
    return Cohorts(url, token, [p.id for p in programs], {"programs": PROGRAMS})


async def grow(cohorts: Cohorts, pairings: int) -> float:
    """Add pairings until there are ``pairings``; the seconds it took."""
    started = time.perf_counter()
    have = cohorts.counts.get("pairings", 0)
    rows = cohort_rows(cohorts.programs, have, pairings - have)
    db = Database(Settings(database_url=cohorts.url))
    async with db.engine.begin() as conn:
        for model, chunk in rows.items():
            await insert_rows(conn, model, chunk)
    if cohorts.url.startswith("postgresql"):
        # What autovacuum does shortly after a bulk load; done now so the plans are stable.
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE"))
    await db.dispose()
    for model, chunk in rows.items():
        name = str(model.__tablename__)
        cohorts.counts[name] = cohorts.counts.get(name, 0) + len(chunk)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# The two ways to fetch the same data


@dataclass
class Fetched:
    """What a fetch brought back (both ways must agree) and the requests it took."""

    programs: int = 0
    pairings: int = 0
    employees: int = 0
    goals: int = 0
    milestones: int = 0
    requests: int = 0

    def data(self) -> tuple[int, int, int, int, int]:
        return self.programs, self.pairings, self.employees, self.goals, self.milestones


async def _json(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
    response = await client.request(method, url, **kwargs)
    if response.status_code != 200:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:500]}")
    return response.json()


async def fetch_graphql(client: httpx.AsyncClient, concurrency: int) -> Fetched:
    body = await _json(client, "POST", "/graphql", json={"query": QUERY})
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors'][:2]}")
    got = Fetched(requests=1)
    for program in body["data"]["programs"]["nodes"]:
        got.programs += 1
        for pairing in program["pairings"]["nodes"]:
            got.pairings += 1
            for role in ("mentor", "mentee"):
                employee = pairing[role]["employee"]
                got.employees += 1
                for goal in employee["goals"]["nodes"]:
                    got.goals += 1
                    got.milestones += len(goal["milestones"])
    return got


async def fetch_rest(client: httpx.AsyncClient, concurrency: int) -> Fetched:
    """As a front end would: each step needs the previous one's ids; within a step, requests
    go ``concurrency`` at a time (a browser keeps about six connections to a host)."""
    gate = asyncio.Semaphore(concurrency)
    got = Fetched()

    async def get(url: str, **params: Any) -> Any:
        async with gate:
            got.requests += 1
            return await _json(client, "GET", url, params=params)

    programs = (await get("/api/v1/programs", limit=PROGRAMS))["items"]
    pages = await asyncio.gather(
        *(get("/api/v1/pairings", program_id=p["id"], limit=100) for p in programs)
    )
    pairings = [pairing for page in pages for pairing in page["items"]]
    members = [p[role]["employee_id"] for p in pairings for role in ("mentor", "mentee")]
    found = await asyncio.gather(
        *(get(f"/api/v1/employees/{member}") for member in members),
        *(get(f"/api/v1/pairings/{p['id']}/goals", limit=100) for p in pairings),
    )
    goal_pages = found[len(members) :]
    got.programs, got.pairings, got.employees = len(programs), len(pairings), len(members)
    got.goals = sum(len(page["items"]) for page in goal_pages)
    got.milestones = sum(len(g["milestones"]) for page in goal_pages for g in page["items"])
    return got


Fetch = Callable[[httpx.AsyncClient, int], Awaitable[Fetched]]
WAYS: dict[str, Fetch] = {"GraphQL": fetch_graphql, "REST": fetch_rest}


# ---------------------------------------------------------------------------------------------
# Measurements


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    fetched: Fetched = field(default_factory=Fetched)
    statements: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            **p50_p99(self.latencies),
            "requests": self.fetched.requests,
            "statements": self.statements,
        }


async def over_http(
    base: str, token: str, runs: int, warmup: dict[str, int], concurrency: int
) -> dict[str, Figures]:
    """Latency over real HTTP; the two ways take turns, so both see the same machine."""
    figures = {name: Figures() for name in WAYS}
    limits = httpx.Limits(max_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=120
    ) as client:
        for name, fetch in WAYS.items():
            for _ in range(warmup[name]):
                await fetch(client, concurrency)
        for _ in range(runs):
            for name, fetch in WAYS.items():
                started = time.perf_counter()
                fetched = await fetch(client, concurrency)
                figures[name].latencies.append(time.perf_counter() - started)
                figures[name].fetched = fetched
    return figures


async def count_statements(url: str, token: str, concurrency: int) -> dict[str, int]:
    """The statements each way issues, counted here: the same app in this process, answering
    through ``httpx.ASGITransport``, with a listener on its engine."""
    # The token's last use is not touched again meanwhile (the server touches it at most once
    # a minute): the counts are those of the steady state.
    settings = Settings(
        database_url=url,
        env="test",
        log_level="WARNING",
        log_json=False,
        token_touch_interval_seconds=3600,
    )
    app = create_app(settings)
    db: Database = app.state.db
    seen: list[str] = []

    def listener(*args: Any) -> None:
        seen.append(args[2])

    counts: dict[str, int] = {}
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers
        ) as client:
            await client.get("/readyz")  # the engine's first connection has its own statements
            for name, fetch in WAYS.items():
                event.listen(db.engine.sync_engine, "before_cursor_execute", listener)
                try:
                    seen.clear()
                    await fetch(client, concurrency)
                    counts[name] = len(seen)
                finally:
                    event.remove(db.engine.sync_engine, "before_cursor_execute", listener)
    finally:
        await db.dispose()
    return counts


def measure(name: str, url: str, sizes: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """One server over one database that grows from one size to the next."""
    results: dict[str, Any] = {}
    cohorts = asyncio.run(create(url))
    with live_server(url, REVMENTOR_MAINTENANCE_INTERVAL_SECONDS="3600") as server:
        for step, pairings in enumerate(sizes):
            seconds = asyncio.run(grow(cohorts, pairings))
            runs = args.runs if pairings <= 100 else args.large_runs
            # The server is warm after the first size: only GraphQL, whose plans the new
            # statistics may change, gets a round before the later ones.
            warmup = {"GraphQL": args.warmup, "REST": args.warmup if step == 0 else 0}
            figures = asyncio.run(over_http(server, cohorts.token, runs, warmup, args.concurrency))
            statements = asyncio.run(count_statements(url, cohorts.token, args.concurrency))
            for way, figure in figures.items():
                figure.statements = statements[way]
            graphql, rest = figures["GraphQL"], figures["REST"]
            if graphql.fetched.data() != rest.fetched.data():
                raise RuntimeError(f"the two ways disagree: {graphql.fetched} vs {rest.fetched}")
            result = {
                "pairings": pairings,
                "runs": runs,
                "seed_seconds": seconds,
                "rows": dict(cohorts.counts),
                **{way: figure.summary() for way, figure in figures.items()},
            }
            report(name, result, args.concurrency)
            results[str(pairings)] = result
    return results


# ---------------------------------------------------------------------------------------------
# Report


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def report(name: str, result: dict[str, Any], concurrency: int) -> None:
    rows = result["rows"]
    print(
        f"\n{name}, {result['pairings']:,} pairings ({rows['programs']} programs, "
        f"{rows['employees']:,} people, {rows['goals']:,} goals, "
        f"{rows['goal_milestones']:,} milestones; added in {result['seed_seconds']:.1f} s; "
        f"{result['runs']} runs)"
    )
    print(f"  {'':<34}{'p50 ms':>9}{'p99 ms':>9}{'requests':>10}{'statements':>12}")
    labels = {"GraphQL": "GraphQL (one POST)", "REST": f"REST ({concurrency} at a time)"}
    for way, label in labels.items():
        f = result[way]
        print(
            f"  {label:<34}{f['p50']:9.1f}{f['p99']:9.1f}{f['requests']:10,}{f['statements']:12,}"
        )
    ratio = result["GraphQL"]["p50"] / result["REST"]["p50"]
    result["graphql_over_rest_p50"] = ratio
    print(
        f"  GraphQL p50 / REST p50 = {ratio:.2f}x — goal ≤ {LATENCY_GOAL:.0f}x "
        f"{verdict(ratio <= LATENCY_GOAL)}"
    )


def databases(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if not args.skip_sqlite:
        yield "SQLite", args.sqlite_url
    if not args.skip_postgres:
        yield "PostgreSQL", args.postgres_url


def cleanup(url: str) -> None:
    if url.startswith("postgresql"):
        asyncio.run(prepare_database(url))
    else:
        remove_sqlite_files(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairings", default="100,1000", help="comma-separated data set sizes")
    parser.add_argument("--runs", type=int, default=20, help="measured runs (100 pairings)")
    parser.add_argument(
        "--large-runs", type=int, default=2, help="measured runs (larger data sets)"
    )
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--concurrency", type=int, default=6, help="REST requests in flight, as a browser"
    )
    parser.add_argument("--sqlite-url", default="sqlite+aiosqlite:///./var/bench-graphql.db")
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/revmentor_bench_graphql",
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    os.makedirs("var", exist_ok=True)
    sizes = sorted({int(s) for s in args.pairings.split(",") if s.strip()})
    print(
        "Revmentor GraphQL benchmark — programs(first: 10) → pairings(first: 100) → mentor, "
        "mentee → employee → goals → milestones, over real HTTP, beside the same data through "
        f"REST ({args.concurrency} requests at a time); {args.warmup} warm-up runs"
    )
    started = time.perf_counter()
    results: dict[str, Any] = {}
    for name, url in databases(args):
        results[name] = measure(name, url, sizes, args)
        cleanup(url)
    print(f"\nwhole run {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
