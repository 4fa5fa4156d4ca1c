"""The other rule kinds, as pure evaluators over plain figures.

Each returns the evaluations of the subjects it judged (``app.alerts.core.Evaluation``); a
subject it no longer returns is one whose condition no longer holds, and the lifecycle
resolves its open alert. Each ``as_of`` is computed from the data (an hour boundary, the
moment an idle time reached its limit, the time of a line), so that evaluating at other
moments of a replay establishes the same verdicts at the same event times.

- **Store revenue by hour H** (``evaluate_revenue_by_hour``): the day D's revenue over its
  hours before H against the mean of the same weekday's over the previous weeks. D is the
  latest day whose hour H the clock has passed (today from H on, yesterday before it), and D
  is the subject: each day's verdict is its own alert, which resolves when the next day's
  verdict replaces it.
- **Seller idle** (``evaluate_seller_idle``): a seller on shift (one who sold on the clock's
  day; the chain sends no rosters) whose last sale is ``idle_minutes`` of opening hours
  behind the store's clock. Minutes outside the opening hours do not count.
- **Margin of the day** (``evaluate_daily_margin``): the day's closed hours, over lines with
  a known cost; the day is the subject.
- **Large return** (``evaluate_large_returns``): each return line of the clock's day
  refunding more than the threshold is a subject (its line id) for that day.
- **Price anomaly** (``evaluate_price_anomalies``): a product sold on the clock's day at
  ``max_factor`` times its usual price or more, or its usual price divided by it or less.
  Without a usual price, nothing is said.
- **Store silent** (``evaluate_store_silent``): no sale for ``silent_minutes`` of opening
  hours. A store that sells nothing does not move its own clock: the caller passes ``now``
  from a clock that moves without it (the latest event time among the stores the worker
  owns, or the wall clock when live).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from app.alerts.core import (
    STORE_SUBJECT,
    Evaluation,
    Severity,
    StoreClock,
    day_label,
    hour_label,
    parse_hour,
    to_utc,
)
from app.alerts.rules import (
    DailyMarginRule,
    LargeReturnRule,
    OpeningHours,
    PriceAnomalyRule,
    SellerIdleRule,
    StoreRevenueByHourRule,
    StoreSilentRule,
    decimal_text,
)
from tables.buckets import zone

RATE_PLACES = Decimal("0.0001")
MAX_SEARCH_DAYS = 15
"""How far ``add_opening_minutes`` looks ahead for enough opening time (two weeks and a day:
any week with an opening hour has it)."""


# ---------------------------------------------------------------------------------------------
# Opening hours.


def add_opening_minutes(
    start: datetime, minutes: int, hours: OpeningHours, time_zone: str
) -> datetime | None:
    """The moment ``minutes`` of opening time have passed since ``start`` (aware); None when
    the opening hours never add up to that many minutes within ``MAX_SEARCH_DAYS``."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    remaining = timedelta(minutes=minutes)
    first = start.astimezone(zone(time_zone)).date()
    for offset in range(MAX_SEARCH_DAYS):
        day = first + timedelta(days=offset)
        span = hours[day.weekday()]
        if span is None:
            continue
        midnight = datetime(day.year, day.month, day.day)
        opens = to_utc(midnight + timedelta(minutes=span[0]), time_zone)
        closes = to_utc(midnight + timedelta(minutes=span[1]), time_zone)
        begin = max(opens, start)
        if begin >= closes:
            continue
        if closes - begin >= remaining:
            return begin + remaining
        remaining -= closes - begin
    return None


# ---------------------------------------------------------------------------------------------
# Store revenue by hour H.


def evaluate_revenue_by_hour(
    rule: StoreRevenueByHourRule,
    clock: StoreClock,
    hourly_revenue_cents: Mapping[str, int],
    store_first_hour: str | None = None,
) -> list[Evaluation]:
    """``hourly_revenue_cents``: the store's hour bucket label -> net revenue (dimension T)."""
    now = clock.hour_start
    target = (now - timedelta(hours=rule.by_hour)).date()
    first = None if store_first_hour is None else parse_hour(store_first_hour)
    weeks = []
    for k in range(1, rule.baseline_weeks_max + 1):
        day = target - timedelta(days=7 * k)
        if first is not None and datetime(day.year, day.month, day.day) < first:
            break
        weeks.append(_revenue_before(hourly_revenue_cents, day, rule.by_hour))
    if len(weeks) < rule.baseline_weeks_min:
        return []
    observed = _revenue_before(hourly_revenue_cents, target, rule.by_hour)
    expected = math.fsum(weeks) / len(weeks)
    ratio = None if expected <= 0 else _rate(observed / expected)
    firing = expected > 0 and Decimal(observed) < rule.min_rate * Decimal(repr(expected))
    severity: Severity = "info"
    if firing:
        assert ratio is not None
        severity = "high" if ratio < rule.min_rate / 2 else "medium"
    boundary = datetime(target.year, target.month, target.day) + timedelta(hours=rule.by_hour)
    return [
        Evaluation(
            rule_id=rule.rule_id,
            kind=rule.kind,
            store_id=rule.store_id,
            subject=target.isoformat(),
            firing=firing,
            as_of=to_utc(boundary, clock.time_zone),
            severity=severity,
            facts={
                "day": target.isoformat(),
                "by_hour": rule.by_hour,
                "observed_revenue_cents": observed,
                "expected_revenue_cents": round(expected),
                "ratio": None if ratio is None else decimal_text(ratio),
                "min_rate": decimal_text(rule.min_rate),
                "baseline_weeks": len(weeks),
            },
        )
    ]


