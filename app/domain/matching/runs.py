"""Matching runs: whole-cohort matching started over the API and executed off the event loop."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import OPEN_PAIRING_STATES, AuditEvent, MatchingRun, Pairing, Program
from app.db.pagination import Page, decode_cursor, key_cursor, paginate, paginate_each
from app.db.types import utcnow, uuid7
from app.db.visibility import programs_visible_to
from app.domain import audit
from app.domain.actors import Actor
from app.domain.common import lock_for_update
from app.domain.errors import Conflict, Forbidden, NotFound
from app.domain.matching.candidates import engine_settings, excluded_pairs, load_cohort
from app.domain.matching.engine import MatchResult, match
from app.domain.pairings import PAIRING_PROGRAM_STATUSES, explanation_json
from app.domain.programs import get_program
from app.domain.values import StrictInput

log = logging.getLogger("revmentor.matching")

#: A run still "queued" or "running" after this long died with its instance.
STALE_RUN_AFTER = timedelta(minutes=15)


class MatchingRunCreate(StrictInput):
    dry_run: bool = Field(default=False, description="Compute proposals without creating pairings.")
    only_unmatched: bool = Field(
        default=False,
        description="Match only people without an open pairing (rematching after declines, "
        "expiries and exits); mentors keep their remaining capacity.",
    )


def _refusal(actor: Actor, program_id: uuid.UUID) -> Forbidden | None:
    if actor.manages(program_id):
        return None
    return Forbidden("only the program's managers and admins run matching", rule="program_manager")


def _require_manager(actor: Actor, program_id: uuid.UUID) -> None:
    refusal = _refusal(actor, program_id)
    if refusal is not None:
        raise refusal


async def start_run(
    session: AsyncSession, actor: Actor, *, program_id: uuid.UUID, data: MatchingRunCreate
) -> MatchingRun:
    """Queue a matching run for a program; the caller starts ``execute_run`` after commit."""
    program = await get_program(session, actor, program_id)
    _require_manager(actor, program.id)
    await lock_for_update(session, program)
    allowed = ("enrolling", *PAIRING_PROGRAM_STATUSES) if data.dry_run else PAIRING_PROGRAM_STATUSES
    if program.status not in allowed:
        raise Conflict(
            f"the program is '{program.status}'; "
            + (
                "dry runs need it enrolling, matching or active"
                if data.dry_run
                else "matching runs need it matching or active"
            ),
            rule="program_matching",
            extra={"current_status": program.status},
        )
    if not data.dry_run:
        busy = await session.scalar(
            select(col(MatchingRun.id)).where(
                col(MatchingRun.program_id) == program.id,
                col(MatchingRun.dry_run).is_(False),
                col(MatchingRun.status).in_(("queued", "running")),
            )
        )
        if busy is not None:
            raise Conflict(
                "a matching run for this program is already in progress",
                rule="one_run_at_a_time",
                extra={"run_id": str(busy)},
            )
        if not data.only_unmatched:
            existing = await session.scalar(
                select(col(Pairing.id))
                .where(
                    col(Pairing.program_id) == program.id,
                    col(Pairing.state).in_(OPEN_PAIRING_STATES),
                )
                .limit(1)
            )
            if existing is not None:
                raise Conflict(
                    "the program already has open pairings; rematch with only_unmatched",
                    rule="rematch_only_unmatched",
                )
    run = MatchingRun(
        program_id=program.id,
        dry_run=data.dry_run,
        only_unmatched=data.only_unmatched,
        priority=program.matching_priority,
        min_score=program.min_match_score,
        requested_by_id=actor.employee_id,
    )
    session.add(run)
    await session.flush()
    audit.record(
        session,
        actor,
        action="matching_run.started",
        entity_type="matching_run",
        entity_id=run.id,
        details={
            "program_id": str(program.id),
            "dry_run": data.dry_run,
            "only_unmatched": data.only_unmatched,
        },
    )
    return run


async def get_run(session: AsyncSession, actor: Actor, run_id: uuid.UUID) -> MatchingRun:
    """A run of a program the actor manages."""
    run = await session.get(MatchingRun, run_id)
    if run is None:
        raise NotFound(f"matching run {run_id} not found")
    await get_program(session, actor, run.program_id)  # 404 when the program is hidden
    _require_manager(actor, run.program_id)
    return run


async def list_runs(
    session: AsyncSession,
    actor: Actor,
    *,
    program_id: uuid.UUID,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[MatchingRun]:
    """A program's runs, newest first."""
    program = await get_program(session, actor, program_id)
    _require_manager(actor, program.id)
    stmt = _runs_query().where(col(MatchingRun.program_id) == program.id)
    return await paginate(
        session, stmt, key=col(MatchingRun.id), limit=limit, cursor=cursor, descending=True
    )


