"""Soft criteria: one pair explained in words, and the whole cohort scored as matrices.

Every criterion value is kept as an integer numerator over 24 (thirds, halves and eighths all
fit), so the per-pair path and the matrix path feed the very same numbers into one shared
function, :func:`score10`, and can never disagree about a score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from app.domain.matching.hours import (
    DEFAULT_AVAILABILITY,
    QUARTERS_PER_WEEK,
    overlap_quarters,
    weekly_mask,
)
from app.domain.matching.model import CRITERIA, Candidate, CriterionScore

DENOMINATOR = 24
TOPICS_FOR_FULL_VALUE = 3
QUARTERS_FOR_FULL_VALUE = 8  # two hours a week are enough to meet
# Above this many distinct shared topics a sparse product beats a dense one.
DENSE_VOCABULARY_LIMIT = 256

Matrix = NDArray[np.uint8]
Scores10 = NDArray[np.int16]


@lru_cache(maxsize=65536)
def topic_key(text: str) -> str:
    """Topics and focus areas compared: lower case, spaces, ``-``, ``&`` and ``_`` as one ``_``."""
    cleaned = text.casefold().replace("&", " ").replace("-", " ").replace("_", " ")
    return "_".join(cleaned.split())


@lru_cache(maxsize=65536)
def text_key(text: str | None) -> str:
    """Departments, locations and languages compared: case and extra spaces ignored."""
    return " ".join(text.split()).casefold() if text else ""


def _topic_numerator(weighted_overlap: int) -> int:
    return min(weighted_overlap, TOPICS_FOR_FULL_VALUE) * (DENOMINATOR // TOPICS_FOR_FULL_VALUE)


def _hours_numerator(quarters: int) -> int:
    return min(quarters, QUARTERS_FOR_FULL_VALUE) * (DENOMINATOR // QUARTERS_FOR_FULL_VALUE)


def threshold10(min_score: float) -> int:
    """Ten times the lowest score that reaches ``min_score``."""
    # Scores are compared as stored (one decimal), so 39.95 as a minimum means 40.0.
    return max(0, math.ceil(round(min_score * 10, 6)))


def _hours_text(quarters: int) -> str:
    if not quarters:
        return "no overlapping working hours"
    return f"{quarters / 4:g} h of overlapping working hours a week"


def score10(numerators: Mapping[str, NDArray[np.uint8]], weights: Mapping[str, float]) -> Scores10:
    """Ten times the 0-100 score, rounded half up, for numerator arrays of any shape."""
    shape = numerators[CRITERIA[0]].shape
    used = [(c, float(weights.get(c, 0.0))) for c in CRITERIA if weights.get(c, 0.0) > 0]
    if not used:
        return np.zeros(shape, dtype=np.int16)
    total = 0.0
    for _, weight in used:
        total += weight
    acc = np.zeros(shape, dtype=np.float64)
    for criterion, weight in used:
        acc += numerators[criterion] * weight
    acc *= 1000.0 / (DENOMINATOR * total)
    acc += 0.5
    np.floor(acc, out=acc)
    return acc.astype(np.int16)


# --- one pair, in words ------------------------------------------------------------------------


def _topic(mentor: Candidate, mentee: Candidate, focus: frozenset[str]) -> tuple[int, str]:
    teaches = {topic_key(t) for t in mentor.topics}
    shared: dict[str, str] = {}  # key -> the mentee's wording
    for topic in mentee.topics:
        key = topic_key(topic)
        if key and key in teaches:
            shared.setdefault(key, topic)
    if not shared:
        return 0, "no shared topics"
    weighted = sum(2 if key in focus else 1 for key in shared)
    shown = sorted(
        (f"{topic} (focus area)" if key in focus else topic for key, topic in shared.items()),
        key=lambda t: (t.casefold(), t),
    )
    noun = "topic" if len(shown) == 1 else "topics"
    return _topic_numerator(weighted), f"{len(shown)} shared {noun}: {', '.join(shown)}"


def _department(mentor: Candidate, mentee: Candidate) -> tuple[int, str]:
    a, b = text_key(mentor.department), text_key(mentee.department)
    if not a or not b:
        return DENOMINATOR // 2, "department unknown"
    if a == b:
        return 0, f"same department ({mentee.department})"
    return DENOMINATOR, f"different departments ({mentor.department} / {mentee.department})"


def _hours(mentor: Candidate, mentee: Candidate) -> tuple[int, str]:
    quarters = overlap_quarters(
        weekly_mask(mentor.time_zone, mentor.availability),
        weekly_mask(mentee.time_zone, mentee.availability),
    )
    text = _hours_text(quarters)
    assumed = [c.role for c in (mentor, mentee) if not c.availability]
    if assumed:
        who = "both" if len(assumed) == 2 else f"the {assumed[0]}"
        text += f" (Mon-Fri 09:00-17:00 local assumed for {who})"
    return _hours_numerator(quarters), text


def _language(mentor: Candidate, mentee: Candidate) -> tuple[int, str]:
    speaks = {text_key(x) for x in mentor.languages} - {""}
    names = {text_key(x): x for x in reversed(mentee.languages) if text_key(x)}
    if not speaks or not names:
        return DENOMINATOR // 2, "language unknown"
    shared = sorted((names[k] for k in names.keys() & speaks), key=lambda t: (t.casefold(), t))
    if not shared:
        return 0, "no shared language"
    noun = "language" if len(shared) == 1 else "languages"
    return DENOMINATOR, f"shared {noun}: {', '.join(shared)}"


def _location(mentor: Candidate, mentee: Candidate) -> tuple[int, str]:
    a, b = text_key(mentor.location), text_key(mentee.location)
    if not a or not b:
        return DENOMINATOR // 2, "location unknown"
    if a == b:
        return DENOMINATOR, f"same location: {mentee.location}"
    return 0, "different locations"


def explain_pair(
    mentor: Candidate, mentee: Candidate, weights: Mapping[str, float], focus_areas: Iterable[str]
) -> tuple[dict[str, int], tuple[CriterionScore, ...]]:
    """Each criterion's numerator (over 24) and its explanation for one pair."""
    focus = frozenset(topic_key(f) for f in focus_areas) - {""}
    parts = {
        "topic_overlap": _topic(mentor, mentee, focus),
        "different_department": _department(mentor, mentee),
        "working_hours_overlap": _hours(mentor, mentee),
        "shared_language": _language(mentor, mentee),
        "location": _location(mentor, mentee),
    }
    numerators = {c: parts[c][0] for c in CRITERIA}
    explanation = tuple(
        CriterionScore(
            criterion=c,
            value=parts[c][0] / DENOMINATOR,
            weight=float(weights.get(c, 0.0)),
            text=parts[c][1],
        )
        for c in CRITERIA
    )
    return numerators, explanation


