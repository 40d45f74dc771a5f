"""Pairings: proposals, mutual acceptance, pause, completion and no-fault exits."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import OPEN_PAIRING_STATES, Enrollment, Pairing, Program
from app.db.pagination import Page, decode_cursor, key_cursor, paginate, paginate_each
from app.db.types import utcnow
from app.db.visibility import pairings_visible_to
from app.domain import audit
from app.domain.actors import Actor
from app.domain.common import check_version, lock_for_update, touch
from app.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.domain.matching.candidates import engine_settings, excluded_pairs, load_candidates
from app.domain.matching.engine import CriterionScore, hard_rule_violations, score_pair
from app.domain.programs import get_program
from app.domain.values import StrictInput


class PairingState(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    PAUSED = "paused"
    DECLINED = "declined"
    EXPIRED = "expired"
    COMPLETED = "completed"
    ENDED = "ended"


class EndReason(StrEnum):
    """Why a pairing ended early. No fault is assigned; the note stays with the program team."""

    SCHEDULE = "schedule"
    WORKLOAD = "workload"
    NOT_A_GOOD_FIT = "not_a_good_fit"
    ROLE_CHANGE = "role_change"
    LEFT_COMPANY = "left_company"
    OTHER = "other"


#: Programs in which pairings may be created.
PAIRING_PROGRAM_STATUSES = ("matching", "active")


class ManualPairingCreate(StrictInput):
    """A program manager pairs two enrollments; hard rules always apply."""

    program_id: uuid.UUID
    mentor_enrollment_id: uuid.UUID
    mentee_enrollment_id: uuid.UUID
    justification: str | None = Field(
        default=None,
        max_length=2000,
        description="Required when the pair scores below the program's minimum score.",
    )


class DeclineIn(StrictInput):
    reason: str | None = Field(default=None, max_length=2000)


class EndIn(StrictInput):
    reason: EndReason
    note: str | None = Field(
        default=None,
        max_length=4000,
        description="Confidential: readable by the program's managers and admins only.",
    )


def explanation_json(explanation: tuple[CriterionScore, ...]) -> list[dict[str, Any]]:
    return [
        {"criterion": c.criterion, "value": round(c.value, 3), "weight": c.weight, "text": c.text}
        for c in explanation
    ]


def member_role(actor: Actor, pairing: Pairing) -> str | None:
    """``mentor`` or ``mentee`` when the actor is a member of the pairing."""
    if actor.is_employee(pairing.mentor_employee_id):
        return "mentor"
    if actor.is_employee(pairing.mentee_employee_id):
        return "mentee"
    return None


async def get_pairing(session: AsyncSession, actor: Actor, pairing_id: uuid.UUID) -> Pairing:
    """A pairing the actor may see (a member, the program's managers, admins, readers)."""
    stmt = select(Pairing).where(col(Pairing.id) == pairing_id, pairings_visible_to(actor))
    pairing = (await session.execute(stmt)).scalar_one_or_none()
    if pairing is None:
        raise NotFound(f"pairing {pairing_id} not found")
    return pairing


def _pairings_query(
    actor: Actor,
    *,
    state: PairingState | None = None,
    member_id: uuid.UUID | None = None,
    cursor: str | None = None,
) -> Select[Any]:
    stmt = select(Pairing).where(pairings_visible_to(actor))
    if state is not None:
        stmt = stmt.where(col(Pairing.state) == state.value)
    if member_id is not None:
        stmt = stmt.where(
            (col(Pairing.mentor_employee_id) == member_id)
            | (col(Pairing.mentee_employee_id) == member_id)
        )
    if cursor:
        stmt = stmt.where(col(Pairing.id) > decode_cursor(cursor))
    return stmt


async def list_pairings(
    session: AsyncSession,
    actor: Actor,
    *,
    program_id: uuid.UUID | None = None,
    state: PairingState | None = None,
    member_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Pairing]:
    """Pairings the actor may see, filtered by program, state or member (an employee id)."""
    stmt = _pairings_query(actor, state=state, member_id=member_id)
    if program_id is not None:
        stmt = stmt.where(col(Pairing.program_id) == program_id)
    return await paginate(session, stmt, key=col(Pairing.id), limit=limit, cursor=cursor)


async def pairings_by_id(
    session: AsyncSession, actor: Actor, pairing_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Pairing]:
    """The pairings among ``pairing_ids`` the actor may see, in one query."""
    stmt = select(Pairing).where(col(Pairing.id).in_(list(pairing_ids)), pairings_visible_to(actor))
    return {p.id: p for p in await session.scalars(stmt)}


async def pairings_of_programs(
    session: AsyncSession,
    actor: Actor,
    program_ids: Collection[uuid.UUID],
    *,
    state: PairingState | None = None,
    member_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[uuid.UUID, Page[Pairing]]:
    """The first page of each program's pairings (as ``list_pairings`` filters them), in one
    query whatever the number of programs."""
    return await paginate_each(
        session,
        _pairings_query(actor, state=state, member_id=member_id, cursor=cursor),
        parent=col(Pairing.program_id),
        parents=program_ids,
        order_by=[col(Pairing.id)],
        limit=limit,
        cursor_of=lambda p: key_cursor(p.id),
    )


async def _load_for_change(
    session: AsyncSession, actor: Actor, pairing_id: uuid.UUID, expected_version: int | None
) -> Pairing:
    pairing = await get_pairing(session, actor, pairing_id)
    await lock_for_update(session, pairing)
    check_version(pairing.version, expected_version)
    return pairing


def _require_state(pairing: Pairing, allowed: tuple[PairingState, ...], action: str) -> None:
    if pairing.state not in allowed:
        names = ", ".join(s.value for s in allowed)
        raise Conflict(
            f"cannot {action} a pairing that is '{pairing.state}' (only when {names})",
            rule="pairing_transition",
            extra={"current_status": pairing.state},
        )


def _record(
    session: AsyncSession, actor: Actor, pairing: Pairing, action: str, **details: Any
) -> None:
    audit.record(
        session,
        actor,
        action=f"pairing.{action}",
        entity_type="pairing",
        entity_id=pairing.id,
        details={"program_id": str(pairing.program_id), "state": pairing.state, **details},
    )


async def accept_pairing(
    session: AsyncSession, actor: Actor, pairing_id: uuid.UUID, *, expected_version: int | None
) -> Pairing:
    """A member accepts; the pairing goes live once both have (the senior must approve)."""
    pairing = await _load_for_change(session, actor, pairing_id, expected_version)
    role = member_role(actor, pairing)
    if role is None:
        raise Forbidden("only the two members can accept a pairing", rule="member_only")
    _require_state(pairing, (PairingState.PROPOSED,), "accept")
    now = utcnow()
    if role == "mentor":
        pairing.mentor_accepted_at = pairing.mentor_accepted_at or now
    else:
        pairing.mentee_accepted_at = pairing.mentee_accepted_at or now
    if pairing.mentor_accepted_at and pairing.mentee_accepted_at:
        pairing.state = PairingState.ACTIVE.value
        pairing.activated_at = now
        pairing.expires_at = None
    touch(pairing)
    await session.flush()
    _record(session, actor, pairing, "accepted", by=role)
    return pairing


async def decline_pairing(
    session: AsyncSession,
    actor: Actor,
    pairing_id: uuid.UUID,
    *,
    reason: str | None,
    expected_version: int | None,
) -> Pairing:
    """A member declines a proposal; the pair is never proposed again in this program."""
    pairing = await _load_for_change(session, actor, pairing_id, expected_version)
    role = member_role(actor, pairing)
    if role is None:
        raise Forbidden("only the two members can decline a pairing", rule="member_only")
    _require_state(pairing, (PairingState.PROPOSED,), "decline")
    pairing.state = PairingState.DECLINED.value
    pairing.declined_by = role
    pairing.decline_reason = reason
    pairing.closed_at = utcnow()
    pairing.expires_at = None
    touch(pairing)
    await session.flush()
    _record(session, actor, pairing, "declined", by=role)
    return pairing


def _member_or_manager(actor: Actor, pairing: Pairing, action: str) -> str:
    role = member_role(actor, pairing)
    if role is not None:
        return role
    if actor.manages(pairing.program_id):
        return "program_manager"
    raise Forbidden(
        f"only the members or the program's managers can {action} a pairing",
        rule="member_or_manager",
    )


async def pause_pairing(
    session: AsyncSession, actor: Actor, pairing_id: uuid.UUID, *, expected_version: int | None
) -> Pairing:
    """Pause an active pairing (a member or the program's managers)."""
    pairing = await _load_for_change(session, actor, pairing_id, expected_version)
    by = _member_or_manager(actor, pairing, "pause")
    _require_state(pairing, (PairingState.ACTIVE,), "pause")
    pairing.state = PairingState.PAUSED.value
    pairing.paused_at = utcnow()
    touch(pairing)
    await session.flush()
    _record(session, actor, pairing, "paused", by=by)
    return pairing


async def resume_pairing(
    session: AsyncSession, actor: Actor, pairing_id: uuid.UUID, *, expected_version: int | None
) -> Pairing:
    """Resume a paused pairing."""
    pairing = await _load_for_change(session, actor, pairing_id, expected_version)
    by = _member_or_manager(actor, pairing, "resume")
    _require_state(pairing, (PairingState.PAUSED,), "resume")
    pairing.state = PairingState.ACTIVE.value
    pairing.paused_at = None
    pairing.resumed_at = utcnow()
    touch(pairing)
    await session.flush()
    _record(session, actor, pairing, "resumed", by=by)
    return pairing


async def complete_pairing(
    session: AsyncSession, actor: Actor, pairing_id: uuid.UUID, *, expected_version: int | None
) -> Pairing:
    """Mark a pairing completed (the program's managers; it also happens by itself at the end
    of the pairing length)."""
    pairing = await _load_for_change(session, actor, pairing_id, expected_version)
    if not actor.manages(pairing.program_id):
        raise Forbidden(
            "only the program's managers can complete a pairing", rule="program_manager"
        )
    _require_state(pairing, (PairingState.ACTIVE, PairingState.PAUSED), "complete")
    pairing.state = PairingState.COMPLETED.value
    pairing.closed_at = utcnow()
    touch(pairing)
    await session.flush()
    _record(session, actor, pairing, "completed")
    return pairing


async def end_pairing(
    session: AsyncSession,
    actor: Actor,
    pairing_id: uuid.UUID,
    *,
    data: EndIn,
    expected_version: int | None,
) -> Pairing:
    """A no-fault early exit by a member or a program manager. The note is confidential."""
    pairing = await _load_for_change(session, actor, pairing_id, expected_version)
    by = _member_or_manager(actor, pairing, "end")
    _require_state(pairing, (PairingState.ACTIVE, PairingState.PAUSED), "end")
    pairing.state = PairingState.ENDED.value
    pairing.ended_by = by
    pairing.end_reason = data.reason.value
    pairing.end_note = data.note
    pairing.closed_at = utcnow()
    touch(pairing)
    await session.flush()
    # The audit entry names the reason category, never the note.
    _record(session, actor, pairing, "ended", by=by, reason=data.reason.value)
    return pairing


async def _enrollment_in(
    session: AsyncSession, program_id: uuid.UUID, enrollment_id: uuid.UUID, role: str, field: str
) -> Enrollment:
    enrollment = await session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.program_id != program_id:
        raise RuleViolation(
            f"enrollment {enrollment_id} is not in this program", field=field, rule="same_program"
        )
    if enrollment.role != role:
        raise RuleViolation(
            f"enrollment {enrollment_id} is not a {role}", field=field, rule="pairing_roles"
        )
    if enrollment.status != "active":
        raise RuleViolation(
            f"enrollment {enrollment_id} is withdrawn", field=field, rule="enrollment_active"
        )
    return enrollment


async def check_pair(
    session: AsyncSession,
    program: Program,
    mentor: Enrollment,
    mentee: Enrollment,
    *,
    reveal_reasons: bool = True,
) -> tuple[float, tuple[CriterionScore, ...]]:
    """Hard rules for one pair (refused as a rule violation) and its score."""
    mentor_c, mentee_c = await load_candidates(session, [mentor, mentee])
    settings = engine_settings(program)
    excluded = await excluded_pairs(session, program.id, [mentor.employee_id, mentee.employee_id])
    violations = hard_rule_violations(mentor_c, mentee_c, settings, excluded)
    if violations:
        rules = [v.rule for v in violations]
        if not reveal_reasons or "excluded" in rules:
            # Blocks are never revealed; a refused pair looks the same whatever the reason.
            raise RuleViolation(
                "these two people cannot be paired in this program", rule="not_eligible"
            )
        raise RuleViolation(
            "hard rules not met: " + "; ".join(v.text for v in violations),
            rule=violations[0].rule,
            extra={"rules": rules},
        )
    return score_pair(mentor_c, mentee_c, settings)


async def open_pairing(
    session: AsyncSession,
    actor: Actor,
    *,
    program: Program,
    mentor: Enrollment,
    mentee: Enrollment,
    origin: str,
    score: float,
    explanation: list[dict[str, Any]],
    accepted_by: tuple[str, ...] = (),
    justification: str | None = None,
    matching_run_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Pairing:
    """Create a pairing (proposed, or active when both have already said yes)."""
    now = now or utcnow()
    both = {"mentor", "mentee"} <= set(accepted_by)
    pairing = Pairing(
        program_id=program.id,
        mentor_enrollment_id=mentor.id,
        mentee_enrollment_id=mentee.id,
        mentor_employee_id=mentor.employee_id,
        mentee_employee_id=mentee.employee_id,
        state=PairingState.ACTIVE.value if both else PairingState.PROPOSED.value,
        origin=origin,
        matching_run_id=matching_run_id,
        score=score,
        explanation=explanation,
        justification=justification,
        mentor_accepted_at=now if "mentor" in accepted_by else None,
        mentee_accepted_at=now if "mentee" in accepted_by else None,
        activated_at=now if both else None,
        expires_at=None if both else now + timedelta(days=program.acceptance_window_days),
    )
    session.add(pairing)
    return pairing


async def ensure_free(session: AsyncSession, mentor: Enrollment, mentee: Enrollment) -> None:
    """A mentee is in one open pairing per program; a mentor in at most ``capacity``."""
    mentee_open = await session.scalar(
        select(col(Pairing.id)).where(
            col(Pairing.mentee_enrollment_id) == mentee.id,
            col(Pairing.state).in_(OPEN_PAIRING_STATES),
        )
    )
    if mentee_open is not None:
        raise Conflict(
            "the mentee already has an open pairing in this program", rule="mentee_single_pairing"
        )
    mentor_open = list(
        (
            await session.execute(
                select(col(Pairing.id)).where(
                    col(Pairing.mentor_enrollment_id) == mentor.id,
                    col(Pairing.state).in_(OPEN_PAIRING_STATES),
                )
            )
        ).scalars()
    )
    if len(mentor_open) >= (mentor.capacity or 1):
        raise Conflict("the mentor has no free capacity", rule="mentor_capacity")


async def flush_pairing(session: AsyncSession) -> None:
    """Flush, turning a lost race on the one-open-pairing-per-mentee index into a conflict."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "the mentee already has an open pairing in this program", rule="mentee_single_pairing"
        ) from exc


async def pair_manually(
    session: AsyncSession, actor: Actor, *, data: ManualPairingCreate
) -> Pairing:
    """Pair two participants by hand (program managers and admins). Hard rules always apply;
    a low score needs a recorded justification."""
    program = await get_program(session, actor, data.program_id)
    if not actor.manages(program.id):
        raise Forbidden("only the program's managers can pair people", rule="program_manager")
    await lock_for_update(session, program)
    if program.status not in PAIRING_PROGRAM_STATUSES:
        raise Conflict(
            f"the program is '{program.status}'; pairings are made while it is matching or active",
            rule="program_pairing",
            extra={"current_status": program.status},
        )
    mentor = await _enrollment_in(
        session, program.id, data.mentor_enrollment_id, "mentor", "mentor_enrollment_id"
    )
    mentee = await _enrollment_in(
        session, program.id, data.mentee_enrollment_id, "mentee", "mentee_enrollment_id"
    )
    await ensure_free(session, mentor, mentee)
    score, explanation = await check_pair(session, program, mentor, mentee)
    if score < program.min_match_score and not (data.justification or "").strip():
        raise RuleViolation(
            f"this pair scores {score:.1f}, below the program's minimum of "
            f"{program.min_match_score:.1f}; give a justification to override it",
            field="justification",
            rule="justification_required",
        )
    pairing = await open_pairing(
        session,
        actor,
        program=program,
        mentor=mentor,
        mentee=mentee,
        origin="manual",
        score=score,
        explanation=explanation_json(explanation),
        justification=data.justification,
    )
    await flush_pairing(session)
    _record(
        session,
        actor,
        pairing,
        "created",
        origin="manual",
        score=score,
        overridden=score < program.min_match_score,
    )
    return pairing


async def expire_overdue_pairings(session: AsyncSession, actor: Actor) -> int:
    """Expire proposals nobody accepted in time. Idempotent and safe on every instance at once
    (rows are locked and skipped when another instance holds them)."""
    now = utcnow()
    stmt = (
        select(Pairing)
        .where(col(Pairing.state) == PairingState.PROPOSED.value, col(Pairing.expires_at) <= now)
        .with_for_update(skip_locked=True)
        .limit(1000)
    )
    pairings = list((await session.execute(stmt)).scalars())
    for pairing in pairings:
        pairing.state = PairingState.EXPIRED.value
        pairing.closed_at = now
        touch(pairing)
        _record(session, actor, pairing, "expired")
    await session.flush()
    return len(pairings)


async def complete_finished_pairings(
    session: AsyncSession, actor: Actor, *, batch: int = 500
) -> int:
    """Complete pairings that have run their program's pairing length. Only the pairings due
    are read (one query per program, a cut-off date per program), a batch at a time, so the
    sweep costs nothing when nothing is due however many pairings are live."""
    now = utcnow()
    lengths = (
        await session.execute(
            select(col(Program.id), col(Program.pairing_length_weeks)).where(
                col(Program.id).in_(
                    select(col(Pairing.program_id)).where(
                        col(Pairing.state).in_(
                            (PairingState.ACTIVE.value, PairingState.PAUSED.value)
                        )
                    )
                )
            )
        )
    ).all()
    done = 0
    for program_id, weeks in lengths:
        stmt = (
            select(Pairing)
            .where(
                col(Pairing.program_id) == program_id,
                col(Pairing.state).in_((PairingState.ACTIVE.value, PairingState.PAUSED.value)),
                col(Pairing.activated_at) <= now - timedelta(weeks=weeks),
            )
            .with_for_update(skip_locked=True)
            .limit(batch)
        )
        for pairing in (await session.execute(stmt)).scalars():
            pairing.state = PairingState.COMPLETED.value
            pairing.closed_at = now
            touch(pairing)
            _record(session, actor, pairing, "completed", automatically=True)
            done += 1
    await session.flush()
    return done
