"""HRIS sync benchmark: a 100,000-employee snapshot pushed through the bulk API (real HTTP, a
real uvicorn server) and imported from CSV (the ``revmentor import employees`` command), on
SQLite and PostgreSQL, then the same snapshot again unchanged — beside a bare upsert of the
same rows through the database driver (the baseline), measured in the same run.

Run: ``python -m bench.hris`` (see bench/README.md). Figures: records/s, the server's (or the
importer's) peak resident memory, and the unchanged re-push against the first push.

Goals on PostgreSQL: at least 5,000 records/s, within 2x the bare upsert, an unchanged re-push
at least 3x faster than the first, peak memory at most 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from random import Random
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db.engine import Database
from app.db.migrations import upgrade
from app.db.types import uuid7
from app.domain import tokens
from app.domain.actors import Actor, Scope
from bench.matching import DEPARTMENTS, PLACES
from bench.rest import prepare_database, remove_sqlite_files
from tests.live_server import live_server, peak_rss_mib

PAGE = 1000
RATE_GOAL = 5000.0
BARE_GOAL = 2.0
UNCHANGED_GOAL = 3.0
MEMORY_GOAL_MB = 300.0
TITLES = ["Engineer", "Analyst", "Designer", "Manager", "Director", "Specialist", "Consultant"]
COLUMNS = [
    "external_id",
    "modified_at",
    "email",
    "given_name",
    "family_name",
    "job_title",
    "job_level",
    "department",
    "division",
    "organization",
    "cost_center",
    "employee_number",
    "location",
    "time_zone",
    "manager_external_id",
    "hire_date",
    "active",
]


def snapshot(count: int, seed: int) -> list[dict[str, Any]]:
    """An organisation of ``count`` people: a management tree ten people wide, realistic field
    values."""
    rng = Random(seed)
    stamp = datetime(2026, 11, 1, 8, 0, tzinfo=UTC).isoformat()
    people = []
    for n in range(count):
        manager = None if n == 0 else (n - 1) // 10
        place, zone = rng.choice(PLACES)
        people.append(
            {
                "external_id": f"WD{n:07d}",
                "modified_at": stamp,
                "email": f"person.{n}@bench.example.com",
                "given_name": f"Given{n}",
                "family_name": f"Family{n % 977}",
                "job_title": rng.choice(TITLES),
                "job_level": max(1, 14 - len(str(n))) if n < 1000 else rng.randint(1, 9),
                "department": rng.choice(DEPARTMENTS),
                "division": f"Division {n % 7}",
                "organization": "Bench Corp",
                "cost_center": f"CC{n % 300:04d}",
                "employee_number": str(100000 + n),
                "location": place,
                "time_zone": zone,
                "manager_external_id": None if manager is None else f"WD{manager:07d}",
                "hire_date": f"20{10 + n % 15}-0{1 + n % 9}-1{n % 9}",
                "active": True,
            }
        )
    # In the order of the ids (managers mostly on earlier pages, as in an export sorted by
    # employee number), shuffled within each page: a manager often comes after their reports.
    for start in range(0, count, PAGE):
        page = people[start : start + PAGE]
        rng.shuffle(page)
        people[start : start + PAGE] = page
    return people


@dataclass
class Leg:
    seconds: float
    records: int
    peak_mb: float | None = None
    #: The part of ``seconds`` any run of the command pays, whatever the file holds (CSV).
    startup: float | None = None

    @property
    def rate(self) -> float:
        return self.records / self.seconds


# ---------------------------------------------------------------------------------------------
# The bulk API over HTTP


async def fresh_database(url: str) -> str:
    """An empty migrated database and a token of an HRIS sync client."""
    await prepare_database(url)
    db = Database(Settings(database_url=url))
    await upgrade(db.engine)
    async with db.session() as session:
        _, token = await tokens.create_token(
            session,
            Actor.system(),
            data=tokens.TokenCreate(name="bench", service="workday", scopes=[Scope.HRIS_WRITE]),
            default_ttl_days=1,
        )
        await session.commit()
    await db.dispose()
    return token


async def push_snapshot(
    base: str, token: str, people: list[dict[str, Any]], concurrency: int
) -> float:
    """Open a snapshot run, push every page (``concurrency`` at a time), commit; the seconds
    it took. The request bodies are written before the clock starts, as the baseline's rows
    are, and the answers read with orjson: the figure is the server's, not the time this
    client takes to write and read JSON."""
    headers = {"Authorization": f"Bearer {token}"}
    bodies = [
        json.dumps({"records": people[start : start + PAGE]}).encode()
        for start in range(0, len(people), PAGE)
    ]
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as client:
        # Connected and answering before the clock starts, as the baseline's connection is.
        (await client.get("/api/v1/hris/runs", params={"limit": 1})).raise_for_status()
        started = time.perf_counter()
        opened = await client.post("/api/v1/hris/runs", json={"source": "workday"})
        opened.raise_for_status()
        run = opened.json()["id"]
        gate = asyncio.Semaphore(concurrency)

        async def push(body: bytes) -> None:
            async with gate:
                page = await client.post(
                    f"/api/v1/hris/runs/{run}/employees:batch",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
            page.raise_for_status()
            answer = orjson.loads(page.content)  # the server's time, not the stdlib parser's
            invalid = answer["counts"].get("invalid", 0)
            if invalid:
                raise RuntimeError(f"{invalid} invalid records: {answer['results'][:2]}")

        await asyncio.gather(*(push(body) for body in bodies))
        committed = await client.post(f"/api/v1/hris/runs/{run}/commit")
        committed.raise_for_status()
        elapsed = time.perf_counter() - started
        report = committed.json()
    if report["status"] != "committed":
        raise RuntimeError(f"the snapshot run did not commit: {report}")
    return elapsed


def over_http(url: str, people: list[dict[str, Any]], concurrency: int) -> tuple[Leg, Leg]:
    token = asyncio.run(fresh_database(url))
    with live_server(url, REVMENTOR_MAINTENANCE_INTERVAL_SECONDS="3600") as server:
        first = asyncio.run(push_snapshot(server, token, people, concurrency))
        again = asyncio.run(push_snapshot(server, token, people, concurrency))
        peak = peak_rss_mib(server.pid) * 1.048576
    return Leg(first, len(people), peak), Leg(again, len(people), peak)


# ---------------------------------------------------------------------------------------------
# CSV import through the command line


def write_csv(path: Path, people: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for person in people:
            writer.writerow({k: "" if person[k] is None else person[k] for k in COLUMNS})


#: ``revmentor`` itself, reporting its peak memory as it exits. (The peak the kernel keeps for
#: a child counts the pages it shared with this process before it started the program.) Read
#: here, not through the test helpers, whose imports (an HTTP client) the command never pays.
MEASURED_CLI = """
import atexit, sys
def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write(f"\\nPEAK_MIB {int(kib) / 1024}\\n")
atexit.register(peak)
from app.command import main
sys.argv = ["revmentor", *sys.argv[1:]]
main()
"""


def import_csv(url: str, path: Path, *, snapshot: bool = True) -> Leg:
    """Run ``revmentor import employees --snapshot`` as its own process (with its defaults:
    batches of 2,500 rows, four in flight on PostgreSQL, one on SQLite); time and peak RSS."""
    command = [sys.executable, "-c", MEASURED_CLI, "import", "employees", str(path)]
    command += ["--snapshot", "--source", "workday"] if snapshot else ["--source", "workday"]
    env = {**os.environ, "REVMENTOR_DATABASE_URL": url, "REVMENTOR_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    # The progress bar goes to stderr: read it as it comes so the pipe never fills.
    stderr = process.stderr.read() if process.stderr else b""
    process.wait()
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"the import failed (exit {process.returncode}): {stderr[-2000:]!r}")
    peak = float(stderr.rsplit(b"PEAK_MIB ", 1)[1].split()[0])
    rows = sum(1 for _ in path.open()) - 1
    return Leg(elapsed, rows, peak * 1.048576)


def over_csv(url: str, people: list[dict[str, Any]], directory: Path) -> tuple[Leg, Leg]:
    asyncio.run(fresh_database(url))
    path = directory / "employees.csv"
    write_csv(path, people)
    first = import_csv(url, path)
    again = import_csv(url, path)
    path.unlink()
    # What every run of the command pays whatever the file holds: starting Python, loading
    # the code, checking the schema, connecting. A file of only the header pushes nothing.
    empty = directory / "header-only.csv"
    write_csv(empty, [])
    startup = import_csv(url, empty, snapshot=False).seconds
    empty.unlink()
    first.startup = again.startup = startup
    return first, again


# ---------------------------------------------------------------------------------------------
# The baseline: the same rows upserted through the bare driver

UPSERT_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "version",
    "external_id",
    "email",
    "email_key",
    "given_name",
    "family_name",
    "display_name",
    "job_title",
    "job_level",
    "department",
    "division",
    "organization",
    "cost_center",
    "employee_number",
    "location",
    "time_zone",
    "manager_external_id",
    "hire_date",
    "active",
    "skills",
    "interests",
    "languages",
    "is_admin",
    "source",
    "source_modified_at",
]


def bare_rows(people: list[dict[str, Any]], *, sqlite: bool) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    rows = []
    for p in people:
        values: dict[str, Any] = {
            **p,
            "id": uuid7(),
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "email_key": p["email"].lower(),
            "display_name": f"{p['given_name']} {p['family_name']}",
            "hire_date": datetime.fromisoformat(p["hire_date"]).date(),
            "skills": "[]",
            "interests": "[]",
            "languages": "[]",
            "is_admin": False,
            "source": "workday",
            "source_modified_at": datetime.fromisoformat(p["modified_at"]),
        }
        row = tuple(values[c] for c in UPSERT_COLUMNS)
        rows.append(tuple(map(_sqlite_value, row)) if sqlite else row)
    return rows


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def upsert_sql(placeholders: list[str]) -> str:
    names = ", ".join(UPSERT_COLUMNS)
    keep = {"id", "created_at", "external_id"}
    changes = ", ".join(f"{c} = excluded.{c}" for c in UPSERT_COLUMNS if c not in keep)
    return (
        f"INSERT INTO employees ({names}) VALUES ({', '.join(placeholders)}) "  # noqa: S608
        f"ON CONFLICT (external_id) DO UPDATE SET {changes}"
    )


async def bare_postgres(url: str, people: list[dict[str, Any]]) -> float:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rows = bare_rows(people, sqlite=False)
    sql = upsert_sql([f"${i + 1}" for i in range(len(UPSERT_COLUMNS))])
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM employees")
        started = time.perf_counter()
        for start in range(0, len(rows), PAGE):
            async with conn.transaction():
                await conn.executemany(sql, rows[start : start + PAGE])
        return time.perf_counter() - started
    finally:
        await conn.close()


def bare_sqlite(url: str, people: list[dict[str, Any]]) -> float:
    rows = bare_rows(people, sqlite=True)
    sql = upsert_sql(["?"] * len(UPSERT_COLUMNS))
    conn = sqlite3.connect(str(make_url(url).database))
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("DELETE FROM employees")
        conn.commit()
        started = time.perf_counter()
        for start in range(0, len(rows), PAGE):
            conn.executemany(sql, rows[start : start + PAGE])
            conn.commit()
        return time.perf_counter() - started
    finally:
        conn.close()


def bare_upsert(url: str, people: list[dict[str, Any]]) -> Leg:
    asyncio.run(fresh_database(url))
    if url.startswith("postgresql"):
        seconds = asyncio.run(bare_postgres(url, people))
    else:
        seconds = bare_sqlite(url, people)
    return Leg(seconds, len(people))


# ---------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


Round = tuple[Leg, dict[str, tuple[Leg, Leg]]]  # the baseline, and each leg's two pushes


def median_leg(legs: list[Leg]) -> Leg:
    """The round of median time (its own figures), with the highest peak of all rounds."""
    middle = sorted(legs, key=lambda leg: leg.seconds)[len(legs) // 2]
    peaks = [leg.peak_mb for leg in legs if leg.peak_mb is not None]
    return Leg(middle.seconds, middle.records, max(peaks) if peaks else None)


def spread(values: list[float], unit: str) -> str:
    if len(values) < 2:
        return ""
    return f"  (rounds {min(values):.2f} to {max(values):.2f}{unit})"


def report(name: str, rounds: list[Round]) -> dict[str, Any]:
    """Each figure is the median of the rounds; ratios are taken within a round (against the
    baseline measured in that round) and their median and range printed."""
    bare = median_leg([b for b, _ in rounds])
    print(f"\n{name}: {bare.records:,} employees, {len(rounds)} round(s), medians")
    print(
        f"  bare upsert (driver, baseline)   {bare.seconds:7.2f} s  {bare.rate:9,.0f} rec/s"
        + spread([b.seconds for b, _ in rounds], " s")
    )
    figures: dict[str, Any] = {"bare_seconds": bare.seconds, "bare_rate": bare.rate}
    for label in rounds[0][1]:
        first = median_leg([legs[label][0] for _, legs in rounds])
        again = median_leg([legs[label][1] for _, legs in rounds])
        slower_each = [legs[label][0].seconds / b.seconds for b, legs in rounds]
        faster_each = [legs[label][0].seconds / legs[label][1].seconds for _, legs in rounds]
        slower = sorted(slower_each)[len(slower_each) // 2]
        faster = sorted(faster_each)[len(faster_each) // 2]
        print(
            f"  {label:<32} {first.seconds:7.2f} s  {first.rate:9,.0f} rec/s  "
            f"{slower:4.2f}x bare  peak {first.peak_mb:5.0f} MB" + spread(slower_each, "x")
        )
        print(
            f"  {label + ' again, unchanged':<32} {again.seconds:7.2f} s  {again.rate:9,.0f} "
            f"rec/s  {faster:4.1f}x faster than the first" + spread(faster_each, "x")
        )
        startup = _startup(label, rounds)
        figures[label] = {
            "startup_seconds": startup,
            "seconds": first.seconds,
            "rate": first.rate,
            "over_bare": slower,
            "over_bare_rounds": slower_each,
            "unchanged_seconds": again.seconds,
            "unchanged_speedup": faster,
            "unchanged_speedup_rounds": faster_each,
            "peak_mb": first.peak_mb,
        }
        if name == "PostgreSQL":
            print(
                f"    goals: ≥ {RATE_GOAL:,.0f} rec/s {verdict(first.rate >= RATE_GOAL)}; "
                f"≤ {BARE_GOAL:.0f}x bare {verdict(slower <= BARE_GOAL)}; "
                f"unchanged ≥ {UNCHANGED_GOAL:.0f}x faster {verdict(faster >= UNCHANGED_GOAL)}; "
                f"≤ {MEMORY_GOAL_MB:.0f} MB {verdict((first.peak_mb or 0) <= MEMORY_GOAL_MB)}"
            )
    return figures


def _startup(label: str, rounds: list[Round]) -> float | None:
    """For the CSV leg: the command's start-up, and the ratios again without it (for
    information; the goals are judged on the whole run, start-up included)."""
    pushes = [(bare, legs[label]) for bare, legs in rounds if legs[label][0].startup is not None]
    if not pushes:
        return None
    startup = sorted(first.startup or 0.0 for _, (first, _) in pushes)[len(pushes) // 2]
    slower, faster = [], []
    for bare, (first, again) in pushes:
        fixed = first.startup or 0.0
        slower.append((first.seconds - fixed) / bare.seconds)
        faster.append((first.seconds - fixed) / (again.seconds - fixed))
    print(
        f"    of which the command's start-up (a file of only the header): {startup:.2f} s; "
        f"without it: {sorted(slower)[len(slower) // 2]:.2f}x bare, unchanged "
        f"{sorted(faster)[len(faster) // 2]:.1f}x faster" + spread(faster, "x")
    )
    return startup


def databases(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if not args.skip_sqlite:
        yield "SQLite", args.sqlite_url
    if not args.skip_postgres:
        yield "PostgreSQL", args.postgres_url


def cleanup(url: str) -> None:
    if url.startswith("postgresql"):
        asyncio.run(prepare_database(url))  # leaves an empty database behind, not 100k rows
    else:
        remove_sqlite_files(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--sqlite-url", default="sqlite+aiosqlite:///./var/bench-hris.db")
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/revmentor_bench_hris",
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-csv", action="store_true", help="only the bulk API")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="pages in flight in the parallel API leg"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measure everything this many times and report medians (default 3)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    os.makedirs("var", exist_ok=True)
    people = snapshot(args.employees, args.seed)
    size = len(json.dumps({"records": people[:PAGE]}))
    print(
        f"Revmentor HRIS sync benchmark — {args.employees:,} employees, pages of {PAGE:,} "
        f"records (~{size / 1024:.0f} KiB per request)"
    )
    started = time.perf_counter()
    results: dict[str, Any] = {}
    for name, url in databases(args):
        rounds: list[Round] = []
        for _ in range(args.rounds):
            # The baseline is measured in every round, beside the legs it is compared with:
            # this machine's speed drifts from minute to minute.
            bare = bare_upsert(url, people)
            legs = {"bulk API, 1 page at a time": over_http(url, people, 1)}
            if args.concurrency > 1 and not url.startswith("sqlite"):
                # SQLite writes one transaction at a time: parallel pages would only queue.
                label = f"bulk API, {args.concurrency} pages at a time"
                legs[label] = over_http(url, people, args.concurrency)
            if not args.skip_csv:
                legs["CSV import (revmentor import)"] = over_csv(url, people, Path("var"))
            rounds.append((bare, legs))
        results[name] = report(name, rounds)
        cleanup(url)
    print(f"\nwhole run {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
