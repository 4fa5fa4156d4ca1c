"""Suggested actions for an under-performing product, each with its reason code and figures.

Codes, not sentences: the dashboard and the notifier write them in pt-BR or English from the
``params``. Each suggestion is made only from facts given; where a fact is missing (no
cross-sell partner, no chain price), that kind of suggestion is left out rather than invented.
In the order a manager would act on them:

1. ``check_stock_display`` (reason ``stopped_suddenly``): the product sold steadily (a sale
   in every baseline week, and the part of the window before its silence at half its usual
   pace or more) and then not at all for hours in which it usually sells several units. A
   product that stops at once has more often run out, been moved or lost its label than lost
   its buyers. Params: ``silent_hours``, ``expected_during_silence``, ``last_sale_hour``.
2. ``compare_price`` (reason ``price_above_chain``): the store's unit price is at least
   ``PRICE_GAP`` above the median of the chain's stores. Params: ``store_price_cents``,
   ``chain_median_price_cents``, ``gap_rate``.
3. ``bundle`` (reason ``strong_cross_sell_partner``): the partner with the highest lift among
   the given cross-sell rules (``app.insights.cross_sell.Rule``, this product as antecedent),
   when its lift is above 1 and its confidence at least ``MIN_BUNDLE_CONFIDENCE``. Params:
   ``partner_sku``, ``lift``, ``confidence``, ``baskets``.
4. ``promote`` (reason ``below_expected``): always, with the means that fit: ``display``, and
   ``price`` unless the product's known margin rate is below ``MIN_DISCOUNT_MARGIN`` (no room
   for a discount). Params: ``observed_units``, ``expected_units``, ``ratio``, ``means``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from app.alerts.core import Suggestion
from app.alerts.rules import decimal_text
from app.insights.cross_sell import Rule

if TYPE_CHECKING:
    from app.alerts.detect import ProductFinding

PRICE_GAP = Decimal("0.05")
"""A store price 5 % or more above the chain's median is worth a look."""
MIN_BUNDLE_CONFIDENCE = 0.05
"""A partner bought in fewer than 1 basket in 20 of this product's is too weak to bundle."""
MIN_DISCOUNT_MARGIN = Decimal("0.15")
"""Below a 15 % margin rate a price promotion would sell at a loss after the usual costs."""


@dataclass(frozen=True, slots=True)
class ProductContext:
    """What the store knows about a product beyond its counts, each fact optional."""

    partners: Sequence[Rule] = ()
    """Cross-sell rules with this product as antecedent (``rules_for_product``)."""
    store_price_cents: int | None = None
    """The store's usual unit price (revenue / units over the baseline, or the catalogue)."""
    chain_median_price_cents: int | None = None
    """The median of that price over the chain's stores that sell the product."""
    margin_rate: Decimal | None = None
    """The product's margin rate in the store (``app.insights.margins``), when costed."""


def suggest_actions(finding: ProductFinding, context: ProductContext | None) -> list[Suggestion]:
    """The suggestions for a firing finding, in the order of the module docstring."""
    context = context or ProductContext()
    suggestions: list[Suggestion] = []
    if finding.stopped:
        suggestions.append(
            Suggestion(
                "check_stock_display",
                "stopped_suddenly",
                {
                    "silent_hours": finding.silent_hours,
                    "expected_during_silence": round(finding.expected_during_silence or 0.0, 2),
                    "last_sale_hour": finding.last_sale_hour,
                },
            )
        )
    price = compare_price(context.store_price_cents, context.chain_median_price_cents)
    if price is not None:
        suggestions.append(price)
    partner = strongest_partner(finding.sku, context.partners)
    if partner is not None:
        suggestions.append(
            Suggestion(
                "bundle",
                "strong_cross_sell_partner",
                {
                    "partner_sku": partner.consequent,
                    "lift": round(partner.lift, 4),
                    "confidence": round(partner.confidence, 4),
                    "baskets": partner.baskets,
                },
            )
        )
    means = ["display"]
    if context.margin_rate is None or context.margin_rate >= MIN_DISCOUNT_MARGIN:
        means.append("price")
    suggestions.append(
        Suggestion(
            "promote",
            "below_expected",
            {
                "observed_units": finding.observed_units,
                "expected_units": round(finding.expected_units, 2),
                "ratio": decimal_text(finding.ratio),
                "means": means,
            },
        )
    )
    return suggestions


def compare_price(store_cents: int | None, chain_median_cents: int | None) -> Suggestion | None:
    """``compare_price`` when the store's price is ``PRICE_GAP`` or more above the chain's."""
    if store_cents is None or chain_median_cents is None or chain_median_cents <= 0:
        return None
    gap = (Decimal(store_cents - chain_median_cents) / Decimal(chain_median_cents)).quantize(
        Decimal("0.0001"), ROUND_HALF_EVEN
    )
    if gap < PRICE_GAP:
        return None
    return Suggestion(
        "compare_price",
        "price_above_chain",
        {
            "store_price_cents": store_cents,
            "chain_median_price_cents": chain_median_cents,
            "gap_rate": decimal_text(gap),
        },
    )


def strongest_partner(sku: str, partners: Sequence[Rule]) -> Rule | None:
    """The bundle partner: highest lift, then confidence, then baskets, then SKU; None when no
    rule of ``sku`` has a lift above 1 and enough confidence."""
    eligible = [
        rule
        for rule in partners
        if rule.antecedent == sku
        and rule.consequent != sku
        and rule.lift > 1.0
        and rule.confidence >= MIN_BUNDLE_CONFIDENCE
    ]
    if not eligible:
        return None
    return min(eligible, key=lambda r: (-r.lift, -r.confidence, -r.baskets, r.consequent))
