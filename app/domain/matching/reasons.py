"""Why people stay unmatched, read off the eligibility and score matrices of a run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from app.domain.matching.model import RULES, Candidate, EngineSettings, Unmatched
from app.domain.matching.scoring import threshold10

_RULED_OUT = {
    "level_gap": "below the level gap of {gap}",
    "reporting_line": "in your reporting line",
    "excluded": "excluded from pairing with you",
    "inactive": "no longer active",
    "same_person": "yourself",
}


def _ruled_out(counts: Mapping[str, int], total: int, gap: int, full: str) -> str:
    phrases = {**_RULED_OUT, "capacity": full}
    present = [(rule, counts[rule]) for rule in RULES if counts.get(rule)]
    subject = f"all {total} candidates are" if total > 1 else "the only candidate is"
    if len(present) == 1:
        return f"{subject} {phrases[present[0][0]].format(gap=gap)}"
    items = [f"{phrases[rule].format(gap=gap)} ({n})" for rule, n in present]
    return f"{subject} {', '.join(items[:-1])} or {items[-1]}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class _Explainer:
    """Reasons for one side, read off the eligibility and score matrices (oriented person x
    partner)."""

    def __init__(
        self,
        *,
        settings: EngineSettings,
        partner: str,
        full: str,
        violations: Mapping[str, NDArray[np.bool_]],
        eligible: NDArray[np.bool_],
        allowed: NDArray[np.bool_],
        scores: NDArray[np.int16],
    ) -> None:
        self.settings = settings
        self.partner = partner
        self.full = full
        self.violations = violations
        self.eligible = eligible
        self.allowed = allowed
        self.scores = scores
        self.quality = settings.priority == "quality"

    def reason(self, k: int, person: Candidate, used: int) -> tuple[str, str, dict[str, int]]:
        """(code, reason, rule counts) for the person on row ``k``."""
        counts = {r: int(np.count_nonzero(self.violations[r][k])) for r in RULES}
        counts = {r: n for r, n in counts.items() if n}
        partners = self.eligible.shape[1]
        eligible = int(np.count_nonzero(self.eligible[k]))
        allowed = int(np.count_nonzero(self.allowed[k]))
        floor = f"{self.settings.min_score:g}"
        threshold = threshold10(self.settings.min_score) > 0
        if not person.active:
            return "inactive", "the employee is no longer active", counts
        if person.capacity < 1:
            return "no_capacity", "already has a partner in this program", counts
        if partners == 0:
            return "no_candidates", f"there are no {self.partner}s to match with", counts
        if eligible == 0:
            text = _ruled_out(counts, partners, self.settings.min_level_gap, self.full)
            return "not_eligible", f"no eligible {self.partner}: {text}", counts
        below = eligible - allowed
        if allowed == 0:
            best = int(np.max(self.scores[k], where=self.eligible[k], initial=0)) / 10
            text = f"no eligible pair scores at least {floor} (best {best})"
            return "below_min_score", text, counts
        others = allowed - used
        scoring = f" scoring at least {floor}" if self.quality and threshold else ""
        note = f" ({below} more score below {floor})" if below else ""
        if others == 0:
            return "no_more_eligible", f"no further eligible {self.partner}{scoring}{note}", counts
        by = "better-scoring pairs" if self.quality else "other pairs"
        if used:
            who = f"the other {_plural(others, 'eligible ' + self.partner)}{scoring}"
        elif others == 1:
            who = f"the only eligible {self.partner}{scoring}"
        else:
            who = f"all {others} eligible {self.partner}s{scoring}"
        verb = "was" if others == 1 else "were"
        return "taken", f"{who} {verb} taken by {by}{note}", counts


def unmatched_reasons(
    mentors: Sequence[Candidate],
    mentees: Sequence[Candidate],
    settings: EngineSettings,
    pairs: Sequence[tuple[int, int]],
    *,
    violations: Mapping[str, NDArray[np.bool_]],
    eligible: NDArray[np.bool_],
    allowed: NDArray[np.bool_],
    scores: NDArray[np.int16],
) -> list[Unmatched]:
    """Every mentee without a mentor and every mentor with free slots left, with the reason."""
    used = np.zeros(len(mentors), dtype=np.intp)
    matched = np.zeros(len(mentees), dtype=np.bool_)
    for i, j in pairs:
        used[i] += 1
        matched[j] = True
    out: list[Unmatched] = []
    lonely = np.flatnonzero(~matched)
    if len(lonely):
        # Transposed slices of only the unmatched columns: a mentee's partners are mentors.
        side = _Explainer(
            settings=settings,
            partner="mentor",
            full="without free capacity",
            violations={r: m[:, lonely].T for r, m in violations.items()},
            eligible=eligible[:, lonely].T,
            allowed=allowed[:, lonely].T,
            scores=scores[:, lonely].T,
        )
        for k, j in enumerate(lonely.tolist()):
            code, reason, counts = side.reason(k, mentees[j], 0)
            out.append(Unmatched(mentees[j], reason, code, counts))
    # Mentors without free slots are full, not unmatched, so they are not reported.
    spare = [i for i, m in enumerate(mentors) if m.capacity > used[i]]
    if spare:
        side = _Explainer(
            settings=settings,
            partner="mentee",
            full="already matched",
            violations={r: m[spare] for r, m in violations.items()},
            eligible=eligible[spare],
            allowed=allowed[spare],
            scores=scores[spare],
        )
        for k, i in enumerate(spare):
            mentor = mentors[i]
            free = mentor.capacity - int(used[i])
            code, reason, counts = side.reason(k, mentor, int(used[i]))
            prefix = f"capacity not used: {free} of {_plural(mentor.capacity, 'slot')} free; "
            out.append(Unmatched(mentor, prefix + reason, code, counts))
    return out
