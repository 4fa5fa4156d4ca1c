"""The count tests and Benjamini–Hochberg (``app.alerts.stats``) against independent
computations: exact Poisson sums in fractions, scipy's distributions called directly, BH by
hand and scipy's ``false_discovery_control``."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from app.alerts.stats import (
    benjamini_hochberg,
    bh_adjusted,
    choose_model,
    mean_and_variance,
    test_count,
)

SETTINGS = settings(max_examples=200, deadline=None, database=None)


def poisson_cdf_exact(k: int, mean: int) -> float:
    """P(X <= k) for an integer mean, summed exactly: e^-mean * sum mean^i / i!."""
    total = sum(Fraction(mean**i, math.factorial(i)) for i in range(k + 1))
    return float(total) * math.exp(-mean)


@pytest.mark.parametrize(("observed", "mean"), [(0, 5), (2, 10), (7, 20), (30, 60), (0, 1)])
def test_poisson_p_value_is_the_exact_lower_tail(observed: int, mean: int) -> None:
    model = choose_model([mean] * 6)  # no variance across the weeks: Poisson
    assert model.model == "poisson"
    assert model.dispersion is None
    result = test_count(observed, model)
    assert result.p_value == pytest.approx(poisson_cdf_exact(observed, mean), rel=1e-12)


def test_worked_poisson_example() -> None:
    # 10 units a week, 2 sold: P(X <= 2) = e^-10 (1 + 10 + 50) = 61 e^-10.
    result = test_count(2, choose_model([10, 10, 10, 10]))
    assert result.p_value == pytest.approx(61 * math.exp(-10), rel=1e-12)
    assert round(result.p_value, 6) == 0.002769


def test_negative_binomial_by_the_method_of_moments() -> None:
    weeks = [4, 16, 6, 14]  # mean 10, sample variance 104 / 3
    model = choose_model(weeks)
    assert model.model == "negative_binomial"
    assert model.mean == pytest.approx(10)
    assert model.variance == pytest.approx(104 / 3)
    r = 100 / (104 / 3 - 10)  # m² / (s² - m)
    assert model.dispersion == pytest.approx(r)
    # scipy's parametrisation, called directly: mean r(1-p)/p = 10, variance = 104/3.
    p = r / (r + 10)
    assert scipy_stats.nbinom.mean(r, p) == pytest.approx(10)
    assert scipy_stats.nbinom.var(r, p) == pytest.approx(104 / 3)
    for observed in range(10):
        expected = scipy_stats.nbinom.cdf(observed, r, p)
        assert test_count(observed, model).p_value == pytest.approx(expected, rel=1e-12)
    # The heavier tail: the same drop is less significant than under Poisson.
    assert test_count(2, model).p_value > test_count(2, choose_model([10] * 4)).p_value


def test_model_choice_edges() -> None:
    assert choose_model([7]).model == "poisson"  # one week: no variance
    assert choose_model([0, 0, 0, 0]).model == "poisson"
    underdispersed = choose_model([9, 10, 11, 10])
    assert underdispersed.model == "poisson"
    assert underdispersed.mean == 10
    scaled = choose_model([4, 16, 6, 14], scale=0.5)
    assert scaled.mean == pytest.approx(5)
    assert scaled.variance == pytest.approx(104 / 12)
    with pytest.raises(ValueError):
        choose_model([])
    with pytest.raises(ValueError):
        choose_model([1, 2], scale=0)
    with pytest.raises(ValueError):
        test_count(-1, choose_model([3, 3]))
    assert mean_and_variance([1, 2, 3]) == (2.0, 1.0)


def test_bh_by_hand() -> None:
    # m = 6, q = 0.05: thresholds k q / m = 0.00833, 0.01667, 0.025, 0.0333, 0.04167, 0.05.
    p = [0.030, 0.001, 0.200, 0.012, 0.040, 0.024]
    # sorted: 0.001 (1) ok, 0.012 (2) ok, 0.024 (3) ok, 0.030 (4) ok, 0.040 (5) ok, 0.2 no.
    assert benjamini_hochberg(p, 0.05) == [True, True, False, True, True, True]
    # q = 0.02: thresholds 0.00333, 0.00667, 0.01, 0.01333, ...: only 0.001 passes.
    assert benjamini_hochberg(p, 0.02) == [False, True, False, False, False, False]
    # Step-up: 0.012 (rank 2) fails 0.00667 at q = 0.02, but a later rank passing would carry
    # it; here none does. At q = 0.03 rank 4 (0.030 <= 0.02) fails, rank 3 (0.024 <= 0.015)
    # fails, rank 2 (0.012 <= 0.01) fails: only rank 1.
    assert benjamini_hochberg(p, 0.03) == [False, True, False, False, False, False]
    adjusted = bh_adjusted(p)
    # p_(k) m / k by rank: 0.006, 0.036, 0.048, 0.045, 0.048, 0.2; then the running minimum
    # from the top rank down: 0.2, 0.048, 0.045, 0.045, 0.036, 0.006.
    assert adjusted == pytest.approx([0.045, 0.006, 0.2, 0.036, 0.048, 0.045])
    assert benjamini_hochberg([], 0.05) == []


def test_bh_step_up_carries_smaller_ranks() -> None:
    # 0.02 alone would fail rank 1's 0.0125 at q = 0.05, m = 4, but rank 4 (0.05 <= 0.05)
    # passes, which rejects everything below it.
    assert benjamini_hochberg([0.02, 0.03, 0.04, 0.05], 0.05) == [True] * 4


p_lists = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40)
levels = st.floats(min_value=1e-4, max_value=1.0)


@SETTINGS
@given(p_lists)
def test_adjusted_p_values_match_scipy(p: list[float]) -> None:
    expected = scipy_stats.false_discovery_control(p, method="bh")
    assert bh_adjusted(p) == pytest.approx(list(expected), rel=1e-9, abs=1e-15)


@SETTINGS
@given(p_lists, levels)
def test_rejected_exactly_when_the_adjusted_p_value_is_within_the_level(
    p: list[float], level: float
) -> None:
    rejected = benjamini_hochberg(p, level)
    adjusted = bh_adjusted(p)
    for r, a in zip(rejected, adjusted, strict=True):
        # Up to the rounding of p m / k against k q / m.
        if abs(a - level) > 1e-12:
            assert r == (a <= level)


@SETTINGS
@given(p_lists, levels, levels)
def test_bh_rejections_are_monotone_in_the_level(p: list[float], a: float, b: float) -> None:
    low, high = min(a, b), max(a, b)
    at_low = benjamini_hochberg(p, low)
    at_high = benjamini_hochberg(p, high)
    assert all(h for lo, h in zip(at_low, at_high, strict=True) if lo)


@SETTINGS
@given(
    st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=1000),
)
def test_no_drop_when_observed_is_at_or_above_the_expectation(weeks: list[int], extra: int) -> None:
    model = choose_model(weeks)
    observed = math.ceil(model.mean) + extra
    assert test_count(observed, model).p_value == 1.0
