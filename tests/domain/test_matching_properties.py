"""Properties of the matching engine on random small organisations.

For any org chart, levels, topics, departments, time zones, exclusions and settings: no proposal
breaks a hard rule, capacities hold, the result is as good as the best assignment found by
exhaustive search, and the same input in another order gives the same answer.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.matching.engine import (
    Candidate,
    EngineSettings,
    hard_rule_violations,
    match,
    score_pair,
)

TOPICS = ["AI tools", "Slack", "social media", "Technology adoption", "Diversity & Inclusion"]
FOCUS = ["technology_adoption", "diversity_inclusion"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
WINDOWS = [("mon", "09:00", "11:00"), ("mon", "16:00", "18:30"), ("tue", "08:00", "12:00")]
CRITERIA = [
    "topic_overlap",
    "different_department",
    "working_hours_overlap",
    "shared_language",
    "location",
]


@dataclass(frozen=True)
class Org:
    mentors: list[Candidate]
    mentees: list[Candidate]
    settings: EngineSettings
    excluded: frozenset[tuple[uuid.UUID, uuid.UUID]]


def _chain(parent: list[int | None], i: int) -> list[int]:
    out = []
    current = parent[i]
    while current is not None:
        out.append(current)
        current = parent[current]
    return out


@st.composite
def orgs(draw: st.DrawFn) -> Org:
    """A random org chart (a forest), people enrolled from it, exclusions and settings."""
    size = draw(st.integers(4, 12))
    parent: list[int | None] = [None]
    parent += [draw(st.none() | st.integers(0, i - 1)) for i in range(1, size)]
    numbers = st.integers(1, 2**64)
    ids = [
        uuid.UUID(int=n) for n in draw(st.lists(numbers, min_size=size, max_size=size, unique=True))
    ]
    # Random, distinct enrollment ids: the engine's tie-breaking order is theirs.
    enrollment_ids = iter(draw(st.lists(numbers, min_size=11, max_size=11, unique=True)))
    levels = [draw(st.integers(1, 10)) for _ in range(size)]

    # Mentors come mostly from the junior half and mentees from the senior half, so that many
    # pairs are eligible; the halves overlap in the middle, so same_person happens too.
    by_level = sorted(range(size), key=lambda i: levels[i])
    juniors, seniors = by_level[: size // 2 + 1], by_level[size // 2 :]

    def candidate(role: str) -> Candidate:
        who = draw(st.sampled_from(juniors if role == "mentor" else seniors))
        return Candidate(
            enrollment_id=uuid.UUID(int=next(enrollment_ids)),
            employee_id=ids[who],
            role="mentor" if role == "mentor" else "mentee",
            job_level=levels[who],
            department=draw(st.sampled_from([None, "Sales", "Finance", "IT"])),
            location=draw(st.sampled_from([None, "Berlin", "Madrid"])),
            time_zone=draw(st.sampled_from(ZONES)),
            languages=tuple(draw(st.lists(st.sampled_from(["English", "german"]), max_size=2))),
            topics=tuple(draw(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=4))),
            availability=tuple(draw(st.lists(st.sampled_from(WINDOWS), max_size=2, unique=True))),
            capacity=draw(st.sampled_from([0, 1, 1, 2, 2])) if role == "mentor" else 1,
            ancestors=frozenset(ids[a] for a in _chain(parent, who)),
            active=draw(st.sampled_from([True] * 9 + [False])),
        )

    mentors = [candidate("mentor") for _ in range(draw(st.integers(1, 5)))]
    mentees = [candidate("mentee") for _ in range(draw(st.integers(1, 6)))]
    possible = sorted({(m.employee_id, e.employee_id) for m in mentors for e in mentees})
    excluded = (
        frozenset(draw(st.lists(st.sampled_from(possible), max_size=2)))
        if possible
        else (frozenset())
    )
    weights = {c: draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0])) for c in CRITERIA}
    engine_settings = EngineSettings(
        min_level_gap=draw(st.integers(1, 2)),
        weights=weights,
        focus_areas=tuple(draw(st.lists(st.sampled_from(FOCUS), max_size=2))),
        priority=draw(st.sampled_from(["participation", "quality"])),
        min_score=draw(st.sampled_from([0.0, 20.0, 33.3, 50.0])),
    )
    return Org(mentors, mentees, engine_settings, excluded)


def _best_by_exhaustive_search(org: Org) -> tuple[int, int]:
    """(pairs, ten times the total score) of the best assignment, tried one mentee at a time."""
    s = org.settings
    options: list[list[tuple[int, int]]] = []
    for mentee in org.mentees:
        mine = []
        for i, mentor in enumerate(org.mentors):
            if hard_rule_violations(mentor, mentee, s, org.excluded):
                continue
            score10 = round(score_pair(mentor, mentee, s)[0] * 10)
            if s.priority == "quality" and score10 < round(s.min_score * 10):
                continue
            mine.append((i, score10))
        options.append(mine)

    def key(count: int, total: int) -> tuple[int, int]:
        return (count, total) if s.priority == "participation" else (total, count)

    best = (0, 0)
    left = [m.capacity for m in org.mentors]

    def search(j: int, count: int, total: int) -> None:
        nonlocal best
        if j == len(options):
            if key(count, total) > key(*best):
                best = (count, total)
            return
        search(j + 1, count, total)  # this mentee stays unmatched
        for i, score10 in options[j]:
            if left[i] > 0:
                left[i] -= 1
                search(j + 1, count + 1, total + score10)
                left[i] += 1

    search(0, 0, 0)
    return best


@settings(max_examples=150, deadline=None)
@given(orgs())
def test_no_hard_rule_is_ever_broken_and_capacities_hold(org: Org) -> None:
    result = match(org.mentors, org.mentees, org.settings, org.excluded)
    for proposal in result.proposals:
        assert (
            hard_rule_violations(proposal.mentor, proposal.mentee, org.settings, org.excluded) == []
        )
        if org.settings.priority == "quality":
            assert proposal.score >= org.settings.min_score
    per_mentor = Counter(p.mentor.enrollment_id for p in result.proposals)
    per_mentee = Counter(p.mentee.enrollment_id for p in result.proposals)
    capacity = {m.enrollment_id: m.capacity for m in org.mentors}
    assert all(n <= capacity[m] for m, n in per_mentor.items())
    assert all(n == 1 for n in per_mentee.values())
    # Everyone left over is reported, with a reason.
    reported = {u.candidate.enrollment_id for u in result.unmatched}
    assert reported == {
        e.enrollment_id for e in org.mentees if e.enrollment_id not in per_mentee
    } | {m.enrollment_id for m in org.mentors if m.capacity > per_mentor[m.enrollment_id]}
    assert all(u.reason for u in result.unmatched)


@settings(max_examples=150, deadline=None)
@given(orgs())
def test_the_result_is_as_good_as_an_exhaustive_search(org: Org) -> None:
    result = match(org.mentors, org.mentees, org.settings, org.excluded)
    total10 = sum(round(p.score * 10) for p in result.proposals)
    assert round(result.total_score * 10) == total10
    assert (len(result.proposals), total10) == _best_by_exhaustive_search(org)
    for proposal in result.proposals:
        assert (proposal.score, proposal.explanation) == score_pair(
            proposal.mentor, proposal.mentee, org.settings
        )


@settings(max_examples=75, deadline=None)
@given(orgs(), st.randoms(use_true_random=False))
def test_the_same_input_in_any_order_gives_the_same_result(org: Org, rnd: random.Random) -> None:
    first = match(org.mentors, org.mentees, org.settings, org.excluded)
    mentors, mentees = list(org.mentors), list(org.mentees)
    rnd.shuffle(mentors)
    rnd.shuffle(mentees)
    again = match(mentors, mentees, org.settings, set(org.excluded))
    assert again.proposals == first.proposals
    assert again.unmatched == first.unmatched
    assert again.total_score == first.total_score
