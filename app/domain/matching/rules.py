"""Hard rules: checked for one pair in words, and for the whole cohort as boolean matrices."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence, Set

import numpy as np
from numpy.typing import NDArray

from app.domain.matching.model import RULES, Candidate, EngineSettings, HardRuleViolation

Pairs = Set[tuple[uuid.UUID, uuid.UUID]]
BoolMatrix = NDArray[np.bool_]


def hard_rule_violations(
    mentor: Candidate, mentee: Candidate, settings: EngineSettings, excluded: Pairs
) -> list[HardRuleViolation]:
    """The hard rules a pair breaks, in RULES order; empty means the pair is eligible."""
    out: list[HardRuleViolation] = []
    gap = settings.min_level_gap
    if mentee.job_level - mentor.job_level < gap:
        out.append(
            HardRuleViolation(
                "level_gap",
                f"the mentor's job level ({mentor.job_level}) must be at least {gap} below "
                f"the mentee's ({mentee.job_level})",
            )
        )
    if mentor.employee_id in mentee.ancestors:
        out.append(
            HardRuleViolation(
                "reporting_line",
                "the mentee reports to the mentor, directly or through other managers",
            )
        )
    elif mentee.employee_id in mentor.ancestors:
        out.append(
            HardRuleViolation(
                "reporting_line",
                "the mentor reports to the mentee, directly or through other managers",
            )
        )
    if (mentor.employee_id, mentee.employee_id) in excluded:
        out.append(HardRuleViolation("excluded", "this pair is excluded"))
    inactive = [c.role for c in (mentor, mentee) if not c.active]
    if inactive:
        who = "neither is" if len(inactive) == 2 else f"the {inactive[0]} is not"
        out.append(HardRuleViolation("inactive", f"{who} an active employee"))
    if mentor.employee_id == mentee.employee_id:
        out.append(HardRuleViolation("same_person", "mentor and mentee are the same person"))
    if mentor.capacity < 1:
        out.append(HardRuleViolation("capacity", "the mentor has no free capacity"))
    if mentee.capacity < 1:
        out.append(HardRuleViolation("capacity", "the mentee already has a partner"))
    return out


def _index_by_employee(people: Sequence[Candidate]) -> dict[uuid.UUID, list[int]]:
    out: dict[uuid.UUID, list[int]] = defaultdict(list)
    for i, person in enumerate(people):
        out[person.employee_id].append(i)
    return out


def _mark(shape: tuple[int, int], rows: list[int], cols: list[int]) -> BoolMatrix:
    out = np.zeros(shape, dtype=np.bool_)
    if rows:
        out[rows, cols] = True
    return out


def violation_matrices(
    mentors: Sequence[Candidate],
    mentees: Sequence[Candidate],
    settings: EngineSettings,
    excluded: Pairs,
) -> dict[str, BoolMatrix]:
    """For each rule in RULES, the mentor x mentee pairs that break it."""
    shape = (len(mentors), len(mentees))
    mentor_rows = _index_by_employee(mentors)
    mentee_cols = _index_by_employee(mentees)

    mentor_levels = np.array([c.job_level for c in mentors], dtype=np.int32)
    mentee_levels = np.array([c.job_level for c in mentees], dtype=np.int32)
    level_gap = (mentee_levels[None, :] - mentor_levels[:, None]) < settings.min_level_gap

    # Walk each person's management chain once and mark only the partners found in it; the
    # chains are short, so this is linear in the cohort instead of a pairwise comparison.
    rows: list[int] = []
    cols: list[int] = []
    for j, mentee in enumerate(mentees):
        for manager in mentee.ancestors:
            for i in mentor_rows.get(manager, ()):
                rows.append(i)
                cols.append(j)
    for i, mentor in enumerate(mentors):
        for manager in mentor.ancestors:
            for j in mentee_cols.get(manager, ()):
                rows.append(i)
                cols.append(j)
    reporting_line = _mark(shape, rows, cols)

    rows, cols = [], []
    for mentor_id, mentee_id in excluded:
        for i in mentor_rows.get(mentor_id, ()):
            for j in mentee_cols.get(mentee_id, ()):
                rows.append(i)
                cols.append(j)
    excluded_pairs = _mark(shape, rows, cols)

    rows, cols = [], []
    for employee_id, mentor_indices in mentor_rows.items():
        for i in mentor_indices:
            for j in mentee_cols.get(employee_id, ()):
                rows.append(i)
                cols.append(j)
    same_person = _mark(shape, rows, cols)

    mentor_inactive = np.array([not c.active for c in mentors], dtype=np.bool_)
    mentee_inactive = np.array([not c.active for c in mentees], dtype=np.bool_)
    mentor_full = np.array([c.capacity < 1 for c in mentors], dtype=np.bool_)
    mentee_full = np.array([c.capacity < 1 for c in mentees], dtype=np.bool_)
    matrices = {
        "level_gap": level_gap,
        "reporting_line": reporting_line,
        "excluded": excluded_pairs,
        "inactive": mentor_inactive[:, None] | mentee_inactive[None, :],
        "same_person": same_person,
        "capacity": mentor_full[:, None] | mentee_full[None, :],
    }
    assert tuple(matrices) == RULES
    return matrices


def eligibility(violations: dict[str, BoolMatrix]) -> BoolMatrix:
    """Pairs that break no hard rule."""
    broken = np.zeros_like(violations[RULES[0]])
    for rule in RULES:
        broken |= violations[rule]
    return ~broken
