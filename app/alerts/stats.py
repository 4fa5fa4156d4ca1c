"""The statistics of the under-performing product rule: pure functions over counts.

**The model of a count.** The units a product sells in a window are a count. If its sales
were a steady Poisson stream, the count would be Poisson with mean = its expectation, and its
weekly counts over the baseline weeks would have a variance close to their mean. Retail
counts are often *overdispersed*: promotions, weather and paydays make some weeks busier than
others, so the variance across weeks exceeds the mean. A Poisson test on such a product
takes every ordinary slow week for a significant drop and floods the store with false alarms.

So the model is chosen from the baseline weeks themselves (``choose_model``):

- the weekly counts' sample variance ``s²`` (``ddof=1``) at most their mean ``m``: Poisson
  with mean ``m`` (no evidence of extra variation; an underdispersed product is tested as
  Poisson, the more sensitive of the two);
- ``s² > m``: negative binomial with mean ``m`` and the method-of-moments dispersion: variance
  ``m + m²/r`` matched to ``s²`` gives ``r = m² / (s² - m)`` (scipy's ``nbinom(n=r,
  p=r/(r+m))``). Its lower tail is heavier than Poisson's: a product whose weeks vary a lot
  needs a deeper drop to be significant.

With one baseline week there is no variance: Poisson. The choice is made per product and per
evaluation, and the alert says which (``model``, ``dispersion``).

**The test** is one-sided, for a drop: the p-value is ``P(X <= observed)`` under the model
(the probability of selling this little or less if nothing had changed). A count at or above
the expectation is never an alert (``test_count`` says so without a p-value computation
deciding it).

**Benjamini–Hochberg** (``benjamini_hochberg``) across a store's tested products controls the
false discovery rate: of the alerts raised, the expected share of false ones is at most the
level ``q`` (for independent or positively dependent tests). Step-up: sort the m p-values,
find the largest k with ``p_(k) <= k q / m``, reject the k smallest. The adjusted p-values
(``bh_adjusted``) are ``min over j >= i of p_(j) m / j``, capped at 1; a product is rejected at
level q exactly when its adjusted p-value is at most q.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy import stats

Model = Literal["poisson", "negative_binomial"]


@dataclass(frozen=True, slots=True)
class CountModel:
    """The distribution a window's count is tested against."""

    model: Model
    mean: float
    variance: float
    """The baseline weeks' sample variance (the mean, for Poisson without the weeks)."""
    dispersion: float | None
    """Negative binomial ``r`` (scipy's ``n``); None for Poisson."""

    def cdf(self, count: int) -> float:
        if self.model == "poisson":
            return float(stats.poisson.cdf(count, self.mean))
        assert self.dispersion is not None
        r = self.dispersion
        return float(stats.nbinom.cdf(count, r, r / (r + self.mean)))


@dataclass(frozen=True, slots=True)
class CountTest:
    observed: int
    model: CountModel
    p_value: float
    """``P(X <= observed)``; 1.0 when observed is at or above the mean (not a drop)."""


def mean_and_variance(counts: Sequence[float]) -> tuple[float, float | None]:
    """The mean and the sample variance (``ddof=1``; None for fewer than two counts)."""
    if not counts:
        raise ValueError("no counts")
    n = len(counts)
    mean = math.fsum(counts) / n
    if n < 2:
        return mean, None
    variance = math.fsum((c - mean) ** 2 for c in counts) / (n - 1)
    return mean, variance


def choose_model(weekly_counts: Sequence[float], scale: float = 1.0) -> CountModel:
    """The model of a window's count from the baseline weeks' counts (module docstring).

    ``scale`` multiplies the counts' mean and variance by ``scale`` and ``scale²`` (a peer
    store's counts brought to this store's size); the choice between Poisson and negative
    binomial is made on the scaled figures.
    """
    if scale <= 0 or not math.isfinite(scale):
        raise ValueError(f"scale must be positive, got {scale}")
    mean, variance = mean_and_variance(weekly_counts)
    if mean < 0:
        raise ValueError("counts must not be negative")
    mean *= scale
    if variance is None:
        return CountModel("poisson", mean, mean, None)
    variance *= scale * scale
    if variance <= mean or mean == 0:
        return CountModel("poisson", mean, variance, None)
    return CountModel("negative_binomial", mean, variance, mean * mean / (variance - mean))


def test_count(observed: int, model: CountModel) -> CountTest:
    """The one-sided test of a drop: ``P(X <= observed)`` under ``model``."""
    if observed < 0:
        raise ValueError(f"observed must not be negative, got {observed}")
    if observed >= model.mean:
        return CountTest(observed, model, 1.0)
    return CountTest(observed, model, min(1.0, model.cdf(observed)))


test_count.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported


def bh_adjusted(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values, in the order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: (p_values[i], i))
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m / rank)
        adjusted[index] = min(1.0, running)
    return adjusted


def benjamini_hochberg(p_values: Sequence[float], level: float) -> list[bool]:
    """Which hypotheses Benjamini–Hochberg's step-up rejects at FDR ``level``, in order."""
    m = len(p_values)
    if m == 0:
        return []
    order = sorted(range(m), key=lambda i: (p_values[i], i))
    cutoff = 0
    for rank, index in enumerate(order, start=1):
        if p_values[index] <= rank * level / m:
            cutoff = rank
    rejected = [False] * m
    for index in order[:cutoff]:
        rejected[index] = True
    return rejected
