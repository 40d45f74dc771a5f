"""A program's report (as ``GET /api/v1/programs/{id}/report``): every figure about fewer than
3 people is suppressed by the domain (null, with ``suppressed: true``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from app.api.graphql.types.health import PairingHealth
from app.domain import reports as domain


@strawberry.type(description="Who takes part.")
class Participation:
    enrolled: int = strawberry.field(description="Active enrollments.")
    withdrawn: int
    mentors: int
    mentees: int
    matched: int = strawberry.field(
        description="People whose pairing went live (including any who withdrew since)."
    )

    @classmethod
    def of(cls, value: domain.Participation) -> Self:
        return cls(
            enrolled=value.enrolled,
            withdrawn=value.withdrawn,
            mentors=value.mentors,
            mentees=value.mentees,
            matched=value.matched,
        )


@strawberry.type(description="Pairings by state.")
class PairingCounts:
    proposed: int
    active: int
    paused: int
    completed: int
    ended: int
    declined: int
    expired: int

    @classmethod
    def of(cls, value: domain.PairingCounts) -> Self:
        return cls(
            proposed=value.proposed,
            active=value.active,
            paused=value.paused,
            completed=value.completed,
            ended=value.ended,
            declined=value.declined,
            expired=value.expired,
        )


@strawberry.type(description="A 10% trimmed mean of 1-5 ratings on one dimension, or suppressed.")
class Score:
    dimension: str
    score: float | None
    respondents: int | None
    suppressed: bool

    @classmethod
    def of(cls, value: domain.Score) -> Self:
        return cls(
            dimension=value.dimension,
            score=value.score,
            respondents=value.respondents,
            suppressed=value.suppressed,
        )


@strawberry.type(description="A share of yes answers, or suppressed.")
class Rate:
    rate: float | None
    respondents: int | None
    suppressed: bool

    @classmethod
    def of(cls, value: domain.Rate) -> Self:
        return cls(rate=value.rate, respondents=value.respondents, suppressed=value.suppressed)


@strawberry.type(description="One group of a breakdown (a department or a level band).")
class GroupRow:
    group: str
    suppressed: bool = strawberry.field(
        description="Fewer than 3 people (or hidden to protect another)."
    )
    participants: int | None = strawberry.field(
        description="Everyone who enrolled in the program, withdrawn included."
    )
    matched: int | None = strawberry.field(description="Of them, those whose pairing went live.")
    satisfaction: list[Score] | None
    would_take_part_again: Rate | None

    @classmethod
    def of(cls, value: domain.GroupRow) -> Self:
        return cls(
            group=value.group,
            suppressed=value.suppressed,
            participants=value.participants,
            matched=value.matched,
            satisfaction=None
            if value.satisfaction is None
            else [Score.of(s) for s in value.satisfaction],
            would_take_part_again=None
            if value.would_take_part_again is None
            else Rate.of(value.would_take_part_again),
        )


@strawberry.type(description="Active pairings by health status.")
class HealthCounts:
    healthy: int
    needs_attention: int
    at_risk: int


@strawberry.type(
    description="Program health: participation, acceptance, time to match, check-ins, goals, "
    "satisfaction, at-risk pairings and breakdowns. Figures about fewer than 3 people are "
    "suppressed."
)
class ProgramReport:
    report: strawberry.Private[domain.ProgramReport]
    program_name: str
    program_status: str
    generated_at: datetime
    min_group_size: int
    trim: float = strawberry.field(description="Share cut from each end of the ratings.")
    participation: Participation
    pairings: PairingCounts
    acceptance_rate: float | None = strawberry.field(
        description="Proposals that went live, of those decided (live, declined or expired)."
    )
    median_days_to_active_pairing: float | None = strawberry.field(
        description="From enrolling to one's first live pairing (suppressed below 3 people)."
    )
    median_days_suppressed: bool = strawberry.field(
        description="True when fewer than 3 people went live (the median is then null)."
    )
    check_ins: int
    check_ins_per_pairing: float | None = strawberry.field(
        description="Per pairing that went live."
    )
    goals: int
    goals_achieved: int
    goal_completion_rate: float | None
    satisfaction: list[Score]
    would_take_part_again: Rate
    health: HealthCounts
    at_risk: list[PairingHealth] = strawberry.field(
        description="Active pairings that are at risk or need attention, at risk first."
    )
    by_department: list[GroupRow]
    by_level_band: list[GroupRow]

    @classmethod
    def of(cls, report: domain.ProgramReport) -> Self:
        return cls(
            report=report,
            program_name=report.program_name,
            program_status=report.program_status,
            generated_at=report.generated_at,
            min_group_size=report.min_group_size,
            trim=report.trim,
            participation=Participation.of(report.participation),
            pairings=PairingCounts.of(report.pairings),
            acceptance_rate=report.acceptance_rate,
            median_days_to_active_pairing=report.median_days_to_active_pairing,
            median_days_suppressed=report.median_days_suppressed,
            check_ins=report.check_ins,
            check_ins_per_pairing=report.check_ins_per_pairing,
            goals=report.goals,
            goals_achieved=report.goals_achieved,
            goal_completion_rate=report.goal_completion_rate,
            satisfaction=[Score.of(s) for s in report.satisfaction],
            would_take_part_again=Rate.of(report.would_take_part_again),
            health=HealthCounts(
                healthy=report.health.healthy,
                needs_attention=report.health.needs_attention,
                at_risk=report.health.at_risk,
            ),
            at_risk=[PairingHealth.of(h) for h in report.at_risk],
            by_department=[GroupRow.of(g) for g in report.by_department],
            by_level_band=[GroupRow.of(g) for g in report.by_level_band],
        )

    @strawberry.field
    def program_id(self) -> relay.GlobalID:
        return relay.GlobalID("Program", str(self.report.program_id))

    @strawberry.field(description="The id REST uses for the program.")
    def program_database_id(self) -> uuid.UUID:
        return self.report.program_id