# --- the whole cohort, as matrices -------------------------------------------------------------


def _incidence(
    sets: Sequence[frozenset[str]], index: Mapping[str, int], weight: Mapping[str, float]
) -> NDArray[np.float32]:
    out = np.zeros((len(sets), len(index)), dtype=np.float32)
    rows, cols, values = [], [], []
    for row, keys in enumerate(sets):
        for key in keys:
            if key in index:
                rows.append(row)
                cols.append(index[key])
                values.append(weight.get(key, 1.0))
    out[rows, cols] = values
    return out


def _shared_counts(
    left: Sequence[frozenset[str]],
    right: Sequence[frozenset[str]],
    weight: Mapping[str, float] | None = None,
) -> NDArray[np.float32]:
    """(len(left) x len(right)) sum of weights of the keys both sides have."""
    vocabulary = sorted(frozenset().union(*left) & frozenset().union(*right))
    if not vocabulary:
        return np.zeros((len(left), len(right)), dtype=np.float32)
    index = {key: i for i, key in enumerate(vocabulary)}
    a = _incidence(left, index, {})
    b = _incidence(right, index, weight or {})
    if len(vocabulary) <= DENSE_VOCABULARY_LIMIT:
        # Small integers in float32 stay exact, and BLAS makes this the cheapest step.
        return a @ b.T
    from scipy import sparse  # type: ignore[import-untyped, unused-ignore]

    product = sparse.csr_matrix(a) @ sparse.csr_matrix(b).T
    return np.asarray(product.toarray(), dtype=np.float32)


def _shares_any(
    left: Sequence[frozenset[str]], right: Sequence[frozenset[str]]
) -> NDArray[np.bool_]:
    """(len(left) x len(right)): whether the two sets have a key in common."""
    vocabulary = sorted(frozenset().union(*left) & frozenset().union(*right))
    if len(vocabulary) > 64:
        return _shared_counts(left, right) > 0
    # A few dozen keys (languages) fit in one machine word: AND beats a matrix product.
    dtype = next(
        t
        for t in (np.uint8, np.uint16, np.uint32, np.uint64)
        if np.iinfo(t).bits >= len(vocabulary)
    )
    bit = {key: 1 << i for i, key in enumerate(vocabulary)}
    a = np.array([sum(bit.get(k, 0) for k in keys) for keys in left], dtype=dtype)
    b = np.array([sum(bit.get(k, 0) for k in keys) for keys in right], dtype=dtype)
    shared: NDArray[np.bool_] = np.bitwise_and(a[:, None], b[None, :]) != 0
    return shared


