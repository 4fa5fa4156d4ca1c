"""Highest-margin products for a seller, and the opportunities among them: pure functions of
a store's product figures over a window with the seller's own part of each.

- A product's **margin** is over its lines with a known cost only (``unit_cost``): the
  margin rate is margin / revenue of those lines, the unit margin margin / their units
  (half-even to the cent). A product without any costed line has no margin: it is listed
  apart, never as 100 %.
- The seller's **share** of a product is their units of it / the store's units of it.
- An **opportunity** is a product the store sells well and with a good margin that this
  seller rarely sells: store units and margin rate both at least the median of the store's
  costed products, and the seller's share below half of their share of all the store's
  units (so a seller who makes 20 % of the store's sales is pointed to products where they
  make under 10 %). Opportunities are ranked by the margin the store made on the product
  (what more of it is worth), then by SKU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import median_low

RATE_PLACES = Decimal("0.0001")
OPPORTUNITY_SHARE_FACTOR = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class ProductSales:
    """A product's figures in the store over the window, and the seller's part of them."""

    sku: str
    name: str | None
    revenue_cents: int
    units: int
    costed_revenue_cents: int
    costed_units: int
    cost_cents: int
    seller_revenue_cents: int
    seller_units: int


@dataclass(frozen=True, slots=True)
class ProductMargin:
    sales: ProductSales
    margin_cents: int
    margin_rate: Decimal
    unit_margin_cents: int
    seller_share: Decimal
    """Of the store's units of the product, the seller's (0 to 1, 4 places)."""


@dataclass(frozen=True, slots=True)
class MarginAdvice:
    by_unit_margin: list[ProductMargin]
    by_margin_rate: list[ProductMargin]
    opportunities: list[ProductMargin]
    without_cost: list[ProductSales]
    """Products sold without any known cost, by store revenue."""
    seller_share_of_store: Decimal
    """The seller's units / the store's units, over every product of the window."""


def margin_of(product: ProductSales) -> ProductMargin | None:
    """The product's margin figures; None without a costed line or without units sold."""
    if product.costed_units <= 0 or product.costed_revenue_cents <= 0 or product.units <= 0:
        return None
    margin = product.costed_revenue_cents - product.cost_cents
    rate = (Decimal(margin) / Decimal(product.costed_revenue_cents)).quantize(
        RATE_PLACES, ROUND_HALF_EVEN
    )
    unit_margin = int(
        (Decimal(margin) / Decimal(product.costed_units)).quantize(Decimal(1), ROUND_HALF_EVEN)
    )
    return ProductMargin(
        product, margin, rate, unit_margin, _share(product.seller_units, product.units)
    )


def advise(products: Sequence[ProductSales], limit: int) -> MarginAdvice:
    store_units = sum(max(p.units, 0) for p in products)
    seller_units = sum(max(p.seller_units, 0) for p in products)
    overall = _share(seller_units, store_units)
    margins = [m for p in products if (m := margin_of(p)) is not None]
    by_unit = sorted(margins, key=lambda m: (-m.unit_margin_cents, -m.margin_rate, m.sales.sku))
    by_rate = sorted(margins, key=lambda m: (-m.margin_rate, -m.unit_margin_cents, m.sales.sku))
    opportunities: list[ProductMargin] = []
    if margins:
        rate_bar = median_low(m.margin_rate for m in margins)
        units_bar = median_low(m.sales.units for m in margins)
        share_bar = overall * OPPORTUNITY_SHARE_FACTOR
        opportunities = sorted(
            (
                m
                for m in margins
                if m.margin_rate >= rate_bar
                and m.sales.units >= units_bar
                and m.margin_cents > 0
                and m.seller_share < share_bar
            ),
            key=lambda m: (-m.margin_cents, m.sales.sku),
        )
    without_cost = sorted(
        (p for p in products if p.costed_units <= 0 and p.units > 0),
        key=lambda p: (-p.revenue_cents, p.sku),
    )
    return MarginAdvice(
        by_unit[:limit], by_rate[:limit], opportunities[:limit], without_cost[:limit], overall
    )


def _share(part: int, whole: int) -> Decimal:
    if whole <= 0:
        return Decimal(0)
    return (Decimal(max(part, 0)) / Decimal(whole)).quantize(RATE_PLACES, ROUND_HALF_EVEN)
