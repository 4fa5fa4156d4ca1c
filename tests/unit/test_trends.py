"""Trends (``app/insights/trends.py``) on hand-made series, and the API service over fake tables.

The evidence figures are recomputed here from the daily series with ``Decimal`` (sums of the
days of each window written out, the ratio quantized half-even), not with the module's own
``Fraction`` code.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import pytest

from app.api.trending import TrendingService
from app.insights.trends import (
    EWMA_MODEL,
    WINDOW_DAYS,
    EwmaLogGrowth,
    HoltGrowth,
    ProductDay,
    TrendParams,
    change_z,
    competition_ranks,
    decimal_text,
    learn_growth,
    product_trend,
    ratio_growth,
    store_trends,
)
from tables.totals import Totals

THROUGH = date(2026, 12, 3)
FIRST = THROUGH - timedelta(days=WINDOW_DAYS - 1)
WEEKDAY = (0.85, 0.85, 0.9, 0.95, 1.15, 1.5, 1.1)


def series(
    base: float,
    growth: float = 0.0,
    price: int = 1_000,
    cost: int | None = 600,
    change_at: int = 0,
) -> list[ProductDay]:
    """Deterministic daily units (no noise) with a weekday pattern: ``base`` a day, growing
    by ``growth`` a day from day ``change_at`` of the window on."""
    days = []
    for offset in range(WINDOW_DAYS):
        day = FIRST + timedelta(days=offset)
        level = base * math.exp(growth * max(offset - change_at, 0)) * WEEKDAY[day.weekday()]
        units = round(level)
        revenue = units * price
        days.append(
            ProductDay(day, units, revenue, revenue if cost else 0, units * cost if cost else 0)
        )
    return days


def noisy(base: float, rng: random.Random) -> list[ProductDay]:
    days = []
    for offset in range(WINDOW_DAYS):
        day = FIRST + timedelta(days=offset)
        units = max(0, round(rng.gauss(base * WEEKDAY[day.weekday()], math.sqrt(base))))
        returned = 1 if rng.random() < 0.05 else 0
        revenue = units * 2_490 - returned * 2_490 - rng.choice([0, 0, 125])
        costed = revenue if rng.random() < 0.8 else 0
        days.append(ProductDay(day, units - returned, revenue, costed, (units - returned) * 1_100))
    return days


def decimal_ratio(last: int, before: int) -> str | None:
    """last / before - 1, as an independent Decimal computation, half-even to 6 places."""
    if before <= 0:
        return None
    value = Decimal(last) / Decimal(before) - 1
    return str(value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))


def window_sum(days: list[ProductDay], first_back: int, length: int, what: str) -> int:
    """The sum of ``what`` over the ``length`` days ending ``first_back`` days before THROUGH,
    written as a plain loop over calendar days."""
    by_day = {d.day: d for d in days}
    total = 0
    for back in range(first_back, first_back + length):
        found = by_day.get(THROUGH - timedelta(days=back))
        if found is not None:
            total += getattr(found, what)
    return total


# -- the models --------------------------------------------------------------------------------


def planted(growth: float) -> list[float]:
    return [40 * math.exp(growth * day) * WEEKDAY[day % 7] for day in range(WINDOW_DAYS)]


@pytest.mark.parametrize("growth", [0.03, 0.015, -0.02, 0.0])
def test_the_ewma_learns_a_planted_daily_growth(growth: float) -> None:
    learned = EwmaLogGrowth()
    for value in planted(growth):
        learned.learn_one(value)
    assert learned.growth() == pytest.approx(growth, abs=0.001)


@pytest.mark.parametrize(
    ("growth", "low", "high"), [(0.03, 0.015, 0.025), (0.015, 0.009, 0.015), (-0.02, -0.04, -0.02)]
)
def test_holt_learns_the_direction_of_a_planted_growth(
    growth: float, low: float, high: float
) -> None:
    # Smoothed and slow (module docstring): the sign and the threshold, not the exact rate.
    learned = HoltGrowth()
    for value in planted(growth):
        learned.learn_one(value)
    found = learned.growth()
    assert found is not None and low <= found <= high, found
    assert abs(found) >= TrendParams().rising_growth
    flat = HoltGrowth()
    for value in planted(0.0):
        flat.learn_one(value)
    assert flat.growth() == 0.0


def test_a_model_says_nothing_before_a_week_and_a_day() -> None:
    assert learn_growth([5.0] * 7) is None
    assert learn_growth([5.0] * 7, TrendParams(model=EWMA_MODEL)) is None
    assert learn_growth([5.0] * 9) == 0.0
    # An empty series: level 0, no growth to speak of.
    assert learn_growth([0.0] * WINDOW_DAYS) is None


# -- evidence ----------------------------------------------------------------------------------


def test_growth_figures_equal_an_independent_recompute() -> None:
    rng = random.Random(11)
    for _ in range(40):
        days = noisy(rng.uniform(0.5, 30), rng)
        trend = product_trend("SKU", days, THROUGH)
        for name, back, length, before_back in (
            ("7", 0, 7, 7),
            ("28", 0, 28, 28),
        ):
            for what, index in (("units", 0), ("revenue_cents", 1)):
                last = window_sum(days, back, length, what)
                before = window_sum(days, before_back, length, what)
                growth = trend.growth_7 if name == "7" else trend.growth_28
                assert decimal_text(growth[index]) == decimal_ratio(last, before), (name, what)
        assert trend.last_28.units == window_sum(days, 0, 28, "units")
        assert trend.previous_7.revenue_cents == window_sum(days, 7, 7, "revenue_cents")
        costed = window_sum(days, 0, 28, "costed_revenue_cents")
        margin = costed - window_sum(days, 0, 28, "cost_cents")
        expected_rate = (
            None
            if costed <= 0
            else str(
                (Decimal(margin) / Decimal(costed)).quantize(
                    Decimal("0.000001"), rounding=ROUND_HALF_EVEN
                )
            )
        )
        assert decimal_text(trend.margin_rate) == expected_rate


def test_a_known_growth_in_figures() -> None:
    # 10 a day for 28 days, then 15 a day: +50 % over 28 days and over 7.
    days = [
        ProductDay(FIRST + timedelta(days=n), 10 if n < 28 else 15, 10_000 if n < 28 else 15_000)
        for n in range(WINDOW_DAYS)
    ]
    trend = product_trend("A", days, THROUGH)
    assert trend.growth_28 == (Fraction(1, 2), Fraction(1, 2))
    assert trend.growth_7 == (Fraction(0), Fraction(0))
    assert decimal_text(trend.growth_28[0]) == "0.500000"
    assert (trend.last_28.units, trend.previous_28.units) == (420, 280)
    assert trend.margin_rate is None  # no line had a cost


def test_ratios_and_decimal_text() -> None:
    assert ratio_growth(3, 0) is None and ratio_growth(3, -5) is None
    assert ratio_growth(0, 4) == -1
    assert decimal_text(Fraction(1, 3)) == "0.333333"
    assert decimal_text(Fraction(-2, 3)) == "-0.666667"
    assert decimal_text(Fraction(1, 2 * 10**6)) == "0.000000"  # half-even: ties to even
    assert decimal_text(Fraction(3, 2 * 10**6)) == "0.000002"
    assert decimal_text(None) is None
    assert decimal_text(0.1) == "0.100000"


def test_competition_ranks_share_ties_and_skip_non_positive() -> None:
    ranks = competition_ranks({"a": 500, "b": 900, "c": 500, "d": 0, "e": -30, "f": 100})
    assert ranks == {"b": 1, "a": 2, "c": 2, "f": 4}


def test_days_outside_the_window_are_ignored_and_a_day_twice_is_refused() -> None:
    days = series(10)
    outside = [ProductDay(FIRST - timedelta(days=1), 999, 999), *days]
    outside.append(ProductDay(THROUGH + timedelta(days=1), 999, 999))
    assert product_trend("A", outside, THROUGH) == product_trend("A", days, THROUGH)
    with pytest.raises(ValueError, match="two totals"):
        product_trend("A", [*days, days[3]], THROUGH)


# -- classification ----------------------------------------------------------------------------


def store(**products: list[ProductDay]) -> dict[str, list[ProductDay]]:
    return dict(products)


def filler(count: int, base: float = 12) -> dict[str, list[ProductDay]]:
    return {f"FLAT-{n:02d}": series(base + n) for n in range(count)}


def test_rising_falling_and_flat_with_thresholds() -> None:
    products = {
        **filler(8),
        "UP": series(8, 0.03, change_at=20),
        "DOWN": series(40, -0.03, change_at=20),
        "SLOW": series(20, 0.004, change_at=0),
    }
    result = store_trends(products, THROUGH)
    directions = {t.sku: t.direction for t in result.trends}
    assert directions["UP"] == "rising"
    assert directions["DOWN"] == "falling"
    assert directions["SLOW"] == "flat"  # +0.4 %/day is under the threshold
    assert all(directions[f"FLAT-{n:02d}"] == "flat" for n in range(8))
    assert [t.sku for t in result.rising()] == ["UP"]
    assert [t.sku for t in result.falling()] == ["DOWN"]
    # A lower threshold takes the slow one in too.
    lower = store_trends(products, THROUGH, TrendParams(rising_growth=0.003, min_z=1.0))
    assert {t.sku for t in lower.rising()} == {"UP", "SLOW"}


def test_a_few_units_more_is_not_rising() -> None:
    # 1 unit a week, then 1 every other day: "+250 %", but 14 units in 28 days.
    tiny = [
        ProductDay(FIRST + timedelta(days=n), int(n % 7 == 0 if n < 28 else n % 2 == 1), 990)
        for n in range(WINDOW_DAYS)
    ]
    result = store_trends({**filler(5), "TINY": tiny}, THROUGH)
    trend = next(t for t in result.trends if t.sku == "TINY")
    assert trend.units_growth is not None and trend.units_growth > 0.008
    assert trend.growth_28[0] == Fraction(14, 4) - 1
    assert trend.last_28.units < TrendParams().min_units
    assert trend.direction == "flat"


def test_falling_is_only_for_products_that_sold_well_before() -> None:
    # Twelve products; the falling one is 10th by revenue before: not in the top third.
    products = {**filler(11, base=30), "SMALL-DOWN": series(20, -0.03, change_at=20)}
    result = store_trends(products, THROUGH)
    trend = next(t for t in result.trends if t.sku == "SMALL-DOWN")
    assert trend.units_growth is not None and trend.units_growth < -0.02
    assert trend.rank_previous_28 is not None and trend.rank_previous_28 > 4
    assert trend.direction == "flat"
    # The same product as a best seller before is listed.
    products["SMALL-DOWN"] = series(80, -0.03, change_at=20)
    result = store_trends(products, THROUGH)
    assert [t.sku for t in result.falling()] == ["SMALL-DOWN"]
    assert result.falling()[0].rank_previous_28 == 1


def test_rising_products_are_ranked_by_a_good_margin_and_no_cost_is_unknown() -> None:
    products = {
        **filler(6),
        "THIN": series(10, 0.03, price=1_000, cost=950, change_at=20),
        "FAT": series(10, 0.025, price=1_000, cost=400, change_at=20),
        "NOCOST": series(10, 0.035, price=1_000, cost=None, change_at=20),
    }
    result = store_trends(products, THROUGH)
    rising = result.rising()
    assert [t.sku for t in rising] == ["FAT", "THIN", "NOCOST"]
    nocost = rising[-1]
    assert nocost.margin_rate is None and nocost.score == 0
    assert rising[0].margin_rate == Fraction(600, 1_000)
    assert rising[0].score == Fraction(rising[0].units_growth or 0) * Fraction(3, 5)


def test_change_z() -> None:
    assert change_z(0, 0) == 0.0
    assert change_z(150, 100) == pytest.approx(50 / math.sqrt(250))
    assert change_z(-4, 9) == pytest.approx(-3.0)  # net returns count as nothing sold


def test_the_answer_is_deterministic_whatever_the_order() -> None:
    rng = random.Random(5)
    products = {f"P{n:03d}": noisy(rng.uniform(1, 40), rng) for n in range(40)}
    first = store_trends(products, THROUGH)
    shuffled_keys = list(products)
    rng.shuffle(shuffled_keys)
    shuffled = {sku: list(reversed(products[sku])) for sku in shuffled_keys}
    assert store_trends(shuffled, THROUGH) == first
    assert store_trends(products, THROUGH) == first
    # A product without a line in the window is left out.
    gone = {**products, "OLD": [ProductDay(FIRST - timedelta(days=3), 5, 500)]}
    assert store_trends(gone, THROUGH) == first


# -- the service over fake tables ----------------------------------------------------------------


@dataclass
class FakeTables:
    """``LiveTables.scan`` over a dict: (store, dimension, grain, bucket, member) -> Totals."""

    rows: dict[tuple[str, str, str, str, str], Totals] = field(default_factory=dict)
    scans: int = 0

    def scan(
        self,
        store_id: str,
        dimension: str,
        grain: str,
        first: str,
        last: str,
        customers: bool = True,
    ) -> Iterator[tuple[str, str, Totals]]:
        self.scans += 1
        for (store, dim, gr, bucket, member), totals in sorted(self.rows.items()):
            wanted = (store, dim, gr) == (store_id, dimension, grain)
            if wanted and first <= bucket[: len(last)] <= last:
                yield bucket, member, totals

    def add(self, store: str, day: date, hour: int, sku: str, entry: ProductDay) -> None:
        totals = Totals(
            revenue_cents=entry.revenue_cents,
            cost_cents=entry.cost_cents,
            costed_revenue_cents=entry.costed_revenue_cents,
            units=entry.units,
        )
        self.rows[(store, "P", "day", day.isoformat(), sku)] = totals
        for grain, bucket in (
            ("hour", f"{day}T{hour:02d}"),
            ("day", day.isoformat()),
            ("month", day.isoformat()[:7]),
        ):
            key = (store, "T", grain, bucket, "")
            self.rows.setdefault(key, Totals()).merge(totals)


def test_the_service_answers_on_the_event_clock_and_caches_per_closed_day() -> None:
    tables = FakeTables()
    products = {
        **filler(8),
        "UP": series(8, 0.03, change_at=20),
        "DOWN": series(40, -0.03, change_at=20),
    }
    for sku, days in products.items():
        for entry in days:
            tables.add("s1", entry.day, 15, sku, entry)
    # Today's first sale closes THROUGH; it is not counted (the day is in progress).
    today = THROUGH + timedelta(days=1)
    tables.add("s1", today, 9, "UP", ProductDay(today, 500, 500_000))
    service = TrendingService(
        SimpleNamespace(tables=tables),  # type: ignore[arg-type]
        lambda sku: {"UP": "Produto em alta"}.get(sku),
    )

    def ask(**query: str) -> dict[str, Any]:
        return asyncio.run(service.answer("s1", query))

    up = ask(direction="up")
    assert up["last_closed_day"] == THROUGH.isoformat()
    assert up["periods"]["last_28"] == {
        "from": (THROUGH - timedelta(days=27)).isoformat(),
        "to": THROUGH.isoformat(),
    }
    assert [p["sku"] for p in up["products"]] == ["UP"]
    product = up["products"][0]
    assert product["product_name"] == "Produto em alta" and product["position"] == 1
    expected = product_trend("UP", products["UP"], THROUGH)
    assert product["last_28"]["units"] == expected.last_28.units
    assert product["growth_28d"]["units"] == decimal_ratio(
        window_sum(products["UP"], 0, 28, "units"), window_sum(products["UP"], 28, 28, "units")
    )
    assert product["margin_rate"] == "0.400000"
    down = ask(direction="down", limit="5")
    assert [p["sku"] for p in down["products"]] == ["DOWN"]
    assert down["products"][0]["revenue_lost_cents"] > 0
    assert service.builds == 1  # one build per store and closed day serves both lists
    assert ask(direction="up") == up
    assert service.cached_keys() == [("s1", THROUGH)]
    empty = asyncio.run(service.answer("nowhere", {}))
    assert (empty["last_closed_day"], empty["products"], empty["count"]) == (None, [], 0)
    service.close()


def test_the_service_refuses_bad_parameters() -> None:
    from app.api.periods import BadParameter

    service = TrendingService(SimpleNamespace(tables=FakeTables()), lambda sku: None)  # type: ignore[arg-type]
    with pytest.raises(BadParameter, match="direction"):
        asyncio.run(service.answer("s1", {"direction": "sideways"}))
    with pytest.raises(BadParameter, match="limit"):
        asyncio.run(service.answer("s1", {"limit": "0"}))
