"""Products to promote, and products slipping, by trend (issue 11 §3): pure.

Input: one store's daily product totals (``tables/totals.Totals`` of the ``P``/day aggregates:
units, revenue, costed revenue and cost) over the ``WINDOW_DAYS`` days up to its last
*closed* day ``through`` (the event clock of ``app/forecast/projection.EventClock``: a day is
closed once a sale stamped after its midnight has arrived; nothing here reads the wall
clock). Output: a ``Trend`` per product, a function of those totals and ``through`` alone, so
a replay of the same sales, a restart or another worker gives the same answer.

**The trend** of a product is an online model learned one closed day at a time, in day order,
over the window (days without sales are zeros): River's Holt linear trend
(``river.time_series.HoltWinters(alpha=0.1, beta=0.05)``, no seasonality) on the product's
7-day rolling sum (the sum takes the weekday pattern out). Its growth is trend / level, the
daily growth rate: +0.02 is about +2 %/day. It is a smoothed estimate, slow on purpose (the
noise of a product's daily units is what the thresholds fight): on a clean series growing
3 %/day for eight weeks it reads +1.9 %/day, on one shrinking 2 %/day -3.5 %/day; the exact
figures are the evidence below. It is learned for units (what classifies) and for
revenue (shown). ``bench/trends.py`` chose it, and its thresholds, against an EWMA of the daily
log-growth of the same sums (``river.stats.EWMean``) on a generated chain with planted trends:
docs/benchmarks.md, "Trends (issue 11)", has the figures and why.

**The evidence**, exact: units and revenue of the last 7 days and the 7 before, of the last 28
and the 28 before (``through`` included in "last"); growth = last / before - 1 as a
``Fraction`` (``None`` when nothing was sold before); the margin rate of the last 28 days =
margin / costed revenue over the lines whose cost is known (``None`` when no line had a cost:
unknown, never 100 %); the product's rank in the store by revenue over the last 28 days and
over the 28 before (1 = best, competition ranking: tied products share a rank; ``None`` for a
product without positive revenue in that window).

**Classification** (``TrendParams``, defaults measured by the benchmark):

- *rising*: units growing at least ``rising_growth`` a day (0.8 %), at least ``min_units``
  (28) units in the last 28 days (a product going from 1 to 2 units is not "rising 100 %"),
  and the 28-day change significant: (last - before) / sqrt(last + before) >= ``min_z``
  (2.5; without it 10 - 21 % of the products were listed before any change: their daily
  noise is that large);
- *falling*: units shrinking at least ``falling_growth`` a day, with the 28-day change as
  significant downwards, only for products that sold well before: ``min_units`` units or more
  in the previous 28 days *and* in the store's top ``top_share`` (a third) by revenue over
  them;
- *flat*: everything else.

**Ranking.** Rising products are ranked by ``score`` = daily growth x margin rate, so a
good margin comes first (a product without a known margin scores 0: after every product with
a positive margin, by growth among themselves). Falling ones by the revenue lost, previous
28 days minus the last 28, largest first. Ties: the SKU.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction
from typing import Literal, Protocol

from river import stats, time_series

WINDOW_DAYS = 56
"""Closed days a store's trends are computed from: 28 + the 28 before."""
SHORT_DAYS = 7
LONG_DAYS = 28
ROLLING_DAYS = 7
"""The model learns 7-day rolling sums (the weekday pattern out)."""
PLACES = 6
"""Decimal places of growth figures, rates and scores in answers (half-even)."""
MODEL_NAME = "holt-linear-trend"
EWMA_MODEL = "ewma-log-growth"

Direction = Literal["rising", "falling", "flat"]
LISTS: tuple[str, ...] = ("up", "down")
"""The lists the API answers (``direction``): rising products, falling ones."""
Measure = Literal["units", "revenue"]


