"""Program reports: participation, matching, meetings, goals, satisfaction and risk.

Everything is aggregated in the database by a fixed number of grouped queries, whatever the
size of the program. Aggregates over people follow one privacy rule: a figure about fewer than
``MIN_GROUP`` (3) people is suppressed (``null`` with ``suppressed: true``), never rounded or
approximated. In breakdowns a second rule applies: when the suppressed groups of a breakdown
add up to 1 or 2 people, the next smallest groups are suppressed too, so that subtracting the
shown groups from the programme total cannot recover a small group. Department and level band
are the employee's current ones.
"""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, case, func, literal, select, union, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Bundle, aliased
from sqlmodel import col

from app.db.models import CheckIn, Employee, Enrollment, Feedback, Goal, Pairing, Program
from app.db.types import utcnow
from app.domain.actors import Actor
from app.domain.errors import Forbidden
from app.domain.feedback import DIMENSIONS, MIN_GROUP, RATING_COLUMNS, TRIM, trimmed_mean
from app.domain.health import (
    HealthStatus,
    PairingFacts,
    PairingHealth,
    assess_all,
    gather_facts,
    require_overseer,
)
from app.domain.programs import get_program, programs_by_id

#: Job-level bands for breakdowns: (lowest, highest or None, label).
LEVEL_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 2, "0-2"),
    (3, 5, "3-5"),
    (6, 8, "6-8"),
    (9, 11, "9-11"),
    (12, None, "12+"),
)
NO_DEPARTMENT = "(none)"
SECONDS_PER_DAY = 86400.0
#: Pairings written to the CSV per database round trip.
CSV_BATCH = 1000


def level_band(level: int) -> str:
    for low, high, label in LEVEL_BANDS:
        if level >= low and (high is None or level <= high):
            return label
    return LEVEL_BANDS[0][2]  # pragma: no cover - levels are never negative


def level_band_sql(level: Any) -> Any:
    """``level_band`` as a SQL expression."""
    return case(
        *((level <= high, label) for _, high, label in LEVEL_BANDS if high is not None),
        else_=LEVEL_BANDS[-1][2],
    )


def department_sql(department: Any) -> Any:
    return func.coalesce(department, NO_DEPARTMENT)


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


class Participation(BaseModel):
    enrolled: int = Field(description="Active enrollments.")
    withdrawn: int
    mentors: int
    mentees: int
    matched: int = Field(
        description="People whose pairing went live (including any who withdrew since)."
    )


class PairingCounts(BaseModel):
    proposed: int = 0
    active: int = 0
    paused: int = 0
    completed: int = 0
    ended: int = 0
    declined: int = 0
    expired: int = 0


class Score(BaseModel):
    """A 10% trimmed mean of 1-5 ratings, or suppressed."""

    dimension: str
    score: float | None
    respondents: int | None
    suppressed: bool


class Rate(BaseModel):
    rate: float | None
    respondents: int | None
    suppressed: bool


class GroupRow(BaseModel):
    group: str
    suppressed: bool = Field(description="Fewer than 3 people (or hidden to protect another).")
    participants: int | None = Field(
        description="Everyone who enrolled in the program, withdrawn included."
    )
    matched: int | None = Field(description="Of them, those whose pairing went live.")
    satisfaction: list[Score] | None
    would_take_part_again: Rate | None


class HealthCounts(BaseModel):
    healthy: int = 0
    needs_attention: int = 0
    at_risk: int = 0


class ProgramReport(BaseModel):
    program_id: uuid.UUID
    program_name: str
    program_status: str
    generated_at: datetime
    min_group_size: int = MIN_GROUP
    trim: float = Field(TRIM, description="Share cut from each end of the ratings.")
    participation: Participation
    pairings: PairingCounts
    acceptance_rate: float | None = Field(
        description="Proposals that went live, of those decided (live, declined or expired)."
    )
    median_days_to_active_pairing: float | None = Field(
        description="From enrolling to one's first live pairing (suppressed below 3 people)."
    )
    median_days_suppressed: bool = Field(
        description="True when fewer than 3 people went live (the median is then null)."
    )
    check_ins: int
    check_ins_per_pairing: float | None = Field(description="Per pairing that went live.")
    goals: int
    goals_achieved: int
    goal_completion_rate: float | None
    satisfaction: list[Score]
    would_take_part_again: Rate
    health: HealthCounts
    at_risk: list[PairingHealth] = Field(
        description="Active pairings that are at risk or need attention, at risk first."
    )
    by_department: list[GroupRow]
    by_level_band: list[GroupRow]


