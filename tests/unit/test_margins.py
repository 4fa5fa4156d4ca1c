"""Highest-margin products and opportunities (``app/insights/margins.py``) against figures
worked out here with exact fractions."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from app.insights.margins import ProductSales, advise, margin_of


def product(
    sku: str,
    units: int,
    price: int,
    cost: int | None,
    seller_units: int = 0,
) -> ProductSales:
    costed = cost is not None
    return ProductSales(
        sku=sku,
        name=f"Produto {sku}",
        revenue_cents=units * price,
        units=units,
        costed_revenue_cents=units * price if costed else 0,
        costed_units=units if costed else 0,
        cost_cents=units * cost if cost is not None else 0,
        seller_revenue_cents=seller_units * price,
        seller_units=seller_units,
    )


def half_even(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2):
        return floor + 1
    return floor


def test_a_worked_example() -> None:
    products = [
        product("A", units=120, price=10_000, cost=5_800, seller_units=3),  # 42 % margin
        product("B", units=200, price=2_000, cost=1_500, seller_units=60),  # 25 %
        product("C", units=10, price=50_000, cost=20_000, seller_units=5),  # 60 %, sells little
        product("D", units=80, price=3_000, cost=None, seller_units=10),  # no cost
        product("E", units=150, price=4_000, cost=2_400, seller_units=40),  # 40 %
    ]
    advice = advise(products, limit=10)
    assert [m.sales.sku for m in advice.by_unit_margin] == ["C", "A", "E", "B"]
    assert [m.sales.sku for m in advice.by_margin_rate] == ["C", "A", "E", "B"]
    a = next(m for m in advice.by_unit_margin if m.sales.sku == "A")
    assert (a.margin_cents, a.unit_margin_cents, a.margin_rate) == (504_000, 4_200, Decimal("0.42"))
    assert a.seller_share == Decimal("0.025")
    # The seller makes 118 of 560 units (21 %): A, where they make 2.5 %, is an opportunity;
    # E (27 %) is not; C sells below the median units; B's rate is below the median.
    assert advice.seller_share_of_store == Decimal("0.2107")
    assert [m.sales.sku for m in advice.opportunities] == ["A"]
    assert [p.sku for p in advice.without_cost] == ["D"]


def test_a_product_without_cost_is_never_a_full_margin() -> None:
    lone = product("X", units=5, price=1_000, cost=None)
    assert margin_of(lone) is None
    advice = advise([lone], limit=5)
    assert advice.by_unit_margin == [] and advice.opportunities == []
    assert advice.without_cost == [lone]


def test_a_partly_costed_product_is_measured_on_its_costed_lines() -> None:
    partly = ProductSales("P", None, 30_000, 3, 20_000, 2, 12_000, 0, 0)
    margin = margin_of(partly)
    assert margin is not None
    assert (margin.margin_cents, margin.unit_margin_cents, margin.margin_rate) == (
        8_000,
        4_000,
        Decimal("0.4"),
    )


@settings(max_examples=300, deadline=None, database=None)
@given(
    units=st.integers(1, 10_000),
    costed_units=st.integers(1, 10_000),
    revenue=st.integers(1, 10**10),
    cost=st.integers(0, 10**10),
    seller_units=st.integers(0, 10_000),
)
def test_the_figures_equal_exact_fractions(
    units: int, costed_units: int, revenue: int, cost: int, seller_units: int
) -> None:
    sales = ProductSales("S", None, revenue, units, revenue, costed_units, cost, 0, seller_units)
    margin = margin_of(sales)
    assert margin is not None
    assert margin.margin_cents == revenue - cost
    assert margin.unit_margin_cents == half_even(Fraction(revenue - cost, costed_units))
    assert (
        margin.margin_rate
        == Decimal(half_even(Fraction(revenue - cost, revenue) * 10_000)) / 10_000
    )
    assert (
        margin.seller_share == Decimal(half_even(Fraction(seller_units, units) * 10_000)) / 10_000
    )
