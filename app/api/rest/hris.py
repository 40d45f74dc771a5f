"""REST: the bulk push API for HRIS sync jobs (delta pushes and snapshot runs)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, Self

import orjson
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, WithJsonSchema, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import ActorDep, SessionDep, SettingsDep
from app.api.rest.conditional import set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import CREATE_ERRORS, error_responses
from app.db.models import HrisRun
from app.db.types import json_default
from app.domain import hris as service
from app.domain.hris.records import SourceName
from app.domain.values import StrictInput


class _BatchRequest(Request):
    """A request whose JSON body is parsed by orjson: a page of a thousand records is parsed
    several times faster. Documents orjson refuses but the standard parser accepts (integers
    beyond 64 bits, lone surrogates) still go through the standard parser, so each record is
    judged on its own as before."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = orjson.loads(body)
            except orjson.JSONDecodeError:
                self._json = json.loads(body)
        return self._json


class _BatchRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(_BatchRequest(request.scope, request.receive))

        return handle


router = APIRouter(prefix="/hris", tags=["hris"], route_class=_BatchRoute)

RECORDS_DESCRIPTION = (
    "Up to 1,000 employee records, each validated on its own. Fields: `external_id` and "
    "`modified_at` (the source's id and last-modified time, both required), `email`, "
    "`given_name`, `family_name`, `job_level` (required), `display_name`, `job_title`, "
    "`department`, `division`, `organization`, `cost_center`, `employee_number`, `location`, "
    "`time_zone`, `manager_external_id`, `hire_date`, `termination_date`, `active`."
)
# Each item is taken as it comes: a record that is not an object is reported as invalid like
# any other bad record, and the rest of the push is kept (so the document says "any value").
RawRecord = Annotated[
    Any,
    WithJsonSchema(
        {"description": "An employee record (an object); anything else is reported invalid."}
    ),
]
Records = Annotated[
    list[RawRecord],
    Field(max_length=service.MAX_RECORDS, description=RECORDS_DESCRIPTION),
]


class PageIn(StrictInput):
    """One page of a snapshot run."""

    records: Records

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        # Each record is checked on its own (a bad one is reported, the others kept); only
        # the envelope's own text is checked here.
        if isinstance(data, dict) and "\x00" in str(data.get("source", "")):
            raise ValueError("text must not contain NUL (U+0000) characters")
        return data


class DeltaPushIn(PageIn):
    """Records from one source, upserted by external id."""

    source: SourceName = Field(description="The HRIS the records come from, e.g. `workday`.")


class SnapshotOpenIn(StrictInput):
    """A full sync of one source."""

    source: SourceName


class RecordResultOut(BaseModel):
    index: int = Field(description="The record's position in the pushed list.")
    external_id: str | None
    outcome: str = Field(description="created, updated, unchanged, stale or invalid")
    employee_id: uuid.UUID | None = None
    field: str | None = Field(default=None, description="Invalid records: the field at fault.")
    reason: str | None = None


class PushOut(BaseModel):
    run_id: uuid.UUID
    counts: dict[str, int] = Field(description="Records of this push by outcome.")
    results: list[RecordResultOut]


class RunError(BaseModel):
    page: int
    index: int
    external_id: str | None
    field: str | None
    reason: str | None


class HrisRunSummary(BaseModel):
    model_config = {"from_attributes": True}

    id: uuid.UUID
    source: str
    kind: str = Field(description="delta or snapshot")
    status: str = Field(description="open, held, committed, rejected or aborted")
    pushed_by: str
    pages: int
    records: int
    counts: dict[str, int]
    error_count: int
    active_before: int | None = Field(
        description="Snapshot runs: the source's active people when the run was committed."
    )
    to_deactivate: int | None = Field(
        description="Snapshot runs: the people the snapshot left out."
    )
    deactivated: int
    max_deactivation_share: float | None
    hold_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None = None
    version: int

    @classmethod
    def of(cls, run: HrisRun) -> Self:
        view = cls.model_validate(run)
        if run.finished_at is not None:
            view.duration_seconds = round((run.finished_at - run.created_at).total_seconds(), 3)
        return view


class HrisRunOut(HrisRunSummary):
    errors: list[RunError] = Field(description="The first 1,000 rejected records and why.")


def _push_out(run_id: uuid.UUID, results: list[service.RecordResult]) -> Response:
    """The push's answer, written directly: a thousand results would otherwise be validated
    twice on the way out (the shape is ``PushOut``, which the OpenAPI document declares)."""
    counts = dict(Counter(map(service.OUTCOME, results)))
    # orjson writes each result (a dataclass) as an object of its fields, in their order:
    # index, external_id, outcome, employee_id, field, reason (ids the driver read come as its
    # own UUID subclass, which the fallback writes).
    body = {"run_id": run_id, "counts": counts, "results": results}
    return Response(orjson.dumps(body, default=json_default), media_type="application/json")


