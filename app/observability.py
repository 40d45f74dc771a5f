"""Logging (JSON lines carrying the request id) and the health/metrics endpoints."""

from __future__ import annotations

import logging
import sys

from asgi_correlation_id import CorrelationIdFilter
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pythonjsonlogger.json import JsonFormatter

from app.config import Settings

router = APIRouter(tags=["operations"])


def configure_logging(settings: Settings) -> None:
    """One handler on the root logger: JSON lines (or plain text) with ``request_id``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(CorrelationIdFilter(uuid_length=32, default_value="-"))
    if settings.log_json:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
                rename_fields={
                    "asctime": "time",
                    "levelname": "level",
                    "correlation_id": "request_id",
                },
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # Our own middleware writes the access log, with the request id and duration.
    logging.getLogger("uvicorn.access").disabled = True


@router.get("/healthz", include_in_schema=True, operation_id="healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz", operation_id="readyz", responses={503: {"description": "Database unreachable"}}
)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers."""
    try:
        await request.app.state.db.ping()
    except Exception as exc:  # any failure means "not ready"
        logging.getLogger("revmentor.health").warning("database not ready: %s", type(exc).__name__)
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable"},
            status_code=503,
            headers={"Retry-After": str(request.app.state.settings.retry_after_seconds)},
        )
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", operation_id="metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