def _revenue_before(hourly: Mapping[str, int], day: date, by_hour: int) -> int:
    midnight = datetime(day.year, day.month, day.day)
    return sum(
        hourly.get(hour_label(midnight + timedelta(hours=hour)), 0) for hour in range(by_hour)
    )


# ---------------------------------------------------------------------------------------------
# Seller idle.


def evaluate_seller_idle(
    rule: SellerIdleRule, clock: StoreClock, last_sales: Mapping[str, datetime]
) -> list[Evaluation]:
    """``last_sales``: seller id -> the event time of their latest sale in the store."""
    today = clock.local.date()
    evaluations = []
    for seller, last in sorted(last_sales.items()):
        if last.astimezone(zone(clock.time_zone)).date() != today or last > clock.latest_event:
            continue  # not on shift today (or ahead of the clock: cannot be idle)
        limit = add_opening_minutes(last, rule.idle_minutes, rule.opening_hours, clock.time_zone)
        firing = limit is not None and limit <= clock.latest_event
        evaluations.append(
            Evaluation(
                rule_id=rule.rule_id,
                kind=rule.kind,
                store_id=rule.store_id,
                subject=seller,
                firing=firing,
                as_of=limit if firing and limit is not None else last,
                severity="medium" if firing else "info",
                facts={
                    "seller_id": seller,
                    "last_sale_at": last.isoformat(),
                    "idle_minutes": rule.idle_minutes,
                    "idle_since_limit_at": None if limit is None else limit.isoformat(),
                },
            )
        )
    return evaluations


# ---------------------------------------------------------------------------------------------
# Margin of the day.


@dataclass(frozen=True, slots=True)
class CostedFigures:
    """An hour's revenue and cost over lines with a known cost (``Totals.costed_revenue_cents``,
    ``Totals.cost_cents``)."""

    costed_revenue_cents: int
    cost_cents: int


def evaluate_daily_margin(
    rule: DailyMarginRule, clock: StoreClock, hourly: Mapping[str, CostedFigures]
) -> list[Evaluation]:
    """The margin rate of the clock's day over its closed hours (``hourly``: hour bucket
    label -> the store's costed figures)."""
    now = clock.hour_start
    midnight = datetime(now.year, now.month, now.day)
    revenue = cost = 0
    for hour in range(now.hour):
        figures = hourly.get(hour_label(midnight + timedelta(hours=hour)))
        if figures is not None:
            revenue += figures.costed_revenue_cents
            cost += figures.cost_cents
    if revenue < rule.min_costed_revenue_cents or revenue <= 0:
        return []
    rate = (Decimal(revenue - cost) / Decimal(revenue)).quantize(RATE_PLACES, ROUND_HALF_EVEN)
    firing = rate < rule.min_margin_rate
    return [
        Evaluation(
            rule_id=rule.rule_id,
            kind=rule.kind,
            store_id=rule.store_id,
            subject=day_label(now),
            firing=firing,
            as_of=to_utc(now, clock.time_zone),
            severity=("high" if rate < 0 else "medium") if firing else "info",
            facts={
                "day": day_label(now),
                "through_hour": now.hour,
                "margin_rate": decimal_text(rate),
                "min_margin_rate": decimal_text(rule.min_margin_rate),
                "costed_revenue_cents": revenue,
                "cost_cents": cost,
            },
        )
    ]


# ---------------------------------------------------------------------------------------------
# Large return.


@dataclass(frozen=True, slots=True)
class ReturnLine:
    """A sale line with a negative quantity, as positive figures."""

    line_id: str
    order_id: str
    sku: str
    seller_id: str
    units: int
    refund_cents: int
    event_time: datetime


