"""SCIM errors (RFC 7644 section 3.12): every failure under ``/scim/v2`` answers an
``application/scim+json`` Error message, mapped from its cause in this one place.

The application's handlers write RFC 9457 problems; :func:`install_scim_error_handlers` wraps them
so that requests under the SCIM prefix get the SCIM form instead, and
:class:`ScimErrorMiddleware` rewrites the few problems written before a request reaches the
application (an oversized body, a NUL in the URL), and keeps Starlette from answering a
trailing slash with a redirect.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from scim2_models import Context, Error, SCIMException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.rest.problems import (
    BEARER_CHALLENGE,
    PROBLEM_JSON,
    allowed_methods,
    bearer_challenge,
    is_database_unavailable,
)
from app.domain import errors

log = logging.getLogger("revmentor.scim")

SCIM_PREFIX: Final = "/scim/v2"
SCIM_JSON: Final = "application/scim+json"
#: The challenge of a 401 (RFC 6750 section 3).

_STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.PreconditionRequired: 428,
    errors.ServiceUnavailable: 503,
}
_DEFAULT_DETAIL = {
    400: "the request is not valid",
    401: "sign in or send a bearer token",
    403: "not allowed",
    404: "no such SCIM resource or endpoint",
    405: "this method is not allowed here",
    409: "the request conflicts with the current state",
    412: "the resource has changed; fetch it again",
    413: "the request body is too large",
    415: "send application/scim+json or application/json",
    500: "an unexpected error occurred; it has been logged",
    501: "not implemented",
    503: "the database cannot be reached; retry shortly",
}


def is_scim_path(path: str) -> bool:
    """Whether a request path belongs to the SCIM service."""
    return path == SCIM_PREFIX or path.startswith(SCIM_PREFIX + "/")


class ScimResponse(JSONResponse):
    """A SCIM message (``application/scim+json``)."""

    media_type = SCIM_JSON


class ScimError(Exception):
    """A SCIM error an endpoint answers with: HTTP status, optional ``scimType``, detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        scim_type: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}


def invalid_value(detail: str) -> ScimError:
    """A 400 ``invalidValue``: a value missing, or not fitting its attribute."""
    return ScimError(400, detail, "invalidValue")


def invalid_syntax(detail: str) -> ScimError:
    """A 400 ``invalidSyntax``: the body is not a well-formed message."""
    return ScimError(400, detail, "invalidSyntax")


def error_body(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    """The Error message (its ``status`` is a string, as RFC 7644 wants)."""
    error = Error(status=status, scim_type=scim_type, detail=detail)
    return error.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def error_response(
    status: int,
    detail: str | None = None,
    scim_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> ScimResponse:
    """A SCIM Error response."""
    detail = detail or _DEFAULT_DETAIL.get(status, "the request failed")
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", BEARER_CHALLENGE)
    return ScimResponse(
        error_body(status, detail, scim_type), status_code=status, headers=all_headers or None
    )


def _domain_error(request: Request, exc: errors.DomainError) -> ScimResponse:
    status = next((code for cls, code in _STATUS_BY_ERROR.items() if isinstance(exc, cls)), 400)
    scim_type: str | None = getattr(exc, "scim_type", None)
    if status == 400 and scim_type is None:
        # RuleViolation and InvalidInput: a value that does not fit the attribute or a rule.
        scim_type = "invalidValue"
    if status == 409 and (exc.rule or "").startswith("unique"):
        scim_type = "uniqueness"
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = bearer_challenge(request)
    if status == 503:
        headers["Retry-After"] = str(request.app.state.settings.retry_after_seconds)
    return error_response(status, exc.detail, scim_type, headers)


async def _scim_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ScimError):
        return error_response(exc.status, exc.detail, exc.scim_type, exc.headers)
    if isinstance(exc, SCIMException):
        error = exc.to_error()
        return error_response(error.status or exc.status, error.detail, error.scim_type)
    if isinstance(exc, errors.DomainError):
        return _domain_error(request, exc)
    if isinstance(exc, RequestValidationError):
        first: dict[str, Any] = next(iter(exc.errors()), {})
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error_response(400, f"{where}: {first.get('msg', 'invalid')}", "invalidValue")
    if isinstance(exc, StarletteHTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else None
        return error_response(exc.status_code, detail, None, headers)
    if is_database_unavailable(exc):
        log.warning("database unavailable: %s", type(exc).__name__)
        retry = str(request.app.state.settings.retry_after_seconds)
        return error_response(503, None, None, {"Retry-After": retry})
    # A 500 says nothing of what went wrong: the log has it.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500)


Handler = Callable[[Request, Exception], Awaitable[Response]]


def _for_scim_paths(fallback: Callable[[Request, Any], Response | Awaitable[Response]]) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if is_scim_path(request.url.path):
            return await _scim_error(request, exc)
        answer = fallback(request, exc)
        return answer if isinstance(answer, Response) else await answer

    return handle


def install_scim_error_handlers(app: FastAPI) -> None:
    """Answer every error under ``/scim/v2`` in the SCIM form; other paths keep their handlers.

    Call it after the problem handlers are installed: it wraps them.
    """
    for exc_type, handler in list(app.exception_handlers.items()):
        app.add_exception_handler(exc_type, _for_scim_paths(handler))
    app.add_exception_handler(ScimError, _scim_error)
    app.add_exception_handler(SCIMException, _scim_error)


class ScimErrorMiddleware:
    """Rewrite the problem documents written for SCIM paths outside the application (by the
    body-size limit, before routing) as SCIM errors. Add it outside those middlewares.

    It also reads a SCIM path ending in a slash as the path without it (``/Users/`` is
    ``/Users``), which is what a client writing it means: Starlette's own answer would be a
    307 redirect with an empty body, which is no SCIM message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_scim_path(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        scope = _without_trailing_slash(scope)
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(PROBLEM_JSON.encode()):
                    start = message
                    return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                await _send_rewritten(send, start, b"".join(chunks))

        await self.app(scope, receive, rewrite)


def _without_trailing_slash(scope: Scope) -> Scope:
    path: str = scope["path"]
    if not path.endswith("/"):
        return scope
    stripped: Scope = {**scope, "path": path.rstrip("/")}
    raw: bytes | None = scope.get("raw_path")
    if raw is not None:
        stripped["raw_path"] = raw.rstrip(b"/")
    return stripped


async def _send_rewritten(send: Send, start: Message, body: bytes) -> None:
    status: int = start["status"]
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        detail = None
    payload = json.dumps(error_body(status, detail or _DEFAULT_DETAIL.get(status, ""))).encode()
    kept = [
        (name, value)
        for name, value in start.get("headers", [])
        if name.lower() not in (b"content-type", b"content-length")
    ]
    headers = [
        *kept,
        (b"content-type", SCIM_JSON.encode()),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