def _runs_query(*, cursor: str | None = None) -> Select[Any]:
    stmt = select(MatchingRun)
    if cursor:
        # Newest first: the page after a cursor holds older (smaller) keys.
        stmt = stmt.where(col(MatchingRun.id) < decode_cursor(cursor))
    return stmt


async def runs_by_id(
    session: AsyncSession, actor: Actor, run_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, MatchingRun | Forbidden]:
    """The runs among ``run_ids`` of programs the actor may see, or, as ``get_run`` answers,
    a refusal for those of programs they do not manage, in one query."""
    stmt = (
        _runs_query()
        .join(Program, col(Program.id) == col(MatchingRun.program_id))
        .where(col(MatchingRun.id).in_(list(run_ids)), programs_visible_to(actor))
    )
    found: dict[uuid.UUID, MatchingRun | Forbidden] = {}
    for run in await session.scalars(stmt):
        refusal = _refusal(actor, run.program_id)
        found[run.id] = run if refusal is None else refusal
    return found


async def runs_of_programs(
    session: AsyncSession,
    actor: Actor,
    program_ids: Collection[uuid.UUID],
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[uuid.UUID, Page[MatchingRun] | Forbidden]:
    """The first page of each program's runs (as ``list_runs``: newest first), or the refusal
    it would answer, in one query whatever the number of programs. Callers pass programs the
    actor may see."""
    refused: dict[uuid.UUID, Forbidden] = {}
    managed: list[uuid.UUID] = []
    for program_id in program_ids:
        refusal = _refusal(actor, program_id)
        if refusal is None:
            managed.append(program_id)
        else:
            refused[program_id] = refusal
    pages: dict[uuid.UUID, Page[MatchingRun] | Forbidden] = dict(
        await paginate_each(
            session,
            _runs_query(cursor=cursor),
            parent=col(MatchingRun.program_id),
            parents=managed,
            order_by=[col(MatchingRun.id).desc()],
            limit=limit,
            cursor_of=lambda r: key_cursor(r.id),
        )
    )
    pages.update(refused)
    return pages


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


async def claim_run(session: AsyncSession, run_id: uuid.UUID) -> bool:
    """Mark a queued run as running; false when another worker already has it."""
    claimed = await session.execute(
        update(MatchingRun)
        .where(col(MatchingRun.id) == run_id, col(MatchingRun.status) == "queued")
        .values(status="running", started_at=utcnow())
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def perform_run(
    session: AsyncSession, actor: Actor, run_id: uuid.UUID, *, started: float
) -> MatchingRun:
    """Load the cohort, solve in a worker thread and store the proposals (flushed, not
    committed: the job that runs this owns the transaction)."""
    run = await session.get(MatchingRun, run_id)
    assert run is not None
    program = await session.get(Program, run.program_id)
    assert program is not None
    timings: dict[str, float] = {}
    t = time.perf_counter()
    # A what-if dry run looks at the whole cohort; anything real respects open pairings.
    respect_open = not run.dry_run or run.only_unmatched
    candidates = await load_cohort(session, program.id, respect_open_pairings=respect_open)
    mentors = [c for c in candidates if c.role == "mentor"]
    mentees = [c for c in candidates if c.role == "mentee"]
    excluded = await excluded_pairs(session, program.id, [c.employee_id for c in candidates])
    timings["load_ms"] = _ms(t)
    settings = engine_settings(program)
    # The solver releases the GIL: other requests keep being served meanwhile.
    result: MatchResult = await asyncio.to_thread(match, mentors, mentees, settings, excluded)
    timings.update(
        {f"{'engine' if k == 'total' else k}_ms": round(v, 1) for k, v in result.timings_ms.items()}
    )
    t = time.perf_counter()
    stored = await _store(session, actor, run, program, result)
    run.proposals = stored
    run.unmatched = [
        {
            "enrollment_id": str(u.candidate.enrollment_id),
            "employee_id": str(u.candidate.employee_id),
            "role": u.candidate.role,
            "reason": u.reason,
        }
        for u in result.unmatched
    ]
    run.total_score = round(result.total_score, 1)
    run.status = "succeeded"
    run.finished_at = utcnow()
    timings["store_ms"] = _ms(t)
    timings["total_ms"] = _ms(started)
    run.timings_ms = timings
    run.version += 1
    run.updated_at = run.finished_at
    audit.record(
        session,
        actor,
        action="matching_run.succeeded",
        entity_type="matching_run",
        entity_id=run.id,
        details={"proposals": len(stored), "unmatched": len(run.unmatched), "dry_run": run.dry_run},
    )
    await session.flush()
    return run


async def _store(
    session: AsyncSession, actor: Actor, run: MatchingRun, program: Program, result: MatchResult
) -> list[dict[str, Any]]:
    """The proposals as run results and, unless a dry run, as pairings (one bulk insert)."""
    now = utcnow()
    expires_at = now + timedelta(days=program.acceptance_window_days)
    stored: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for proposal in result.proposals:
        explanation = explanation_json(proposal.explanation)
        pairing_id = None if run.dry_run else uuid7()
        stored.append(
            {
                "mentor_enrollment_id": str(proposal.mentor.enrollment_id),
                "mentee_enrollment_id": str(proposal.mentee.enrollment_id),
                "mentor_employee_id": str(proposal.mentor.employee_id),
                "mentee_employee_id": str(proposal.mentee.employee_id),
                "score": proposal.score,
                "explanation": explanation,
                "pairing_id": str(pairing_id) if pairing_id else None,
            }
        )
        if pairing_id is not None:
            rows.append(
                {
                    "id": pairing_id,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                    "program_id": program.id,
                    "mentor_enrollment_id": proposal.mentor.enrollment_id,
                    "mentee_enrollment_id": proposal.mentee.enrollment_id,
                    "mentor_employee_id": proposal.mentor.employee_id,
                    "mentee_employee_id": proposal.mentee.employee_id,
                    "state": "proposed",
                    "origin": "matching",
                    "matching_run_id": run.id,
                    "score": proposal.score,
                    "explanation": explanation,
                    "justification": None,
                    "mentor_accepted_at": None,
                    "mentee_accepted_at": None,
                    "expires_at": expires_at,
                    "activated_at": None,
                    "paused_at": None,
                    "closed_at": None,
                    "declined_by": None,
                    "decline_reason": None,
                    "ended_by": None,
                    "end_reason": None,
                    "end_note": None,
                }
            )
    # Every pairing's creation is audited, in bulk like the pairings themselves.
    events = [
        {
            "id": uuid7(),
            "occurred_at": now,
            "actor_kind": actor.kind.value,
            "actor_employee_id": actor.employee_id,
            "actor_service": actor.service_name,
            "actor_token_id": actor.token_id,
            "action": "pairing.created",
            "entity_type": "pairing",
            "entity_id": row["id"],
            "request_id": actor.request_id,
            "details": {
                "program_id": str(program.id),
                "state": "proposed",
                "origin": "matching",
                "matching_run_id": str(run.id),
                "score": row["score"],
            },
        }
        for row in rows
    ]
    for chunk in range(0, len(rows), 1000):
        await session.execute(insert(Pairing), rows[chunk : chunk + 1000])
        await session.execute(insert(AuditEvent), events[chunk : chunk + 1000])
    return stored


async def record_failure(session: AsyncSession, run_id: uuid.UUID, error: str) -> None:
    """Mark a run failed with a message the API shows."""
    await session.execute(
        update(MatchingRun)
        .where(col(MatchingRun.id) == run_id)
        .values(
            status="failed", error=error, finished_at=utcnow(), version=col(MatchingRun.version) + 1
        )
    )
    await session.flush()


async def fail_stale_runs(session: AsyncSession) -> int:
    """Runs whose instance died stay 'running' forever otherwise."""
    cutoff = utcnow() - STALE_RUN_AFTER
    result = await session.execute(
        update(MatchingRun)
        .where(
            col(MatchingRun.status).in_(("queued", "running")),
            col(MatchingRun.created_at) <= cutoff,
        )
        .values(
            status="failed",
            error="the run was interrupted; start it again",
            finished_at=utcnow(),
            version=col(MatchingRun.version) + 1,
        )
    )
    await session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
