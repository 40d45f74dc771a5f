"""The matching engine on small, hand-made cohorts: hard rules, criteria, priorities, reasons."""

from __future__ import annotations

import dataclasses
import itertools
import random
import uuid
from typing import Any

import numpy as np
import pytest

from app.domain.matching.engine import (
    Candidate,
    EngineSettings,
    MatchResult,
    hard_rule_violations,
    match,
    score_pair,
    solve_matrix,
    solver_weights,
)

_ids = itertools.count(1)

ALL_WEIGHTS = {
    "topic_overlap": 5.0,
    "different_department": 2.0,
    "working_hours_overlap": 2.0,
    "shared_language": 1.0,
    "location": 0.5,
}
TOPICS_ONLY = {"topic_overlap": 1.0}


def person(role: str, level: int, **fields: Any) -> Candidate:
    """A participant; every field not given is neutral and the same for everyone."""
    n = next(_ids)
    values: dict[str, Any] = {
        "enrollment_id": uuid.UUID(int=n),
        "employee_id": uuid.UUID(int=10_000 + n),
        "role": role,
        "job_level": level,
        "department": None,
        "location": None,
        "time_zone": "UTC",
        "languages": (),
        "topics": ("AI tools",),
        "availability": (),
        "capacity": 1,
        "ancestors": frozenset(),
    }
    values.update(fields)
    return Candidate(**values)


def mentor(level: int = 2, **fields: Any) -> Candidate:
    return person("mentor", level, **fields)


def mentee(level: int = 6, **fields: Any) -> Candidate:
    return person("mentee", level, **fields)


def settings(**fields: Any) -> EngineSettings:
    values: dict[str, Any] = {
        "min_level_gap": 1,
        "weights": ALL_WEIGHTS,
        "focus_areas": (),
        "priority": "participation",
        "min_score": 0.0,
    }
    values.update(fields)
    return EngineSettings(**values)


def rules(
    a: Candidate, b: Candidate, s: EngineSettings | None = None, excluded: Any = ()
) -> list[str]:
    return [v.rule for v in hard_rule_violations(a, b, s or settings(), frozenset(excluded))]


def pairs(result: MatchResult) -> set[tuple[uuid.UUID, uuid.UUID]]:
    return {(p.mentor.enrollment_id, p.mentee.enrollment_id) for p in result.proposals}


def criterion(a: Candidate, b: Candidate, name: str, **s: Any) -> tuple[float, str]:
    _, explanation = score_pair(a, b, settings(**s))
    (found,) = [c for c in explanation if c.criterion == name]
    return found.value, found.text


def reason_of(result: MatchResult, who: Candidate) -> str:
    (found,) = [u for u in result.unmatched if u.candidate == who]
    return found.reason


# --- hard rules ---------------------------------------------------------------------------------


def test_a_junior_and_an_unrelated_senior_are_eligible() -> None:
    assert rules(mentor(2), mentee(6)) == []


def test_the_mentor_must_be_junior_by_at_least_the_level_gap() -> None:
    s = settings(min_level_gap=2)
    assert rules(mentor(4), mentee(6), s) == []
    assert rules(mentor(5), mentee(6), s) == ["level_gap"]
    (violation,) = hard_rule_violations(mentor(6), mentee(6), s, frozenset())
    assert violation.text == "the mentor's job level (6) must be at least 2 below the mentee's (6)"


def test_a_mentee_who_manages_the_mentor_is_refused_even_several_levels_up() -> None:
    skip_level_boss = mentee(9)
    direct_manager = mentee(7, ancestors=frozenset({skip_level_boss.employee_id}))
    junior = mentor(
        2, ancestors=frozenset({direct_manager.employee_id, skip_level_boss.employee_id})
    )
    assert rules(junior, direct_manager) == ["reporting_line"]
    assert rules(junior, skip_level_boss) == ["reporting_line"]
    (violation,) = hard_rule_violations(junior, skip_level_boss, settings(), frozenset())
    assert "the mentor reports to the mentee" in violation.text


def test_a_mentor_above_the_mentee_in_the_chain_is_refused_too() -> None:
    # Levels need not follow the org chart (a specialist may outrank their manager).
    lead = mentor(3)
    middle = person("mentee", 5)
    report = mentee(6, ancestors=frozenset({middle.employee_id, lead.employee_id}))
    assert rules(lead, report) == ["reporting_line"]


