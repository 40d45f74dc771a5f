"""The one hierarchy of domain errors; adapters map each kind to their protocol in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose.

    ``code`` is the stable machine-readable kind (it becomes the problem ``type`` in REST and
    ``extensions.code`` in GraphQL); ``rule`` names the business rule that failed, ``field`` the
    input field at fault.
    """

    code = "domain-error"
    title = "Request could not be processed"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        rule: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.rule = rule
        self.extra = extra or {}


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Not allowed"


class NotFound(DomainError):
    code = "not-found"
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict with the current state"


class RuleViolation(DomainError):
    code = "rule-violation"
    title = "A business rule was not met"


class InvalidInput(DomainError):
    code = "invalid-input"
    title = "Invalid input"


class PreconditionFailed(DomainError):
    code = "precondition-failed"
    title = "The resource has changed"


class PreconditionRequired(DomainError):
    code = "precondition-required"
    title = "A precondition is required"


class ServiceUnavailable(DomainError):
    code = "service-unavailable"
    title = "Service temporarily unavailable"
