"""GraphQL errors, mapped from their cause in one place.

A domain error keeps its message and gains ``extensions.code`` — the same slug as the REST
problem ``type`` (``not-found``, ``rule-violation``, …) — with its rule and field. Invalid input
is ``validation-error`` with one entry per field, as in REST. Anything unexpected is masked:
the client reads "Unexpected error." and the cause goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from pydantic import ValidationError
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import SchemaExtension

from app.api.rest.problems import (
    STATUS_BY_ERROR,
    field_errors,
    is_database_unavailable,
    problem_type,
)
from app.domain.errors import DomainError

log = logging.getLogger("revmentor.graphql")

#: Codes of errors found before execution (the document itself is refused).
DOCUMENT_CODES = frozenset({"invalid-query", "query-too-complex", "introspection-disabled"})


def extensions_for(code: str, status: int, **extra: Any) -> dict[str, Any]:
    """The ``extensions`` of an error: its code (the REST problem kind), type and status."""
    out = {"code": code, "type": problem_type(code), "status": status}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


class TranslatedError(GraphQLError):
    """An error as the client sees it (translating it again changes nothing)."""


def _with(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return TranslatedError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def _camel(part: object) -> str:
    """A field name as GraphQL spells it (``accepted_ground_rules_version`` →
    ``acceptedGroundRulesVersion``); list positions stay numbers."""
    head, *rest = str(part).split("_")
    return head + "".join(word.capitalize() for word in rest)


#: REST's names for the pagination inputs, as GraphQL names them.
_RENAMED = {"limit": "first", "cursor": "after"}


def _field_name(field: str | None) -> str | None:
    if field is None:
        return None
    return _RENAMED.get(field) or ".".join(_camel(p) for p in field.split("."))


def _document_code(message: str) -> str:
    """The code of a refusal worded by graphql-core or Strawberry."""
    lowered = message.lower()
    if "introspection has been disabled" in lowered:
        return "introspection-disabled"
    if (
        "exceeds maximum operation depth" in lowered
        or "aliases found" in lowered
        or ("tokens" in lowered and "more than" in lowered)
        or "nested too deeply" in lowered  # the parser's own nesting limit
    ):
        return "query-too-complex"
    return "invalid-query"


def translate(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it."""
    if isinstance(error, TranslatedError):
        return error
    cause = error.original_error
    if isinstance(cause, DomainError):
        status = next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(cause, cls)), 400)
        extra = {k: v for k, v in cause.extra.items() if k not in ("code", "type", "status")}
        return _with(
            error,
            cause.detail,
            extensions_for(
                cause.code, status, rule=cause.rule, field=_field_name(cause.field), **extra
            ),
        )
    if isinstance(cause, ValidationError):
        fields = field_errors(cause.errors(include_url=False), _camel)
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        return _with(
            error,
            summary or "invalid input",
            extensions_for("validation-error", 422, errors=fields),
        )
    if isinstance(cause, StrawberryInputCoercionError):
        # An argument GraphQL's own validation could not check (e.g. a malformed global id).
        return _with(error, cause.message, extensions_for("invalid-input", 422))
    if cause is None:
        # Refused before execution (syntax, validation, limits) or by GraphQL itself.
        code = (error.extensions or {}).get("code") or _document_code(error.message)
        return _with(
            error, error.message, {**(error.extensions or {}), **extensions_for(code, 400)}
        )
    if is_database_unavailable(cause):
        log.warning("database unavailable: %s", type(cause).__name__)
        return _with(
            error,
            "the database cannot be reached; retry shortly",
            extensions_for("service-unavailable", 503),
        )
    log.error("unexpected error in GraphQL %s", error.path, exc_info=cause)
    return _with(error, "Unexpected error.", extensions_for("internal-error", 500))


class ErrorCodes(SchemaExtension):
    """Translate every error of a result (see the module's description)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if not errors:
            return
        translated = [translate(e) for e in errors]
        result.errors = translated  # type: ignore[union-attr]
        # A refused document is the client's error: answer it with 400, not 200.
        if getattr(result, "data", None) is None and all(
            (e.extensions or {}).get("code") in DOCUMENT_CODES for e in translated
        ):
            response = getattr(self.execution_context.context, "response", None)
            if response is not None:
                response.status_code = 400
