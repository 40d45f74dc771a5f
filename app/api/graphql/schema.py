"""The GraphQL schema and its HTTP endpoint.

Queries and mutations are composed from one class per area; every resolver calls the domain
service its REST twin calls. Authentication is REST's (one entry point, one ``Actor``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import strawberry
from cross_web import HTTPException as StrawberryHTTPException
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from graphql import GraphQLError
from starlette.responses import Response
from strawberry import UNSET
from strawberry.extensions import DisableIntrospection
from strawberry.fastapi import GraphQLRouter
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.config import StrawberryConfig

from app.api.deps import ActorDep, SettingsDep, get_database
from app.api.graphql.context import Context
from app.api.graphql.errors import ErrorCodes, extensions_for, translate
from app.api.graphql.limits import limit_extensions
from app.api.graphql.mutations.employees import EmployeeMutations
from app.api.graphql.mutations.enrollments import EnrollmentMutations
from app.api.graphql.mutations.goals import GoalMutations
from app.api.graphql.mutations.oversight import OversightMutations
from app.api.graphql.mutations.pairings import PairingMutations
from app.api.graphql.mutations.programs import ProgramMutations
from app.api.graphql.mutations.progress import ProgressMutations
from app.api.graphql.queries import CoreQueries
from app.api.graphql.types.audit import AuditQueries
from app.api.graphql.types.blocks import BlockQueries
from app.api.graphql.types.checkins import CheckIn
from app.api.graphql.types.concerns import Concern, ConcernQueries
from app.api.graphql.types.employees import Employee
from app.api.graphql.types.enrollments import Enrollment
from app.api.graphql.types.goals import Goal
from app.api.graphql.types.matching import MatchingRun
from app.api.graphql.types.pairings import Pairing
from app.api.graphql.types.programs import Program
from app.api.graphql.types.requests import PairingRequest, PairingRequestQueries
from app.api.rest.problems import HTTP_PROBLEM_TYPES
from app.config import Settings

PATH = "/graphql"
IDE_PATH = "/graphiql"
SDL_PATH = Path(__file__).resolve().parents[3] / "openapi" / "schema.graphql"


@strawberry.type(description="Read Revmentor: the same data and rules as the REST API.")
class Query(CoreQueries, ConcernQueries, PairingRequestQueries, BlockQueries, AuditQueries):
    pass


@strawberry.type(description="Change Revmentor: each mutation is one unit of work.")
class Mutation(
    EmployeeMutations,
    ProgramMutations,
    EnrollmentMutations,
    PairingMutations,
    GoalMutations,
    ProgressMutations,
    OversightMutations,
):
    pass


#: Every node type (some are only reachable through ``node``).
NODE_TYPES: list[type] = [
    Employee,
    Program,
    Enrollment,
    Pairing,
    Goal,
    CheckIn,
    Concern,
    MatchingRun,
    PairingRequest,
]


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Translate in place, as ``ErrorCodes`` does: an exception escaping a validation rule
        or an extension skips the extensions' hooks, and must not reach the client in its own
        words. (Translating twice changes nothing; the unexpected errors are logged where they
        are masked, so nothing is logged here.)"""
        errors[:] = [translate(e) for e in errors]


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema with the limits (and introspection switch) of these settings."""
    settings = settings or Settings()
    extensions: list[Any] = [
        ErrorCodes,
        *limit_extensions(settings),
    ]
    if not settings.graphql_introspection_enabled:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        types=NODE_TYPES,
        extensions=extensions,
        # "Did you mean …?" would name the fields that introspection no longer shows.
        config=StrawberryConfig(
            auto_camel_case=True,
            disable_field_suggestions=not settings.graphql_introspection_enabled,
        ),
    )


def sdl() -> str:
    """The schema in SDL, as committed at ``openapi/schema.graphql``."""
    return build_schema().as_str() + "\n"


async def get_context(request: Request, actor: ActorDep, settings: SettingsDep) -> Context:
    """Authenticate as REST does (a missing or bad credential is a 401 before GraphQL runs)."""
    return Context(actor=actor, db=get_database(request), settings=settings)


class _Router(GraphQLRouter[Any, None]):
    """Strawberry's router, answering its own refusals (a batch, a query over GET, a body that
    is not JSON) as GraphQL errors with a code, like every other error, not as plain text."""

    async def run(  # type: ignore[override]
        self, request: Request, context: Any = UNSET, root_value: Any = UNSET
    ) -> Response:
        try:
            return await super().run(request, context=context, root_value=root_value)
        except StrawberryHTTPException as exc:
            code = HTTP_PROBLEM_TYPES.get(exc.status_code, "bad-request")
            body = {
                "data": None,
                "errors": [
                    {"message": exc.reason, "extensions": extensions_for(code, exc.status_code)}
                ],
            }
            return JSONResponse(body, status_code=exc.status_code)


def build_graphql_router(settings: Settings) -> GraphQLRouter[Any, None]:
    """``POST /graphql`` (queries over GET are refused: they would end up in logs and caches)."""
    return _Router(
        build_schema(settings),
        path=PATH,
        context_getter=get_context,
        graphql_ide=None,
        allow_queries_via_get=False,
        multipart_uploads_enabled=False,
        subscription_protocols=(),
        include_in_schema=False,
    )


def ide_router() -> APIRouter:
    """``GET /graphiql``: the GraphiQL page (it holds no data; its queries go to ``/graphql``
    with the credentials the user enters)."""
    router = APIRouter(include_in_schema=False)
    page = get_graphql_ide_html("graphiql").replace(
        'window.location.href.split("?")[0]', f'new URL("{PATH}", window.location.href).href'
    )

    @router.get(IDE_PATH, response_class=HTMLResponse)
    async def graphiql() -> HTMLResponse:
        return HTMLResponse(page)

    return router
