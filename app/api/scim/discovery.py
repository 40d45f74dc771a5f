"""SCIM discovery (RFC 7644 section 4): ServiceProviderConfig, ResourceTypes and Schemas, plus
the endpoints Revmentor does not offer and says so: Bulk and /Me (501), Groups (404, see
``app.api.scim.models`` for why there are no groups).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from scim2_models import Context, ListResponse, Meta, ResourceType, Schema
from starlette.responses import Response

from app.api.scim.errors import ScimError
from app.api.scim.models import schemas, service_provider_config, user_resource_type
from app.api.scim.protocol import dump, message

router = APIRouter()
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _refuse_filters(request: Request) -> None:
    # RFC 7644 section 4: a filter here must not look honoured when it is not.
    if "filter" in {name.lower() for name in request.query_params}:
        raise ScimError(403, "discovery endpoints do not take a filter")


def _list(model: type[Any], resources: list[Any]) -> dict[str, Any]:
    response = ListResponse[model](  # type: ignore[valid-type]
        total_results=len(resources),
        start_index=1,
        items_per_page=len(resources),
        resources=resources,
    )
    body: dict[str, Any] = response.model_dump(scim_ctx=Context.SEARCH_RESPONSE)
    return body


def _resource_type(request: Request) -> ResourceType:
    resource_type = user_resource_type()
    resource_type.meta = Meta(
        resource_type="ResourceType",
        location=str(request.url_for("scim_get_resource_type", resource_type_id="User")),
    )
    return resource_type


def _schemas(request: Request) -> list[Schema]:
    published = []
    for schema in schemas():
        located = schema.model_copy(deep=True)
        located.meta = Meta(
            resource_type="Schema",
            location=str(request.url_for("scim_get_schema", schema_id=schema.id or "")),
        )
        published.append(located)
    return published


@router.get("/ServiceProviderConfig", name="scim_service_provider_config")
async def get_service_provider_config(request: Request) -> Response:
    """What this SCIM service supports: PATCH, filters (200 results at most), sorting and
    ETags; no bulk and no password changes."""
    _refuse_filters(request)
    config = service_provider_config()
    config.meta = Meta(
        resource_type="ServiceProviderConfig",
        location=str(request.url_for("scim_service_provider_config")),
    )
    return message(dump(config))


@router.get("/ResourceTypes", name="scim_list_resource_types")
async def list_resource_types(request: Request) -> Response:
    """The resource types served: User only."""
    _refuse_filters(request)
    return message(_list(ResourceType, [_resource_type(request)]))


@router.get("/ResourceTypes/{resource_type_id}", name="scim_get_resource_type")
async def get_resource_type(resource_type_id: str, request: Request) -> Response:
    """One resource type by id."""
    if resource_type_id != "User":
        raise ScimError(404, f"no resource type {resource_type_id!r}; only User is served")
    return message(dump(_resource_type(request)))


@router.get("/Schemas", name="scim_list_schemas")
async def list_schemas(request: Request) -> Response:
    """Every schema: User, the enterprise and Revmentor extensions, and the discovery ones."""
    _refuse_filters(request)
    return message(_list(Schema, _schemas(request)))


@router.get("/Schemas/{schema_id}", name="scim_get_schema")
async def get_schema(schema_id: str, request: Request) -> Response:
    """One schema by its URN."""
    for schema in _schemas(request):
        if (schema.id or "").lower() == schema_id.lower():
            return message(dump(schema))
    raise ScimError(404, f"no schema {schema_id!r}")


@router.post("/Bulk", name="scim_bulk")
async def bulk() -> Response:
    """Bulk operations are not supported (ServiceProviderConfig says so)."""
    raise ScimError(501, "bulk operations are not supported; send one request per user")


@router.api_route("/Me", methods=ALL_METHODS, name="scim_me")
async def me() -> Response:
    """/Me is not supported: SCIM clients here are provisioning services, not people."""
    raise ScimError(501, "/Me is not supported")


@router.api_route("/Groups", methods=ALL_METHODS, name="scim_groups")
@router.api_route("/Groups/{group_path:path}", methods=ALL_METHODS, name="scim_group")
async def groups() -> Response:
    """Groups are not supported: who joins a program is each person's own choice."""
    raise ScimError(
        404,
        "groups are not supported: Revmentor provisions users only (program membership is "
        "each employee's own opt-in, not a directory group)",
    )
