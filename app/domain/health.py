"""Pairing health: is a live pairing going well, and if not, why.

Computed on read from a handful of grouped queries, so a whole program's pairings are assessed
at the cost of one page: no stored flags to go stale, nothing for a scheduler to keep in step.

The reasons, and what they weigh:

| reason | when | status |
| --- | --- | --- |
| ``overdue_check_in`` | 2 cadences since the last check-in, go-live or resume | at risk |
| ``low_ratings`` | 10% trimmed mean of the last 3 feedback entries' ratings <= 2.5 | at risk |
| ``open_concern`` | a concern not yet resolved (the program team only) | at risk |
| ``goals_past_target`` | a goal past its target date, neither achieved nor dropped | attention |
| ``ending_without_achievement`` | ends within 14 days and no goal achieved yet | attention |
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import CheckIn, Concern, Feedback, Goal, Pairing, Program
from app.db.pagination import Page, check_limit, decode_cursor, encode_cursor
from app.db.types import utcnow
from app.domain.access import access_to, is_reader, pairing_access
from app.domain.actors import Actor
from app.domain.checkins import cadence_start
from app.domain.concerns import OPEN_CONCERN_STATUSES
from app.domain.errors import Conflict, Forbidden
from app.domain.feedback import RATING_COLUMNS, trimmed_mean
from app.domain.goals import CLOSED_GOAL_STATUSES
from app.domain.pairings import pairings_by_id
from app.domain.programs import get_program, programs_by_id

#: The trimmed mean of recent ratings at or below which a pairing is at risk.
LOW_RATING = 2.5
#: How many of the latest feedback entries the rating check looks at.
RECENT_FEEDBACK = 3
#: A pairing this close to its end with nothing achieved needs attention.
ENDING_SOON = timedelta(days=14)
#: A check-in is overdue (for health) after this many cadences without one.
OVERDUE_CADENCES = 2


class HealthStatus(StrEnum):
    HEALTHY = "healthy"
    NEEDS_ATTENTION = "needs_attention"
    AT_RISK = "at_risk"


class ReasonCode(StrEnum):
    OVERDUE_CHECK_IN = "overdue_check_in"
    LOW_RATINGS = "low_ratings"
    OPEN_CONCERN = "open_concern"
    GOALS_PAST_TARGET = "goals_past_target"
    ENDING_WITHOUT_ACHIEVEMENT = "ending_without_achievement"


AT_RISK_REASONS = frozenset(
    {ReasonCode.OVERDUE_CHECK_IN, ReasonCode.LOW_RATINGS, ReasonCode.OPEN_CONCERN}
)


class HealthReason(BaseModel):
    code: ReasonCode
    detail: str


class PairingHealth(BaseModel):
    pairing_id: uuid.UUID
    program_id: uuid.UUID
    mentor_employee_id: uuid.UUID
    mentee_employee_id: uuid.UUID
    status: HealthStatus
    reasons: list[HealthReason]
    activated_at: datetime | None
    ends_on: date | None
    check_ins: int
    last_check_in_on: date | None
    next_check_in_due_on: date | None
    goals: int
    goals_achieved: int


@dataclass
class PairingFacts:
    """What the health rules read about one pairing, gathered by grouped queries."""

    pairing_id: uuid.UUID
    program_id: uuid.UUID
    mentor_employee_id: uuid.UUID
    mentee_employee_id: uuid.UUID
    state: str
    activated_at: datetime | None
    resumed_at: datetime | None = None
    check_ins: int = 0
    last_met_on: date | None = None
    goals: int = 0
    goals_achieved: int = 0
    goals_past_target: int = 0
    open_concerns: int = 0
    recent_ratings: dict[int, int] = field(default_factory=dict)
    recent_entries: int = 0


def facts_statement(scope: ColumnElement[bool], today: date) -> Select[Any]:
    """One row per pairing matching ``scope`` (a filter on ``Pairing``) with its check-in,
    goal and concern counts, each aggregated once in a grouped subquery."""
    check_ins = (
        select(
            col(CheckIn.pairing_id).label("pairing_id"),
            func.count().label("n"),
            func.max(col(CheckIn.met_on)).label("last_met_on"),
        )
        .join(Pairing, col(Pairing.id) == col(CheckIn.pairing_id))
        .where(scope)
        .group_by(col(CheckIn.pairing_id))
        .subquery()
    )
    goals = (
        select(
            col(Goal.pairing_id).label("pairing_id"),
            func.count().label("n"),
            func.sum(case((col(Goal.status) == "achieved", 1), else_=0)).label("achieved"),
            func.sum(
                case(
                    (
                        and_(
                            col(Goal.target_date) < today,
                            col(Goal.status).not_in(CLOSED_GOAL_STATUSES),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label("past_target"),
        )
        .join(Pairing, col(Pairing.id) == col(Goal.pairing_id))
        .where(scope)
        .group_by(col(Goal.pairing_id))
        .subquery()
    )
    concerns = (
        select(col(Concern.pairing_id).label("pairing_id"), func.count().label("n"))
        .join(Pairing, col(Pairing.id) == col(Concern.pairing_id))
        .where(scope, col(Concern.status).in_(OPEN_CONCERN_STATUSES))
        .group_by(col(Concern.pairing_id))
        .subquery()
    )
    return (
        select(
            col(Pairing.id),
            col(Pairing.program_id),
            col(Pairing.mentor_employee_id),
            col(Pairing.mentee_employee_id),
            col(Pairing.state),
            col(Pairing.activated_at),
            col(Pairing.resumed_at),
            func.coalesce(check_ins.c.n, 0),
            check_ins.c.last_met_on,
            func.coalesce(goals.c.n, 0),
            func.coalesce(goals.c.achieved, 0),
            func.coalesce(goals.c.past_target, 0),
            func.coalesce(concerns.c.n, 0),
        )
        .outerjoin(check_ins, check_ins.c.pairing_id == col(Pairing.id))
        .outerjoin(goals, goals.c.pairing_id == col(Pairing.id))
        .outerjoin(concerns, concerns.c.pairing_id == col(Pairing.id))
        .where(scope)
        .order_by(col(Pairing.id))
    )


def recent_ratings_statement(scope: ColumnElement[bool]) -> Select[Any]:
    """The ratings of each pairing's latest feedback entries (at most ``RECENT_FEEDBACK``)."""
    ranked = (
        select(
            col(Feedback.pairing_id).label("pairing_id"),
            *(getattr(Feedback, c) for c in RATING_COLUMNS.values()),
            func.row_number()
            .over(
                partition_by=col(Feedback.pairing_id),
                order_by=(col(Feedback.created_at).desc(), col(Feedback.id).desc()),
            )
            .label("rank"),
        )
        .join(Pairing, col(Pairing.id) == col(Feedback.pairing_id))
        .where(scope)
        .subquery()
    )
    columns = [ranked.c[c] for c in RATING_COLUMNS.values()]
    return select(ranked.c.pairing_id, *columns).where(ranked.c.rank <= RECENT_FEEDBACK)