def _same_levels(left: Sequence[str], right: Sequence[str], *, same: int) -> Matrix:
    """Level 1 when either side is unknown (""), else ``same`` when equal, ``2 - same`` if not."""
    codes: dict[str, int] = {}
    for key in sorted(set(left) | set(right)):
        codes[key] = len(codes)
    a = np.array([codes[k] for k in left], dtype=np.int32)
    b = np.array([codes[k] for k in right], dtype=np.int32)
    compare = np.equal if same == 2 else np.not_equal
    out = compare(a[:, None], b[None, :]).view(np.uint8)
    out <<= 1
    unknown = codes.get("", -1)
    out[a == unknown, :] = 1
    out[:, b == unknown] = 1
    return out


def _patterns(people: Sequence[Candidate]) -> tuple[NDArray[np.float32], NDArray[np.intp]]:
    """Distinct weekly masks (as float rows) and each person's row among them."""
    rows: dict[tuple[str, tuple[tuple[str, str, str], ...]], int] = {}
    which = np.empty(len(people), dtype=np.intp)
    for i, person in enumerate(people):
        key = (person.time_zone, person.availability or DEFAULT_AVAILABILITY)
        which[i] = rows.setdefault(key, len(rows))
    masks = np.zeros((len(rows), QUARTERS_PER_WEEK), dtype=np.float32)
    for (time_zone, availability), row in rows.items():
        masks[row] = weekly_mask(time_zone, availability)
    return masks, which


def _hours_levels(mentors: Sequence[Candidate], mentees: Sequence[Candidate]) -> Matrix:
    # Many people share a time zone and a schedule: overlap distinct patterns, then look up.
    left, left_of = _patterns(mentors)
    right, right_of = _patterns(mentees)
    quarters = left @ right.T
    table = np.minimum(quarters, QUARTERS_FOR_FULL_VALUE).astype(np.uint8)
    return np.take(np.take(table, left_of, axis=0), right_of, axis=1)


#: Criterion -> (number of levels, numerator step): a numerator is always level x step.
LEVELS = {
    "topic_overlap": (TOPICS_FOR_FULL_VALUE + 1, DENOMINATOR // TOPICS_FOR_FULL_VALUE),
    "different_department": (3, DENOMINATOR // 2),
    "working_hours_overlap": (QUARTERS_FOR_FULL_VALUE + 1, DENOMINATOR // QUARTERS_FOR_FULL_VALUE),
    "shared_language": (3, DENOMINATOR // 2),
    "location": (3, DENOMINATOR // 2),
}


def profile_scores(weights: Mapping[str, float]) -> Scores10:
    """Ten times the score of every combination of criterion levels, indexed by profile code."""
    shape = [LEVELS[c][0] for c in CRITERIA]
    levels = np.indices(shape).reshape(len(shape), -1)
    numerators = {c: (levels[k] * LEVELS[c][1]).astype(np.uint8) for k, c in enumerate(CRITERIA)}
    return score10(numerators, weights)


def profile_codes(
    mentors: Sequence[Candidate], mentees: Sequence[Candidate], focus_areas: Iterable[str]
) -> NDArray[np.uint16]:
    """Every mentor x mentee pair's criterion levels folded into one code (C order over CRITERIA).

    Only 972 level combinations exist, so scoring a pair is a look-up in
    :func:`profile_scores`, computed by the same :func:`score10` the per-pair path uses.
    """
    focus = frozenset(topic_key(f) for f in focus_areas) - {""}
    teaches = [frozenset(topic_key(t) for t in c.topics) - {""} for c in mentors]
    learns = [frozenset(topic_key(t) for t in c.topics) - {""} for c in mentees]
    topics = _shared_counts(teaches, learns, dict.fromkeys(focus, 2.0))
    np.minimum(topics, TOPICS_FOR_FULL_VALUE, out=topics)
    code = topics.astype(np.uint16)
    del topics

    code *= LEVELS["different_department"][0]
    code += _same_levels(
        [text_key(c.department) for c in mentors],
        [text_key(c.department) for c in mentees],
        same=0,
    )
    code *= LEVELS["working_hours_overlap"][0]
    code += _hours_levels(mentors, mentees)

    speaks = [frozenset(text_key(x) for x in c.languages) - {""} for c in mentors]
    hears = [frozenset(text_key(x) for x in c.languages) - {""} for c in mentees]
    language = _shares_any(speaks, hears).view(np.uint8)
    language <<= 1
    language[np.array([not s for s in speaks], dtype=np.bool_), :] = 1
    language[:, np.array([not s for s in hears], dtype=np.bool_)] = 1
    code *= LEVELS["shared_language"][0]
    code += language
    del language

    code *= LEVELS["location"][0]
    code += _same_levels(
        [text_key(c.location) for c in mentors],
        [text_key(c.location) for c in mentees],
        same=2,
    )
    return code


def score_matrix(
    mentors: Sequence[Candidate],
    mentees: Sequence[Candidate],
    weights: Mapping[str, float],
    focus_areas: Iterable[str],
) -> Scores10:
    """Ten times the score of every mentor x mentee pair."""
    return np.take(profile_scores(weights), profile_codes(mentors, mentees, focus_areas))