@dataclass(frozen=True, slots=True)
class ProductDay:
    """One product's totals on one local day (the ``P``/day aggregate)."""

    day: date
    units: int
    revenue_cents: int
    costed_revenue_cents: int = 0
    cost_cents: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    """A product's totals over a span of days."""

    first: date
    last: date
    units: int = 0
    revenue_cents: int = 0
    costed_revenue_cents: int = 0
    cost_cents: int = 0

    @property
    def margin_cents(self) -> int:
        return self.costed_revenue_cents - self.cost_cents


# -- models ------------------------------------------------------------------------------------


class GrowthModel(Protocol):
    """Learns a series' daily values one closed day at a time; estimates its daily growth."""

    def learn_one(self, y: float) -> None: ...

    def growth(self) -> float | None: ...


class EwmaLogGrowth:
    """``river.stats.EWMean`` of the daily log-growth of the 7-day rolling sum."""

    def __init__(self, fading_factor: float = 0.05) -> None:
        self.mean = stats.EWMean(fading_factor)
        self._days: list[float] = []
        self._sum: float | None = None
        self._learned = 0

    def learn_one(self, y: float) -> None:
        self._days.append(y)
        if len(self._days) > ROLLING_DAYS:
            self._days.pop(0)
        if len(self._days) < ROLLING_DAYS:
            return
        rolling = math.fsum(self._days)
        if self._sum is not None:
            self.mean.update(math.log((max(rolling, 0.0) + 1) / (max(self._sum, 0.0) + 1)))
            self._learned += 1
        self._sum = rolling

    def growth(self) -> float | None:
        return self.mean.get() if self._learned else None


class HoltGrowth:
    """``river.time_series.HoltWinters(alpha, beta)`` without seasonality (Holt's linear
    trend) on the 7-day rolling sum; growth = trend / level."""

    def __init__(self, alpha: float = 0.1, beta: float = 0.05) -> None:
        self.model = time_series.HoltWinters(alpha=alpha, beta=beta)
        self._days: list[float] = []

    def learn_one(self, y: float) -> None:
        self._days.append(y)
        if len(self._days) > ROLLING_DAYS:
            self._days.pop(0)
        if len(self._days) == ROLLING_DAYS:
            self.model.learn_one(math.fsum(self._days))

    def growth(self) -> float | None:
        model = self.model
        if not model._initialized or model.trend is None:
            return None
        level = model.level[-1]
        if level <= 0:
            return None
        return float(model.trend[-1] / level)


# -- parameters --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrendParams:
    rising_growth: float = 0.008
    """Least daily growth of units (model) for "rising": +0.8 %/day, +25 % in 28 days."""
    falling_growth: float = 0.008
    """Least daily shrinkage of units (model) for "falling"."""
    min_units: int = 28
    """Least units in the last 28 days (rising) or the 28 before (falling): one a day."""
    min_z: float = 2.5
    """Least significance of the 28-day change in units: (last - before) / sqrt(last +
    before), the difference of two counts in standard deviations were they Poisson with one
    rate (units are more dispersed than that, so it overstates; the benchmark sets it)."""
    top_share: Fraction = Fraction(1, 3)
    """Falling: only products in this top share of the store by revenue over the 28 days
    before the last 28 (they sold well before)."""
    model: str = MODEL_NAME
    """The growth model: ``holt-linear-trend``, or ``ewma-log-growth`` (the benchmark's
    other candidate)."""
    holt_alpha: float = 0.1
    holt_beta: float = 0.05
    fading_factor: float = 0.05

    def new_model(self) -> GrowthModel:
        if self.model == MODEL_NAME:
            return HoltGrowth(self.holt_alpha, self.holt_beta)
        if self.model == EWMA_MODEL:
            return EwmaLogGrowth(self.fading_factor)
        raise ValueError(f"unknown trend model {self.model!r}")


DEFAULT_PARAMS = TrendParams()


