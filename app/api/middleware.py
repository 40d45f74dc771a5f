"""ASGI middleware: body-size limit, idempotent POST replay, metrics and access logs."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from asgi_correlation_id import correlation_id
from prometheus_client import Counter, Histogram
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.auth.authenticate import authenticate
from app.api.rest.problems import PROBLEM_JSON, is_database_unavailable, problem_type
from app.api.routes import route_table
from app.db.engine import Database
from app.db.models import IdempotencyRecord
from app.db.types import utcnow
from app.domain.errors import DomainError

access_log = logging.getLogger("revmentor.access")

#: A key "in progress" longer than this belongs to a request that died with its instance.
IN_PROGRESS_LEASE = timedelta(minutes=2)

REQUESTS = Counter(
    "revmentor_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "revmentor_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


async def send_problem(
    send: Send,
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    *,
    scope: Scope,
) -> None:
    """A problem+json answer from a middleware, with the members the route handlers' problems
    carry: the path as ``instance`` and the request id to quote to support."""
    problem = {"type": problem_type(slug), "title": title, "status": status, "detail": detail}
    problem["instance"] = scope.get("path", "")
    request_id = correlation_id.get()
    if request_id:
        problem["request_id"] = request_id
    body = json.dumps(problem).encode()
    raw = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(HTTPException):
    """Raised while reading an oversized body. As an HTTPException it passes through FastAPI's
    body parsing (which would turn other errors into a 400) to the problem handler."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes} bytes")


