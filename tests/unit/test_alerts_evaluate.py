"""The other rule kinds (``app.alerts.evaluate``): worked examples by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from app.alerts.core import StoreClock, hour_label
from app.alerts.evaluate import (
    CostedFigures,
    PricedLine,
    ReturnLine,
    add_opening_minutes,
    evaluate_daily_margin,
    evaluate_large_returns,
    evaluate_price_anomalies,
    evaluate_revenue_by_hour,
    evaluate_seller_idle,
    evaluate_store_silent,
    price_factor,
)
from app.alerts.rules import (
    MALL_HOURS,
    DailyMarginRule,
    LargeReturnRule,
    PriceAnomalyRule,
    SellerIdleRule,
    StoreRevenueByHourRule,
    StoreSilentRule,
)

ZONE = "America/Sao_Paulo"  # UTC-3 all year since 2019


def utc(text: str) -> datetime:
    """A local Sao Paulo time written ``2026-03-10 15:40`` as an aware time."""
    return datetime.fromisoformat(text + ":00-03:00")


def clock(text: str) -> StoreClock:
    return StoreClock(utc(text), ZONE)


def test_opening_minutes() -> None:
    # Tuesday 21:30 + 60 opening minutes: 30 today (until 22:00), 30 from Wednesday 10:00.
    assert add_opening_minutes(utc("2026-03-10 21:30"), 60, MALL_HOURS, ZONE) == utc(
        "2026-03-11 10:30"
    )
    # Before opening: counts from 10:00.
    assert add_opening_minutes(utc("2026-03-10 08:00"), 45, MALL_HOURS, ZONE) == utc(
        "2026-03-10 10:45"
    )
    # Saturday 21:50 + 20: 10 on Saturday, Sunday opens at 14:00.
    assert add_opening_minutes(utc("2026-03-14 21:50"), 20, MALL_HOURS, ZONE) == utc(
        "2026-03-15 14:10"
    )
    closed: tuple[None, ...] = (None,) * 7
    assert add_opening_minutes(utc("2026-03-10 12:00"), 5, closed, ZONE) is None


def test_revenue_by_hour() -> None:
    rule = StoreRevenueByHourRule("r", "S01", by_hour=14, min_rate=Decimal("0.7"))
    hourly: dict[str, int] = {}
    day = datetime(2026, 3, 10)  # a Tuesday
    for k in range(0, 5):
        for hour in (10, 11, 12, 13, 14):
            # 100,000 cents an hour in past weeks; this week 60,000 before 14h.
            hourly[hour_label(day - timedelta(days=7 * k) + timedelta(hours=hour))] = (
                60_000 if k == 0 else 100_000
            )
    # At 13:20 hour 13 is not closed: the verdict is yesterday's (Monday, no data: 0 vs 0).
    before = evaluate_revenue_by_hour(rule, clock("2026-03-10 13:20"), hourly)
    assert [e.subject for e in before] == ["2026-03-09"]
    assert not before[0].firing
    # The store's history starts 4 weeks back (without it, 8 weeks of 0 would count).
    (evaluation,) = evaluate_revenue_by_hour(
        rule, clock("2026-03-10 14:05"), hourly, "2026-02-10T00"
    )
    # By 14h: 4 hours x 60,000 = 240,000 against 400,000 expected: 0.6 < 0.7.
    assert evaluation.subject == "2026-03-10"
    assert evaluation.firing
    assert evaluation.as_of == utc("2026-03-10 14:00")
    assert evaluation.facts["observed_revenue_cents"] == 240_000
    assert evaluation.facts["expected_revenue_cents"] == 400_000
    assert evaluation.facts["ratio"] == "0.6000"
    assert evaluation.facts["baseline_weeks"] == 4
    assert evaluation.severity == "medium"
    # Not enough weeks of history: nothing said.
    assert evaluate_revenue_by_hour(rule, clock("2026-03-10 14:05"), hourly, "2026-02-20T00") == []


def test_seller_idle() -> None:
    rule = SellerIdleRule("r", "S01", idle_minutes=60)
    last = {
        "ana": utc("2026-03-10 14:00"),  # idle since 14:00: limit 15:00
        "bia": utc("2026-03-10 15:10"),  # sold recently
        "caio": utc("2026-03-09 20:00"),  # not on shift today
    }
    evaluations = evaluate_seller_idle(rule, clock("2026-03-10 15:20"), last)
    assert [(e.subject, e.firing) for e in evaluations] == [("ana", True), ("bia", False)]
    assert evaluations[0].as_of == utc("2026-03-10 15:00")  # when it became true, not 15:20
    assert evaluations[1].as_of == utc("2026-03-10 15:10")
    # The same verdict later in the idle spell: the same as_of.
    later = evaluate_seller_idle(rule, clock("2026-03-10 16:45"), last)
    assert later[0].as_of == utc("2026-03-10 15:00")


def test_daily_margin() -> None:
    rule = DailyMarginRule(
        "r", "S01", min_margin_rate=Decimal("0.30"), min_costed_revenue_cents=1000
    )
    hourly = {
        "2026-03-10T10": CostedFigures(10_000, 6_000),
        "2026-03-10T11": CostedFigures(10_000, 8_000),
        "2026-03-10T12": CostedFigures(90_000, 10_000),  # the hour in progress at 12:30
    }
    (evaluation,) = evaluate_daily_margin(rule, clock("2026-03-10 12:30"), hourly)
    # Closed hours 10 and 11: (20,000 - 14,000) / 20,000 = 0.30: not below.
    assert not evaluation.firing
    assert evaluation.facts["margin_rate"] == "0.3000"
    hourly["2026-03-10T11"] = CostedFigures(10_000, 8_100)
    (evaluation,) = evaluate_daily_margin(rule, clock("2026-03-10 12:30"), hourly)
    assert evaluation.firing  # 0.2950
    assert evaluation.subject == "2026-03-10"
    assert evaluation.as_of == utc("2026-03-10 12:00")
    # Too little revenue yet: nothing said.
    assert evaluate_daily_margin(rule, clock("2026-03-10 10:30"), hourly) == []


def test_large_returns() -> None:
    rule = LargeReturnRule("r", "S01", threshold_cents=50_000)
    returns = [
        ReturnLine("L1", "O1", "SKU1", "ana", 1, 50_000, utc("2026-03-10 11:00")),  # not above
        ReturnLine("L2", "O2", "SKU2", "bia", 2, 260_000, utc("2026-03-10 12:00")),
        ReturnLine("L3", "O3", "SKU3", "bia", 1, 90_000, utc("2026-03-09 12:00")),  # yesterday
    ]
    (evaluation,) = evaluate_large_returns(rule, clock("2026-03-10 15:00"), returns)
    assert (evaluation.subject, evaluation.firing, evaluation.severity) == ("L2", True, "high")
    assert evaluation.as_of == utc("2026-03-10 12:00")
    assert evaluation.facts["refund_cents"] == 260_000


def test_price_anomalies() -> None:
    rule = PriceAnomalyRule("r", "S01", max_factor=Decimal("2"))
    lines = [
        PricedLine("L1", "O1", "A", 1_990, utc("2026-03-10 11:00")),  # usual 19,900: / 10
        PricedLine("L2", "O2", "A", 19_900, utc("2026-03-10 11:30")),
        PricedLine("L3", "O3", "A", 1_990, utc("2026-03-10 12:00")),
        PricedLine("L4", "O4", "B", 10_000, utc("2026-03-10 12:00")),  # usual 5,001: 1.9996
        PricedLine("L5", "O5", "C", 50_000, utc("2026-03-10 12:00")),  # no usual price
        PricedLine("L6", "O6", "D", 0, utc("2026-03-10 12:00")),  # a gift
    ]
    usual = {"A": 19_900, "B": 5_001, "D": 1_000}
    (evaluation,) = evaluate_price_anomalies(rule, clock("2026-03-10 15:00"), lines, usual)
    assert (evaluation.subject, evaluation.severity) == ("A", "high")
    assert evaluation.as_of == utc("2026-03-10 11:00")
    assert evaluation.facts["factor"] == "10.0000"
    assert evaluation.facts["direction"] == "below"
    assert evaluation.facts["anomalous_lines"] == 2
    assert price_factor(10_000, 5_000) == Decimal("2.0000")
    with pytest.raises(ValueError):
        price_factor(0, 5)


def test_store_silent() -> None:
    rule = StoreSilentRule("r", "S01", silent_minutes=60)
    last = utc("2026-03-10 13:30")
    (quiet,) = evaluate_store_silent(rule, last, utc("2026-03-10 14:20"), ZONE)
    assert not quiet.firing
    (silent,) = evaluate_store_silent(rule, last, utc("2026-03-10 14:45"), ZONE)
    assert silent.firing
    assert silent.as_of == utc("2026-03-10 14:30")
    # Overnight minutes do not count: last sale 21:45, 60 minutes of opening reach 10:45.
    night = utc("2026-03-10 21:45")
    assert not evaluate_store_silent(rule, night, utc("2026-03-11 09:59"), ZONE)[0].firing
    assert evaluate_store_silent(rule, night, utc("2026-03-11 10:45"), ZONE)[0].firing
    assert evaluate_store_silent(rule, None, utc("2026-03-11 10:45"), ZONE) == []