def test_an_excluded_pair_is_refused_in_the_order_given() -> None:
    a, b = mentor(), mentee()
    assert rules(a, b, excluded={(a.employee_id, b.employee_id)}) == ["excluded"]
    # The caller adds blocks in both orders; the engine reads (mentor, mentee) only.
    assert rules(a, b, excluded={(b.employee_id, a.employee_id)}) == []


def test_inactive_employees_are_refused() -> None:
    assert rules(mentor(active=False), mentee()) == ["inactive"]
    assert rules(mentor(), mentee(active=False)) == ["inactive"]
    (violation,) = hard_rule_violations(
        mentor(active=False), mentee(active=False), settings(), frozenset()
    )
    assert violation.text == "neither is an active employee"


def test_nobody_mentors_themselves() -> None:
    me = uuid.uuid4()
    assert rules(mentor(employee_id=me), mentee(employee_id=me)) == ["same_person"]


def test_a_mentor_without_free_capacity_is_refused() -> None:
    assert rules(mentor(capacity=0), mentee()) == ["capacity"]


def test_every_broken_rule_is_listed() -> None:
    boss = mentee(3)
    junior = mentor(3, capacity=0, active=False, ancestors=frozenset({boss.employee_id}))
    found = rules(junior, boss, excluded={(junior.employee_id, boss.employee_id)})
    assert found == ["level_gap", "reporting_line", "excluded", "inactive", "capacity"]


def test_match_never_proposes_an_ineligible_pair() -> None:
    boss = mentee(9)
    junior = mentor(2, ancestors=frozenset({boss.employee_id}))
    blocked = mentee(8)
    peer = mentee(2)
    result = match(
        [junior], [boss, blocked, peer], settings(), {(junior.employee_id, blocked.employee_id)}
    )
    assert result.proposals == ()
    assert {u.candidate for u in result.unmatched} == {boss, blocked, peer, junior}


def test_a_mentor_without_capacity_is_neither_matched_nor_reported_unmatched() -> None:
    full = mentor(capacity=0)
    result = match([full], [mentee()], settings())
    assert result.proposals == ()
    assert [u.candidate.role for u in result.unmatched] == ["mentee"]
    assert reason_of(result, result.unmatched[0].candidate) == (
        "no eligible mentor: the only candidate is without free capacity"
    )


# --- soft criteria ------------------------------------------------------------------------------


def test_shared_topics_are_compared_case_insensitively_and_named() -> None:
    teacher = mentor(topics=("social media", "slack", "AI-tools", "Python"))
    learner = mentee(topics=("AI tools", "Slack", "Social Media", "Excel"))
    value, text = criterion(teacher, learner, "topic_overlap")
    assert value == 1.0
    assert text == "3 shared topics: AI tools, Slack, Social Media"


def test_each_shared_topic_counts_a_third_up_to_three() -> None:
    learner = mentee(topics=("Slack", "Teams", "TikTok", "Python"))
    assert criterion(mentor(topics=("Slack",)), learner, "topic_overlap") == (
        1 / 3,
        "1 shared topic: Slack",
    )
    assert criterion(mentor(topics=("Slack", "Teams")), learner, "topic_overlap")[0] == (2 / 3)
    four = mentor(topics=("Slack", "Teams", "TikTok", "Python"))
    assert criterion(four, learner, "topic_overlap")[0] == 1.0
    assert criterion(mentor(topics=("Excel",)), learner, "topic_overlap") == (
        0.0,
        "no shared topics",
    )


def test_a_topic_that_is_a_focus_area_counts_double() -> None:
    teacher = mentor(topics=("Diversity & Inclusion",))
    learner = mentee(topics=("diversity-inclusion",))
    plain = criterion(teacher, learner, "topic_overlap")
    focused = criterion(teacher, learner, "topic_overlap", focus_areas=("diversity_inclusion",))
    assert plain == (1 / 3, "1 shared topic: diversity-inclusion")
    assert focused == (2 / 3, "1 shared topic: diversity-inclusion (focus area)")


