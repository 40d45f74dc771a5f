"""The matching engine: exact, explainable whole-cohort assignment of mentors to mentees.

Pure: plain dataclasses in, plain dataclasses out; no database, no I/O. The caller loads the
candidates, calls :func:`match` (in a worker thread is fine: the solver releases the GIL) and
stores the result.

Hard rules (never broken; :func:`hard_rule_violations` returns them as ``HardRuleViolation``
objects with ``rule`` and ``text``):

- ``level_gap``: ``mentee.job_level - mentor.job_level >= min_level_gap``;
- ``reporting_line``: neither is anywhere in the other's management chain (skip levels too);
- ``excluded``: ``(mentor.employee_id, mentee.employee_id)`` is not in ``excluded`` (the caller
  puts blocks in both orders, and past declined or ended pairs, in that set);
- ``inactive``: both are active; ``same_person``: two different employees;
- ``capacity``: the mentor has a free slot (and the mentee has ``capacity >= 1``).

Soft criteria, each a value in 0..1 (:mod:`app.domain.matching.scoring`):

- ``topic_overlap``: what the mentor can teach x what the mentee wants to learn, compared as
  ``topic_key`` (case-insensitive; spaces, ``-``, ``&`` and ``_`` alike). A shared topic counts 1,
  or 2 when it is one of the program's focus areas; value = min(1, weighted count / 3);
- ``different_department``: 1 both known and different, 0 same, 0.5 either unknown;
- ``working_hours_overlap``: hours a week both are available, in UTC over the reference week of
  2026-01-05, to the quarter hour (:mod:`app.domain.matching.hours`); no availability given
  means Mon-Fri 09:00-17:00 local; value = min(1, hours / 2);
- ``shared_language``: 1 any shared (case-insensitive), 0 both known and none shared,
  0.5 either unknown;
- ``location``: 1 same, 0 different, 0.5 either unknown.

Score = 100 x Σ(weight·value) / Σ(weight) over criteria with weight > 0 (0 when all weights are
0), rounded half up to one decimal. Missing weights count as 0.

Objective, solved exactly with scipy's ``linear_sum_assignment`` on a capacity-expanded matrix
(one row per free mentor slot, one column per mentee) of integer weights (ten times the score):

- ``participation``: most mentees matched, then the highest total score
  (weight = BIG + score for an eligible pair, BIG above any possible total score);
- ``quality``: highest total score, pairs scoring below ``min_score`` left out; among equally
  good answers, the one matching more people (weight = score x K + 1, K above any pair count).

Ineligible pairs weigh 0 and are dropped after solving. Candidates are sorted by enrollment id
before the matrix is built, so the same input in any order gives the same proposals.
"""

from __future__ import annotations

import itertools
import math
import time
import uuid
from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped, unused-ignore]

from app.domain.matching.model import (
    CRITERIA,
    RULES,
    Candidate,
    CriterionScore,
    EngineSettings,
    HardRuleViolation,
    MatchResult,
    Proposal,
    Unmatched,
)
from app.domain.matching.reasons import unmatched_reasons
from app.domain.matching.rules import eligibility, hard_rule_violations, violation_matrices
from app.domain.matching.scoring import explain_pair, score10, score_matrix, threshold10

__all__ = [
    "CRITERIA",
    "RULES",
    "Candidate",
    "CriterionScore",
    "EngineSettings",
    "HardRuleViolation",
    "MatchResult",
    "Proposal",
    "Unmatched",
    "hard_rule_violations",
    "match",
    "score_pair",
    "solve_matrix",
    "solver_weights",
]

Index = NDArray[np.intp]


def check_settings(settings: EngineSettings) -> None:
    """Refuse settings the engine cannot honour (a programming error, not user input)."""
    unknown = sorted(set(settings.weights) - set(CRITERIA))
    if unknown:
        raise ValueError(f"unknown criteria in weights: {', '.join(unknown)}")
    if any(not math.isfinite(w) or w < 0 for w in settings.weights.values()):
        raise ValueError("weights must be finite and not negative")
    if settings.priority not in ("participation", "quality"):
        raise ValueError(f"unknown priority {settings.priority!r}")