def suppress(sizes: Mapping[str, int], forced: set[str] | None = None) -> set[str]:
    """Groups to hide: those below ``MIN_GROUP``, those ``forced``, then the smallest others
    until the hidden ones together are nobody or at least ``MIN_GROUP`` people."""
    hidden = set(forced or ()) | {g for g, n in sizes.items() if n < MIN_GROUP}
    while 0 < sum(sizes.get(g, 0) for g in hidden) < MIN_GROUP:
        visible = sorted((n, g) for g, n in sizes.items() if g not in hidden)
        if not visible:
            break
        hidden.add(visible[0][1])
    return hidden


@dataclass
class _Cell:
    """The figures of one (department, level band) cell; groups sum cells."""

    participants: int = 0
    matched: int = 0
    respondents: int = 0
    again_respondents: int = 0
    again_yes: int = 0
    again_answers: int = 0
    ratings: dict[str, dict[int, int]] = field(
        default_factory=lambda: {d.value: {} for d in DIMENSIONS}
    )

    def add(self, other: _Cell) -> None:
        self.participants += other.participants
        self.matched += other.matched
        self.respondents += other.respondents
        self.again_respondents += other.again_respondents
        self.again_yes += other.again_yes
        self.again_answers += other.again_answers
        for dim, histogram in other.ratings.items():
            mine = self.ratings[dim]
            for value, count in histogram.items():
                mine[value] = mine.get(value, 0) + count


def _scores(cell: _Cell, hidden: bool) -> list[Score]:
    return [
        Score(
            dimension=d.value,
            score=None if hidden else trimmed_mean(cell.ratings[d.value]),
            respondents=None if hidden else cell.respondents,
            suppressed=hidden,
        )
        for d in DIMENSIONS
    ]


def _rate(cell: _Cell, hidden: bool) -> Rate:
    if hidden or not cell.again_answers:
        return Rate(
            rate=None, respondents=None if hidden else cell.again_respondents, suppressed=hidden
        )
    return Rate(
        rate=cell.again_yes / cell.again_answers,
        respondents=cell.again_respondents,
        suppressed=False,
    )


def _breakdown(
    cells: Mapping[tuple[str, str], _Cell], key: Callable[[str, str], str]
) -> list[GroupRow]:
    groups: dict[str, _Cell] = defaultdict(_Cell)
    for (department, band), cell in cells.items():
        groups[key(department, band)].add(cell)
    people = suppress({g: c.participants for g, c in groups.items()})
    rated = suppress({g: c.respondents for g, c in groups.items()}, forced=people)
    again = suppress({g: c.again_respondents for g, c in groups.items()}, forced=people)
    return [
        GroupRow(
            group=name,
            suppressed=name in people,
            participants=None if name in people else cell.participants,
            matched=None if name in people else cell.matched,
            satisfaction=None if name in people else _scores(cell, name in rated),
            would_take_part_again=None if name in people else _rate(cell, name in again),
        )
        for name, cell in sorted(groups.items())
    ]


