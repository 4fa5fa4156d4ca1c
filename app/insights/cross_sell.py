"""Bought together: association rules from exact basket counts.

Pure functions of counts (``tables/baskets.py`` keeps them per store and day; the API adds
the days of a window). Each measure is defined, and computed, exactly as mlxtend's
``association_rules`` computes it from ``apriori``'s supports on the same baskets (one-hot,
one row per basket, ``num_itemsets`` = the number of baskets), so the two agree to the last
bit, not only closely (``tests/unit/test_cross_sell.py`` checks it):

- support(A) = baskets with A / baskets; support(A→C) = baskets with both / baskets;
- confidence(A→C) = support(A→C)·n / (support(A)·n): the share of A's baskets that hold C;
- lift(A→C) = confidence / support(C): how many times likelier C is with A than without
  knowing anything (1 = no link);
- leverage(A→C) = support(A→C) - support(A)·support(C): the share of baskets that hold both
  beyond what chance would give;
- conviction(A→C) = (1 - support(C)) / (1 - confidence), infinite when confidence is 1.

Thresholds (``min_count``, ``min_support``) choose what is *returned*; everything is counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from tables.baskets import OWN_COUNT

RuleOrder = Literal["confidence", "lift", "support"]
RULE_ORDERS: tuple[RuleOrder, ...] = ("confidence", "lift", "support")


@dataclass(frozen=True, slots=True)
class Rule:
    """ "Baskets with ``antecedent`` also hold ``consequent``", measured."""

    antecedent: str
    consequent: str
    baskets: int
    """Baskets holding both."""
    antecedent_baskets: int
    consequent_baskets: int
    antecedent_support: float
    consequent_support: float
    support: float
    confidence: float
    lift: float
    leverage: float
    conviction: float
    """``math.inf`` when every basket with the antecedent holds the consequent."""


def rule(
    antecedent: str,
    consequent: str,
    both: int,
    antecedent_baskets: int,
    consequent_baskets: int,
    baskets: int,
) -> Rule:
    """The rule's measures, in mlxtend's floating-point order of operations."""
    support_a = antecedent_baskets / baskets
    support_c = consequent_baskets / baskets
    support_ac = both / baskets
    confidence = (support_ac * baskets) / (support_a * baskets)
    conviction = (1.0 - support_c) / (1.0 - confidence) if confidence < 1.0 else math.inf
    return Rule(
        antecedent=antecedent,
        consequent=consequent,
        baskets=both,
        antecedent_baskets=antecedent_baskets,
        consequent_baskets=consequent_baskets,
        antecedent_support=support_a,
        consequent_support=support_c,
        support=support_ac,
        confidence=confidence,
        lift=confidence / support_c,
        leverage=support_ac - support_a * support_c,
        conviction=conviction,
    )


@dataclass(slots=True)
class BasketCounts:
    """The counts of a window: baskets, baskets per product, baskets per pair (``a < b``)."""

    baskets: int = 0
    items: dict[str, int] = field(default_factory=dict)
    pairs: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def from_days(cls, baskets: int, days: Iterable[tuple[str, Mapping[str, int]]]) -> BasketCounts:
        """Add up ``(product, counts)`` day values (``tables/baskets.py``) of a window."""
        items: dict[str, int] = {}
        pairs: dict[tuple[str, str], int] = {}
        for sku, counts in days:
            for partner, count in counts.items():
                if partner == OWN_COUNT:
                    items[sku] = items.get(sku, 0) + count
                elif sku < partner:
                    pair = (sku, partner)
                    pairs[pair] = pairs.get(pair, 0) + count
        return cls(baskets, items, pairs)


def product_counts(days: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """One product's day values added up: ``OWN_COUNT`` and each partner's baskets."""
    total: dict[str, int] = {}
    for counts in days:
        for partner, count in counts.items():
            total[partner] = total.get(partner, 0) + count
    return total


def rules_for_product(
    product: str,
    counts: Mapping[str, int],
    partner_baskets: Mapping[str, int],
    baskets: int,
    min_count: int = 1,
    min_support: float = 0.0,
) -> list[Rule]:
    """Every rule ``product → partner`` of the window whose pair is in at least
    ``min_count`` baskets and has at least ``min_support``; ``counts`` is the product's
    summed value (``product_counts``), ``partner_baskets`` each partner's own baskets."""
    own = counts.get(OWN_COUNT, 0)
    if not baskets or not own:
        return []
    return [
        rule(product, partner, both, own, partner_baskets[partner], baskets)
        for partner, both in counts.items()
        if partner != OWN_COUNT and _kept(both, baskets, min_count, min_support)
    ]


def strongest_pairs(
    counts: BasketCounts, min_count: int = 1, min_support: float = 0.0
) -> list[tuple[Rule, Rule]]:
    """Both rules of every pair above the thresholds: ``(a → b, b → a)``."""
    items, baskets = counts.items, counts.baskets
    return [
        (
            rule(a, b, both, items[a], items[b], baskets),
            rule(b, a, both, items[b], items[a], baskets),
        )
        for (a, b), both in counts.pairs.items()
        if _kept(both, baskets, min_count, min_support)
    ]


def ranked(rules: Iterable[Rule], order: RuleOrder, limit: int) -> list[Rule]:
    """The first ``limit`` rules by ``order``, then by baskets, then by product ids (so the
    same counts always give the same list)."""
    return sorted(
        rules,
        key=lambda r: (-getattr(r, order), -r.baskets, r.antecedent, r.consequent),
    )[:limit]


def _kept(both: int, baskets: int, min_count: int, min_support: float) -> bool:
    return both >= min_count and both / baskets >= min_support