def score_pair(
    mentor: Candidate, mentee: Candidate, settings: EngineSettings
) -> tuple[float, tuple[CriterionScore, ...]]:
    """One pair's score (0-100, one decimal) and its explanation; hard rules are not checked."""
    check_settings(settings)
    numerators, explanation = explain_pair(mentor, mentee, settings.weights, settings.focus_areas)
    arrays = {c: np.array(n, dtype=np.uint8) for c, n in numerators.items()}
    return int(score10(arrays, settings.weights)) / 10, explanation


def _assign(costs: NDArray[np.float64]) -> tuple[Index, Index]:
    """Minimum-cost assignment; only pairs with a negative cost (a positive weight) are kept."""
    if costs.size == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty.copy()
    rows, cols = linear_sum_assignment(costs)
    keep = costs[rows, cols] < 0
    return np.asarray(rows[keep], dtype=np.intp), np.asarray(cols[keep], dtype=np.intp)


def solve_matrix(weights: NDArray[Any]) -> tuple[Index, Index]:
    """Maximum-weight assignment of a (slots x mentees) matrix; pairs weighing 0 are dropped."""
    # match() builds its costs negated in place; negating here costs one copy of the matrix.
    return _assign(np.negative(weights, dtype=np.float64))


def _sorted(people: Sequence[Candidate], role: str) -> list[Candidate]:
    out = sorted(people, key=lambda c: c.enrollment_id)
    for person in out:
        if person.role != role:
            raise ValueError(f"enrollment {person.enrollment_id} is a {person.role}, not a {role}")
    for a, b in itertools.pairwise(out):
        if a.enrollment_id == b.enrollment_id:
            raise ValueError(f"enrollment {a.enrollment_id} is given twice")
    return out


@dataclass
class _Cohort:
    """A cohort ready for the solver: sorted people, rule and score matrices, solver costs."""

    mentors: list[Candidate]
    mentees: list[Candidate]
    violations: dict[str, NDArray[np.bool_]]
    eligible: NDArray[np.bool_]
    allowed: NDArray[np.bool_]  # eligible, and in "quality" at least min_score
    scores: NDArray[np.int16]  # ten times the score
    costs: NDArray[np.float64]  # (slots x mentees), negated weights; 0 = not allowed
    row_mentor: Index  # each cost row's mentor
    col_mentee: Index  # each cost column's mentee


def _solver_costs(
    allowed: NDArray[np.bool_], scores: NDArray[np.int16], capacity: Index, quality: bool
) -> tuple[NDArray[np.float64], Index, Index]:
    """The capacity-expanded cost matrix, each row's mentor and each column's mentee."""
    per_mentor = np.count_nonzero(allowed, axis=1)
    # A mentor never needs more rows than eligible mentees, and people without any eligible
    # partner cannot change the optimum: both are left out to keep the solver's matrix small.
    mentor_index = np.flatnonzero(per_mentor > 0)
    mentee_index = np.flatnonzero(allowed.any(axis=0))
    slots = np.minimum(capacity[mentor_index], per_mentor[mentor_index])
    if len(mentor_index) < allowed.shape[0] or len(mentee_index) < allowed.shape[1]:
        allowed = allowed[np.ix_(mentor_index, mentee_index)]
        scores = scores[np.ix_(mentor_index, mentee_index)]
    most_pairs = int(min(slots.sum(), len(mentee_index)))
    # Integer weights keep the optimum exact (float64 sums of integers below 2**53) and make
    # ties exact ties, which the deterministic input order then breaks the same way every time.
    weights = scores.astype(np.int32)
    if quality:
        # Score first; the +1 lets an extra pair break ties between equal total scores.
        weights *= np.int32(most_pairs + 1)
        weights += np.int32(1)
    else:
        # BIG = 1000 x most_pairs + 1 outweighs any total score: the pair count comes first.
        weights += np.int32(1000 * most_pairs + 1)
    np.multiply(weights, allowed, out=weights)
    np.negative(weights, out=weights)
    # Rows grouped by mentor (the solver runs measurably faster so), filled one slot number at
    # a time straight into the float64 matrix the solver then reads in place.
    first_row = np.cumsum(slots) - slots
    costs = np.empty((int(slots.sum()), len(mentee_index)), dtype=np.float64)
    for k in range(int(slots.max(initial=0))):
        block = np.flatnonzero(slots > k)
        costs[first_row[block] + k] = weights if len(block) == len(weights) else weights[block]
    return costs, np.repeat(mentor_index, slots), mentee_index