def report_statements(program_ids: Collection[uuid.UUID]) -> dict[str, Any]:
    """The aggregate queries of the reports of ``program_ids``, by name; each row starts with
    its program's id (the benchmark runs them bare)."""
    ids = list(program_ids)
    author = aliased(Employee)
    went_live = col(Pairing.activated_at).is_not(None)
    in_programs = col(Pairing.program_id).in_(ids)
    matched = union(
        select(col(Pairing.mentor_enrollment_id)).where(in_programs, went_live),
        select(col(Pairing.mentee_enrollment_id)).where(in_programs, went_live),
    ).subquery()
    dept, band = department_sql(col(Employee.department)), level_band_sql(col(Employee.job_level))
    a_dept, a_band = department_sql(author.department), level_band_sql(author.job_level)
    feedback_program = col(Feedback.program_id)
    feedback_by_author = and_(
        feedback_program.in_(ids), col(author.id) == col(Feedback.author_employee_id)
    )
    histograms = union_all(
        *(
            select(
                feedback_program,
                a_dept,
                a_band,
                literal(d.value),
                getattr(Feedback, RATING_COLUMNS[d]),
                func.count(),
            )
            .select_from(Feedback)
            .join(author, feedback_by_author)
            .group_by(feedback_program, a_dept, a_band, getattr(Feedback, RATING_COLUMNS[d]))
            for d in DIMENSIONS
        )
    )
    time_to_live = union_all(
        *(
            select(
                col(Enrollment.program_id),
                col(Enrollment.created_at),
                func.min(col(Pairing.activated_at)),
            )
            .join(
                Pairing,
                col(Pairing.mentor_enrollment_id if side else Pairing.mentee_enrollment_id)
                == col(Enrollment.id),
            )
            # Both program filters (a pairing's enrollments are in its program): with only the
            # enrollment's, SQLite scans every pairing for the mentee side, which has no index.
            .where(col(Enrollment.program_id).in_(ids), in_programs, went_live)
            .group_by(col(Enrollment.id), col(Enrollment.program_id), col(Enrollment.created_at))
            for side in (True, False)
        )
    )
    return {
        "participants": select(
            col(Enrollment.program_id),
            dept,
            band,
            col(Enrollment.role),
            col(Enrollment.status),
            func.count(),
            func.sum(case((col(Enrollment.id).in_(select(matched.c[0])), 1), else_=0)),
        )
        .join(Employee, col(Employee.id) == col(Enrollment.employee_id))
        .where(col(Enrollment.program_id).in_(ids))
        .group_by(
            col(Enrollment.program_id), dept, band, col(Enrollment.role), col(Enrollment.status)
        ),
        "ratings": histograms,
        "respondents": select(
            feedback_program,
            a_dept,
            a_band,
            func.count(func.distinct(col(Feedback.author_employee_id))),
        )
        .select_from(Feedback)
        .join(author, feedback_by_author)
        .group_by(feedback_program, a_dept, a_band),
        "take_part_again": select(
            feedback_program,
            a_dept,
            a_band,
            func.count(func.distinct(col(Feedback.author_employee_id))),
            func.sum(case((col(Feedback.would_take_part_again).is_(True), 1), else_=0)),
            func.count(col(Feedback.would_take_part_again)),
        )
        .select_from(Feedback)
        .join(author, feedback_by_author)
        .where(col(Feedback.kind) == "end")
        .group_by(feedback_program, a_dept, a_band),
        "pairings": select(
            col(Pairing.program_id),
            col(Pairing.state),
            func.count(),
            func.count(col(Pairing.activated_at)),
        )
        .where(in_programs)
        .group_by(col(Pairing.program_id), col(Pairing.state)),
        "time_to_live": time_to_live,
        "check_ins": select(col(CheckIn.program_id), func.count())
        .where(col(CheckIn.program_id).in_(ids))
        .group_by(col(CheckIn.program_id)),
        "goals": select(
            col(Goal.program_id),
            func.count(),
            func.sum(case((col(Goal.status) == "achieved", 1), else_=0)),
        )
        .where(col(Goal.program_id).in_(ids))
        .group_by(col(Goal.program_id)),
    }


@dataclass
class _Figures:
    """What the aggregate queries found about one program."""

    today: date
    cells: defaultdict[tuple[str, str], _Cell] = field(default_factory=lambda: defaultdict(_Cell))
    participation: Participation = field(
        default_factory=lambda: Participation(
            enrolled=0, withdrawn=0, mentors=0, mentees=0, matched=0
        )
    )
    counts: PairingCounts = field(default_factory=PairingCounts)
    live: int = 0
    decided: int = 0
    waits: list[float] = field(default_factory=list)
    check_ins: int = 0
    goals: int = 0
    achieved: int = 0
    facts: list[PairingFacts] = field(default_factory=list)


