"""The ``/scim/v2`` router: every route needs a caller holding the ``scim`` scope.

SCIM routes stay out of the OpenAPI document: SCIM describes itself through its discovery
endpoints, and its clients (identity providers) read those, not OpenAPI.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api.scim import discovery, users
from app.api.scim.errors import SCIM_PREFIX, ScimResponse
from app.api.scim.scope import require_scim_actor


def build_scim_router() -> APIRouter:
    """The SCIM 2.0 service (RFC 7643/7644) with Users, discovery and its refusals."""
    router = APIRouter(
        prefix=SCIM_PREFIX,
        dependencies=[Depends(require_scim_actor)],
        include_in_schema=False,
        default_response_class=ScimResponse,
    )
    router.include_router(discovery.router, include_in_schema=False)
    router.include_router(users.router, include_in_schema=False)
    return router