class BodyLimitMiddleware:
    """Refuse request bodies above the limit with a 413 problem, whether or not they declare
    their length."""

    def __init__(self, app: ASGIApp, max_bytes: int, batch_max_bytes: int | None = None) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        # Bulk pushes (``…:batch``) carry up to 1,000 records: they get their own limit.
        self.batch_max_bytes = batch_max_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        batch = scope.get("path", "").endswith(":batch")
        max_bytes = self.batch_max_bytes if batch else self.default_max_bytes
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            await send_problem(
                send,
                400,
                "bad-request",
                "Bad request",
                "NUL (U+0000) characters are not allowed in URLs",
                scope=scope,
            )
            return
        detail = f"the request body is larger than {max_bytes} bytes"
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
                await send_problem(
                    send, 413, "payload-too-large", "Payload too large", detail, scope=scope
                )
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise _BodyTooLarge(max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await send_problem(
                    send, 413, "payload-too-large", "Payload too large", detail, scope=scope
                )


class MetricsMiddleware:
    """Prometheus counters and an access-log line per request, labelled by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - start
            template = route_template(scope)
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(elapsed)
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )


def route_template(scope: Scope) -> str:
    """The matched route's full path template (bounded label values for metrics)."""
    app = scope.get("app")
    if app is None or "route" not in scope:
        return "unmatched"
    table = getattr(app.state, "route_table", None)
    if table is None:
        table = app.state.route_table = route_table(app.routes)
    path = scope["path"]
    for route in table:
        if scope["method"] in route.methods and route.regex.match(path):
            return route.path
    return "unmatched"


class IdempotencyMiddleware:
    """Honour ``Idempotency-Key`` on POST: a retry replays the first response, a reuse of the
    key with a different request is a 422, a retry while the first is running a 409.

    Keys are scoped to the credential that sent them and kept in the database, so any instance
    can answer a retry.
    """

    header = b"idempotency-key"

    def __init__(self, app: ASGIApp, db_getter: Any, ttl_hours: int, retry_after: int) -> None:
        self.app = app
        self.db_getter = db_getter
        self.ttl = timedelta(hours=ttl_hours)
        self.retry_after = retry_after
        self._pending: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        key_raw = headers.get(self.header)
        auth = headers.get(b"authorization")
        if key_raw is None or auth is None or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        key = key_raw.decode("latin-1").strip()
        if not 1 <= len(key) <= 255:
            await send_problem(
                send,
                422,
                "validation-error",
                "Invalid Idempotency-Key",
                "Idempotency-Key must be 1 to 255 characters",
                scope=scope,
            )
            return
        body = await _read_body(receive)
        principal = hashlib.sha256(auth).hexdigest()
        digest = hashlib.sha256(
            b"\n".join(
                [
                    scope["method"].encode(),
                    scope["path"].encode(),
                    scope.get("query_string", b""),
                    body,
                ]
            )
        ).hexdigest()
        db: Database = self.db_getter()
        try:
            claimed = await self._claim(db, principal, key, scope, digest)
        except Exception as exc:
            if is_database_unavailable(exc):
                await send_problem(
                    send,
                    503,
                    "service-unavailable",
                    "Service temporarily unavailable",
                    "the database cannot be reached; retry shortly",
                    {"Retry-After": str(self.retry_after)},
                    scope=scope,
                )
                return
            raise
        if isinstance(claimed, IdempotencyRecord):
            if await self._credential_still_valid(scope, db):
                await self._answer_existing(scope, send, claimed, digest)
                return
            # A stored answer is never replayed to a credential that no longer works (revoked,
            # expired, its employee deactivated): the request goes through and is refused there.
            await self.app(scope, _replay(body), send)
            return

        messages: list[Message] = []
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            messages.append(message)

        try:
            await self.app(scope, _replay(body), capture)
        except BaseException:
            await self._persist(lambda: self._release(db, principal, key), "release")
            raise
        if status >= 500 or status in (401, 403, 429):
            # Not an outcome worth replaying: the retry should be tried for real.
            await self._persist(lambda: self._release(db, principal, key), "release")
        else:
            await self._persist(lambda: self._store(db, principal, key, status, messages), "store")
        for message in messages:
            await send(message)

    async def _claim(
        self, db: Database, principal: str, key: str, scope: Scope, digest: str
    ) -> IdempotencyRecord | None:
        now = utcnow()
        async with db.session() as session:
            existing = await session.get(IdempotencyRecord, (principal, key))
            abandoned = (
                existing is not None
                and existing.status_code is None
                and existing.created_at <= now - IN_PROGRESS_LEASE
            )
            if existing is not None and (existing.expires_at <= now or abandoned):
                await session.delete(existing)
                await session.flush()
                existing = None
            if existing is not None:
                return existing
            session.add(
                IdempotencyRecord(
                    principal=principal,
                    key=key,
                    method=scope["method"],
                    path=scope["path"][:2048],
                    request_hash=digest,
                    expires_at=now + self.ttl,
                )
            )
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return await session.get(IdempotencyRecord, (principal, key))
        return None

    async def _credential_still_valid(self, scope: Scope, db: Database) -> bool:
        try:
            async with db.session(autocommit=True) as session:
                await authenticate(HTTPConnection(scope), session, scope["app"].state.settings)
        except DomainError:
            return False
        return True

    async def _answer_existing(
        self, scope: Scope, send: Send, record: IdempotencyRecord, digest: str
    ) -> None:
        if record.request_hash != digest:
            await send_problem(
                send,
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "this Idempotency-Key was used for a different request; use a new key",
                scope=scope,
            )
            return
        if record.status_code is None:
            await send_problem(
                send,
                409,
                "idempotency-in-progress",
                "Request in progress",
                "a request with this Idempotency-Key is still being processed",
                {"Retry-After": "1"},
                scope=scope,
            )
            return
        if record.response_body is None:
            location = dict(record.response_headers).get("location")
            await send_problem(
                send,
                409,
                "idempotency-secret-not-replayed",
                "Already done",
                "the request with this Idempotency-Key succeeded; its answer held a secret that "
                "is shown only once and is not replayed",
                {"Location": location} if location else None,
                scope=scope,
            )
            return
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in record.response_headers]
        raw.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": record.status_code, "headers": raw})
        await send({"type": "http.response.body", "body": record.response_body or b""})

    async def _store(
        self, db: Database, principal: str, key: str, status: int, messages: list[Message]
    ) -> None:
        start = next(m for m in messages if m["type"] == "http.response.start")
        body: bytes | None = b"".join(
            m.get("body", b"") for m in messages if m["type"] == "http.response.body"
        )
        if any(
            k.lower() == b"cache-control" and b"no-store" in v.lower()
            for k, v in start.get("headers", [])
        ):
            # The answer holds a secret shown once (a new token's value): it is not kept, so a
            # retry learns the request was done and where the result is, never the secret.
            body = None
        keep = {b"content-type", b"location", b"etag", b"cache-control", b"link"}
        headers = [
            [k.decode("latin-1"), v.decode("latin-1")]
            for k, v in start.get("headers", [])
            if k.lower() in keep
        ]
        async with db.session() as session:
            await session.execute(
                update(IdempotencyRecord)
                .where(
                    col(IdempotencyRecord.principal) == principal, col(IdempotencyRecord.key) == key
                )
                .values(status_code=status, response_headers=headers, response_body=body)
            )
            await session.commit()

    async def _release(self, db: Database, principal: str, key: str) -> None:
        async with db.session() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    col(IdempotencyRecord.principal) == principal,
                    col(IdempotencyRecord.key) == key,
                    col(IdempotencyRecord.status_code).is_(None),
                )
            )
            await session.commit()

    async def _persist(self, action: Callable[[], Awaitable[None]], what: str) -> None:
        """Record the outcome of a keyed request; if the database is away right now, keep
        trying in the background (the client's answer does not wait for it)."""
        try:
            await action()
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            task = asyncio.create_task(self._retry(action, what))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _retry(self, action: Callable[[], Awaitable[None]], what: str) -> None:
        log = logging.getLogger("revmentor.idempotency")
        deadline = time.monotonic() + IN_PROGRESS_LEASE.total_seconds()
        delay = 0.5
        while time.monotonic() < deadline:
            await asyncio.sleep(delay)
            try:
                await action()
                return
            except Exception as exc:
                if not is_database_unavailable(exc):
                    log.warning("could not %s an idempotency key", what, exc_info=True)
                    return
            delay = min(delay * 2, float(self.retry_after))
        # Past the lease the key counts as abandoned, and a retry runs again.
        log.warning("gave up trying to %s an idempotency key", what)


def _replay(body: bytes) -> Receive:
    """A ``receive`` that hands the app the body this middleware already read."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            return b"".join(chunks)


async def purge_expired_idempotency_records(db: Database) -> int:
    """Delete idempotency records past their expiry (safe to run on every instance)."""
    async with db.session() as session:
        result = await session.execute(
            delete(IdempotencyRecord).where(col(IdempotencyRecord.expires_at) <= utcnow())
        )
        await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
