"""The matching engine's plain data: what goes in (candidates, settings) and what comes out."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

#: The soft criteria, in the fixed order used for scoring and explanations.
CRITERIA = (
    "topic_overlap",
    "different_department",
    "working_hours_overlap",
    "shared_language",
    "location",
)

#: The hard rules, in the order violations and unmatched reasons list them.
RULES = ("level_gap", "reporting_line", "excluded", "inactive", "same_person", "capacity")

Window = tuple[str, str, str]


@dataclass(frozen=True)
class Candidate:
    """One active enrollment as the engine sees it."""

    enrollment_id: uuid.UUID
    employee_id: uuid.UUID
    role: Literal["mentor", "mentee"]
    job_level: int
    department: str | None
    location: str | None
    time_zone: str  # IANA name
    languages: tuple[str, ...]
    topics: tuple[str, ...]  # can_teach for mentors, wants_to_learn for mentees
    # (day "mon".."sun", "HH:MM", "HH:MM") in local time; empty = Mon-Fri 09:00-17:00 assumed.
    availability: tuple[Window, ...]
    capacity: int  # mentors: remaining free slots (>= 0); mentees: 1
    ancestors: frozenset[uuid.UUID]  # employee ids of every manager above (the whole chain)
    active: bool = True


@dataclass(frozen=True)
class EngineSettings:
    """A program's matching settings."""

    min_level_gap: int  # mentee.job_level - mentor.job_level >= this
    weights: Mapping[str, float]  # CRITERIA -> 0..10; a missing key weighs 0
    focus_areas: tuple[str, ...]  # topics matching these count double
    priority: Literal["participation", "quality"]
    min_score: float  # 0..100; "quality" leaves pairs below it unmatched


@dataclass(frozen=True)
class HardRuleViolation:
    """One broken hard rule: ``rule`` is one of RULES, ``text`` says it to a person."""

    rule: str
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class CriterionScore:
    """How one soft criterion scored a pair."""

    criterion: str  # one of CRITERIA
    value: float  # 0..1
    weight: float
    text: str


@dataclass(frozen=True)
class Proposal:
    """A proposed pairing with its score (0..100, one decimal) and explanation."""

    mentor: Candidate
    mentee: Candidate
    score: float
    explanation: tuple[CriterionScore, ...]


@dataclass(frozen=True)
class Unmatched:
    """A mentee left without a mentor, or a mentor with free capacity left, and why.

    ``code`` is machine-readable: inactive, no_capacity, no_candidates, not_eligible,
    below_min_score, taken (eligible partners all went to other pairs) or no_more_eligible
    (a mentor whose eligible mentees are all paired already, some of them with this mentor).
    ``counts`` tells, per hard rule, how many candidates of the other role it ruled out.
    """

    candidate: Candidate
    reason: str
    code: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchResult:
    """The outcome of one matching run."""

    proposals: tuple[Proposal, ...]
    unmatched: tuple[Unmatched, ...]
    total_score: float
    timings_ms: Mapping[str, float]
