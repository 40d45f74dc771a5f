"""REST: matching runs (started here, executed in the background)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from app.api.deps import ActorDep, SessionDep, get_database
from app.api.rest.conditional import set_etag
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import error_responses
from app.api.rest.schemas import MatchingRunOut
from app.domain.matching import runs as service
from app.jobs.matching import launch_run

router = APIRouter(tags=["matching"])


@router.post(
    "/programs/{program_id}/matching-runs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MatchingRunOut,
    responses=error_responses(401, 403, 404, 409, 413, 422, 503),
)
async def start_matching_run(
    program_id: uuid.UUID,
    data: service.MatchingRunCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
) -> MatchingRunOut:
    """Match the program's cohort (managers and admins). Answers at once; poll `Location`."""
    run = await service.start_run(session, actor, program_id=program_id, data=data)
    await session.commit()
    launch_run(request.app.state.background_tasks, get_database(request), run.id)
    response.headers["Location"] = str(request.url_for("get_matching_run", run_id=run.id))
    return MatchingRunOut.model_validate(run)


@router.get(
    "/matching-runs/{run_id}",
    response_model=MatchingRunOut,
    responses=error_responses(401, 403, 404, 503),
)
async def get_matching_run(
    run_id: uuid.UUID, response: Response, session: SessionDep, actor: ActorDep
) -> MatchingRunOut:
    """A run's status, timings, proposals and the people left unmatched (with reasons)."""
    run = await service.get_run(session, actor, run_id)
    set_etag(response, run.version)
    return MatchingRunOut.model_validate(run)


@router.get(
    "/programs/{program_id}/matching-runs",
    response_model=PageOut[MatchingRunOut],
    responses=error_responses(401, 403, 404, 422, 503),
)
async def list_matching_runs(
    program_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> PageOut[MatchingRunOut]:
    """A program's matching runs, newest first."""
    page = await service.list_runs(
        session, actor, program_id=program_id, limit=limit, cursor=cursor
    )
    link_next(request, response, page.next_cursor)
    return PageOut(
        items=[MatchingRunOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )
