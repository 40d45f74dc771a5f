"""REST benchmark: latency and throughput of common reads and writes over real HTTP.

Run: ``python -m bench.rest`` (see bench/README.md). Prints a table; the ``/healthz`` row is the
baseline measured in the same run (same server, same client, no database work).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.db.engine import Database
from app.db.migrations import upgrade
from app.domain import employees, tokens
from app.domain.actors import Actor
from tests.live_server import live_server

SYSTEM = Actor.system()


def remove_sqlite_files(url: str) -> None:
    path = Path(url.split("///", 1)[1])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def prepare_database(url: str) -> None:
    """Drop and recreate the benchmark database (PostgreSQL) or remove its file (SQLite)."""
    if url.startswith("postgresql"):
        base, name = url.rsplit("/", 1)
        admin = create_async_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
    else:
        remove_sqlite_files(url)


async def prepare(url: str, count: int) -> tuple[str, str]:
    """Fresh schema, ``count`` employees; returns an admin token and one employee id."""
    await prepare_database(url)
    db = Database(Settings(database_url=url))
    await upgrade(db.engine)
    async with db.session() as session:
        boss = await employees.create_employee(
            session,
            SYSTEM,
            data=employees.EmployeeCreate(
                email="bench.admin@example.com",
                given_name="Bench",
                family_name="Admin",
                job_level=12,
                is_admin=True,
            ),
        )
        departments = ["Engineering", "Sales", "Finance", "People", "Operations"]
        for n in range(count):
            await employees.create_employee(
                session,
                SYSTEM,
                data=employees.EmployeeCreate(
                    email=f"bench{n}@example.com",
                    given_name="Bench",
                    family_name=f"N{n}",
                    job_level=1 + n % 10,
                    department=departments[n % len(departments)],
                    manager_id=boss.id,
                    skills=["AI tools", "Slack"],
                ),
            )
        _, value = await tokens.create_token(
            session,
            SYSTEM,
            data=tokens.TokenCreate(name="bench", employee_id=boss.id),
            default_ttl_days=1,
        )
        await session.commit()
        first = boss.id
    await db.dispose()
    return value, str(first)


async def measure(
    name: str,
    call: Callable[[int], Awaitable[httpx.Response]],
    requests: int,
    concurrency: int,
) -> dict[str, float | str]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            start = time.perf_counter()
            response = await call(i)
            latencies.append(time.perf_counter() - start)
            if response.status_code >= 400:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "name": name,
        "req/s": requests / elapsed,
        "p50 ms": statistics.median(latencies) * 1000,
        "p99 ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": errors,
    }


async def run(base: str, token: str, employee_id: str, requests: int, concurrency: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:
        for _ in range(50):  # warm-up: connections, caches
            await client.get("/healthz")
            await client.get("/api/v1/employees?limit=50")
        cases: list[tuple[str, Callable[[int], Awaitable[httpx.Response]]]] = [
            ("GET /healthz (baseline)", lambda i: client.get("/healthz")),
            (
                "GET /api/v1/employees/{id}",
                lambda i: client.get(f"/api/v1/employees/{employee_id}"),
            ),
            ("GET /api/v1/employees?limit=50", lambda i: client.get("/api/v1/employees?limit=50")),
            (
                "GET /api/v1/employees?department=Sales&limit=50",
                lambda i: client.get("/api/v1/employees?department=Sales&limit=50"),
            ),
            (
                "POST /api/v1/employees",
                lambda i: client.post(
                    "/api/v1/employees",
                    json={
                        "email": f"new{i}-{time.time_ns()}@example.com",
                        "given_name": "New",
                        "family_name": "Hire",
                        "job_level": 2,
                    },
                ),
            ),
        ]
        rows = [await measure(name, call, requests, concurrency) for name, call in cases]
    baseline = rows[0]
    print(f"{'operation':<50} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x p50':>7} {'errors':>7}")
    for row in rows:
        ratio = float(row["p50 ms"]) / float(baseline["p50 ms"])
        print(
            f"{row['name']:<50} {row['req/s']:>9.0f} {row['p50 ms']:>8.2f} {row['p99 ms']:>8.2f} "
            f"{ratio:>7.1f} {row['errors']:>7}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="sqlite+aiosqlite:///./var/bench.db")
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    os.makedirs("var", exist_ok=True)
    token, employee_id = asyncio.run(prepare(args.database_url, args.employees))
    backend = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
    print(
        f"Revmentor REST benchmark — {backend}, {args.employees} employees, "
        f"{args.requests} requests per operation, concurrency {args.concurrency}"
    )
    with live_server(args.database_url, REVMENTOR_TOKEN_TOUCH_INTERVAL_SECONDS="60") as base:
        asyncio.run(run(base, token, employee_id, args.requests, args.concurrency))


if __name__ == "__main__":
    main()