def test_different_departments_score_best() -> None:
    sales, finance = mentor(department="Sales"), mentee(department="Finance")
    assert criterion(sales, finance, "different_department") == (
        1.0,
        "different departments (Sales / Finance)",
    )
    assert criterion(sales, mentee(department="sales"), "different_department") == (
        0.0,
        "same department (sales)",
    )
    assert criterion(sales, mentee(), "different_department") == (0.5, "department unknown")


def test_working_hours_overlap_is_computed_across_time_zones() -> None:
    # Berlin 14:00-18:00 is 13:00-17:00 UTC in January; New York 09:00-12:00 is 14:00-17:00 UTC.
    berlin = mentor(time_zone="Europe/Berlin", availability=(("mon", "14:00", "18:00"),))
    new_york = mentee(time_zone="America/New_York", availability=(("mon", "09:00", "12:00"),))
    assert criterion(berlin, new_york, "working_hours_overlap") == (
        1.0,
        "3 h of overlapping working hours a week",
    )
    one_hour = mentee(time_zone="America/New_York", availability=(("mon", "09:00", "10:00"),))
    assert criterion(berlin, one_hour, "working_hours_overlap") == (
        0.5,
        "1 h of overlapping working hours a week",
    )
    morning = mentee(time_zone="America/New_York", availability=(("mon", "07:00", "08:00"),))
    assert criterion(berlin, morning, "working_hours_overlap") == (
        0.0,
        "no overlapping working hours",
    )


def test_office_hours_are_assumed_when_no_availability_is_given() -> None:
    # Mon-Fri 09:00-17:00: Berlin 08-16 UTC and New York 14-22 UTC share 2 h a day.
    berlin = mentor(time_zone="Europe/Berlin")
    new_york = mentee(time_zone="America/New_York")
    assert criterion(berlin, new_york, "working_hours_overlap") == (
        1.0,
        "10 h of overlapping working hours a week (Mon-Fri 09:00-17:00 local assumed for both)",
    )


def test_the_week_wraps_around_and_half_hour_zones_are_exact() -> None:
    # Sunday 20:00 in Los Angeles is Monday 04:00 UTC, Monday 13:00 in Tokyo.
    los_angeles = mentor(time_zone="America/Los_Angeles", availability=(("sun", "20:00", "22:00"),))
    tokyo = mentee(time_zone="Asia/Tokyo", availability=(("mon", "13:00", "14:30"),))
    assert criterion(los_angeles, tokyo, "working_hours_overlap")[1] == (
        "1.5 h of overlapping working hours a week"
    )
    # 09:00 in Kolkata (UTC+5:30) is 03:30 UTC.
    kolkata = mentee(time_zone="Asia/Kolkata", availability=(("wed", "09:00", "10:00"),))
    utc = mentor(availability=(("wed", "03:45", "06:00"),))
    assert criterion(utc, kolkata, "working_hours_overlap")[1] == (
        "0.75 h of overlapping working hours a week"
    )


def test_languages_shared_none_or_unknown() -> None:
    speaker = mentor(languages=("English", "German"))
    assert criterion(speaker, mentee(languages=("english",)), "shared_language") == (
        1.0,
        "shared language: english",
    )
    assert criterion(speaker, mentee(languages=("Spanish",)), "shared_language") == (
        0.0,
        "no shared language",
    )
    assert criterion(speaker, mentee(), "shared_language") == (0.5, "language unknown")


def test_location_same_different_or_unknown() -> None:
    berlin = mentor(location="Berlin")
    assert criterion(berlin, mentee(location="Berlin"), "location") == (
        1.0,
        "same location: Berlin",
    )
    assert criterion(berlin, mentee(location="Madrid"), "location") == (0.0, "different locations")
    assert criterion(berlin, mentee(), "location") == (0.5, "location unknown")


# --- the score ----------------------------------------------------------------------------------


def test_the_score_is_the_weighted_mean_of_the_criteria() -> None:
    a = mentor(topics=("Slack",), department="Sales")
    b = mentee(topics=("Slack", "Teams"), department="Finance")
    # topic 1/3 with weight 3, department 1 with weight 1: (1 + 1) / 4 = 50 %.
    weights = {"topic_overlap": 3.0, "different_department": 1.0}
    score, explanation = score_pair(a, b, settings(weights=weights))
    assert score == 50.0
    assert [c.weight for c in explanation] == [3.0, 1.0, 0.0, 0.0, 0.0]
    assert score_pair(a, b, settings(weights=TOPICS_ONLY))[0] == 33.3
    assert score_pair(a, b, settings(weights={"location": 0.0}))[0] == 0.0