def _prepare(
    mentors: Sequence[Candidate],
    mentees: Sequence[Candidate],
    settings: EngineSettings,
    excluded: Set[tuple[uuid.UUID, uuid.UUID]],
) -> _Cohort:
    check_settings(settings)
    mentor_list = _sorted(mentors, "mentor")
    mentee_list = _sorted(mentees, "mentee")
    violations = violation_matrices(mentor_list, mentee_list, settings, excluded)
    eligible = eligibility(violations)
    scores = score_matrix(mentor_list, mentee_list, settings.weights, settings.focus_areas)
    quality = settings.priority == "quality"
    allowed = eligible & (scores >= threshold10(settings.min_score)) if quality else eligible
    capacity = np.array([max(0, c.capacity) for c in mentor_list], dtype=np.intp)
    costs, row_mentor, col_mentee = _solver_costs(allowed, scores, capacity, quality)
    return _Cohort(
        mentor_list,
        mentee_list,
        violations,
        eligible,
        allowed,
        scores,
        costs,
        row_mentor,
        col_mentee,
    )


def solver_weights(
    mentors: Sequence[Candidate],
    mentees: Sequence[Candidate],
    settings: EngineSettings,
    excluded: Set[tuple[uuid.UUID, uuid.UUID]] = frozenset(),
) -> NDArray[np.float64]:
    """The (slots x mentees) weight matrix :func:`match` solves (for timing the bare solver)."""
    return np.negative(_prepare(mentors, mentees, settings, excluded).costs)


def match(
    mentors: Sequence[Candidate],
    mentees: Sequence[Candidate],
    settings: EngineSettings,
    excluded: Set[tuple[uuid.UUID, uuid.UUID]] = frozenset(),
) -> MatchResult:
    """The optimal proposals for a cohort under the program's settings, and who stays unmatched."""
    started = time.perf_counter()
    cohort = _prepare(mentors, mentees, settings, excluded)
    scored = time.perf_counter()

    rows, cols = _assign(cohort.costs)
    cohort.costs = np.empty((0, 0))  # the biggest array by far; nothing below needs it
    solved = time.perf_counter()

    pairs = sorted(
        zip(cohort.row_mentor[rows].tolist(), cohort.col_mentee[cols].tolist(), strict=True)
    )
    proposals = tuple(
        Proposal(
            cohort.mentors[i],
            cohort.mentees[j],
            int(cohort.scores[i, j]) / 10,
            explain_pair(
                cohort.mentors[i], cohort.mentees[j], settings.weights, settings.focus_areas
            )[1],
        )
        for i, j in pairs
    )
    total10 = sum(int(cohort.scores[i, j]) for i, j in pairs)
    unmatched = unmatched_reasons(
        cohort.mentors,
        cohort.mentees,
        settings,
        pairs,
        violations=cohort.violations,
        eligible=cohort.eligible,
        allowed=cohort.allowed,
        scores=cohort.scores,
    )
    finished = time.perf_counter()
    return MatchResult(
        proposals=proposals,
        unmatched=tuple(unmatched),
        total_score=total10 / 10,
        timings_ms={
            "score": round((scored - started) * 1000, 3),
            "solve": round((solved - scored) * 1000, 3),
            "explain": round((finished - solved) * 1000, 3),
            "total": round((finished - started) * 1000, 3),
        },
    )