# -- one product -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trend:
    """A product's trend in a store as of a closed day, with its evidence."""

    sku: str
    through: date
    units_growth: float | None
    """The model's daily growth of units (+0.02: about +2 %/day); None before it has a full
    week and a day of the window."""
    revenue_growth: float | None
    last_7: Window
    previous_7: Window
    last_28: Window
    previous_28: Window
    rank_28: int | None = None
    """Rank in the store by revenue over the last 28 days (1 = best)."""
    rank_previous_28: int | None = None
    """The same over the 28 days before."""
    direction: Direction = "flat"

    @property
    def growth_7(self) -> tuple[Fraction | None, Fraction | None]:
        """(units, revenue) of the last 7 days against the 7 before, minus 1."""
        return _growth(self.last_7, self.previous_7)

    @property
    def growth_28(self) -> tuple[Fraction | None, Fraction | None]:
        return _growth(self.last_28, self.previous_28)

    @property
    def margin_rate(self) -> Fraction | None:
        """Margin / costed revenue of the last 28 days; None when no line had a cost."""
        window = self.last_28
        if window.costed_revenue_cents <= 0:
            return None
        return Fraction(window.margin_cents, window.costed_revenue_cents)

    @property
    def score(self) -> Fraction:
        """Rising products are ranked by daily growth x margin rate (unknown margin: 0)."""
        rate = self.margin_rate
        if self.units_growth is None or rate is None:
            return Fraction(0)
        return Fraction(self.units_growth) * rate

    @property
    def revenue_lost_cents(self) -> int:
        """Revenue of the 28 days before minus the last 28 (falling products' order)."""
        return self.previous_28.revenue_cents - self.last_28.revenue_cents


def _growth(last: Window, before: Window) -> tuple[Fraction | None, Fraction | None]:
    return ratio_growth(last.units, before.units), ratio_growth(
        last.revenue_cents, before.revenue_cents
    )


def ratio_growth(last: int, before: int) -> Fraction | None:
    """``last / before - 1``, exact; None when ``before`` is 0 or less (no base to grow
    from: a product new in the window, or one whose returns outweighed its sales)."""
    if before <= 0:
        return None
    return Fraction(last, before) - 1


def decimal_text(value: Fraction | float | None, places: int = PLACES) -> str | None:
    """A figure as a decimal string, half-even to ``places`` (``"0.250000"`` is 25 %)."""
    if value is None:
        return None
    exact = Fraction(value)  # a float's exact binary value: the same string on every run
    scaled = round(exact * 10**places)  # round() of a Fraction is half-even, exact
    sign = "-" if scaled < 0 else ""
    whole, part = divmod(abs(scaled), 10**places)
    return f"{sign}{whole}.{part:0{places}d}"


def window_of(days: Sequence[ProductDay], first: date, last: date) -> Window:
    units = revenue = costed = cost = 0
    for day in days:
        if first <= day.day <= last:
            units += day.units
            revenue += day.revenue_cents
            costed += day.costed_revenue_cents
            cost += day.cost_cents
    return Window(first, last, units, revenue, costed, cost)


def learn_growth(values: Iterable[float], params: TrendParams = DEFAULT_PARAMS) -> float | None:
    """The model's daily growth after learning ``values`` (one per closed day, in order)."""
    model = params.new_model()
    for value in values:
        model.learn_one(value)
    return model.growth()


def product_trend(
    sku: str,
    days: Sequence[ProductDay],
    through: date,
    params: TrendParams = DEFAULT_PARAMS,
) -> Trend:
    """A product's trend and evidence as of ``through`` from its days in the window (other
    days are ignored; days without an entry are zeros). Unranked and unclassified:
    ``store_trends`` ranks and classifies a store's products together."""
    first = through - timedelta(days=WINDOW_DAYS - 1)
    by_day: dict[date, ProductDay] = {}
    for day in days:
        if first <= day.day <= through:
            if day.day in by_day:
                raise ValueError(f"{sku}: two totals for {day.day}")
            by_day[day.day] = day
    units = params.new_model()
    revenue = params.new_model()
    for offset in range(WINDOW_DAYS):
        found = by_day.get(first + timedelta(days=offset))
        units.learn_one(float(found.units) if found else 0.0)
        revenue.learn_one(float(found.revenue_cents) if found else 0.0)
    kept = list(by_day.values())

    def span(days_back: int, length: int) -> Window:
        last = through - timedelta(days=days_back)
        return window_of(kept, last - timedelta(days=length - 1), last)

    return Trend(
        sku=sku,
        through=through,
        units_growth=units.growth(),
        revenue_growth=revenue.growth(),
        last_7=span(0, SHORT_DAYS),
        previous_7=span(SHORT_DAYS, SHORT_DAYS),
        last_28=span(0, LONG_DAYS),
        previous_28=span(LONG_DAYS, LONG_DAYS),
    )