def test_unknown_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown criteria in weights: age"):
        score_pair(mentor(), mentee(), settings(weights={"age": 1.0}))


# --- the assignment -----------------------------------------------------------------------------


def test_a_mentor_with_capacity_two_gets_two_mentees() -> None:
    busy = mentor(capacity=2, topics=("Slack", "Teams", "TikTok"))
    other = mentor(topics=("Python",))
    learners = [mentee(topics=("Slack", "Teams", "TikTok")) for _ in range(3)]
    result = match([busy, other], learners, settings(weights=TOPICS_ONLY))
    assert sorted(p.mentor.enrollment_id == busy.enrollment_id for p in result.proposals) == [
        False,
        True,
        True,
    ]
    assert result.total_score == 200.0
    assert result.unmatched == ()


def test_participation_and_quality_can_choose_differently() -> None:
    strong = mentor(topics=("Slack", "Teams", "TikTok"))
    weak = mentor(topics=("Slack",))
    wants_all = mentee(topics=("Slack", "Teams", "TikTok"))
    wants_teams = mentee(topics=("Teams",))
    # weak + wants_teams may not pair: only strong can take wants_teams.
    excluded = {(weak.employee_id, wants_teams.employee_id)}
    cohort = ([strong, weak], [wants_all, wants_teams])

    most = match(*cohort, settings(weights=TOPICS_ONLY, priority="participation"), excluded)
    assert pairs(most) == {
        (strong.enrollment_id, wants_teams.enrollment_id),
        (weak.enrollment_id, wants_all.enrollment_id),
    }
    assert most.total_score == 66.6

    best = match(*cohort, settings(weights=TOPICS_ONLY, priority="quality"), excluded)
    assert pairs(best) == {(strong.enrollment_id, wants_all.enrollment_id)}
    assert best.total_score == 100.0
    assert reason_of(best, wants_teams) == (
        "the only eligible mentor was taken by better-scoring pairs"
    )
    assert reason_of(best, weak) == (
        "capacity not used: 1 of 1 slot free; the only eligible mentee was taken by "
        "better-scoring pairs"
    )


def test_quality_leaves_pairs_below_the_minimum_score_unmatched() -> None:
    teacher = mentor(topics=("Slack",))
    learner = mentee(topics=("Slack", "Teams"))
    s = settings(weights=TOPICS_ONLY, priority="quality", min_score=40)
    result = match([teacher], [learner], s)
    assert result.proposals == ()
    assert reason_of(result, learner) == "no eligible pair scores at least 40 (best 33.3)"
    assert reason_of(result, teacher) == (
        "capacity not used: 1 of 1 slot free; no eligible pair scores at least 40 (best 33.3)"
    )
    assert [u.code for u in result.unmatched] == ["below_min_score", "below_min_score"]
    # Participation ignores the minimum: a weak pair beats no pair.
    assert (
        len(match([teacher], [learner], dataclasses.replace(s, priority="participation")).proposals)
        == 1
    )


def test_unmatched_mentees_learn_which_rules_ruled_everyone_out() -> None:
    boss = mentee(6)
    reports = [mentor(2, ancestors=frozenset({boss.employee_id})) for _ in range(2)]
    seniors = [mentor(6) for _ in range(3)]
    result = match([*reports, *seniors], [boss], settings())
    (unmatched_boss,) = [u for u in result.unmatched if u.candidate == boss]
    assert unmatched_boss.reason == (
        "no eligible mentor: all 5 candidates are below the level gap of 1 (3) "
        "or in your reporting line (2)"
    )
    assert unmatched_boss.code == "not_eligible"
    assert unmatched_boss.counts == {"level_gap": 3, "reporting_line": 2}