async def _figures(
    session: AsyncSession, program_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, _Figures]:
    """The figures of each program, by a fixed number of grouped queries whatever their
    number."""
    stmts = report_statements(program_ids)
    today = utcnow().date()
    found: dict[uuid.UUID, _Figures] = {p: _Figures(today=today) for p in program_ids}
    for program_id, department, band, role, status, count, matched in (
        await session.execute(stmts["participants"])
    ).all():
        figures = found[program_id]
        cell = figures.cells[(department, band)]
        cell.participants += count
        cell.matched += int(matched or 0)
        participation = figures.participation
        participation.matched += int(matched or 0)
        if status == "active":
            participation.enrolled += count
            if role == "mentor":
                participation.mentors += count
            else:
                participation.mentees += count
        else:
            participation.withdrawn += count
    for program_id, department, band, dimension, value, count in (
        await session.execute(stmts["ratings"])
    ).all():
        histogram = found[program_id].cells[(department, band)].ratings[dimension]
        histogram[value] = histogram.get(value, 0) + count
    for program_id, department, band, respondents in (
        await session.execute(stmts["respondents"])
    ).all():
        found[program_id].cells[(department, band)].respondents = respondents
    for program_id, department, band, respondents, yes, answers in (
        await session.execute(stmts["take_part_again"])
    ).all():
        cell = found[program_id].cells[(department, band)]
        cell.again_respondents, cell.again_yes, cell.again_answers = (
            respondents,
            int(yes or 0),
            answers,
        )
    for program_id, state, count, activated in (await session.execute(stmts["pairings"])).all():
        figures = found[program_id]
        if state in PairingCounts.model_fields:
            setattr(figures.counts, state, count)
        figures.live += activated
        if state in ("declined", "expired"):
            figures.decided += count - activated
    for program_id, enrolled, activated in (await session.execute(stmts["time_to_live"])).all():
        found[program_id].waits.append((activated - enrolled).total_seconds() / SECONDS_PER_DAY)
    for program_id, count in (await session.execute(stmts["check_ins"])).all():
        found[program_id].check_ins = int(count or 0)
    for program_id, goals, achieved in (await session.execute(stmts["goals"])).all():
        found[program_id].goals, found[program_id].achieved = int(goals or 0), int(achieved or 0)
    scope = and_(col(Pairing.program_id).in_(list(program_ids)), col(Pairing.state) == "active")
    for f in await gather_facts(session, scope, today):
        found[f.program_id].facts.append(f)
    return found


def _report(actor: Actor, program: Program, figures: _Figures) -> ProgramReport:
    total = _Cell()
    for cell in figures.cells.values():
        total.add(cell)
    assessed = assess_all(actor, program, figures.facts, figures.today)
    health = HealthCounts()
    for h in assessed:
        setattr(health, h.status.value, getattr(health, h.status.value) + 1)
    order = {HealthStatus.AT_RISK: 0, HealthStatus.NEEDS_ATTENTION: 1}
    at_risk = sorted(
        (h for h in assessed if h.status is not HealthStatus.HEALTHY),
        key=lambda h: (order[h.status], str(h.pairing_id)),
    )
    live, decided, waits = figures.live, figures.decided + figures.live, figures.waits
    goals, achieved, check_ins = figures.goals, figures.achieved, figures.check_ins
    return ProgramReport(
        program_id=program.id,
        program_name=program.name,
        program_status=program.status,
        generated_at=utcnow(),
        participation=figures.participation,
        pairings=figures.counts,
        acceptance_rate=live / decided if decided else None,
        median_days_to_active_pairing=statistics.median(waits) if len(waits) >= MIN_GROUP else None,
        median_days_suppressed=0 < len(waits) < MIN_GROUP,
        check_ins=check_ins,
        check_ins_per_pairing=check_ins / live if live else None,
        goals=goals,
        goals_achieved=achieved,
        goal_completion_rate=achieved / goals if goals else None,
        satisfaction=_scores(total, total.respondents < MIN_GROUP),
        would_take_part_again=_rate(total, total.again_respondents < MIN_GROUP),
        health=health,
        at_risk=at_risk,
        by_department=_breakdown(figures.cells, lambda department, band: department),
        by_level_band=_breakdown(figures.cells, lambda department, band: band),
    )


async def program_report(
    session: AsyncSession, actor: Actor, program_id: uuid.UUID
) -> ProgramReport:
    """The report of a program (its managers, admins and readers)."""
    program = await authorize_report(session, actor, program_id)
    figures = await _figures(session, [program.id])
    return _report(actor, program, figures[program.id])


async def program_reports(
    session: AsyncSession, actor: Actor, program_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, ProgramReport | Forbidden]:
    """The report of each program as ``program_report`` makes it, or the refusal it would
    answer, in a fixed number of queries whatever the number of programs (programs the actor
    cannot see are left out)."""
    out: dict[uuid.UUID, ProgramReport | Forbidden] = {}
    readable: dict[uuid.UUID, Program] = {}
    for program in (await programs_by_id(session, actor, program_ids)).values():
        try:
            require_overseer(actor, program)
        except Forbidden as refusal:
            out[program.id] = refusal
            continue
        readable[program.id] = program
    if readable:
        figures = await _figures(session, list(readable))
        for program_id, program in readable.items():
            out[program_id] = _report(actor, program, figures[program_id])
    return out


