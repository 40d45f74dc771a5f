"""RFC 9457 problem documents: every REST error, mapped from its cause in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.routes import route_table
from app.domain import errors

log = logging.getLogger("revmentor.errors")

PROBLEM_TYPE_BASE = "urn:revmentor:problem:"
PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.RuleViolation: 422,
    errors.InvalidInput: 422,
    errors.PreconditionRequired: 428,
    errors.ServiceUnavailable: 503,
}

#: Problem types for errors raised by the HTTP layer itself, by status.
HTTP_PROBLEM_TYPES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    429: "too-many-requests",
    500: "internal-error",
    503: "service-unavailable",
}


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    rule: str | None = None
    field: str | None = None
    errors: list[FieldError] | None = None
    request_id: str | None = None


RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


def problem_type(slug: str) -> str:
    return PROBLEM_TYPE_BASE + slug


def problem_response(
    status: int,
    slug: str,
    *,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    # Extensions never overwrite the standard members.
    body.update({k: v for k, v in extra.items() if v is not None and k not in RESERVED_MEMBERS})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _request_id(request: Request) -> str | None:
    value = request.headers.get("x-request-id") or getattr(request.state, "request_id", None)
    try:
        from asgi_correlation_id import correlation_id

        return correlation_id.get() or value
    except LookupError:  # pragma: no cover - middleware always sets it
        return value


#: What a 401 asks for (REST, GraphQL and SCIM alike).
BEARER_CHALLENGE = 'Bearer realm="revmentor"'


def bearer_challenge(request: Request | None) -> str:
    """The ``WWW-Authenticate`` of a 401 (RFC 6750 3.1): ``error="invalid_token"`` when the
    request offered a bearer token and it was refused, so a client knows to get a new one
    rather than to sign in; a request that offered none only learns what is wanted."""
    if request is not None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return f'{BEARER_CHALLENGE}, error="invalid_token"'
    return BEARER_CHALLENGE


def _auth_headers(status: int, request: Request | None = None) -> dict[str, str] | None:
    return {"WWW-Authenticate": bearer_challenge(request)} if status == 401 else None


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DomainError)
    status = next((code for cls, code in STATUS_BY_ERROR.items() if isinstance(exc, cls)), 400)
    headers = _auth_headers(status, request) or {}
    if status == 503:
        headers["Retry-After"] = str(request.app.state.settings.retry_after_seconds)
    return problem_response(
        status,
        exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        headers=headers or None,
        rule=exc.rule,
        field=exc.field,
        request_id=_request_id(request),
        # Extensions cannot take the place of the members set here.
        **{k: v for k, v in exc.extra.items() if k not in ("rule", "field", "request_id")},
    )


def field_errors(
    errors: Iterable[Mapping[str, Any]], name: Callable[[object], str] = str
) -> list[dict[str, str]]:
    """Validation errors as ``{field, message, type}``, the field a dotted path of its location
    (each part spelled by ``name``: GraphQL spells fields its own way)."""
    return [
        {
            "field": ".".join(name(part) for part in e.get("loc", ())),
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in errors
    ]


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = field_errors(exc.errors())
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in fields[:5])
    return problem_response(
        422,
        "validation-error",
        title="The request is not valid",
        detail=summary or "invalid request",
        instance=request.url.path,
        errors=fields,
        request_id=_request_id(request),
    )


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    headers.update(_auth_headers(status, request) or {})
    if status == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        status,
        HTTP_PROBLEM_TYPES.get(status, "http-error"),
        detail=detail,
        instance=request.url.path,
        headers=headers or None,
        request_id=_request_id(request),
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (one route per method in FastAPI)."""
    table = getattr(request.app.state, "route_table", None)
    if table is None:
        table = request.app.state.route_table = route_table(request.app.routes)
    methods: set[str] = set()
    for route in table:
        if route.regex.match(request.url.path):
            methods.update(route.methods)
    return sorted(methods)


#: SQLSTATE classes meaning "the database cannot serve you right now": connection exceptions
#: (08), operator intervention such as shutdown or start-up (57P), too many connections (53300).
UNAVAILABLE_SQLSTATES = ("08", "57P", "53300")


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether an exception means the database cannot be reached (as opposed to a bug)."""
    if isinstance(exc, PoolTimeout | OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        # Before a connection exists the driver reports "starting up", "closed in the middle
        # of operation" or "too many connections" as plain errors; their SQLSTATE tells.
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATES):
            return True
    return isinstance(exc, ConnectionError | OSError | TimeoutError)


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    if is_database_unavailable(exc):
        log.warning("database unavailable: %s", type(exc).__name__)
        return problem_response(
            503,
            "service-unavailable",
            title="Service temporarily unavailable",
            detail="the database cannot be reached; retry shortly",
            instance=request.url.path,
            headers={"Retry-After": str(request.app.state.settings.retry_after_seconds)},
            request_id=_request_id(request),
        )
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        "internal-error",
        title="Internal server error",
        detail="an unexpected error occurred; it has been logged",
        instance=request.url.path,
        request_id=_request_id(request),
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error a problem document."""
    app.add_exception_handler(errors.DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    for exc_type in (OperationalError, InterfaceError, PoolTimeout, DBAPIError, OSError):
        app.add_exception_handler(exc_type, unexpected_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error responses an operation can give."""
    described = {
        400: "Malformed request",
        401: "Missing or invalid credentials",
        403: "The caller may not do this",
        404: "Not found, or not visible to the caller",
        409: "Conflicts with the current state",
        412: "The resource changed since it was read (stale If-Match)",
        413: "Request body larger than 1 MiB",
        422: "Invalid input or a business rule not met",
        428: "If-Match header required",
        503: "Database temporarily unavailable; retry after Retry-After seconds",
    }
    return {
        status: {
            "description": described[status],
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


#: The errors of a versioned change (a PATCH or an action taking ``If-Match``).
CHANGE_ERRORS = error_responses(401, 403, 404, 409, 412, 413, 422, 428, 503)
#: The errors of a create (a POST to a collection).
CREATE_ERRORS = error_responses(401, 403, 404, 409, 413, 422, 503)
#: The errors of reading one record or a list under one.
READ_ERRORS = error_responses(401, 403, 404, 422, 503)