async def gather_facts(
    session: AsyncSession, scope: ColumnElement[bool], today: date
) -> list[PairingFacts]:
    """The facts of every pairing in ``scope``, in two statements whatever their number."""
    facts: dict[uuid.UUID, PairingFacts] = {}
    for row in (await session.execute(facts_statement(scope, today))).all():
        facts[row[0]] = PairingFacts(
            pairing_id=row[0],
            program_id=row[1],
            mentor_employee_id=row[2],
            mentee_employee_id=row[3],
            state=row[4],
            activated_at=row[5],
            resumed_at=row[6],
            check_ins=int(row[7]),
            last_met_on=row[8],
            goals=int(row[9]),
            goals_achieved=int(row[10]),
            goals_past_target=int(row[11]),
            open_concerns=int(row[12]),
        )
    for row in (await session.execute(recent_ratings_statement(scope))).all():
        f = facts.get(row[0])
        if f is None:  # pragma: no cover - a pairing created between the two statements
            continue
        f.recent_entries += 1
        for rating in row[1:]:
            f.recent_ratings[rating] = f.recent_ratings.get(rating, 0) + 1
    return list(facts.values())


def assess(
    facts: PairingFacts,
    program: Program,
    today: date,
    *,
    with_concerns: bool,
) -> PairingHealth:
    """Apply the health rules to one pairing's facts. ``with_concerns=False`` leaves the
    concern reason out entirely (the status is then what the other reasons say)."""
    reasons: list[HealthReason] = []
    activated = facts.activated_at.date() if facts.activated_at else None
    due: date | None = None
    ends_on: date | None = None
    if activated is not None:
        since = cadence_start(activated, facts.last_met_on, facts.resumed_at)
        due = since + timedelta(days=program.meeting_cadence_days)
        limit = since + timedelta(days=OVERDUE_CADENCES * program.meeting_cadence_days)
        if today > limit:
            if since == facts.last_met_on:
                last = f"since {since.isoformat()}"
            elif since == activated:
                last = f"since the pairing went live on {since.isoformat()}"
            else:
                last = f"since the pairing resumed on {since.isoformat()}"
            reasons.append(
                HealthReason(
                    code=ReasonCode.OVERDUE_CHECK_IN,
                    detail=f"no check-in {last}; the cadence is every "
                    f"{program.meeting_cadence_days} days",
                )
            )
        ends_on = activated + timedelta(weeks=program.pairing_length_weeks)
    mean = trimmed_mean(facts.recent_ratings)
    if mean is not None and mean <= LOW_RATING:
        reasons.append(
            HealthReason(
                code=ReasonCode.LOW_RATINGS,
                detail=f"recent ratings average {mean:.2f} (trimmed mean of the last "
                f"{facts.recent_entries} feedback entries)",
            )
        )
    if with_concerns and facts.open_concerns:
        reasons.append(
            HealthReason(
                code=ReasonCode.OPEN_CONCERN,
                detail=f"{facts.open_concerns} concern(s) not yet resolved",
            )
        )
    if facts.goals_past_target:
        reasons.append(
            HealthReason(
                code=ReasonCode.GOALS_PAST_TARGET,
                detail=f"{facts.goals_past_target} goal(s) past their target date",
            )
        )
    if ends_on is not None and ends_on - today <= ENDING_SOON and not facts.goals_achieved:
        reasons.append(
            HealthReason(
                code=ReasonCode.ENDING_WITHOUT_ACHIEVEMENT,
                detail=f"ends on {ends_on.isoformat()} with no goal achieved",
            )
        )
    if any(r.code in AT_RISK_REASONS for r in reasons):
        status = HealthStatus.AT_RISK
    elif reasons:
        status = HealthStatus.NEEDS_ATTENTION
    else:
        status = HealthStatus.HEALTHY
    return PairingHealth(
        pairing_id=facts.pairing_id,
        program_id=facts.program_id,
        mentor_employee_id=facts.mentor_employee_id,
        mentee_employee_id=facts.mentee_employee_id,
        status=status,
        reasons=reasons,
        activated_at=facts.activated_at,
        ends_on=ends_on,
        check_ins=facts.check_ins,
        last_check_in_on=facts.last_met_on,
        next_check_in_due_on=due,
        goals=facts.goals,
        goals_achieved=facts.goals_achieved,
    )


