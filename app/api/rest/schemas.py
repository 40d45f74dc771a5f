"""Output models of the REST API (inputs live beside the services that validate them)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.domain.actors import Scope
from app.domain.enrollments import EnrollmentRole, EnrollmentStatus, TimeWindow
from app.domain.programs import ProgramStatus


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EmployeeOut(Out):
    id: uuid.UUID
    external_id: str | None
    email: str
    given_name: str
    family_name: str
    display_name: str
    job_title: str | None
    job_level: int
    department: str | None
    division: str | None
    location: str | None
    time_zone: str
    manager_id: uuid.UUID | None
    manager_external_id: str | None = Field(
        default=None, description="The source's reference to the manager (kept until linked)."
    )
    hire_date: date | None
    termination_date: date | None = None
    employee_number: str | None = None
    organization: str | None = None
    cost_center: str | None = None
    active: bool
    deactivated_at: datetime | None
    source: str | None = Field(default=None, description="The HRIS source that owns the record.")
    skills: list[str]
    interests: list[str]
    languages: list[str]
    is_admin: bool
    created_at: datetime
    updated_at: datetime
    version: int


class EmployeeSummary(Out):
    id: uuid.UUID
    display_name: str
    job_title: str | None
    job_level: int
    department: str | None


class MatchingSettingsOut(BaseModel):
    min_level_gap: int
    default_mentor_capacity: int
    max_mentor_capacity: int
    priority: str
    min_score: float
    acceptance_window_days: int
    weights: dict[str, float]


class ProgramOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    focus_areas: list[str]
    status: ProgramStatus
    starts_on: date | None
    ends_on: date | None
    meeting_cadence_days: int
    pairing_length_weeks: int
    ground_rules: str
    ground_rules_version: int
    matching: MatchingSettingsOut
    manager_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def build(cls, program: Any, manager_ids: list[uuid.UUID]) -> ProgramOut:
        return cls(
            id=program.id,
            name=program.name,
            description=program.description,
            focus_areas=program.focus_areas,
            status=program.status,
            starts_on=program.starts_on,
            ends_on=program.ends_on,
            meeting_cadence_days=program.meeting_cadence_days,
            pairing_length_weeks=program.pairing_length_weeks,
            ground_rules=program.ground_rules,
            ground_rules_version=program.ground_rules_version,
            matching=MatchingSettingsOut(
                min_level_gap=program.min_level_gap,
                default_mentor_capacity=program.default_mentor_capacity,
                max_mentor_capacity=program.max_mentor_capacity,
                priority=program.matching_priority,
                min_score=program.min_match_score,
                acceptance_window_days=program.acceptance_window_days,
                weights=program.matching_weights,
            ),
            manager_ids=manager_ids,
            created_at=program.created_at,
            updated_at=program.updated_at,
            version=program.version,
        )


class EnrollmentOut(Out):
    id: uuid.UUID
    program_id: uuid.UUID
    employee_id: uuid.UUID
    role: EnrollmentRole
    status: EnrollmentStatus
    consent_at: datetime
    consent_version: int
    can_teach: list[str]
    wants_to_learn: list[str]
    availability: list[TimeWindow]
    capacity: int | None
    motivation: str
    withdrawn_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class TokenOut(Out):
    id: uuid.UUID
    name: str
    prefix: str
    employee_id: uuid.UUID | None
    service_name: str | None
    scopes: list[Scope]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime
    version: int


class TokenCreated(TokenOut):
    token: str
    """The token value. It is shown once and cannot be retrieved again."""


class AuditEventOut(Out):
    id: uuid.UUID
    occurred_at: datetime
    actor_kind: str
    actor_employee_id: uuid.UUID | None
    actor_service: str | None
    actor_token_id: uuid.UUID | None
    action: str
    entity_type: str
    entity_id: uuid.UUID
    request_id: str | None
    details: dict[str, Any]


class MeOut(BaseModel):
    kind: str
    role: str
    is_admin: bool
    managed_program_ids: list[uuid.UUID]
    scopes: list[str]
    service_name: str | None
    employee: EmployeeOut | None


class CriterionOut(BaseModel):
    criterion: str
    value: float
    weight: float
    text: str


class MemberOut(BaseModel):
    """What a partner may know of the other member: no HR fields (level, manager)."""

    enrollment_id: uuid.UUID
    employee_id: uuid.UUID
    display_name: str
    job_title: str | None
    department: str | None
    time_zone: str
    topics: list[str]
    accepted_at: datetime | None


class CadenceOut(BaseModel):
    """Where a live pairing stands against its program's meeting cadence (computed when read;
    not part of the pairing's versioned state)."""

    cadence_days: int
    last_check_in_on: date | None
    next_check_in_due_on: date
    overdue: bool


class PairingOut(BaseModel):
    id: uuid.UUID
    program_id: uuid.UUID
    state: str
    origin: str
    score: float | None
    explanation: list[CriterionOut]
    mentor: MemberOut
    mentee: MemberOut
    expires_at: datetime | None
    activated_at: datetime | None
    paused_at: datetime | None
    resumed_at: datetime | None = None
    closed_at: datetime | None
    matching_run_id: uuid.UUID | None
    cadence: CadenceOut | None = Field(
        default=None, description="Active pairings: when the next check-in is due."
    )
    justification: str | None = None
    declined_by: str | None = None
    decline_reason: str | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    end_note: str | None = None
    """Confidential: present for the program's managers and admins only."""
    created_at: datetime
    updated_at: datetime
    version: int


class PairingRequestOut(Out):
    id: uuid.UUID
    program_id: uuid.UUID
    requester_enrollment_id: uuid.UUID
    requested_enrollment_id: uuid.UUID
    requester_employee_id: uuid.UUID
    requested_employee_id: uuid.UUID
    status: str
    message: str
    pairing_id: uuid.UUID | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class BlockOut(Out):
    id: uuid.UUID
    blocked_employee_id: uuid.UUID
    created_at: datetime


class ProposalOut(BaseModel):
    mentor_enrollment_id: uuid.UUID
    mentee_enrollment_id: uuid.UUID
    mentor_employee_id: uuid.UUID
    mentee_employee_id: uuid.UUID
    score: float
    explanation: list[CriterionOut]
    pairing_id: uuid.UUID | None


class UnmatchedOut(BaseModel):
    enrollment_id: uuid.UUID
    employee_id: uuid.UUID
    role: str
    reason: str


class MatchingRunOut(Out):
    id: uuid.UUID
    program_id: uuid.UUID
    status: str
    dry_run: bool
    only_unmatched: bool
    priority: str
    min_score: float
    started_at: datetime | None
    finished_at: datetime | None
    timings_ms: dict[str, float]
    total_score: float | None
    proposals: list[ProposalOut]
    unmatched: list[UnmatchedOut]
    error: str | None
    created_at: datetime
    version: int