async def _committed(
    session: AsyncSession, run_id: uuid.UUID, results: list[service.RecordResult]
) -> Response:
    """Commit the push, and write its answer while the database commits (it is sent only
    once the commit succeeded)."""
    committing = asyncio.ensure_future(session.commit())
    await asyncio.sleep(0)
    try:
        answer = _push_out(run_id, results)
    finally:
        await committing
    return answer


@router.post("/employees:batch", response_model=PushOut, responses=CREATE_ERRORS)
async def push_employees(data: DeltaPushIn, session: SessionDep, actor: ActorDep) -> Response:
    """Upsert up to 1,000 employee records by external id (`hris:write`). Older records than
    stored are `stale`; invalid ones are reported with the reason; the valid ones are kept."""
    run, results = await service.push_delta(
        session, actor, source=data.source, records=data.records
    )
    return await _committed(session, run.id, results)


@router.post(
    "/runs",
    status_code=status.HTTP_201_CREATED,
    response_model=HrisRunOut,
    responses=CREATE_ERRORS,
)
async def open_snapshot_run(
    data: SnapshotOpenIn, request: Request, response: Response, session: SessionDep, actor: ActorDep
) -> HrisRunOut:
    """Open a snapshot run (a full sync of one source): push its pages, then commit it."""
    run = await service.open_snapshot(session, actor, source=data.source)
    await session.commit()
    response.headers["Location"] = str(request.url_for("get_hris_run", run_id=run.id))
    set_etag(response, run.version)
    return HrisRunOut.of(run)


@router.post("/runs/{run_id}/employees:batch", response_model=PushOut, responses=CREATE_ERRORS)
async def push_snapshot_page(
    run_id: uuid.UUID, data: PageIn, session: SessionDep, actor: ActorDep
) -> Response:
    """Push one page (up to 1,000 records) of an open snapshot run. The records apply now,
    except deactivations (people whose records say they left): those wait for the commit."""
    run, results = await service.push_snapshot_page(session, actor, run_id, records=data.records)
    return await _committed(session, run.id, results)


async def _decided(response: Response, run: HrisRun) -> HrisRunOut:
    set_etag(response, run.version)
    return HrisRunOut.of(run)


@router.post("/runs/{run_id}/commit", response_model=HrisRunOut, responses=CREATE_ERRORS)
async def commit_snapshot_run(
    run_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
) -> HrisRunOut:
    """Commit a snapshot run: the source's people it left out are deactivated, unless they are
    more than the allowed share of its active people — then the run is `held` for an admin."""
    run = await service.commit_snapshot(
        session, actor, run_id, max_share=settings.hris_max_deactivation_share
    )
    await session.commit()
    return await _decided(response, run)


@router.post("/runs/{run_id}/approve", response_model=HrisRunOut, responses=CREATE_ERRORS)
async def approve_snapshot_run(
    run_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> HrisRunOut:
    """Approve a held snapshot run (admins): the people it left out are deactivated now."""
    run = await service.approve_run(session, actor, run_id)
    await session.commit()
    return await _decided(response, run)


@router.post("/runs/{run_id}/reject", response_model=HrisRunOut, responses=CREATE_ERRORS)
async def reject_snapshot_run(
    run_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> HrisRunOut:
    """Reject a held snapshot run (admins): nobody is deactivated."""
    run = await service.reject_run(session, actor, run_id)
    await session.commit()
    return await _decided(response, run)


@router.post("/runs/{run_id}/abort", response_model=HrisRunOut, responses=CREATE_ERRORS)
async def abort_snapshot_run(
    run_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> HrisRunOut:
    """Abort an open or held snapshot run: nobody is deactivated."""
    run = await service.abort_run(session, actor, run_id)
    await session.commit()
    return await _decided(response, run)


@router.get(
    "/runs/{run_id}", response_model=HrisRunOut, responses=error_responses(401, 403, 404, 503)
)
async def get_hris_run(
    run_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> HrisRunOut:
    """One run's report: counts by outcome, the rejected records, who pushed, how long."""
    run = await service.get_run(session, actor, run_id)
    set_etag(response, run.version)
    return HrisRunOut.of(run)


@router.get(
    "/runs", response_model=PageOut[HrisRunSummary], responses=error_responses(401, 403, 422, 503)
)
async def list_hris_runs(
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    source: Annotated[str | None, Query(max_length=64)] = None,
    kind: service.RunKind | None = None,
    run_status: Annotated[service.RunStatus | None, Query(alias="status")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> PageOut[HrisRunSummary]:
    """HRIS runs, newest first, with their reports (`hris:write` clients and admins)."""
    page = await service.list_runs(
        session, actor, source=source, kind=kind, status=run_status, limit=limit, cursor=cursor
    )
    link_next(request, response, page.next_cursor)
    return PageOut(items=[HrisRunSummary.of(r) for r in page.items], next_cursor=page.next_cursor)