# -- a store -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreTrends:
    """Every product of a store with a sale in the window, as of ``through``."""

    through: date
    trends: tuple[Trend, ...]
    ranked_28: int
    """Products with positive revenue in the last 28 days (what ``rank_28`` is out of)."""
    ranked_previous_28: int
    params: TrendParams = field(default=DEFAULT_PARAMS)

    def rising(self) -> list[Trend]:
        """Rising products, a good margin first (``Trend.score``), then growth, then SKU."""
        found = [trend for trend in self.trends if trend.direction == "rising"]
        return sorted(found, key=lambda t: (-t.score, -(t.units_growth or 0.0), t.sku))

    def falling(self) -> list[Trend]:
        """Falling products that sold well before, the most revenue lost first."""
        found = [trend for trend in self.trends if trend.direction == "falling"]
        return sorted(found, key=lambda t: (-t.revenue_lost_cents, t.sku))


def competition_ranks(revenue: Mapping[str, int]) -> dict[str, int]:
    """Rank by revenue, 1 = best, tied products sharing a rank (1, 2, 2, 4); products
    without positive revenue are not ranked."""
    positive = sorted((value for value in revenue.values() if value > 0), reverse=True)
    first_at: dict[int, int] = {}
    for position, value in enumerate(positive, start=1):
        first_at.setdefault(value, position)
    return {sku: first_at[value] for sku, value in revenue.items() if value > 0}


def change_z(last: int, before: int) -> float:
    """(last - before) / sqrt(last + before) over positive counts (returns can make a
    window's net units negative: counted as 0); 0.0 when both are 0."""
    last, before = max(last, 0), max(before, 0)
    if last + before == 0:
        return 0.0
    return (last - before) / math.sqrt(last + before)


def classify(
    trend: Trend, ranked_previous_28: int, params: TrendParams = DEFAULT_PARAMS
) -> Direction:
    growth = trend.units_growth
    if growth is None:
        return "flat"
    z = change_z(trend.last_28.units, trend.previous_28.units)
    if (
        growth >= params.rising_growth
        and trend.last_28.units >= params.min_units
        and z >= params.min_z
        and z > 0
    ):
        return "rising"
    top = math.ceil(ranked_previous_28 * params.top_share)
    if (
        growth <= -params.falling_growth
        and trend.previous_28.units >= params.min_units
        and trend.rank_previous_28 is not None
        and trend.rank_previous_28 <= top
        and z <= -params.min_z
        and z < 0
    ):
        return "falling"
    return "flat"


def store_trends(
    days_by_sku: Mapping[str, Sequence[ProductDay]],
    through: date,
    params: TrendParams = DEFAULT_PARAMS,
) -> StoreTrends:
    """Every product's trend in a store as of the closed day ``through``: learned, ranked
    and classified. A product without a line in the window is left out."""
    first = through - timedelta(days=WINDOW_DAYS - 1)
    raw: list[Trend] = []
    for sku in sorted(days_by_sku):
        days = days_by_sku[sku]
        if not any(first <= day.day <= through for day in days):
            continue
        raw.append(product_trend(sku, days, through, params))
    ranks_28 = competition_ranks({t.sku: t.last_28.revenue_cents for t in raw})
    ranks_before = competition_ranks({t.sku: t.previous_28.revenue_cents for t in raw})
    trends: list[Trend] = []
    for trend in raw:
        ranked = replace(
            trend, rank_28=ranks_28.get(trend.sku), rank_previous_28=ranks_before.get(trend.sku)
        )
        trends.append(replace(ranked, direction=classify(ranked, len(ranks_before), params)))
    return StoreTrends(through, tuple(trends), len(ranks_28), len(ranks_before), params)
