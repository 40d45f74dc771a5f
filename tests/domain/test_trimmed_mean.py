"""The trimmed mean behind every rating aggregate, and the small-group suppression rule.

Ratings are summarised by a histogram (five counts, whatever the number of respondents); the
mean computed from it must be exactly the 10% trimmed mean of the ratings themselves, as
``scipy.stats.trim_mean`` defines it.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.stats import trim_mean

from app.domain.feedback import MIN_GROUP, TRIM, suppressed, trimmed_mean

ratings = st.lists(st.integers(min_value=1, max_value=5), max_size=400)


def histogram_of(values: list[int]) -> dict[int, int]:
    return dict(Counter(values))


@given(ratings)
@example([])
@example([5])
@example([1, 5])
@example([1] * 9 + [5])  # n=10: one value cut from each end
@example([1] * 29 + [5])  # n=30: 0.1 * 30 is 3.0000000000000004 in floating point
@example([3] * 19)  # n=19: nothing cut
def test_equals_scipy_trim_mean_at_ten_percent(values: list[int]) -> None:
    result = trimmed_mean(histogram_of(values))
    if not values:
        assert result is None
        return
    assert result == pytest.approx(float(trim_mean(values, 0.1)), rel=1e-12, abs=1e-12)


@given(ratings.filter(bool))
def test_the_default_proportion_is_ten_percent(values: list[int]) -> None:
    assert TRIM == 0.1
    assert trimmed_mean(histogram_of(values)) == trimmed_mean(histogram_of(values), 0.1)


@given(ratings.filter(bool), st.floats(min_value=0.0, max_value=0.49))
def test_equals_scipy_at_any_proportion_below_a_half(values: list[int], proportion: float) -> None:
    result = trimmed_mean(histogram_of(values), proportion)
    assert result == pytest.approx(float(trim_mean(values, proportion)), rel=1e-12, abs=1e-12)


@given(ratings)
def test_zero_counts_and_key_order_change_nothing(values: list[int]) -> None:
    """A histogram listing every rating 5..1, zero counts included, gives the same answer."""
    full = {r: values.count(r) for r in (5, 4, 3, 2, 1)}
    assert trimmed_mean(full) == trimmed_mean(histogram_of(values))


@given(ratings.filter(bool))
def test_stays_within_the_ratings(values: list[int]) -> None:
    result = trimmed_mean(histogram_of(values))
    assert result is not None
    assert min(values) <= result <= max(values)


def test_no_ratings_no_mean() -> None:
    assert trimmed_mean({}) is None
    assert trimmed_mean({1: 0, 2: 0, 3: 0, 4: 0, 5: 0}) is None


def test_outliers_are_cut() -> None:
    # Ten ratings: the lowest and the highest are dropped before averaging.
    assert trimmed_mean({1: 1, 4: 8, 5: 1}) == 4.0


@pytest.mark.parametrize(("respondents", "hidden"), [(0, True), (1, True), (2, True), (3, False)])
def test_aggregates_over_fewer_than_three_respondents_are_suppressed(
    respondents: int, hidden: bool
) -> None:
    assert suppressed(respondents) is hidden


@given(st.integers(min_value=0, max_value=10_000))
def test_suppressed_exactly_below_the_minimum_group(respondents: int) -> None:
    assert MIN_GROUP == 3
    assert suppressed(respondents) is (respondents < 3)
