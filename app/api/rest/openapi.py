"""Finishing touches on the generated OpenAPI document, so generated clients see the truth:
problem+json for every error, the bearer scheme, and ``If-Match`` as the required header it is."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.api.rest.conditional import ETAG_PATTERN
from app.api.rest.problems import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

COMMON_ERRORS = {
    "400": "Malformed request (e.g. a body that is not JSON)",
    "401": "Missing or invalid credentials",
    "422": "Invalid input, or a business rule the input does not meet",
    "503": "Database temporarily unavailable; retry after Retry-After seconds",
}
BODY_ERRORS = {"413": "Request body larger than the limit (1 MiB by default)"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


NO_NUL_PATTERN = "^[^\\u0000]*$"


def _forbid_nul(schema: dict[str, Any]) -> None:
    # URLs with NUL characters are refused (400) before routing; say so in the schema.
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string" and not {"format", "pattern", "enum"} & branch.keys():
            branch["pattern"] = NO_NUL_PATTERN


def _finish_operation(path: str, operation: dict[str, Any], public: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if not public:
        operation["security"] = [{"bearerAuth": []}]
        for status, description in COMMON_ERRORS.items():
            responses.setdefault(status, _problem(description))
        if "requestBody" in operation:
            for status, description in BODY_ERRORS.items():
                responses.setdefault(status, _problem(description))
    for status, response in responses.items():
        if status.startswith(("4", "5")) and not (public and path == "/readyz"):
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query":
            _forbid_nul(parameter.get("schema", {}))
        if parameter.get("in") == "header" and parameter.get("name") == "If-Match":
            # Declared optional in code so a missing header is our 428, not a generic 422.
            parameter["required"] = True
            parameter["schema"] = {"type": "string", "pattern": ETAG_PATTERN}


def build_openapi(app: FastAPI, public_paths: frozenset[str]) -> dict[str, Any]:
    """The API description, generated once per process."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A Revmentor API token (`rvm_…`).",
    }
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            _finish_operation(path, operation, path in public_paths)
    schemas = components.get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = schema
    return schema