# ---------------------------------------------------------------------------------------------
# CSV export
# ---------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "pairing_id",
    "state",
    "origin",
    "mentor_employee_id",
    "mentor_name",
    "mentor_department",
    "mentor_level_band",
    "mentee_employee_id",
    "mentee_name",
    "mentee_department",
    "mentee_level_band",
    "proposed_at",
    "activated_at",
    "closed_at",
    "days_to_active",
    "check_ins",
    "last_check_in_on",
    "goals",
    "goals_achieved",
    "health_status",
    "health_reasons",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with ``'``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


async def authorize_report(session: AsyncSession, actor: Actor, program_id: uuid.UUID) -> Program:
    """The program, when the actor may read its report."""
    program = await get_program(session, actor, program_id)
    require_overseer(actor, program)
    return program


async def report_csv(
    sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    actor: Actor,
    program: Program,
) -> AsyncIterator[str]:
    """The report's rows (one per pairing) as CSV text, in batches of ``CSV_BATCH`` pairings:
    memory stays flat however large the program. Authorise with ``authorize_report`` first."""
    mentor, mentee = aliased(Employee), aliased(Employee)
    # Only the columns written: whole Pairing entities would also parse each match
    # explanation (JSON) and timestamps the file leaves out.
    pairing_columns: Bundle[Any] = Bundle(
        "pairing",
        col(Pairing.id),
        col(Pairing.state),
        col(Pairing.origin),
        col(Pairing.mentor_employee_id),
        col(Pairing.mentee_employee_id),
        col(Pairing.created_at),
        col(Pairing.activated_at),
        col(Pairing.closed_at),
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    yield out.getvalue()
    after: uuid.UUID | None = None
    today = utcnow().date()
    async with sessions() as session:
        while True:
            ids_stmt = select(col(Pairing.id)).where(col(Pairing.program_id) == program.id)
            if after is not None:
                ids_stmt = ids_stmt.where(col(Pairing.id) > after)
            ids = list(
                (
                    await session.execute(ids_stmt.order_by(col(Pairing.id)).limit(CSV_BATCH))
                ).scalars()
            )
            if not ids:
                return
            # Exactly this batch, by primary key: a range filter beside ``program_id`` lets
            # SQLite drive every subquery from the program_id index, reading all of the
            # program's pairings once per batch (quadratic in the size of the program).
            scope: ColumnElement[bool] = col(Pairing.id).in_(ids)
            facts = {f.pairing_id: f for f in await gather_facts(session, scope, today)}
            live = [f for f in facts.values() if f.state == "active"]
            health = {h.pairing_id: h for h in assess_all(actor, program, live, today)}
            rows = await session.execute(
                select(
                    pairing_columns,
                    col(mentor.display_name),
                    col(mentor.department),
                    col(mentor.job_level),
                    col(mentee.display_name),
                    col(mentee.department),
                    col(mentee.job_level),
                )
                .join(mentor, col(mentor.id) == col(Pairing.mentor_employee_id))
                .join(mentee, col(mentee.id) == col(Pairing.mentee_employee_id))
                .where(scope)
                .order_by(col(Pairing.id))
            )
            out.seek(0)
            out.truncate()
            for p, m_name, m_dept, m_level, e_name, e_dept, e_level in rows.all():
                f = facts[p.id]
                h = health.get(p.id)
                days = (
                    (p.activated_at - p.created_at).total_seconds() / SECONDS_PER_DAY
                    if p.activated_at
                    else None
                )
                writer.writerow(
                    [
                        _cell(v)
                        for v in (
                            p.id,
                            p.state,
                            p.origin,
                            p.mentor_employee_id,
                            m_name,
                            m_dept,
                            level_band(m_level),
                            p.mentee_employee_id,
                            e_name,
                            e_dept,
                            level_band(e_level),
                            p.created_at,
                            p.activated_at,
                            p.closed_at,
                            None if days is None else round(days, 2),
                            f.check_ins,
                            f.last_met_on,
                            f.goals,
                            f.goals_achieved,
                            h.status.value if h else None,
                            ";".join(r.code.value for r in h.reasons) if h else None,
                        )
                    ]
                )
            yield out.getvalue()
            after = ids[-1]
            session.expunge_all()
