"""REST: pairing health and program reports (the program team and readers)."""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from app.api.deps import ActorDep, SessionDep, get_database
from app.api.rest.pagination import Cursor, Limit, PageOut, link_next
from app.api.rest.problems import READ_ERRORS, error_responses
from app.db.types import utcnow
from app.domain import health, reports
from app.domain.health import HealthStatus, PairingHealth
from app.domain.reports import ProgramReport

router = APIRouter(tags=["reports"])
CSV_TYPE = "text/csv; charset=utf-8"


@router.get(
    "/pairings/{pairing_id}/health",
    response_model=PairingHealth,
    responses=error_responses(401, 403, 404, 409, 503),
)
async def get_pairing_health(
    pairing_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> PairingHealth:
    """How an active pairing is going, with the reasons (the program team and readers;
    readers do not see concerns)."""
    return await health.get_pairing_health(session, actor, pairing_id)


@router.get(
    "/programs/{program_id}/pairing-health",
    response_model=PageOut[PairingHealth],
    responses=READ_ERRORS,
)
async def list_pairing_health(
    program_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: ActorDep,
    status: HealthStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageOut[PairingHealth]:
    """The health of every active pairing of a program, filtered by status."""
    page = await health.list_program_health(
        session, actor, program_id, status=status, limit=limit, cursor=cursor
    )
    link_next(request, response, page.next_cursor)
    return PageOut(items=page.items, next_cursor=page.next_cursor)


@router.get("/programs/{program_id}/report", response_model=ProgramReport, responses=READ_ERRORS)
async def get_program_report(
    program_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> ProgramReport:
    """The program's report: participation, acceptance, time to match, check-ins, goals,
    satisfaction, at-risk pairings, and breakdowns by department and level band. Every
    figure about fewer than 3 people is suppressed."""
    return await reports.program_report(session, actor, program_id)


def _file_name(program_name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", program_name.lower()).strip("-")[:60] or "program"
    return f"revmentor-{slug}-{utcnow().date().isoformat()}.csv"


@router.get(
    "/programs/{program_id}/report.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One row per pairing, streamed as it is read.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **READ_ERRORS,
    },
)
async def download_program_report(
    program_id: uuid.UUID, request: Request, session: SessionDep, actor: ActorDep
) -> StreamingResponse:
    """The report's rows, one per pairing, as a CSV download (streamed: any size of program
    in constant memory). Health reasons follow the same rules as the report."""
    program = await reports.authorize_report(session, actor, program_id)
    rows = reports.report_csv(get_database(request).session, actor, program)
    return StreamingResponse(
        rows,
        media_type=CSV_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{_file_name(program.name)}"',
            "Cache-Control": "no-store",
        },
    )