def evaluate_large_returns(
    rule: LargeReturnRule, clock: StoreClock, returns: Sequence[ReturnLine]
) -> list[Evaluation]:
    """Return lines of the clock's day refunding more than ``threshold_cents`` (firing only:
    the others are not subjects)."""
    today = clock.local.date()
    evaluations = []
    for line in sorted(returns, key=lambda r: (r.event_time, r.line_id)):
        local_day = line.event_time.astimezone(zone(clock.time_zone)).date()
        if local_day != today or line.refund_cents <= rule.threshold_cents:
            continue
        evaluations.append(
            Evaluation(
                rule_id=rule.rule_id,
                kind=rule.kind,
                store_id=rule.store_id,
                subject=line.line_id,
                firing=True,
                as_of=line.event_time,
                severity="high" if line.refund_cents >= 5 * rule.threshold_cents else "medium",
                facts={
                    "line_id": line.line_id,
                    "order_id": line.order_id,
                    "sku": line.sku,
                    "seller_id": line.seller_id,
                    "units": line.units,
                    "refund_cents": line.refund_cents,
                    "threshold_cents": rule.threshold_cents,
                    "returned_at": line.event_time.isoformat(),
                },
            )
        )
    return evaluations


# ---------------------------------------------------------------------------------------------
# Price anomaly.


@dataclass(frozen=True, slots=True)
class PricedLine:
    line_id: str
    order_id: str
    sku: str
    unit_price_cents: int
    event_time: datetime


def price_factor(price_cents: int, usual_cents: int) -> Decimal:
    """How far a price is from the usual one, as a factor of 1 or more either way."""
    if price_cents <= 0 or usual_cents <= 0:
        raise ValueError("prices must be positive")
    high, low = max(price_cents, usual_cents), min(price_cents, usual_cents)
    return (Decimal(high) / Decimal(low)).quantize(RATE_PLACES, ROUND_HALF_EVEN)


def evaluate_price_anomalies(
    rule: PriceAnomalyRule,
    clock: StoreClock,
    lines: Sequence[PricedLine],
    usual_prices_cents: Mapping[str, int],
) -> list[Evaluation]:
    """One subject per product with an anomalous line on the clock's day; ``as_of`` is its
    first such line. A price of 0 (a gift) or without a usual price is not judged."""
    today = clock.local.date()
    first: dict[str, tuple[PricedLine, int, Decimal]] = {}
    counts: dict[str, int] = {}
    for line in sorted(lines, key=lambda r: (r.event_time, r.line_id)):
        usual = usual_prices_cents.get(line.sku)
        if usual is None or usual <= 0 or line.unit_price_cents <= 0:
            continue
        if line.event_time.astimezone(zone(clock.time_zone)).date() != today:
            continue
        high, low = max(line.unit_price_cents, usual), min(line.unit_price_cents, usual)
        if Decimal(high) < rule.max_factor * Decimal(low):
            continue
        counts[line.sku] = counts.get(line.sku, 0) + 1
        first.setdefault(line.sku, (line, usual, price_factor(line.unit_price_cents, usual)))
    evaluations = []
    for sku in sorted(first):
        line, usual, factor = first[sku]
        evaluations.append(
            Evaluation(
                rule_id=rule.rule_id,
                kind=rule.kind,
                store_id=rule.store_id,
                subject=sku,
                firing=True,
                as_of=line.event_time,
                severity="high" if factor >= 10 else "medium",
                facts={
                    "sku": sku,
                    "line_id": line.line_id,
                    "order_id": line.order_id,
                    "unit_price_cents": line.unit_price_cents,
                    "usual_price_cents": usual,
                    "factor": decimal_text(factor),
                    "direction": "above" if line.unit_price_cents > usual else "below",
                    "anomalous_lines": counts[sku],
                },
            )
        )
    return evaluations


# ---------------------------------------------------------------------------------------------
# Store silent.


def evaluate_store_silent(
    rule: StoreSilentRule, last_sale: datetime | None, now: datetime, time_zone: str
) -> list[Evaluation]:
    """``last_sale``: the store's latest sale (None: it never sold; not judged); ``now``: a
    clock that moves without the store (module docstring)."""
    if last_sale is None:
        return []
    if now.tzinfo is None or last_sale.tzinfo is None:
        raise ValueError("times must be aware")
    limit = add_opening_minutes(last_sale, rule.silent_minutes, rule.opening_hours, time_zone)
    firing = limit is not None and limit <= now
    return [
        Evaluation(
            rule_id=rule.rule_id,
            kind=rule.kind,
            store_id=rule.store_id,
            subject=STORE_SUBJECT,
            firing=firing,
            as_of=limit if firing and limit is not None else last_sale,
            severity="high" if firing else "info",
            facts={
                "last_sale_at": last_sale.isoformat(),
                "silent_minutes": rule.silent_minutes,
                "silent_limit_at": None if limit is None else limit.isoformat(),
            },
        )
    ]


def _rate(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(RATE_PLACES, ROUND_HALF_EVEN)
