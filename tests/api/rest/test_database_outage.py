"""The database goes away under the running app, and comes back.

Requirement: while the database is unreachable (PostgreSQL restarted), requests get a 503
problem with ``Retry-After``; once it is back the service recovers by itself (same app, same
engine, no restart) and no write acknowledged with a 2xx is lost.

PostgreSQL leg: the app under test talks to its own throw-away database through
:class:`tests.tcp_proxy.TcpProxy`, which cuts it (kills open connections, refuses or answers
"starting up" to new ones, or swallows them) without touching the shared server. Each scenario
runs against the ASGI app in-process and against a real uvicorn server over HTTP.

SQLite leg: an embedded database cannot be restarted, so the equivalent outage is another
process holding the database's write lock (a backup, a manual ``sqlite3`` session): the app
must answer 503 with ``Retry-After`` meanwhile, and recover when the lock is released.

Only the leg's own tests are defined, so nothing is reported as skipped on the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col

from app.config import Settings
from app.db.engine import Database
from app.db.migrations import upgrade
from app.db.models import Employee
from app.main import create_app
from tests.factories import Factory, Person
from tests.tcp_proxy import TcpProxy

TEST_DATABASE = os.environ.get("REVMENTOR_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get(
    "REVMENTOR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)

#: Longest a request may take to give up while the database is away.
UNAVAILABLE_WITHIN_SECONDS = 15.0
#: After the database is back, the app must serve again within this many polls ...
RECOVERY_POLLS = 20
#: ... this far apart.
RECOVERY_POLL_SECONDS = 0.25
RETRY_AFTER_SECONDS = 2
#: No single request, and no whole scenario, may hang the test run.
REQUEST_DEADLINE_SECONDS = 60.0
SCENARIO_DEADLINE_SECONDS = 180.0
SERVICE_UNAVAILABLE = "urn:revmentor:problem:service-unavailable"
EMPLOYEES = "/api/v1/employees"
CLIENT_KINDS = ["asgi", "uvicorn"]


def app_settings(database_url: str) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        log_json=False,
        log_level="WARNING",
        token_touch_interval_seconds=0,
        retry_after_seconds=RETRY_AFTER_SECONDS,
    )


def new_employee() -> dict[str, Any]:
    return {
        "email": f"outage-{uuid.uuid4().hex[:12]}@example.com",
        "given_name": "Ada",
        "family_name": "Outage",
        "job_level": 3,
        "department": "Engineering",
    }


# --- Serving the app: in-process ASGI, or a real uvicorn server on a random port ------------


@contextlib.asynccontextmanager
async def serving(app: FastAPI, kind: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client for ``app``: through ``httpx.ASGITransport`` or real HTTP to uvicorn."""
    if kind == "asgi":
        # Let a 500 reach the test as a response rather than as a raised exception.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        try:
            async with (
                asyncio.timeout(SCENARIO_DEADLINE_SECONDS),  # ASGITransport has no timeouts
                httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
            ):
                yield client
        finally:
            await app.state.db.dispose()
        return

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(200):
            if server.started or task.done():
                break
            await asyncio.sleep(0.025)
        assert server.started, "uvicorn did not start"
        async with (
            asyncio.timeout(SCENARIO_DEADLINE_SECONDS),
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                timeout=REQUEST_DEADLINE_SECONDS,
                trust_env=False,
            ) as client,
        ):
            yield client
        assert not task.done(), "uvicorn stopped while the database was away"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)  # its lifespan disposes of the engine
        sock.close()


# --- Checks shared by both legs --------------------------------------------------------------


@dataclass
class Timed:
    response: httpx.Response
    seconds: float
    started: float = 0.0
    ended: float = 0.0


async def timed(send: Awaitable[httpx.Response]) -> Timed:
    started = time.perf_counter()
    response = await asyncio.wait_for(send, timeout=REQUEST_DEADLINE_SECONDS)
    ended = time.perf_counter()
    return Timed(response, ended - started, started, ended)


def describe(result: Timed) -> str:
    request = result.response.request
    return (
        f"{request.method} {request.url.path} -> {result.response.status_code} "
        f"in {result.seconds:.2f}s: {result.response.text[:600]}"
    )


