"""A store against the chain's other stores, and a seller against their team.

Pure functions of the API's figures (``app.api.lookups.Figures``). A manager sees where
their store stands on each metric (rank, percentile, the chain's median) and which metric is
its weakest, without learning any other store's name or figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import median_low
from typing import Literal

Metric = Literal[
    "revenue_cents", "margin_cents", "orders", "average_ticket_cents", "margin_rate", "units"
]
METRICS: tuple[Metric, ...] = (
    "revenue_cents",
    "margin_cents",
    "orders",
    "average_ticket_cents",
    "margin_rate",
    "units",
)
"""Every metric compared, in the order ties between weakest metrics are broken."""
MIN_STORES_FOR_MEDIAN = 5
"""The chain's median is a real store's figure: with fewer stores it would give away
another store's exact numbers (with two, the other one's)."""


def metric_values(figures: Mapping[str, int]) -> dict[Metric, Decimal]:
    """The compared metrics of one store's figures. Ratios are exact decimals: the average
    ticket in cents (rounded half-even), the margin rate as a fraction of revenue."""
    revenue = Decimal(figures["revenue_cents"])
    orders = figures["orders"]
    return {
        "revenue_cents": revenue,
        "margin_cents": Decimal(figures["margin_cents"]),
        "orders": Decimal(orders),
        "average_ticket_cents": (revenue / orders).quantize(Decimal(1), ROUND_HALF_EVEN)
        if orders
        else Decimal(0),
        "margin_rate": Decimal(figures["margin_cents"]) / revenue if revenue else Decimal(0),
        "units": Decimal(figures["units"]),
    }


@dataclass(frozen=True, slots=True)
class Standing:
    """Where one value stands among the chain's values of the same metric."""

    metric: Metric
    value: Decimal
    rank: int
    """1 is the best; stores with equal values share the better rank."""
    count: int
    percentile: float
    """Share of the other stores this one is strictly above, 0 to 1 (1 when alone)."""
    chain_median: Decimal | None
    """None below ``MIN_STORES_FOR_MEDIAN`` stores."""


@dataclass(frozen=True, slots=True)
class Comparison:
    standings: tuple[Standing, ...]
    weakest: Metric | None
    """The metric with the lowest percentile, if the store is not alone and not first on
    every metric."""
    strongest: Metric | None


def standing(metric: Metric, own: Decimal, chain: Sequence[Decimal]) -> Standing:
    """``chain`` holds every store's value, the store's own included."""
    others = len(chain) - 1
    above = sum(1 for value in chain if value > own)
    below = sum(1 for value in chain if value < own)
    return Standing(
        metric=metric,
        value=own,
        rank=above + 1,
        count=len(chain),
        percentile=below / others if others else 1.0,
        chain_median=median_low(chain) if len(chain) >= MIN_STORES_FOR_MEDIAN else None,
    )


def compare_store(own: Mapping[str, int], chain: Sequence[Mapping[str, int]]) -> Comparison:
    """How ``own`` stands on each metric among ``chain`` (every store, this one included)."""
    values = [metric_values(figures) for figures in chain]
    mine = metric_values(own)
    standings = tuple(
        standing(metric, mine[metric], [store[metric] for store in values]) for metric in METRICS
    )
    if len(chain) < 2:
        return Comparison(standings, None, None)
    ordered = sorted(standings, key=lambda s: (s.percentile, METRICS.index(s.metric)))
    weakest = ordered[0] if ordered[0].rank > 1 else None
    best = max(standings, key=lambda s: (s.percentile, -METRICS.index(s.metric)))
    return Comparison(
        standings,
        weakest.metric if weakest is not None else None,
        best.metric,
    )


@dataclass(frozen=True, slots=True)
class TeamRank:
    rank: int
    """1 is the best; 0 when the seller has no sales in the store over the range."""
    count: int


def team_rank(seller_id: str, revenue_by_seller: Mapping[str, int]) -> TeamRank:
    """A seller's rank in their store by revenue (ties share the better rank)."""
    own = revenue_by_seller.get(seller_id)
    if own is None:
        return TeamRank(0, len(revenue_by_seller))
    above = sum(1 for revenue in revenue_by_seller.values() if revenue > own)
    return TeamRank(above + 1, len(revenue_by_seller))
