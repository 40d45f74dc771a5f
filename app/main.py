"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.sessions import SessionMiddleware

from app import __version__
from app.api.auth.authenticate import identity_provider_keys
from app.api.auth.sso import flow_middleware_options, oauth_client
from app.api.auth.sso import router as sso_router
from app.api.graphql.schema import IDE_PATH, build_graphql_router, ide_router
from app.api.middleware import (
    BodyLimitMiddleware,
    IdempotencyMiddleware,
    MetricsMiddleware,
    purge_expired_idempotency_records,
)
from app.api.rest.openapi import build_openapi
from app.api.rest.problems import install_problem_handlers
from app.api.rest.router import build_api_router
from app.api.scim.errors import ScimErrorMiddleware, install_scim_error_handlers
from app.api.scim.router import build_scim_router
from app.config import Settings, check_settings, get_settings
from app.db.engine import Database
from app.domain import employees, hris, pairings
from app.domain.actors import Actor
from app.domain.matching import runs as matching_runs
from app.heap import settle_startup_heap
from app.observability import configure_logging
from app.observability import router as ops_router

#: Routes anyone may call without credentials. Everything else requires an actor.
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        IDE_PATH,
        "/auth/login",
        "/auth/callback",
    }
)

DESCRIPTION = """\
Revmentor runs reverse-mentoring programs: junior employees mentor senior colleagues on new
technology, inclusion, leadership perspectives and digital communication.

Authenticate with `Authorization: Bearer <token>`. Errors are RFC 9457 problem documents.
Lists use cursor pagination (`limit`, `cursor`, `next_cursor` and a `Link` header). Changes of a
versioned resource need `If-Match` with its `ETag`; `POST` honours `Idempotency-Key`.
"""


async def maintain(db: Database) -> dict[str, int]:
    """One round of housekeeping: expire stale proposals, complete finished pairings, fail
    interrupted matching runs, purge old idempotency keys."""
    system = Actor.system()
    async with db.session() as session:
        done = {
            "pairings_expired": await pairings.expire_overdue_pairings(session, system),
            "pairings_completed": await pairings.complete_finished_pairings(session, system),
            "runs_failed": await matching_runs.fail_stale_runs(session),
            "employees_terminated": await employees.apply_due_terminations(session, system),
            "managers_linked": await hris.link_pending_managers(session),
        }
        await session.commit()
    done["idempotency_keys_purged"] = await purge_expired_idempotency_records(db)
    if any(done.values()):
        logging.getLogger("revmentor.maintenance").info("maintenance: %s", done)
    return done


async def run_maintenance(app: FastAPI, interval: int) -> None:
    """Periodic housekeeping. Every instance runs it; each step is an idempotent bulk statement,
    so several instances doing it at once is harmless."""
    log = logging.getLogger("revmentor.maintenance")
    while True:
        await asyncio.sleep(interval)
        try:
            await maintain(app.state.db)
        except Exception:  # the database may be briefly away; try again next round
            log.warning("maintenance failed", exc_info=True)


def operation_id(route: APIRoute) -> str:
    """Operation ids are the endpoint function names: stable and readable in generated clients."""
    return route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI application for the given (or the environment's) settings."""
    settings = settings or get_settings()
    check_settings(settings)
    configure_logging(settings)
    database = Database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything loaded so far (modules, routes, schemas) lives as long as the process.
        settle_startup_heap()
        maintenance = asyncio.create_task(
            run_maintenance(app, settings.maintenance_interval_seconds)
        )
        try:
            yield
        finally:
            maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await maintenance
            await app.state.db.dispose()

    app = FastAPI(
        title="Revmentor",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url="/redoc" if settings.docs_enabled else None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        generate_unique_id_function=operation_id,
        debug=settings.debug,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.background_tasks = set()
    app.state.jwks = identity_provider_keys(settings)
    app.state.oauth = oauth_client(settings)

    install_problem_handlers(app)
    install_scim_error_handlers(app)  # under /scim/v2, errors are SCIM Error messages
    app.openapi = lambda: build_openapi(app, PUBLIC_PATHS)  # type: ignore[method-assign]
    app.include_router(ops_router)
    app.include_router(build_api_router())
    app.include_router(build_scim_router())
    app.include_router(build_graphql_router(settings))
    app.include_router(sso_router)
    if settings.graphql_ide_enabled:
        app.include_router(ide_router())

    # Outermost last: request id → metrics/logs → SCIM errors → body limit → idempotency → app.
    app.add_middleware(
        IdempotencyMiddleware,
        db_getter=lambda: app.state.db,
        ttl_hours=settings.idempotency_ttl_hours,
        retry_after=settings.retry_after_seconds,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        batch_max_bytes=settings.batch_max_body_bytes,
    )
    # A sign-in in progress (state, nonce, PKCE verifier) rides in a signed, short-lived cookie.
    app.add_middleware(SessionMiddleware, **flow_middleware_options(settings))
    app.add_middleware(ScimErrorMiddleware)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    return app