def sees_concerns(actor: Actor, program_id: uuid.UUID, facts: PairingFacts) -> bool:
    """The program team sees the concern reason, except on a pairing they are in."""
    member = actor.is_employee(facts.mentor_employee_id) or actor.is_employee(
        facts.mentee_employee_id
    )
    return actor.manages(program_id) and not member


def require_overseer(actor: Actor, program: Program) -> None:
    if not (actor.manages(program.id) or is_reader(actor)):
        raise Forbidden(
            "pairing health and reports are for the program's managers, admins and readers",
            rule="program_team",
        )


def assess_all(
    actor: Actor, program: Program, facts: Iterable[PairingFacts], today: date
) -> list[PairingHealth]:
    return [
        assess(f, program, today, with_concerns=sees_concerns(actor, program.id, f)) for f in facts
    ]


async def get_pairing_health(
    session: AsyncSession, actor: Actor, pairing_id: uuid.UUID
) -> PairingHealth:
    """The health of one active pairing (the program team and readers)."""
    access = await pairing_access(session, actor, pairing_id)
    access.require_overseer("read pairing health")
    if access.pairing.state != "active":
        raise Conflict(
            f"health is tracked for active pairings; this one is '{access.pairing.state}'",
            rule="pairing_live",
            extra={"current_status": access.pairing.state},
        )
    program = await session.get(Program, access.pairing.program_id)
    assert program is not None
    today = utcnow().date()
    facts = await gather_facts(session, col(Pairing.id) == pairing_id, today)
    return assess_all(actor, program, facts, today)[0]