def assert_unavailable(result: Timed) -> None:
    """A prompt 503 with Retry-After: a problem document, or the readiness JSON."""
    response = result.response
    assert response.status_code == 503, describe(result)
    assert result.seconds < UNAVAILABLE_WITHIN_SECONDS, describe(result)
    assert response.headers.get("retry-after") == str(RETRY_AFTER_SECONDS), describe(result)
    assert "Traceback" not in response.text
    assert "sqlalchemy" not in response.text.lower()
    body = response.json()
    if response.request.url.path == "/readyz":
        assert response.headers["content-type"].startswith("application/json")
        assert body["status"] == "unavailable", describe(result)
    else:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert body["status"] == 503
        assert body["type"] == SERVICE_UNAVAILABLE, describe(result)


def assert_success_or_unavailable(result: Timed) -> None:
    """What any request may get while the database goes away: its answer, or a prompt 503."""
    if result.response.status_code == 503:
        assert_unavailable(result)
    else:
        assert result.response.status_code in (200, 201), describe(result)


async def create_employee(client: httpx.AsyncClient, admin: Person) -> uuid.UUID:
    response = await client.post(EMPLOYEES, headers=admin.headers, json=new_employee())
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def probe_while_down(client: httpx.AsyncClient, admin: Person) -> list[Timed]:
    """The three kinds of request: a read, a write, and the readiness check."""
    return [
        await timed(client.get(EMPLOYEES, headers=admin.headers)),
        await timed(client.post(EMPLOYEES, headers=admin.headers, json=new_employee())),
        await timed(client.get("/readyz")),
    ]


async def wait_for_recovery(client: httpx.AsyncClient, admin: Person) -> int:
    """Poll (bounded) until reads and readiness succeed again; return the number of polls."""
    last: list[Timed] = []
    for poll in range(1, RECOVERY_POLLS + 1):
        last = [
            await timed(client.get("/readyz")),
            await timed(client.get(EMPLOYEES, headers=admin.headers)),
        ]
        if all(result.response.status_code == 200 for result in last):
            return poll
        for result in last:
            assert_unavailable(result)  # still away: never anything but a clean 503
        await asyncio.sleep(RECOVERY_POLL_SECONDS)
    pytest.fail("the app did not recover: " + "; ".join(describe(r) for r in last))


async def assert_all_present(
    client: httpx.AsyncClient, admin: Person, verify: Database, ids: list[uuid.UUID]
) -> None:
    """Every acknowledged write is served by the app and stored in the database."""
    for employee_id in ids:
        got = await client.get(f"{EMPLOYEES}/{employee_id}", headers=admin.headers)
        assert got.status_code == 200, f"acknowledged {employee_id} lost: {got.text}"
    async with verify.session() as session:
        stored = set(
            (await session.execute(select(Employee.id).where(col(Employee.id).in_(ids))))
            .scalars()
            .all()
        )
    assert stored == set(ids)


@dataclass
class Burst:
    """About twenty requests, started a little apart, with the database cut among them."""

    results: list[Timed] = field(default_factory=list)
    created: list[uuid.UUID] = field(default_factory=list)
    cut_at: float = 0.0

    async def run(
        self,
        client: httpx.AsyncClient,
        admin: Person,
        cut: Callable[[], Awaitable[None]],
        *,
        size: int = 21,
        spacing: float = 0.03,
        cut_after: int = 8,
    ) -> None:
        async def one(i: int) -> Timed:
            await asyncio.sleep(i * spacing)
            if i % 3 == 0:
                return await timed(
                    client.post(EMPLOYEES, headers=admin.headers, json=new_employee())
                )
            if i % 3 == 1:
                return await timed(client.get(EMPLOYEES, headers=admin.headers))
            return await timed(client.get("/readyz"))

        tasks = [asyncio.create_task(one(i)) for i in range(size)]
        try:
            await asyncio.sleep(cut_after * spacing)
            self.cut_at = time.perf_counter()
            await cut()
            self.results = list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()
        self.created = [
            uuid.UUID(r.response.json()["id"])
            for r in self.results
            if r.response.status_code == 201
        ]

    def check(self) -> None:
        for result in self.results:
            assert_success_or_unavailable(result)
        statuses = [r.response.status_code for r in self.results]
        assert 503 in statuses, f"the cut missed the burst: {statuses}"
        assert any(s in (200, 201) for s in statuses), f"nothing succeeded: {statuses}"
        in_flight = [r for r in self.results if r.started < self.cut_at < r.ended]
        assert in_flight, "no request was in flight when the database was cut"