def test_mentors_with_spare_capacity_learn_why() -> None:
    teacher = mentor(capacity=3)
    learner = mentee()
    too_junior = mentee(1)
    result = match([teacher], [learner, too_junior], settings())
    assert reason_of(result, teacher) == (
        "capacity not used: 2 of 3 slots free; no further eligible mentee"
    )
    assert reason_of(result, too_junior) == (
        "no eligible mentor: the only candidate is below the level gap of 1"
    )


def test_a_mentee_whose_mentors_are_all_taken_is_told_so() -> None:
    teacher = mentor(topics=("Slack",))
    first, second = mentee(topics=("Slack",)), mentee(topics=("Teams",))
    result = match([teacher], [first, second], settings(weights=TOPICS_ONLY))
    assert pairs(result) == {(teacher.enrollment_id, first.enrollment_id)}
    assert reason_of(result, second) == "the only eligible mentor was taken by other pairs"


def test_the_same_cohort_in_any_order_gives_the_same_proposals() -> None:
    rnd = random.Random(7)
    topics = ["Slack", "Teams", "AI tools", "TikTok"]
    mentors = [
        mentor(rnd.randint(1, 3), capacity=rnd.randint(1, 2), topics=tuple(rnd.sample(topics, 2)))
        for _ in range(6)
    ]
    mentees = [mentee(rnd.randint(4, 6), topics=tuple(rnd.sample(topics, 2))) for _ in range(8)]
    first = match(mentors, mentees, settings(weights=TOPICS_ONLY))
    for _ in range(5):
        rnd.shuffle(mentors)
        rnd.shuffle(mentees)
        again = match(mentors, mentees, settings(weights=TOPICS_ONLY))
        assert again.proposals == first.proposals
        assert again.unmatched == first.unmatched


def test_proposals_carry_the_score_and_explanation_of_score_pair() -> None:
    a = mentor(department="Sales", topics=("Slack", "Teams"), languages=("English",))
    b = mentee(department="Finance", topics=("Teams",), languages=("English",), location="Berlin")
    (proposal,) = match([a], [b], settings()).proposals
    assert (proposal.score, proposal.explanation) == score_pair(a, b, settings())


def test_timings_are_reported() -> None:
    result = match([mentor()], [mentee()], settings())
    assert {"score", "solve"} <= set(result.timings_ms)


def test_an_empty_cohort_matches_nobody() -> None:
    assert match([], [], settings()).proposals == ()
    result = match([], [lonely := mentee()], settings())
    assert reason_of(result, lonely) == "there are no mentors to match with"
    result = match([idle := mentor(capacity=2)], [], settings())
    assert reason_of(result, idle) == (
        "capacity not used: 2 of 2 slots free; there are no mentees to match with"
    )


def test_a_large_vocabulary_scores_like_a_small_one() -> None:
    # Hundreds of distinct topics and languages switch the cohort scoring to other methods.
    vocabulary = [f"topic {n}" for n in range(400)]
    languages = [f"language {n}" for n in range(100)]
    rnd = random.Random(3)
    mentors = [
        mentor(
            topics=tuple(rnd.sample(vocabulary, 200)), languages=tuple(rnd.sample(languages, 40))
        )
        for _ in range(5)
    ]
    mentees = [
        mentee(
            topics=tuple(rnd.sample(vocabulary, 200)), languages=tuple(rnd.sample(languages, 40))
        )
        for _ in range(5)
    ]
    result = match(mentors, mentees, settings(focus_areas=("topic_7",)))
    assert len(result.proposals) == 5
    for p in result.proposals:
        assert (p.score, p.explanation) == score_pair(
            p.mentor, p.mentee, settings(focus_areas=("topic_7",))
        )


def test_roles_and_duplicates_are_checked() -> None:
    with pytest.raises(ValueError, match="not a mentor"):
        match([mentee()], [], settings())
    twice = mentee()
    with pytest.raises(ValueError, match="given twice"):
        match([], [twice, twice], settings())


def test_the_bare_solver_keeps_only_positive_weights() -> None:
    weights = np.array([[5.0, 0.0], [0.0, 0.0]])
    rows, cols = solve_matrix(weights)
    assert (rows.tolist(), cols.tolist()) == ([0], [0])
    teacher, learner = mentor(), mentee()
    assert solver_weights([teacher], [learner], settings()).shape == (1, 1)