async def list_program_health(
    session: AsyncSession,
    actor: Actor,
    program_id: uuid.UUID,
    *,
    status: HealthStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[PairingHealth]:
    """The health of a program's active pairings, filtered by status, in pairing order."""
    program = await get_program(session, actor, program_id)
    require_overseer(actor, program)
    check_limit(limit)
    after = decode_cursor(cursor) if cursor else None
    today = utcnow().date()
    scope = and_(col(Pairing.program_id) == program_id, col(Pairing.state) == "active")
    assessed = assess_all(actor, program, await gather_facts(session, scope, today), today)
    return _health_page(assessed, status=status, after=after, limit=limit)


def _health_page(
    assessed: Sequence[PairingHealth],
    *,
    status: HealthStatus | None,
    after: uuid.UUID | None,
    limit: int,
) -> Page[PairingHealth]:
    """One page of assessed pairings (in pairing order), filtered by status."""
    chosen = [
        h
        for h in assessed
        if (status is None or h.status is status) and (after is None or h.pairing_id > after)
    ]
    items = chosen[:limit]
    next_cursor = encode_cursor(items[-1].pairing_id) if len(chosen) > limit else None
    return Page(items=items, next_cursor=next_cursor)


async def health_of_pairings(
    session: AsyncSession, actor: Actor, pairing_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, PairingHealth | Forbidden]:
    """The health of each pairing as ``get_pairing_health`` reads it, or the refusal it would
    answer, in a fixed number of queries whatever the number of pairings. Pairings that are
    not active have no health and are left out."""
    out: dict[uuid.UUID, PairingHealth | Forbidden] = {}
    live: list[Pairing] = []
    for pairing in (await pairings_by_id(session, actor, pairing_ids)).values():
        try:
            access_to(actor, pairing).require_overseer("read pairing health")
        except Forbidden as refusal:
            out[pairing.id] = refusal
            continue
        if pairing.state == "active":
            live.append(pairing)
    if not live:
        return out
    programs = {
        p.id: p
        for p in await session.scalars(
            select(Program).where(col(Program.id).in_({p.program_id for p in live}))
        )
    }
    today = utcnow().date()
    for f in await gather_facts(session, col(Pairing.id).in_([p.id for p in live]), today):
        program = programs[f.program_id]
        out[f.pairing_id] = assess(
            f, program, today, with_concerns=sees_concerns(actor, program.id, f)
        )
    return out


async def health_of_programs(
    session: AsyncSession,
    actor: Actor,
    program_ids: Collection[uuid.UUID],
    *,
    status: HealthStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[uuid.UUID, Page[PairingHealth] | Forbidden]:
    """The first page of each program's pairing health (as ``list_program_health``), or the
    refusal it would answer, in a fixed number of queries whatever the number of programs."""
    check_limit(limit)
    after = decode_cursor(cursor) if cursor else None
    out: dict[uuid.UUID, Page[PairingHealth] | Forbidden] = {}
    overseen: dict[uuid.UUID, Program] = {}
    for program in (await programs_by_id(session, actor, program_ids)).values():
        try:
            require_overseer(actor, program)
        except Forbidden as refusal:
            out[program.id] = refusal
            continue
        overseen[program.id] = program
    if not overseen:
        return out
    today = utcnow().date()
    scope = and_(col(Pairing.program_id).in_(list(overseen)), col(Pairing.state) == "active")
    facts: dict[uuid.UUID, list[PairingFacts]] = defaultdict(list)
    for f in await gather_facts(session, scope, today):
        facts[f.program_id].append(f)
    for program_id, program in overseen.items():
        assessed = assess_all(actor, program, facts[program_id], today)
        out[program_id] = _health_page(assessed, status=status, after=after, limit=limit)
    return out