# --- PostgreSQL: cut the database with a proxy --------------------------------------------------

if TEST_DATABASE == "postgresql":

    @dataclass
    class PostgresOutage:
        """The app under test, its database behind a proxy, and a direct line for checks."""

        name: str
        proxy: TcpProxy
        direct: Database
        admin_url: str

        @property
        def app_url(self) -> str:
            url = make_url(self.direct.settings.database_url)
            return url.set(host="127.0.0.1", port=self.proxy.port).render_as_string(
                hide_password=False
            )

        async def terminate_backends(self) -> int:
            """Have PostgreSQL end the app's sessions (FATAL 57P01, as on a fast shutdown)."""
            ports = sorted(self.proxy.upstream_ports)
            if not ports:
                return 0
            admin = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            try:
                async with admin.connect() as conn:
                    result = await conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :name AND client_port = ANY(:ports)"
                        ),
                        {"name": self.name, "ports": ports},
                    )
                    return len(result.all())
            finally:
                await admin.dispose()

        async def go_down(self, kill: str) -> None:
            """Stop accepting connections, then end the open ones."""
            await self.proxy.refuse()
            if kill == "terminate":
                assert await self.terminate_backends() > 0, "the app held no connection"
                # The server closes each session after its FATAL message; wait (bounded).
                for _ in range(100):
                    if not self.proxy.upstream_ports:
                        break
                    await asyncio.sleep(0.02)
            self.proxy.kill_connections()

    def _loopback_port(url: str) -> int:
        parsed = make_url(url)
        assert parsed.host in ("127.0.0.1", "localhost"), (
            "the outage tests only proxy a PostgreSQL on 127.0.0.1; "
            f"REVMENTOR_TEST_POSTGRES_URL points at {parsed.host}"
        )
        return parsed.port or 5432

    @pytest.fixture(scope="module")
    async def outage_database() -> AsyncIterator[tuple[str, Database]]:
        """A throw-away, migrated database for this module, and a direct handle on it."""
        name = f"revmentor_outage_{os.getpid()}"
        admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        direct = Database(app_settings(POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"))
        await upgrade(direct.engine)
        try:
            yield name, direct
        finally:
            await direct.dispose()
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()

    @pytest.fixture
    async def outage(outage_database: tuple[str, Database]) -> AsyncIterator[PostgresOutage]:
        name, direct = outage_database
        proxy = await TcpProxy(_loopback_port(POSTGRES_URL)).start()
        try:
            yield PostgresOutage(name=name, proxy=proxy, direct=direct, admin_url=POSTGRES_URL)
        finally:
            await proxy.close()

    @pytest.mark.postgres_only
    @pytest.mark.parametrize("kill", ["reset", "terminate"])
    @pytest.mark.parametrize("kind", CLIENT_KINDS)
    async def test_postgres_restart_under_the_running_app(
        outage: PostgresOutage, kind: str, kill: str
    ) -> None:
        app = create_app(app_settings(outage.app_url))
        database, engine = app.state.db, app.state.db.engine
        admin = await Factory(outage.direct).admin()
        async with serving(app, kind) as client:
            # 1. Up: acknowledged writes.
            acknowledged = [await create_employee(client, admin) for _ in range(5)]
            assert (await client.get("/readyz")).status_code == 200
            assert outage.proxy.upstream_ports, "the app holds no pooled connection"

            # 2. Down: open connections die (reset, or PostgreSQL's own FATAL 57P01) and new
            # ones are refused. Twice: first on dead pooled connections, then on refusals.
            await outage.go_down(kill)
            for _ in range(2):
                for result in await probe_while_down(client, admin):
                    assert_unavailable(result)

            # 3. Back: the same app and engine serve again, within a bounded number of polls.
            await outage.proxy.restore()
            await wait_for_recovery(client, admin)
            assert app.state.db is database
            assert app.state.db.engine is engine

            # 4. Nothing acknowledged was lost, and writing works again.
            await assert_all_present(client, admin, outage.direct, acknowledged)
            after = await create_employee(client, admin)
            await assert_all_present(client, admin, outage.direct, [*acknowledged, after])

    @pytest.mark.postgres_only
    @pytest.mark.parametrize("kill", ["reset", "terminate"])
    @pytest.mark.parametrize("kind", CLIENT_KINDS)
    async def test_postgres_cut_during_a_burst_of_requests(
        outage: PostgresOutage, kind: str, kill: str
    ) -> None:
        app = create_app(app_settings(outage.app_url))
        admin = await Factory(outage.direct).admin()
        async with serving(app, kind) as client:
            await create_employee(client, admin)  # warm the pool
            outage.proxy.delay = 0.01  # keep queries in flight when the cut comes
            burst = Burst()
            await burst.run(client, admin, lambda: outage.go_down(kill))
            burst.check()

            outage.proxy.delay = 0.0
            await outage.proxy.restore()
            await wait_for_recovery(client, admin)
            after = await create_employee(client, admin)
            await assert_all_present(client, admin, outage.direct, [*burst.created, after])

    @pytest.mark.postgres_only
    @pytest.mark.parametrize("turn_away", ["starting-up", "hang-up"])
    async def test_postgres_turning_connections_away_answers_503(
        outage: PostgresOutage, turn_away: str
    ) -> None:
        """The server takes the connection but will not serve it: while PostgreSQL starts up or
        shuts down it answers ``FATAL 57P03 the database system is starting up``; when it dies
        mid-handshake the connection just closes. Both are an outage (503), not a bug (500)."""
        app = create_app(app_settings(outage.app_url))
        admin = await Factory(outage.direct).admin()
        async with serving(app, "asgi") as client:
            acknowledged = [await create_employee(client, admin)]
            await outage.go_down("reset")
            if turn_away == "starting-up":
                await outage.proxy.starting_up()
            else:
                await outage.proxy.hang_up()
            accepted = outage.proxy.accepted
            results = await probe_while_down(client, admin)
            assert outage.proxy.accepted > accepted, "the app never reached the database"
            await outage.proxy.restore()
            await wait_for_recovery(client, admin)
            await assert_all_present(client, admin, outage.direct, acknowledged)
        for result in results:
            assert_unavailable(result)

    @pytest.mark.postgres_only
    async def test_postgres_unreachable_answers_503_within_the_connect_timeout(
        outage: PostgresOutage,
    ) -> None:
        """Packets dropped (no refusal, no reset): requests give up after the connect timeout."""
        app = create_app(app_settings(outage.app_url))
        admin = await Factory(outage.direct).admin()
        async with serving(app, "asgi") as client:
            acknowledged = [await create_employee(client, admin)]
            outage.proxy.kill_connections()
            await outage.proxy.blackhole()
            results = await asyncio.gather(
                timed(client.get(EMPLOYEES, headers=admin.headers)),
                timed(client.post(EMPLOYEES, headers=admin.headers, json=new_employee())),
                timed(client.get("/readyz")),
            )
            for result in results:
                assert_unavailable(result)
            await outage.proxy.restore()
            await wait_for_recovery(client, admin)
            await assert_all_present(client, admin, outage.direct, acknowledged)

    @pytest.mark.postgres_only
    async def test_postgres_idempotent_retry_goes_through_after_the_outage(
        outage: PostgresOutage,
    ) -> None:
        """A POST with an Idempotency-Key that met the outage (503) is retried with the same
        key once the database is back, honouring Retry-After: it must then take effect once."""
        app = create_app(app_settings(outage.app_url))
        admin = await Factory(outage.direct).admin()
        payload = new_employee()
        headers = {**admin.headers, "Idempotency-Key": f"outage-{uuid.uuid4()}"}
        async with serving(app, "asgi") as client:
            await create_employee(client, admin)  # warm the pool
            # Hold the request inside the app (its key already claimed) with a table lock, so
            # the database goes away under it deterministically.
            async with outage.direct.engine.connect() as locker:
                await locker.execute(text("LOCK TABLE employees IN ACCESS EXCLUSIVE MODE"))
                request = asyncio.create_task(
                    timed(client.post(EMPLOYEES, headers=headers, json=payload))
                )
                for _ in range(200):
                    async with outage.direct.engine.connect() as conn:
                        waiting = await conn.scalar(
                            text(
                                "SELECT count(*) FROM pg_stat_activity "
                                "WHERE datname = :name AND wait_event_type = 'Lock'"
                            ),
                            {"name": outage.name},
                        )
                    if waiting or request.done():
                        break
                    await asyncio.sleep(0.025)
                await outage.go_down("reset")
                first = await asyncio.wait_for(request, timeout=60)
                await locker.rollback()
            assert_unavailable(first)

            await outage.proxy.restore()
            await wait_for_recovery(client, admin)
            statuses: list[int] = []
            for _ in range(RECOVERY_POLLS):
                retry = (
                    await timed(client.post(EMPLOYEES, headers=headers, json=payload))
                ).response
                statuses.append(retry.status_code)
                if retry.status_code == 201:
                    break
                await asyncio.sleep(min(float(retry.headers.get("retry-after", "1")), 1.0))
            assert retry.status_code == 201, (
                f"{len(statuses)} retries with the same key got {statuses}; last: {retry.text}"
            )
            async with outage.direct.session() as session:
                count = await session.scalar(
                    select(func.count())
                    .select_from(Employee)
                    .where(col(Employee.email) == payload["email"])
                )
            assert count == 1

# --- SQLite: another process holds the write lock -----------------------------------------------

else:
    #: The app's SQLite busy timeout is 10 s; a shorter one keeps the outage checks quick.
    BUSY_TIMEOUT_MS = 1000

    @dataclass
    class SqliteOutage:
        path: Path
        direct: Database
        _holder: sqlite3.Connection | None = None

        @property
        def url(self) -> str:
            return f"sqlite+aiosqlite:///{self.path}"

        def _take(self) -> None:
            holder = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            holder.execute("PRAGMA busy_timeout=5000")
            holder.execute("BEGIN IMMEDIATE")  # the write lock, held until released
            self._holder = holder

        def _release(self) -> None:
            assert self._holder is not None
            self._holder.execute("ROLLBACK")
            self._holder.close()
            self._holder = None

        async def go_down(self) -> None:
            await asyncio.to_thread(self._take)

        async def restore(self) -> None:
            await asyncio.to_thread(self._release)

    def _short_busy_timeout(app: FastAPI) -> None:
        def pragma(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.close()

        event.listen(app.state.db.engine.sync_engine, "connect", pragma)

    @pytest.fixture
    async def sqlite_outage(tmp_path: Path) -> AsyncIterator[SqliteOutage]:
        path = tmp_path / "revmentor.db"
        direct = Database(app_settings(f"sqlite+aiosqlite:///{path}"))
        await upgrade(direct.engine)
        outage = SqliteOutage(path=path, direct=direct)
        try:
            yield outage
        finally:
            if outage._holder is not None:
                await outage.restore()
            await direct.dispose()

    @pytest.mark.parametrize("kind", CLIENT_KINDS)
    async def test_sqlite_write_lock_under_the_running_app(
        sqlite_outage: SqliteOutage, kind: str
    ) -> None:
        app = create_app(app_settings(sqlite_outage.url))
        _short_busy_timeout(app)
        database = app.state.db
        admin = await Factory(sqlite_outage.direct).admin()
        async with serving(app, kind) as client:
            acknowledged = [await create_employee(client, admin) for _ in range(5)]

            await sqlite_outage.go_down()
            for _ in range(2):
                read, write, ready = await probe_while_down(client, admin)
                assert_unavailable(read)  # authenticating records the token's use: a write
                assert_unavailable(write)
                # The database still answers reads, so the instance is ready.
                assert ready.response.status_code == 200, describe(ready)

            await sqlite_outage.restore()
            await wait_for_recovery(client, admin)
            assert app.state.db is database
            after = await create_employee(client, admin)
            await assert_all_present(client, admin, sqlite_outage.direct, [*acknowledged, after])

    async def test_sqlite_write_lock_during_a_burst_of_requests(
        sqlite_outage: SqliteOutage,
    ) -> None:
        app = create_app(app_settings(sqlite_outage.url))
        _short_busy_timeout(app)
        admin = await Factory(sqlite_outage.direct).admin()
        async with serving(app, "asgi") as client:
            await create_employee(client, admin)
            burst = Burst()
            await burst.run(client, admin, sqlite_outage.go_down, spacing=0.02)
            await sqlite_outage.restore()
            for result in burst.results:
                assert_success_or_unavailable(result)
            statuses = [r.response.status_code for r in burst.results]
            assert 503 in statuses, f"the lock missed the burst: {statuses}"
            await wait_for_recovery(client, admin)
            after = await create_employee(client, admin)
            await assert_all_present(client, admin, sqlite_outage.direct, [*burst.created, after])
